"""Does the conclusion hold whichever reasonable set is chosen? The home against the median of every set.

"Vi ligger över medianen" is only worth writing into a plan if it does not depend on which peers
were picked. So each indicator's home value is set against the median of each comparison the
config has on its own (every Kolada group, every computed set, the added municipalities) and
against Riket, year by year; the summary line counts in how many of them the home is above.

Pure: DataFrames in, DataFrames out (the report writes `robustness.parquet` and the sentences).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .compare import ComparisonSet
from .config import Indicator
from .render.numbers import format_number

HIGHER, LOWER, EQUAL = "högre", "lägre", "lika"
COLUMNS = ["indicator", "kpi", "set", "set_id", "period", "home_value", "median", "n", "position"]


@dataclass(frozen=True)
class Comparison:
    """One set to stand against: its name in the documents, an id for analysts, and its members (or Riket)."""

    title: str
    set_id: str
    member_ids: tuple[str, ...]


def comparisons(chosen: ComparisonSet, riket_id: str | None) -> list[Comparison]:
    """Every group of the configured comparison on its own, the added municipalities, and Riket."""
    found = [Comparison(g.title, g.group_id, tuple(m for m in g.member_ids if m != chosen.home_id))
             for g in chosen.groups]
    if chosen.extra_ids:
        found.append(Comparison("tillagda kommuner", "municipalities", tuple(chosen.extra_ids)))
    if riket_id is not None:
        found.append(Comparison("Riket", riket_id, (riket_id,)))
    return found


def positions(values: pd.DataFrame, indicator: Indicator, home_id: str, sets: Sequence[Comparison]) -> pd.DataFrame:
    """Per set and year with a home value: the set's median (Riket: its value), how many had a value, and
    whether the home is higher, lower or equal.

    Every set's medians come from one groupby over (set, year): a big compare asks this of each of
    its indicators, and a groupby per set cost more than the medians themselves."""
    mine = values[(values["kpi"] == indicator.series_id) & (values["gender"] == indicator.gender) & values["value"].notna()]
    codes, uniques = pd.factorize(mine["municipality_id"])
    period = mine["period"].to_numpy(dtype="int64")
    value = mine["value"].to_numpy(dtype="float64")
    at_home = (mine["municipality_id"] == home_id).to_numpy()
    home = pd.Series(value[at_home], index=period[at_home])
    chosen = [np.flatnonzero(uniques.isin(list(s.member_ids))[codes]) for s in sets]
    picked = np.concatenate(chosen) if chosen else np.array([], dtype="int64")
    which = np.repeat(np.arange(len(sets), dtype="int64"), [len(c) for c in chosen])
    span = int(period.max()) + 1 if len(period) else 1  # one int key per (set, year), grouped in their order
    stats = pd.Series(value[picked]).groupby(which * span + period[picked]).agg(["median", "count"])
    at, year = np.divmod(stats.index.to_numpy(), span)
    kept = np.isin(year, home.index.to_numpy())
    if not kept.any():
        return pd.DataFrame(columns=COLUMNS)
    stats, at, year = stats[kept], at[kept], year[kept]
    home_value, median = home.reindex(year).to_numpy(), stats["median"].to_numpy()
    texts = {"indicator": [indicator.id] * len(stats), "kpi": [indicator.series_id] * len(stats),
             "set": [sets[i].title for i in at], "set_id": [sets[i].set_id for i in at],
             "position": np.select([home_value > median, home_value < median], [HIGHER, LOWER], EQUAL)}
    numbers = {"period": year.astype("int64"), "home_value": home_value, "median": median,
               "n": stats["count"].to_numpy(dtype="int64")}
    return pd.DataFrame({c: pd.Series(texts[c], dtype="str") if c in texts else numbers[c] for c in COLUMNS})


def sentence(rows: pd.DataFrame, home_title: str, decimals: int) -> str:
    """"Sala 2022: högre än medianen i 3 av 3 jämförelser (…: 904; …; Riket: 828)." for the latest year of `rows`."""
    if rows.empty:
        return ""
    year = int(rows["period"].max())
    latest = rows[rows["period"] == year]
    counts = latest["position"].value_counts()
    most = HIGHER if counts.get(HIGHER, 0) >= counts.get(LOWER, 0) else LOWER
    others = [f"{counts[p]} {p}" for p in (HIGHER, LOWER, EQUAL) if p != most and counts.get(p, 0)]
    beside = "; ".join(f"{r.set}: {format_number(r.median, decimals)}" for r in latest.itertuples())
    return (f"Robusthet, {home_title} {year}: {most} än medianen i {counts.get(most, 0)} av {len(latest)} jämförelser"
            f"{' (' + ', '.join(others) + ')' if others else ''}; median per jämförelse: {beside}.")
