"""What a benchmark table shows, decided once for every output format.

`build_document` turns the computed DataFrames of one indicator into a `Document`: a heading,
tables of cells (the Swedish text and, for the spreadsheet, the numbers behind it) and footnotes;
`build_overview` does the same for the overview of all indicators. The Markdown, HTML, Word and
xlsx renderers only lay Documents out, so they can never disagree about a column, a rounding or a
footnote, and none of them computes a statistic.
"""
from __future__ import annotations

import datetime as dt
from collections import namedtuple
from dataclasses import dataclass

import pandas as pd

from ..compare import BEST, HOME, MIDDLE, PEER, WORST, ComparisonSet, join_sv
from ..config import Indicator, MedianTarget, Target, TextTarget
from .numbers import (MISSING, excel_format, format_number, format_percent, format_plain, format_signed, is_missing,
                      unbreakable)
from ..sources.registry import DEFAULT, SOURCES
from .text import plain

# Each source's name in running text, and as it asks to be cited ("Källa: SCB" is SCB's own wording).
SOURCE_NAMES = {kind.name: (kind.label, kind.cited_as) for kind in SOURCES}
GENDER_WORDS = {"K": "kvinnor", "M": "män"}
HOME_STYLE, SUMMARY_STYLE = "home", "summary"
BIG_GROUP = 30  # more comparison municipalities than this: a distribution chart and a shortened table
BIG_GROUP_ENDS = 5


NO_BREAK = "\u2060"  # WORD JOINER: no line break here, in Word, LibreOffice and browsers alike
# The home's latest-year quarter among the ranked (compare.quartile), as Kolada's Jämföraren colours
# it: each format fills the cell with the colour, Markdown says it in words.
QUARTILE_FILLS = {BEST: "A9D08E", MIDDLE: "FFE699", WORST: "F4A6A6"}
QUARTILE_WORDS = {BEST: "bästa fjärdedelen", MIDDLE: "mellersta hälften", WORST: "sämsta fjärdedelen"}
DIRECTION_TARGETS = {"lower": "Minska", "higher": "Öka"}  # Mål with only a direction, as plans write it


def _text(value: object, keep_breaks: bool = False) -> str:
    """Text of every format: plain, with thousands that never break."""
    return unbreakable(plain(value, keep_breaks=keep_breaks))


@dataclass(frozen=True)
class Origin:
    """Where an indicator's values come from, as its footnotes cite them.

    `sources` are source names ("kolada", "scb"); `reference` says which series ("nyckeltal N35001",
    "tabell TAB6260, …"); `notes` are the source's own caveats (years a table lacks, a zero denominator).
    """

    sources: tuple[str, ...] = (DEFAULT.name,)
    reference: str = ""
    notes: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """"Kolada", "SCB" or "Kolada och SCB": who the values are from, in running text."""
        return join_sv([SOURCE_NAMES[s][0] for s in self.sources]) if self.sources else ""


def source_line(sources: tuple[str, ...] | list[str], ours: str = "jämförelser") -> str:
    """The attribution line: the sources as they ask to be cited, and `ours` (what we computed) as ours."""
    names = " och ".join(SOURCE_NAMES[s][1] for s in dict.fromkeys(sources)) or DEFAULT.cited_as
    return f"Källa: {names}; {ours}: egen bearbetning."


def chart_source(indicator: Indicator, origin: Origin) -> str:
    """The line under a chart: the sources, and the statistics (and a ratio) drawn as ours."""
    ours = "kvot, median, kvartiler och rang" if indicator.ratio is not None else "median, kvartiler och rang"
    return source_line(origin.sources, ours)


@dataclass(frozen=True)
class Cell:
    """Shown text; `value` and `number_format` let the spreadsheet store the number itself.

    `parts` holds several numbers behind one shown text ("507–1 392", "25 av 25"), which the
    spreadsheet stores in columns of their own (see `Column.sheet`). A missing number is None.
    """

    text: str
    value: float | int | None = None
    number_format: str | None = None
    parts: tuple[tuple[float | int | None, str], ...] = ()
    quartile: str | None = None  # BEST, MIDDLE or WORST: the cell is coloured (QUARTILE_FILLS)

    def __post_init__(self) -> None:
        object.__setattr__(self, "text", _text(self.text))


@dataclass(frozen=True)
class Column:
    """`header` may hold "\n" where a heading should break, so it wraps between words that belong
    together in every format instead of where a word processor happens to ("median, / %")."""

    header: str
    numeric: bool = True  # right-aligned
    sheet: tuple[str, ...] = ()  # the spreadsheet's column headers for a cell's `parts`

    def __post_init__(self) -> None:
        object.__setattr__(self, "header", _text(self.header, keep_breaks=True))


@dataclass(frozen=True)
class Row:
    cells: tuple[Cell, ...]
    style: str = ""  # HOME_STYLE (the home municipality, emphasised) or SUMMARY_STYLE (median, Riket)


@dataclass(frozen=True)
class Table:
    caption: str
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "caption", _text(self.caption))


@dataclass(frozen=True)
class Document:
    """One indicator's tables. `message` says what is missing (replacing the tables when there is
    nothing to compare); `intro` lines stand between the heading and the tables (the colour legend)."""

    indicator_id: str
    heading: str
    tables: tuple[Table, ...]
    footnotes: tuple[str, ...]
    message: str = ""
    intro: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "heading", _text(self.heading))
        object.__setattr__(self, "footnotes", tuple(_text(n) for n in self.footnotes))
        object.__setattr__(self, "message", _text(self.message))
        object.__setattr__(self, "intro", tuple(_text(n) for n in self.intro))


def _number_cell(value: object, decimals: int, quartile: object = None) -> Cell:
    if is_missing(value):
        return Cell(MISSING)
    return Cell(format_number(value, decimals), float(value), excel_format(decimals),
                quartile=quartile if isinstance(quartile, str) else None)


def _signed_cell(value: object, decimals: int) -> Cell:
    if is_missing(value):
        return Cell(MISSING)
    return Cell(format_signed(value, decimals), float(value), excel_format(decimals, signed=True))


def _percent_cell(value: object) -> Cell:
    if is_missing(value):
        return Cell(MISSING)
    return Cell(format_percent(value, 1, signed=True), float(value), excel_format(1, signed=True, percent=True))


def _int_cell(value: object) -> Cell:
    return Cell(MISSING) if is_missing(value) else Cell(str(int(value)), int(value), "0")


def _number(value: object) -> float | None:
    return None if is_missing(value) else float(value)  # type: ignore[arg-type]


def _range_cell(low: object, high: object, decimals: int) -> Cell:
    """"507–1 392", never broken at the dash; the spreadsheet gets min and max as two numbers."""
    parts = ((_number(low), excel_format(decimals)), (_number(high), excel_format(decimals)))
    if is_missing(low):
        return Cell(MISSING, parts=parts)
    return Cell(f"{format_number(low, decimals)}{NO_BREAK}–{NO_BREAK}{format_number(high, decimals)}", parts=parts)


def _rank_cell(rank: object, rank_of: object) -> Cell:
    parts = ((None if is_missing(rank) else int(rank), "0"), (None if is_missing(rank_of) else int(rank_of), "0"))
    return Cell(MISSING if is_missing(rank) else f"{int(rank)}\u00a0av\u00a0{int(rank_of)}", parts=parts)


def indicator_title(indicator: Indicator, unit: str) -> str:
    """The plan's number, the label, with the unit when the label lacks it, and the gender when not the total."""
    squashed = indicator.label.replace(" ", "").replace("\u00a0", "").casefold()
    # A label with a comma already ends in its unit, as Kolada's titles do ("…, antal/1 000 inv").
    has_unit = not unit or "," in indicator.label or unit.replace(" ", "").casefold() in squashed
    label = indicator.label if has_unit else f"{indicator.label}, {unit}"
    gender = GENDER_WORDS.get(indicator.gender)
    label = f"{label} ({gender})" if gender else label
    if indicator.number:  # the plan's own number first, as the plans write it: "3 b) Kostnad …"
        label = f"{indicator.number}{')' if indicator.number[-1].isalnum() else ''} {label}"
    return label


# The series table's columns, read as lists: iterating a frame's rows cost more than the cells' formatting.
_SeriesYear = namedtuple("_SeriesYear", ["period", "home_value", "quartile", "is_latest", "peer_median", "peer_min",
                                         "peer_max", "rank", "rank_of", "riket", "diff_to_median",
                                         "diff_to_median_pct", "gap_to_target"])


def _series_table(bench: pd.DataFrame, indicator: Indicator, home_title: str, decimals: int, riket: bool,
                  ranked: bool) -> Table:
    target = isinstance(indicator.target, Target)  # a median target's gap is the column before
    columns = [Column("År", numeric=False), Column(home_title), Column("Median\njämförelsegrupp"),
               Column("Min–max", sheet=("Min", "Max"))]
    columns += [Column("Rang", sheet=("Rang", "Antal rangordnade"))] if ranked else []
    columns += [Column("Riket")] if riket else []
    columns += [Column("Skillnad\nmot median"), Column("Skillnad\nmot median, %")]
    columns += [Column("Skillnad\nmot mål")] if target else []
    rows = []
    for r in map(_SeriesYear._make, zip(*(bench[c].tolist() for c in _SeriesYear._fields))):
        cells = [Cell(str(r.period), int(r.period), "0"),
                 _number_cell(r.home_value, decimals, r.quartile if r.is_latest else None),
                 _number_cell(r.peer_median, decimals), _range_cell(r.peer_min, r.peer_max, decimals)]
        cells += [_rank_cell(r.rank, r.rank_of)] if ranked else []
        cells += [_number_cell(r.riket, decimals)] if riket else []
        cells += [_signed_cell(r.diff_to_median, decimals), _percent_cell(r.diff_to_median_pct)]
        cells += [_signed_cell(r.gap_to_target, decimals)] if target else []
        rows.append(Row(tuple(cells)))
    first, last = bench["period"].min(), bench["period"].max()
    return Table(f"{home_title} och jämförelsegruppen {first}–{last}", tuple(columns), tuple(rows))


def latest_order(year: pd.DataFrame, direction: str) -> pd.DataFrame:
    """Best first (highest first without a direction); municipalities without a value last."""
    return year.sort_values(["value", "title"], ascending=[direction == "lower", True], na_position="last")


def _latest_table(peers: pd.DataFrame, latest_row: pd.Series, indicator: Indicator, home_title: str, unit: str,
                  decimals: int, riket: bool, ranked: bool) -> Table:
    year = int(latest_row["period"])
    period, role = peers["period"].to_numpy(), peers["role"].to_numpy(dtype=object)
    shown = peers[(period == year) & ((role == HOME) | (role == PEER))]
    columns = ([Column("Rang")] if ranked else []) + [Column("Kommun", numeric=False),
                                                      Column(f"Värde {year}" + (f"\n({unit})" if unit else ""))]
    blank = (Cell(""),) if ranked else ()
    ordered = latest_order(shown, indicator.direction)
    kept = _kept(ordered["role"].tolist())
    # Only the kept rows are read: a big group's 290 rows, every column, were most of this table's time.
    picked = dict(zip(sorted(kept), ordered.iloc[sorted(kept)][["rank", "title", "value", "role"]]
                      .itertuples(index=False)))
    rows = []
    for i in range(len(ordered)):
        if i not in kept:
            if i - 1 in kept:  # one row stands for every municipality left out here
                rows.append(Row(blank + (Cell("…"), Cell(""))))
            continue
        r = picked[i]
        mark = latest_row["quartile"] if r.role == HOME else None
        rows.append(Row(((_int_cell(r.rank),) if ranked else ()) + (Cell(r.title), _number_cell(r.value, decimals, mark)),
                        HOME_STYLE if r.role == HOME else ""))
    rows.append(Row(blank + (Cell("Median jämförelsegrupp"), _number_cell(latest_row["peer_median"], decimals)),
                    SUMMARY_STYLE))
    if riket:
        rows.append(Row(blank + (Cell("Riket"), _number_cell(latest_row["riket"], decimals)), SUMMARY_STYLE))
    newer = (role == HOME) & peers["value"].notna().to_numpy() & (period > year)
    if pd.isna(latest_row["home_value"]):
        caption = f"Jämförelsegruppens senaste år med värde: {year} ({home_title} saknar värde)"
    elif newer.any():  # a newer figure the home has alone: in the series table above
        caption = f"Senaste år med värden för både {home_title} och jämförelsegruppen: {year}"
    else:
        caption = f"Senaste år med värde för {home_title}: {year}"
    return Table(caption, tuple(columns), tuple(rows))


def _kept(roles: list[str]) -> set[int]:
    """Rows of the latest-year table to show, by position in `roles` (each row's, in table order):
    all in a small group; in a big one (more than BIG_GROUP municipalities) the best and worst few
    and the home municipality with its neighbours, since a 290-row table helps no reader (every
    value is in peers.parquet and benchmark.csv)."""
    if len(roles) <= BIG_GROUP + 1:
        return set(range(len(roles)))
    home = roles.index(HOME)
    ends = set(range(BIG_GROUP_ENDS)) | set(range(len(roles) - BIG_GROUP_ENDS, len(roles)))
    return ends | set(range(max(0, home - 2), min(len(roles), home + 3)))


def _big_group_note(peers: pd.DataFrame) -> str:
    compared = peers["role"].isin([HOME, PEER]).to_numpy()
    n = len(set(peers["municipality_id"].to_numpy(dtype=object)[compared]))  # a filtered frame cost more
    if n <= BIG_GROUP + 1:
        return ""
    return (f"Tabellen över senaste året visar de {BIG_GROUP_ENDS} bästa och sämsta av {n} kommuner och "
            "kommunerna närmast runt hemkommunen; alla värden finns i peers.parquet och benchmark.csv.")


def _missing_note(peers: pd.DataFrame, source: str) -> str:
    gaps = peers[(peers["role"] == PEER) & peers["value"].isna()]
    if gaps.empty:
        return ""
    names: dict[int, list[str]] = {}
    for period, title in zip(gaps["period"].tolist(), gaps["title"].tolist()):  # lists: a groupby cost more
        names.setdefault(period, []).append(title)
    years = [f"{period}: {', '.join(names[period])}" for period in sorted(names)]
    return f"Jämförelsekommuner utan värde i {source} (ingår inte i median och rang) – " + "; ".join(years) + "."


MISSING_MARK_NOTE = f"{MISSING} ="  # the workbook shows an empty cell instead and says so (render/xlsx.py)


def _missing_mark_note(tables: tuple[Table, ...], source: str) -> str:
    shown = any(cell.text == MISSING for t in tables for row in t.rows for cell in row.cells)
    return f"{MISSING_MARK_NOTE} värde saknas i {source} eller kan inte beräknas." if shown else ""


def _near_zero_note(bench: pd.DataFrame) -> str:
    hidden = bench["peer_median"].notna() & bench["home_value"].notna() & bench["diff_to_median_pct"].isna()
    if not hidden.any():
        return ""
    years = ", ".join(str(int(p)) for p in bench.loc[hidden, "period"])
    return (f"Skillnad mot median i procent visas inte för {years}: medianen är noll eller nära noll "
            "(högst 1 % av det största värdet det året), och en procentsats vore missvisande.")


def _rank_note(indicator: Indicator, home_title: str, ranked: bool = True) -> str:
    if indicator.direction == "none":
        return "Ingen rangordning: för den här indikatorn är varken ett högre eller ett lägre värde bättre i sig."
    if not ranked:
        return ("Ingen rangordning och ingen färg: värdet är ett antal eller en summa för hela kommunen och växer med "
                "folkmängden, så rangen skulle mest visa kommunernas storlek (rank = true i konfigurationen "
                "rangordnar ändå).")
    better = "lägre" if indicator.direction == "lower" else "högre"
    return (f"Rang: 1 = bäst bland {home_title} och de jämförelsekommuner som har värde för året; {better} är bättre. "
            "Lika värden delar den bättre rangen.")


def target_words(indicator: Indicator, unit: str, decimals: int, comparison: str) -> str:
    """Mål as plans write it: "≤ 1 250 kr/inv (2027)", the words given, "I nivå med …", "Minska" or "Öka".

    A whole-number target is printed without decimals ("1 250", never "1 250,0")."""
    target = indicator.target
    if isinstance(target, TextTarget):
        return target.text
    if isinstance(target, MedianTarget):
        return f"I nivå med {comparison} (median)"
    if isinstance(target, Target):
        sign = {"lower": "≤\u00a0", "higher": "≥\u00a0"}.get(indicator.direction, "")
        places = 0 if float(target.value).is_integer() else decimals
        return f"{sign}{format_number(target.value, places)}{' ' + unit if unit else ''} ({target.year})"
    return DIRECTION_TARGETS.get(indicator.direction, "")


def _target_note(indicator: Indicator, bench: pd.DataFrame, unit: str, decimals: int, home_title: str,
                 comparison: str = "") -> str:
    target = indicator.target
    if target is None:
        return ""
    if isinstance(target, TextTarget):
        return f"Mål: {target.text}. Senaste förändring bedöms efter indikatorns riktning."
    unit_part = f" {unit}" if unit else ""
    words = target_words(indicator, unit, decimals, comparison)
    if isinstance(target, MedianTarget):
        note = f"Mål: {words}. Skillnad mot mål = skillnad mot median, {home_title} − median"
    else:
        note = f"Mål: {words}. Skillnad mot mål = {home_title} − mål"
    latest = bench[bench["is_latest"]]
    if not latest.empty:
        row = latest.iloc[0]
        note += f"; {int(row['period'])}: {format_signed(row['gap_to_target'], decimals)}{unit_part}"
    return note + "."


def _revision_notes(revised: pd.DataFrame, titles: dict[str, str], source: str) -> list[str]:
    notes = []
    for r in revised.itertuples(index=False):
        who = f"{titles.get(r.municipality_id, r.municipality_id)} {int(r.period)}"
        seen = f"upptäckt {r.detected_at:%Y-%m-%d}"
        if is_missing(r.new_value):
            notes.append(f"Värdet för {who} har tagits bort av {source} (tidigare {format_plain(r.old_value)}; {seen}).")
        else:
            notes.append(f"Värdet för {who} har reviderats av {source} (tidigare {format_plain(r.old_value)}, "
                         f"nu {format_plain(r.new_value)}; {seen}).")
    return notes


def _source_note(origin: Origin, checked: dt.date | None, changed: dt.date | None) -> str:
    """Where the values come from, when they were last checked there and when they last changed."""
    note = f"Värden: {origin.label}, {origin.reference}"
    if checked:
        note += f"; senast kontrollerade mot {origin.label} {checked:%Y-%m-%d}"
    if changed and changed != checked:
        note += f", senast ändrade i datasetet {changed:%Y-%m-%d}"
    return note + "."


def build_document(bench: pd.DataFrame, peers: pd.DataFrame, *, indicator: Indicator, home_title: str,
                   comparison: ComparisonSet, unit: str, decimals: int, riket: bool,
                   revised: pd.DataFrame, checked: dt.date | None, changed: dt.date | None,
                   origin: Origin | None = None, ranked: bool | None = None) -> Document:
    """The Swedish tables and footnotes of one indicator.

    `bench` and `peers` come from `compare.benchmark` and `compare.peer_values` (peers with a
    `title` column), `revised` from `compare.revised_values`; `checked` is when the values were last
    checked against the source (the last successful harvest of the KPI), `changed` when any of them
    last changed in the dataset; `origin` says which source and series (default: the Kolada KPI);
    `ranked` whether ranks are shown (default: with a direction; see `units.ranked`).
    Our medians, ranks and ratios are labelled as our own, each source's values as its own. When
    the home has no value, the set's values are still shown, and the message says so plainly.
    """
    origin = origin or Origin((DEFAULT.name,), f"{DEFAULT.noun} {indicator.series_id}")
    ranked = indicator.direction != "none" if ranked is None else ranked
    label = indicator_title(indicator, unit)
    heading = f"{label} – {home_title} jämfört med {comparison.title}"
    source = _source_note(origin, checked, changed)
    attribution = source_line(origin.sources, "kvoter, medianer och jämförelser" if indicator.ratio is not None
                              else "jämförelser")
    # The full member list is in the overview's notes, once; here the set is named and counted.
    set_note = (f"Jämförelsegrupp: {comparison.title}, {len(comparison.peer_ids)} kommuner "
                f"(medlemmarna anges under översikten).")
    latest = bench[bench["is_latest"]]
    message = ""
    if latest.empty:
        message = f"Inget värde i {origin.label} för {home_title}: {label} ({origin.reference})."
        latest = bench.loc[bench["peer_median"].notna()].tail(1)
        if latest.empty:
            return Document(indicator.id, heading, (), (set_note, *origin.notes, source, attribution), message=message)
        message += " Tabellerna visar jämförelsegruppens värden."
    tables = (_series_table(bench, indicator, home_title, decimals, riket, ranked),
              _latest_table(peers, latest.iloc[0], indicator, home_title, unit, decimals, riket, ranked))
    titles = dict(zip(peers["municipality_id"].tolist(), peers["title"].tolist()))  # lists: iterating Arrow strings is slow
    notes = [set_note, _rank_note(indicator, home_title, ranked),
             f"Median och min–max: egen beräkning över jämförelsekommunerna med värde, utan {home_title}. "
             f"Skillnad mot median = {home_title} − median, även i procent av medianen.",
             _near_zero_note(bench), _big_group_note(peers), _missing_note(peers, origin.label),
             _target_note(indicator, bench, unit, decimals, home_title, comparison.title), *origin.notes,
             _missing_mark_note(tables, origin.label), *_revision_notes(revised, titles, origin.label), source,
             attribution]
    return Document(indicator.id, heading, tables, tuple(n for n in notes if n), message=message)


OVERVIEW_TITLE = "Indikatorer i jämförelse"
_TREND_WORDS = {"toward": "närmare målet", "away": "längre från målet", "same": "oförändrad",
                "reached": "målet nått"}
_DIRECTION_WORDS = {"toward": "bättre", "away": "sämre", "same": "oförändrad"}


def quartile_legend(home_title: str) -> str:
    """What the cell colours mean, said once where the overview starts."""
    return (f"Färg på det senaste värdet för {home_title}: grön = {QUARTILE_WORDS[BEST]}, gul = {QUARTILE_WORDS[MIDDLE]}, "
            f"röd = {QUARTILE_WORDS[WORST]} bland {home_title} och jämförelsekommunerna med värde, efter indikatorns "
            "riktning (egen bearbetning, som Koladas Jämföraren). Ingen färg där indikatorn saknar riktning eller "
            "inte rangordnas.")


def _latest_cell(value: object, year: object, decimals: int, quartile: object) -> Cell:
    """The home's latest value with its year, "793 (2022)"; the workbook gets both numbers."""
    parts = ((_number(value), excel_format(decimals)), (None if is_missing(year) else int(year), "0"))  # type: ignore[arg-type]
    if is_missing(value):
        return Cell(MISSING, parts=parts)
    return Cell(f"{format_number(value, decimals)} ({int(year)})", parts=parts,  # type: ignore[arg-type]
                quartile=quartile if isinstance(quartile, str) else None)


def build_overview(years: list[int], rows: pd.DataFrame, *, home_title: str, comparisons: list[ComparisonSet],
                   units: list[str], decimals: list[int], indicators: list[Indicator], ranked: list[bool],
                   sources: tuple[str, ...] = (DEFAULT.name,), reach: str = "") -> Document:
    """The overview of every indicator in the shape the plans use; rows from `compare.overview`.

    `comparisons` is each indicator's set (the column "Jämförelsegrupp" appears when they differ),
    `ranked` whether each is ranked; `reach` says per source how far the data reach."""
    sets = list({c.title: c for c in comparisons}.values())
    several = len(sets) > 1
    columns = [Column("Indikator", numeric=False), Column("Nyckeltal", numeric=False), Column("Mål", numeric=False)]
    columns += [Column(str(y)) for y in years]
    columns += [Column("Senaste\nvärde (år)", sheet=("Senaste värde", "År"))]
    columns += [Column("Jämförelsegrupp", numeric=False)] if several else []
    columns += [Column("Median\njämförelsegrupp"), Column("Rang", sheet=("Rang", "Antal rangordnade")),
                Column("Senaste\nförändring", numeric=False)]
    table_rows = []
    for r, unit, dec, ind, cs, ranks in zip(rows.to_dict("records"), units, decimals, indicators, comparisons, ranked):
        words = _TREND_WORDS if isinstance(ind.target, (Target, MedianTarget)) else _DIRECTION_WORDS
        cells = [Cell(indicator_title(ind, unit)), Cell(ind.reference), Cell(target_words(ind, unit, dec, cs.title))]
        cells += [_number_cell(r[f"value_{y}"], dec) for y in years]
        same_year = not is_missing(r["compared_year"]) and r["compared_year"] == r["latest_year"]
        cells += [_latest_cell(r["latest_value"], r["latest_year"], dec, r["quartile"] if ranks and same_year else None)]
        cells += [Cell(cs.title)] if several else []
        cells += [_number_cell(r["median"], dec), _rank_cell(r["rank"], r["rank_of"]) if ranks else _rank_cell(None, None),
                  Cell(words.get(r["trend"] or "", MISSING))]
        table_rows.append(Row(tuple(cells)))
    table = Table(f"{home_title}: värden per år och senaste värde, jämförelsegruppens median och rang det senaste "
                  "året med värde", tuple(columns), tuple(table_rows))
    records = rows.to_dict("records")
    missing = [ind.label for ind, r in zip(indicators, records) if r["home_missing"]]
    earlier = [f"{ind.label} ({int(r['compared_year'])})" for ind, r in zip(indicators, records)
               if not r["home_missing"] and not is_missing(r["compared_year"]) and r["compared_year"] != r["latest_year"]]
    unranked = [ind.label for ind, ranks in zip(indicators, ranked) if not ranks and ind.direction != "none"]
    notes = [*(f"Jämförelsegrupp: {c.description}." for c in sets),
             f"Data: {reach}." if reach else "",
             f"Senaste värde (år): det senaste värdet för {home_title} och dess år, också när året inte är en av "
             "kolumnerna.",
             (f"Inget värde för {home_title} (median och år avser jämförelsegruppens senaste år med värde): "
              + "; ".join(missing) + ".") if missing else "",
             (f"Median och rang avser det senaste år då både {home_title} och jämförelsegruppen har värden: "
              + "; ".join(earlier) + ".") if earlier else "",
             ("Ingen rang och ingen färg för antal och summor som växer med folkmängden (rangen skulle mest visa "
              "kommunernas storlek): " + "; ".join(unranked) + ".") if unranked else "",
             "Senaste förändring: från det näst senaste till det senaste året med värde, mot målet där ett mål med "
             "värde eller mot medianen finns, annars bättre eller sämre enligt indikatorns riktning.",
             _missing_mark_note((table,), "källan"),
             source_line(sources, "kvoter, medianer och jämförelser" if any(ind.ratio is not None for ind in indicators)
                         else "jämförelser")]
    title = sets[0].title if len(sets) == 1 else join_sv([c.title for c in sets])
    return Document("oversikt", f"{OVERVIEW_TITLE} – {home_title} jämfört med {title}", (table,),
                    tuple(n for n in notes if n), intro=(quartile_legend(home_title),))
