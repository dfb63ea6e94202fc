"""Config validation: every mistake a plan author can make gets file:line and a hint."""
from __future__ import annotations

from pathlib import Path

import pytest

from harvester.config import ConfigError, load_config, place

REPO = Path(__file__).resolve().parents[1]

GOOD = """\
[home]
municipality = "0484"

[comparison]
groups = ["G36484"]

[years]
from = 2015

[[indicator]]
id = "missbruk-kostnad"
label = "Kostnad missbruksvård vuxna, kr/inv"
kpi = "N35001"
direction = "lower"
target = { value = 1250, year = 2027 }
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "kpis.toml"
    path.write_text(text, encoding="utf-8")
    return path


def error_for(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    return str(info.value)


def test_shipped_configs_load() -> None:
    eskilstuna = load_config(REPO / "config" / "kpis.toml")
    assert eskilstuna.home == "0484"
    assert eskilstuna.groups == ("G36484", "G92790")
    assert eskilstuna.kpis == ["N35001", "N30101", "N33818", "N33802", "N33870"]
    missbruk = eskilstuna.indicators[0]
    assert (missbruk.direction, missbruk.target.value, missbruk.target.year) == ("lower", 1250.0, 2027)
    mark = load_config(REPO / "config" / "examples" / "mark.toml")
    assert mark.home == "1463" and mark.groups == ("G36587",)
    assert mark.kpis == ["U30450", "U33401", "U33816", "U33761", "U28532", "U26421"]


def test_good_config_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))
    assert config.riket is True and config.year_to is None and config.municipalities == ()
    assert config.indicators[0].gender == "T"
    assert config.source.api_url == "https://api.kolada.se/v3"


def test_toml_syntax_error_names_line(tmp_path: Path) -> None:
    message = error_for(tmp_path, GOOD.replace('from = 2015', 'from = 2015 2016'))
    assert "kpis.toml:8" in message and "TOML syntax error" in message


def test_unknown_direction_names_line_and_suggests(tmp_path: Path) -> None:
    message = error_for(tmp_path, GOOD.replace('direction = "lower"', 'direction = "lowr"'))
    assert "kpis.toml:14" in message
    assert "'lower'" in message and "lower, higher, none" in message


def test_years_reversed(tmp_path: Path) -> None:
    message = error_for(tmp_path, GOOD.replace("from = 2015", "from = 2022\nto = 2015"))
    assert "kpis.toml:9" in message and "swap" in message


def test_malformed_kpi_id(tmp_path: Path) -> None:
    message = error_for(tmp_path, GOOD.replace('kpi = "N35001"', 'kpi = "35001"'))
    assert "kpis.toml:13" in message and "N or U followed by five digits" in message


def test_unknown_key_suggests_the_right_one(tmp_path: Path) -> None:
    message = error_for(tmp_path, GOOD.replace('direction = "lower"', 'directon = "lower"'))
    assert "kpis.toml:14" in message and "'direction'" in message


def test_group_id_shape(tmp_path: Path) -> None:
    message = error_for(tmp_path, GOOD.replace('"G36484"', '"36484"'))
    assert "kpis.toml:5" in message and "G followed by digits" in message


def test_duplicate_indicator_ids(tmp_path: Path) -> None:
    text = GOOD + GOOD[GOOD.index("[[indicator]]"):]
    message = error_for(tmp_path, text)
    assert "used twice" in message and "kpis.toml:17" in message  # the second id line


def test_missing_home_and_no_indicators(tmp_path: Path) -> None:
    assert "[home] needs municipality" in error_for(tmp_path, GOOD.replace('municipality = "0484"', ""))
    assert "at least one [[indicator]]" in error_for(tmp_path, GOOD[: GOOD.index("[[indicator]]")])


def test_bad_target(tmp_path: Path) -> None:
    message = error_for(tmp_path, GOOD.replace("target = { value = 1250, year = 2027 }", 'target = "1250"'))
    assert "target must be written as" in message and "kpis.toml:15" in message


def test_missing_file() -> None:
    with pytest.raises(ConfigError, match="no such config file"):
        load_config("/nonexistent/kpis.toml")


def test_api_url_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = load_config(write(tmp_path, GOOD))
    monkeypatch.setenv("KOLADA_API_URL", "http://127.0.0.1:1/v3/")
    assert config.with_api_url(None).source.api_url == "http://127.0.0.1:1/v3"
    assert config.with_api_url("http://127.0.0.1:2/v3").source.api_url == "http://127.0.0.1:2/v3"
    monkeypatch.delenv("KOLADA_API_URL")
    assert config.with_api_url(None).source.api_url == "https://api.kolada.se/v3"


def test_place_finds_the_line_of_a_value(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))
    assert place(config, "kpi", "N35001").endswith("kpis.toml:13")
    assert place(config, "groups", "G36484").endswith("kpis.toml:5")


def test_report_revised_since_is_a_toml_date(tmp_path: Path) -> None:
    import datetime as dt

    config = load_config(write(tmp_path, GOOD.replace("[years]", "[report]\nrevised_since = 2024-01-01\n\n[years]")))
    assert config.revised_since == dt.date(2024, 1, 1)
    message = error_for(tmp_path, GOOD.replace("[years]", '[report]\nrevised_since = "2024-01-01"\n\n[years]'))
    assert "kpis.toml:8" in message and "a date without quotes" in message


@pytest.mark.parametrize("edit,expected", [
    ("[source]\nrate = nan\n", "kpis.toml:2: [source] rate must be a number from 0.1 to 1000, got nan"),
    ("[source]\ntimeout = inf\n", "kpis.toml:2: [source] timeout must be a number from 1 to 3600, got inf"),
    ("[source]\ndeadline = -inf\n", "kpis.toml:2: [source] deadline must be a number"),
    ("[source]\nmax_response_mb = 0\n", "kpis.toml:2: [source] max_response_mb must be a number from 1"),
    ("[source]\napi_url = \"api.kolada.se/v3\"\n", "kpis.toml:2: [source] api_url: 'api.kolada.se/v3' is not an API URL"),
])
def test_source_numbers_and_urls_are_checked_on_load(tmp_path: Path, edit: str, expected: str) -> None:
    """Issue 9.8 and 8.7: nan, inf and URLs without a host fail at once, naming the line, not after fetching."""
    assert expected in error_for(tmp_path, edit + GOOD)


def test_nan_target_and_overlong_id_and_cache_folder_are_refused(tmp_path: Path) -> None:
    assert "kpis.toml:15: indicator 'missbruk-kostnad': target value must be a number" in error_for(
        tmp_path, GOOD.replace("value = 1250", "value = nan"))
    assert "is 300 characters long; at most 64" in error_for(tmp_path, GOOD.replace('"missbruk-kostnad"', '"' + "a" * 300 + '"'))
    folder = tmp_path / "cachedir"
    folder.mkdir()
    assert f"[source] cache '{folder}' is a folder" in error_for(tmp_path, f'[source]\ncache = "{folder}"\n' + GOOD)


def test_a_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    """Issue 9.9: Windows editors start files with a BOM; it is not a TOML error."""
    path = tmp_path / "kpis.toml"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD.encode("utf-8"))
    assert load_config(path).home == "0484"


def test_api_url_precedence_is_command_line_then_environment_then_file(tmp_path: Path, monkeypatch) -> None:
    """Issue 8.10: one order, said the same way in --help and the README."""
    from harvester.cli import build_parser

    config = load_config(write(tmp_path, '[source]\napi_url = "http://127.0.0.1:3/v3"\n' + GOOD))
    monkeypatch.delenv("KOLADA_API_URL", raising=False)
    assert config.with_api_url(None).source.api_url == "http://127.0.0.1:3/v3"
    monkeypatch.setenv("KOLADA_API_URL", "http://127.0.0.1:2/v3")
    assert config.with_api_url(None).source.api_url == "http://127.0.0.1:2/v3"
    assert config.with_api_url("http://127.0.0.1:1/v3").source.api_url == "http://127.0.0.1:1/v3"
    help_text = build_parser()._subparsers._group_actions[0].choices["fetch"].format_help()
    assert "wins over KOLADA_API_URL, which wins over [source] api_url" in " ".join(help_text.split())
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "`--api-url`, then `KOLADA_API_URL`, then `[source] api_url`" in readme
