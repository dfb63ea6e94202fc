"""One harvest at a time per output directory.

`flock` is released by the kernel when the holder dies, so a lock left by a killed run is never
stale in effect: the next run simply gets it, and says that it took over. The file holds the
holder's pid and start time only to make the "already running" message useful.
"""
from __future__ import annotations

import fcntl
import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from .store import LOCK_FILE

log = logging.getLogger(__name__)


class LockHeld(RuntimeError):
    """Another harvest holds the lock on this output directory."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def run_lock(root: Path) -> Iterator[None]:
    """Hold the output directory's lock; raise LockHeld at once if another run has it."""
    path = Path(root) / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LockHeld(f"another harvest is already running on {root} ({_describe(fd)}); "
                           "this run did nothing") from None
        previous = _read(fd)
        if previous.get("pid") and previous["pid"] != os.getpid() and not _alive(int(previous["pid"])):
            log.warning("taking over the lock left by run pid %s (started %s), which did not finish",
                        previous["pid"], previous.get("started", "?"))
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({"pid": os.getpid(), "started": datetime.now(timezone.utc).isoformat(timespec="seconds")}).encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _read(fd: int) -> dict[str, object]:
    """What the last holder wrote; a pid that is not a plausible process id (`"x"`, `1e20`) is no pid at all."""
    try:
        holder = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except ValueError:
        return {}
    if not isinstance(holder, dict):
        return {}
    if not (type(holder.get("pid")) is int and 0 < holder["pid"] < 2**31):
        holder.pop("pid", None)
    return holder


def _describe(fd: int) -> str:
    holder = _read(fd)
    return f"pid {holder.get('pid', '?')}, started {holder.get('started', '?')}"
