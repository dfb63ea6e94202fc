"""Kolada as a harvest source: cursors → planned queries → pages → rows.

The cursor of a KPI remembers the last successful harvest (its day, the areas and years it
covered, how many items it held): the next run asks only for values changed since the day before
(`from_date`, one day of overlap for Kolada's local time), or fetches the KPI in full when the
config now wants areas or years the cursor does not cover.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date, timedelta
from typing import Any

import pandas as pd
import pyarrow as pa

from .. import Batch, Scope, covers
from ...transport import RequestStats
from . import queries
from .client import KoladaClient
from .items import SOURCE, rows_from_items

FIRST_YEAR_SERVED = 1990  # Kolada's series start here; an unfiltered query returns years from it on
OVERLAP = timedelta(days=1)


def _density(cursor: Mapping[str, Any]) -> float | None:
    """Share of KPI × area × year cells that held an item on the last full fetch (None: unknown)."""
    span = cursor.get("years") or [0, -1]
    cells = len(cursor.get("areas", ())) * max(0, span[1] - span[0] + 1)
    return min(1.0, cursor["items"] / cells) if cells and cursor.get("items") is not None else None


class KoladaSource:
    """Plans and fetches Kolada data for KPIs resolved against Kolada's catalogue."""

    name = SOURCE
    label = "Kolada"

    def __init__(self, client: KoladaClient, kpis: Mapping[str, Mapping[str, Any]],
                 municipalities: list[Mapping[str, Any]], today: date) -> None:
        self.client = client
        self.base_url = client.base_url
        self.kpis = kpis
        self.municipalities = municipalities
        self.today = today
        self._read: dict[tuple[str, ...], list[str]] = {}

    @property
    def stats(self) -> RequestStats:
        return self.client.stats

    def _areas_served(self) -> int:
        """How many areas an unfiltered query can return: kommuner and Riket for K-only KPIs."""
        types = {str(k.get("municipality_type")) for k in self.kpis.values()}
        if types == {"K"}:
            return sum(1 for m in self.municipalities if m.get("type") == "K") + 1
        return len(self.municipalities)

    def _planner_scope(self, scope: Scope, cursors: Mapping[str, Mapping[str, Any]]) -> queries.Scope:
        density = {k: d for k in scope.series if (d := _density(cursors.get(k, {}))) is not None}
        return queries.Scope(kpis=scope.series, areas=scope.areas, years=scope.years,
                             areas_served=self._areas_served(), years_served=self.today.year - FIRST_YEAR_SERVED + 1,
                             density=density)

    def plan(self, scope: Scope, cursors: Mapping[str, Mapping[str, Any]], refresh: bool) -> list[Batch]:
        since: dict[str, date | None] = {}
        for kpi in scope.series:
            cursor = cursors.get(kpi)
            if cursor and not refresh and covers(cursor, scope):
                since[kpi] = date.fromisoformat(cursor["since"])
        planned = queries.plan_requests(self._planner_scope(scope, cursors), since) if scope.series else []
        return [Batch(series=b.kpis, complete=not b.incremental, estimated_pages=b.estimated_pages, work=b)
                for b in planned]

    def fetch(self, batch: Batch, scope: Scope) -> Iterator[pa.Table]:
        areas, years = set(scope.areas), set(scope.years)
        served = self._planner_scope(scope, {})
        read = self._read.setdefault(batch.series, [])
        for query in batch.work.queries:
            limit = query.max_items(served.areas_served, served.years_served)
            yield from self.client.pages(query.path, query.params, fresh=query.from_date is not None, max_items=limit,
                                         read=read, shape=lambda page, url: rows_from_items(page, url, areas, years))

    def described(self, read_at: pd.Timestamp) -> None:
        """None: a KPI is described by Kolada's catalogue (the `kpis` table), not by `series` rows."""
        return None

    def forget(self, batch: Batch) -> None:
        self.client.forget(self._read.pop(batch.series, []))

    def cursor(self, series: str, batch: Batch, rows: pd.DataFrame, scope: Scope,
               previous: Mapping[str, Any] | None, started: pd.Timestamp) -> dict[str, Any]:
        items = int(rows[["municipality_id", "period"]].drop_duplicates().shape[0])
        return {
            "since": (started.date() - OVERLAP).isoformat(),
            "areas": list(scope.areas),
            "years": [scope.years[0], scope.years[-1]],
            "items": items if batch.complete else (previous or {}).get("items", items),
        }
