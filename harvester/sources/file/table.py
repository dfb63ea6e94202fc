"""A CSV file or an Excel sheet as its header and rows, each row with the number the author sees.

Error messages name `file:row`, so rows keep the line number of the CSV file (header = 1) or the
row number Excel shows. CSV comes from pandas (every cell as text, blank lines kept so numbers
stay true), xlsx from openpyxl directly (typed cells: a number Excel stored needs no parsing).
Swedish Excel writes CSV with ";" (the comma is the decimal sign) and in Windows-1252; both are read.
"""
from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ...errors import ConfigError
from .spec import near

# Each column the file may have, and the header words that name it (compared without case).
COLUMNS: dict[str, tuple[str, ...]] = {
    "municipality": ("municipality", "kommun"),
    "period": ("period", "år"),
    "value": ("value", "värde"),
    "gender": ("gender", "kön"),
    "series": ("series", "serie"),
}
REQUIRED = ("municipality", "period", "value")
SEPARATORS = (";", "\t", ",")


class FileError(ConfigError):
    """A file the config points at cannot be used (the author's mistake: exit 2); the message starts with file:row."""


@dataclass(frozen=True)
class Sheet:
    """`columns`: our column name → index in each row; `headers`: the header as written, by index."""

    location: Path
    header_row: int
    headers: tuple[str, ...]
    columns: dict[str, int]
    rows: tuple[tuple[int, tuple[object, ...]], ...]  # (row number, cells)

    def where(self, row: int, column: str | None = None) -> str:
        """`file:row: column 'värde':` — the start of every message about a cell."""
        place = f"{self.location}:{row}:"
        return f"{place} column {self.headers[self.columns[column]]!r}:" if column else place

    def cell(self, cells: tuple[object, ...], column: str) -> object:
        index = self.columns.get(column)
        return cells[index] if index is not None and index < len(cells) else None


def read_sheet(location: Path, data: bytes, sheet: str | None) -> Sheet:
    """The file's header and rows; FileError for an unreadable file, an unknown sheet or a missing column."""
    if location.suffix.lower() == ".xlsx":
        header_row, raw = _xlsx_rows(location, data, sheet)
    else:
        header_row, raw = _csv_rows(location, data)
    if header_row == 0:
        raise FileError(f"{location}: the file is empty; it needs a header row with "
                        f"{', '.join(REQUIRED)} (optional: gender, series)")
    header = tuple("" if c is None else str(c).strip() for c in raw[0])
    columns: dict[str, int] = {}
    words = {word: name for name, aliases in COLUMNS.items() for word in aliases}
    for index, text in enumerate(header):
        name = words.get(text.casefold())
        if name is None:
            continue  # the author's own notes beside the figures
        if name in columns:
            raise FileError(f"{location}:{header_row}: columns {header[columns[name]]!r} and {text!r} both mean "
                            f"{name}; keep one")
        columns[name] = index
    for name in REQUIRED:
        if name not in columns:
            raise FileError(f"{location}:{header_row}: no column {name!r} (also accepted: "
                            f"{', '.join(repr(a) for a in COLUMNS[name][1:])})"
                            f"{near(name, [h for h in header if h])}; the header has: "
                            f"{', '.join(repr(h) for h in header if h) or 'nothing'}; needed: {', '.join(REQUIRED)}, "
                            "optional: gender, series")
    rows = tuple((header_row + n, tuple(cells)) for n, cells in enumerate(raw[1:], start=1))
    return Sheet(location, header_row, header, columns, rows)


def _csv_rows(location: Path, data: bytes) -> tuple[int, list[Sequence[object]]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")  # Excel's "CSV (semikolonavgränsad)" on Windows
    first = text.split("\n", 1)[0]
    if not first.strip():
        return 0, []
    sep = max(SEPARATORS, key=first.count)
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, header=None,
                            skip_blank_lines=False, engine="python")
    except (pd.errors.ParserError, ValueError) as exc:
        raise FileError(f"{location}: cannot read as CSV ({exc})") from None
    return 1, [tuple(row) for row in frame.fillna("").itertuples(index=False)]  # a blank line: empty cells


def _xlsx_rows(location: Path, data: bytes, sheet: str | None) -> tuple[int, list[Sequence[object]]]:
    from openpyxl import load_workbook  # only for xlsx: an import that costs a CSV-only harvest nothing

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
        raise FileError(f"{location}: cannot read as an Excel workbook (.xlsx): {exc}") from None
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise FileError(f"{location}: no sheet {sheet!r}{near(sheet, book.sheetnames)}; the sheets: "
                            f"{', '.join(repr(s) for s in book.sheetnames)}")
        ws = book[sheet] if sheet is not None else book.worksheets[0]
        rows = [tuple(r) for r in ws.iter_rows(values_only=True)]
    finally:
        book.close()
    first = next((n for n, r in enumerate(rows) if any(c not in (None, "") for c in r)), None)
    if first is None:
        return 0, []
    return first + 1, rows[first:]
