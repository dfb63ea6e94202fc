"""What a benchmark table shows, decided once for every output format.

`build_document` turns the computed DataFrames of one indicator into a `Document`: a heading,
tables of cells (the Swedish text and, for the spreadsheet, the numbers behind it) and footnotes;
`build_overview` does the same for the overview of all indicators. The Markdown, HTML, Word and
xlsx renderers only lay Documents out, so they can never disagree about a column, a rounding or a
footnote, and none of them computes a statistic.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from ..compare import HOME, PEER, ComparisonSet
from ..config import Indicator
from .numbers import MISSING, excel_format, format_number, format_percent, format_plain, format_signed, is_missing
from .text import plain

# Each source's name in running text, and as it asks to be cited ("Källa: SCB" is SCB's own wording).
SOURCE_NAMES = {"kolada": ("Kolada", "Kolada (RKA)"), "scb": ("SCB", "SCB")}
MONTHS = ("januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti", "september", "oktober",
          "november", "december")
GENDER_WORDS = {"K": "kvinnor", "M": "män"}
HOME_STYLE, SUMMARY_STYLE = "home", "summary"
BIG_GROUP = 30  # more comparison municipalities than this: a distribution chart and a shortened table
BIG_GROUP_ENDS = 5


NO_BREAK = "\u2060"  # WORD JOINER: no line break here, in Word, LibreOffice and browsers alike


@dataclass(frozen=True)
class Origin:
    """Where an indicator's values come from, as its footnotes cite them.

    `sources` are source names ("kolada", "scb"); `reference` says which series ("nyckeltal N35001",
    "tabell TAB6260, …"); `notes` are the source's own caveats (years a table lacks, a zero denominator).
    """

    sources: tuple[str, ...] = ("kolada",)
    reference: str = ""
    notes: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """"Kolada", "SCB" or "Kolada och SCB": who the values are from, in running text."""
        return " och ".join(SOURCE_NAMES[s][0] for s in self.sources)


def source_line(sources: tuple[str, ...] | list[str], ours: str = "jämförelser") -> str:
    """The attribution line: the sources as they ask to be cited, and `ours` (what we computed) as ours."""
    names = " och ".join(SOURCE_NAMES[s][1] for s in dict.fromkeys(sources)) or SOURCE_NAMES["kolada"][1]
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

    def __post_init__(self) -> None:
        object.__setattr__(self, "text", plain(self.text))


@dataclass(frozen=True)
class Column:
    """`header` may hold "\n" where a heading should break, so it wraps between words that belong
    together in every format instead of where a word processor happens to ("median, / %")."""

    header: str
    numeric: bool = True  # right-aligned
    sheet: tuple[str, ...] = ()  # the spreadsheet's column headers for a cell's `parts`

    def __post_init__(self) -> None:
        object.__setattr__(self, "header", plain(self.header, keep_breaks=True))


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
        object.__setattr__(self, "caption", plain(self.caption))


@dataclass(frozen=True)
class Document:
    """One indicator's tables. `message` replaces the tables when there is nothing to compare."""

    indicator_id: str
    heading: str
    tables: tuple[Table, ...]
    footnotes: tuple[str, ...]
    message: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "heading", plain(self.heading))
        object.__setattr__(self, "footnotes", tuple(plain(n) for n in self.footnotes))
        object.__setattr__(self, "message", plain(self.message))


def _number_cell(value: object, decimals: int) -> Cell:
    if is_missing(value):
        return Cell(MISSING)
    return Cell(format_number(value, decimals), float(value), excel_format(decimals))


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


def _series_table(bench: pd.DataFrame, indicator: Indicator, home_title: str, decimals: int, riket: bool) -> Table:
    ranked = indicator.direction != "none"
    target = indicator.target is not None
    columns = [Column("År", numeric=False), Column(home_title), Column("Median\njämförelsegrupp"),
               Column("Min–max", sheet=("Min", "Max"))]
    columns += [Column("Rang", sheet=("Rang", "Antal rangordnade"))] if ranked else []
    columns += [Column("Riket")] if riket else []
    columns += [Column("Skillnad\nmot median"), Column("Skillnad\nmot median, %")]
    columns += [Column("Skillnad\nmot mål")] if target else []
    rows = []
    for r in bench.itertuples(index=False):
        cells = [Cell(str(r.period), int(r.period), "0"), _number_cell(r.home_value, decimals),
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
                  decimals: int, riket: bool) -> Table:
    year = int(latest_row["period"])
    ranked = indicator.direction != "none"
    shown = peers[(peers["period"] == year) & peers["role"].isin([HOME, PEER])]
    columns = ([Column("Rang")] if ranked else []) + [Column("Kommun", numeric=False),
                                                      Column(f"Värde {year}" + (f"\n({unit})" if unit else ""))]
    blank = (Cell(""),) if ranked else ()
    ordered = list(latest_order(shown, indicator.direction).itertuples(index=False))
    kept = _kept(ordered)
    rows = []
    for i, r in enumerate(ordered):
        if i not in kept:
            if i - 1 in kept:  # one row stands for every municipality left out here
                rows.append(Row(blank + (Cell("…"), Cell(""))))
            continue
        rows.append(Row(((_int_cell(r.rank),) if ranked else ()) + (Cell(r.title), _number_cell(r.value, decimals)),
                        HOME_STYLE if r.role == HOME else ""))
    rows.append(Row(blank + (Cell("Median jämförelsegrupp"), _number_cell(latest_row["peer_median"], decimals)),
                    SUMMARY_STYLE))
    if riket:
        rows.append(Row(blank + (Cell("Riket"), _number_cell(latest_row["riket"], decimals)), SUMMARY_STYLE))
    return Table(f"Senaste år med värde för {home_title}: {year}", tuple(columns), tuple(rows))


def _kept(ordered: list) -> set[int]:  # type: ignore[type-arg]
    """Rows of the latest-year table to show: all in a small group; in a big one (more than BIG_GROUP
    municipalities) the best and worst few and the home municipality with its neighbours, since a
    290-row table helps no reader (every value is in peers.parquet and benchmark.csv)."""
    if len(ordered) <= BIG_GROUP + 1:
        return set(range(len(ordered)))
    home = next(i for i, r in enumerate(ordered) if r.role == HOME)
    ends = set(range(BIG_GROUP_ENDS)) | set(range(len(ordered) - BIG_GROUP_ENDS, len(ordered)))
    return ends | set(range(max(0, home - 2), min(len(ordered), home + 3)))


def _big_group_note(peers: pd.DataFrame) -> str:
    year = peers[peers["role"].isin([HOME, PEER])]
    n = year["municipality_id"].nunique()
    if n <= BIG_GROUP + 1:
        return ""
    return (f"Tabellen över senaste året visar de {BIG_GROUP_ENDS} bästa och sämsta av {n} kommuner och "
            "kommunerna närmast runt hemkommunen; alla värden finns i peers.parquet och benchmark.csv.")


def _missing_note(peers: pd.DataFrame, source: str) -> str:
    gaps = peers[(peers["role"] == PEER) & peers["value"].isna()]
    if gaps.empty:
        return ""
    years = [f"{period}: {', '.join(year['title'])}" for period, year in gaps.groupby("period")]
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


def _rank_note(indicator: Indicator, home_title: str) -> str:
    if indicator.direction == "none":
        return "Ingen rangordning: för den här indikatorn är varken ett högre eller ett lägre värde bättre i sig."
    better = "lägre" if indicator.direction == "lower" else "högre"
    return (f"Rang: 1 = bäst bland {home_title} och de jämförelsekommuner som har värde för året; {better} är bättre. "
            "Lika värden delar den bättre rangen.")


def _target_note(indicator: Indicator, bench: pd.DataFrame, unit: str, decimals: int, home_title: str) -> str:
    target = indicator.target
    if target is None:
        return ""
    unit_part = f" {unit}" if unit else ""
    note = f"Mål: {format_number(target.value, decimals)}{unit_part} år {target.year}. Skillnad mot mål = {home_title} − mål"
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
                   origin: Origin | None = None) -> Document:
    """The Swedish tables and footnotes of one indicator.

    `bench` and `peers` come from `compare.benchmark` and `compare.peer_values` (peers with a
    `title` column), `revised` from `compare.revised_values`; `checked` is when the values were last
    checked against the source (the last successful harvest of the KPI), `changed` when any of them
    last changed in the dataset; `origin` says which source and series (default: the Kolada KPI).
    Our medians, ranks and ratios are labelled as our own, each source's values as its own.
    """
    origin = origin or Origin(("kolada",), f"nyckeltal {indicator.kpi}")
    label = indicator_title(indicator, unit)
    heading = f"{label} – {home_title} jämfört med {comparison.title}"
    source = _source_note(origin, checked, changed)
    attribution = source_line(origin.sources, "kvoter, medianer och jämförelser" if indicator.ratio is not None
                              else "jämförelser")
    set_note = f"Jämförelsegrupp: {comparison.description}."
    latest = bench[bench["is_latest"]]
    if latest.empty:
        return Document(indicator.id, heading, (), (set_note, *origin.notes, source, attribution),
                        message=f"Inga värden i {origin.label} för {home_title}: {label} ({origin.reference}).")
    tables = (_series_table(bench, indicator, home_title, decimals, riket),
              _latest_table(peers, latest.iloc[0], indicator, home_title, unit, decimals, riket))
    titles = dict(zip(peers["municipality_id"], peers["title"]))
    notes = [set_note, _rank_note(indicator, home_title),
             f"Median och min–max: egen beräkning över jämförelsekommunerna med värde, utan {home_title}. "
             f"Skillnad mot median = {home_title} − median, även i procent av medianen.",
             _near_zero_note(bench), _big_group_note(peers), _missing_note(peers, origin.label),
             _target_note(indicator, bench, unit, decimals, home_title), *origin.notes,
             _missing_mark_note(tables, origin.label), *_revision_notes(revised, titles, origin.label), source,
             attribution]
    return Document(indicator.id, heading, tables, tuple(n for n in notes if n))


OVERVIEW_TITLE = "Indikatorer i jämförelse"
_TREND_WORDS = {"toward": "närmare målet", "away": "längre från målet", "same": "oförändrad",
                "reached": "målet nått"}
_DIRECTION_WORDS = {"toward": "bättre", "away": "sämre", "same": "oförändrad"}


def _target_text(value: object, year: object, unit: str, decimals: int) -> str:
    if is_missing(value):
        return ""
    return f"{format_number(value, decimals)}{' ' + unit if unit else ''} år {int(year)}"  # type: ignore[arg-type]


def build_overview(years: list[int], rows: pd.DataFrame, *, home_title: str, comparison: ComparisonSet,
                   units: list[str], decimals: list[int], indicators: list[Indicator],
                   sources: tuple[str, ...] = ("kolada",)) -> Document:
    """The overview of every indicator in the shape the plans use; rows from `compare.overview`."""
    columns = [Column("Indikator", numeric=False), Column("Nyckeltal", numeric=False), Column("Mål", numeric=False)]
    columns += [Column(str(y)) for y in years]
    columns += [Column("Senaste\når"), Column("Median\njämförelsegrupp"), Column("Rang", sheet=("Rang", "Antal rangordnade")),
                Column("Senaste\nförändring", numeric=False)]
    table_rows = []
    for r, unit, dec, ind in zip(rows.to_dict("records"), units, decimals, indicators):
        words = _TREND_WORDS if ind.target is not None else _DIRECTION_WORDS
        cells = [Cell(indicator_title(ind, unit)), Cell(ind.reference),
                 Cell(_target_text(r["target"], r["target_year"], unit, dec))]
        cells += [_number_cell(r[f"value_{y}"], dec) for y in years]
        cells += [_int_cell(r["latest_year"]), _number_cell(r["median"], dec), _rank_cell(r["rank"], r["rank_of"]),
                  Cell(words.get(r["trend"] or "", MISSING))]
        table_rows.append(Row(tuple(cells)))
    table = Table(f"{home_title}: värden per år, och jämförelsegruppens median och rang det senaste året med värde",
                  tuple(columns), tuple(table_rows))
    notes = [f"Jämförelsegrupp: {comparison.description}.",
             "Senaste förändring: från det näst senaste till det senaste året med värde, mot målet där ett mål finns, "
             "annars bättre eller sämre enligt indikatorns riktning.",
             _missing_mark_note((table,), "källan"),
             source_line(sources, "kvoter, medianer och jämförelser" if any(ind.ratio is not None for ind in indicators)
                         else "jämförelser")]
    return Document("oversikt", f"{OVERVIEW_TITLE} – {home_title} jämfört med {comparison.title}", (table,),
                    tuple(n for n in notes if n))
