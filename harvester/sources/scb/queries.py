"""Plan SCB data requests: only codes that exist, each answer under the server's cell limit, few calls.

Cells are the product of the codes selected per variable (a variable left out counts 1). A request
selects a block of regions × periods (with every Kon code of its group), so a series is cut into a
grid: the planner tries every number of periods per request, fits as many regions as the limit
leaves room for, and keeps the grid with the fewest blocks, cut evenly. That is ⌈cells /
maxDataCells⌉ per Kon selection where the regions and periods divide evenly under the limit (a
total that SCB sums by leaving Kon out is its own selection), and otherwise the fewest blocks any
grid can have (every month of TAB6260 at 2 000 cells: 38 blocks against ⌈cells / limit⌉ = 37).
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
    """`items` in `parts` runs of nearly equal length, in order."""
    size = math.ceil(len(items) / parts)
    return [items[i:i + size] for i in range(0, len(items), size)]


def grid(regions: int, periods: int, width: int, max_cells: int) -> tuple[int, int]:
    """(region parts, period parts) with the fewest blocks of at most `max_cells` cells; on a tie, fewer
    region parts (each answer then covers more of the comparison at once)."""
    if width > max_cells:
        raise ValueError(f"maxDataCells {max_cells} is below one cell per gender")
    best: tuple[int, int] | None = None
    for per_request in range(1, periods + 1):
        room = max_cells // (per_request * width)
        if room < 1:
            break
        shape = (math.ceil(regions / min(regions, room)), math.ceil(periods / per_request))
        if best is None or (shape[0] * shape[1], shape[0]) < (best[0] * best[1], best[0]):
            best = shape
    assert best is not None  # per_request = 1 always fits, since width ≤ max_cells
    return best


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
        region_parts, period_parts = grid(len(regions), len(periods), width, max_cells)
        for period_part in _split(periods, period_parts):
            for region_part in _split(regions, region_parts):
                selection: list[tuple[str, tuple[str, ...] | None]] = [(series.region, tuple(region_part)), *fixed]
                if series.kon.variable:
                    selection.append((series.kon.variable, kon))
                selection.append((series.meta.time, tuple(period_part)))
                requests.append(DataRequest(series.meta.id, tuple(selection),
                                            len(region_part) * len(period_part) * width))
    return requests
