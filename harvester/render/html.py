"""A Document as a complete HTML5 page whose table pastes into Word and LibreOffice as a real table.

Styles are inline and plain (borders, padding, alignment, bold, background) because that is what
Word keeps when a table is pasted from a browser or opened from a file; classes and stylesheets
are lost on the way. Every text is escaped: KPI titles come from Kolada, not from us.
"""
from __future__ import annotations

import base64
from collections.abc import Iterator, Mapping, Sequence
from html import escape

from .document import HOME_STYLE, QUARTILE_FILLS, SUMMARY_STYLE, Cell, Column, Document, Row, Table

_FONT = "font-family:Calibri,Arial,sans-serif"
# Little padding: LibreOffice leaves CSS padding out of its column widths, so wider padding makes it
# split "2015" and "1 474" over two lines.
_BORDER = "border:1px solid #8c8c8c;padding:1pt 2pt"
_ROW_STYLES = {HOME_STYLE: "font-weight:bold;background:#fff2cc", SUMMARY_STYLE: "font-style:italic"}


def _align(column: Column) -> str:
    return "text-align:right;white-space:nowrap" if column.numeric else "text-align:left"


def _header(columns: tuple[Column, ...]) -> str:
    # Break headings where the model says, not where the word processor happens to ("median, / %").
    cells = "".join(f'<th style="{_BORDER};{_align(c)};background:#dce6f1;vertical-align:bottom">'
                    f'{"<br>".join(escape(line) for line in c.header.splitlines())}</th>' for c in columns)
    return f"<thead><tr>{cells}</tr></thead>"


def _fill(cell: Cell) -> str:
    """A quartile colour as an inline background, which a paste into Word keeps."""
    return f";background:#{QUARTILE_FILLS[cell.quartile]}" if cell.quartile else ""


def _row(row: Row, columns: tuple[Column, ...]) -> str:
    extra = _ROW_STYLES.get(row.style, "")
    cells = "".join(f'<td style="{_BORDER};{_align(col)};{extra}{_fill(cell)}">{escape(cell.text)}</td>'
                    for cell, col in zip(row.cells, columns))
    return f"<tr>{cells}</tr>"


def _table(table: Table) -> str:
    body = "\n".join(_row(r, table.columns) for r in table.rows)
    return (f'<table style="border-collapse:collapse;{_FONT};font-size:9pt;margin:0 0 10pt 0">\n'
            f'<caption style="text-align:left;font-weight:bold;padding:0 0 3pt 0">{escape(table.caption)}</caption>\n'
            f"{_header(table.columns)}\n<tbody>\n{body}\n</tbody>\n</table>")


def _section(doc: Document, chart: bytes | None = None) -> str:
    parts = [f'<h2 style="{_FONT};font-size:12pt">{escape(doc.heading)}</h2>']
    parts += [f'<p style="{_FONT};font-size:9pt">{escape(line)}</p>' for line in doc.intro]
    if doc.message:
        parts.append(f"<p>{escape(doc.message)}</p>")
    parts += [_table(t) for t in doc.tables]
    if chart:  # embedded, so the page is one file that can be e-mailed
        data = base64.b64encode(chart).decode("ascii")
        parts.append(f'<p><img src="data:image/png;base64,{data}" alt="{escape(doc.heading)}" '
                     'style="width:16cm;max-width:100%"></p>')
    parts += [f'<p style="{_FONT};font-size:8pt;margin:2pt 0">{escape(n)}</p>' for n in doc.footnotes]
    return "\n".join(parts)


def _page(title: str, body: str) -> str:
    return ('<!DOCTYPE html>\n<html lang="sv">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{escape(title)}</title>\n</head>\n<body style=\"{_FONT};font-size:10pt\">\n{body}\n</body>\n</html>\n")


def render_html(doc: Document) -> str:
    """One Document as a page whose tables paste into Word as real tables."""
    return _page(doc.heading, _section(doc))


def render_report_html(title: str, subtitle: str, overview: Document, docs: Sequence[Document],
                       charts: Mapping[str, bytes]) -> Iterator[str]:
    """Every indicator on one self-contained page (charts embedded, no scripts, no external files).

    Yielded a section at a time: with 168 embedded charts the page is tens of megabytes, which
    need not be in memory at once."""
    head, tail = _page(title, "\0").split("\0")
    yield head
    yield f'<h1 style="{_FONT};font-size:16pt">{escape(title)}</h1>\n<p>{escape(subtitle)}</p>\n'
    yield _section(overview)
    for doc in docs:
        yield "\n" + _section(doc, charts.get(doc.indicator_id))
    yield tail
