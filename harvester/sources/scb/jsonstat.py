"""JSON-stat 2 data answers → one column per variable plus `value`, without a Python loop per cell.

`value` is flat and row-major (the last variable in `id` varies fastest), so the codes of cell `i`
are `numpy.unravel_index(i, size)` looked up in each variable's codes ordered by `category.index`
(never by the order we asked in). A missing figure is `null` or a `status` mark such as "..": it
stays missing, never 0.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ...errors import BadResponse, TransientError

MISSING_MARKS = frozenset({".", "..", "..."})  # PX's "not available" marks; other marks (e.g. "p") keep the value
MAX_CELLS = 10_000_000  # far above the most /config may allow (client.CELLS_RANGE): checked before allocating
NUMBERS = (int, float, type(None))  # a boolean or a string is not a figure, whatever float() makes of it


def _number(value: Any, url: str) -> Any:
    if type(value) not in NUMBERS:
        raise BadResponse(f"SCB's answer has a value that is not a number ({value!r})", url)
    return value


def _codes_by_position(body: dict[str, Any], var: str, size: int, url: str) -> np.ndarray:
    index = ((body.get("dimension") or {}).get(var) or {}).get("category", {}).get("index")
    if isinstance(index, list):  # JSON-stat also allows the index as an array of codes
        index = {code: i for i, code in enumerate(index)}
    if not isinstance(index, dict) or sorted(index.values()) != list(range(size)):
        raise BadResponse(f"SCB's answer: the positions of {var!r} do not match its size {size}", url)
    codes = np.empty(size, dtype=object)
    for code, position in index.items():
        codes[position] = str(code)
    return codes


def _position(key: Any, cells: int, what: str, url: str) -> int:
    """A sparse form's key as a cell position; one outside the cube is a broken body (never a negative index)."""
    try:
        position = int(key)
    except (TypeError, ValueError):
        position = -1
    if not 0 <= position < cells:
        raise BadResponse(f"SCB's answer has a {what} at position {key!r}, outside its {cells} cells", url)
    return position


def _values(raw: Any, cells: int, url: str) -> np.ndarray:
    if isinstance(raw, dict):  # the sparse form: {"position": value}
        out = np.full(cells, np.nan)
        for key, value in raw.items():
            position = _position(key, cells, "value", url)
            out[position] = np.nan if _number(value, url) is None else float(value)
        return out
    if not isinstance(raw, list):
        raise BadResponse("SCB's answer has no value array", url)
    if len(raw) != cells:  # a cut-off or miscounted answer: worth asking again
        raise TransientError(f"SCB's answer holds {len(raw)} values for {cells} cells", url)
    for value in raw:
        _number(value, url)
    return np.array(raw, dtype=float)  # null → NaN


def _status(raw: Any, cells: int, url: str) -> np.ndarray:
    """Per-cell status marks (".." = not available), from the object, array or single-string forms; an array
    of one mark, like a string, marks every cell (JSON-stat)."""
    marks = np.full(cells, None, dtype=object)
    if isinstance(raw, dict):
        for key, mark in raw.items():
            marks[_position(key, cells, "status", url)] = str(mark)
    elif isinstance(raw, list) and len(raw) == cells:
        marks[:] = [None if m is None else str(m) for m in raw]
    elif isinstance(raw, list) and len(raw) == 1:
        marks[:] = None if raw[0] is None else str(raw[0])
    elif isinstance(raw, str):
        marks[:] = raw
    return marks


def decode(body: Any, url: str) -> pd.DataFrame:
    """Cells of a json-stat2 dataset: a column per variable in `id` (codes), `value` (float, NaN when missing)
    and `status` (the mark, or None). Raises BadResponse for a body of another shape."""
    if not isinstance(body, dict) or body.get("class") != "dataset":
        raise BadResponse("SCB answered JSON that is not a JSON-stat 2 dataset", url)
    ids, sizes = body.get("id"), body.get("size")
    if (not isinstance(ids, list) or not isinstance(sizes, list) or len(ids) != len(sizes)
            or not all(isinstance(s, int) and s >= 0 for s in sizes)):
        raise BadResponse("SCB's answer has no matching id and size lists", url)
    cells = math.prod(sizes)
    if cells > MAX_CELLS:
        raise BadResponse(f"SCB's answer claims {cells} cells, more than the {MAX_CELLS} any answer may hold", url)
    values = _values(body.get("value"), cells, url)
    status = _status(body.get("status"), cells, url)
    values[np.isin(status, list(MISSING_MARKS))] = np.nan
    positions = np.unravel_index(np.arange(cells), sizes) if ids else ()
    columns = {var: _codes_by_position(body, var, size, url)[pos]
               for var, size, pos in zip(ids, sizes, positions)}
    frame = pd.DataFrame(columns)
    frame["value"] = values
    frame["status"] = status
    return frame
