"""Documents as one workbook, a sheet per indicator, numbers stored as numbers.

A plan author copies from here into Word or keeps calculating, so each value is a real float with
a number format (which Swedish Excel shows with a space and a decimal comma) rather than text.
"""
from __future__ import annotations

import io
from collections.abc import Sequence
from copy import copy

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.cell.cell import Cell
from openpyxl.styles.cell_style import StyleArray
from openpyxl.worksheet.worksheet import Worksheet

from .document import HOME_STYLE, MISSING_MARK_NOTE, QUARTILE_FILLS, SUMMARY_STYLE, Cell as DocCell, Column, Document, Table
from .numbers import MISSING

MAX_SHEET_NAME = 31
MAX_COLUMN_WIDTH = 80  # characters; Excel allows 255, a readable table far less
_FORBIDDEN = str.maketrans({c: "_" for c in "[]:*?/\\"})
_HEADER_FILL = PatternFill("solid", fgColor="DCE6F1")
_HOME_FILL = PatternFill("solid", fgColor="FFF2CC")
_QUARTILE_FILLS = {q: PatternFill("solid", fgColor=colour) for q, colour in QUARTILE_FILLS.items()}
_RULE = Border(bottom=Side(style="thin", color="8C8C8C"))
_BOLD_WIDTH = 1.2  # a bold heading is about a fifth wider than the character count says


def _font(**style: object) -> Font:
    """Calibri, Excel's default, named on every styled cell: a Font without a name makes LibreOffice use a serif."""
    return Font(name="Calibri", **style)


def sheet_names(ids: Sequence[str], taken: Sequence[str] = ()) -> list[str]:
    """Excel's rules: at most 31 characters, none of []:*?/\\, unique regardless of case (also against `taken`)."""
    names: list[str] = list(taken)
    for raw in ids:
        base = raw.translate(_FORBIDDEN)[:MAX_SHEET_NAME] or "Blad"
        name, n = base, 1
        while name.casefold() in (x.casefold() for x in names):
            n += 1
            suffix = f"~{n}"
            name = base[: MAX_SHEET_NAME - len(suffix)] + suffix
        names.append(name)
    return names[len(taken):]


def _put(ws: Worksheet, row: int, column: int, value: object) -> Cell:
    """A cell holding `value`; text always as text, so a title starting with "=" is never a formula."""
    cell = ws.cell(row, column, value)
    if isinstance(value, str):
        cell.data_type = "s"
    return cell


def _sheet_columns(table: Table) -> list[tuple[str, bool]]:
    """(header, numeric) of each spreadsheet column: a column with `sheet` headers becomes several."""
    return [(h, col.numeric) for col in table.columns for h in (col.sheet or (col.header,))]


def _sheet_values(item: DocCell, col: Column) -> list[tuple[object, str | None]]:
    """What each spreadsheet column of a cell holds: numbers as numbers, a missing number as nothing."""
    if col.sheet:
        parts = item.parts or ((None, None),) * len(col.sheet)
        return [(value, fmt) for value, fmt in parts]
    if item.value is not None:
        return [(item.value, item.number_format)]
    return [(None if item.text == MISSING else item.text, None)]


def _write_table(ws: Worksheet, table: Table, top: int, widths: dict[int, int], styles: _BodyStyles) -> int:
    """Write caption, header and rows from row `top`; return the header row and grow `widths`."""
    _put(ws, top, 1, table.caption).font = _font(bold=True)
    header = top + 1
    columns = _sheet_columns(table)
    for j, (title, numeric) in enumerate(columns, start=1):
        cell = _put(ws, header, j, title)
        cell.font, cell.fill, cell.border = _font(bold=True), _HEADER_FILL, _RULE
        cell.alignment = Alignment(horizontal="right" if numeric else "left", vertical="bottom", wrap_text=True)
        widths[j] = max(widths.get(j, 0), *(round(len(line) * _BOLD_WIDTH) for line in title.splitlines()))
    lines = max(len(title.splitlines()) for title, _ in columns)
    ws.row_dimensions[header].height = 15 * lines  # neither Excel nor LibreOffice grows a row for wrapped text
    for i, row in enumerate(table.rows, start=header + 1):
        values = [v for item, col in zip(row.cells, table.columns) for v in _sheet_values(item, col)]
        marks = [item.quartile for item, col in zip(row.cells, table.columns) for _ in (col.sheet or (col.header,))]
        for j, ((value, fmt), (_, numeric), mark) in enumerate(zip(values, columns, marks), start=1):
            cell = _put(ws, i, j, value)
            styles.apply(cell, (fmt if value is not None else None, numeric, row.style, mark))
            widths[j] = max(widths.get(j, 0), len(str(value)) if value is not None else 0)
    return header


class _BodyStyles:
    """A body cell's style, set through openpyxl once per combination and copied after that.

    Setting font, fill, alignment and number format cell by cell makes openpyxl hash each style
    object to find it among the workbook's: most of the workbook's time for 168 sheets. A cell's
    style is a row of those ids (`_style`), the same for every cell set alike, so the first cell of
    each kind takes the ids and the others copy them: the workbook is the same, byte for byte.
    """

    def __init__(self) -> None:
        self.known: dict[tuple[object, ...], StyleArray] = {}

    def apply(self, cell: Cell, kind: tuple[str | None, bool, str, str | None]) -> None:
        """`kind`: the number format (None: none), numeric (right-aligned), the row's style, the quartile."""
        known = self.known.get(kind)
        if known is not None:
            cell._style = copy(known)  # noqa: SLF001
            return
        fmt, numeric, style, mark = kind
        if fmt:
            cell.number_format = fmt
        cell.alignment = Alignment(horizontal="right" if numeric else "left")
        if style == HOME_STYLE:
            cell.font, cell.fill = _font(bold=True), _HOME_FILL
        elif style == SUMMARY_STYLE:
            cell.font = _font(italic=True)
        if mark:
            cell.fill = _QUARTILE_FILLS[mark]
        self.known[kind] = copy(cell._style)  # noqa: SLF001


def _write_sheet(ws: Worksheet, doc: Document, styles: _BodyStyles) -> None:
    _put(ws, 1, 1, doc.heading).font = _font(bold=True, size=12)
    row = 3
    for line in doc.intro:
        _put(ws, row, 1, line).font = _font(size=9)
        row += 1
    row += 1 if doc.intro else 0
    if doc.message:
        _put(ws, row, 1, doc.message)
        row += 2
    widths: dict[int, int] = {}
    headers = []
    for table in doc.tables:
        headers.append(_write_table(ws, table, row, widths, styles))
        row = headers[-1] + len(table.rows) + 2
    for note in doc.footnotes:
        if note.startswith(MISSING_MARK_NOTE):  # the sheet leaves a missing value's cell empty
            note = "Tom cell =" + note[len(MISSING_MARK_NOTE):]
        _put(ws, row, 1, note).font = _font(size=9)
        row += 1
    if headers:
        ws.freeze_panes = ws.cell(headers[0] + 1, 1)
    for j, width in widths.items():
        ws.column_dimensions[get_column_letter(j)].width = min(width + 3, MAX_COLUMN_WIDTH)
    ws.page_setup.orientation = "landscape"
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0


OVERVIEW_SHEET = "Översikt"


def render_workbook(docs: Sequence[Document], overview: Document | None = None) -> bytes:
    """The workbook as xlsx bytes: "Översikt" first when given, then a sheet per indicator in config order."""
    wb = Workbook()
    wb.remove(wb.active)
    styles = _BodyStyles()  # the ids it keeps are this workbook's
    if overview is not None:
        _write_sheet(wb.create_sheet(OVERVIEW_SHEET), overview, styles)
    taken = [OVERVIEW_SHEET] if overview is not None else []
    for name, doc in zip(sheet_names([d.indicator_id for d in docs], taken), docs):
        _write_sheet(wb.create_sheet(name), doc, styles)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
