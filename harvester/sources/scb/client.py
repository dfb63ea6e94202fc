"""SCB's PxWebApi 2.0 over the shared transport: /config, table search, table entries, metadata, data.

Politeness, retries, the cache and the bounds on every answer live in `harvester.transport`. What is
SCB's own is here: the limits `/config` announces (cells per answer, calls per window, which the
transport's limiter then obeys), selections as one comma list per variable with `+` sent as `%2B`
(a repeated `valueCodes[X]` silently keeps only the first), POST once a GET URL would be too long,
the page links of the table search, and problem+json refusals.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd

from ...errors import BadResponse, RequestRefused
from ...transport import CacheRules, Limits, RateLimiter, SourceClient, Transport
from .jsonstat import decode
from .metadata import TableMeta, parse_metadata

log = logging.getLogger(__name__)

LANG = "sv"
FORMAT = "json-stat2"
MAX_GET_URL = 2000  # SCB caps URLs near 2 100 characters; longer selections go by POST
MAX_SEARCH_PAGES = 50
SEARCH_PAGE_SIZE = 100
# SCB's published limits, used until /config is read (it is exempt from the call quota).
DEFAULT_CELLS, DEFAULT_CALLS, DEFAULT_WINDOW = 150_000, 30, 10.0
# What we believe of /config: a server asking for an hour per call, or allowing one cell per answer, is
# misconfigured, and obeying it would stall or break a nightly run. Outside these, a WARNING and the bound.
CELLS_RANGE, CALLS_RANGE, WINDOW_RANGE = (100, 1_000_000), (1, 1_000), (1.0, 60.0)
# Metadata and search answers are kept (metadata is read again when the table's fresh `updated` stamp
# says it is older). Data is never answered from the cache: the harvest asks for it only when the
# stamp says the table changed, and a cached answer from before the revision would hide it.
CACHE_RULES = CacheRules(expire_after=timedelta(hours=20))
OFFLINE_HINT = ("Check --scb-api-url, SCB_API_URL or [source.scb] api_url; without access to SCB, serve the fake "
                "locally with `python -m tests.fake_scb` (README: \"SCB as a second source\").")

Selection = Sequence[tuple[str, Sequence[str] | None]]  # (variable, codes); None leaves the variable out


@dataclass(frozen=True)
class ServerLimits:
    max_cells: int
    calls: int
    window: float


def _hint(status: int, url: str) -> str:
    if status == 404 and "/tables/" not in url:
        return "is the URL missing /api/v2?"
    return ""


def selection_query(selection: Selection) -> str:
    """`valueCodes[VAR]=a,b` for each selected variable: one comma list each, every code percent-encoded
    (`1+2` → `1%2B2`, `ä` → `%C3%A4`); a code holding a comma sits in brackets, as PxWebApi wants."""
    parts = []
    for var, codes in selection:
        if codes is None:
            continue
        items = [f"[{c}]" if "," in c else c for c in codes]
        parts.append(f"valueCodes[{quote(var, safe='')}]=" + ",".join(quote(i, safe="[]") for i in items))
    return "&".join(parts)


def selection_body(selection: Selection) -> dict[str, Any]:
    return {"selection": [{"variableCode": var, "valueCodes": list(codes)} for var, codes in selection
                          if codes is not None]}


class ScbClient(SourceClient):
    """Reads SCB's statistics database through one polite transport."""

    def __init__(self, base_url: str, *, cache_path: Path | None = None, refresh: bool = False,
                 limits: Limits = Limits()) -> None:
        self.limiter = RateLimiter(DEFAULT_CALLS, DEFAULT_WINDOW)
        self.transport = Transport("SCB", base_url, limiter=self.limiter, limits=limits, cache_path=cache_path,
                                   cache_rules=CACHE_RULES, refresh=refresh, refusal_hint=_hint,
                                   offline_hint=OFFLINE_HINT)
        self._limits: ServerLimits | None = None

    def _json(self, path: str, params: Mapping[str, Any] | None = None, *, fresh: bool = False,
              shape: Callable[[Any, str], Any] | None = None) -> Any:
        """An object from SCB, made into what `shape` makes of it inside the validation, so an answer
        `shape` refuses leaves the cache."""
        def accept(body: Any, url: str) -> Any:
            if not isinstance(body, dict):
                raise BadResponse("SCB answered JSON that is not an object", url)
            return shape(body, url) if shape else body
        return self.transport.request_json(self.url(path), {"lang": LANG, **(params or {})}, validate=accept,
                                           fresh=fresh)

    def limits(self) -> ServerLimits:
        """The server's limits from /config (read once per run); the call quota goes to the rate limiter."""
        if self._limits is None:
            body = self._json("config", fresh=True)
            names = ("maxDataCells", "maxCallsPerTimeWindow", "timeWindow")
            if not all(type(body.get(n)) in (int, float) for n in names):
                raise BadResponse("SCB's /config has no maxDataCells, maxCallsPerTimeWindow and timeWindow numbers",
                                  self.url("config"))
            limits = ServerLimits(int(_clamp(body, "maxDataCells", CELLS_RANGE)),
                                  int(_clamp(body, "maxCallsPerTimeWindow", CALLS_RANGE)),
                                  float(_clamp(body, "timeWindow", WINDOW_RANGE)))
            self.limiter.obey(limits.calls, limits.window)
            log.debug("SCB limits: %d cells per answer, %d calls per %g s", *(limits.max_cells, limits.calls,
                                                                             limits.window))
            self._limits = limits
        return self._limits

    def table(self, table_id: str) -> dict[str, Any]:
        """The table's entry (label, periods, `updated`), always asked of the server: a revision must be seen."""
        return self._json(f"tables/{quote(table_id, safe='')}", fresh=True)

    def metadata(self, table_id: str, updated: str | None = None, *, renew: bool = False) -> TableMeta:
        """The table's metadata. Asked again when the cached copy is older than the entry's `updated`, or
        when `renew` (the caller found it wanting); the new copy replaces the old one in the cache, so
        later runs plan from it too."""
        path = f"tables/{quote(table_id, safe='')}/metadata"
        if not renew:
            meta: TableMeta = self._json(path, shape=parse_metadata)
            if not updated or meta.updated == updated:
                return meta
        self.transport.forget(f"{self.url(path)}?lang={LANG}")
        return self._json(path, shape=parse_metadata)

    def search(self, words: str = "", past_days: int | None = None) -> Iterator[dict[str, Any]]:
        """Table entries matching `words`, following the answer's `next` links to the end."""
        params: dict[str, Any] = {"lang": LANG, "query": words, "pageSize": SEARCH_PAGE_SIZE}
        if past_days is not None:
            params["pastDays"] = past_days
        url: str | None = self.url("tables")
        for _ in range(MAX_SEARCH_PAGES):
            if url is None:
                return
            body = self.transport.request_json(url, params, validate=_search_page)
            yield from body["tables"]
            link = next((x.get("href") for x in body.get("page", {}).get("links", []) if x.get("rel") == "next"), None)
            url, params = (self.transport.same_origin(link, url) if link else None), None
        raise BadResponse(f"SCB's table search went on for more than {MAX_SEARCH_PAGES} pages", self.url("tables"))

    def data(self, table_id: str, selection: Selection) -> tuple[pd.DataFrame, str]:
        """One json-stat2 answer for `selection`, decoded into cells (inside the retry loop, so a cut-off
        answer is asked again), and the URL it came from (GET, or POST for a long selection)."""
        path = self.url(f"tables/{quote(table_id, safe='')}/data")
        url = f"{path}?lang={LANG}&outputFormat={FORMAT}"
        query = selection_query(selection)
        body = None
        if len(url) + 1 + len(query) <= MAX_GET_URL:
            url = f"{url}&{query}" if query else url
        else:
            body = selection_body(selection)
        return self.transport.request_json(url, validate=decode, body=body, fresh=True), url


def _clamp(body: dict[str, Any], name: str, bounds: tuple[float, float]) -> float:
    value, (low, high) = body[name], bounds
    if not low <= value <= high:
        log.warning("SCB's /config says %s = %s; using %g instead (we accept %g to %g)", name, value,
                    min(max(value, low), high), low, high)
    return min(max(value, low), high)


def _search_page(body: Any, url: str) -> dict[str, Any]:
    if not isinstance(body, dict) or not isinstance(body.get("tables"), list):
        raise BadResponse("SCB's table search answered without a 'tables' list", url)
    return body


def refused_table(exc: RequestRefused) -> bool:
    """SCB's "no such table" (404 Non-existent table)."""
    return exc.status == 404 and (exc.title or "").casefold() == "non-existent table"
