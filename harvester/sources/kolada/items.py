"""Flatten Kolada data items into rows, checking their shape on the way.

A data item holds one KPI × area × period with a list of per-gender values. Each page is turned
into an Arrow table at once, so a harvest holds columns, not hundreds of thousands of dicts.
"""
from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

import pyarrow as pa

from ...errors import BadResponse
from ...schema import ROWS

SOURCE = "kolada"
GENDERS = frozenset({"T", "K", "M"})
MAX_COUNT = 2**31 - 1  # the `count` column is int32 (schema.ROWS)


def _bad(what: str, thing: Any, url: str) -> BadResponse:
    return BadResponse(f"data item with {what}: {str(thing)[:200]}", url)


def _check_entry(entry: Any, url: str) -> None:
    """One per-gender value, as Kolada's spec types it: anything else is refused, never coerced (a `"false"`
    once read as deleted, a boolean as 1.0)."""
    if not isinstance(entry, dict) or entry.get("gender") not in GENDERS:
        raise _bad("a value entry without gender T, K or M", entry, url)
    value, count, status, deleted = (entry.get(k) for k in ("value", "count", "status", "isdeleted"))
    if value is not None and type(value) not in (int, float):
        raise _bad(f"a value that is not a number ({value!r})", entry, url)
    if count is not None and (type(count) is not int or not 0 <= count <= MAX_COUNT):
        raise _bad(f"a count that is not a whole number from 0 to {MAX_COUNT}", entry, url)
    if status is not None and not isinstance(status, str):
        raise _bad("a status that is not text", entry, url)
    if deleted is not None and not isinstance(deleted, bool):
        raise _bad("an isdeleted that is not true or false", entry, url)


def rows_from_items(items: Iterable[Any], url: str, areas: Collection[str] | None = None,
                    years: Collection[int] | None = None) -> pa.Table:
    """Rows of the items whose area and period are wanted; raise BadResponse on a malformed item."""
    cols: dict[str, list[Any]] = {name: [] for name in ROWS.names}
    seen: set[tuple[Any, ...]] = set()
    for item in items:
        try:
            kpi, area, period, values = item["kpi"], item["municipality"], item["period"], item["values"]
        except (KeyError, TypeError):
            raise BadResponse(f"data item without kpi/municipality/period/values: {str(item)[:200]}", url) from None
        if type(period) is not int or not isinstance(values, list) or not 1900 <= period <= 2200:
            raise _bad("a period that is not a year or no values list", item, url)
        if not isinstance(kpi, str) or not isinstance(area, str):
            raise _bad("a kpi or municipality that is not text", item, url)
        if (kpi, area, period) in seen:
            raise _bad("the same kpi, municipality and period as another item on the page", item, url)
        seen.add((kpi, area, period))
        if (areas is not None and area not in areas) or (years is not None and period not in years):
            continue
        genders = [entry.get("gender") if isinstance(entry, dict) else None for entry in values]
        if len(set(genders)) != len(genders):
            raise _bad("two values for the same gender", item, url)
        for entry in values:
            _check_entry(entry, url)
            gender, value = entry["gender"], entry.get("value")
            cols["source"].append(SOURCE)
            cols["kpi"].append(kpi)
            cols["municipality_id"].append(area)
            cols["period"].append(period)
            cols["gender"].append(gender)
            cols["value"].append(None if value is None else float(value))
            cols["count"].append(int(entry.get("count") or 0))
            cols["status"].append(entry.get("status") or "")
            cols["isdeleted"].append(bool(entry.get("isdeleted", False)))
    return pa.table(cols, schema=ROWS)
