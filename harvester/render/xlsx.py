"""Documents as one workbook, a sheet per indicator, numbers stored as numbers.

A plan author copies from here into Word or keeps calculating, so each value is a real float with
a number format (which Swedish Excel shows with a space and a decimal comma) rather than text.
"""
from __future__ import annotations

import io
from collections.abc import Sequence

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from . import HOME_STYLE, SUMMARY_STYLE, Document, Table

MAX_SHEET_NAME = 31
_FORBIDDEN = str.maketrans({c: "_" for c in "[]:*?/\\"})
_HEADER_FILL = PatternFill("solid", fgColor="DCE6F1")
_HOME_FILL = PatternFill("solid", fgColor="FFF2CC")
_RULE = Border(bottom=Side(style="thin", color="8C8C8C"))
_BOLD_WIDTH = 1.2  # a bold heading is about a fifth wider than the character count says


def _font(**style: object) -> Font:
    """Calibri, Excel's default, named on every styled cell: a Font without a name makes LibreOffice use a serif."""
    return Font(name="Calibri", **style)


def sheet_names(ids: Sequence[str]) -> list[str]:
    """Excel's rules: at most 31 characters, none of []:*?/\\, unique regardless of case."""
    names: list[str] = []
    for raw in ids:
        base = raw.translate(_FORBIDDEN)[:MAX_SHEET_NAME] or "Blad"
        name, n = base, 1
        while name.casefold() in (x.casefold() for x in names):
            n += 1
            suffix = f"~{n}"
            name = base[: MAX_SHEET_NAME - len(suffix)] + suffix
        names.append(name)
    return names


def _write_table(ws: Worksheet, table: Table, top: int, widths: dict[int, int]) -> int:
    """Write caption, header and rows from row `top`; return the header row and grow `widths`."""
    ws.cell(top, 1, table.caption).font = _font(bold=True)
    header = top + 1
    for j, col in enumerate(table.columns, start=1):
        cell = ws.cell(header, j, col.header)
        cell.font, cell.fill, cell.border = _font(bold=True), _HEADER_FILL, _RULE
        cell.alignment = Alignment(horizontal="right" if col.numeric else "left", vertical="bottom", wrap_text=True)
        widths[j] = max(widths.get(j, 0), *(round(len(line) * _BOLD_WIDTH) for line in col.header.splitlines()))
    lines = max(len(col.header.splitlines()) for col in table.columns)
    ws.row_dimensions[header].height = 15 * lines  # neither Excel nor LibreOffice grows a row for wrapped text
    for i, row in enumerate(table.rows, start=header + 1):
        for j, (item, col) in enumerate(zip(row.cells, table.columns), start=1):
            cell = ws.cell(i, j, item.value if item.value is not None else item.text)
            if item.number_format:
                cell.number_format = item.number_format
            cell.alignment = Alignment(horizontal="right" if col.numeric else "left")
            if row.style == HOME_STYLE:
                cell.font, cell.fill = _font(bold=True), _HOME_FILL
            elif row.style == SUMMARY_STYLE:
                cell.font = _font(italic=True)
            widths[j] = max(widths.get(j, 0), len(item.text))
    return header


def _write_sheet(ws: Worksheet, doc: Document) -> None:
    ws.cell(1, 1, doc.heading).font = _font(bold=True, size=12)
    row = 3
    if doc.message:
        ws.cell(row, 1, doc.message)
        row += 2
    widths: dict[int, int] = {}
    headers = []
    for table in doc.tables:
        headers.append(_write_table(ws, table, row, widths))
        row = headers[-1] + len(table.rows) + 2
    for note in doc.footnotes:
        ws.cell(row, 1, note).font = _font(size=9)
        row += 1
    if headers:
        ws.freeze_panes = ws.cell(headers[0] + 1, 1)
    for j, width in widths.items():
        ws.column_dimensions[get_column_letter(j)].width = width + 3
    ws.page_setup.orientation = "landscape"
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0


def render_workbook(docs: Sequence[Document]) -> bytes:
    """The workbook as xlsx bytes, sheets named after the indicator ids in config order."""
    wb = Workbook()
    wb.remove(wb.active)
    for name, doc in zip(sheet_names([d.indicator_id for d in docs]), docs):
        _write_sheet(wb.create_sheet(name), doc)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
