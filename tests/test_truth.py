"""Data truth and the operator's view (issues 8 and 9): withdrawals, the loss guard, what is on disk, what is said."""
from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from harvester import schema, store
from harvester.exitcodes import ExitCode
from tests.conftest import REPO, run_cli_subprocess, snapshot, write_config


def fetch_args(fake, config: Path, out: Path) -> tuple[str, ...]:  # type: ignore[no-untyped-def]
    return ("fetch", "--config", str(config), "--api-url", fake.base_url, "--output", str(out))


def value_of(out: Path, kpi: str, area: str, year: int) -> float | None:
    values = store.read_values(out, [kpi])
    hit = values[(values.municipality_id == area) & (values.period == year) & (values.gender == "T")]
    return None if hit.empty else float(hit["value"].iloc[0])


@pytest.fixture
def first(small_fake, harvester, tmp_path):  # type: ignore[no-untyped-def]
    config = write_config(tmp_path / "kpis.toml", kpis=("N35001",))
    out = tmp_path / "out"
    args = fetch_args(small_fake, config, out)
    assert harvester(*args).code == ExitCode.OK
    small_fake.clear_log()
    return args, out


def test_a_value_withdrawn_without_tombstone_leaves_with_a_complete_answer(first, small_fake, harvester) -> None:
    """8.1: the tombstone is only in from_date answers; a full fetch must still remove the value."""
    args, out = first
    small_fake.data.delete_value("N35001", "0180", 2021, "T")
    result = harvester(*args, "--refresh")  # a full fetch: the answer simply lacks the value
    assert result.code == ExitCode.OK, result.err
    assert value_of(out, "N35001", "0180", 2021) is None
    revisions = store.read_table(out, "revisions")
    assert revisions[["municipality_id", "period", "change"]].values.tolist() == [["0180", 2021, "removed"]]


def test_an_answer_losing_many_values_is_held_back_until_accepted(first, small_fake, harvester) -> None:
    """8.1 / 9.2: 4 of 20 values gone exceeds 5 % + 2; nothing removed, exit 5, then --accept-removals."""
    args, out = first
    before = store.read_values(out)
    for area in ("0180", "0380", "1981", "0000"):
        small_fake.data.delete_value("N35001", area, 2022, "T")
    held = harvester(*args, "--refresh")
    assert held.code == ExitCode.PARTIAL
    assert "would remove or empty 4 of 20 stored values" in held.err
    assert store.read_values(out).equals(before)
    accepted = harvester(*args, "--accept-removals")
    assert accepted.code == ExitCode.OK, accepted.err
    assert all(value_of(out, "N35001", a, 2022) is None for a in ("0180", "0380", "1981", "0000"))
    assert (store.read_table(out, "revisions")["change"] == "removed").sum() == 4


def test_mass_nulling_is_held_back_too(first, small_fake, harvester) -> None:
    args, out = first
    before = store.read_values(out)
    for area in ("0180", "0380", "1981", "0484"):
        for year in (2021, 2022):
            small_fake.data.set_value("N35001", area, year, "T", None)
    result = harvester(*args)
    assert result.code == ExitCode.PARTIAL and "would remove or empty 8 of 20" in result.err
    assert store.read_values(out).equals(before)


def test_every_documented_table_exists_after_the_first_run(first) -> None:
    """8.5: the documented way to read revisions works on a fresh dataset."""
    _, out = first
    for name in schema.TABLES:
        assert pq.read_table(out / f"{name}.parquet").schema.equals(schema.TABLES[name]), name
    assert pq.read_table(out / "revisions.parquet").num_rows == 0


def test_a_change_dated_the_day_before_the_last_harvest_is_seen(first, small_fake, harvester) -> None:
    """8.13: Kolada dates a change by its own (local) day, which can lie before our UTC harvest day."""
    args, out = first
    yesterday = (dt.datetime.now(dt.timezone.utc).date() - dt.timedelta(days=1)).isoformat()
    small_fake.data.set_value("N35001", "0484", 2022, "T", 1234.5, changed=yesterday)
    assert harvester(*args).code == ExitCode.OK
    assert all("from_date" in r.query for r in small_fake.log if r.path.startswith("/v3/data/"))
    assert value_of(out, "N35001", "0484", 2022) == 1234.5


def test_a_refused_catalogue_request_still_writes_a_runs_row(first, small_fake, harvester) -> None:
    """8.9: one row per harvest, failed ones included."""
    args, out = first
    small_fake.add_fault("status", match="/municipality", times=None, status=422)
    result = harvester(*args, "--no-cache")
    assert result.code == ExitCode.UPSTREAM and "HTTP 422" in result.err
    runs = store.read_table(out, "runs")
    assert list(runs["outcome"]) == ["success", "failed"] and "HTTP 422" in runs.iloc[-1]["message"]


def test_an_empty_municipality_list_is_kolada_s_fault_not_the_config_s(tmp_path, harvester) -> None:
    """9.11: not "0484 is not in Kolada's list"."""
    from tests.conftest import SMALL_GROUPS, SMALL_KPIS, small_values
    from tests.fake_kolada import FakeKolada, KoladaData

    config = write_config(tmp_path / "kpis.toml")
    with FakeKolada(KoladaData.from_frames(SMALL_KPIS, [], SMALL_GROUPS, small_values())) as fake:
        result = harvester(*fetch_args(fake, config, tmp_path / "out"))
    assert result.code == ExitCode.UPSTREAM
    assert "municipality list is empty" in result.err and "not in Kolada's list" not in result.err


def test_a_bug_exits_1_with_a_traceback(first, harvester, monkeypatch) -> None:
    """8.6: a KeyError inside our code is a bug, not a config error (provoked here inside pyarrow's reader)."""
    _, out = first

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise KeyError("boom")

    monkeypatch.setattr(pq, "read_table", broken)
    result = harvester("status", "--output", str(out))
    assert result.code == ExitCode.INTERNAL
    assert "Traceback" in result.err and "KeyError: 'boom'" in result.err and "this is a bug" in result.err


def test_changes_into_a_closed_pipe_is_no_error(first) -> None:
    """9.11: `harvester changes | head -3` is a normal thing to do."""
    _, out = first
    pipeline = f"{sys.executable} -m harvester changes --output {out} --csv | head -1"
    done = subprocess.run(["bash", "-o", "pipefail", "-c", pipeline], cwd=REPO, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("detected_at,") and "Broken pipe" not in done.stderr


def test_no_writable_cache_folder_means_a_run_without_cache(small_fake, tmp_path) -> None:
    """9.11: a cache problem is not "cannot write the output"."""
    config = write_config(tmp_path / "kpis.toml")
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    result = run_cli_subprocess(["fetch", "--config", str(config), "--api-url", small_fake.base_url, "--output",
                                 str(tmp_path / "out")], env={"XDG_CACHE_HOME": str(blocker)})
    assert result.returncode == ExitCode.OK, result.stderr
    assert "running without it" in result.stderr


def test_a_fresh_output_folder_on_a_full_disk_is_not_left_behind(small_fake, tmp_path) -> None:
    """Smaller (9): no empty `.lock` in a folder made for a run that could not start."""
    import resource
    import signal

    def no_room() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))

    config = write_config(tmp_path / "kpis.toml")
    out = tmp_path / "fresh"
    result = run_cli_subprocess(["fetch", "--config", str(config), "--api-url", small_fake.base_url, "--output",
                                 str(out), "--no-cache"], preexec_fn=no_room)
    assert result.returncode == ExitCode.OUTPUT, result.stderr
    assert not out.exists()


def test_commit_order_keeps_runs_and_revisions_behind_the_values(first, tmp_path) -> None:
    """9.14: a commit stopped half way leaves values newer than `runs`, never the other way round."""
    _, out = first
    values = store.read_values_table(out, "N35001")
    txn = store.Transaction(out, "20990101T000000Z-1")
    txn.stage_values("N35001", values)
    txn.stage_table("revisions.parquet", schema.REVISIONS.empty_table())
    txn.stage_table("runs.parquet", schema.RUNS.empty_table())
    txn.stage_json(store.CURSORS, {})
    (out / "runs.parquet").unlink()
    (out / "runs.parquet").mkdir()  # the move of `runs` will fail
    with pytest.raises(store.CommitIncomplete, match=r"stopped after 2 of 4 files \(values/N35001.parquet, "
                                                    r"revisions.parquet in place; runs.parquet failed"):
        txn.commit()
    assert not (out / store.CURSORS).read_text().strip() == "{}"  # the cursors did not move ahead of the runs


def test_values_folder_that_cannot_be_written_changes_nothing_at_all(first, small_fake, harvester) -> None:
    """9.10: the failure comes before the commit point, so `runs` and `revisions` are untouched too."""
    args, out = first
    small_fake.data.set_value("N35001", "0484", 2022, "T", 999.0)
    before = snapshot(out)
    made = subprocess.run(["chattr", "+i", str(out / "values")], capture_output=True).returncode == 0
    try:
        probe = out / "values" / "probe"
        try:
            probe.touch()
            probe.unlink()
            pytest.fail("this machine cannot make a folder unwritable (chattr +i as root is needed)")
        except OSError:
            pass
        assert made
        result = harvester(*args)
    finally:
        subprocess.run(["chattr", "-i", str(out / "values")], check=False)
    assert result.code == ExitCode.OUTPUT
    assert "nothing was committed" in result.err
    assert snapshot(out) == before


def test_status_with_a_kpi_without_publication_calendar(real_fake, harvester, tmp_path) -> None:
    """8.4: U33401 (Mark's config) has no publ_period; status must not crash."""
    out = tmp_path / "out"
    mark = REPO / "config" / "examples" / "mark.toml"
    assert harvester("fetch", "--config", str(mark), "--api-url", real_fake.base_url, "--output", str(out)).code in (0, 5)
    result = harvester("status", "--output", str(out), "--config", str(mark))
    assert result.code == ExitCode.OK, result.err
    assert "U33401" in result.out and "no publication calendar in Kolada" in result.out
