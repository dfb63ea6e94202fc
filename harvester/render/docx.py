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
from xml.sax.saxutils import escape

from docx import Document as new_word_document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.image.image import Image
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml.shape import CT_Inline
from docx.shared import Cm, Pt

from .document import HOME_STYLE, QUARTILE_FILLS, SUMMARY_STYLE, Document, Table

FONT = "Calibri"
TABLE_PT = 8
PAGE_WIDTH_CM, PAGE_HEIGHT_CM, MARGIN_CM = 21.0, 29.7, 1.8
CHART_WIDTH_CM = 16.0
CM_PER_CHAR = 0.16  # Calibri 8 pt: digits are 0.507 em; letters about the same on average
CELL_PADDING_CM = 0.45  # Word's default cell margins, 0.19 cm each side, and a little air
MIN_TEXT_COLUMN_CM = 2.2
_HOME_FILL, _HEADER_FILL = "FFF2CC", "DCE6F1"
NOTE_FONT = '<w:color w:val="404040"/><w:sz w:val="16"/>'  # 8 pt, dark grey
NOTE_SPACING = Pt(2).twips  # space after a note; w:spacing counts twentieths of a point, as twips are


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


def _run_xml(text: str, props: str, br: bool = False) -> str:
    """A run as python-docx writes `add_run(text)` with the run properties `props`. Table and note
    text is plain and stripped (`document.Cell`, `Column`, `Document`: no tab, no edge space, a
    header's line breaks split off before), so one `w:t` holds it all, as there."""
    content = f"<w:t>{escape(text)}</w:t>" if text else ""
    return f"<w:r><w:rPr>{props}</w:rPr>{content}{'<w:br/>' if br else ''}</w:r>"


def _table_font(bold: bool = False, italic: bool = False) -> str:
    return ("<w:b/>" if bold else "") + ("<w:i/>" if italic else "") + f'<w:sz w:val="{2 * TABLE_PT}"/>'


def _cell_xml(twips: int, runs: str, *, numeric: bool, no_wrap: bool, fill: str | None) -> str:
    shading = f'<w:shd w:val="clear" w:color="auto" w:fill="{fill}"/>' if fill else ""
    return (f'<w:tc><w:tcPr><w:tcW w:type="dxa" w:w="{twips}"/>{"<w:noWrap/>" if no_wrap else ""}{shading}</w:tcPr>'
            f'<w:p><w:pPr><w:spacing w:after="0"/><w:jc w:val="{"right" if numeric else "left"}"/></w:pPr>{runs}</w:p>'
            "</w:tc>")


def _table_xml(table: Table, widths: Sequence[float], style_id: str) -> str:
    """A table's WordprocessingML, written as one string and parsed once.

    Cell by cell through python-docx this was most of the Word report's time (it looks up and
    creates every child element in Python). The XML is what those calls wrote: a header row that
    repeats on every page, rows that never split across pages, numbers right-aligned and never
    wrapped, the home row bold, summary rows italic, quartile and home fills, and fixed widths,
    given twice (the cells for Word, the grid for LibreOffice).
    """
    twips = [Cm(w).twips for w in widths]
    columns = list(zip(table.columns, twips))
    head = "".join(
        _cell_xml(tw, "".join(_run_xml(line, _table_font(bold=True), br=k < len(lines) - 1) for k, line in enumerate(lines)),
                  numeric=col.numeric, no_wrap=False, fill=_HEADER_FILL)
        for col, tw in columns for lines in [col.header.split("\n")])
    rows = []
    for row in table.rows:
        home, summary = row.style == HOME_STYLE, row.style == SUMMARY_STYLE
        cells = "".join(
            _cell_xml(tw, _run_xml(item.text, _table_font(bold=home, italic=summary)), numeric=col.numeric,
                      no_wrap=col.numeric,
                      fill=QUARTILE_FILLS[item.quartile] if item.quartile else _HOME_FILL if home else None)
            for item, (col, tw) in zip(row.cells, columns))
        rows.append(f"<w:tr><w:trPr><w:cantSplit/></w:trPr>{cells}</w:tr>")
    grid = "".join(f'<w:gridCol w:w="{tw}"/>' for tw in twips)
    style = escape(style_id, {'"': "&quot;"})
    # tblLayout twice, as python-docx's `autofit = False` and then our own fixed layout wrote it.
    return (f'<w:tbl {nsdecls("w")}><w:tblPr><w:tblStyle w:val="{style}"/>'
            '<w:tblW w:type="auto" w:w="0"/><w:jc w:val="left"/><w:tblLayout w:type="fixed"/>'
            '<w:tblLook w:firstColumn="1" w:firstRow="1" w:lastColumn="0" w:lastRow="0" w:noHBand="0" '
            'w:noVBand="1" w:val="04A0"/><w:tblLayout w:type="fixed"/></w:tblPr>'
            f"<w:tblGrid>{grid}</w:tblGrid><w:tr><w:trPr><w:tblHeader/></w:trPr>{head}</w:tr>{''.join(rows)}</w:tbl>")


def _table(word: object, table: Table, room: float) -> None:
    caption = word.add_paragraph()  # type: ignore[attr-defined]
    caption.paragraph_format.keep_with_next = True
    caption.add_run(table.caption).bold = True
    style_id = word.styles["Table Grid"].style_id  # type: ignore[attr-defined]
    word.element.body._insert_tbl(parse_xml(_table_xml(table, _widths(table, room), style_id)))  # type: ignore[attr-defined]  # noqa: SLF001


def _notes(word: object, notes: Sequence[str]) -> None:
    """Small grey paragraphs, 2 pt apart, as XML: python-docx reads a run's text character by
    character, and a big group's notes list hundreds of names."""
    body = word.element.body  # type: ignore[attr-defined]
    for note in notes:
        body._insert_p(parse_xml(f'<w:p {nsdecls("w")}><w:pPr><w:spacing w:after="{NOTE_SPACING}"/></w:pPr>'  # noqa: SLF001
                                 f'{_run_xml(note, NOTE_FONT)}</w:p>'))


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
    """Adds charts with shape ids and picture parts of our own bookkeeping: python-docx finds the next
    free id by scanning the whole document for every picture, and looks for an identical picture
    by hashing every picture already added, which made 168 charts cost seconds. Ids start above
    any the document has when the first picture goes in (the tables before it carry none of their
    own); a chart identical to an earlier one shares its part, as python-docx would have it."""

    def __init__(self) -> None:
        self.last: int | None = None
        self.added: dict[str, tuple[str, Image]] = {}  # sha1 -> relationship id, image

    def add(self, word: object, png: bytes) -> None:
        part = word.part  # type: ignore[attr-defined]
        if self.last is None:
            self.last = part.next_id - 1
        self.last += 1
        image = Image.from_blob(png)
        if image.sha1 not in self.added:
            image_part = part.package.image_parts._add_image_part(image)  # noqa: SLF001 - without the hashing search
            self.added[image.sha1] = part.relate_to(image_part, RT.IMAGE), image_part.image
        rid, image = self.added[image.sha1]
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
