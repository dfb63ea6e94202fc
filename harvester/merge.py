"""Merge freshly fetched rows into a KPI's stored rows, noting every revision.

The rules protect the analyst's trust in the files: a stored row is only replaced by a row with
the same key, only removed when Kolada says `isdeleted`, and an unchanged row keeps its
`fetched_at`, so a rerun with nothing new upstream produces identical files. Pure: DataFrames in,
DataFrames out.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from . import schema
from .schema import KEY


@dataclass(frozen=True)
class MergeResult:
    values: pd.DataFrame
    revisions: pd.DataFrame
    added: int
    changed: int
    removed: int

    @property
    def touched(self) -> bool:
        return bool(self.added or self.changed or self.removed)


def _same(old: pd.Series, new: pd.Series) -> np.ndarray:
    """Equal, counting missing == missing as equal (a null value is Kolada's 'no value')."""
    return ((old == new).fillna(False) | (old.isna() & new.isna())).to_numpy(dtype=bool)


def merge_values(stored: pd.DataFrame, incoming: pd.DataFrame, fetched_at: pd.Timestamp, run_id: str) -> MergeResult:
    """Apply `incoming` (items.ROWS columns) to `stored` (schema.VALUES columns) for one KPI."""
    if incoming.empty:
        return MergeResult(stored, _revisions_frame(None, fetched_at, run_id), 0, 0, 0)
    incoming = incoming.drop_duplicates(KEY, keep="last")
    if stored.empty:  # the first harvest of a KPI: everything is new, nothing to compare or delete
        fresh = incoming.loc[~incoming["isdeleted"].astype(bool)].drop(columns="isdeleted").assign(fetched_at=fetched_at)
        fresh = fresh.sort_values(["municipality_id", "period", "gender"], kind="stable").reset_index(drop=True)
        return MergeResult(fresh, _revisions_frame(None, fetched_at, run_id), len(fresh), 0, 0)
    deleted = incoming.loc[incoming["isdeleted"].astype(bool), KEY]
    live = incoming.loc[~incoming["isdeleted"].astype(bool)].drop(columns="isdeleted")
    both = stored.merge(live, on=KEY, how="outer", suffixes=("_old", ""), indicator=True)
    is_new = (both["_merge"] == "right_only").to_numpy()
    in_both = (both["_merge"] == "both").to_numpy()
    same_value = _same(both["value_old"], both["value"])
    same_row = same_value & _same(both["count_old"], both["count"]) & _same(both["status_old"], both["status"])
    replace = is_new | (in_both & ~same_row)
    keep_old = ~replace

    merged = pd.DataFrame({k: both[k] for k in KEY})
    for col in ("value", "count", "status"):
        merged[col] = both[col].where(replace, both[f"{col}_old"])
    merged["fetched_at"] = both["fetched_at"].where(keep_old, fetched_at)

    revised = both.loc[in_both & ~same_value]
    revisions = [pd.DataFrame({**{k: revised[k] for k in KEY}, "old_value": revised["value_old"],
                               "new_value": revised["value"], "change": "changed"})]

    gone = merged.merge(deleted, on=KEY, how="left", indicator=True)["_merge"].eq("both").to_numpy()
    removed_rows = merged.loc[gone]
    revisions.append(pd.DataFrame({**{k: removed_rows[k] for k in KEY}, "old_value": removed_rows["value"],
                                   "new_value": np.nan, "change": "removed"}))
    merged = merged.loc[~gone].sort_values(["municipality_id", "period", "gender"], kind="stable").reset_index(drop=True)

    rev = pd.concat([r for r in revisions if len(r)], ignore_index=True) if any(len(r) for r in revisions) else None
    rev_table = _revisions_frame(rev, fetched_at, run_id)
    return MergeResult(values=merged, revisions=rev_table, added=int(is_new.sum()),
                       changed=int((in_both & ~same_row).sum()), removed=int(gone.sum()))


def _revisions_frame(rev: pd.DataFrame | None, detected_at: pd.Timestamp, run_id: str) -> pd.DataFrame:
    if rev is None:
        return schema.REVISIONS.empty_table().to_pandas()
    rev = rev.assign(detected_at=detected_at, run_id=run_id)
    return rev[schema.REVISIONS.names].reset_index(drop=True)


def to_arrow(frame: pd.DataFrame, target: pa.Schema) -> pa.Table:
    """A DataFrame as a table of exactly the documented schema (no pandas index or metadata)."""
    table = pa.Table.from_pandas(frame[target.names], schema=target, preserve_index=False)
    return table.replace_schema_metadata(None)
