"""Decoded SCB cells → our rows: Region → area id, Kon → gender, Tid → year (README "Our rows")."""
from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import pyarrow as pa

from ... import schema
from ...errors import BadResponse
from .catalogue import CheckedSeries

SOURCE = "scb"


def rows_from_cells(cells: pd.DataFrame, series: CheckedSeries, regions: Mapping[str, str],
                    periods: Mapping[str, int], url: str) -> pa.Table:
    """`schema.ROWS` rows of one answer; cells outside what was asked for are an error, not data."""
    time, region = series.meta.time, series.region
    if time not in cells or region not in cells:
        raise BadResponse(f"SCB's answer lacks {time if time not in cells else region}", url)
    genders = {code: g for g, code in series.kon.codes.items() if code is not None}
    kon = series.kon.variable
    if kon and kon in cells:
        gender = cells[kon].map(genders)
    else:  # Kon left out: the server's total
        gender = pd.Series("T", index=cells.index)
    out = pd.DataFrame({
        "kpi": series.id,
        "municipality_id": cells[region].map(regions),
        "period": cells[time].map(periods),
        "gender": gender,
        "value": cells["value"].astype("float64"),
        "count": pd.Series(pd.NA, index=cells.index, dtype="Int32"),
        "status": cells["status"],
        "source": SOURCE,
        "isdeleted": False,
    })
    unasked = out[["municipality_id", "period", "gender"]].isna().any(axis=1)
    if unasked.any():
        first = cells.loc[unasked].iloc[0]
        raise BadResponse(f"SCB's answer holds a cell we did not ask for ({dict(first.drop(['value', 'status']))})", url)
    out["period"] = out["period"].astype("int32")
    return pa.Table.from_pandas(out, schema=schema.ROWS, preserve_index=False).replace_schema_metadata(None)
