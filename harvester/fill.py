"""`fill`: another indicator's values stand in for the years an indicator's own source lacks.

A plan author has the committee's own figure for a year Kolada has not published yet. With
`fill = "<indicator>"` the table shows it where the source has no value, and says so; once the
source publishes, the source wins, and where the two differ the footnote gives both. Pure: the
stored values in, the combined values and the footnotes out (the reader must never mistake the
author's figure for the source's).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .config import Indicator
from .render.numbers import format_plain

KEY = ["municipality_id", "period"]
LISTED = 12  # municipality-years named in a footnote before "och N till"


@dataclass(frozen=True)
class Filled:
    values: pd.DataFrame  # the indicator's stored rows, plus the other's where they lack a value
    filled: pd.DataFrame  # municipality_id, period: cells taken from the other indicator
    differing: pd.DataFrame  # municipality_id, period, value, other_value: both have one, and they differ


def fill_values(own: pd.DataFrame, other: pd.DataFrame, indicator: Indicator, part: Indicator) -> Filled:
    """`own` (the indicator's stored rows) with `part`'s values (its series and gender) where `own` has none."""
    mine = own[own["kpi"] == indicator.series_id]
    theirs = other[(other["kpi"] == part.series_id) & (other["gender"] == part.gender) & other["value"].notna()]
    theirs = theirs.assign(kpi=indicator.series_id, gender=indicator.gender)
    same_gender = (mine["gender"] == indicator.gender).to_numpy()
    have = mine[same_gender & mine["value"].notna().to_numpy()]
    both = theirs.merge(have[[*KEY, "value"]], on=KEY, how="left", suffixes=("", "_own"), indicator=True)
    take = (both["_merge"] == "left_only").to_numpy()
    taken = theirs[take]
    differs = ~take & ~np.isclose(both["value"], both["value_own"], rtol=1e-12, atol=0)
    differing = pd.DataFrame({"municipality_id": both.loc[differs, "municipality_id"],
                              "period": both.loc[differs, "period"], "value": both.loc[differs, "value_own"],
                              "other_value": both.loc[differs, "value"]})
    empty_here = same_gender & mine["value"].isna().to_numpy()  # the source's "no value" rows give way
    replaced = pd.MultiIndex.from_frame(mine[KEY]).isin(pd.MultiIndex.from_frame(taken[KEY])) & empty_here
    values = pd.concat([mine[~replaced], taken[mine.columns]], ignore_index=True)
    return Filled(values.sort_values([*KEY, "gender"], kind="stable").reset_index(drop=True),
                  taken[KEY].reset_index(drop=True), differing.reset_index(drop=True))


def _cells(frame: pd.DataFrame, titles: dict[str, str], detail: str | None = None) -> str:
    """"Eskilstuna 2023, 2024; Sala 2023" — by name, at most LISTED municipality-years."""
    named = frame.assign(title=frame["municipality_id"].map(titles).fillna(frame["municipality_id"]))
    ordered = named.sort_values(["title", "period"], kind="stable")
    shown = ordered.head(LISTED)
    parts = []
    for _, rows in shown.groupby("municipality_id", sort=False):
        years = ", ".join(str(int(r.period)) + (f" ({getattr(r, detail)})" if detail else "")
                          for r in rows.itertuples())
        parts.append(f"{rows['title'].iloc[0]} {years}")
    more = len(ordered) - len(shown)
    return "; ".join(parts) + (f" och {more} till" if more else "")


def fill_notes(result: Filled, titles: dict[str, str], own: str, other: str, reference: str) -> list[str]:
    """The footnotes: which values are the other source's (`other`, e.g. "egen statistik", with its
    `reference`, e.g. "fil egna.csv"), and where the two disagree (`own`: the indicator's source)."""
    notes = []
    cited = f"{other} ({reference})"
    if len(result.filled):
        notes.append(f"Där {own} saknar värde visas {cited}: {_cells(result.filled, titles)}.")
    if len(result.differing):
        pairs = zip(result.differing["value"], result.differing["other_value"])
        both = result.differing.assign(shown=[f"{own} {format_plain(a)}, {other} {format_plain(b)}" for a, b in pairs])
        notes.append(f"{cited[0].upper()}{cited[1:]} skiljer sig från {own} för {_cells(both, titles, 'shown')}; "
                     f"tabellerna visar värdet från {own}.")
    return notes
