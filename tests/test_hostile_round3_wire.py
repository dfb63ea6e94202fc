"""Hostile round three (issue 18) end to end: the fake Kolada's real answers bent on the wire, through the CLI.

The `rewrite` fault applies a regex to the bytes of a real answer, so the whole path runs: requests,
requests-cache, tenacity, our transport, the Kolada checks, the merge and the staged commit. A case holds when
the run exits 4 naming the fault, no byte of the dataset changes, and the next run after the fault is gone
succeeds from the same cache file (a bad answer kept in the cache would fail it the same way).
tests/test_hostile_round3_answers.py tests each check on its own, at the client.
"""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from harvester import store
from harvester.exitcodes import ExitCode
from tests.conftest import snapshot, write_config

ONE_VALUE = rb'"value":1301\.0'  # the small fake's 0484 N35001 2020 value
BENT = [  # issue item: what the wire says instead, what the error names
    pytest.param(ONE_VALUE, b'"value":1e999', "too large to be finite", id="1-value-1e999"),
    pytest.param(ONE_VALUE, b'"value":true', "not a number", id="7-value-boolean"),
    pytest.param(rb'"value":1300\.0', b'"value":1300.0,"value":0', "appears twice", id="8-duplicate-key"),
    pytest.param(rb'"period":2020,"municipality":"0484"', b'"period":2019,"municipality":"0484"',
                 "the same kpi, municipality and period", id="9-conflicting-items"),
    pytest.param(rb'"isdeleted":false', b'"isdeleted":"false"', "isdeleted that is not true or false",
                 id="10-isdeleted-string"),
    pytest.param(rb'"count":1,', b'"count":99999999999,', "a count that is not a whole number", id="12-count-huge"),
    pytest.param(rb'"status":""', b'"status":' + b"[" * 100_000 + b"]" * 100_000, "nested too deeply",
                 id="13-deep-json"),
]


def fetch_args(fake, tmp_path: Path, **source: float) -> tuple[tuple[str, ...], Path]:  # type: ignore[no-untyped-def]
    config = write_config(tmp_path / "kpis.toml", kpis=("N35001",), timeout=1, retry_seconds=0.5)
    if source:
        text = config.read_text("utf-8").replace("[source]\n", "[source]\n" + "".join(
            f"{k} = {v}\n" for k, v in source.items()), 1)
        config.write_text(text, "utf-8")
    out = tmp_path / "out"
    return ("fetch", "--config", str(config), "--api-url", fake.base_url, "--output", str(out)), out


def stored(out: Path, year: int) -> float:
    values = store.read_values(out, ["N35001"])
    return float(values[(values.municipality_id == "0484") & (values.period == year)]["value"].iloc[0])


@pytest.mark.parametrize("old,new,says", BENT)
def test_a_bent_data_answer_stores_nothing_and_is_not_cached(small_fake, harvester, tmp_path: Path,
                                                             old: bytes, new: bytes, says: str) -> None:
    args, out = fetch_args(small_fake, tmp_path)
    assert (first := harvester(*args)).code == ExitCode.OK, first.err
    small_fake.data.set_value("N35001", "0484", 2022, "T", 4242.0)
    before = snapshot(out, skip=("runs.parquet",))
    small_fake.add_fault("rewrite", match="/data/", times=None, old=old, new=new)
    result = harvester(*args, "--refresh")
    assert result.code == ExitCode.UPSTREAM, result.err
    assert says in result.err and "Traceback" not in result.err
    assert snapshot(out, skip=("runs.parquet",)) == before
    small_fake.clear_faults()
    again = harvester(*args)
    assert again.code == ExitCode.OK, again.err
    assert stored(out, 2022) == 4242.0 and stored(out, 2020) == 1301.0


CATALOGUE = [  # item 4 (and 25): catalogue answers no run can use, which once stayed cached for 20 hours
    pytest.param("/municipality", rb'"values":\[.*\],"count":\d+', b'"values":[],"count":0', "municipality list is empty",
                 id="4-empty-municipality-list"),
    pytest.param("/municipality", rb'\{"id":"0180","title":"Stockholm","type":"K"\}', b"1", "without a string id",
                 id="4-municipality-not-an-object"),
    pytest.param("/kpi", rb'"id":"N35001","title":"', rb'"id":"N35001","title":["x"],"y":"', "without a string id and title",
                 id="4-kpi-title-a-list"),
    pytest.param("/kpi", rb'"id":"N35001","title":"', rb'"id":"N35001","title":"\udfff', "lone surrogate",
                 id="25-kpi-title-lone-surrogate"),
]


@pytest.mark.parametrize("path,old,new,says", CATALOGUE)
def test_an_unusable_catalogue_answer_is_forgotten_by_the_cache(small_fake, harvester, tmp_path: Path, path: str,
                                                                old: bytes, new: bytes, says: str) -> None:
    args, out = fetch_args(small_fake, tmp_path)
    small_fake.add_fault("rewrite", match=f"/v3{path}[/?]", times=None, old=old, new=new)
    result = harvester(*args)
    assert result.code == ExitCode.UPSTREAM, result.err
    assert says in result.err and "Traceback" not in result.err
    assert not (out / "values").exists()
    small_fake.clear_faults()
    again = harvester(*args)
    assert again.code == ExitCode.OK, again.err


def test_headers_trickled_one_byte_at_a_time_end_the_run_at_the_deadline(small_fake, harvester, tmp_path: Path) -> None:
    """Item 2: `deadline = 2` with a head sent one byte every 0.3 s (about 40 s in all) ends in seconds."""
    args, out = fetch_args(small_fake, tmp_path, deadline=2)
    small_fake.add_fault("slow-headers", match="/data/", times=None, seconds=0.3)
    started = time.monotonic()
    result = harvester(*args)
    assert result.code == ExitCode.UPSTREAM, result.err
    assert "no headers after 2 s" in result.err
    assert time.monotonic() - started < 12


def test_pages_that_contradict_each_other_store_nothing_and_are_forgotten(harvester, tmp_path: Path) -> None:
    """Item 9 across pages: one item per page, each page well formed, but every page claims the same key
    with another value; the merge once kept the last page's silently."""
    from tests.conftest import small_data
    from tests.fake_kolada import FakeKolada

    with FakeKolada(small_data(), per_page_cap=1) as fake:
        args, out = fetch_args(fake, tmp_path)
        assert (first := harvester(*args)).code == ExitCode.OK, first.err
        fake.data.set_value("N35001", "0484", 2022, "T", 4242.0)
        before = snapshot(out, skip=("runs.parquet",))
        fake.add_fault("rewrite", match="/data/", times=None, old=rb'"period":\d{4},"municipality":"\d{4}"',
                       new=b'"period":2020,"municipality":"0484"')
        result = harvester(*args, "--refresh")
        assert result.code != ExitCode.OK and "contradict each other on different pages" in result.err, result.err
        assert snapshot(out, skip=("runs.parquet",)) == before
        fake.clear_faults()
        again = harvester(*args)
        assert again.code == ExitCode.OK, again.err
        assert stored(out, 2022) == 4242.0 and stored(out, 2020) == 1301.0
