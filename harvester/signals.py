"""SIGTERM and SIGHUP end a run the way Ctrl-C does: through the code's own clean-up, with a documented code.

cron, systemd and a closed terminal stop a run with SIGTERM or SIGHUP, whose default is to die at
once (exit 143 or 129, which no table listed). Raised as an exception instead, the signal unwinds
the run: the lock is released, an uncommitted staging area is left for `recover` to discard and a
started commit for it to roll forward, exactly as after Ctrl-C; the exit code stays 128 + the signal,
as shells report it, and the README lists both.
"""
from __future__ import annotations

import signal
from types import FrameType

from .exitcodes import ExitCode

CODES = {signal.SIGTERM: ExitCode.TERMINATED, signal.SIGHUP: ExitCode.HANGUP}


class Stopped(KeyboardInterrupt):
    """The run was asked to stop by `signum`; `code` is its exit code."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"stopped by {signal.Signals(signum).name}")
        self.code = CODES[signal.Signals(signum)]


def _raise(signum: int, frame: FrameType | None) -> None:
    raise Stopped(signum)


def stop_cleanly_on_signals() -> None:
    """From now on SIGTERM and SIGHUP raise `Stopped` in the main thread."""
    for signum in CODES:
        signal.signal(signum, _raise)
