"""Cron safety: the lock, kills at random moments, a full disk, and commits interrupted half way.

These tests run the real console entry point in child processes against the fake Kolada in this
process, because locks, SIGKILL and resource limits only mean something across processes.
"""
from __future__ import annotations

import json
import random
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from harvester import store
from harvester.exitcodes import ExitCode
from tests.conftest import REPO, run_cli_subprocess, snapshot

SHIPPED = REPO / "config" / "kpis.toml"


def fetch_args(fake, out: Path, tmp_path: Path) -> list[str]:  # type: ignore[no-untyped-def]
    return ["fetch", "--config", str(SHIPPED), "--api-url", fake.base_url, "--output", str(out),
            "--cache", str(tmp_path / "cache.sqlite")]


def readable(out: Path) -> int:
    """Every Parquet file opens and the values read as one table; return the number of value rows."""
    for path in out.rglob("*.parquet"):
        if store.STAGING not in path.parts:
            pq.read_table(path)
    return len(store.read_values(out))


def test_second_run_exits_at_once_while_the_first_holds_the_lock(real_fake, tmp_path) -> None:
    real_fake.latency = 1.0  # the first run needs ≥ 4 s after its first request: time for the second to start
    out = tmp_path / "out"
    args = [sys.executable, "-m", "harvester", *fetch_args(real_fake, out, tmp_path)]
    first = subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not real_fake.log and time.monotonic() < deadline:  # the first run is talking to Kolada: it holds the lock
        time.sleep(0.05)
    started = time.monotonic()
    second = run_cli_subprocess(fetch_args(real_fake, out, tmp_path))
    assert second.returncode == ExitCode.LOCKED
    assert "another harvest is already running" in second.stderr and f"pid {first.pid}" in second.stderr
    assert time.monotonic() - started < 10  # at once: no waiting for the lock, no requests
    assert first.wait(timeout=60) == ExitCode.OK, first.stderr
    assert readable(out) > 800


def test_stale_lock_of_a_killed_run_is_taken_over(small_fake, tmp_path) -> None:
    from tests.conftest import write_config

    out = tmp_path / "out"
    out.mkdir()
    (out / ".lock").write_text(json.dumps({"pid": 999_999_999, "started": "2026-01-01T03:00:00+00:00"}))
    config = write_config(tmp_path / "kpis.toml")
    result = run_cli_subprocess(["fetch", "--config", str(config), "--api-url", small_fake.base_url, "--output", str(out),
                                 "--cache", str(tmp_path / "c.sqlite")])
    assert result.returncode == ExitCode.OK, result.stderr
    assert "taking over the lock left by run pid 999999999" in result.stderr


def test_sigkill_at_random_moments_never_breaks_the_dataset(real_fake, tmp_path) -> None:
    """Kill -9 during the harvest and during the write: the dataset stays readable and complete,
    and the next run completes the work."""
    out = tmp_path / "out"
    args = [*fetch_args(real_fake, out, tmp_path), "--refresh"]  # every run fetches and rewrites in full
    assert run_cli_subprocess(args).returncode == ExitCode.OK
    baseline_rows = readable(out)
    real_fake.latency = 0.2
    clock = time.monotonic()
    assert run_cli_subprocess(args).returncode == ExitCode.UNCHANGED
    duration = time.monotonic() - clock
    real_fake.data.set_value("N35001", "0484", 2022, "T", 1999.0)
    real_fake.data.set_value("N30101", "0181", 2022, "T", 5555.0)
    rng = random.Random(20261122)
    killed = 0
    for delay in sorted(rng.uniform(0.05, 1.0) * duration for _ in range(8)):
        child = subprocess.Popen([sys.executable, "-m", "harvester", *args], cwd=REPO,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        if child.poll() is None:
            child.send_signal(signal.SIGKILL)
            killed += 1
        child.wait(timeout=60)
        assert readable(out) == baseline_rows  # no row lost, whatever the moment of the kill
    assert killed >= 4
    final = run_cli_subprocess(args[:-1])
    assert final.returncode in (ExitCode.OK, ExitCode.UNCHANGED), final.stderr
    values = store.read_values(out)
    assert values.loc[(values.kpi == "N35001") & (values.municipality_id == "0484") & (values.period == 2022), "value"].item() == 1999.0
    assert values.loc[(values.kpi == "N30101") & (values.municipality_id == "0181") & (values.period == 2022), "value"].item() == 5555.0
    assert not (out / store.STAGING).exists() or not any((out / store.STAGING).iterdir())


def test_commit_killed_half_way_is_rolled_forward(small_fake, harvester, tmp_path) -> None:
    """The state SIGKILL leaves inside a commit, made exactly: manifest written, one file moved."""
    from tests.conftest import write_config

    config = write_config(tmp_path / "kpis.toml", kpis=("N35001", "N33817"))
    out = tmp_path / "out"
    args = ("fetch", "--config", str(config), "--api-url", small_fake.base_url, "--output", str(out))
    assert harvester(*args).code == ExitCode.OK
    old = store.read_values(out)
    new = old.assign(value=old["value"] + 1)
    txn = store.Transaction(out, "20260101T000000Z-1")
    from harvester import schema
    from harvester.schema import to_arrow

    for kpi in ("N33817", "N35001"):
        txn.stage_table(f"values/{kpi}.parquet", to_arrow(new[new.kpi == kpi], schema.VALUES))
    (txn.dir / store.MANIFEST).write_text(json.dumps(["values/N33817.parquet", "values/N35001.parquet"]))
    (txn.dir / "values" / "N33817.parquet").replace(out / "values" / "N33817.parquet")  # killed after one move
    assert readable(out) == len(old)  # mixed but whole files: still readable

    assert "completed the interrupted commit" in harvester(*args).err
    after = store.read_values(out)
    key = ["kpi", "municipality_id", "period", "gender"]
    assert np.array_equal(after.sort_values(key)["value"].to_numpy(), new.sort_values(key)["value"].to_numpy(),
                          equal_nan=True)


def test_uncommitted_staging_is_discarded(small_fake, harvester, tmp_path) -> None:
    from tests.conftest import write_config

    config = write_config(tmp_path / "kpis.toml")
    out = tmp_path / "out"
    args = ("fetch", "--config", str(config), "--api-url", small_fake.base_url, "--output", str(out))
    assert harvester(*args).code == ExitCode.OK
    junk = out / store.STAGING / "20260101T000000Z-1" / "values"
    junk.mkdir(parents=True)
    (junk / "N35001.parquet").write_bytes(b"half a file")
    result = harvester(*args)
    assert "discarded unfinished work of run 20260101T000000Z-1" in result.err
    assert not (out / store.STAGING / "20260101T000000Z-1").exists()
    assert readable(out) > 0


def _limit_file_size() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG, like ENOSPC
    resource.setrlimit(resource.RLIMIT_FSIZE, (2048, 2048))


def test_full_disk_during_the_write_leaves_the_dataset_intact(real_fake, tmp_path) -> None:
    out = tmp_path / "out"
    args = fetch_args(real_fake, out, tmp_path)
    assert run_cli_subprocess(args).returncode == ExitCode.OK
    real_fake.data.set_value("N35001", "0484", 2022, "T", 1999.0)
    before = snapshot(out)
    result = run_cli_subprocess([*args, "--no-cache", "--refresh"], preexec_fn=_limit_file_size)
    assert result.returncode == ExitCode.OUTPUT, result.stderr
    assert "cannot write the output" in result.stderr and "File too large" in result.stderr
    assert snapshot(out) == before
    assert not (out / store.STAGING).exists() or not any((out / store.STAGING).iterdir())
    assert run_cli_subprocess(args).returncode == ExitCode.OK  # with room again, the next run completes
    assert 1999.0 in store.read_values(out, ["N35001"])["value"].tolist()


@pytest.fixture
def unwritable_dir(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A directory nobody may write to, root included (chattr +i), or chmod 555 for other users."""
    target = tmp_path / "readonly"
    target.mkdir()
    import os

    if os.geteuid() == 0:
        made = subprocess.run(["chattr", "+i", str(target)], capture_output=True).returncode == 0
    else:
        target.chmod(0o555)
        made = True
    try:
        (target / "probe").touch()
        writable = True
        (target / "probe").unlink()
    except OSError:
        writable = False
    if not made or writable:
        pytest.skip("this machine cannot make a directory unwritable (no chattr +i as root)")
    yield target
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", str(target)], check=False)
    else:
        target.chmod(0o755)


def test_output_directory_without_write_permission(small_fake, harvester, tmp_path, unwritable_dir) -> None:
    from tests.conftest import write_config

    config = write_config(tmp_path / "kpis.toml")
    result = harvester("fetch", "--config", str(config), "--api-url", small_fake.base_url, "--output", str(unwritable_dir))
    assert result.code == ExitCode.OUTPUT
    assert "cannot write the output" in result.err and str(unwritable_dir) in result.err
    assert list(unwritable_dir.iterdir()) == []
    assert small_fake.log == []  # refused before asking Kolada anything
