"""SCB as a second source, end to end: config → fake Kolada + fake SCB over HTTP → Parquet → documents.

Every test drives the real command line (requests, requests-cache, tenacity) against the two fake
servers on loopback; the population figures checked are real (../shared/scb/population.parquet).
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from harvester import schema
from tests.conftest import snapshot, write_config
from tests.fake_kolada import FakeKolada
from tests.fake_scb.server import FakeScb

POPULATION = "scb_TAB638_BE0101N1"
UNEMPLOYED = "scb_TAB6260_000004YH_alder.16-64_fodelseregion.tot_m07"


SCB_INDICATORS = '''
[[indicator]]
id = "folkmangd"
label = "Folkmängd 31 december, antal"
source = "scb"
table = "TAB638"
contents = "BE0101N1"

[[indicator]]
id = "arbetslosa"
label = "Arbetslösa 16–64 år, antal (juli)"
source = "scb"
table = "tab6260"
contents = "000004yh"
select = { alder = "16-64", Fodelseregion = "TOT" }
month = 7
direction = "lower"

[[indicator]]
id = "kostnad-per-1000-inv"
label = "Kostnad per 1 000 invånare, kr"
ratio = { numerator = "n35001", denominator = "folkmangd", scale = 1000 }
direction = "lower"
'''


def scb_config(tmp_path: Path, extra: str = SCB_INDICATORS, **kw) -> Path:  # type: ignore[no-untyped-def]
    path = write_config(tmp_path / "mixed.toml", **{"home": "1981", "year_from": 2015, "year_to": 2023, **kw})
    path.write_text(path.read_text(encoding="utf-8") + extra, encoding="utf-8")
    return path


def urls(kolada: FakeKolada, scb: FakeScb) -> list[str]:
    return ["--api-url", kolada.base_url, "--scb-api-url", scb.base_url]


def data_calls(scb: FakeScb) -> list:  # type: ignore[type-arg]
    return [r for r in scb.log if r.path.endswith("/data")]


def test_both_sources_harvested_stored_and_compared(small_fake: FakeKolada, scb_fake: FakeScb, tmp_path: Path,
                                                     harvester) -> None:  # type: ignore[no-untyped-def]
    config, out = scb_config(tmp_path), tmp_path / "out"
    run = harvester("run", "--config", str(config), "--output", str(out), *urls(small_fake, scb_fake))
    assert run.code == 0, run.err

    population = pd.read_parquet(out / "values" / f"{POPULATION}.parquet")
    assert population.columns.tolist() == schema.VALUES.names
    assert set(population["source"]) == {"scb"}
    sala = population[(population["municipality_id"] == "1981") & (population["period"] == 2022)]
    assert sala.set_index("gender")["value"].to_dict() == {"T": 22981.0, "M": 11624.0, "K": 11357.0}
    riket = population[(population["municipality_id"] == "0000") & (population["period"] == 2022)
                       & (population["gender"] == "T")]
    assert riket["value"].tolist() == [10521556.0]
    kolada = pd.read_parquet(out / "values" / "N35001.parquet")
    assert set(kolada["source"]) == {"kolada"} and kolada.columns.tolist() == schema.VALUES.names

    # SCB is asked only for what exists: TAB6260 starts in 2020, so no earlier July goes in a request.
    unemployment = [r for r in data_calls(scb_fake) if "TAB6260" in r.path]
    assert unemployment and all(r.status == 200 for r in scb_fake.log)
    asked = unemployment[0].query
    assert "2020M07" in asked and "2019M07" not in asked and "1%2B2" in asked
    # TAB638 has no sex total: T is asked with Kon left out, K and M with their codes in another request.
    population_queries = [r.query for r in data_calls(scb_fake) if "TAB638" in r.path]
    assert sorted("Kon" in q for q in population_queries) == [False, True]

    series = pd.read_parquet(out / "series.parquet")
    assert set(series["kpi"]) == {POPULATION, UNEMPLOYED}
    described = series.set_index("kpi").loc[UNEMPLOYED]
    assert described["table_id"] == "TAB6260" and int(described["month"]) == 7
    assert json.loads(described["selection"]) == {"Alder": "16-64", "ContentsCode": "000004YH",
                                                  "Fodelseregion": "tot"}
    runs = pd.read_parquet(out / "runs.parquet")
    assert runs["schema_version"].tolist() == [schema.SCHEMA_VERSION] and scb_fake.base_url in runs["api_url"][0]

    # The ratio mixes the sources: Kolada's cost / SCB's population × 1 000, per municipality and year.
    bench = pd.read_csv(out / "benchmark.csv", dtype={"home_id": str})
    ratio = bench[(bench["indicator"] == "kostnad-per-1000-inv") & (bench["period"] == 2022)].iloc[0]
    cost = kolada[(kolada["municipality_id"] == "1981") & (kolada["period"] == 2022)]["value"].iloc[0]
    assert ratio["home_value"] == pytest.approx(cost / 22981 * 1000)
    mixed = (out / "tables" / "kostnad-per-1000-inv.md").read_text(encoding="utf-8")
    assert "Källa: Kolada (RKA) och SCB; kvoter, medianer och jämförelser: egen bearbetning." in mixed
    unemployed = (out / "tables" / "arbetslosa.md").read_text(encoding="utf-8")
    assert "Källa: SCB;" in unemployed and "Kolada" not in unemployed.split("Jämförelsegrupp")[-1]
    assert "Ingen rangordning och ingen färg" in unemployed  # a count of persons grows with population
    assert "SCB:s tabell TAB6260 omfattar 2020M01–2026M06; för 2015, 2016, 2017, 2018, 2019" in unemployed
    overview = (out / "tables" / "overview.md").read_text(encoding="utf-8")
    assert "SCB TAB638 BE0101N1" in overview and "| kvot |" in overview
    status = harvester("status", "--config", str(config), "--output", str(out))
    assert status.code == 0 and "SCB TAB638 updated 2025-02-21, periods 1968–2024" in status.out
    # Sala's newest stored year: 2023 is synthetic (the real years end in 2022) and, like every total, present
    # unless SCB left the whole (Region, Tid) unpublished.
    assert f"{POPULATION} 2023" in " ".join(status.out.split())


def test_unchanged_table_costs_no_data_request_and_a_revision_is_seen_past_the_cache(
        small_fake: FakeKolada, scb_fake: FakeScb, tmp_path: Path, harvester) -> None:  # type: ignore[no-untyped-def]
    config, out = scb_config(tmp_path), tmp_path / "out"
    args = ("fetch", "--config", str(config), "--output", str(out), *urls(small_fake, scb_fake))
    assert harvester(*args).code == 0
    before = snapshot(out, skip=("runs.parquet", "cursors.json"))
    scb_fake.clear_log()
    again = harvester(*args)
    assert again.code == 3, again.err  # nothing new: the nightly job stays quiet
    assert data_calls(scb_fake) == []
    assert {r.path for r in scb_fake.log} >= {"/api/v2/tables/TAB638", "/api/v2/tables/TAB6260"}
    assert snapshot(out, skip=("runs.parquet", "cursors.json")) == before

    # SCB revises Sala's 2021 population: the table's stamp moves, the series is fetched again
    # (the stamp is read fresh although the HTTP cache is on), and the revision is recorded.
    scb_fake.set_value("TAB638", {"Region": "1981", "ContentsCode": "BE0101N1", "Tid": "2021"}, 23000.0)
    scb_fake.set_updated("TAB638", "2026-11-20T07:00:00Z")
    scb_fake.clear_log()
    revised = harvester(*args)
    assert revised.code == 0, revised.err
    assert [r for r in data_calls(scb_fake) if "TAB638" in r.path] and not [
        r for r in data_calls(scb_fake) if "TAB6260" in r.path]
    stored = pd.read_parquet(out / "values" / f"{POPULATION}.parquet")
    sala = stored[(stored["municipality_id"] == "1981") & (stored["period"] == 2021) & (stored["gender"] == "T")]
    assert sala["value"].tolist() == [23000.0]
    revisions = pd.read_parquet(out / "revisions.parquet")
    mine = revisions[(revisions["kpi"] == POPULATION) & (revisions["municipality_id"] == "1981")]
    assert mine[["period", "gender", "new_value", "change"]].values.tolist() == [[2021, "T", 23000.0, "changed"]]
    cursor = json.loads((out / "cursors.json").read_text(encoding="utf-8"))[POPULATION]
    assert cursor["updated"] == "2026-11-20T07:00:00Z" and cursor["source"] == "scb"


@pytest.mark.parametrize(("kind", "opts", "said"), [
    pytest.param("status", {"status": 503}, "SCB server error (HTTP 503)", id="503"),
    pytest.param("status", {"status": 429, "retry_after": 1}, "429", id="429-storm"),
    pytest.param("html", {}, "SCB", id="html-maintenance-200"),
    pytest.param("truncate", {}, "SCB", id="truncated"),
    pytest.param("reset", {}, "SCB", id="reset-mid-body"),
])
def test_scb_outage_keeps_its_values_and_still_harvests_kolada(small_fake: FakeKolada, scb_fake: FakeScb,
                                                              tmp_path: Path, harvester, kind: str, opts: dict,
                                                              said: str) -> None:  # type: ignore[no-untyped-def]
    """A persistent fault on SCB's data answers, whatever its shape, never touches the stored SCB series."""
    config, out = scb_config(tmp_path), tmp_path / "out"
    args = ("fetch", "--config", str(config), "--output", str(out), *urls(small_fake, scb_fake), "--refresh")
    assert harvester(*args).code == 0
    stored = {name: (out / "values" / f"{name}.parquet").read_bytes() for name in (POPULATION, UNEMPLOYED)}
    scb_fake.add_fault(kind, match="/data", times=None, **opts)
    broken = harvester(*args)
    assert broken.code == 5, broken.err  # partial: Kolada's KPI was fetched, SCB's series were not
    assert said in broken.err
    for name, before in stored.items():
        assert (out / "values" / f"{name}.parquet").read_bytes() == before
    runs = pd.read_parquet(out / "runs.parquet")
    assert runs["outcome"].tolist() == ["success", "partial"]
    scb_fake.clear_faults()
    scb_fake.clear_log()
    again = harvester(*args)  # after the outage: SCB answers again, and what it says is what is stored
    assert again.code == 3, again.err
    assert data_calls(scb_fake) and all(r.status == 200 for r in data_calls(scb_fake))


@pytest.mark.parametrize(("indicator", "expected"), [
    ('source = "scb"\ntable = "TAB9999"\ncontents = "BE0101N1"',
     ["mixed.toml:", "SCB has no table TAB9999", "search"]),
    ('source = "scb"\ntable = "TAB638"\ncontents = "BE0101N9"',
     ["TAB638 has no contents 'BE0101N9' in ContentsCode", "'BE0101N1' (Population)", "harvester scb show TAB638"]),
    ('source = "scb"\ntable = "TAB6260"\ncontents = "000004YH"\nmonth = 7\nselect = { Alder = "16-99" }',
     ["TAB6260 has no code '16-99' in Alder (age); closest: '16-19' (16–19 years)", "and 15 more"]),
    ('source = "scb"\ntable = "TAB6260"\ncontents = "000004YH"\nmonth = 7',
     ["TAB6260 needs a code for Alder (age) in select", 'select = { Alder = "15-19" }']),
    ('source = "scb"\ntable = "TAB6260"\ncontents = "000004YH"\nselect = { Alder = "16-64" }',
     ["TAB6260 is a monthly table: say which month", "month = 12"]),
    ('source = "scb"\ntable = "TAB638"\ncontents = "BE0101N1"\nmonth = 7',
     ["TAB638 is an annual table: remove month = 7"]),
    ('source = "scb"\ntable = "TAB638"\ncontents = "BE0101N1"\nselect = { Region = "1981" }',
     ["select must not name Region"]),
    ('ratio = { numerator = "n35001", denominator = "folkmangden" }',
     ["mixed.toml:", "ratio names 'folkmangden', which is not another indicator", "did you mean 'folkmangd'"]),
])
def test_bad_scb_config_is_one_clear_line_and_writes_nothing(small_fake: FakeKolada, scb_fake: FakeScb,
                                                              tmp_path: Path, harvester, indicator: str,
                                                              expected: list[str]) -> None:  # type: ignore[no-untyped-def]
    extra = ('\n[[indicator]]\nid = "folkmangd"\nlabel = "Folkmängd"\nsource = "scb"\ntable = "TAB638"\n'
             f'contents = "BE0101N1"\n\n[[indicator]]\nid = "fel"\nlabel = "Fel"\n{indicator}\n')
    config, out = scb_config(tmp_path, extra=extra), tmp_path / "out"
    run = harvester("fetch", "--config", str(config), "--output", str(out), *urls(small_fake, scb_fake))
    assert run.code == 2, run.err
    lines = [line for line in run.err.splitlines() if line.startswith("harvester: error:")]
    assert len(lines) == 1
    for part in expected:
        assert part in lines[0]
    assert not out.exists()
    assert data_calls(scb_fake) == []


def test_ratio_with_a_zero_denominator_is_empty_with_a_footnote(small_fake: FakeKolada, scb_fake: FakeScb,
                                                               tmp_path: Path, harvester) -> None:  # type: ignore[no-untyped-def]
    scb_fake.set_value("TAB638", {"Region": "1981", "ContentsCode": "BE0101N1", "Tid": "2022"}, 0.0)
    config, out = scb_config(tmp_path), tmp_path / "out"
    assert harvester("run", "--config", str(config), "--output", str(out), *urls(small_fake, scb_fake)).code == 0
    bench = pd.read_csv(out / "benchmark.csv", dtype={"home_id": str})
    ratio = bench[bench["indicator"] == "kostnad-per-1000-inv"].set_index("period")["home_value"]
    assert pd.isna(ratio[2022]) and ratio[2021] > 0
    assert "inf" not in (out / "benchmark.csv").read_text(encoding="utf-8").lower()
    table = (out / "tables" / "kostnad-per-1000-inv.md").read_text(encoding="utf-8")
    assert "Kvoten saknas där nämnaren (Folkmängd 31 december, antal) är noll: Sala 2022." in table


def test_a_schema_2_dataset_gains_the_series_table_and_keeps_its_history(small_fake: FakeKolada, scb_fake: FakeScb,
                                                                         tmp_path: Path, harvester) -> None:  # type: ignore[no-untyped-def]
    kolada_only, out = write_config(tmp_path / "mixed.toml", home="1981", year_to=2023), tmp_path / "out"
    assert harvester("fetch", "--config", str(kolada_only), "--output", str(out), "--api-url",
                     small_fake.base_url).code == 0
    (out / "series.parquet").unlink()  # as a version-2 harvest left it
    runs = pq.read_table(out / "runs.parquet").to_pandas()
    runs["schema_version"] = 2
    runs.to_parquet(out / "runs.parquet", index=False)
    kolada_file = (out / "values" / "N35001.parquet").read_bytes()
    config = scb_config(tmp_path)
    assert harvester("fetch", "--config", str(config), "--output", str(out), *urls(small_fake, scb_fake)).code == 0
    assert (out / "values" / "N35001.parquet").read_bytes() == kolada_file
    assert pd.read_parquet(out / "runs.parquet")["schema_version"].tolist() == [2, schema.SCHEMA_VERSION]
    assert set(pd.read_parquet(out / "series.parquet")["kpi"]) == {POPULATION, UNEMPLOYED}


def test_scb_search_and_show_tell_a_config_author_what_to_write(scb_fake: FakeScb, harvester) -> None:  # type: ignore[no-untyped-def]
    found = harvester("scb", "search", "arbetsmarknadsstatus", "--scb-api-url", scb_fake.base_url, "--no-cache")
    assert found.code == 0, found.err
    assert "TAB6260  Arbetsmarknadsstatus" in found.out and "[2020M01–2026M06; updated 2026-08-28]" in found.out
    shown = harvester("scb", "show", "tab6260", "--scb-api-url", scb_fake.base_url, "--no-cache")
    assert shown.code == 0, shown.err
    assert "000004YH  number of unemployed  [number, 0 decimals]" in shown.out
    assert "Alder (age): mandatory: fix one code in select" in shown.out
    assert "Fodelseregion (region of birth): may be left out" in shown.out
    assert "Kon (sex): set by the harvester from gender (K → 2, M → 1, T → 1+2)" in shown.out
    missing = harvester("scb", "show", "TAB6620", "--scb-api-url", scb_fake.base_url, "--no-cache")
    assert missing.code == 2 and "SCB has no table TAB6620" in missing.err
    for command in (("scb", "search", "--help"), ("scb", "show", "--help")):
        assert harvester(*command).code == 0


def test_unknown_table_suggests_what_the_table_search_finds(small_fake: FakeKolada, scb_fake: FakeScb,
                                                             tmp_path: Path, harvester) -> None:  # type: ignore[no-untyped-def]
    extra = ('\n[[indicator]]\nid = "folkmangd"\nlabel = "Folkmängd 31 december"\nsource = "scb"\n'
             'table = "TAB683"\ncontents = "BE0101N1"\n')
    config, out = scb_config(tmp_path, extra=extra), tmp_path / "out"
    run = harvester("fetch", "--config", str(config), "--output", str(out), *urls(small_fake, scb_fake))
    assert run.code == 2 and not out.exists()
    line = run.err.strip().splitlines()[-1]
    assert f"{config}:" in line and "indicator 'folkmangd': SCB has no table TAB683" in line
    assert "(the table search for 'Folkmängd' finds: TAB638 Folkmängden efter region" in line


def test_metadata_that_changed_without_a_new_stamp_is_asked_again_past_the_cache(
        small_fake: FakeKolada, scb_fake: FakeScb, tmp_path: Path, harvester) -> None:  # type: ignore[no-untyped-def]
    """Issue 18 item 30: SCB withdraws the preliminary 2024 without moving `updated`. Our cached metadata
    still lists 2024, so the first data request names a code the table no longer has; the run asks for the
    metadata once more, past the cache, and fetches what the table has instead of giving up with exit 5."""
    out = tmp_path / "out"
    args = ("--output", str(out), *urls(small_fake, scb_fake))
    first = harvester("fetch", "--config", str(scb_config(tmp_path)), *args)
    assert first.code == 0, first.err  # 2015–2023 stored, TAB638's metadata (listing 2024) cached
    scb_fake.drop_period("TAB638", "2024")
    scb_fake.clear_log()
    wider = scb_config(tmp_path, year_to=2024)  # 2024 is now in the scope: the series is fetched again
    second = harvester("fetch", "--config", str(wider), *args)
    assert second.code == 0, second.err
    metadata_calls = [r for r in scb_fake.log if r.path == "/api/v2/tables/TAB638/metadata"]
    assert [r.status for r in metadata_calls] == [200]  # the fresh read (the first one came from the cache)
    refused = [r for r in data_calls(scb_fake) if "TAB638" in r.path and r.status == 400]
    assert refused and all("2024" in r.query for r in refused)
    later = [r for r in data_calls(scb_fake) if "TAB638" in r.path and r.status == 200]
    assert later and not any("2024" in r.query for r in later)
    stored = pd.read_parquet(out / "values" / f"{POPULATION}.parquet")
    assert 2023 in set(stored["period"]) and 2024 not in set(stored["period"])
    scb_fake.clear_log()  # the cache now holds the fresh metadata: the next night asks nothing twice
    third = harvester("fetch", "--config", str(wider), *args)
    assert third.code == 3, third.err
    assert not [r for r in scb_fake.log if r.path.endswith("/metadata") or r.path.endswith("/data")]
