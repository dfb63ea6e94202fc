"""Documents as one Word report (`report.docx`): the deliverable a plan author edits and sends on.

Laid out with python-docx from the same Documents as every other format. Word decides line breaks
by column width, so the widths are set here from what the cells hold: a numeric column is never
narrower than its longest number (numbers also carry no-break spaces and word joiners, and their
cells `noWrap`), and a heading column never narrower than its longest word, so "jämförelsegrupp"
is never split. The header row repeats on every page; text is Swedish and marked as such.
"""
from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

from docx import Document as new_word_document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.oxml.shape import CT_Inline
from docx.shared import Cm, Pt, RGBColor
from docx.table import Table as WordTable, _Cell

from .document import HOME_STYLE, QUARTILE_FILLS, SUMMARY_STYLE, Document, Table

FONT = "Calibri"
TABLE_PT = 8
PAGE_WIDTH_CM, PAGE_HEIGHT_CM, MARGIN_CM = 21.0, 29.7, 1.8
CHART_WIDTH_CM = 16.0
CM_PER_CHAR = 0.16  # Calibri 8 pt: digits are 0.507 em; letters about the same on average
CELL_PADDING_CM = 0.45  # Word's default cell margins, 0.19 cm each side, and a little air
MIN_TEXT_COLUMN_CM = 2.2
_HOME_FILL, _HEADER_FILL = "FFF2CC", "DCE6F1"


def _set(element: object, tag: str, **attrs: str) -> None:
    """Append a WordprocessingML element `tag` with `w:` attributes (what python-docx has no API for)."""
    child = OxmlElement(tag)
    for name, value in attrs.items():
        child.set(qn(f"w:{name}"), value)
    element.append(child)  # type: ignore[attr-defined]


def _styles(word: object) -> None:
    normal = word.styles["Normal"]  # type: ignore[attr-defined]
    normal.font.name, normal.font.size = FONT, Pt(10)
    fonts = normal.element.get_or_add_rPr()
    _set(fonts, "w:lang", val="sv-SE")
    for name in ("Title", "Heading 1", "Heading 2"):
        word.styles[name].font.name = FONT  # type: ignore[attr-defined]


def _needed(table: Table) -> tuple[list[float], list[bool]]:
    """The width each column needs in cm so no number and no heading word breaks, and which are numeric."""
    needed, numeric = [], []
    for j, col in enumerate(table.columns):
        words = [w for line in col.header.splitlines() for w in line.split()] or [""]
        head = max(len(w) for w in words) * 1.1
        cells = [len(row.cells[j].text) for row in table.rows] or [0]
        body = max(cells) if col.numeric else min(max(cells), 40)
        needed.append(max(head, body) * CM_PER_CHAR + CELL_PADDING_CM)
        numeric.append(col.numeric)
    return needed, numeric


def _fits(doc: Document, room: float) -> bool:
    """Whether every table of `doc` fits `room` cm with its text columns at their narrowest."""
    for table in doc.tables:
        needed, numeric = _needed(table)
        if sum(w if n else min(w, MIN_TEXT_COLUMN_CM) for w, n in zip(needed, numeric)) > room:
            return False
    return True


def _widths(table: Table, room: float) -> list[float]:
    """Column widths in cm: numbers never break, heading words never break, text columns share the rest."""
    needed, numeric = _needed(table)
    fixed = sum(w for w, n in zip(needed, numeric) if n)
    text = sum(w for w, n in zip(needed, numeric) if not n)
    if fixed + text > room and text:
        scale = max(0.0, room - fixed) / text
        needed = [w if n else max(min(w, MIN_TEXT_COLUMN_CM), w * scale) for w, n in zip(needed, numeric)]
    return needed


def _fill(cell: _Cell, colour: str) -> None:
    _set(cell._tc.get_or_add_tcPr(), "w:shd", val="clear", color="auto", fill=colour)  # noqa: SLF001


def _write_cell(cell: _Cell, text: str, *, numeric: bool, bold: bool = False, italic: bool = False) -> None:
    paragraph = cell.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT if numeric else WD_ALIGN_PARAGRAPH.LEFT
    paragraph.paragraph_format.space_after = Pt(0)
    run = paragraph.add_run(text)
    run.font.size, run.font.bold, run.font.italic = Pt(TABLE_PT), bold or None, italic or None
    if numeric:
        _set(cell._tc.get_or_add_tcPr(), "w:noWrap")  # noqa: SLF001


def _header_cell(cell: _Cell, header: str, numeric: bool) -> None:
    paragraph = cell.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT if numeric else WD_ALIGN_PARAGRAPH.LEFT
    paragraph.paragraph_format.space_after = Pt(0)
    lines = header.split("\n")
    for k, line in enumerate(lines):
        run = paragraph.add_run(line)
        run.font.size, run.font.bold = Pt(TABLE_PT), True
        if k < len(lines) - 1:
            run.add_break()
    _fill(cell, _HEADER_FILL)


def _table(word: object, table: Table, room: float) -> WordTable:
    caption = word.add_paragraph()  # type: ignore[attr-defined]
    caption.paragraph_format.keep_with_next = True
    caption.add_run(table.caption).bold = True
    grid = word.add_table(rows=1 + len(table.rows), cols=len(table.columns))  # type: ignore[attr-defined]
    grid.style = "Table Grid"
    grid.alignment = WD_TABLE_ALIGNMENT.LEFT
    grid.autofit = False
    widths = _widths(table, room)
    # python-docx finds a cell by walking the whole table each time; walk the rows once instead.
    trs = grid._tbl.tr_lst  # noqa: SLF001
    _set(trs[0].get_or_add_trPr(), "w:tblHeader")  # repeat on every page
    for tc, col in zip(trs[0].tc_lst, table.columns):
        _header_cell(_Cell(tc, grid), col.header, col.numeric)
    for tr, row in zip(trs[1:], table.rows):
        _set(tr.get_or_add_trPr(), "w:cantSplit")
        for tc, item, col in zip(tr.tc_lst, row.cells, table.columns):
            cell = _Cell(tc, grid)
            _write_cell(cell, item.text, numeric=col.numeric, bold=row.style == HOME_STYLE,
                        italic=row.style == SUMMARY_STYLE)
            if item.quartile:
                _fill(cell, QUARTILE_FILLS[item.quartile])
            elif row.style == HOME_STYLE:
                _fill(cell, _HOME_FILL)
    _set(grid._tbl.tblPr, "w:tblLayout", type="fixed")  # noqa: SLF001 - our widths, not the word processor's
    for j, width in enumerate(widths):
        grid.columns[j].width = Cm(width)  # the grid LibreOffice reads
    for tr in trs:
        for tc, width in zip(tr.tc_lst, widths):
            tc.width = Cm(width)  # the cell widths Word reads
    return grid


def _notes(word: object, notes: Sequence[str]) -> None:
    for note in notes:
        paragraph = word.add_paragraph()  # type: ignore[attr-defined]
        paragraph.paragraph_format.space_after = Pt(2)
        run = paragraph.add_run(note)
        run.font.size, run.font.color.rgb = Pt(8), RGBColor(0x40, 0x40, 0x40)


def _page(word: object, landscape: bool) -> float:
    """Start a new page section in the orientation asked for; return the width tables may use."""
    section = word.add_section(WD_SECTION.NEW_PAGE)  # type: ignore[attr-defined]
    _orient(section, landscape)
    return section.page_width.cm - 2 * MARGIN_CM


def _orient(section: object, landscape: bool) -> None:
    long, short = Cm(PAGE_HEIGHT_CM), Cm(PAGE_WIDTH_CM)
    section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT  # type: ignore[attr-defined]
    section.page_width, section.page_height = (long, short) if landscape else (short, long)  # type: ignore[attr-defined]
    section.left_margin = section.right_margin = Cm(MARGIN_CM)  # type: ignore[attr-defined]


class _Pictures:
    """Adds charts with shape ids of our own: python-docx finds the next free id by scanning the whole
    document for every picture, which made 168 charts cost seconds. Ids start above any the
    document has when the first picture goes in (the tables before it carry none of their own)."""

    def __init__(self) -> None:
        self.last: int | None = None

    def add(self, word: object, png: bytes) -> None:
        part = word.part  # type: ignore[attr-defined]
        if self.last is None:
            self.last = part.next_id - 1
        self.last += 1
        rid, image = part.get_or_add_image(io.BytesIO(png))
        cx, cy = image.scaled_dimensions(Cm(CHART_WIDTH_CM), None)
        run = word.add_paragraph().add_run()  # type: ignore[attr-defined]
        run._r.add_drawing(CT_Inline.new_pic_inline(self.last, rid, image.filename, cx, cy))  # noqa: SLF001


def _section(word: object, doc: Document, chart: bytes | None, room: float, pictures: _Pictures) -> None:
    word.add_heading(doc.heading, level=1)  # type: ignore[attr-defined]
    _notes(word, doc.intro)
    if doc.message:
        word.add_paragraph(doc.message)  # type: ignore[attr-defined]
    for table in doc.tables:
        _table(word, table, room)
        word.add_paragraph()  # type: ignore[attr-defined]
    if chart:
        pictures.add(word, chart)
    _notes(word, doc.footnotes)


def render_docx(title: str, subtitle: str, overview: Document, docs: Sequence[Document],
                charts: Mapping[str, bytes]) -> bytes:
    """The Word report: a title, the overview, then a section per indicator with its table, chart and notes."""
    word = new_word_document()
    _styles(word)
    portrait = PAGE_WIDTH_CM - 2 * MARGIN_CM
    # The first page holds the title, the legend and the start of the overview: it takes the
    # overview's orientation instead of leaving the title alone on a portrait page.
    landscape, pictures = not _fits(overview, portrait), _Pictures()
    _orient(word.sections[0], landscape=landscape)
    word.add_heading(title, level=0)
    word.add_paragraph(subtitle)
    first = word.sections[0].page_width.cm - 2 * MARGIN_CM
    for k, (doc, chart) in enumerate([(overview, None), *((d, charts.get(d.indicator_id)) for d in docs)]):
        wide = not _fits(doc, portrait)  # a table too wide for a portrait page gets a landscape one
        room = first if k == 0 else _page(word, wide) if wide or landscape else portrait
        landscape = wide
        _section(word, doc, chart, room, pictures)
    buffer = io.BytesIO()
    word.save(buffer)
    return buffer.getvalue()
