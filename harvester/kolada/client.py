"""The HTTP side of Kolada v3: one place that knows the server's rules.

Callers ask for "all pages of this list"; this module decides how to be polite (at most `rate`
requests in any one-second window, counted on the wire so cache hits are free), how to survive
(tenacity retries on resets, timeouts, 429 with Retry-After and 5xx, within a total time budget),
and what counts as an answer (status 200, JSON, the documented envelope). Anything else raises:
a broken body must never reach the store as "no data".
"""
from __future__ import annotations

import collections
import email.utils
import json
import logging
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import requests
import requests_cache
from requests.adapters import HTTPAdapter
from tenacity import (RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, stop_before_delay,
                      wait_exponential, wait_random)

from .. import __version__
from .errors import BadResponse, KoladaError, RequestRefused, TransientError, UpstreamUnavailable

log = logging.getLogger(__name__)

PER_PAGE = 5000
MAX_PAGES = 10_000
USER_AGENT = f"harvester/{__version__} (Kolada comparison harvester for municipal plans; python-requests)"
# Metadata changes a few times a year; data pages are re-read within the hour. A nightly run is
# more than 20 hours after the last one, so it always sees new publications.
METADATA_EXPIRY = timedelta(hours=20)
DATA_EXPIRY = timedelta(hours=1)


@dataclass
class RequestStats:
    network: int = 0
    cached: int = 0
    retries: int = 0


class RateLimiter:
    """At most `rate` request starts in any window of one second (thread-safe).

    The window carries a small margin because what counts is when requests *arrive*: scheduling
    and network jitter can bring two starts 1.00 s apart closer together at the server.
    """

    MARGIN = 0.05

    def __init__(self, rate: float) -> None:
        self.per_window = max(1, int(rate)) if rate >= 1 else 1
        self.window = (1.0 if rate >= 1 else 1.0 / rate) + self.MARGIN
        self.starts: collections.deque[float] = collections.deque()
        self.lock = threading.Lock()

    def wait(self) -> None:
        with self.lock:
            while True:
                now = time.monotonic()
                while self.starts and now - self.starts[0] >= self.window:
                    self.starts.popleft()
                if len(self.starts) < self.per_window:
                    self.starts.append(now)
                    return
                time.sleep(self.window - (now - self.starts[0]) + 0.001)


class PoliteAdapter(HTTPAdapter):
    """Transport adapter: only requests that really go on the wire are throttled and counted."""

    def __init__(self, limiter: RateLimiter, stats: RequestStats) -> None:
        super().__init__(pool_connections=2, pool_maxsize=4)
        self.limiter = limiter
        self.stats = stats

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.limiter.wait()
        self.stats.network += 1
        log.debug("GET %s", request.url)
        return super().send(request, **kwargs)


def _is_json(response: requests.Response) -> bool:
    return response.headers.get("Content-Type", "").split(";")[0].strip().lower() == "application/json"


def build_session(cache_path: Path | None, stats: RequestStats, rate: float) -> requests.Session:
    """A requests session with the polite adapter, cached in SQLite unless `cache_path` is None."""
    if cache_path is None:
        session: requests.Session = requests.Session()
    else:
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        session = requests_cache.CachedSession(
            str(cache_path),
            backend="sqlite",
            expire_after=METADATA_EXPIRY,
            urls_expire_after={"*/data/*": DATA_EXPIRY, "*/oudata/*": DATA_EXPIRY},
            allowable_codes=(200,),
            filter_fn=_is_json,  # a maintenance page must never be cached as an answer
            stale_if_error=False,
        )
        session.cache.delete(expired=True)  # a nightly job must not grow its cache for ever
    adapter = PoliteAdapter(RateLimiter(rate), stats)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    session.headers["Accept"] = "application/json"
    return session


def _retry_after(response: requests.Response) -> float | None:
    raw = response.headers.get("Retry-After")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        when = email.utils.parsedate_to_datetime(raw)
        return max(0.0, when.timestamp() - time.time()) if when else None


def _network_reason(exc: requests.RequestException) -> str:
    """The useful part of a requests error: 'Failed to resolve …', 'Connection refused', 'Read timed out'."""
    inner = getattr(exc.args[0], "reason", None) if exc.args else None
    text = str(inner or exc)
    text = text.split("): ", 1)[-1] if "): " in text else text
    return f"{type(exc).__name__}: {text}"[:200]


def _detail(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200].strip()
    return str(body.get("detail", body)) if isinstance(body, dict) else str(body)[:200]


def check_envelope(body: Any, url: str) -> tuple[list[Any], str | None]:
    """Validate the v3 list envelope and return (values, next_url)."""
    if not isinstance(body, dict) or not isinstance(body.get("values"), list):
        raise BadResponse("Kolada answered JSON without a 'values' list", url)
    values = body["values"]
    count = body.get("count")
    if count is not None and count != len(values):
        raise TransientError(f"Kolada's page says count={count} but holds {len(values)} values", url)
    next_url = body.get("next_url")
    if next_url is not None and not isinstance(next_url, str):
        raise BadResponse(f"next_url is neither a URL nor null: {next_url!r}", url)
    return values, next_url or None


class KoladaClient:
    """Reads lists from Kolada v3, following `next_url` and obeying the rules above."""

    def __init__(
        self,
        base_url: str,
        *,
        cache_path: Path | None = None,
        refresh: bool = False,
        rate: float = 5.0,
        timeout: float = 60.0,
        max_retry_seconds: float = 300.0,
        max_attempts: int = 12,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.stats = RequestStats()
        self.session = build_session(cache_path, self.stats, rate)
        self.refresh = refresh
        self.timeout = (min(10.0, timeout), timeout)
        self.max_retry_seconds = max_retry_seconds
        self.max_attempts = max_attempts
        self._backoff = wait_exponential(multiplier=0.5, max=30) + wait_random(0, 0.5)
        self._origin = urlsplit(self.base_url)[:2]

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> "KoladaClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- one request -------------------------------------------------------------------------
    def _fetch_once(self, url: str, params: Mapping[str, Any] | None, fresh: bool) -> tuple[list[Any], str | None]:
        kwargs: dict[str, Any] = {"params": params, "timeout": self.timeout}
        if isinstance(self.session, requests_cache.CachedSession):
            if fresh:  # "what changed since" must never be answered from memory
                kwargs["expire_after"] = requests_cache.DO_NOT_CACHE
            elif self.refresh:
                kwargs["force_refresh"] = True
        try:
            response = self.session.get(url, **kwargs)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise TransientError(f"no complete answer from Kolada: {_network_reason(exc)}", url) from exc
        except requests.RequestException as exc:
            raise TransientError(f"request failed: {exc}", url) from exc
        full_url = response.url
        if getattr(response, "from_cache", False):
            self.stats.cached += 1
        try:
            return self._check(response, full_url)
        except (TransientError, BadResponse):
            self._forget(full_url)
            raise

    def _check(self, response: requests.Response, url: str) -> tuple[list[Any], str | None]:
        status = response.status_code
        if status == 429:
            raise TransientError("Kolada is rate limiting us (HTTP 429)", url, _retry_after(response))
        if status >= 500:
            raise TransientError(f"Kolada server error (HTTP {status})", url, _retry_after(response))
        if status == 410:
            raise RequestRefused(f"Kolada says this API is gone (HTTP 410): {_detail(response)}; is api_url a v3 URL?", url)
        if status >= 400:
            raise RequestRefused(f"Kolada refused the request (HTTP {status}): {_detail(response)}", url)
        if status != 200:
            raise TransientError(f"unexpected HTTP {status} from Kolada", url)
        if not _is_json(response):
            kind = response.headers.get("Content-Type", "no content type")
            raise TransientError(f"Kolada answered {kind} instead of JSON (a maintenance page?)", url)
        try:
            body = json.loads(response.content)
        except ValueError as exc:
            raise TransientError(f"Kolada's JSON is truncated or invalid ({exc.msg} at byte {exc.pos})", url) from exc
        return check_envelope(body, url)

    def _forget(self, url: str) -> None:
        if isinstance(self.session, requests_cache.CachedSession):
            self.session.cache.delete(urls=[url])

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, TransientError) and exc.retry_after is not None:
            return exc.retry_after
        return self._backoff(state)

    def _log_retry(self, state: RetryCallState) -> None:
        self.stats.retries += 1
        exc = state.outcome.exception() if state.outcome else None
        sleep = state.next_action.sleep if state.next_action else 0.0
        log.warning("retrying in %.1f s (attempt %d): %s", sleep, state.attempt_number, exc)

    def get_page(self, url: str, params: Mapping[str, Any] | None = None,
                 fresh: bool = False) -> tuple[list[Any], str | None]:
        """One page, retried on transient failures; raises UpstreamUnavailable when the budget is spent.

        `fresh` bypasses the HTTP cache both ways (incremental queries: their answer changes while
        their URL does not)."""
        retrying = Retrying(
            retry=retry_if_exception_type(TransientError),
            wait=self._wait,
            stop=stop_before_delay(self.max_retry_seconds) | stop_after_attempt(self.max_attempts),
            before_sleep=self._log_retry,
            reraise=True,
        )
        try:
            return retrying(self._fetch_once, url, params, fresh)
        except TransientError as exc:
            raise UpstreamUnavailable(f"gave up after retries: {exc}") from exc

    # --- lists ---------------------------------------------------------------------------------
    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def _same_origin(self, next_url: str, current: str) -> str:
        """Follow next_url, but only ever to the server we were configured to use."""
        absolute = urljoin(current, next_url)
        parts = urlsplit(absolute)
        if parts[:2] != self._origin:
            log.debug("rebasing next_url %s onto %s", absolute, self.base_url)
            absolute = urlunsplit((*self._origin, parts.path, parts.query, parts.fragment))
        return absolute

    def pages(self, path: str, params: Mapping[str, Any] | None = None, fresh: bool = False) -> Iterator[list[Any]]:
        """Yield the `values` of every page, following next_url until it is null, empty or missing."""
        url = self.url(path)
        query: dict[str, Any] | None = {**(params or {}), "per_page": PER_PAGE}
        seen: set[str] = set()
        while True:
            values, next_url = self.get_page(url, query, fresh)
            yield values
            if not next_url:
                return
            current = requests.Request("GET", url, params=query).prepare().url or url
            seen.add(current)
            url, query = self._same_origin(next_url, current), None
            if url in seen:
                raise BadResponse(f"Kolada's next_url repeats a page already read: {url}", current)
            if len(seen) >= MAX_PAGES:
                raise BadResponse(f"more than {MAX_PAGES} pages; giving up on a runaway listing", current)

    def get_all(self, path: str, params: Mapping[str, Any] | None = None) -> list[Any]:
        return [item for page in self.pages(path, params) for item in page]

    # --- metadata ------------------------------------------------------------------------------
    def kpis(self, ids: list[str] | None = None) -> list[dict[str, Any]]:
        """KPI metadata for the ids (25 per request), or the whole catalogue when ids is None."""
        if ids is None:
            return self.get_all("kpi")
        return [k for chunk in chunks(ids) for k in self.get_all(f"kpi/{','.join(chunk)}")]

    def search_kpis(self, words: str) -> list[dict[str, Any]]:
        return self.get_all("kpi", {"title": words})

    def municipalities(self) -> list[dict[str, Any]]:
        return self.get_all("municipality")

    def search_municipalities(self, words: str) -> list[dict[str, Any]]:
        return self.get_all("municipality", {"title": words})

    def municipality_groups(self, ids: list[str] | None = None) -> list[dict[str, Any]]:
        if ids is None:
            return self.get_all("municipality_groups")
        return [g for chunk in chunks(ids) for g in self.get_all(f"municipality_groups/{','.join(chunk)}")]


def chunks(ids: list[str], size: int = 25) -> list[list[str]]:
    """Kolada refuses more than 25 ids per dimension."""
    return [ids[i:i + size] for i in range(0, len(ids), size)]


__all__ = ["KoladaClient", "KoladaError", "RequestStats", "chunks", "check_envelope"]
