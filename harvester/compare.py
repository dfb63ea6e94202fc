"""Comparison statistics: the home municipality against its comparison set and Riket.

Pure functions over DataFrames read from the dataset (docs/schema.md): no files, no network, so
every figure a plan author pastes can be recomputed by hand from a handful of rows in a test.

Definitions, chosen once here so that tables, charts and the analysts' files agree:

- The comparison set: the members of the latest vintage of each configured group plus the extra
  municipalities, without the home municipality. The home municipality is ranked among itself and
  the peers that have a value for the year.
- `rank`: 1 = best by the indicator's `direction`; rank = 1 + the number of ranked municipalities
  that are strictly better, so ties share the better rank. `rank_of` = how many were ranked.
  No rank when `direction = "none"`, nor in a year where fewer than two of them have a value.
- `is_latest` marks the year the latest-year comparison is made on: the last year in which the home
  and the set both have values, else the home's last year (`latest_year`).
- `percentile`: 100 × (peers with a value that the home municipality is strictly better than) /
  (peers with a value), 0–100; none without a rank or without peers.
- Quartiles `peer_q1`, `peer_q3`: pandas' default linear interpolation (numpy "linear", Excel
  QUARTILE.INC). `peer_mean` is unweighted: each municipality counts once, whatever its size.
- `diff_to_median` = home − median; `diff_to_median_pct` = 100 × (home − median) / |median|, so the
  sign always says above (+) or below (−) the median, also for negative values. It is left empty
  when the median is zero or near it (|median| at most `NEAR_ZERO` = 1 % of the largest absolute
  value compared that year), where a percentage would be meaningless or huge.
- `target` is the configured value, or for `target = "median"` the set's median of each year (so
  `gap_to_target` = `diff_to_median` there); none for a target in words. `gap_to_target` = home −
  target, whatever the direction: with "lower is better" a positive gap means the target is not
  reached yet, with "higher is better" a negative one does.
- `quartile`: the home's position among the ranked (itself and its peers with a value, n of them,
  rank r): "best" for r ≤ ⌈n/4⌉, "worst" for r > n − ⌈n/4⌉, "middle" between; none without a rank
  or with fewer than two ranked, as Kolada's Jämföraren colours it.
- `change_since_first` = home − home in the first listed year with a home value;
  `change_since_previous` = home − home in the calendar year before (none when that year has no
  home value, so a gap in the series never passes for a one-year change).
- Missing stays missing (NaN / <NA>), never zero. Only rows of the indicator's gender are used.
- A ratio indicator = numerator / denominator × scale per municipality and year, each part read as
  its own indicator is configured (its series and gender). A zero denominator gives no value (never
  infinity); `ratio_values` says where, for a footnote.
"""
from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .config import Indicator, MedianTarget, Target
from .names import RIKET
from .similar_spec import GROUP_PREFIX as COMPUTED_GROUP
from .units import kolada_unit

HOME, PEER, RIKET_ROLE = "home", "peer", "riket"

PEER_COLUMNS = ["indicator", "kpi", "gender", "period", "municipality_id", "role", "value", "rank", "rank_of"]
BENCHMARK_COLUMNS = [
    "indicator", "kpi", "label", "gender", "direction", "home_id", "period", "is_latest",
    "home_value", "peer_median", "peer_mean", "peer_min", "peer_max", "peer_q1", "peer_q3",
    "peer_n", "peer_missing", "rank", "rank_of", "percentile", "riket",
    "target", "target_year", "gap_to_target", "diff_to_median", "diff_to_median_pct",
    "change_since_first", "change_since_previous", "quartile",
]
_INT_COLUMNS = ("peer_n", "peer_missing", "rank", "rank_of", "target_year")
NEAR_ZERO = 0.01


@dataclass(frozen=True)
class GroupVintage:
    """One configured group as the latest harvest that changed it saw it."""

    group_id: str
    title: str
    read_at: pd.Timestamp
    member_ids: tuple[str, ...]


@dataclass(frozen=True)
class ComparisonSet:
    """Who the home municipality is compared with, and the words that say so in a table.

    `title` is short enough for a heading; `description` names every group, its vintage and every
    member, because a plan read years later must say exactly which municipalities were meant.
    """

    home_id: str
    peer_ids: tuple[str, ...]
    groups: tuple[GroupVintage, ...]
    extra_ids: tuple[str, ...]
    title: str
    description: str


def comparison_set(groups: pd.DataFrame, group_ids: Sequence[str], extra_ids: Sequence[str], home_id: str,
                   titles: Mapping[str, str], name: str | None = None) -> ComparisonSet:
    """Members of the latest vintage of each group plus the extras, minus the home municipality.

    Kolada keeps a group's id while its members change, so older vintages in the `groups` table
    describe a comparison nobody asked for any more. Raises ValueError for a group id that is not
    in the table. `titles` maps municipality ids to names (for the extras and the description).
    `extra_ids` of the result keeps only municipalities the groups do not already hold, so the
    description names each municipality once. `name`, the config's words for the set, is its title.
    """
    vintages = []
    for gid in dict.fromkeys(group_ids):
        rows = groups[groups["group_id"] == gid]
        if rows.empty:
            raise ValueError(f"comparison group {gid} is not in the stored groups table")
        latest = rows[rows["read_at"] == rows["read_at"].max()]
        vintages.append(GroupVintage(group_id=gid, title=group_name(str(latest["title"].iloc[0])),
                                     read_at=latest["read_at"].iloc[0],
                                     member_ids=tuple(dict.fromkeys(latest["member_id"].astype(str)))))
    names = dict(zip(groups["member_id"].astype(str), groups["member_title"].astype(str))) | dict(titles)
    members = [m for g in vintages for m in g.member_ids]
    extras = tuple(dict.fromkeys(e for e in extra_ids if e != home_id and e not in members))
    peers = tuple(m for m in dict.fromkeys(members + list(extras)) if m != home_id)
    return ComparisonSet(home_id=home_id, peer_ids=peers, groups=tuple(vintages), extra_ids=extras,
                         title=name or _set_title(vintages, extras, names),
                         description=(f"{name}: " if name else "")
                         + _set_description(vintages, extras, peers, home_id, names))


# Kolada's group titles say how Kolada averages the group as an area of its own ("SmåKom (ovägt medel)");
# beside our median, computed over the members, those words would claim a statistic we never show.
KOLADA_AVERAGE = re.compile(r"\s*\((?:o?vägt) medel\)\s*$", re.IGNORECASE)


def group_name(kolada_title: str) -> str:
    """A Kolada group's title as our tables name the set: without Kolada's "(ovägt medel)"."""
    return KOLADA_AVERAGE.sub("", kolada_title) or kolada_title


def join_sv(items: Sequence[str]) -> str:
    """"A, B och C", as Swedish lists are written in titles and notes."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " och " + items[-1]


def _set_title(groups: Sequence[GroupVintage], extras: Sequence[str], names: Mapping[str, str]) -> str:
    parts = [g.title for g in groups]
    if extras:
        parts.append(join_sv([names.get(e, e) for e in extras]) if len(extras) <= 3 else f"{len(extras)} andra kommuner")
    return join_sv(parts) if parts else "inga kommuner"


def _origin(group: GroupVintage) -> str:
    """Whose group it is: Kolada's (as Kolada last listed it) or one we computed (docs/similar.md)."""
    if group.group_id.startswith(COMPUTED_GROUP):
        return f"beräknade {group.read_at:%Y-%m-%d} ur Koladas värden; avstånd och nyckeltal i bilagan"
    return f"Koladas kommungrupp {group.group_id}, medlemmar enligt Kolada {group.read_at:%Y-%m-%d}"


def _set_description(groups: Sequence[GroupVintage], extras: Sequence[str], peers: Sequence[str], home_id: str,
                     names: Mapping[str, str]) -> str:
    parts = [f"{g.title} ({_origin(g)})" for g in groups]
    if extras:
        parts.append("tillagda kommuner " + join_sv([names.get(e, e) for e in extras]))
    home_in_group = any(home_id in g.member_ids for g in groups)
    listed = join_sv([names.get(p, p) for p in peers]) if peers else "inga"
    return (f"{join_sv(parts) if parts else 'inga kommuner'}; {len(peers)} kommuner: {listed}"
            + (f" ({names.get(home_id, home_id)} själv räknas inte in)" if home_in_group else ""))


def _years_listed(rows: pd.DataFrame, years: Iterable[int] | None) -> list[int]:
    """Every year from the first to the last in which anyone compared has a value (within `years`).

    Years inside that span stay listed even when empty, so a gap in Kolada's series shows as a
    gap instead of two distant years passing for neighbours.
    """
    wanted = set(years) if years is not None else None
    found = [p for p in rows.loc[rows["value"].notna(), "period"].astype(int) if wanted is None or p in wanted]
    if not found:
        return []
    span = range(min(found), max(found) + 1)
    return [p for p in span if wanted is None or p in wanted]


def peer_values(values: pd.DataFrame, indicator: Indicator, home_id: str, peer_ids: Sequence[str],
                riket_id: str | None = RIKET, years: Iterable[int] | None = None, ranking: bool = True) -> pd.DataFrame:
    """The value of the home municipality, each peer and Riket per listed year, with yearly ranks.

    One row per year × municipality, a missing value included as NaN (a peer without a value is
    news for the reader, not a row to drop). `role` is home, peer or riket; Riket is not ranked,
    nor is anyone when `ranking` is false (a count that grows with population, see `units.ranked`).
    The grid is a years × municipalities matrix in numpy: a big compare makes one per indicator,
    and pandas' merge and groupby cost a few milliseconds each on a few thousand rows.
    """
    roles = {home_id: HOME, **{p: PEER for p in peer_ids if p != home_id}}
    if riket_id is not None and riket_id not in roles:
        roles[riket_id] = RIKET_ROLE
    ids = list(roles)
    mine = values[(values["kpi"] == indicator.series_id) & (values["gender"] == indicator.gender)
                  & values["municipality_id"].isin(ids)]
    listed = _years_listed(mine, years)
    grid = np.full((len(listed), len(ids)), np.nan)
    row = pd.Index(listed, dtype="int64").get_indexer(mine["period"].astype("int64"))
    column = pd.Index(ids).get_indexer(mine["municipality_id"])
    inside = row >= 0  # a stored year outside the listed ones is not shown
    grid[row[inside], column[inside]] = mine["value"].to_numpy(dtype="float64", na_value=np.nan)[inside]
    role = np.array([roles[m] for m in ids], dtype=object)
    rank = np.full(grid.shape, -1, dtype="int64")  # -1: no rank
    rank_of = np.full(grid.shape, -1, dtype="int64")
    if ranking and indicator.direction != "none":
        rankable = np.isin(role, [HOME, PEER])
        for y, year in enumerate(grid):
            ranked = rankable & ~np.isnan(year)
            # A year where the home alone has a value (one filled from the author's own figures) ranks nothing: "1 av 1".
            if ranked.sum() < 2:
                continue
            ordered = np.sort(year[ranked])
            # rank = 1 + how many are strictly better, so ties share the better rank (pandas' method "min")
            better = (np.searchsorted(ordered, year[ranked], side="left") if indicator.direction == "lower"
                      else len(ordered) - np.searchsorted(ordered, year[ranked], side="right"))
            rank[y, ranked] = better + 1
            rank_of[y, ranked] = len(ordered)
    n = grid.size

    def text(value: object) -> pd.Series:
        return pd.Series(np.full(n, value, dtype=object), dtype="str")

    return pd.DataFrame({
        "indicator": text(indicator.id), "kpi": text(indicator.series_id), "gender": text(indicator.gender),
        "period": np.repeat(np.asarray(listed, dtype="int64"), len(ids)),
        "municipality_id": pd.Series(np.tile(np.asarray(ids, dtype=object), len(listed)), dtype="str"),
        "role": pd.Series(np.tile(role, len(listed)), dtype="str"),
        "value": grid.ravel(),
        "rank": _int_or_na(rank.ravel()), "rank_of": _int_or_na(rank_of.ravel())})


def _int_or_na(values: np.ndarray) -> pd.arrays.IntegerArray:
    """Whole numbers with -1 as missing, as a nullable Int64 column."""
    return pd.arrays.IntegerArray(np.where(values < 0, 0, values), values < 0)


def _year_stats(rows: pd.DataFrame, direction: str, n_peers: int, ranking: bool = True) -> pd.DataFrame:
    """Per year of `peer_values` rows: the home value, the peers' spread, rank, percentile and Riket.

    Computed for all years at once, since a compare of 168 indicators against 290 municipalities
    must not loop over years in Python: the median, mean and quartiles by one pandas groupby
    (their own summation and interpolation, as documented), the rest in numpy per year index.
    """
    period = rows["period"].to_numpy(dtype="int64")
    role = rows["role"].to_numpy(dtype=object)
    value = rows["value"].to_numpy(dtype="float64", na_value=np.nan)
    years = np.unique(period)
    at = np.searchsorted(years, period)
    home, riket, peer = role == HOME, role == RIKET_ROLE, (role == PEER) & ~np.isnan(value)

    def per_year(mask: np.ndarray, column: np.ndarray) -> np.ndarray:
        out = np.full(len(years), np.nan)
        out[at[mask]] = column[mask]
        return out

    home_value = per_year(home, value)
    index = pd.Index(years, name="period")
    spread = pd.Series(value[peer], index=pd.Index(period[peer], name="period")).groupby(level=0)
    middle = spread.agg(["median", "mean"]).reindex(index)
    q1, q3 = (spread.quantile(q).reindex(index).to_numpy() for q in (0.25, 0.75))
    peer_n = np.bincount(at[peer], minlength=len(years))
    lowest, highest, largest = (np.full(len(years), np.inf), np.full(len(years), -np.inf), np.zeros(len(years)))
    np.minimum.at(lowest, at[peer], value[peer])
    np.maximum.at(highest, at[peer], value[peer])
    np.maximum.at(largest, at[peer], np.abs(value[peer]))
    has_peers = peer_n > 0
    median = middle["median"].to_numpy()
    ranked = ranking and direction != "none"
    if ranked:
        rank = per_year(home, rows["rank"].to_numpy(dtype="float64", na_value=np.nan))
        rank_of = per_year(home, rows["rank_of"].to_numpy(dtype="float64", na_value=np.nan))
        against = home_value[at[peer]]
        worse = value[peer] > against if direction == "lower" else value[peer] < against
        with np.errstate(invalid="ignore", divide="ignore"):
            share = 100.0 * np.bincount(at[peer], weights=worse, minlength=len(years)) / np.where(has_peers, peer_n, np.nan)
        percentile = np.where(np.isnan(home_value), np.nan, share)
    else:
        rank = rank_of = np.full(len(years), np.nan)
        percentile = np.full(len(years), np.nan)
    diff = home_value - median
    # "Near zero": |median| at most NEAR_ZERO of the largest absolute value compared that year (home or peer).
    scale = np.fmax(np.abs(home_value), np.where(has_peers, largest, np.nan))
    near_zero = ~(np.abs(median) > NEAR_ZERO * np.nan_to_num(scale, nan=0.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        pct = np.where(near_zero, np.nan, 100.0 * diff / np.abs(median))
    return pd.DataFrame({
        "period": years, "home_value": home_value, "peer_median": median, "peer_mean": middle["mean"].to_numpy(),
        "peer_min": np.where(has_peers, lowest, np.nan), "peer_max": np.where(has_peers, highest, np.nan),
        "peer_q1": q1, "peer_q3": q3, "peer_n": peer_n.astype("int64"),
        "riket": per_year(riket, value), "peer_missing": n_peers - peer_n.astype("int64"),
        "rank": rank, "rank_of": rank_of, "percentile": percentile, "diff_to_median": diff,
        "diff_to_median_pct": pct})


def benchmark(values: pd.DataFrame, indicator: Indicator, home_id: str, peer_ids: Sequence[str],
              riket_id: str | None = RIKET, years: Iterable[int] | None = None,
              rows: pd.DataFrame | None = None, ranking: bool = True) -> pd.DataFrame:
    """One row per listed year: the home value against the set's median, spread, rank and Riket.

    Columns: BENCHMARK_COLUMNS (definitions in the module docstring). `is_latest` marks the year
    the latest-year comparison uses (see `latest_year`). `rows`: this indicator's `peer_values`,
    when the caller has them already; `ranking` as there.
    """
    rows = peer_values(values, indicator, home_id, peer_ids, riket_id, years, ranking) if rows is None else rows
    n_peers = len({p for p in peer_ids if p != home_id})
    if rows.empty:
        out = pd.DataFrame(columns=["period", "home_value", "peer_median", "peer_mean", "peer_min", "peer_max",
                                    "peer_q1", "peer_q3", "peer_n", "riket", "peer_missing", "rank", "rank_of",
                                    "percentile", "diff_to_median", "diff_to_median_pct"])
    else:
        out = _year_stats(rows, indicator.direction, n_peers, ranking)
    target = indicator.target
    out = out.assign(indicator=indicator.id, kpi=indicator.series_id, label=indicator.label, gender=indicator.gender,
                     direction=indicator.direction, home_id=home_id,
                     target=float(target.value) if isinstance(target, Target) else float("nan"),
                     target_year=target.year if isinstance(target, Target) else pd.NA)
    if isinstance(target, MedianTarget):
        out["target"] = out["peer_median"].astype("float64")
    out["quartile"] = [quartile(r, n) for r, n in zip(out["rank"], out["rank_of"])]
    out["gap_to_target"] = out["home_value"] - out["target"]
    home = out.set_index("period")["home_value"]
    first = home.dropna()
    out["change_since_first"] = out["home_value"] - (first.iloc[0] if len(first) else float("nan"))
    out["change_since_previous"] = out["home_value"] - out["period"].map(lambda p: home.get(p - 1, float("nan")))
    out["is_latest"] = out["period"] == latest_year(out)
    for column, dtype in [(c, "Int64") for c in _INT_COLUMNS] + [("period", "int64")]:
        out[column] = out[column].astype(dtype)  # one by one: DataFrame.astype copies every column, 29 of them
    return out[BENCHMARK_COLUMNS]


BEST, MIDDLE, WORST = "best", "middle", "worst"


def quartile(rank: object, rank_of: object) -> str | None:
    """BEST, MIDDLE or WORST quarter for rank r of n (see the module docstring); None without a rank."""
    if pd.isna(rank) or pd.isna(rank_of) or int(rank_of) < 2:  # type: ignore[arg-type]
        return None
    r, n = int(rank), int(rank_of)  # type: ignore[arg-type]
    quarter = -(-n // 4)
    return BEST if r <= quarter else WORST if r > n - quarter else MIDDLE


def latest_year(bench: pd.DataFrame) -> int | None:
    """The year the latest-year comparison is made on: the latest in which the home and the set both
    have values, else the home's latest year.

    Not the latest year anyone has: a plan compares its own latest figure, and survey-based KPIs
    that are not published every year would otherwise compare the peers' year with nothing. Nor a
    year the home has alone (a figure from the author's own file, a year the peers are not yet
    published for): a table of the home beside empty cells compares nothing. The overview still
    shows that newer figure as the home's latest value.
    """
    home = bench["home_value"].notna()
    for rows in (home & bench["peer_median"].notna(), home):
        years = bench.loc[rows, "period"]
        if len(years):
            return int(years.max())
    return None


def unit_of(indicator: Indicator, kpi_title: str | None, source_unit: str | None = None) -> str:
    """The configured unit; else the source's own (SCB's contents unit, already worded); else the unit
    Kolada's title ends in (`units.kolada_unit`); a ratio without a unit reads "per 1 000" (or "%"
    for a scale of 100)."""
    if indicator.unit:
        return indicator.unit
    if indicator.ratio is not None:
        scale = indicator.ratio.scale
        return "%" if scale == 100 else (f"per {scale:,.0f}".replace(",", " ") if scale > 1 else "")
    if source_unit is not None:
        return source_unit
    return kolada_unit(kpi_title)


def default_decimals(indicator: Indicator, values: pd.Series, source_decimals: int | None = None) -> int:
    """Configured decimals, else the source's (SCB's contents unit), else 0 for typical magnitudes of
    100 or more (kr/inv) and 1 below (shares, rates)."""
    if indicator.decimals is not None:
        return indicator.decimals
    if source_decimals is not None:
        return source_decimals
    typical = values.dropna().abs().median()
    return 0 if pd.notna(typical) and typical >= 100 else 1


@dataclass(frozen=True)
class RatioResult:
    values: pd.DataFrame  # stored-values columns, `kpi` and `gender` of the ratio indicator
    zero_denominator: pd.DataFrame  # municipality_id, period where the denominator was 0


def ratio_values(numerator: pd.DataFrame, denominator: pd.DataFrame, indicator: Indicator,
                 parts: tuple[Indicator, Indicator]) -> RatioResult:
    """numerator / denominator × scale per municipality and year, as rows of the ratio indicator.

    Each part is taken as its indicator is configured (series and gender). Only pairs where both
    parts have a row are kept; a missing part or a zero denominator leaves the value empty.
    """
    assert indicator.ratio is not None
    num_ind, den_ind = parts
    key = ["municipality_id", "period"]

    def part(values: pd.DataFrame, ind: Indicator) -> pd.DataFrame:
        mine = values[(values["kpi"] == ind.series_id) & (values["gender"] == ind.gender)]
        return mine[[*key, "value", "fetched_at", "source"]].astype({"period": "int64", "value": "float64"})

    both = part(numerator, num_ind).merge(part(denominator, den_ind), on=key, suffixes=("_num", "_den"))
    zero = both["value_den"] == 0
    with_value = both["value_num"].notna() & both["value_den"].notna() & ~zero
    value = (both["value_num"] / both["value_den"].where(with_value)) * indicator.ratio.scale
    sources = both["source_num"].where(both["source_num"] == both["source_den"],
                                       both["source_num"] + "+" + both["source_den"])
    out = pd.DataFrame({"kpi": indicator.series_id, "municipality_id": both["municipality_id"], "period": both["period"],
                        "gender": indicator.gender, "value": value.where(with_value),
                        "count": pd.Series(pd.NA, index=both.index, dtype="Int32"), "status": None,
                        "fetched_at": both[["fetched_at_num", "fetched_at_den"]].max(axis=1), "source": sources})
    return RatioResult(out.reset_index(drop=True), both.loc[zero & both["value_num"].notna(), key].reset_index(drop=True))


def revised_values(revisions: pd.DataFrame, peers: pd.DataFrame, indicator: Indicator,
                   since: dt.date) -> pd.DataFrame:
    """Revisions detected on or after `since` of values a table shows.

    Shown: the home municipality and Riket in every listed year, every peer in the latest year.
    Several revisions of one value collapse into one: the value before the first and after the
    last, with the last detection time. Columns: municipality_id, period, old_value, new_value,
    change, detected_at.
    """
    columns = ["municipality_id", "period", "old_value", "new_value", "change", "detected_at"]
    latest = peers.loc[(peers["role"] == HOME) & peers["value"].notna(), "period"].max()
    shown = peers.loc[peers["role"].isin([HOME, RIKET_ROLE]) | (peers["period"] == latest), ["municipality_id", "period"]]
    start = pd.Timestamp(since, tz="UTC")
    mine = revisions[(revisions["kpi"] == indicator.series_id) & (revisions["gender"] == indicator.gender)
                     & (revisions["detected_at"] >= start)]
    mine = mine.astype({"period": "int64"}).merge(shown.astype({"period": "int64"}), on=["municipality_id", "period"])
    if mine.empty:
        return pd.DataFrame(columns=columns)
    key = ["municipality_id", "period"]
    mine = mine.sort_values("detected_at", kind="stable")
    # Whole first and last rows: groupby's "first" would skip an empty old value.
    before = mine.drop_duplicates(key, keep="first")[[*key, "old_value"]]
    after = mine.drop_duplicates(key, keep="last")[[*key, "new_value", "change", "detected_at"]]
    out = before.merge(after, on=key)
    return out[columns].sort_values(["period", "municipality_id"]).reset_index(drop=True)


OVERVIEW_YEARS = 3  # shared year columns unless `[report] years` names two or three
TOWARD, AWAY, SAME, REACHED = "toward", "away", "same", "reached"


def overview_years(benches: Sequence[pd.DataFrame], count: int = OVERVIEW_YEARS) -> list[int]:
    """The `count` years in which most indicators have a home value (the later year on a tie), in order.

    Not the latest years of the whole dataset: with a monthly SCB series reaching 2025 and Kolada
    ending in 2022, those would leave every Kolada row blank.
    """
    have = pd.Series([int(p) for b in benches for p in b.loc[b["home_value"].notna(), "period"].unique()],
                     dtype="int64")
    counts = have.value_counts()
    best = sorted(counts.index, key=lambda y: (-counts[y], -y))[:count]
    return sorted(int(y) for y in best)


def overview(benches: Sequence[pd.DataFrame], indicators: Sequence[Indicator],
             years: Sequence[int] = ()) -> tuple[list[int], pd.DataFrame]:
    """One row per indicator for the plan's own table shape ("Indikator | Nyckeltal | Mål | 2022 | 2023").

    Returns the shared year columns (`years` as configured, else `overview_years`) and the rows:
    indicator, label, kpi, the home value per year column (`value_<year>`), `latest_year` and
    `latest_value` (the home's latest value, whether or not its year is a column), `compared_year`
    with the set's median, rank and `quartile` (the home's latest year, or where the set has no
    median then, e.g. a year filled from the author's own figures, the latest year both have a
    value), `home_missing` (the home has no value at all: the year and median are then the set's
    latest with a median), and `trend`: whether the latest change (from the
    previous year with a value) moved toward the target or away from it (a target counts as met
    once the value is on its better side, by the direction; `target = "median"` against each year's
    median), kept it met, or, without a numeric target, went the better or the worse way; None
    without a previous value or without target and direction.
    """
    years = sorted(years) if years else overview_years(benches)
    rows = []
    for bench, ind in zip(benches, indicators):
        home = bench.loc[bench["home_value"].notna()].set_index("period")
        latest = bench.loc[bench["home_value"].notna()].tail(1)  # the home's newest, compared or not
        row: dict[str, object] = {"indicator": ind.id, "label": ind.label, "kpi": ind.series_id}
        row |= {f"value_{y}": float(home["home_value"].get(y, float("nan"))) for y in years}
        row["home_missing"] = latest.empty
        compared = bench[bench["is_latest"] & bench["peer_median"].notna()]
        compared = compared if len(compared) else bench.loc[bench["peer_median"].notna()].tail(1)
        if compared.empty:
            rows.append(row | {"latest_year": int(latest["period"].iloc[0]) if len(latest) else pd.NA,
                               "latest_value": latest["home_value"].iloc[0] if len(latest) else float("nan"),
                               "compared_year": pd.NA, "median": float("nan"), "rank": pd.NA, "rank_of": pd.NA,
                               "quartile": None, "trend": _trend(home["home_value"], home["target"], ind.direction)})
            continue
        last, shown = compared.iloc[0], (latest if len(latest) else compared).iloc[0]
        row |= {"latest_year": int(shown["period"]), "latest_value": shown["home_value"],
                "compared_year": int(last["period"]), "median": last["peer_median"],
                "rank": last["rank"], "rank_of": last["rank_of"], "quartile": last["quartile"],
                "trend": _trend(home["home_value"], home["target"], ind.direction)}
        rows.append(row)
    return years, pd.DataFrame(rows)


def _shortfall(value: float, target: float, direction: str) -> float:
    """How far a value is from meeting the target: 0 once met (by the direction), else the distance."""
    if direction == "lower":
        return max(0.0, value - target)
    if direction == "higher":
        return max(0.0, target - value)
    return abs(value - target)


def _trend(home: pd.Series, targets: pd.Series, direction: str) -> str | None:
    """The latest change judged against the target of each of the two years (a value, or the median),
    or by the direction where there is none (a target in words, or only a direction)."""
    if len(home) < 2:
        return None
    before, now = float(home.iloc[-2]), float(home.iloc[-1])
    aims = (float(targets.iloc[-2]), float(targets.iloc[-1]))
    if not any(math.isnan(a) for a in aims):
        was, new = _shortfall(before, aims[0], direction), _shortfall(now, aims[1], direction)
        if was == new == 0.0:
            return REACHED
        distance = new - was
    elif direction in ("lower", "higher"):
        distance = (now - before) if direction == "lower" else (before - now)
    else:
        return None
    return SAME if distance == 0 else (TOWARD if distance < 0 else AWAY)
