"""The polite, bounded HTTP transport every source speaks through.

One place decides how to be polite (at most `calls` requests in any `window` seconds, counted on
the wire so cache hits are free), how to survive (tenacity retries on resets, timeouts, 429 with
Retry-After and 5xx within a time budget; a host that does not resolve or refuses connections
gets a short budget of its own), how long an answer may take and how large it may be (so a server
that trickles or never stops cannot keep a nightly job alive), where we let ourselves be
redirected (never to another host), and what counts as JSON (strictly, by `harvester.jsonguard`).
Sources (Kolada, SCB) add only their envelopes and paging on top.
"""
from __future__ import annotations

import collections
import email.utils
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Self, TypeVar
from urllib.parse import urljoin, urlsplit, urlunsplit

import requests
import requests_cache
import urllib3.exceptions
from requests.adapters import HTTPAdapter
from tenacity import RetryCallState, Retrying, retry_if_exception_type, wait_exponential, wait_random

from . import __version__
from .errors import BadResponse, RequestRefused, TransientError, Unreachable, UpstreamUnavailable
from .httpcache import CACHE_ERRORS, cached_session
from .headerdeadline import POOLS, set_deadline
from .jsonguard import strict_json

log = logging.getLogger(__name__)

USER_AGENT = f"harvester/{__version__} (Kolada and open-data comparison harvester for municipal plans; python-requests)"
UNREACHABLE_SECONDS = 6.0  # a wrong host name or a closed port: give up well within 15 s
MAX_ATTEMPTS = 12
MAX_REDIRECTS = 5
CHUNK = 1 << 16
T = TypeVar("T")


@dataclass
class RequestStats:
    network: int = 0
    cached: int = 0
    retries: int = 0


@dataclass(frozen=True)
class Limits:
    """How long one answer may take, how large it may be, and how long to keep retrying.

    `deadline` bounds a whole request (connect, headers and body); `timeout` is the wait for any
    single read. Defaults sit far above the largest real answer (a 5 000-item Kolada page is
    about 2.5 MB and takes seconds).
    """

    timeout: float = 60.0
    deadline: float = 300.0
    max_bytes: int = 64_000_000
    max_retry_seconds: float = 300.0
    backoff: float = 0.5


@dataclass(frozen=True)
class CacheRules:
    """How long answers stay fresh in the HTTP cache: a default and per-URL-pattern overrides."""

    expire_after: timedelta
    urls_expire_after: dict[str, timedelta] = field(default_factory=dict)


class RateLimiter:
    """At most `calls` request starts in any window of `window` seconds (thread-safe).

    The window carries a small margin because what counts is when requests *arrive*: scheduling
    and network jitter can bring two starts exactly one window apart closer together at the server.
    """

    MARGIN = 0.05

    def __init__(self, calls: int, window: float) -> None:
        self.calls = max(1, int(calls))
        self.window = window + self.MARGIN
        self.starts: collections.deque[float] = collections.deque()
        self.lock = threading.Lock()

    @classmethod
    def per_second(cls, rate: float) -> "RateLimiter":
        """`rate` requests per second; below 1, one request per 1/rate seconds."""
        return cls(int(rate), 1.0) if rate >= 1 else cls(1, 1.0 / rate)

    def obey(self, calls: int, window: float) -> None:
        """Adopt a limit the server announces (SCB's /config) when it is stricter than ours."""
        with self.lock:
            if calls / (window + self.MARGIN) < self.calls / self.window:
                self.calls, self.window = max(1, int(calls)), window + self.MARGIN

    def wait(self) -> None:
        with self.lock:
            while True:
                now = time.monotonic()
                while self.starts and now - self.starts[0] >= self.window:
                    self.starts.popleft()
                if len(self.starts) < self.calls:
                    self.starts.append(now)
                    return
                time.sleep(self.window - (now - self.starts[0]) + 0.001)


class PoliteAdapter(HTTPAdapter):
    """Transport adapter: only requests that really go on the wire are throttled, counted and bounded.

    The body is read here, under the deadline and the size cap, so everything above (the cache,
    the retry loop, the sources) only ever sees a complete answer of bounded size.
    """

    def __init__(self, limiter: RateLimiter, stats: RequestStats, limits: Limits) -> None:
        super().__init__(pool_connections=2, pool_maxsize=4, max_retries=0)
        self.limiter = limiter
        self.stats = stats
        self.limits = limits

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(POOLS)  # the deadline covers the headers too

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.limiter.wait()
        self.stats.network += 1
        log.debug("%s %s", request.method, request.url)
        started = time.monotonic()
        kwargs["stream"] = True
        set_deadline(started + self.limits.deadline)
        try:
            response = super().send(request, **kwargs)
        except requests.ConnectionError:
            if time.monotonic() - started >= self.limits.deadline:
                raise TransientError(f"no headers after {self.limits.deadline:g} s (a stalled or trickling "
                                     "server)", request.url) from None
            raise
        finally:
            set_deadline(None)
        try:
            response._content = self._body(response, started)  # noqa: SLF001 - requests' own cache slot
        finally:
            response.close()
        response._content_consumed = True  # noqa: SLF001
        return response

    def _body(self, response: requests.Response, started: float) -> bytes:
        limits, url = self.limits, response.url
        parts, size = [], 0
        while True:
            if time.monotonic() - started > limits.deadline:
                raise TransientError(f"the answer was not complete after {limits.deadline:g} s (a stalled or "
                                     "trickling server)", url)
            try:
                chunk = response.raw.read1(CHUNK, decode_content=True)
            except urllib3.exceptions.ReadTimeoutError as exc:
                raise requests.Timeout(exc) from exc
            except (urllib3.exceptions.ProtocolError, urllib3.exceptions.DecodeError, OSError) as exc:
                raise requests.ConnectionError(exc) from exc
            if not chunk:
                return b"".join(parts)
            size += len(chunk)
            if size > limits.max_bytes:
                raise BadResponse(f"the answer is larger than {limits.max_bytes / 1e6:g} MB; refusing it "
                                  "([source] max_response_mb)", url)
            parts.append(chunk)


def _is_json(response: requests.Response) -> bool:
    kind = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    return kind == "application/json" or kind.endswith("+json")


def _retry_after(response: requests.Response) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date); None when absent or unreadable."""
    raw = response.headers.get("Retry-After", "").strip()
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        log.debug("ignoring an unreadable Retry-After %r", raw)
        return None
    return max(0.0, when.timestamp() - time.time())


def _network_reason(exc: BaseException) -> str:
    """The useful part of a requests error: 'Failed to resolve …', 'Connection refused', 'Read timed out'."""
    inner = getattr(exc.args[0], "reason", None) if exc.args else None
    text = str(inner or exc)
    text = text.split("): ", 1)[-1] if "): " in text else text
    return f"{type(exc).__name__}: {text}"[:200]


def _unreachable(exc: requests.RequestException) -> bool:
    """A name that does not resolve or a connection refused (not a timeout): nobody is there."""
    inner = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(inner, urllib3.exceptions.NewConnectionError)  # NameResolutionError is one too


def detail(response: requests.Response) -> str:
    """The server's own words about an error: FastAPI's `detail`, problem+json's title and detail, or text."""
    try:
        body = strict_json(response.content)
    except ValueError:
        return response.text[:200].strip()
    if isinstance(body, dict):
        parts = [str(body[k]) for k in ("title", "detail") if body.get(k)]
        return ": ".join(dict.fromkeys(parts)) if parts else str(body)[:200]
    return str(body)[:200]


def _title(response: requests.Response) -> str | None:
    """problem+json's `title` (SCB: "Non-existent table", "Too many cells selected"), if the body has one."""
    try:
        body = strict_json(response.content)
    except ValueError:
        return None
    title = body.get("title") if isinstance(body, dict) else None
    return str(title) if title else None


class Transport:
    """JSON over HTTP for one source, with the rules above.

    `name` is how messages call the source ("Kolada", "SCB"); `refusal_hint` may add a sentence to
    a 4xx message (e.g. "is the URL missing /v3?"); `offline_hint` ends every connection failure.
    """

    def __init__(self, name: str, base_url: str, *, limiter: RateLimiter, limits: Limits = Limits(),
                 cache_path: Path | None = None, cache_rules: CacheRules | None = None, refresh: bool = False,
                 refusal_hint: Callable[[int, str], str] | None = None, offline_hint: str = "") -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.stats = RequestStats()
        self.limits = limits
        self.refresh = refresh
        self.refusal_hint = refusal_hint or (lambda status, url: "")
        self.offline_hint = offline_hint
        self._adapter = PoliteAdapter(limiter, self.stats, limits)
        self._cache_path = cache_path
        self._cache_rules = cache_rules or CacheRules(timedelta(hours=1))
        self._session: requests.Session | None = None
        self._backoff = wait_exponential(multiplier=limits.backoff, max=30) + wait_random(0, limits.backoff)
        self._origin = urlsplit(self.base_url)

    def _mount(self, session: requests.Session) -> requests.Session:
        session.mount("http://", self._adapter)
        session.mount("https://", self._adapter)
        session.headers["User-Agent"] = USER_AGENT
        session.headers["Accept"] = "application/json"
        return session

    def same_origin(self, link: str, current: str) -> str:
        """A link from an answer (a next page), resolved against `current` and moved onto the configured
        server: a body may name the public host while we talk to a mirror or a test server."""
        absolute = urljoin(current, link)
        parts = urlsplit(absolute)
        if (parts.scheme, parts.netloc) != (self._origin.scheme, self._origin.netloc):
            log.debug("rebasing %s onto %s", absolute, self.base_url)
            absolute = urlunsplit((self._origin.scheme, self._origin.netloc, parts.path, parts.query, parts.fragment))
        return absolute

    @property
    def session(self) -> requests.Session:
        """Opened on first use, so a source the config never asks opens (and tidies) no cache file."""
        if self._session is None:
            rules = self._cache_rules
            self._session = self._mount(
                cached_session(self._cache_path, expire_after=rules.expire_after,
                               urls_expire_after=rules.urls_expire_after, filter_fn=_is_json)
                if self._cache_path is not None else requests.Session())
        return self._session

    @property
    def cached(self) -> bool:
        return isinstance(self.session, requests_cache.CachedSession)

    def close(self) -> None:
        if self._session is not None:
            self._session.close()

    # --- one attempt ---------------------------------------------------------------------------
    def _send(self, method: str, url: str, params: Mapping[str, Any] | None, body: Any, fresh: bool) -> requests.Response:
        kwargs: dict[str, Any] = {"params": params, "timeout": (min(10.0, self.limits.timeout), self.limits.timeout),
                                  "allow_redirects": False}
        if body is not None:
            kwargs["json"] = body
        if self.cached:
            if fresh:  # "what changed since" must never be answered from memory
                kwargs["expire_after"] = requests_cache.DO_NOT_CACHE
            elif self.refresh:
                kwargs["force_refresh"] = True
        try:
            return self.session.request(method, url, **kwargs)
        except requests.RequestException:
            raise
        except CACHE_ERRORS as exc:  # the cache is disposable: never let it end a run
            if not self.cached:
                raise
            log.warning("the HTTP cache failed (%s); going on without it", exc)
            self._session = self._mount(requests.Session())
            return self._send(method, url, params, body, fresh)

    def _attempt(self, method: str, url: str, params: Mapping[str, Any] | None, body: Any, fresh: bool,
                 validate: Callable[[Any, str], T]) -> T:
        for _ in range(MAX_REDIRECTS + 1):
            try:
                response = self._send(method, url, params, body, fresh)
            except (requests.ConnectionError, requests.Timeout) as exc:
                raise TransientError(f"no complete answer from {self.name}: {_network_reason(exc)}", url,
                                     unreachable=_unreachable(exc)) from exc
            except requests.RequestException as exc:
                raise TransientError(f"request failed: {exc}", url) from exc
            if getattr(response, "from_cache", False):
                self.stats.cached += 1
            if response.is_redirect:
                url, params = self._redirect_target(response), None
                continue
            try:
                return validate(self._check(response), response.url)
            except (TransientError, BadResponse):
                self.forget(response.url)
                raise
        raise BadResponse(f"more than {MAX_REDIRECTS} redirects", url)

    def _redirect_target(self, response: requests.Response) -> str:
        """Follow a redirect on the same host only (http → https allowed): data from elsewhere is not the source's."""
        target = urljoin(response.url, response.headers.get("Location", ""))
        parts = urlsplit(target)
        same = parts.netloc == self._origin.netloc and parts.scheme == self._origin.scheme
        upgrade = (self._origin.scheme, parts.scheme) == ("http", "https") and parts.hostname == self._origin.hostname
        if not (same or upgrade):
            raise RequestRefused(f"{self.name} redirected us to another host ({target}); refusing to follow it. "
                                 "Is the API URL right?", response.url)
        log.debug("following a redirect to %s", target)
        return target

    def _check(self, response: requests.Response) -> Any:
        status, url = response.status_code, response.url
        if status == 429:
            raise TransientError(f"{self.name} is rate limiting us (HTTP 429)", url, _retry_after(response))
        if status >= 500:
            raise TransientError(f"{self.name} server error (HTTP {status})", url, _retry_after(response))
        if status >= 400:
            hint = self.refusal_hint(status, url)
            raise RequestRefused(f"{self.name} refused the request (HTTP {status}): {detail(response)}"
                                 + (f"; {hint}" if hint else ""), url, status=status, title=_title(response))
        if status != 200:
            raise TransientError(f"unexpected HTTP {status} from {self.name}", url)
        if not _is_json(response):
            kind = response.headers.get("Content-Type", "no content type")
            raise TransientError(f"{self.name} answered {kind} instead of JSON (a maintenance page?)", url)
        try:
            return strict_json(response.content)
        except ValueError as exc:
            where = f" at byte {exc.pos}" if isinstance(exc, json.JSONDecodeError) else ""
            reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
            raise TransientError(f"{self.name}'s JSON is truncated or invalid ({reason}{where})", url) from exc

    def forget(self, url: str) -> None:
        """Drop an answer from the cache (a bad body, or one a source found wanting)."""
        if self._session is not None and self.cached:
            try:
                self.session.cache.delete(urls=[url], vacuum=False)  # else each URL rewrites the file
            except CACHE_ERRORS as exc:
                log.debug("could not drop %s from the cache: %s", url, exc)

    # --- retried ---------------------------------------------------------------------------------
    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, TransientError) and exc.retry_after is not None:
            return exc.retry_after
        return self._backoff(state)

    def _stop(self, state: RetryCallState) -> bool:
        exc = state.outcome.exception() if state.outcome else None
        budget = UNREACHABLE_SECONDS if getattr(exc, "unreachable", False) else self.limits.max_retry_seconds
        budget = min(budget, self.limits.max_retry_seconds)
        return (state.attempt_number >= MAX_ATTEMPTS
                or state.seconds_since_start + (state.upcoming_sleep or 0.0) > budget)

    def _log_retry(self, state: RetryCallState) -> None:
        self.stats.retries += 1
        exc = state.outcome.exception() if state.outcome else None
        sleep = state.next_action.sleep if state.next_action else 0.0
        log.info("retrying in %.1f s (attempt %d): %s", sleep, state.attempt_number, exc)

    def request_json(self, url: str, params: Mapping[str, Any] | None = None, *, validate: Callable[[Any, str], T],
                     body: Any = None, fresh: bool = False) -> T:
        """One answer's JSON as `validate(parsed, final_url)` makes it, retried on transient failures.

        `validate` checks the source's envelope inside the retry loop: a TransientError from it
        (a miscounted page) is retried like a broken body, and the bad answer leaves the cache.
        `fresh` bypasses the HTTP cache both ways (answers that change while their URL does not).
        A `body` makes it a POST. Raises UpstreamUnavailable (Unreachable for a host nobody
        answers on) when the budget is spent, RequestRefused on a 4xx, BadResponse on a body
        that can never be right.
        """
        retrying = Retrying(retry=retry_if_exception_type(TransientError), wait=self._wait, stop=self._stop,
                            before_sleep=self._log_retry, reraise=True)
        method = "GET" if body is None else "POST"
        try:
            return retrying(self._attempt, method, url, params, body, fresh, validate)
        except TransientError as exc:
            if exc.unreachable:
                raise Unreachable(f"cannot reach {self.name} at {self.base_url}: {exc}. {self.offline_hint}".strip()) from exc
            raise UpstreamUnavailable(f"gave up after retries: {exc}") from exc


class SourceClient:
    """What every source's client shares around its `Transport`: counters, URLs, cache upkeep, closing."""

    transport: Transport

    @property
    def base_url(self) -> str:
        return self.transport.base_url

    @property
    def stats(self) -> RequestStats:
        return self.transport.stats

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def forget(self, urls: list[str]) -> None:
        """Drop answers from the HTTP cache: an answer the harvest held back must not come back from memory."""
        for url in urls:
            self.transport.forget(url)

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

