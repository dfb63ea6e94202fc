"""Kolada's catalogue objects as the dataset's `kpis` and `municipalities` tables (docs/schema.md)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import pyarrow as pa

from ... import schema


def kpis_table(stored: pd.DataFrame, fetched: Mapping[str, Mapping[str, Any]]) -> pa.Table:
    """The stored KPI rows updated with what Kolada just served (a retired KPI keeps its last row)."""
    rows = {str(r["id"]): r for r in stored.to_dict("records")}
    for kpi_id, meta in fetched.items():
        rows[kpi_id] = {name: meta.get(name) for name in schema.KPIS.names}
    frame = pd.DataFrame([rows[k] for k in sorted(rows)], columns=schema.KPIS.names)
    for col in ("prel_publication_date", "publication_date"):
        frame[col] = pd.to_datetime(frame[col], errors="coerce").dt.date
    frame["publ_period"] = frame["publ_period"].map(lambda v: None if v is None or pd.isna(v) else str(v))
    return schema.to_arrow(frame, schema.KPIS)


def municipalities_table(municipalities: list[Mapping[str, Any]]) -> pa.Table:
    frame = pd.DataFrame([{k: m.get(k) for k in schema.MUNICIPALITIES.names} for m in municipalities],
                         columns=schema.MUNICIPALITIES.names).sort_values("id")
    return schema.to_arrow(frame, schema.MUNICIPALITIES)
