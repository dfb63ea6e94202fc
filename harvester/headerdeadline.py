"""A deadline on the status line and headers, which socket timeouts cannot give.

A read timeout bounds each `recv`, so a server sending its headers one byte every half second
never trips it (one such server held a nightly run and its lock for minutes past `deadline`).
The body is bounded where it is read (`PoliteAdapter._body`); this bounds what comes before it:
the connection classes below start a timer when they wait for the answer, and when it fires the
socket is shut, which ends the wait with a connection error the transport already retries.
The deadline is per thread, set by the adapter around each request.
"""
from __future__ import annotations

import socket
import threading
import time

from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

_current = threading.local()


def set_deadline(at: float | None) -> None:
    """Answers asked for from this thread until the next call must have their headers by `at` (monotonic)."""
    _current.at = at


def _cut(sock: socket.socket | None) -> None:
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:  # already closed: nothing left to cut
            pass


class _Bounded:
    """Mixin for urllib3's connections: `getresponse` gives up at the thread's deadline."""

    sock: socket.socket | None

    def getresponse(self):  # type: ignore[no-untyped-def]
        at = getattr(_current, "at", None)
        if at is None:
            return super().getresponse()  # type: ignore[misc]
        timer = threading.Timer(max(0.0, at - time.monotonic()), _cut, (self.sock,))
        timer.daemon = True
        timer.start()
        try:
            return super().getresponse()  # type: ignore[misc]
        finally:
            timer.cancel()


class BoundedHTTPConnection(_Bounded, HTTPConnection):
    pass


class BoundedHTTPSConnection(_Bounded, HTTPSConnection):
    pass


class BoundedHTTPPool(HTTPConnectionPool):
    ConnectionCls = BoundedHTTPConnection


class BoundedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = BoundedHTTPSConnection


POOLS = {"http": BoundedHTTPPool, "https": BoundedHTTPSPool}
