"""Fault suite: every failure Kolada can throw at us is retried to success or fails cleanly.

"Cleanly" is checked byte for byte: after a failed run every file of the dataset is what it was,
except `runs.parquet`, which gains exactly one row saying what failed.
"""
from __future__ import annotations

import math
import time
from pathlib import Path

import pytest

from harvester import store
from harvester.exitcodes import ExitCode
from tests.conftest import snapshot, write_config

FAULTS = [
    pytest.param("status", {"status": 429, "retry_after": 1}, id="429-retry-after"),
    pytest.param("status", {"status": 429}, id="429-no-retry-after"),
    pytest.param("status", {"status": 500}, id="500"),
    pytest.param("status", {"status": 502}, id="502"),
    pytest.param("status", {"status": 503}, id="503"),
    pytest.param("timeout", {"seconds": 3}, id="read-timeout"),
    pytest.param("reset", {}, id="reset-mid-body"),
    pytest.param("drop", {}, id="connection-drop"),
    pytest.param("truncate", {}, id="truncated-json"),
    pytest.param("html", {}, id="html-maintenance-200"),
]


@pytest.fixture
def setup(small_fake, harvester, tmp_path):  # type: ignore[no-untyped-def]
    """A completed first harvest, then an upstream change that a good run would pick up."""
    config = write_config(tmp_path / "kpis.toml", kpis=("N35001", "N33817"), timeout=1, retry_seconds=6)
    out = tmp_path / "out"
    args = ("fetch", "--config", str(config), "--api-url", small_fake.base_url, "--output", str(out))
    first = harvester(*args)
    assert first.code == ExitCode.OK, first.err
    small_fake.data.set_value("N35001", "0484", 2022, "T", 4242.0)
    small_fake.clear_log()
    return args, out


def give_up_soon(args: tuple[str, ...]) -> None:
    """A short retry budget for tests of persistent faults: what they prove needs no minutes of retrying."""
    write_config(Path(args[2]), kpis=("N35001", "N33817"), timeout=1, retry_seconds=1)


def stored_value(out: Path) -> float:
    values = store.read_values(out, ["N35001"])
    return float(values[(values.municipality_id == "0484") & (values.period == 2022)]["value"].iloc[0])


@pytest.mark.parametrize("kind,opts", FAULTS)
def test_transient_fault_is_retried_to_success(setup, small_fake, harvester, kind, opts) -> None:
    args, out = setup
    small_fake.add_fault(kind, match="/data/", times=2, **opts)
    result = harvester(*args)
    assert result.code == ExitCode.OK, result.err
    assert stored_value(out) == 4242.0
    deadline = time.monotonic() + 5  # a timed-out handler logs only when its sleep ends
    while len([r for r in small_fake.log if r.fault == kind]) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len([r for r in small_fake.log if r.fault == kind]) == 2
    assert "retrying" in result.err
    if opts.get("retry_after"):  # Retry-After honoured: the retry came no sooner than asked
        data = [r for r in small_fake.log if r.path.startswith("/v3/data/")]
        assert data[1].t - data[0].t >= 0.95


@pytest.mark.parametrize("kind,opts", FAULTS)
def test_persistent_fault_fails_cleanly_and_keeps_every_byte(setup, small_fake, harvester, kind, opts) -> None:
    args, out = setup
    give_up_soon(args)
    before = snapshot(out, skip=("runs.parquet",))
    runs_before = store.read_table(out, "runs")
    small_fake.add_fault(kind, match="/data/", times=None, **opts)
    result = harvester(*args)
    assert result.code == ExitCode.UPSTREAM, result.err
    assert snapshot(out, skip=("runs.parquet",)) == before
    runs = store.read_table(out, "runs")
    assert len(runs) == len(runs_before) + 1
    assert runs.iloc[:-1].equals(runs_before)
    assert runs.iloc[-1]["outcome"] == "failed" and "gave up after retries" in runs.iloc[-1]["message"]
    assert "http://127.0.0.1" in runs.iloc[-1]["message"]  # the URL is in the message
    assert not (out / ".staging").exists() or not any((out / ".staging").iterdir())
    # Once Kolada is back, the next run completes the work.
    small_fake.clear_faults()
    assert harvester(*args).code == ExitCode.OK
    assert stored_value(out) == 4242.0


def test_kolada_down_before_anything_is_read(setup, small_fake, harvester) -> None:
    args, out = setup
    give_up_soon(args)
    before = snapshot(out, skip=("runs.parquet",))
    small_fake.add_fault("status", times=None, status=503)
    result = harvester(*args, "--no-cache")
    assert result.code == ExitCode.UPSTREAM
    assert "could not read Kolada's catalogue" in result.err
    assert snapshot(out, skip=("runs.parquet",)) == before


def held_back(setup, fake, harvester, kind: str) -> None:  # type: ignore[no-untyped-def]
    """A full answer of `kind` that would lose stored values is held back: exit 5, one line, nothing changed."""
    args, out = setup
    before = store.read_values(out)
    fake.add_fault(kind, match="/data/", times=None)
    result = harvester(*args, "--refresh")
    assert result.code == ExitCode.PARTIAL
    assert "would remove or empty" in result.err and "suspicious, so the stored values are kept" in result.err
    assert "--accept-removals" in result.err
    assert store.read_values(out).equals(before)


def test_empty_answer_for_a_kpi_with_data_is_suspicious(setup, small_fake, harvester) -> None:
    args, out = setup
    held_back(setup, small_fake, harvester, "empty")
    assert "N35001" not in store.read_cursors(out)  # so the next run cannot get away with "changes only"
    small_fake.clear_faults()
    small_fake.clear_log()
    assert harvester(*args).code == ExitCode.OK
    data = [r for r in small_fake.log if r.path.startswith("/v3/data/")]
    assert data and all("from_date" not in r.query for r in data)  # fetched in full, as the message promised
    assert stored_value(out) == 4242.0


def test_looping_next_url_is_an_error_not_an_endless_harvest(setup, small_fake, harvester) -> None:
    args, out = setup
    before = snapshot(out, skip=("runs.parquet",))
    small_fake.add_fault("loop", match="/data/", times=None)
    result = harvester(*args)
    assert result.code == ExitCode.UPSTREAM
    assert "next_url repeats" in result.err
    assert len([r for r in small_fake.log if r.path.startswith("/v3/data/")]) == 2
    assert snapshot(out, skip=("runs.parquet",)) == before


def test_small_pages_are_followed_to_the_end(small_fake, harvester, tmp_path) -> None:
    small_fake.per_page_cap = 7
    config = write_config(tmp_path / "kpis.toml", kpis=("N35001", "N33817"))
    out = tmp_path / "out"
    assert harvester("fetch", "--config", str(config), "--api-url", small_fake.base_url, "--output", str(out)).code == 0
    capped = store.read_values(out)
    capped_pages = [r for r in small_fake.log if r.path.startswith("/v3/data/")]
    small_fake.per_page_cap = None
    out2 = tmp_path / "out2"
    assert harvester("fetch", "--config", str(config), "--api-url", small_fake.base_url, "--output", str(out2),
                     "--no-cache").code == 0
    full = store.read_values(out2)
    assert len(capped) == len(full) > 50
    assert capped.drop(columns="fetched_at").equals(full.drop(columns="fetched_at"))
    items = small_fake.data.items(["N35001", "N33817"], ["0000", "0180", "0380", "0484", "1981"], range(2015, 2027))
    assert len(capped_pages) == math.ceil(items / 7) >= 5


def test_a_4xx_is_not_retried_and_names_the_url(setup, small_fake, harvester) -> None:
    args, out = setup
    small_fake.add_fault("status", match="/data/", times=None, status=422)
    result = harvester(*args)
    assert result.code == ExitCode.UPSTREAM
    assert "HTTP 422" in result.err and "/v3/data/kpi/" in result.err
    assert len([r for r in small_fake.log if r.path.startswith("/v3/data/")]) == 1


# --- hostile answers (issue 9): data loss with exit 0 must never happen ------------------------------

def refused_cleanly(setup, fake, harvester, kind: str, says: str, *extra: str, soon: bool = True,  # type: ignore[no-untyped-def]
                    **opts) -> None:
    """A persistent fault of `kind` fails the run with exit 4 saying `says`, and changes no byte but `runs`."""
    args, out = setup
    if soon:
        give_up_soon(args)
    before = snapshot(out, skip=("runs.parquet",))
    fake.add_fault(kind, match="/data/", times=None, **opts)
    result = harvester(*args, *extra)
    assert result.code == ExitCode.UPSTREAM, result.err
    assert says in result.err
    assert snapshot(out, skip=("runs.parquet",)) == before
    assert store.read_table(out, "runs").iloc[-1]["outcome"] == "failed"


def test_nan_values_are_not_json_and_change_nothing(setup, small_fake, harvester) -> None:
    refused_cleanly(setup, small_fake, harvester, "nan", "non-JSON literal NaN", "--refresh")


def test_an_answer_withdrawing_everything_is_held_back(setup, small_fake, harvester) -> None:
    held_back(setup, small_fake, harvester, "all-deleted")


def test_a_page_whose_count_lies_is_never_stored(setup, small_fake, harvester) -> None:
    """The count check: a page holding fewer values than its `count` is retried, then refused."""
    refused_cleanly(setup, small_fake, harvester, "miscount", "says count=")


# --- runs that never end (issue 9) ------------------------------------------------------------------

def test_a_trickling_body_ends_at_the_deadline(setup, small_fake, harvester) -> None:
    give_up_soon(setup[0])
    config = Path(setup[0][2])
    config.write_text(config.read_text().replace("[source]", "[source]\ndeadline = 1.5"))
    clock = time.monotonic()
    refused_cleanly(setup, small_fake, harvester, "trickle", "not complete after 1.5 s", soon=False, seconds=0.2)
    assert time.monotonic() - clock < 15


def test_an_endless_body_stops_at_the_size_cap(setup, small_fake, harvester) -> None:
    args, out = setup
    config = Path(args[2])
    config.write_text(config.read_text().replace("[source]", "[source]\nmax_response_mb = 1"))
    small_fake.add_fault("endless", match="/data/", times=None)
    clock = time.monotonic()
    result = harvester(*args)
    assert time.monotonic() - clock < 15
    assert result.code in (ExitCode.UPSTREAM, ExitCode.PARTIAL)
    assert "larger than 1 MB" in result.err


def test_a_runaway_next_url_stops_early(setup, small_fake, harvester) -> None:
    small_fake.per_page_cap = 5
    refused_cleanly(setup, small_fake, harvester, "runaway", "runaway listing", "--refresh")
    data = [r for r in small_fake.log if r.path.startswith("/v3/data/")]
    assert len(data) < 60  # the planner knows ≤ 2 KPIs × 5 areas × 12 years = 120 items, 24 pages of 5


def test_an_unreadable_retry_after_falls_back_to_our_backoff(setup, small_fake, harvester) -> None:
    args, out = setup
    small_fake.add_fault("status", match="/data/", times=2, status=429, retry_after="soon")
    result = harvester(*args)
    assert result.code == ExitCode.OK, result.err
    assert stored_value(out) == 4242.0


def test_a_redirect_to_another_host_is_refused(setup, small_fake, harvester) -> None:
    from tests.conftest import small_data
    from tests.fake_kolada import FakeKolada

    args, out = setup
    before = snapshot(out, skip=("runs.parquet",))
    with FakeKolada(small_data()) as elsewhere:
        small_fake.add_fault("redirect", match="/data/", times=None, location=elsewhere.root)
        result = harvester(*args)
        assert elsewhere.log == []  # never asked: its data would not be Kolada's
    assert result.code == ExitCode.UPSTREAM
    assert "redirected us to another host" in result.err
    assert snapshot(out, skip=("runs.parquet",)) == before


def test_persistent_faults_under_quiet_print_one_line(setup, small_fake, harvester) -> None:
    args, out = setup
    give_up_soon(args)
    small_fake.add_fault("status", match="/data/", times=None, status=503)
    result = harvester(*args, "--quiet")
    assert result.code == ExitCode.UPSTREAM
    assert len(result.err.strip().splitlines()) == 1, result.err
