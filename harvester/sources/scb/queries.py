"""Plan SCB data requests: only codes that exist, each answer under the server's cell limit, few calls.

Cells are the product of the codes selected per variable (a variable left out counts 1). The least
number of data requests for a series is ⌈cells / maxDataCells⌉ per Kon selection (a total that SCB
sums by leaving Kon out is its own request); the planner splits the periods, then the regions, into
that many even parts and adds a part only when one would still be too large.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .catalogue import CheckedSeries
from .client import Selection
from .metadata import CONTENTS


@dataclass(frozen=True)
class DataRequest:
    table: str
    selection: Selection
    cells: int


def _split(items: list[str], parts: int) -> list[list[str]]:
    size = math.ceil(len(items) / parts)
    return [items[i:i + size] for i in range(0, len(items), size)]


def floor_requests(cells: int, max_cells: int) -> int:
    return math.ceil(cells / max_cells) if cells else 0


def plan_series(series: CheckedSeries, regions: list[str], periods: list[str], max_cells: int) -> list[DataRequest]:
    """Requests that together ask for every region × period × gender of the series, none above `max_cells`."""
    if not regions or not periods:
        return []
    contents_var = series.meta.variable(CONTENTS)
    assert contents_var is not None
    fixed: list[tuple[str, tuple[str, ...] | None]] = [(contents_var.code, (series.contents,))]
    fixed += [(var, (code,)) for var, code in series.fixed]
    requests = []
    for kon in series.kon.groups():
        width = len(kon) if kon else 1
        if width > max_cells:
            raise ValueError(f"maxDataCells {max_cells} is below one cell per gender")
        parts = floor_requests(len(regions) * len(periods) * width, max_cells)
        while True:
            chunks = _chunks(regions, periods, parts, max_cells // width)
            if all(len(r) * len(p) * width <= max_cells for r, p in chunks):
                break
            parts += 1
        for region_part, period_part in chunks:
            selection: list[tuple[str, tuple[str, ...] | None]] = [(series.region, tuple(region_part)), *fixed]
            if series.kon.variable:
                selection.append((series.kon.variable, kon))
            selection.append((series.meta.time, tuple(period_part)))
            requests.append(DataRequest(series.meta.id, tuple(selection), len(region_part) * len(period_part) * width))
    return requests


def _chunks(regions: list[str], periods: list[str], parts: int, per_request: int) -> list[tuple[list[str], list[str]]]:
    """`parts` pieces: periods split first (every region in each answer); regions too when one period is too many."""
    if len(regions) <= per_request and parts <= len(periods):
        return [(regions, p) for p in _split(periods, parts)]
    region_parts = max(1, math.ceil(len(regions) / max(1, per_request)), math.ceil(parts / len(periods)))
    return [(r, [p]) for p in periods for r in _split(regions, region_parts)]
