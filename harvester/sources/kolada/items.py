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


def rows_from_items(items: Iterable[Any], url: str, areas: Collection[str] | None = None,
                    years: Collection[int] | None = None) -> pa.Table:
    """Rows of the items whose area and period are wanted; raise BadResponse on a malformed item."""
    cols: dict[str, list[Any]] = {name: [] for name in ROWS.names}
    for item in items:
        try:
            kpi, area, period, values = item["kpi"], item["municipality"], item["period"], item["values"]
        except (KeyError, TypeError):
            raise BadResponse(f"data item without kpi/municipality/period/values: {str(item)[:200]}", url) from None
        if not isinstance(period, int) or isinstance(period, bool) or not isinstance(values, list):
            raise BadResponse(f"data item with a non-integer period or no values list: {str(item)[:200]}", url)
        if (areas is not None and area not in areas) or (years is not None and period not in years):
            continue
        for entry in values:
            try:
                gender, value = entry["gender"], entry.get("value")
            except (KeyError, TypeError, AttributeError):
                raise BadResponse(f"value entry without gender: {str(entry)[:200]}", url) from None
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                raise BadResponse(f"non-numeric value {value!r} in {kpi} {area} {period}", url)
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
