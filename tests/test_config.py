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
    assert eskilstuna.kpis == ["N35001", "N30101", "N33817", "N33802", "N15428"]
    missbruk = eskilstuna.indicators[0]
    assert (missbruk.direction, missbruk.target.value, missbruk.target.year) == ("lower", 1250.0, 2027)
    mark = load_config(REPO / "config" / "examples" / "mark.toml")
    assert mark.home == "1463" and mark.groups == ("G36587",)
    assert mark.kpis == ["U30450", "U33401", "N31885", "U33581", "U28532", "U26421"]


def test_good_config_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))
    assert config.riket is True and config.year_to is None and config.municipalities == ()
    assert config.indicators[0].gender == "T"
    assert config.source.urls["kolada"] == "https://api.kolada.se/v3"


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
    assert config.with_urls({}).source.urls["kolada"] == "http://127.0.0.1:1/v3"
    assert config.with_urls({"kolada": "http://127.0.0.1:2/v3"}).source.urls["kolada"] == "http://127.0.0.1:2/v3"
    monkeypatch.delenv("KOLADA_API_URL")
    assert config.with_urls({}).source.urls["kolada"] == "https://api.kolada.se/v3"


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
    assert config.with_urls({}).source.urls["kolada"] == "http://127.0.0.1:3/v3"
    monkeypatch.setenv("KOLADA_API_URL", "http://127.0.0.1:2/v3")
    assert config.with_urls({}).source.urls["kolada"] == "http://127.0.0.1:2/v3"
    assert config.with_urls({"kolada": "http://127.0.0.1:1/v3"}).source.urls["kolada"] == "http://127.0.0.1:1/v3"
    help_text = build_parser()._subparsers._group_actions[0].choices["fetch"].format_help()
    assert "wins over KOLADA_API_URL, which wins over [source] api_url" in " ".join(help_text.split())
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "`--api-url`, then `KOLADA_API_URL`, then `[source] api_url`" in readme


SCB = GOOD + """
[[indicator]]
id = "arbetslosa"
label = "Arbetslösa"
source = "scb"
table = "tab6260"
contents = "000004YH"
select = { Fodelseregion = "tot", Alder = "16-64" }
month = 7
"""


def test_scb_indicator_and_ratio_load(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, SCB + """
[[indicator]]
id = "andel"
label = "Arbetslösa per kostnad"
ratio = { numerator = "arbetslosa", denominator = "missbruk-kostnad", scale = 100 }
"""))
    scb, ratio = config.indicators[1], config.indicators[2]
    assert (scb.source, scb.series.table, scb.series.month) == ("scb", "TAB6260", 7)
    assert scb.series.select == (("Alder", "16-64"), ("Fodelseregion", "tot"))  # sorted: the id never depends on order
    assert scb.series_id == "scb_TAB6260_000004YH_alder.16-64_fodelseregion.tot_m07"
    assert config.kpis == ["N35001"] and config.series == ["N35001", scb.series_id]
    assert ratio.ratio.scale == 100 and ratio.source == "ratio" and ratio.reference == "kvot"
    assert config.source.urls["scb"] == "https://statistikdatabasen.scb.se/api/v2"
    shipped = load_config(REPO / "config" / "examples" / "arbetsmarknad.toml")
    assert [i.source for i in shipped.indicators] == ["scb", "scb", "scb", "ratio"]


@pytest.mark.parametrize(("edit", "line", "message"), [
    ('source = "scb"', 29, "an SCB indicator needs table and contents"),
    ('source = "scb"\ntable = "TAB638"', 29, "an SCB indicator needs table and contents"),
    ('source = "scb"\ntable = "638"\ncontents = "BE0101N1"', 30, "table '638' is not an SCB table id"),
    ('source = "scb"\ntable = "TAB638"\ncontents = "X"\nkpi = "N35001"', 32, "not kpi (a Kolada id); remove kpi"),
    ('kpi = "N35001"\ntable = "TAB638"', 30, 'table belongs to an SCB indicator; add source = "scb"'),
    ('source = "sbc"\nkpi = "N35001"', 29, "source 'sbc' is not one of kolada, scb, file (did you mean 'scb'?)"),
    ('source = "scb"\ntable = "TAB638"\ncontents = "BE0101N1"\nmonth = 13', 32, "month must be a whole number"),
    ('source = "scb"\ntable = "TAB638"\ncontents = "BE0101N1"\nselect = { Alder = 16 }', 32,
     "select must name one code per variable"),
    ('ratio = { numerator = "arbetslosa", denominator = "fel" }', 29, "ratio names 'fel', which is not another"),
    ('ratio = { numerator = "x", denominator = "fel" }\nkpi = "N35001"', 30, "a ratio is computed from two other"),
    ('ratio = { numerator = "arbetslosa", denominator = "fel", skala = 2 }', 26,
     "unknown key 'skala' in indicator 'fel' ratio (did you mean 'scale'?)"),
])
def test_scb_and_ratio_mistakes_name_the_line(tmp_path: Path, edit: str, line: int, message: str) -> None:
    error = error_for(tmp_path, SCB + f'\n[[indicator]]\nid = "fel"\nlabel = "Fel"\n{edit}\n')
    assert error.startswith(f"{tmp_path / 'kpis.toml'}:{line}: ") and message in error, error


def test_a_ratio_of_a_ratio_and_a_bad_scb_url_are_refused(tmp_path: Path) -> None:
    error = error_for(tmp_path, SCB + """
[[indicator]]
id = "a"
label = "A"
ratio = { numerator = "arbetslosa", denominator = "missbruk-kostnad" }

[[indicator]]
id = "b"
label = "B"
ratio = { numerator = "a", denominator = "arbetslosa" }
""")
    assert "ratio names 'a', which is a ratio itself" in error
    error = error_for(tmp_path, '[source.scb]\napi_url = "statistikdatabasen.scb.se"\n' + SCB)
    assert error.startswith(f"{tmp_path / 'kpis.toml'}:2: [source.scb] api_url: 'statistikdatabasen.scb.se'")
    error = error_for(tmp_path, '[source.scb]\nurl = "https://x"\n' + SCB)
    assert "unknown key 'url' in [source.scb]" in error


def test_scb_url_precedence_is_flag_then_environment_then_file(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    config = load_config(write(tmp_path, '[source.scb]\napi_url = "http://file.example/api/v2"\n' + SCB))
    assert config.with_urls({}).source.urls["scb"] == "http://file.example/api/v2"
    monkeypatch.setenv("SCB_API_URL", "http://env.example/api/v2")
    assert config.with_urls({}).source.urls["scb"] == "http://env.example/api/v2"
    assert config.with_urls({"scb": "http://flag.example/api/v2"}).source.urls["scb"] == "http://flag.example/api/v2"


def test_unknown_section_is_reported_at_its_own_line(tmp_path: Path) -> None:
    text = GOOD + "\n[extra]\nx = 1\n"
    line = text.splitlines().index("[extra]") + 1
    assert line > 10
    assert error_for(tmp_path, text).startswith(f"{tmp_path / 'kpis.toml'}:{line}: unknown section [extra]")
    assert "unknown section [source.kolada]" in error_for(tmp_path, GOOD + '\n[source.kolada]\nurl = "x"\n')


def test_missing_config_names_the_configs_nearby(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    with pytest.raises(ConfigError) as info:
        load_config("config/kpi.toml")
    assert str(info.value).startswith("config/kpi.toml: no such config file; did you mean config/kpis.toml")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nothing.toml")  # a folder without configs: the repo's config/ is still offered
    assert "did you mean config/" in str(info.value)


def test_the_plans_own_number_is_a_text(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD + 'number = "3 b"\n'))
    assert config.indicators[0].number == "3 b"
    message = error_for(tmp_path, GOOD + "number = 3\n")
    assert 'number = "3 b"' in message and "kpis.toml:16" in message


SETS = GOOD.replace("[years]", """name = "jämförbara kommuner"

[comparisons.arbetsmarknad]
groups = ["G216130"]
municipalities = ["Sala"]
riket = false

[years]""") + """comparison = "arbetsmarknad"

[[indicator]]
id = "ifo"
label = "Kostnad IFO, kr/inv"
kpi = "N30101"
target = "median"

[[indicator]]
id = "bistand"
label = "Långvarigt bistånd"
kpi = "N31816"
direction = "lower"
target = { text = "Minska med 1 procentenhet" }
rank = true
"""


def test_comparison_sets_per_indicator_and_targets_in_words(tmp_path: Path) -> None:
    from harvester.comparisons import union
    from harvester.config import MedianTarget, Target, TextTarget

    config = load_config(write(tmp_path, SETS + '\n[report]\nyears = [2023, 2022]\n'))
    sets = config.comparison_sets
    assert list(sets) == ["", "arbetsmarknad"] and sets[""].name == "jämförbara kommuner"
    assert (sets["arbetsmarknad"].groups, sets["arbetsmarknad"].municipalities, sets["arbetsmarknad"].riket) == (
        ("G216130",), ("Sala",), False)
    missbruk, ifo, bistand = config.indicators
    assert config.comparison_of(missbruk).key == "arbetsmarknad" and config.comparison_of(ifo).key == ""
    assert missbruk.target == Target(1250.0, 2027) and ifo.target == MedianTarget()
    assert bistand.target == TextTarget("Minska med 1 procentenhet") and bistand.rank and not ifo.rank
    assert config.report_years == (2022, 2023)
    everyone = union(sets.values())  # one fetch covers both sets
    assert (everyone.groups, everyone.municipalities, everyone.riket) == (("G36484", "G216130"), ("Sala",), True)


@pytest.mark.parametrize("edit, line, expected", [
    (('comparison = "arbetsmarknad"', 'comparison = "arbetsmarkand"'), 23,
     "comparison 'arbetsmarkand' names no comparison set (did you mean 'arbetsmarknad'?)"),
    (('groups = ["G216130"]\nmunicipalities = ["Sala"]', ''), 9, "[comparisons.arbetsmarknad] has no members"),
    (('target = "median"', 'target = "i nivå"'), 29, 'target = { text = "Minska med 1 procentenhet" } or target = "median"'),
    (('target = "median"', 'target = { text = "x", value = 3 }'), 29, "a target in words is written alone"),
    (('target = "median"', 'rank = true'), 29, 'rank = true needs direction = "lower" or "higher"'),
    (('name = "jämförbara kommuner"', 'name = 3'), 7, "[comparison] name must be a text"),
    (('riket = false', 'riket = false\nsimliar = 3'), 13,
     "unknown key 'simliar' in [comparisons.arbetsmarknad] (did you mean 'similar'?)"),
])
def test_comparison_set_and_target_mistakes_name_the_line(tmp_path: Path, edit: tuple[str, str], line: int,
                                                          expected: str) -> None:
    message = error_for(tmp_path, SETS.replace(*edit, 1))
    assert expected in message and f"kpis.toml:{line}:" in message, message


def test_report_years_are_two_or_three_years(tmp_path: Path) -> None:
    for bad in ("[2022]", "[2022, 2022]", "[2021, 2022, 2023, 2024]", '["2022", "2023"]'):
        message = error_for(tmp_path, GOOD + f"\n[report]\nyears = {bad}\n")
        assert "[report] years must list 2 or 3 different years" in message and "kpis.toml:18" in message
