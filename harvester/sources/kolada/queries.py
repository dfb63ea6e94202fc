"""Plan the data requests of a harvest: which query shape, which chunks, which `from_date`.

Kolada takes at most 25 ids per dimension and returns at most 5 000 items per page, so the cost
of a harvest is the number of pages. Two shapes compete:

* areas × KPIs × years: each chunk pair is one or more pages, and a small last page per pair;
* KPIs × years with no municipality filter: every area Kolada has comes back and the unwanted
  ones are dropped, but with few chunks there are few half-empty last pages.

The planner estimates the pages of each shape and takes the cheaper. Incremental requests
(`from_date`) return only changed values, so their cost is simply their number. The estimate of
how many items a (KPI, area, year) triple yields is the density seen on the previous full fetch,
or 1 (every triple filled) when nothing is known.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from itertools import product

from .client import MAX_IDS, PER_PAGE, chunks


@dataclass(frozen=True)
class DataQuery:
    """One data request (before paging)."""

    kpis: tuple[str, ...]
    areas: tuple[str, ...] | None  # None: no municipality filter, all areas come back
    years: tuple[int, ...] | None  # None: all years come back
    from_date: date | None = None

    @property
    def path(self) -> str:
        parts = ["data", "kpi", ",".join(self.kpis)]
        if self.areas is not None:
            parts += ["municipality", ",".join(self.areas)]
        if self.years is not None:
            parts += ["year", ",".join(str(y) for y in self.years)]
        return "/".join(parts)

    @property
    def params(self) -> dict[str, str]:
        return {"from_date": self.from_date.isoformat()} if self.from_date else {}

    def max_items(self, areas_served: int, years_served: int) -> int:
        """The most data items this query can honestly return: one per KPI × area × year."""
        areas = len(self.areas) if self.areas is not None else areas_served
        years = len(self.years) if self.years is not None else years_served
        return len(self.kpis) * areas * max(years, 1)

    def describe(self) -> str:
        areas = "all areas" if self.areas is None else f"{len(self.areas)} areas"
        years = "all years" if self.years is None else f"{min(self.years)}–{max(self.years)}"
        since = f", changed since {self.from_date}" if self.from_date else ""
        return f"{len(self.kpis)} KPIs × {areas} × {years}{since}"


@dataclass(frozen=True)
class Batch:
    """Queries that together cover `kpis` completely, so their rows can be merged per KPI."""

    kpis: tuple[str, ...]
    queries: tuple[DataQuery, ...]
    incremental: bool
    estimated_pages: int = 0


@dataclass(frozen=True)
class Scope:
    """What the harvest wants: KPIs, the areas to keep and the years to keep."""

    kpis: tuple[str, ...]
    areas: tuple[str, ...]
    years: tuple[int, ...]
    areas_served: int  # how many areas a query without municipality filter returns at most
    years_served: int = 0  # how many years a query without year filter returns at most
    density: dict[str, float] = field(default_factory=dict)


def _pages(items: float) -> float:
    """Expected pages of one query: its items fill pages, and its last page is half empty on average.

    Counting that half page is what makes many small chunks lose to a few large ones when the
    unwanted areas an unfiltered query brings are few.
    """
    return max(1.0, items / PER_PAGE + 0.5)


def _shapes(kpis: Sequence[str], scope: Scope, since: date | None) -> list[tuple[float, list[DataQuery]]]:
    """Candidate plans for one KPI chunk with their estimated number of requests."""
    density = 0.0 if since else max((scope.density.get(k, 1.0) for k in kpis), default=1.0)
    year_chunks: list[tuple[int, ...] | None] = [tuple(c) for c in chunks(list(scope.years), MAX_IDS)]
    area_chunks = [tuple(c) for c in chunks(list(scope.areas), MAX_IDS)]
    ny = len(scope.years)
    plans = []

    filtered = [DataQuery(tuple(kpis), a, y, since) for a, y in product(area_chunks, year_chunks)]
    cost = sum(_pages(density * len(kpis) * len(q.areas or ()) * len(q.years or ())) for q in filtered)
    plans.append((cost, filtered))

    unfiltered = [DataQuery(tuple(kpis), None, y, since) for y in year_chunks]
    cost = sum(_pages(density * len(kpis) * scope.areas_served * len(q.years or ())) for q in unfiltered)
    plans.append((cost, unfiltered))

    if len(year_chunks) > 1:  # too many years for one list: ask for all years, drop the rest
        all_years = [DataQuery(tuple(kpis), a, None, since) for a in area_chunks]
        cost = sum(_pages(density * len(kpis) * len(q.areas or ()) * max(ny, scope.years_served)) for q in all_years)
        plans.append((cost, all_years))
    # Cheapest first; on a tie prefer fewer, larger requests (fewer half-empty last pages).
    plans.sort(key=lambda p: (p[0], len(p[1])))
    return plans


def plan_requests(scope: Scope, since: dict[str, date | None]) -> list[Batch]:
    """Split the KPIs into incremental groups (same `from_date`) and full ones, and plan each."""
    groups: dict[date | None, list[str]] = {}
    for kpi in scope.kpis:
        groups.setdefault(since.get(kpi), []).append(kpi)
    batches = []
    for when in sorted(groups, key=lambda d: (d is not None, d or date.min)):
        for kpi_chunk in chunks(groups[when], MAX_IDS):
            cost, queries = _shapes(kpi_chunk, scope, when)[0]
            batches.append(Batch(tuple(kpi_chunk), tuple(queries), when is not None, math.ceil(cost)))
    return batches


def minimum_requests(items: int) -> int:
    """The floor any client faces: ⌈data items / 5000⌉ pages."""
    return max(1, math.ceil(items / PER_PAGE))
