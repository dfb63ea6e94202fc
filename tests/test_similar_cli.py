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
