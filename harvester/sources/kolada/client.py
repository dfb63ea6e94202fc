"""Kolada v3 over the shared transport: the list envelope, `next_url` paging and the catalogue endpoints.

Callers ask for "all pages of this list"; politeness, retries, the cache and the bounds on every
answer live in `harvester.transport`. What is Kolada's own is here: 25 ids per dimension, 5 000
items per page, the `{values, count, next_url}` envelope, and a listing that must end.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests

from ...errors import BadResponse, TransientError
from ...transport import CacheRules, Limits, RateLimiter, SourceClient, Transport

log = logging.getLogger(__name__)
T = TypeVar("T")

PER_PAGE = 5000
MAX_IDS = 25  # Kolada refuses more ids than this in one dimension
MAX_CATALOGUE_ITEMS = 100_000  # the largest catalogue holds about 6 100 KPIs
# Metadata changes a few times a year; data pages are re-read within the hour. A nightly run is
# more than 20 hours after the last one, so it always sees new publications.
CACHE_RULES = CacheRules(expire_after=timedelta(hours=20),
                         urls_expire_after={"*/data/*": timedelta(hours=1), "*/oudata/*": timedelta(hours=1)})
OFFLINE_HINT = ("Check --api-url, KOLADA_API_URL or [source] api_url; without access to api.kolada.se, serve the "
                "snapshot locally with `python -m tests.fake_kolada` (README: \"No access to api.kolada.se?\").")


def chunks(ids: list[str], size: int = MAX_IDS) -> list[list[str]]:
    """Split a list of ids into the chunks Kolada accepts in one dimension."""
    return [ids[i:i + size] for i in range(0, len(ids), size)]


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


def catalogue_items(values: list[Any], url: str) -> list[Any]:
    """A catalogue page (KPIs, municipalities, groups): objects with a string `id`, checked while the answer
    can still leave the cache (a non-object item once broke every run for 20 hours)."""
    for item in values:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not isinstance(item.get("title", ""), str):
            raise BadResponse(f"Kolada's catalogue holds an item without a string id and title: {str(item)[:200]}", url)
    return values


def nonempty(values: list[Any], url: str) -> list[Any]:
    """A catalogue that can never be empty (the municipalities): an empty one is a broken answer."""
    if not values:
        raise BadResponse("Kolada's municipality list is empty", url)
    return catalogue_items(values, url)


class KoladaClient(SourceClient):
    """Reads lists from Kolada v3, following `next_url` and obeying the rules above."""

    def __init__(self, base_url: str, *, cache_path: Path | None = None, refresh: bool = False, rate: float = 5.0,
                 limits: Limits = Limits()) -> None:
        base_path = urlsplit(base_url).path.rstrip("/")

        def hint(status: int, url: str) -> str:
            if status == 410:
                return "Kolada says this API version is gone: is api_url a v3 URL (https://api.kolada.se/v3)?"
            if status == 404 and not base_path.endswith("/v3"):
                return f"is the URL {base_url} missing /v3?"
            return ""

        self.transport = Transport("Kolada", base_url, limiter=RateLimiter.per_second(rate), limits=limits,
                                   cache_path=cache_path, cache_rules=CACHE_RULES, refresh=refresh,
                                   refusal_hint=hint, offline_hint=OFFLINE_HINT)

    @property
    def session(self) -> requests.Session:
        return self.transport.session

    def get_page(self, url: str, params: Mapping[str, Any] | None = None, fresh: bool = False,
                 shape: Callable[[list[Any], str], T] = catalogue_items) -> tuple[list[Any], str | None, T]:
        """One page as (values, next_url, shape(values)), retried on transient failures and on a miscounted
        page. `shape` checks the items inside the validation, so an unusable page is forgotten by the cache."""
        def validate(body: Any, url: str) -> tuple[list[Any], str | None, T]:
            values, next_url = check_envelope(body, url)
            return values, next_url, shape(values, url)
        return self.transport.request_json(url, params, validate=validate, fresh=fresh)

    def pages(self, path: str, params: Mapping[str, Any] | None = None, fresh: bool = False,
              max_items: int = MAX_CATALOGUE_ITEMS, read: list[str] | None = None,
              shape: Callable[[list[Any], str], T] = catalogue_items) -> Iterator[T]:
        """Yield the `values` of every page, following next_url until it is null, empty or missing.

        `max_items` is the most the listing can honestly hold (the planner's bound for data). A
        server that offers more items than that, more pages than that many items fill at its page
        size (with a margin), or an empty page that points to another, is running away, not paging.
        `read` collects the URL of every page, for `forget`. Each page is yielded as `shape` made it.
        """
        url = self.url(path)
        query: dict[str, Any] | None = {**(params or {}), "per_page": PER_PAGE}
        seen: set[str] = set()
        items, page_size = 0, 0
        while True:
            values, next_url, shaped = self.get_page(url, query, fresh, shape)
            current = requests.Request("GET", url, params=query).prepare().url or url
            if read is not None:
                read.append(current)
            yield shaped
            if not next_url:
                return
            seen.add(current)
            items, page_size = items + len(values), page_size or len(values)
            url, query = self.transport.same_origin(next_url, current), None
            if url in seen:
                raise BadResponse(f"Kolada's next_url repeats a page already read: {url}", current)
            allowed_pages = 2 * -(-max_items // max(page_size, 1)) + 3
            if not values or items > max_items or len(seen) >= allowed_pages:
                raise BadResponse(f"Kolada keeps offering pages ({len(seen)} read, {items} items, an empty page "
                                  f"{'included' if not values else 'none'}) beyond the {max_items} items this listing "
                                  "can hold; giving up on a runaway listing", current)

    def get_all(self, path: str, params: Mapping[str, Any] | None = None,
                shape: Callable[[list[Any], str], list[Any]] = catalogue_items) -> list[Any]:
        return [item for page in self.pages(path, params, shape=shape) for item in page]

    # --- catalogue -----------------------------------------------------------------------------
    def kpis(self, ids: list[str] | None = None) -> list[dict[str, Any]]:
        """KPI metadata for the ids (25 per request), or the whole catalogue when ids is None."""
        if ids is None:
            return self.get_all("kpi")
        return [k for chunk in chunks(ids) for k in self.get_all(f"kpi/{','.join(chunk)}")]

    def search_kpis(self, words: str) -> list[dict[str, Any]]:
        return self.get_all("kpi", {"title": words})

    def municipalities(self) -> list[dict[str, Any]]:
        return self.get_all("municipality", shape=nonempty)

    def search_municipalities(self, words: str) -> list[dict[str, Any]]:
        return self.get_all("municipality", {"title": words})

    def municipality_groups(self, ids: list[str] | None = None) -> list[dict[str, Any]]:
        if ids is None:
            return self.get_all("municipality_groups")
        return [g for chunk in chunks(ids) for g in self.get_all(f"municipality_groups/{','.join(chunk)}")]
