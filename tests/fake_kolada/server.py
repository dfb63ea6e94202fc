"""A real HTTP server speaking the Kolada v3 API, with injectable faults, so the harvester is tested offline.

The real API cannot be reached from our machines, and the interesting client code
(paging, retries, chunking) only shows its bugs against a server that behaves
like the real one, misbehaviour included.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any
from urllib.parse import parse_qsl, unquote

from tests.fake_http import (
    COMMON_FAULTS,
    DEFAULT_FAULT_STATUS,
    DEFAULT_TIMEOUT_SECONDS,
    Fault,
    FakeHttpServer,
    QuietServer,
    TrackedHandler,
)

from .data import KoladaData

MAX_IDS = 25
MAX_PER_PAGE = 5000
JSON_TYPE = "application/json; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"
MAINTENANCE_PAGE = (
    "<!DOCTYPE html><html><head><title>Kolada - underhåll</title></head>"
    "<body><h1>Kolada är tillfälligt otillgängligt</h1><p>Vi utför underhåll. Försök igen senare.</p></body></html>"
)
FAULT_OPTIONS = {
    **COMMON_FAULTS,
    "empty": set(),
    "loop": set(),
    "nan": set(),            # every value the bare literal NaN (json.loads takes it; the JSON standard does not)
    "all-deleted": set(),    # every value marked isdeleted, as a broken or hostile answer might
    "miscount": set(),       # `count` says one more than the page holds
    "runaway": set(),        # next_url to a new page every time, for ever
    "redirect": {"location"},  # 302 to `location` + the request's path and query
    "trickle": {"seconds"},  # the body one byte every `seconds`
    "endless": set(),        # a body that never ends
}
METADATA_FILTERS = {
    "kpi": (),
    "kpi_groups": (),
    "municipality": ("region_type", "type"),
    "municipality_groups": (),
    "ou": ("municipality",),
}
DATA_DIMENSIONS = {"data": ("kpi", "municipality", "year"), "oudata": ("kpi", "ou", "year")}
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class LoggedRequest:
    """One request as the server saw it; status 0 means no response was sent."""

    t: float
    path: str
    query: str
    status: int
    items: int
    fault: str | None


class _ApiError(Exception):
    """Raised anywhere in routing; becomes a FastAPI-style {"detail": ...} answer."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


_NOT_FOUND = _ApiError(404, "Not Found")


@dataclass
class _Reply:
    """An answer before encoding, so faults can still bend it."""

    status: int
    payload: Any
    items: int = 0
    page_url: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = JSON_TYPE

    def body(self) -> bytes:
        if self.content_type == JSON_TYPE:  # NaN goes out as the bare literal, as a careless server would send it
            return json.dumps(self.payload, ensure_ascii=False, separators=(",", ":")).encode()
        return str(self.payload).encode()


@dataclass(frozen=True)
class _Request:
    """The raw request parts that answers and next/previous links are built from."""

    root: str
    path: str
    query: str
    per_page_cap: int | None

    def values(self, name: str) -> list[str] | None:
        """A parameter's ids from comma lists and repeats alike (koladapy repeats); None when absent."""
        raw = self._raw(name)
        return None if not raw else [part for value in raw for part in _split(value)]

    def param(self, name: str) -> str | None:
        """A single-valued parameter; the last one wins, as in FastAPI."""
        raw = self._raw(name)
        return raw[-1] if raw else None

    def _raw(self, name: str) -> list[str]:
        return [value for key, value in parse_qsl(self.query, keep_blank_values=True) if key == name]

    def url(self, page: int, per_page: int) -> str:
        """Keep every other parameter byte for byte, so the client's query survives paging."""
        kept = [p for p in self.query.split("&") if p and p.split("=", 1)[0] not in ("page", "per_page")]
        return f"{self.root}{self.path}?{'&'.join([*kept, f'page={page}', f'per_page={per_page}'])}"


def _respond(data: KoladaData, request: _Request) -> _Reply:
    """Route a GET the way the v3 API does; errors come back as replies, never as exceptions."""
    try:
        return _route(data, request)
    except _ApiError as error:
        return _Reply(error.status, {"detail": error.detail})


def _route(data: KoladaData, request: _Request) -> _Reply:
    segments = [unquote(segment) for segment in request.path.strip("/").split("/")]
    if segments[0] == "v2":
        raise _ApiError(410, "API v2 was switched off on 2026-03-31; use /v3")
    if segments[0] != "v3" or len(segments) < 2:
        raise _NOT_FOUND
    name, rest = segments[1], segments[2:]
    if name in METADATA_FILTERS and len(rest) <= 1:
        return _metadata(data, request, name, rest)
    if name in DATA_DIMENSIONS:
        return _data(data, request, name, rest)
    raise _NOT_FOUND


def _metadata(data: KoladaData, request: _Request, name: str, rest: list[str]) -> _Reply:
    page, per_page = _window(request)
    objects = data.catalogue(name)
    if rest:
        wanted = set(_ids(_split(rest[0]), name))
        objects = [o for o in objects if o["id"] in wanted]
    title = request.param("title")
    if title:
        objects = [o for o in objects if _title_matches(o, title)]
    for parameter in METADATA_FILTERS[name]:
        objects = _filtered(objects, request, parameter)
    return _envelope(request, page, per_page, len(objects), lambda first, stop: objects[first:stop])


def _title_matches(obj: dict, title: str) -> bool:
    """Every word must occur, in any order and case, as on the real site's search."""
    text = obj.get("title", "").lower()
    return all(word in text for word in title.lower().split())


def _filtered(objects: list[dict], request: _Request, parameter: str) -> list[dict]:
    wanted = request.values(parameter)
    if wanted is None:
        return objects
    if parameter == "municipality":
        municipalities = set(_ids(wanted, parameter))
        return [o for o in objects if o.get("municipality") in municipalities]
    if set(wanted) - {"K", "L"}:
        raise _ApiError(422, f"{parameter} must be K or L, not {','.join(wanted)}")
    return [o for o in objects if o.get("type") in wanted]


def _data(data: KoladaData, request: _Request, name: str, rest: list[str]) -> _Reply:
    page, per_page = _window(request)
    names = DATA_DIMENSIONS[name]
    dims = _path_dimensions(rest, names) if rest else _query_dimensions(request, names)
    ids = {dim: None if given is None else _ids(given, dim) for dim, given in dims.items()}
    years = _years(ids["year"])
    from_date = _from_date(request.param("from_date"))
    if name == "oudata" or all(given is None for given in ids.values()):
        return _envelope(request, page, per_page, 0, lambda first, stop: [])
    items = data.query(ids["kpi"], ids["municipality"], years, from_date)
    return _envelope(request, page, per_page, len(items), items.page)


def _path_dimensions(rest: list[str], names: Sequence[str]) -> dict[str, list[str] | None]:
    """Only the documented shapes: dimensions in kpi, area, year order, at least two of them."""
    pairs = dict(zip(rest[::2], rest[1::2]))
    in_order = [n for n in names if n in pairs]
    if len(rest) % 2 or len(pairs) < 2 or len(pairs) * 2 != len(rest) or list(pairs) != in_order:
        raise _NOT_FOUND
    return {n: _split(pairs[n]) if n in pairs else None for n in names}


def _query_dimensions(request: _Request, names: Sequence[str]) -> dict[str, list[str] | None]:
    """Unknown parameters are ignored, as FastAPI does, so a misspelling silently filters nothing."""
    return {n: request.values(n if n == "year" else f"{n}_id") for n in names}


def _split(segment: str) -> list[str]:
    return [part.strip() for part in segment.split(",") if part.strip()]


def _ids(given: list[str], dimension: str) -> list[str]:
    unique = list(dict.fromkeys(given))
    if len(unique) > MAX_IDS:
        raise _ApiError(422, f"too many {dimension} ids: {len(unique)} given, at most {MAX_IDS} per request")
    return unique


def _years(given: list[str] | None) -> list[int] | None:
    return None if given is None else [_integer(year, "year") for year in given]


def _integer(text: str, name: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise _ApiError(422, f"{name} must be an integer, not {text!r}") from None


def _from_date(text: str | None) -> str | None:
    if text is None:
        return None
    try:
        if not _DATE.fullmatch(text):
            raise ValueError(text)
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise _ApiError(422, f"from_date must be a date YYYY-MM-DD, not {text!r}") from None


def _window(request: _Request) -> tuple[int, int]:
    """Validate paging; the cap is applied silently, as a real server may do."""
    page = _integer(request.param("page") or "1", "page")
    per_page = _integer(request.param("per_page") or str(MAX_PER_PAGE), "per_page")
    if page < 1:
        raise _ApiError(422, f"page must be at least 1, not {page}")
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise _ApiError(422, f"per_page must be between 1 and {MAX_PER_PAGE}, not {per_page}")
    return page, min(per_page, request.per_page_cap or MAX_PER_PAGE)


def _envelope(
    request: _Request, page: int, per_page: int, total: int, fetch: Callable[[int, int], list]
) -> _Reply:
    first = (page - 1) * per_page
    values = fetch(first, first + per_page)
    payload = {
        "values": values,
        "count": len(values),
        "next_url": request.url(page + 1, per_page) if first + per_page < total else None,
        "previous_url": request.url(page - 1, per_page) if page > 1 else None,
    }
    return _Reply(200, payload, items=len(values), page_url=request.url(page, per_page))


def _faulty(reply: _Reply, fault: Fault) -> _Reply:
    """Replace or bend a correct reply the way a misbehaving server or proxy would."""
    if fault.kind == "status":
        status = fault.opts.get("status", DEFAULT_FAULT_STATUS)
        headers = {"Retry-After": str(fault.opts["retry_after"])} if "retry_after" in fault.opts else {}
        return _Reply(status, {"detail": f"injected fault: HTTP {status}"}, headers=headers)
    if fault.kind == "html":
        return _Reply(200, MAINTENANCE_PAGE, content_type=HTML_TYPE)
    if fault.kind == "empty":
        return _Reply(200, {"values": [], "count": 0, "next_url": None, "previous_url": None})
    if fault.kind == "loop" and reply.page_url:
        return replace(reply, payload={**reply.payload, "next_url": reply.page_url})
    if fault.kind == "runaway" and reply.page_url:
        page = int(re.search(r"[?&]page=(\d+)", reply.page_url).group(1))
        following = re.sub(r"([?&]page=)\d+", lambda m: f"{m.group(1)}{page + 1}", reply.page_url)
        return replace(reply, payload={**reply.payload, "next_url": following})
    if fault.kind == "miscount" and isinstance(reply.payload, dict) and "count" in reply.payload:
        return replace(reply, payload={**reply.payload, "count": reply.payload["count"] + 1})
    if fault.kind in ("nan", "all-deleted") and isinstance(reply.payload, dict):
        return replace(reply, payload={**reply.payload, "values": [_bent(item, fault.kind)
                                                                   for item in reply.payload.get("values", [])]})
    if fault.kind == "redirect":
        return _Reply(302, {"detail": "moved"}, headers={"Location": fault.opts["location"] + reply_path(reply)})
    return reply


def reply_path(reply: _Reply) -> str:
    """Path and query of the page a reply answers (where a redirect sends the client on the other host)."""
    if not reply.page_url:
        return ""
    return "/" + reply.page_url.split("/", 3)[3]


def _bent(item: dict, kind: str) -> dict:
    """A data item with every value NaN, or every value withdrawn."""
    if kind == "nan":
        return {**item, "values": [{**v, "value": float("nan")} for v in item.get("values", [])]}
    return {**item, "values": [{**v, "value": None, "count": 0, "isdeleted": True} for v in item.get("values", [])]}


class _Handler(TrackedHandler):
    server: QuietServer

    def do_GET(self) -> None:
        fake = self.server.fake
        started = time.monotonic()
        path, _, query = self.path.partition("?")
        fault = fake._take_fault(f"{path}?{query}")
        kind = fault.kind if fault else None
        wait = fake.latency + (fault.opts.get("seconds", DEFAULT_TIMEOUT_SECONDS) if kind == "timeout" else 0)
        if not fake._pause(wait) or kind == "drop":
            self.close_connection = True
            fake._record(LoggedRequest(started, path, query, 0, 0, kind))
            return
        reply = fake._answer(self.server.root, path, query)
        reply = _faulty(reply, fault) if fault else reply
        # Logged before the answer goes out, so a test that has its answer always finds it in the log
        # (logging after the write raced the client); `items` counts what the answer holds in full.
        delivered = 0 if kind in ("truncate", "reset") else reply.items
        fake._record(LoggedRequest(started, path, query, reply.status, delivered, kind))
        self._send(reply, kind, fault.opts if fault else None)

    def _send(self, reply: _Reply, kind: str | None, opts: dict[str, Any] | None = None) -> None:
        if kind in ("trickle", "endless"):
            self._stream(reply, kind, (opts or {}).get("seconds", 1.0))
            return
        self._send_bytes(reply.status, reply.content_type, reply.headers, reply.body(), kind, opts)

    def _stream(self, reply: _Reply, kind: str, seconds: float) -> None:
        """Send the body one byte at a time (trickle), or a body that never ends (endless), until stopped."""
        body = reply.body()
        self.send_response(200)
        self.send_header("Content-Type", JSON_TYPE)
        if kind == "trickle":
            self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        fake = self.server.fake
        if kind == "trickle":
            for i in range(len(body)):
                self.wfile.write(body[i:i + 1])
                self.wfile.flush()
                if not fake._pause(seconds):
                    return
            return
        self.wfile.write(b'{"values": [')
        filler = b'{"kpi": "N00000", "period": 2000, "municipality": "0000", "values": []},' * 1000
        while not fake._stopping.is_set():
            self.wfile.write(filler)


class FakeKolada(FakeHttpServer[LoggedRequest]):
    """The fake API in a background thread; a context manager so a test can never leak it."""

    fault_options = FAULT_OPTIONS

    def __init__(
        self,
        data: KoladaData,
        latency: float = 0.0,
        per_page_cap: int | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(_Handler, host, port)
        self.data = data
        self.latency = latency
        self.per_page_cap = per_page_cap

    @property
    def base_url(self) -> str:
        return f"{self.root}/v3"

    def _answer(self, root: str, path: str, query: str) -> _Reply:
        return _respond(self.data, _Request(root, path, query, self.per_page_cap))
