"""A real HTTP server speaking SCB's PxWebApi 2.0 as ../shared/scb/README.md describes it, traps included.

The SCB client's hard parts (cell-limit splitting, the call quota, comma lists, %2B, POST for long selections,
json-stat2 decoding) only show their bugs against a server that is as strict as SCB, so this one is; where the
real server is stricter still, the client must not rely on the fake's leniency. Labels are served in the language
they were recorded in (English for TAB638/TAB6260/TAB2948, Swedish for TAB6471), whatever `lang` says.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode

from tests.fake_http import (
    COMMON_FAULTS,
    DEFAULT_FAULT_STATUS,
    DEFAULT_TIMEOUT_SECONDS,
    Fault,
    FakeHttpServer,
    QuietServer,
    TrackedHandler,
)

from .data import SYNTHETIC_NOTE, ScbData, table_codes

JSON_TYPE = "application/json; charset=utf-8"
PROBLEM_TYPE = "application/problem+json; charset=utf-8"
TEXT_TYPE = "text/plain; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"
MAX_URL = 2100
DEFAULT_PAGE_SIZE = 20
MAINTENANCE_PAGE = (
    "<!DOCTYPE html><html><head><title>Statistikdatabasen - underhåll</title></head>"
    "<body><h1>Statistikdatabasen är tillfälligt otillgänglig</h1><p>Försök igen senare.</p></body></html>"
)
_CALL = re.compile(r"^(TOP|BOTTOM|RANGE|FROM|TO)\((.*)\)$", re.IGNORECASE)
_ARITY = {"TOP": (1, 2), "BOTTOM": (1, 2), "RANGE": (2, 2), "FROM": (1, 1), "TO": (1, 1)}


@dataclass(frozen=True)
class LoggedRequest:
    """One request as the server saw it; status 0 means no response was sent, cells 0 for non-data answers."""

    t: float
    method: str
    path: str
    query: str
    body: str
    status: int
    cells: int
    fault: str | None


class _Problem(Exception):
    """Raised anywhere in routing; becomes SCB's problem+json answer."""

    def __init__(self, status: int, title: str, detail: str | None = None) -> None:
        super().__init__(title)
        self.status, self.title, self.detail = status, title, detail


@dataclass
class _Reply:
    status: int
    payload: Any
    cells: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = JSON_TYPE

    def body(self) -> bytes:
        if self.content_type in (JSON_TYPE, PROBLEM_TYPE):
            return json.dumps(self.payload, ensure_ascii=False, separators=(",", ":")).encode()
        return str(self.payload).encode()


def _problem(error: _Problem) -> _Reply:
    payload = {"type": "Parameter error", "title": error.title, "status": error.status}
    if error.detail:
        payload["detail"] = error.detail
    return _Reply(error.status, payload, content_type=PROBLEM_TYPE)


# -- query parsing ---------------------------------------------------------------------------------------------
def _params(query: str) -> list[tuple[str, str]]:
    """parse_qsl turns an unencoded '+' into a space, as ASP.NET does (trap 2)."""
    return parse_qsl(query, keep_blank_values=True)


def _first(params: list[tuple[str, str]], name: str) -> str | None:
    return next((v for k, v in params if k.lower() == name.lower()), None)


def _items(text: str) -> list[str]:
    """Split a GET comma list; an item in brackets keeps its commas, as in PxWebApi's query-string parser."""
    items, depth, current = [], 0, ""
    for char in text:
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
        if char == "," and depth == 0:
            items.append(current)
            current = ""
        else:
            current += char
    items.append(current)
    return [i[1:-1] if i.startswith("[") and i.endswith("]") else i for i in items]


def _get_selection(params: list[tuple[str, str]]) -> dict[str, dict]:
    """valueCodes[VAR] and codelist[VAR]; a repeated parameter keeps only its first value (trap 1)."""
    selection: dict[str, dict] = {}
    for key, value in params:
        match = re.fullmatch(r"(valueCodes|codelist)\[(.+)\]", key, re.IGNORECASE)
        if not match:
            continue
        kind, var = match.group(1).lower(), match.group(2)
        slot = selection.setdefault(var.lower(), {"variableCode": var})
        name = "valueCodes" if kind == "valuecodes" else "codelist"
        if name not in slot:
            slot[name] = _items(value) if name == "valueCodes" else value
    return selection


def _post_selection(body: bytes) -> dict[str, dict]:
    try:
        parsed = json.loads(body or b"{}")
        entries = parsed.get("selection") or []
        return {str(e["variableCode"]).lower(): e for e in entries}
    except (ValueError, AttributeError, KeyError, TypeError):
        raise _Problem(400, "Parameter error", "The selection body is not valid JSON") from None


# -- selection -------------------------------------------------------------------------------------------------
def _expand(item: str, codes: list[str], is_time: bool) -> list[str]:
    """One code or expression to the codes it names, in table order; an empty match is a non-existent value."""
    lower = {c.lower(): c for c in codes}
    call = _CALL.match(item.strip())
    if call:
        name, args = call.group(1).upper(), [a.strip() for a in call.group(2).split(",")]
        low, high = _ARITY[name]
        if not low <= len(args) <= high or any(not a for a in args):
            raise _Problem(400, "Illegal selection expression", item)
        if name in ("TOP", "BOTTOM"):
            if not all(a.isdigit() for a in args) or int(args[0]) < 1:
                raise _Problem(400, "Illegal selection expression", item)
            n, offset = int(args[0]), int(args[1]) if len(args) == 2 else 0
            newest_first = (name == "TOP") == is_time
            ordered = codes[::-1] if newest_first else codes
            picked = set(ordered[offset:offset + n])
            found = [c for c in codes if c in picked]
        else:
            for a in args:
                if a.lower() not in lower:
                    raise _Problem(400, "Non-existent value", a)
            start = codes.index(lower[args[0].lower()]) if name in ("RANGE", "FROM") else 0
            stop = codes.index(lower[args[-1].lower()]) if name in ("RANGE", "TO") else len(codes) - 1
            found = codes[start:stop + 1]
    elif "*" in item or "?" in item:
        stars = item.count("*")
        if stars > 2 or "*" in item.strip("*") or ("*" in item and "?" in item):
            raise _Problem(400, "Illegal selection expression", item)
        core = re.escape(item.strip("*")).replace(r"\?", ".")
        pattern = re.compile(("" if item.startswith("*") else "^") + core + ("" if item.endswith("*") else "$"),
                             re.IGNORECASE)
        found = [c for c in codes if pattern.search(c)]
    elif "(" in item or ")" in item:
        raise _Problem(400, "Illegal selection expression", item)
    else:
        found = [lower[item.lower()]] if item.lower() in lower else []
    if not found:
        raise _Problem(400, "Non-existent value", item)
    return found


def _codelist_filter(var: str, codelist: str, meta: dict) -> list[str]:
    """The Region value sets we can tell apart by code shape; other known codelists serve the table's codes."""
    known = {c["id"].lower(): c["id"] for c in meta["dimension"][var]["extension"].get("codelists", [])}
    if codelist.lower() not in known:
        raise _Problem(400, "Non-existent codelist", codelist)
    codes = table_codes(meta, var)
    name = known[codelist.lower()].lower()
    if var == "Region" and name.startswith("vs_"):
        if "kommun" in name:
            return [c for c in codes if len(c) == 4]
        if "län" in name:
            return [c for c in codes if len(c) == 2 and c != "00"]
        if "riket" in name:
            return ["00"]
    return codes


def _resolve(meta: dict, selection: Mapping[str, dict]) -> dict[str, list[str] | None]:
    """Variable -> selected codes (None = eliminated), checking every rule of SelectionHandler we know of."""
    variables = {v.lower(): v for v in meta["id"]}
    for key, entry in selection.items():
        if key not in variables and not (key == "time" and meta["role"]["time"]):
            raise _Problem(400, "Non-existent variable", entry.get("variableCode"))
    time_var = meta["role"]["time"][0]
    if "time" in selection and time_var.lower() not in selection:
        selection = {**selection, time_var.lower(): selection["time"]}
    if not selection:
        return _default_selection(meta)
    chosen: dict[str, list[str] | None] = {}
    for var in meta["id"]:
        entry = selection.get(var.lower())
        items = [str(i) for i in (entry or {}).get("valueCodes") or [] if str(i) != ""]
        if not items:
            if not meta["dimension"][var]["extension"].get("elimination"):
                raise _Problem(400, "Missing selection for mandantory variable", var)
            chosen[var] = None
            continue
        codes = table_codes(meta, var)
        if entry.get("codelist"):
            codes = _codelist_filter(var, entry["codelist"], meta)
        picked = {c for item in items for c in _expand(item, codes, var == time_var)}
        chosen[var] = [c for c in codes if c in picked]
    return chosen


def _default_selection(meta: dict) -> dict[str, list[str] | None]:
    """No selection at all: mandatory variables get their first code (time: the newest), the rest eliminated."""
    time_var = meta["role"]["time"][0]
    chosen: dict[str, list[str] | None] = {}
    for var in meta["id"]:
        codes = table_codes(meta, var)
        mandatory = not meta["dimension"][var]["extension"].get("elimination")
        chosen[var] = ([codes[-1]] if var == time_var else [codes[0]]) if mandatory else None
    return chosen


def _dataset(meta: dict, chosen: Mapping[str, list[str] | None], values: list, data: ScbData) -> dict:
    """The json-stat2 answer in the recorded data body's shape, metadata trimmed to the selected codes."""
    kept = [v for v in meta["id"] if chosen[v] is not None]
    dimension = {}
    for var in kept:
        source = meta["dimension"][var]
        category = source["category"]
        codes = chosen[var]
        trimmed = {"index": {c: i for i, c in enumerate(codes)},
                   "label": {c: category["label"][c] for c in codes}}
        if "unit" in category:
            trimmed["unit"] = {c: category["unit"][c] for c in codes}
        extension = {k: v for k, v in source["extension"].items() if k not in ("codelists", "categoryNoteMandatory")}
        total = data.elimination_value(meta["extension"]["px"]["tableid"], var)
        if total:
            extension = {"elimination": extension["elimination"], "eliminationValueCode": total, **extension}
        dimension[var] = {"label": source["label"], **({"note": source["note"]} if "note" in source else {}),
                          "category": trimmed, "extension": extension}
    answer = {k: meta[k] for k in ("version", "class", "label", "source", "updated")}
    answer.update(note=[*meta.get("note", []), SYNTHETIC_NOTE], role=meta["role"], id=kept,
                  size=[len(chosen[v]) for v in kept], dimension=dimension,
                  extension={"discontinued": None, **meta["extension"]})  # data answers always carry it
    answer["value"] = values
    missing = {str(i): ".." for i, v in enumerate(values) if v is None}
    if missing:
        answer["status"] = missing
    return answer


# -- routing ---------------------------------------------------------------------------------------------------
class _Router:
    """Pure-ish request answering: everything but sockets, clocks for the quota, and faults."""

    def __init__(self, data: ScbData, config: dict, now: datetime | None) -> None:
        self.data, self.config, self.now = data, config, now

    def answer(self, root: str, method: str, path: str, query: str, body: bytes) -> _Reply:
        try:
            return self._route(root, method, path, query, body)
        except _Problem as error:
            return _problem(error)

    def _route(self, root: str, method: str, path: str, query: str, body: bytes) -> _Reply:
        segments = [unquote(s) for s in path.strip("/").split("/")]
        if segments[:2] != ["api", "v2"] or len(segments) < 3:
            raise _Problem(404, "Not found", path)
        params = _params(query)
        rest = segments[2:]
        if rest == ["config"] and method == "GET":
            return _Reply(200, self.config)
        if rest[0] != "tables":
            raise _Problem(404, "Not found", path)
        if len(rest) == 1 and method == "GET":
            return self._tables(root, params)
        entry = self.data.entry(rest[1])
        if entry is None:
            raise _Problem(404, "Non-existent table", rest[1])
        if len(rest) == 2 and method == "GET":
            return _Reply(200, _linked(entry, root))
        meta = self.data.table_metadata(rest[1])
        if meta is None:  # a catalogue entry without recorded metadata
            raise _Problem(404, "Non-existent table", rest[1])
        if rest[2:] == ["metadata"] and method == "GET":
            return _Reply(200, meta)
        if rest[2:] == ["data"]:
            return self._data(meta, params, body if method == "POST" else None)
        raise _Problem(404, "Not found", path)

    def _tables(self, root: str, params: list[tuple[str, str]]) -> _Reply:
        entries = self.data.entries()
        words = (_first(params, "query") or "").lower().split()
        entries = [e for e in entries if all(w in e["label"].lower() or w == e["id"].lower() for w in words)]
        past = _first(params, "pastDays")
        if past:
            since = (self.now or datetime.now(UTC)) - timedelta(days=_integer(past, "pastDays"))
            entries = [e for e in entries if datetime.fromisoformat(e["updated"].replace("Z", "+00:00")) >= since]
        size = _integer(_first(params, "pageSize") or str(DEFAULT_PAGE_SIZE), "pageSize")
        number = _integer(_first(params, "pageNumber") or "1", "pageNumber")
        pages = max(1, math.ceil(len(entries) / max(size, 1)))
        if not 1 <= number <= pages or size < 1:
            raise _Problem(404, "Non-existent page", f"page {number} of {pages}")
        kept = [(k, v) for k, v in params if k.lower() not in ("pagenumber", "pagesize")]

        def href(page: int) -> str:
            return f"{root}/api/v2/tables?{urlencode([*kept, ('pageSize', size), ('pageNumber', page)])}"

        links = []
        if number > 1:
            links += [_link("previous", href(number - 1)), _link("first", href(1))]
        if number < pages:
            links += [_link("next", href(number + 1)), _link("last", href(pages))]
        page_entries = [_linked(e, root) for e in entries[(number - 1) * size: number * size]]
        payload = {"language": "sv", "tables": page_entries,
                   "page": {"pageNumber": number, "pageSize": size, "totalElements": len(entries),
                            "totalPages": pages, "links": links},
                   "links": [_link("self", href(number))]}
        return _Reply(200, payload)

    def _data(self, meta: dict, params: list[tuple[str, str]], body: bytes | None) -> _Reply:
        fmt = (_first(params, "outputFormat") or "json-stat2").lower()
        if fmt != "json-stat2":
            if fmt in self.config["dataFormats"]:
                raise _Problem(400, "Unsupported output format", fmt)
            return _Reply(400, {"type": "https://tools.ietf.org/html/rfc9110#section-15.5.1",
                                "title": "One or more validation errors occurred.", "status": 400,
                                "errors": {"outputFormat": [f"The value '{fmt}' is not valid."]}},
                          content_type=PROBLEM_TYPE)
        selection = _post_selection(body) if body is not None else _get_selection(params)
        chosen = _resolve(meta, selection)
        cells = math.prod(len(c) for c in chosen.values() if c is not None)
        if cells > self.config["maxDataCells"]:
            raise _Problem(400, "Too many cells selected", "Too many cells selected")
        table = meta["extension"]["px"]["tableid"]
        return _Reply(200, _dataset(meta, chosen, self.data.values(table, chosen), self.data), cells=cells)


def _integer(text: str, name: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise _Problem(400, "Parameter error", f"{name} must be an integer, not {text!r}") from None


def _link(rel: str, href: str) -> dict:
    return {"rel": rel, "hreflang": "sv", "href": href}


def _linked(entry: dict, root: str) -> dict:
    """Point an entry's links at this server, so a client following them never leaves loopback."""
    base = f"{root}/api/v2/tables/{entry['id']}"
    return {**entry, "links": [_link("self", f"{base}?lang=sv"), _link("metadata", f"{base}/metadata?lang=sv"),
                               _link("data", f"{base}/data?lang=sv&outputFormat=json-stat2")]}


# -- the HTTP server -------------------------------------------------------------------------------------------
class _Handler(TrackedHandler):
    server: QuietServer

    def do_GET(self) -> None:
        self._handle("GET", b"")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self._handle("POST", self.rfile.read(length) if length else b"")

    def _handle(self, method: str, body: bytes) -> None:
        fake = self.server.fake
        started = time.monotonic()
        path, _, query = self.path.partition("?")
        fault = fake._take_fault(f"{path}?{query}" if query else path)
        kind = fault.kind if fault else None
        wait = fake.latency + (fault.opts.get("seconds", DEFAULT_TIMEOUT_SECONDS) if kind == "timeout" else 0)
        text = body.decode("utf-8", "replace")
        if not fake._pause(wait) or kind == "drop":
            self.close_connection = True
            fake._record(LoggedRequest(started, method, path, query, text, 0, 0, kind))
            return
        client = self.headers.get("X-Forwarded-For", self.client_address[0]).split(",")[0].strip()
        reply = fake._answer(self.server.root, method, self.path, body, client)
        if fault:
            reply = _faulty(reply, fault)
        # logged before the answer goes out, so a test that has its answer always finds it in the log
        fake._record(LoggedRequest(started, method, path, query, text, reply.status, reply.cells, kind))
        self._send_bytes(reply.status, reply.content_type, reply.headers, reply.body(), kind,
                         fault.opts if fault else None)



def _faulty(reply: _Reply, fault: Fault) -> _Reply:
    if fault.kind == "status":
        status = fault.opts.get("status", DEFAULT_FAULT_STATUS)
        headers = {"Retry-After": str(fault.opts["retry_after"])} if "retry_after" in fault.opts else {}
        return _Reply(status, f"injected fault: HTTP {status}", headers=headers, content_type=TEXT_TYPE)
    if fault.kind == "html":
        return _Reply(200, MAINTENANCE_PAGE, content_type=HTML_TYPE)
    return reply


class FakeScb(FakeHttpServer[LoggedRequest]):
    """The fake PxWebApi 2.0 in a background thread; a context manager so a test can never leak it.

    Knobs: `max_cells`, `max_calls`/`time_window` (what /config says and what is enforced), `latency`, and
    `now` (the clock `pastDays` counts back from). Mutations: `set_updated`, `set_value`, `drop_period`. Faults: `add_fault`.
    """

    fault_options = COMMON_FAULTS

    def __init__(
        self,
        data: ScbData,
        max_cells: int = 150_000,
        max_calls: int = 30,
        time_window: int = 10,
        latency: float = 0.0,
        now: datetime | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(_Handler, host, port)
        self.data = data
        self.latency = latency
        config = {**data.config, "maxDataCells": max_cells, "maxCallsPerTimeWindow": max_calls,
                  "timeWindow": time_window}
        self._router = _Router(data, config, now)
        self._calls: dict[str, deque[float]] = {}

    @property
    def config(self) -> dict:
        return self._router.config

    @property
    def base_url(self) -> str:
        return f"{self.root}/api/v2"

    def set_updated(self, table: str, iso_timestamp: str) -> None:
        self.data.set_updated(table, iso_timestamp)

    def set_value(self, table: str, codes: Mapping[str, str], value: float | None) -> None:
        self.data.set_value(table, codes, value)

    def drop_period(self, table: str, code: str) -> None:
        self.data.drop_period(table, code)

    def _answer(self, root: str, method: str, target: str, body: bytes, client: str) -> _Reply:
        if len(root) + len(target) > MAX_URL:
            return _Reply(414, "<html><body><h1>414 Request-URI Too Long</h1></body></html>", content_type=HTML_TYPE)
        path = target.partition("?")[0]
        if not path.rstrip("/").endswith("/config"):
            wait = self._quota(client)
            if wait is not None:
                limit, window = self.config["maxCallsPerTimeWindow"], self.config["timeWindow"]
                return _Reply(429, f"API calls quota exceeded! maximum admitted {limit} per {window}s.",
                              headers={"Retry-After": str(wait)}, content_type=TEXT_TYPE)
        return self._router.answer(root, method, path, target.partition("?")[2], body)

    def _quota(self, client: str) -> int | None:
        """A sliding window per client, as AspNetCoreRateLimit keeps it; refused calls do not count."""
        now = time.monotonic()
        window = self.config["timeWindow"]
        with self._lock:
            calls = self._calls.setdefault(client, deque())
            while calls and calls[0] <= now - window:
                calls.popleft()
            if len(calls) >= self.config["maxCallsPerTimeWindow"]:
                return max(1, math.ceil(calls[0] + window - now))
            calls.append(now)
            return None
