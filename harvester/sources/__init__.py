"""What the harvest asks of a data source, and nothing more.

A source (one folder each: `kolada/`, `scb/`, `file/`) knows its API: client, request planner, answers →
rows, catalogue. The harvest knows none of that; it drives any source the same way:
plan → fetch pages as rows → merge per series → commit. A third source is a new folder that
implements `Source`, not edits everywhere.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import pandas as pd
import pyarrow as pa

from ..transport import RequestStats


@dataclass(frozen=True)
class Scope:
    """What the config wants from one source: these series for these areas and years."""

    series: tuple[str, ...]
    areas: tuple[str, ...]
    years: tuple[int, ...]


@dataclass(frozen=True)
class Batch:
    """Requests that together answer for `series` completely, so their rows can be merged per series.

    `complete`: the answer is the whole truth for the scope's areas × years of these series (a full
    fetch, which replaces that slice); otherwise it holds changes only (merged, tombstones remove).
    `work` is the source's own plan of requests, opaque to the harvest.
    """

    series: tuple[str, ...]
    complete: bool
    estimated_pages: int
    work: Any


def covers(cursor: Mapping[str, Any], scope: Scope) -> bool:
    """Whether a cursor's areas and years include the scope's: if not, the series is fetched in full."""
    covered = cursor.get("years") or [0, -1]
    return (set(scope.areas) <= set(cursor.get("areas", ()))
            and covered[0] <= scope.years[0] and scope.years[-1] <= covered[1])


class Source(Protocol):
    """One data source as the harvest drives it."""

    name: str  # the `source` column of the rows it delivers: "kolada", "scb"
    label: str  # how messages and tables call it: "Kolada", "SCB"
    base_url: str  # where it asks, for the log

    @property
    def stats(self) -> RequestStats: ...

    def plan(self, scope: Scope, cursors: Mapping[str, Mapping[str, Any]], refresh: bool) -> list[Batch]:
        """The batches to ask for; a series with no batch needs no request (nothing new upstream)."""

    def fetch(self, batch: Batch, scope: Scope) -> Iterator[pa.Table]:
        """The batch's answer, page by page, as `schema.ROWS` tables of the scope's areas and years."""

    def forget(self, batch: Batch) -> None:
        """Drop the batch's answers from any cache: the harvest held them back as suspicious."""

    def cursor(self, series: str, batch: Batch, rows: pd.DataFrame, scope: Scope,
               previous: Mapping[str, Any] | None, started: pd.Timestamp) -> dict[str, Any]:
        """What to remember of `series` after its rows from `batch` were merged (saved with them)."""
