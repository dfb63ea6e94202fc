"""`harvester similar` end to end against the fake Kolada serving the real snapshot."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from harvester import store
from harvester.exitcodes import ExitCode
from harvester.similar import make_recipe, nearest
from tests.conftest import write_config

KPIS = ["N01951", "N02926", "N03920"]


def similar(harvester, fake, tmp_path: Path, *args: str):  # type: ignore[no-untyped-def]
    return harvester("similar", *args, "--api-url", fake.base_url, "--cache", str(tmp_path / "cache.sqlite"),
                     "--output", str(tmp_path / "out"))


def test_sala_as_csv_matches_the_method_on_the_snapshot(harvester, real_fake, tmp_path, shared_kolada) -> None:
    run = similar(harvester, real_fake, tmp_path, "Sala", "--kpis", ",".join(KPIS), "--log", "N01951",
                  "--format", "csv", "-q")
    assert run.code == ExitCode.OK, run.err
    rows = list(csv.DictReader(io.StringIO(run.out)))
    assert len(rows) == 7 * 3 and {r["home_id"] for r in rows} == {"1981"} and {r["year"] for r in rows} == {"2022"}
    values = pq.read_table(shared_kolada / "values.parquet", filters=[("kpi", "in", KPIS), ("period", "=", 2022)]
                           ).to_pandas().rename(columns={"municipality": "municipality_id"})
    municipalities = pd.DataFrame(json.loads((shared_kolada / "catalog" / "municipality.json").read_text("utf-8")))
    expected = nearest(values, municipalities, "1981", make_recipe(KPIS, log=["N01951"], year=2022)).peers
    got = [r for r in rows if r["kpi"] == "N01951"]
    assert [r["municipality_id"] for r in got] == list(expected["municipality_id"])
    assert [float(r["distance"]) for r in got] == list(expected["distance"])
    assert got[0]["municipality"] == "Lindesberg"
    # fetched as `fetch` fetches: into the dataset, for every kommun, and the second call asks for changes only
    stored = store.read_values(tmp_path / "out", KPIS)
    assert stored["municipality_id"].nunique() == 290 and "0000" not in set(stored["municipality_id"])
    assert set(store.read_table(tmp_path / "out", "runs")["command"]) == {"similar"}
    real_fake.clear_log()
    text = similar(harvester, real_fake, tmp_path, "1981", "--kpis", ",".join(KPIS), "--log", "N01951", "--n", "3")
    assert text.code == ExitCode.OK
    data = [r.query for r in real_fake.log if r.path.startswith("/v3/data/")]
    assert data and all("from_date" in q for q in data)
    lines = text.out.splitlines()
    assert lines[0].startswith("Sala (1981), 2022: the 3 kommuner nearest in N01951 (log), N02926, N03920, among 290")
    assert lines[3].split()[:3] == ["0", "Sala", "(1981)"] and lines[4].split()[:3] == ["1", "Lindesberg", "(1885)"]
    assert len(lines) == 2 + 2 + 3 + 2


def test_a_model_as_json(harvester, real_fake, tmp_path) -> None:
    run = similar(harvester, real_fake, tmp_path, "Eskilstuna", "--model", "äldreomsorg", "--format", "json", "-q")
    assert run.code == ExitCode.OK, run.err
    doc = json.loads(run.out)
    assert doc["home"] == {"id": "0484", "title": "Eskilstuna"} and doc["recipe"]["log"] == ["N01951"]
    assert len(doc["peers"]) == 7 and doc["candidates"] == 290
    assert abs(sum(k["share"] for k in doc["peers"][0]["kpis"].values()) - 1.0) < 1e-9


def test_bad_input_is_one_line_exit_2_and_nothing_written(harvester, real_fake, tmp_path) -> None:
    cases = [
        (["Sala", "--kpis", "N01951,N0292"], "--kpis: KPI N0292 is not in Kolada's catalogue (closest: N02920"),
        (["Sala", "--model", "ifx"], "--model: no similar model is called 'ifx'; did you mean ifo?"),
        (["Sala", "--kpis", "N01951", "--n", "0"], "n = 0; n is how many similar kommuner to take"),
        (["Sala", "--kpis", "N01951", "--weight", "N01951=tung"], "the weight of N01951 is 'tung'"),
        (["Riket", "--kpis", "N01951"], "Riket (0000) is not a kommun"),
        (["Sal", "--kpis", "N01951"], "no municipality is called 'Sal' in Kolada; did you mean Sala (1981)"),
    ]
    for args, message in cases:
        run = similar(harvester, real_fake, tmp_path, *args)
        assert run.code == ExitCode.CONFIG and run.out == "", args
        assert run.err.count("\n") == 1 and message in run.err, run.err
        assert not (tmp_path / "out").exists(), args
    with_data = [
        (["Sala", "--kpis", "N01951,N35001", "--log", "N35001"], "--kpis: log of N35001 is impossible: 2463 has 0 in"),
        (["Sala", "--kpis", "N01951", "--n", "400"], "n = 400 but only 289 other kommuner have every KPI in 2022"),
    ]
    for args, message in with_data:  # found only in the values: what was fetched is kept, nothing else is written
        run = similar(harvester, real_fake, tmp_path, *args)
        assert run.code == ExitCode.CONFIG and run.out == "" and message in run.err, run.err


def test_an_outage_is_exit_4_and_stores_nothing(harvester, real_fake, tmp_path) -> None:
    config = write_config(tmp_path / "sala.toml", home="1981", groups=(), retry_seconds=0.5)
    real_fake.add_fault("status", match="/data/", times=None, status=503)
    run = harvester("similar", "Sala", "--model", "ifo", "--config", str(config), "--api-url", real_fake.base_url,
                    "--cache", str(tmp_path / "cache.sqlite"), "--output", str(tmp_path / "out"))
    assert run.code == ExitCode.UPSTREAM and run.out == ""
    assert "Kolada could not be read and the dataset has no values of N01951" in run.err
    assert store.stored_kpis(tmp_path / "out") == []


def set_config(tmp_path: Path, similar_line: str) -> Path:
    config = write_config(tmp_path / "sala.toml", home="Sala", groups=())
    with config.open("a", encoding="utf-8") as fh:
        fh.write(f"\n[comparisons.liknande-ifo]\nname = \"liknande kommuner\"\n{similar_line}\n")
    return config


def test_a_config_set_is_computed_and_stored_as_a_vintage_when_it_changes(harvester, real_fake, tmp_path) -> None:
    line = 'similar = { kpis = ["N01951", "N02926", "N03920"], log = ["N01951"], year = 2022, n = 7 }'
    config = set_config(tmp_path, line)
    for _ in range(2):
        run = harvester("similar", "--config", str(config), "--set", "liknande-ifo", "--api-url", real_fake.base_url,
                        "--cache", str(tmp_path / "cache.sqlite"), "--output", str(tmp_path / "out"), "-q")
        assert run.code == ExitCode.OK, run.err
    groups = store.read_table(tmp_path / "out", "groups")
    mine = groups[groups["group_id"] == "computed:liknande-ifo"]
    assert len(mine) == 7 and mine["read_at"].nunique() == 1  # the second, same computation adds no vintage
    assert set(mine["title"]) == {"Liknande kommuner (beräknade: invånare totalt, utrikes födda, arbetslösa av "
                                  "befolkningen, 2022)"}
    assert mine.sort_values("distance")["member_title"].iloc[0] == "Lindesberg"
    recipe = json.loads(mine["recipe"].iloc[0])
    assert recipe == {"kpis": KPIS, "log": ["N01951"], "weights": {}, "year": 2022, "year_asked": 2022, "n": 7,
                      "kpi_titles": {"N01951": "Invånare totalt, antal", "N02926": "Utrikes födda, andel (%)",
                                     "N03920": "Arbetslösa av befolkningen, 18-65 år, andel (%)"}}
    config.write_text(config.read_text("utf-8").replace("n = 7", "n = 5"), encoding="utf-8")
    run = harvester("similar", "--config", str(config), "--set", "liknande-ifo", "--api-url", real_fake.base_url,
                    "--cache", str(tmp_path / "cache.sqlite"), "--output", str(tmp_path / "out"), "-q")
    assert run.code == ExitCode.OK, run.err
    groups = store.read_table(tmp_path / "out", "groups")
    mine = groups[groups["group_id"] == "computed:liknande-ifo"]
    assert mine["read_at"].nunique() == 2 and len(mine) == 7 + 5
    assert json.loads(mine.sort_values("read_at")["recipe"].iloc[-1])["n"] == 5


def test_a_bad_similar_in_a_config_names_its_line(harvester, real_fake, tmp_path) -> None:
    from harvester.config import ConfigError, load_config

    cases = [
        ('similar = { kpis = ["N01951"], n = 0 }', "n = 0; n is how many similar kommuner"),
        ('similar = "ifx"', "no similar model is called 'ifx'; did you mean ifo?"),
        ('similar = { kpis = ["N01951", "N02926"], weights = { N02926 = -2 } }', "the weight of N02926 is -2"),
        ('similar = { kpis = ["N01951"], logg = ["N01951"] }', "unknown key 'logg' (did you mean 'log'?)"),
        ('similar = { model = "ifo", kpis = ["N01951"] }', "give either model or kpis"),
    ]
    for line, message in cases:
        config = set_config(tmp_path, line)
        number = config.read_text("utf-8").splitlines().index(line) + 1
        try:
            load_config(config)
        except ConfigError as exc:
            assert str(exc).startswith(f"{config}:{number}: [comparisons.liknande-ifo] similar") and message in str(exc)
        else:
            raise AssertionError(f"accepted: {line}")
    config = set_config(tmp_path, 'similar = { kpis = ["N01951", "N0292"] }')
    run = harvester("similar", "--config", str(config), "--set", "liknande-ifo", "--api-url", real_fake.base_url,
                    "--cache", str(tmp_path / "cache.sqlite"), "--output", str(tmp_path / "out"))
    number = config.read_text("utf-8").splitlines().index('similar = { kpis = ["N01951", "N0292"] }') + 1
    assert run.code == ExitCode.CONFIG and run.err.startswith(
        f"harvester: error: {config}:{number}: [comparisons.liknande-ifo] similar: KPI N0292 is not in Kolada's")
    assert not (tmp_path / "out").exists()
    run = harvester("similar", "--config", str(config), "--set", "ifo", "--output", str(tmp_path / "out"))
    assert run.code == ExitCode.CONFIG and "has no [comparisons.ifo] (sets: liknande-ifo)" in run.err


def test_a_computed_default_set_is_fetched_named_and_explained_in_the_report(harvester, real_fake, tmp_path) -> None:
    config = write_config(tmp_path / "sala.toml", home="Sala", groups=(), year_from=2019)
    config.write_text(config.read_text("utf-8").replace(
        "[comparison]\n", '[comparison]\nsimilar = { kpis = ["N01951", "N02926", "N03920"], log = ["N01951"], '
                          'year = 2022 }\n'), encoding="utf-8")
    out = tmp_path / "out"
    args = ("run", "--config", str(config), "--api-url", real_fake.base_url, "--output", str(out), "-q")
    run = harvester(*args)
    assert run.code == ExitCode.OK, run.err
    groups = store.read_table(out, "groups")
    members = set(groups.loc[groups["group_id"] == "computed:", "member_id"])
    assert len(members) == 7 and "1885" in members and "1981" not in members
    fetched = set(store.read_values(out, ["N35001"])["municipality_id"])
    assert members | {"1981", "0000"} == fetched  # the indicator for the home, the computed peers and Riket
    title = "Liknande kommuner (beräknade: invånare totalt, utrikes födda, arbetslösa av befolkningen, 2022)"
    table = (out / "tables" / "n35001.md").read_text("utf-8")
    assert table.startswith(f"## Indikator N35001, kr/inv – Sala jämfört med {title}\n")
    # The members and how they were computed are said once, under the overview; the table counts them.
    assert "7 kommuner (medlemmarna anges under översikten)" in table and "Koladas kommungrupp" not in table
    overview = (out / "tables" / "overview.md").read_text("utf-8")
    assert "beräknade 20" in overview and "avstånd och nyckeltal i bilagan" in overview
    assert "Koladas kommungrupp" not in overview
    html = (out / "report.html").read_text("utf-8")
    appendix = html[html.index(f"Bilaga: {title}"):]
    assert appendix.index("Lindesberg") < appendix.index("Tierp")  # nearest first
    assert "0,083" in appendix and "23\u00a0435 (2\u00a0%)" in appendix and "Metod: alla 290 kommuner" in appendix
    again = harvester(*args)
    assert again.code == ExitCode.UNCHANGED, again.err  # the same set, the same values: nothing new
    assert store.read_table(out, "groups")["read_at"].nunique() == 1


def test_a_recipe_kpi_that_is_also_an_indicator_is_fetched_once_and_stays_quiet(harvester, real_fake, tmp_path) -> None:
    config = write_config(tmp_path / "sala.toml", home="Sala", groups=(), year_from=2019, kpis=("N01951", "N35001"))
    config.write_text(config.read_text("utf-8").replace(
        "[comparison]\n", '[comparison]\nsimilar = { kpis = ["N01951", "N02926"], log = ["N01951"], year = 2022 }\n'),
        encoding="utf-8")
    out = tmp_path / "out"
    args = ("fetch", "--config", str(config), "--api-url", real_fake.base_url, "--output", str(out), "-q")
    assert harvester(*args).code == ExitCode.OK
    population = store.read_values(out, ["N01951"])
    assert population["municipality_id"].nunique() == 291  # every kommun for the recipe, and Riket for the table
    assert population["period"].min() == 2012  # ten years before the recipe's year, more than [years] asks
    again = harvester(*args)
    assert again.code == ExitCode.UNCHANGED, again.err
    assert store.read_values(out, ["N01951"]).equals(population)
