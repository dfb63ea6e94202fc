"""SCB as a harvest source: the table's `updated` stamp decides, then the configured slice is fetched whole.

PxWebApi has no "changed since" query, but every table says when it was last updated. The cursor of
a series remembers that stamp with the areas and years it covered: unchanged and covered → no data
request at all; changed (SCB revised or extended the table) → the series' whole slice is fetched
again and merged as a complete answer, so revisions and withdrawals are recorded as for Kolada.
The stamp is always read from the server (`ScbClient.table` bypasses the HTTP cache).

SCB sometimes changes a table's metadata without moving the stamp (a preliminary year withdrawn). The
cached metadata then makes the server refuse a request, or answer cells we did not ask for; before
giving up, the metadata is read once more past the cache and the series planned again from it.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pyarrow as pa

from .. import Batch, Scope, covers
from ...errors import BadResponse, RequestRefused
from ...transport import RequestStats
from .catalogue import CheckedSeries, SeriesError, check_series, series_rows
from .client import ScbClient
from .queries import DataRequest, plan_series
from .rows import SOURCE, rows_from_cells

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SeriesWork:
    series: CheckedSeries
    requests: list[DataRequest]
    regions: dict[str, str]  # SCB Region code → area id
    periods: dict[str, int]  # Tid code → year


def _spans(years: Sequence[int]) -> str:
    """2015, 2016, 2017, 2019 → "2015–2017, 2019"."""
    spans: list[list[int]] = []
    for y in sorted(years):
        if spans and y == spans[-1][1] + 1:
            spans[-1][1] = y
        else:
            spans.append([y, y])
    return ", ".join(str(a) if a == b else f"{a}–{b}" for a, b in spans)


class ScbSource:
    """Plans and fetches SCB series checked against their tables' metadata."""

    name = SOURCE
    label = "SCB"

    def __init__(self, client: ScbClient, series: Sequence[CheckedSeries]) -> None:
        self.client = client
        self.base_url = client.base_url
        self.series = {s.id: s for s in series}
        self._read: dict[tuple[str, ...], list[str]] = {}
        self._reread: set[str] = set()  # tables whose metadata this run has read past the cache

    @property
    def stats(self) -> RequestStats:
        return self.client.stats

    def work(self, series: CheckedSeries, scope: Scope) -> SeriesWork:
        """What to ask the table for this scope: only the regions and periods it has (the rest is logged)."""
        regions, missing_areas = series.regions(scope.areas)
        periods, missing_years = series.periods(scope.years)
        if missing_years:
            log.info("%s: %s has no %s for %s (it covers %s–%s); left out of the request", series.id,
                     series.meta.id, "value for month %02d" % series.spec.month if series.spec.month else "values",
                     _spans(missing_years), series.meta.time_variable.codes[0], series.meta.time_variable.codes[-1])
        if missing_areas:
            log.info("%s: %s has no region %s; left out of the request", series.id, series.meta.id,
                     ", ".join(missing_areas))
        max_cells = self.client.limits().max_cells
        return SeriesWork(series, plan_series(series, list(regions), list(periods), max_cells), regions, periods)

    def plan(self, scope: Scope, cursors: Mapping[str, Mapping[str, Any]], refresh: bool) -> list[Batch]:
        batches = []
        for series_id in scope.series:
            series = self.series[series_id]
            cursor = cursors.get(series_id)
            if cursor and not refresh and cursor.get("updated") == series.meta.updated and covers(cursor, scope):
                log.info("%s: %s unchanged since %s; nothing to fetch", series_id, series.meta.id, series.meta.updated)
                continue
            work = self.work(series, scope)
            batches.append(Batch(series=(series_id,), complete=True, estimated_pages=len(work.requests), work=work))
        return batches

    def fetch(self, batch: Batch, scope: Scope) -> Iterator[pa.Table]:
        work: SeriesWork = batch.work
        read = self._read.setdefault(batch.series, [])
        done = 0
        while done < len(work.requests):
            request = work.requests[done]
            try:
                cells, url = self.client.data(request.table, request.selection)
                rows = rows_from_cells(cells, work.series, work.regions, work.periods, url)
            except (RequestRefused, BadResponse) as exc:
                afresh = self._afresh(work.series, exc)
                if afresh is None or done:  # the same metadata, or pages of the old plan already delivered
                    raise
                work = self.work(afresh, scope)
                continue
            read.append(url)
            done += 1
            yield rows

    def _afresh(self, series: CheckedSeries, exc: Exception) -> CheckedSeries | None:
        """The series checked against its table's metadata read past the cache (once per table and run),
        or None when that metadata is the one the plan used. The fresh copy replaces the cached one, so
        the next run plans from it even when this one gives up."""
        table = series.meta.id or series.spec.table
        if table in self._reread:
            return None
        self._reread.add(table)
        meta = self.client.metadata(table, renew=True)
        if meta == series.meta:
            return None
        try:
            checked = check_series(series.spec, meta, series.gender)
        except SeriesError as gone:
            raise BadResponse(f"{table}'s metadata changed without a new `updated` stamp and no longer fits the "
                              f"config: {gone}") from exc
        log.warning("%s: %s's metadata changed without a new `updated` stamp (%s); planned again from it",
                    series.id, table, exc)
        self.series[series.id] = checked
        return checked

    def forget(self, batch: Batch) -> None:
        self.client.forget(self._read.pop(batch.series, []))

    def cursor(self, series: str, batch: Batch, rows: pd.DataFrame, scope: Scope,
               previous: Mapping[str, Any] | None, started: pd.Timestamp) -> dict[str, Any]:
        return {"updated": self.series[series].meta.updated, "areas": list(scope.areas),
                "years": [scope.years[0], scope.years[-1]]}

    def described(self, read_at: pd.Timestamp) -> pd.DataFrame:
        """The `series` rows as checked against the metadata the fetch ended with (read afresh, if it was)."""
        return series_rows(list(self.series.values()), read_at)
