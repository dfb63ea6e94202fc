"""Similar municipalities, computed in the open: the method of docs/similar.md and nothing else.

Kolada's "Liknande kommuner" groups come as seven names without a reason, and the search on
kolada.se that makes them has no published formula. This module is the reproducible version a
committee can check by hand: every kommun with a value for each structural KPI in one year, the
KPIs listed in `log` taken as natural logarithms, each KPI standardised over those kommuner
(population standard deviation), and the weighted root-mean-square of the z differences as the
distance to the home. The n nearest others, ties broken by kommun id, are the set.

Pure: DataFrames in, DataFrames out. Fetching, printing and storing live at the edges
(`similar_run`, the command line, the report).
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .errors import ConfigError

KOMMUN = "K"  # Kolada's municipality type of a kommun; Riket and the regions are "L", groups are no municipality
GENDER = "T"  # structure is measured for everyone, never for women or men alone
DEFAULT_N = 7  # as many as Kolada's own "Liknande kommuner" groups hold
YEAR_COVERAGE = 0.9  # without a year: the latest in which this share of kommuner has every KPI
KPI_COVERAGE = 0.5  # a KPI with values for fewer kommuner than this share cannot place a kommun among the rest
TIE_DECIMALS = 12  # distances equal to this many decimals are ties (floating point must not pick the peer)


class SimilarError(ConfigError):
    """A recipe or its data cannot give a similar set; worded for the person who wrote the recipe."""


@dataclass(frozen=True)
class Recipe:
    """What a computed set is made of; stored beside the set so a later run can say why it changed."""

    kpis: tuple[str, ...]
    log: tuple[str, ...] = ()
    weights: tuple[tuple[str, float], ...] = ()  # (kpi, weight) pairs; an unlisted KPI weighs 1
    year: int | None = None
    n: int = DEFAULT_N

    def weight(self, kpi: str) -> float:
        return dict(self.weights).get(kpi, 1.0)

    def describe(self) -> str:
        """The recipe in one line, as a footnote or a log line cites it."""
        parts = [f"kpis={','.join(self.kpis)}"]
        if self.log:
            parts.append(f"log={','.join(self.log)}")
        if self.weights:
            parts.append("weights=" + ",".join(f"{k}:{w:g}" for k, w in self.weights))
        parts.append(f"year={self.year if self.year is not None else 'latest'}")
        parts.append(f"n={self.n}")
        return " ".join(parts)


def make_recipe(kpis: Sequence[str], log: Sequence[str] = (), weights: Mapping[str, object] | None = None,
                year: object = None, n: object = DEFAULT_N, where: str = "similar") -> Recipe:
    """A checked Recipe from what a person wrote (command line or config); `where` prefixes every message."""
    wanted = tuple(dict.fromkeys(k.strip().upper() for k in kpis if k.strip()))
    if not wanted:
        raise SimilarError(f"{where}: name at least one KPI, e.g. kpis = [\"N01951\", \"N02926\", \"N03920\"]")
    for key, listed in (("log", log), ("weights", list(weights or {}))):
        stray = [k for k in listed if k.strip().upper() not in wanted]
        if stray:
            raise SimilarError(f"{where}: {key} names {', '.join(stray)}, which is not among the KPIs "
                               f"({', '.join(wanted)})")
    checked: list[tuple[str, float]] = []
    for kpi, weight in (weights or {}).items():
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not math.isfinite(weight) or weight <= 0:
            raise SimilarError(f"{where}: the weight of {kpi} is {weight!r}; a weight is a number above 0 (1 = equal)")
        checked.append((kpi.strip().upper(), float(weight)))
    if year is not None and (isinstance(year, bool) or not isinstance(year, int)):
        raise SimilarError(f"{where}: year {year!r} is not a year like 2022 (leave it out for the latest covered year)")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise SimilarError(f"{where}: n = {n!r}; n is how many similar kommuner to take, a whole number of at least 1")
    return Recipe(kpis=wanted, log=tuple(dict.fromkeys(k.strip().upper() for k in log)), weights=tuple(checked),
                  year=year, n=n)


@dataclass(frozen=True)
class Space:
    """The standardised structure of every candidate kommun in one year: what every home's distances use."""

    recipe: Recipe
    year: int
    raw: pd.DataFrame  # candidate kommun × KPI, the values as stored
    z: pd.DataFrame  # candidate kommun × KPI, after log and standardisation
    left_out: tuple[str, ...]  # kommuner without a value for some KPI in the year
    values: pd.DataFrame = field(repr=False)  # the recipe's rows of every year, for the home's error message

    def nearest(self, home: str) -> "Similar":
        """The recipe's n nearest other kommuner to `home`, with distances and each KPI's share of them."""
        if home not in self.z.index:
            raise SimilarError(self._home_missing(home))
        others = self.z.index[self.z.index != home]
        if self.recipe.n > len(others):
            raise SimilarError(f"n = {self.recipe.n} but only {len(others)} other kommuner have every KPI in "
                               f"{self.year}; choose n between 1 and {len(others)}")
        w = np.array([self.recipe.weight(k) for k in self.recipe.kpis])
        terms = w * (self.z.loc[others].to_numpy() - self.z.loc[home].to_numpy()) ** 2 / w.sum()
        squared = terms.sum(axis=1)
        order = pd.DataFrame({"municipality_id": others, "distance": np.sqrt(squared)})
        order["tie"] = order["distance"].round(TIE_DECIMALS)
        chosen = order.sort_values(["tie", "municipality_id"], kind="stable").head(self.recipe.n)
        position = {m: i for i, m in enumerate(others)}
        rows = []
        for rank, (mid, distance) in enumerate(zip(chosen["municipality_id"], chosen["distance"]), start=1):
            i = position[mid]
            for j, kpi in enumerate(self.recipe.kpis):
                rows.append({"rank": rank, "municipality_id": mid, "distance": float(distance), "kpi": kpi,
                             "home_value": float(self.raw.at[home, kpi]), "value": float(self.raw.at[mid, kpi]),
                             "share": float(terms[i, j] / squared[i]) if squared[i] > 0 else math.nan})
        return Similar(home=home, year=self.year, recipe=self.recipe, candidates=len(self.z),
                       left_out=self.left_out, contributions=pd.DataFrame(rows, columns=CONTRIBUTION_COLUMNS))

    def _home_missing(self, home: str) -> str:
        mine = self.values[self.values["municipality_id"] == home]
        now = mine[mine["period"] == self.year]
        lacking = [k for k in self.recipe.kpis if k not in set(now["kpi"])]
        parts = []
        for kpi in lacking:
            years = sorted(mine.loc[mine["kpi"] == kpi, "period"].astype(int).unique())
            parts.append(f"{kpi} has no value for {home} in {self.year} "
                         f"({'years with a value: ' + _spans(years) if years else 'no year has a value'})")
        return "; ".join(parts) or f"{home} is not a kommun with values in {self.year}"


CONTRIBUTION_COLUMNS = ["rank", "municipality_id", "distance", "kpi", "home_value", "value", "share"]


@dataclass(frozen=True)
class Similar:
    """One home's computed set: `contributions` has a row per peer × KPI (share = the KPI's part of distance²)."""

    home: str
    year: int
    recipe: Recipe
    candidates: int
    left_out: tuple[str, ...]
    contributions: pd.DataFrame

    @property
    def peers(self) -> pd.DataFrame:
        """rank, municipality_id, distance: the set itself, nearest first."""
        return self.contributions.drop_duplicates("rank")[["rank", "municipality_id", "distance"]].reset_index(drop=True)


def _spans(years: Sequence[int]) -> str:
    """2015–2019, 2021: the years that have a value, as a person reads them."""
    spans: list[list[int]] = []
    for y in years:
        if spans and y == spans[-1][1] + 1:
            spans[-1][1] = y
        else:
            spans.append([y, y])
    return ", ".join(f"{a}–{b}" if b > a else f"{a}" for a, b in spans)


def kommuner(municipalities: pd.DataFrame) -> list[str]:
    """The ids of Kolada's catalogue that are kommuner: never Riket, a region or a group."""
    return sorted(municipalities.loc[municipalities["type"] == KOMMUN, "id"].astype(str))


def _wide(values: pd.DataFrame, ids: Sequence[str], kpis: Sequence[str]) -> pd.DataFrame:
    """kommun × KPI × year, values present only (one row per kommun and year)."""
    rows = values[(values["gender"] == GENDER) & values["municipality_id"].isin(ids) & values["kpi"].isin(kpis)
                  & values["value"].notna()]
    return rows.pivot_table(index=["period", "municipality_id"], columns="kpi", values="value", aggfunc="first")


def covered_year(values: pd.DataFrame, municipalities: pd.DataFrame, kpis: Sequence[str]) -> int:
    """The latest year in which at least 90 % of the kommuner have a value for every KPI."""
    ids = kommuner(municipalities)
    wide = _wide(values, ids, kpis).reindex(columns=list(kpis))
    complete = wide.notna().all(axis=1).groupby(level="period").sum() if len(wide) else pd.Series(dtype=int)
    good = [int(y) for y, count in complete.items() if count >= YEAR_COVERAGE * len(ids)]
    if good:
        return max(good)
    best = f"; the best is {int(complete[::-1].idxmax())} with {int(complete.max())}" if len(complete) else ""
    raise SimilarError(f"no year has every KPI ({', '.join(kpis)}) for at least {YEAR_COVERAGE:.0%} of the "
                       f"{len(ids)} kommuner{best}; name a year, or leave out the KPI that is missing most")


def space(values: pd.DataFrame, municipalities: pd.DataFrame, recipe: Recipe) -> Space:
    """Standardise the recipe's KPIs over every kommun that has them all in the recipe's (or the covered) year.

    `values` has the dataset's columns (kpi, municipality_id, period, gender, value); `municipalities`
    Kolada's catalogue (id, type).
    """
    ids = kommuner(municipalities)
    year = recipe.year if recipe.year is not None else covered_year(values, municipalities, recipe.kpis)
    mine = values[values["kpi"].isin(recipe.kpis) & (values["gender"] == GENDER) & values["value"].notna()]
    wide = _wide(mine, ids, recipe.kpis)
    wide = (wide.xs(year, level="period") if year in wide.index.get_level_values("period") else wide.iloc[0:0].droplevel(0))
    wide = wide.reindex(columns=list(recipe.kpis))
    for kpi in recipe.kpis:
        have = int(wide[kpi].notna().sum())
        if have < KPI_COVERAGE * len(ids):
            years = sorted(mine.loc[(mine["kpi"] == kpi) & mine["municipality_id"].isin(ids), "period"].unique())
            raise SimilarError(f"{kpi} has values for {have} of {len(ids)} kommuner in {year}, fewer than half; "
                               f"{'years with values: ' + _spans([int(y) for y in years]) if years else 'it has no values'}"
                               " (choose another year or KPI)")
    raw = wide.dropna().sort_index()
    left_out = tuple(m for m in ids if m not in raw.index)
    x = raw.copy()
    for kpi in recipe.log:
        low = raw[kpi][raw[kpi] <= 0]
        if len(low):
            raise SimilarError(f"log of {kpi} is impossible: {low.index[0]} has {low.iloc[0]:g} in {year} (a logarithm "
                               "needs values above 0); leave it out of log")
        x[kpi] = np.log(raw[kpi])
    spread = x.std(ddof=0).replace(0.0, np.nan)  # a KPI equal for all cannot tell kommuner apart: z = 0
    z = ((x - x.mean()) / spread).fillna(0.0)
    return Space(recipe=recipe, year=int(year), raw=raw, z=z, left_out=left_out, values=mine)


def nearest(values: pd.DataFrame, municipalities: pd.DataFrame, home: str, recipe: Recipe) -> Similar:
    """The computed set of one home (for many homes, make the `space` once and ask it)."""
    return space(values, municipalities, recipe).nearest(home)
