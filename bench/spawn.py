"""A tiny launcher that starts the measured clients, so their peak memory is their own.

Why it exists: on Linux a child's `ru_maxrss` (from `wait4`) is at least the resident size of the
process it was forked from, because `execve` records the old address space's high-water mark
before replacing it. The benchmark process holds the fake Kolada's data (about 400 MB), so a
client forked from it would report ≥ 400 MB whatever it really used. This launcher is started
before that data is loaded and imports nothing but the standard library (about 10 MB); clients
forked from it report their own peak.

Protocol: one JSON object per line on stdin {"cmd": [...], "cwd": str, "stdout": path,
"stderr": path, "timeout": seconds}; one JSON line back per command {"code", "wall", "cpu",
"maxrss_kib", "killed", "t_start", "t_end"} (CLOCK_MONOTONIC, the clock the fake's log uses). EOF on stdin ends the launcher.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time


def run(job: dict) -> dict:
    env = {**os.environ, **job.get("env", {})}
    for name in job.get("unset", []):
        env.pop(name, None)
    killed = threading.Event()
    with open(job["stdout"], "wb") as out, open(job["stderr"], "wb") as err:
        started, t_start = time.perf_counter(), time.monotonic()
        proc = subprocess.Popen(job["cmd"], cwd=job.get("cwd"), stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env)

        def kill() -> None:
            killed.set()
            proc.kill()

        watchdog = threading.Timer(float(job.get("timeout", 600)), kill)
        watchdog.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            watchdog.cancel()
        wall, t_end = time.perf_counter() - started, time.monotonic()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {"code": proc.returncode, "wall": wall, "cpu": usage.ru_utime + usage.ru_stime,
            "maxrss_kib": usage.ru_maxrss, "killed": killed.is_set(),
            "t_start": t_start, "t_end": t_end}


def main() -> int:
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            reply = run(json.loads(line))
        except Exception as exc:  # noqa: BLE001 - report to the benchmark instead of dying silently
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
