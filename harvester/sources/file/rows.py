"""A file's rows → `schema.ROWS` of one series, every cell checked first (nothing is kept from a bad file).

The rules a plan author meets: `municipality` is a Kolada id or exact name (near matches offered),
`period` a year (or `YYYY-MM` when the indicator sets `month`) within the config's years, `value` a
number ("1 234,5" or 1234.5; empty, "..", "-" for no value), `gender` T, K or M (default T), and
one row per municipality × period × gender. Rows of areas outside the comparison are left out
(a file may hold every kommun); rows of other months of a monthly file too, as for SCB.
"""
from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa

from ... import schema
from ...names import GENDERS, NotFound, match_municipality
from .numbers import NotANumber, parse_number
from .spec import SOURCE, FileSeries, near
from .table import FileError, Sheet

log = logging.getLogger(__name__)

_YEAR = re.compile(r"^\d{4}$")
_MONTH = re.compile(r"^(\d{4})(?:-|M)(\d{1,2})$", re.IGNORECASE)


@dataclass(frozen=True)
class Scope:
    """What the rows are checked against: the series id to store them under, the areas wanted, the years allowed."""

    series_id: str
    areas: frozenset[str]
    years: tuple[int, ...]


class _Problems:
    """Every bad cell of the file; the error shows the first and counts the rest."""

    def __init__(self) -> None:
        self.found: list[str] = []

    def add(self, message: str) -> None:
        self.found.append(message)

    def raise_any(self) -> None:
        if not self.found:
            return
        more = len(self.found) - 1
        raise FileError(self.found[0] + (f" (and {more} more problem{'s' * (more > 1)} in the file)" if more else ""))


def _period(cell: object, month: int | None) -> tuple[int, int | None]:
    """(year, month or None); ValueError saying what is expected."""
    if isinstance(cell, (dt.date, dt.datetime)):  # Excel turns a typed 2022-07 into a date
        return cell.year, cell.month
    if isinstance(cell, float) and cell.is_integer():
        cell = int(cell)
    text = str(cell).strip() if cell is not None else ""
    if isinstance(cell, int) or _YEAR.match(text):
        return int(text), None
    found = _MONTH.match(text)
    if found and 1 <= int(found.group(2)) <= 12:
        return int(found.group(1)), int(found.group(2))
    example = "2022-07" if month else "2022"
    raise ValueError(f"{text!r} is not a period; write a year such as 2022, or a month such as 2022-07 "
                     f"(e.g. {example})")


def checked_rows(sheet: Sheet, spec: FileSeries, scope: Scope,
                 municipalities: Sequence[Mapping[str, str]]) -> pa.Table:
    """The file's rows for this series as `schema.ROWS`; FileError (file:row: column …) on any bad cell."""
    problems = _Problems()
    rows = _series_rows(sheet, spec, problems)
    problems.raise_any()
    ids: dict[str, str | NotFound] = {}
    seen: dict[tuple[str, int, str], int] = {}
    kept: list[tuple[str, int, str, float]] = []
    outside = 0
    first, last = scope.years[0], scope.years[-1]
    for number, cells in rows:
        text = _municipality_text(sheet.cell(cells, "municipality"))
        if not text:
            problems.add(f"{sheet.where(number, 'municipality')} empty; write a municipality id or name "
                         "(e.g. 0484 or Eskilstuna)")
            continue
        if text not in ids:
            try:
                ids[text] = match_municipality(text, municipalities)
            except NotFound as exc:
                ids[text] = exc
        area = ids[text]
        if isinstance(area, NotFound):
            problems.add(f"{sheet.where(number, 'municipality')} {area}")
            continue
        try:
            year, month = _period(sheet.cell(cells, "period"), spec.month)
        except ValueError as exc:
            problems.add(f"{sheet.where(number, 'period')} {exc}")
            continue
        if spec.month is None and month is not None:
            problems.add(f"{sheet.where(number, 'period')} {year}-{month:02d} is a month; set month = {month} in the "
                         "indicator to say which month stands for the year, or write years")
            continue
        if spec.month is not None and month is None:
            problems.add(f"{sheet.where(number, 'period')} {year} is a year, but the indicator says "
                         f"month = {spec.month}; write months such as {year}-{spec.month:02d}")
            continue
        if not first <= year <= last:
            problems.add(f"{sheet.where(number, 'period')} {year} is outside the config's years {first}–{last}; "
                         "remove the row or change [years]")
            continue
        gender = _gender(sheet, cells, number, problems)
        try:
            value = parse_number(sheet.cell(cells, "value"))
        except NotANumber as exc:
            problems.add(f"{sheet.where(number, 'value')} {exc}")
            continue
        if gender is None or (month is not None and month != spec.month):
            continue
        key = (area, year, gender)
        if key in seen:
            what = f"{area} {year}{f'-{month:02d}' if month else ''} gender {gender}"
            problems.add(f"{sheet.where(number)} the same figure twice: rows {seen[key]} and {number} are both {what}; "
                         "keep one")
            continue
        seen[key] = number
        if area not in scope.areas:
            outside += 1
        elif value is not None:
            kept.append((area, year, gender, value))
    problems.raise_any()
    if outside:
        log.info("%s: %d rows of %s are for municipalities outside the comparison; left out", scope.series_id,
                 outside, sheet.location)
    return _table(kept, scope.series_id)


def _municipality_text(cell: object) -> str:
    """Excel stores a typed 0484 as the number 484: a kommun code is four digits, so pad it back."""
    if isinstance(cell, float) and cell.is_integer():
        cell = int(cell)
    if isinstance(cell, int) and not isinstance(cell, bool) and 0 <= cell < 10_000:
        return f"{cell:04d}"
    return "" if cell is None else str(cell).strip()


def _series_rows(sheet: Sheet, spec: FileSeries, problems: _Problems) -> list[tuple[int, tuple[object, ...]]]:
    """The non-blank rows of the indicator's series (all of them when the file holds one series)."""
    filled = [(n, cells) for n, cells in sheet.rows if any(c not in (None, "") and str(c).strip() for c in cells)]
    if "series" not in sheet.columns:
        if spec.series is not None:
            problems.add(f"{sheet.where(sheet.header_row)} no column 'series' (or 'serie'), but the indicator says "
                         f"series = {spec.series!r}; add the column or remove series from the indicator")
        return filled
    named = [(n, cells, str(sheet.cell(cells, "series") or "").strip()) for n, cells in filled]
    names = sorted({s for _, _, s in named if s})
    if spec.series is None:
        if len(names) > 1:
            problems.add(f"{sheet.where(sheet.header_row)} the file holds several series "
                         f"({', '.join(map(repr, names))}); say which with series = {names[0]!r} in the indicator")
        return filled
    if spec.series not in names:
        problems.add(f"{sheet.where(sheet.header_row)} no row has series {spec.series!r}{near(spec.series, names)}; "
                     f"the file's series: {', '.join(map(repr, names)) or 'none'}")
    return [(n, cells) for n, cells, s in named if s == spec.series]


def _gender(sheet: Sheet, cells: tuple[object, ...], number: int, problems: _Problems) -> str | None:
    raw = sheet.cell(cells, "gender")
    text = "T" if raw is None or not str(raw).strip() else str(raw).strip().upper()
    if text in GENDERS:
        return text
    problems.add(f"{sheet.where(number, 'gender')} {str(raw).strip()!r} must be T (total), K (women) or M (men), "
                 "or empty for T")
    return None


def _table(kept: list[tuple[str, int, str, float]], series_id: str) -> pa.Table:
    frame = pd.DataFrame(kept, columns=["municipality_id", "period", "gender", "value"])
    frame.insert(0, "kpi", series_id)
    frame["period"] = frame["period"].astype("int32")
    frame["value"] = frame["value"].astype("float64")
    frame["count"] = pd.Series(pd.NA, index=frame.index, dtype="Int32")
    frame["status"] = None
    frame["source"] = SOURCE
    frame["isdeleted"] = False
    frame = frame.sort_values(["municipality_id", "period", "gender"], kind="stable")
    return pa.Table.from_pandas(frame[schema.ROWS.names], schema=schema.ROWS,
                                preserve_index=False).replace_schema_metadata(None)
