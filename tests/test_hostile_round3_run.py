"""Hostile round three (issue 18), the run itself: one lock from fetch to compare, and signals cron sends.

The real console entry point in a child process against the fake Kolada.
"""
from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from harvester.exitcodes import ExitCode
from tests.conftest import REPO, run_cli_subprocess, snapshot, write_config


def _args(fake, tmp_path: Path, command: str = "fetch") -> tuple[list[str], Path]:  # type: ignore[no-untyped-def]
    # timeout 4: a request in flight when the signal comes ends by then, and the process with it
    config = write_config(tmp_path / "kpis.toml", kpis=("N35001",), timeout=4)
    out = tmp_path / "out"
    return [command, "--config", str(config), "--api-url", fake.base_url, "--output", str(out)], out


@pytest.mark.parametrize("signum,code", [(signal.SIGTERM, ExitCode.TERMINATED), (signal.SIGHUP, ExitCode.HANGUP)],
                         ids=["SIGTERM", "SIGHUP"])
def test_a_signal_stops_the_run_cleanly_with_a_documented_code(small_fake, tmp_path, signum, code) -> None:
    """Item 28: stopped mid-fetch, the run exits 143 or 129 with one line, the dataset and lock as they were."""
    args, out = _args(small_fake, tmp_path)
    assert run_cli_subprocess(args).returncode == ExitCode.OK
    before = snapshot(out, skip=("runs.parquet",))
    small_fake.data.set_value("N35001", "0484", 2022, "T", 4242.0)
    small_fake.add_fault("timeout", match="/data/", times=None, seconds=15)
    child = subprocess.Popen([sys.executable, "-m", "harvester", *args, "--refresh"], cwd=REPO, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while f'"pid": {child.pid}' not in (out / ".lock").read_text() and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(1.0)  # into the stalled data request (the catalogue comes from the cache)
    child.send_signal(signum)
    _, err = child.communicate(timeout=10)
    assert child.returncode == code, err
    assert f"stopped by {signal.Signals(signum).name}; the previous dataset is unchanged" in err
    assert "Traceback" not in err
    assert snapshot(out, skip=("runs.parquet", ".lock")) == before
    with open(out / ".lock", "rb+") as lock:  # released
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)


def test_run_holds_one_lock_from_fetch_to_compare(small_fake, tmp_path) -> None:
    """Item 6: a competitor queued on the lock while `run` holds it gets it only when the run is over.

    The competitor waits in a blocking `flock`, so the kernel hands it the lock the moment the run lets
    go; a run that let go between fetch and compare would find it taken and exit 6 without documents."""
    args, out = _args(small_fake, tmp_path, "run")
    got: list[bool] = []  # per acquisition: were the documents already written?
    stop = threading.Event()

    def compete() -> None:
        lock = out / ".lock"
        while not stop.is_set() and not (lock.exists() and lock.stat().st_size):  # the run holds the lock now
            time.sleep(0.0005)
        if stop.is_set():
            return
        fd = os.open(lock, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # blocks until the run lets go
            got.append((out / "report.docx").exists())
            time.sleep(0.3)  # hold it: a run that let go too early cannot take it back
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    competitor = threading.Thread(target=compete)
    competitor.start()
    try:
        result = run_cli_subprocess(args)
    finally:
        stop.set()
        competitor.join()
    assert got == [True], "the competitor got the lock before the documents were written"
    assert result.returncode == ExitCode.OK, result.stderr
    assert (out / "report.docx").exists()


def test_nobody_listening_leaves_no_fresh_output_folder(harvester, tmp_path) -> None:
    """Item 29: exit 4 as documented, and a folder the run made holds no `.lock` or `runs.parquet` afterwards."""
    import socket

    with socket.socket() as probe:  # a port that was free a moment ago: connections are refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = write_config(tmp_path / "kpis.toml", kpis=("N35001",))
    out = tmp_path / "fresh"
    result = harvester("fetch", "--config", str(config), "--api-url", f"http://127.0.0.1:{port}/v3", "--output", str(out))
    assert result.code == ExitCode.UPSTREAM, result.err
    assert not out.exists()
