"""Merge freshly fetched rows into a series' stored rows, noting every revision.

How rows were asked for decides what they may do (dlt's write dispositions): a *complete* answer
for a slice (every page read, counts checked) replaces that slice, so a value the source withdrew
without a tombstone leaves the dataset too; an answer of changes only (`from_date`) is merged, and
only its tombstones (`isdeleted`) remove rows. An unchanged row keeps its `fetched_at`, so a rerun
with nothing new upstream produces identical files.

An answer that would remove or empty more than a small share of a series' stored values is more
likely a broken source than a real withdrawal: `losses_suspicious` says so, and the harvest then
keeps the stored rows unless the operator accepts the removals. Pure: DataFrames in, DataFrames out.
"""
from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import schema
from .schema import KEY

# A complete answer may withdraw this share of a series' stored values, plus a couple, before it is
# held back as suspicious (docs/reliability.md; `--accept-removals` lets it through).
MAX_LOSS_SHARE = 0.05
LOSS_ALLOWANCE = 2
_CARRIED = ("value", "count", "status", "source")


@dataclass(frozen=True)
class Slice:
    """What a complete answer covers: these areas × these years of the series it was asked for."""

    areas: Collection[str]
    years: Collection[int]


@dataclass(frozen=True)
class MergeResult:
    values: pd.DataFrame
    revisions: pd.DataFrame
    added: int
    changed: int
    removed: int
    lost: int  # stored values removed or turned into "no value"

    @property
    def touched(self) -> bool:
        return bool(self.added or self.changed or self.removed)


def conflicting(incoming: pd.DataFrame) -> pd.DataFrame:
    """Rows of one answer that share a key with another row of it but not its content: two pages that
    disagree about one value. The merge would keep the last one silently; neither can be trusted."""
    repeated = incoming[incoming.duplicated(KEY, keep=False)].drop_duplicates()
    return repeated[repeated.duplicated(KEY, keep=False)]


def losses_suspicious(result: MergeResult, stored: pd.DataFrame) -> bool:
    """True when the merge would remove or empty more than the share a real revision plausibly does."""
    have = int(stored["value"].notna().sum()) if len(stored) else 0
    return result.lost > LOSS_ALLOWANCE + MAX_LOSS_SHARE * have


def _same(old: pd.Series, new: pd.Series) -> np.ndarray:
    """Equal, counting missing == missing as equal (a null value is the source's 'no value')."""
    return ((old == new).fillna(False) | (old.isna() & new.isna())).to_numpy(dtype=bool)


def _in_slice(frame: pd.DataFrame, where: Slice) -> np.ndarray:
    return (frame["municipality_id"].isin(list(where.areas)) & frame["period"].isin(list(where.years))).to_numpy()


def merge_values(stored: pd.DataFrame, incoming: pd.DataFrame, fetched_at: pd.Timestamp, run_id: str,
                 complete: Slice | None = None) -> MergeResult:
    """Apply `incoming` (schema.ROWS columns) to `stored` (schema.VALUES columns) for one series.

    With `complete`, `incoming` is the whole truth for that slice: stored rows inside it that the
    answer does not hold are removed and recorded as `removed`.
    """
    if incoming.empty and complete is None:  # no changes since the last harvest: the nightly common case
        return MergeResult(stored, _revisions_frame(None, fetched_at, run_id), 0, 0, 0, 0)
    incoming = incoming.drop_duplicates(KEY, keep="last")
    deleted_flag = incoming["isdeleted"].astype(bool)
    if stored.empty:  # the first harvest of a series: everything is new, nothing to compare or delete
        fresh = incoming.loc[~deleted_flag].drop(columns="isdeleted").assign(fetched_at=fetched_at)
        fresh = fresh.sort_values(["municipality_id", "period", "gender"], kind="stable").reset_index(drop=True)
        return MergeResult(fresh[schema.VALUES.names], _revisions_frame(None, fetched_at, run_id), len(fresh), 0, 0, 0)
    deleted = incoming.loc[deleted_flag, KEY]
    live = incoming.loc[~deleted_flag].drop(columns="isdeleted")
    both = stored.merge(live, on=KEY, how="outer", suffixes=("_old", ""), indicator=True)
    is_new = (both["_merge"] == "right_only").to_numpy()
    in_both = (both["_merge"] == "both").to_numpy()
    same_value = _same(both["value_old"], both["value"])
    same_row = same_value & _same(both["count_old"], both["count"]) & _same(both["status_old"], both["status"])
    replace = is_new | (in_both & ~same_row)

    merged = pd.DataFrame({k: both[k] for k in KEY})
    for col in _CARRIED:
        merged[col] = both[col].where(replace, both[f"{col}_old"])
    merged["fetched_at"] = both["fetched_at"].where(~replace, fetched_at)

    tombstoned = merged.merge(deleted, on=KEY, how="left", indicator=True)["_merge"].eq("both").to_numpy()
    absent = (both["_merge"] == "left_only").to_numpy() & (_in_slice(both, complete) if complete else False)
    gone = tombstoned | absent
    revised = both.loc[in_both & ~same_value]
    removed_rows = merged.loc[gone]
    revisions = pd.concat([
        pd.DataFrame({**{k: revised[k] for k in KEY}, "old_value": revised["value_old"],
                      "new_value": revised["value"], "change": "changed"}),
        pd.DataFrame({**{k: removed_rows[k] for k in KEY}, "old_value": removed_rows["value"],
                      "new_value": np.nan, "change": "removed"}),
    ], ignore_index=True)
    nulled = in_both & both["value_old"].notna().to_numpy() & both["value"].isna().to_numpy()
    lost = int((gone & merged["value"].notna().to_numpy()).sum() + nulled.sum())
    merged = merged.loc[~gone].sort_values(["municipality_id", "period", "gender"], kind="stable").reset_index(drop=True)
    return MergeResult(values=merged[schema.VALUES.names],
                       revisions=_revisions_frame(revisions if len(revisions) else None, fetched_at, run_id),
                       added=int(is_new.sum()), changed=int((in_both & ~same_row).sum()), removed=int(gone.sum()),
                       lost=lost)


def _revisions_frame(rev: pd.DataFrame | None, detected_at: pd.Timestamp, run_id: str) -> pd.DataFrame:
    if rev is None:
        return schema.REVISIONS.empty_table().to_pandas()
    rev = rev.assign(detected_at=detected_at, run_id=run_id)
    return rev[schema.REVISIONS.names].reset_index(drop=True)
