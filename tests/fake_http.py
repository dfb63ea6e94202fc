"""What every fake API in tests shares: a loopback HTTP server in a thread, queued faults and a request log.

The fakes differ in what they answer, not in how they start, stop, misbehave on demand or remember what they
were asked, so that part lives here once (Kolada and SCB fakes build on it).
"""

from __future__ import annotations

import re
import signal
import socket
import struct
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

Entry = TypeVar("Entry")
COMMON_FAULTS = {  # what any server or proxy in front of it can do; each fake adds its API's own misbehaviours
    "status": {"status", "retry_after"},  # an error status, optionally with Retry-After
    "html": set(),                        # a maintenance page with status 200
    "truncate": set(),                    # half the body, the connection closed cleanly
    "reset": set(),                       # half the body, then a TCP RST
    "drop": set(),                        # the connection closed without an answer
    "timeout": {"seconds"},               # no answer for `seconds`
    "rewrite": {"old", "new"},            # the body with regex `old` replaced by `new` (bytes): 1e999, "false", …
    "slow-headers": {"seconds"},          # the status line and headers one byte every `seconds`
}
DEFAULT_FAULT_STATUS = 503
DEFAULT_TIMEOUT_SECONDS = 30.0


@dataclass
class Fault:
    """A queued misbehaviour: applies to requests whose path?query matches, `times` times (None: for ever)."""

    kind: str
    pattern: re.Pattern[str] | None
    times: int | None
    opts: dict[str, Any]


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # idle keep-alive connections must not hold up stop()

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], fake: FakeHttpServer) -> None:
        super().__init__(address, handler)
        self.fake = fake
        host, port = self.server_address[:2]
        self.root = f"http://{host}:{port}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients hanging up is routine under fault injection; only real bugs deserve a traceback."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class TrackedHandler(BaseHTTPRequestHandler):
    """Registers its connection so stop() can cut it, and stays silent."""

    protocol_version = "HTTP/1.1"
    server: QuietServer

    def setup(self) -> None:
        super().setup()
        self.server.fake._track(self.connection, open_=True)

    def finish(self) -> None:
        self.server.fake._track(self.connection, open_=False)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: a line per request would drown test output."""

    def _send_bytes(self, status: int, content_type: str, headers: dict[str, str], body: bytes,
                    kind: str | None, opts: dict[str, Any] | None = None) -> None:
        """Answer; the `truncate` and `reset` faults promise the whole body and send half of it, `rewrite`
        bends its bytes, `slow-headers` trickles the head."""
        if kind == "rewrite" and opts:
            body = re.sub(opts["old"], lambda _: opts["new"], body)  # `new` literally, backslashes and all
        sent = body[: len(body) // 2] if kind in ("truncate", "reset") else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body) if kind == "reset" else len(sent)))
        for name, value in headers.items():
            self.send_header(name, value)
        if kind == "slow-headers" and opts:
            self._trickle_head(float(opts.get("seconds", 0.5)))
        else:
            self.end_headers()
        self.wfile.write(sent)
        if kind == "reset":
            self._reset()

    def _trickle_head(self, seconds: float) -> None:
        """The buffered status line and headers, one byte every `seconds` (until the client hangs up or we stop)."""
        self._headers_buffer.append(b"\r\n")
        head = b"".join(self._headers_buffer)
        self._headers_buffer = []
        for i in range(len(head)):
            self.wfile.write(head[i:i + 1])
            self.wfile.flush()
            if not self.server.fake._pause(seconds):
                return

    def _reset(self) -> None:
        """Close with SO_LINGER 0 so the peer gets a TCP RST, not a tidy FIN."""
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()


def serve_until_signalled(fake: FakeHttpServer, base_url: Callable[[], str]) -> None:
    """Run a fake from the command line: print its base URL, serve until Ctrl-C or SIGTERM."""
    stop = threading.Event()
    for name in (signal.SIGINT, signal.SIGTERM):
        signal.signal(name, lambda *_: stop.set())
    with fake:
        print(base_url(), flush=True)
        # A bounded wait in a loop: an unbounded Event.wait() can sleep through a signal that
        # arrives just before it blocks, which left the server running after Ctrl-C now and then.
        while not stop.wait(0.2):
            pass


class FakeHttpServer(Generic[Entry]):
    """Lifecycle, faults and log of a fake API; a context manager so a test can never leak it."""

    fault_options: dict[str, set[str]] = {}

    def __init__(self, handler: type[TrackedHandler], host: str, port: int) -> None:
        self._handler = handler
        self._address = (host, port)
        self._server: QuietServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._log: list[Entry] = []
        self._faults: list[Fault] = []
        self._connections: set[socket.socket] = set()

    def start(self) -> Self:
        name = type(self).__name__
        if self._server is not None:
            raise RuntimeError(f"{name} is already running")
        self._stopping.clear()
        self._server = QuietServer(self._address, self._handler, self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name=name, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Wake sleeping handlers and cut open connections so stopping never waits on a client."""
        if self._server is None:
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._thread.join()
        self._server = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def root(self) -> str:
        """Scheme, host and port: the server's own address, which links in answers are built from."""
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not running")
        return self._server.root

    @property
    def log(self) -> list[Entry]:
        """A snapshot, so a test can iterate while handlers keep appending."""
        with self._lock:
            return list(self._log)

    def clear_log(self) -> None:
        with self._lock:
            self._log.clear()

    def add_fault(self, kind: str, match: str | None = None, times: int | None = 1, **opts: Any) -> None:
        """Queue a misbehaviour for the next matching request(s); unknown kinds or options are typos."""
        known = self.fault_options
        if kind not in known:
            raise ValueError(f"unknown fault kind {kind!r}; known: {', '.join(known)}")
        if set(opts) - known[kind]:
            raise ValueError(f"fault {kind!r} takes options {sorted(known[kind])}, not {sorted(opts)}")
        if times is not None and times < 1:
            raise ValueError("times must be at least 1, or None for forever")
        with self._lock:
            self._faults.append(Fault(kind, re.compile(match) if match else None, times, opts))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def _take_fault(self, target: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.pattern is None or fault.pattern.search(target):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times == 0:
                            self._faults.remove(fault)
                    return fault
            return None

    def _pause(self, seconds: float) -> bool:
        """Sleep unless stopping; False tells the handler to give up instead of answering."""
        return not self._stopping.wait(seconds) if seconds > 0 else not self._stopping.is_set()

    def _track(self, connection: socket.socket, open_: bool) -> None:
        with self._lock:
            if open_:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def _record(self, entry: Entry) -> None:
        with self._lock:
            self._log.append(entry)
