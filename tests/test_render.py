"""Swedish numbers, and the Markdown, HTML, xlsx and PNG a plan author pastes."""
from __future__ import annotations

from dataclasses import replace
import io
import re
from html.parser import HTMLParser

import matplotlib.image
import openpyxl
import pandas as pd
import pytest

from harvester import compare
from harvester.config import Indicator, Target
from harvester.compare import MIDDLE
from harvester.render.document import QUARTILE_FILLS, Document, build_document
from harvester.render.charts import render_chart
from harvester.render.html import render_html
from harvester.render.markdown import render_markdown
from harvester.render.numbers import (MISSING, excel_format, format_number, format_percent, format_plain,
                                      format_signed)
from harvester.render.xlsx import render_workbook, sheet_names
from tests.test_compare import HOME, values_frame

NBSP = "\u00a0"
PEERS = ["0201", "0202", "0203"]
TITLES = {HOME: "Hemby", "0201": "Ettby", "0202": "Tvåby", "0203": "Treby", "0000": "Riket"}
# 2021: home missing; 2022: home 1 837.12, peers 1 500, 2 000 and none; Riket 1 700.
VALUES = values_frame({HOME: {2020: 1731.0, 2022: 1837.12}, "0201": {2020: 1400.0, 2021: 1450.0, 2022: 1500.0},
                       "0202": {2020: 1900.0, 2021: 1950.0, 2022: 2000.0}, "0203": {2020: 1600.0, 2022: None},
                       "0000": {2020: 1650.0, 2021: 1680.0, 2022: 1700.0}})
GROUPS = pd.DataFrame([{"group_id": "G1", "title": "Liknande kommuner, 2026", "member_id": m, "member_title": TITLES[m],
                        "read_at": pd.Timestamp("2026-03-15", tz="UTC")} for m in PEERS])
COMPARISON = compare.comparison_set(GROUPS, ["G1"], [], HOME, TITLES)


@pytest.mark.parametrize("value, decimals, text", [
    (1837.12, 0, f"1{NBSP}837"), (1837.12, 2, f"1{NBSP}837,12"), (12.44, 1, "12,4"), (2.5, 0, "3"),
    (0.05, 1, "0,1"), (-0.04, 1, "0,0"), (1234567.0, 0, f"1{NBSP}234{NBSP}567"), (None, 0, "\u2013"),
    (float("nan"), 1, "\u2013"), (pd.NA, 1, "\u2013"),  # an en dash, never a zero
])
def test_format_number(value, decimals, text):
    assert format_number(value, decimals) == text


def test_signed_percent_and_plain_formats():
    assert format_signed(37.4) == "+37"
    assert format_signed(-1134.6) == f"\u22121{NBSP}135"  # the minus sign, not a hyphen
    assert format_number(-3.45, 1) == "\u22123,5" and format_plain(-0.5) == "\u22120,5"
    assert format_signed(0.2) == "0" and format_signed(None) == MISSING
    assert format_percent(4.89) == f"4,9{NBSP}%"
    assert format_percent(4.89, signed=True) == f"+4,9{NBSP}%"
    assert format_percent(-15.94, signed=True) == f"\u221215,9{NBSP}%"
    assert format_plain(1731.0) == f"1{NBSP}731" and format_plain(1837.123) == f"1{NBSP}837,12"
    assert excel_format(0) == "#,##0" and excel_format(1) == "#,##0.0"
    assert excel_format(0, signed=True) == "+#,##0;-#,##0;#,##0"
    assert excel_format(1, signed=True, percent=True) == '+#,##0.0" %";-#,##0.0" %";#,##0.0" %"'


def document(ind: Indicator, values: pd.DataFrame = VALUES, revised: pd.DataFrame | None = None) -> Document:
    peers = compare.peer_values(values, ind, HOME, PEERS)
    peers["title"] = peers["municipality_id"].map(TITLES)
    bench = compare.benchmark(values, ind, HOME, PEERS)
    revised = revised if revised is not None else pd.DataFrame(columns=["municipality_id", "period", "old_value",
                                                                          "new_value", "change", "detected_at"])
    return build_document(bench, peers, indicator=ind, home_title="Hemby", comparison=COMPARISON, unit="kr/inv",
                          decimals=0, riket=True, revised=revised, checked=pd.Timestamp("2026-11-23").date(),
                          changed=pd.Timestamp("2026-11-22").date())


COST = Indicator(id="kostnad", label="Kostnad <script>alert(1)</script> | vuxna", series_id="N00001", direction="lower",
                 target=Target(1250.0, 2027))


class TableShape(HTMLParser):
    """Collects what a browser, Word and LibreOffice build a table from."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.rows: list[list[str]] = []
        self.text: list[str] = []
        self._cell: list[str] | None = None

    def handle_decl(self, decl: str) -> None:
        self.tags.append(f"!{decl.lower()}")

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "tr":
            self.rows.append([])
        if tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def test_html_is_a_complete_document_with_real_tables_and_escaped_kolada_text():
    page = render_html(document(COST))
    assert "<script>" not in page and "&lt;script&gt;" in page
    shape = TableShape()
    shape.feed(page)
    assert shape.tags[:3] == ["!doctype html", "html", "head"]
    assert shape.tags.count("table") == 2 and shape.tags.count("thead") == 2 and shape.tags.count("tbody") == 2
    assert shape.tags.count("caption") == 2
    header, *body = shape.rows[:4]
    assert header[:4] == ["År", "Hemby", "Medianjämförelsegrupp", "Min–max"]  # <br> between the two words
    assert header[-1] == "Skillnadmot mål"
    assert all(len(r) == len(header) for r in body) and shape.rows[4][0] == "Rang"
    joined = "\u2060–\u2060"  # word joiners: the range never breaks at its dash
    assert body[0][:5] == ["2020", f"1{NBSP}731", f"1{NBSP}600", f"1{NBSP}400{joined}1{NBSP}900", f"3{NBSP}av{NBSP}4"]
    assert body[1][1] == MISSING and body[1][4] == MISSING  # 2021: no home value, no rank
    assert body[2][:5] == ["2022", f"1{NBSP}837", f"1{NBSP}750", f"1{NBSP}500{joined}2{NBSP}000", f"2{NBSP}av{NBSP}3"]
    text = "".join(shape.text)
    assert "Källa: Kolada (RKA); jämförelser: egen bearbetning." in text
    assert "lägre är bättre" in text and "Treby" in text and "2022: Treby" in text


def test_home_row_is_marked_in_html_and_markdown():
    doc = document(COST)
    assert '<td style="border:1px solid #8c8c8c;padding:1pt 2pt;text-align:right;white-space:nowrap;' \
           'font-weight:bold;background:#fff2cc">2</td>' in render_html(doc)
    md = render_markdown(doc)
    # Rank 2 of 4: neither the best quarter (r ≤ 1) nor the worst (r > 3); Markdown says it in words.
    assert f"| **2** | **Hemby** | **1{NBSP}837 (mellersta hälften)** |" in md
    assert f"| 1 | Ettby | 1{NBSP}500 |" in md and f"| {MISSING} | Treby | {MISSING} |" in md


def test_markdown_escapes_kolada_text_and_keeps_table_shape():
    md = render_markdown(document(COST))
    assert md.startswith("## Kostnad \\<script\\>alert(1)\\</script\\> \\| vuxna, kr/inv – Hemby jämfört med")
    table = [line for line in md.splitlines() if line.startswith("|")]
    assert table[1] == "|:---|---:|---:|---:|---:|---:|---:|---:|---:|"
    assert len(table[0].split(" | ")) == 9 and {line.count("|") for line in table[:5]} == {10}


def test_direction_none_has_no_rank_column_and_says_why():
    doc = document(Indicator(id="x", label="Kostnad", series_id="N00001", direction="none"))
    assert [c.header for c in doc.tables[1].columns] == ["Kommun", "Värde 2022\n(kr/inv)"]
    assert "Rang" not in [c.header for c in doc.tables[0].columns]
    assert any(n.startswith("Ingen rangordning") for n in doc.footnotes)
    assert [r.cells[0].text for r in doc.tables[1].rows][:3] == ["Tvåby", "Hemby", "Ettby"]  # highest first


def test_target_note_and_gap_column():
    doc = document(COST)
    assert f"Mål: ≤{NBSP}1{NBSP}250 kr/inv (2027). Skillnad mot mål = Hemby − mål; 2022: +587 kr/inv." in doc.footnotes
    assert doc.tables[0].rows[-1].cells[-1].text == "+587"


def test_revision_note_in_swedish_numbers():
    revised = pd.DataFrame([{"municipality_id": HOME, "period": 2022, "old_value": 1731.0, "new_value": 1837.12,
                             "change": "changed", "detected_at": pd.Timestamp("2026-11-22 08:00", tz="UTC")}])
    doc = document(COST, revised=revised)
    assert (f"Värdet för Hemby 2022 har reviderats av Kolada (tidigare 1{NBSP}731, nu 1{NBSP}837,12; "
            "upptäckt 2026-11-22).") in doc.footnotes


def test_no_home_values_still_shows_the_group_and_says_so():
    values = VALUES[VALUES["municipality_id"] != HOME]
    doc = document(COST, values)
    assert doc.message.startswith("Inget värde i Kolada för Hemby") and "jämförelsegruppens värden" in doc.message
    series, latest = doc.tables
    assert {row.cells[1].text for row in series.rows} == {MISSING}  # the home column, every year
    assert [row.cells[2].text for row in series.rows][-1] != MISSING  # the median is there
    assert latest.caption == "Jämförelsegruppens senaste år med värde: 2022 (Hemby saknar värde)"
    assert "Inget värde i Kolada för Hemby" in render_html(doc) and "Inget värde" in render_markdown(doc)


def test_a_newer_year_the_home_has_alone_stays_in_the_series_and_the_latest_table_compares_the_year_before():
    """The author's own figure for a year Kolada has not published: the series shows it, the latest-year
    table compares the last year both have, and its caption says why that is not the home's latest."""
    newest = int(VALUES["period"].max()) + 1
    extra = VALUES[(VALUES["municipality_id"] == HOME)].tail(1).assign(period=newest, value=999.0)
    doc = document(COST, pd.concat([VALUES, extra.astype(VALUES.dtypes.to_dict())], ignore_index=True))
    series, latest = doc.tables
    assert series.rows[-1].cells[0].text == str(newest) and series.rows[-1].cells[1].text == "999"
    assert series.rows[-1].cells[4].text == MISSING  # no rank alone
    assert latest.caption == f"Senaste år med värden för både Hemby och jämförelsegruppen: {newest - 1}"
    assert len([r for r in latest.rows if r.cells[2].text != MISSING]) > 2


def test_sheet_names_are_short_unique_and_legal():
    long = "a" * 40
    names = sheet_names([long, long, "x[1]:y", "Kostnad", "kostnad"])
    assert names == ["a" * 31, "a" * 29 + "~2", "x_1__y", "Kostnad", "kostnad~2"]


def test_xlsx_stores_numbers_with_formats_and_highlights_home():
    other = document(Indicator(id="ifo", label="IFO", series_id="N00001", direction="none"))
    wb = openpyxl.load_workbook(io.BytesIO(render_workbook([document(COST), other])))
    assert wb.sheetnames == ["kostnad", "ifo"]
    ws = wb["kostnad"]
    header = next(r for r in range(1, 10) if ws.cell(r, 1).value == "År")
    assert ws.cell(header, 1).font.b and ws.freeze_panes == f"A{header + 1}"
    first = header + 1
    assert (ws.cell(first, 1).value, ws.cell(first, 2).value) == (2020, 1731.0)
    assert ws.cell(first, 2).data_type == "n" and ws.cell(first, 2).number_format == "#,##0"
    # Min and max, rank and its n: numbers in columns of their own (År, Hemby, Median, Min, Max, Rang, n, ...).
    assert [ws.cell(header, j).value for j in (4, 5, 6, 7)] == ["Min", "Max", "Rang", "Antal rangordnade"]
    assert (ws.cell(first, 4).value, ws.cell(first, 5).value) == (1400.0, 1900.0)
    assert (ws.cell(first, 6).value, ws.cell(first, 7).value) == (3, 4)
    assert ws.cell(first, 9).value == 131.0 and ws.cell(first, 9).number_format == "+#,##0;-#,##0;#,##0"
    assert ws.cell(first + 1, 2).value is None  # 2021: an empty cell (the footnote says why), not 0 or text
    home = max(r for r in range(1, ws.max_row + 1) if ws.cell(r, 2).value == "Hemby")  # the latest-year table
    assert ws.cell(home, 3).value == 1837.12 and ws.cell(home, 3).font.b
    assert ws.cell(home, 3).fill.fgColor.rgb.endswith(QUARTILE_FILLS[MIDDLE])  # its quarter, rank 2 of 4
    assert ws.cell(home, 2).fill.fgColor.rgb.endswith("FFF2CC")  # the rest of the home row
    assert ws.column_dimensions["C"].width > 10
    notes = [ws.cell(r, 1).value for r in range(home, ws.max_row + 1)]
    assert "Källa: Kolada (RKA); jämförelser: egen bearbetning." in notes


NEGATIVE = values_frame({HOME: {2021: -3.5, 2022: 2.0}, "0201": {2021: 4.0, 2022: None}, "0000": {2021: 1.0}})


@pytest.mark.parametrize("values", [VALUES, NEGATIVE], ids=["costs", "negative-and-no-peer-in-latest-year"])
def test_chart_is_a_word_sized_png(values):
    peers = compare.peer_values(values, COST, HOME, PEERS)
    peers["title"] = peers["municipality_id"].map(TITLES)
    png = render_chart(compare.benchmark(values, COST, HOME, PEERS), peers, title="Kostnad, kr/inv",
                       home_title="Hemby", unit="kr/inv", decimals=0, direction="lower", target=COST.target, riket=True,
                       source="Källa: Kolada (RKA); median, kvartiler och rang: egen bearbetning.")
    assert png.startswith(b"\x89PNG")
    height, width, _ = matplotlib.image.imread(io.BytesIO(png)).shape
    from harvester.render.charts import DPI

    assert abs(width - round(16 / 2.54 * DPI)) <= 2 and 9 / 2.54 * DPI - 2 <= height <= 14 / 2.54 * DPI  # 16 cm wide


HOSTILE = ["=HYPERLINK(\"http://x\")", "Kostnad $x^2$ \\frac{1}{2}", "Tab\tand\nnewline | pipe", "bell\x07 and\x1b esc",
           "<script>alert(1)</script>", "x" * 40_000]


@pytest.mark.parametrize("label", HOSTILE, ids=["formula", "mathtext", "newline-pipe", "control", "script", "long"])
def test_hostile_text_is_plain_text_in_every_output(label):
    """Issues 8.12 and 9.6: text from Kolada or a config never becomes a formula, markup, math or a crash."""
    import warnings

    from harvester.render.text import plain

    ind = Indicator(id="fientlig", label=label, series_id="N00001", direction="lower", target=Target(1250.0, 2027))
    doc = document(ind)
    md = render_markdown(doc)
    blocks, block = [], []  # consecutive table lines: each table's rows keep its number of cells
    for line in md.splitlines() + [""]:
        if line.startswith("|"):
            block.append(line.replace("\\|", "").count("|"))
        elif block:
            blocks, block = blocks + [block], []
    assert len(blocks) == 2 and all(len(set(b)) == 1 for b in blocks)
    html = render_html(doc)
    assert "<script>" not in html
    wb = openpyxl.load_workbook(io.BytesIO(render_workbook([doc])))
    ws = wb.worksheets[0]
    assert ws.cell(1, 1).data_type == "s"  # stored as text even when it starts with "="
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)
    assert all(len(str(c.value or "")) <= 32_767 for row in ws.iter_rows() for c in row)
    assert all((d.width or 0) <= 255 for d in ws.column_dimensions.values())
    peers = compare.peer_values(VALUES, ind, HOME, PEERS)
    peers["title"] = peers["municipality_id"].map(TITLES).replace("Ettby", label[:60])
    bench = compare.benchmark(VALUES, ind, HOME, PEERS)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning would reach cron mail under --quiet
        png = render_chart(bench, peers, title=plain(label), home_title="Hemby", unit="kr/inv", decimals=0,
                           direction="lower", target=ind.target, riket=True, source="Källa: SCB; x.")
    assert png.startswith(b"\x89PNG")


def test_a_big_group_gets_a_distribution_and_the_legend_only_what_has_data():
    """Issue 7: 290 peers are drawn as a distribution (no 290 labels), and no Riket entry without Riket data."""
    import time

    peers_ids = [f"{i:04d}" for i in range(1, 291)]
    rows = {p: {2021: 100.0 + i, 2022: 110.0 + i} for i, p in enumerate(peers_ids)}
    rows[HOME] = {2021: 150.0, 2022: 140.0}
    values = values_frame(rows)
    ind = Indicator(id="stor", label="Stor grupp", series_id="N00001", direction="lower")
    peers = compare.peer_values(values, ind, HOME, peers_ids)
    peers["title"] = peers["municipality_id"].map(lambda m: f"Kommun {m}")
    bench = compare.benchmark(values, ind, HOME, peers_ids)
    clock = time.perf_counter()
    png = render_chart(bench, peers, title="Stor grupp", home_title="Hemby", unit="kr/inv", decimals=0,
                       direction="lower", target=None, riket=True, source="Källa: SCB; x.")
    assert time.perf_counter() - clock < 3  # a bound against relayout of 290 labels, not a benchmark
    image = matplotlib.image.imread(io.BytesIO(png))
    assert image.shape[0] < 1000  # a fixed height, not 0.3 cm per municipality


@pytest.mark.parametrize("first, last, target", [(2020, 2022, 2040), (2015, 2022, 2027), (1998, 2022, None),
                                                 (2022, 2022, None), (2020, 2022, 2023), (2000, 2022, 2100)])
def test_year_labels_never_run_together(first, last, target):
    from harvester.render.charts import MAX_YEAR_LABELS, year_ticks

    ticks = year_ticks(first, last, target)
    span = max(last, target or last) - first + 1
    assert last in ticks and ticks == sorted(ticks) and all(isinstance(t, int) for t in ticks)
    assert len(ticks) <= MAX_YEAR_LABELS + 1
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    assert all(gap >= span / MAX_YEAR_LABELS for gap in gaps), (ticks, span)


def test_the_plans_number_comes_first_in_heading_and_overview():
    from harvester.render.document import indicator_title

    numbered = Indicator(id="x", label="Kostnad missbruksvård vuxna, kr/inv", series_id="N00001", number="3 b")
    assert indicator_title(numbered, "kr/inv") == "3 b) Kostnad missbruksvård vuxna, kr/inv"
    assert indicator_title(replace(numbered, number="2 b:1)"), "").startswith("2 b:1) Kostnad")
    doc = document(numbered)
    assert doc.heading.startswith("3 b) Kostnad missbruksvård vuxna")


def test_word_tables_are_what_python_docx_writes_for_the_same_text():
    """The Word tables are written as XML in one piece: a cell's text (markup characters, no-break
    spaces) must become the run python-docx itself makes of it, and the formatting must
    stay: header repeated on every page and broken where the heading says, numbers right-aligned
    and unwrapped, the home row bold and filled, a quartile cell in its colour."""
    from docx import Document as WordDocument
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn

    from harvester.render.document import HOME_STYLE, Cell, Column, Row, Table
    from harvester.render.docx import render_docx

    texts = ["Ettby <b>&amp; \"x\"", "1\u00a0000"]
    table = Table(caption="Tabell", columns=(Column("Kommun", numeric=False), Column("Värde\n2022")),
                  rows=(Row(tuple(Cell(t) for t in texts), HOME_STYLE),
                        Row((Cell("Tvåby"), Cell("–", quartile=MIDDLE)))))
    overview = Document(indicator_id="", heading="Översikt", tables=(table,), footnotes=())
    grid = WordDocument(io.BytesIO(render_docx("T", "S", overview, [], {}))).tables[0]
    home = grid.rows[1].cells
    assert [c.text for c in home] == [Cell(t).text for t in texts]
    for cell, text in zip(home, texts):
        made = WordDocument().add_paragraph().add_run(Cell(text).text)._r  # noqa: SLF001
        ours = cell.paragraphs[0].runs[0]._r  # noqa: SLF001
        assert [(e.tag, e.text, e.get(qn("xml:space"))) for e in ours if e.tag != qn("w:rPr")] == \
            [(e.tag, e.text, e.get(qn("xml:space"))) for e in made]
    assert grid.rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None  # noqa: SLF001
    assert [r.text for r in grid.rows[0].cells[1].paragraphs[0].runs] == ["Värde\n", "2022"]  # a w:br after "Värde"
    number = home[1]
    assert number.paragraphs[0].alignment == WD_ALIGN_PARAGRAPH.RIGHT and number.paragraphs[0].runs[0].bold
    assert home[0].paragraphs[0].alignment == WD_ALIGN_PARAGRAPH.LEFT
    assert number._tc.tcPr.find(qn("w:noWrap")) is not None  # noqa: SLF001
    assert number._tc.tcPr.find(qn("w:shd")).get(qn("w:fill")) == "FFF2CC"  # noqa: SLF001
    plain_row = grid.rows[2].cells
    assert plain_row[0]._tc.tcPr.find(qn("w:shd")) is None and not plain_row[0].paragraphs[0].runs[0].bold  # noqa: SLF001
    assert plain_row[1]._tc.tcPr.find(qn("w:shd")).get(qn("w:fill")) == QUARTILE_FILLS[MIDDLE]  # noqa: SLF001


def _big_chart(peers_ids: list[str], *, shift: float, target: Target | None, riket: bool, label: str) -> dict:
    rows = {p: {2021: 100.0 + i * shift, 2022: 110.0 + i * shift} for i, p in enumerate(peers_ids)}
    rows[HOME] = {2021: 150.0, 2022: 140.0}
    rows["0000"] = {2021: 120.0, 2022: 125.0}
    values = values_frame(rows)
    ind = Indicator(id="stor", label=label, series_id="N00001", direction="lower", target=target)
    riket_id = "0000" if riket else None
    peers = compare.peer_values(values, ind, HOME, peers_ids, riket_id)
    peers["title"] = peers["municipality_id"].map(lambda m: f"Kommun {m}")
    return {"bench": compare.benchmark(values, ind, HOME, peers_ids, riket_id), "peers": peers, "title": label,
            "home_title": "Hemby", "unit": "kr/inv", "decimals": 0, "direction": "lower", "target": target,
            "riket": riket, "source": "Källa: SCB; x."}


def test_a_big_groups_chart_is_the_same_after_another_chart_as_alone():
    """Big groups' charts reuse one figure per thread: nothing of the chart before (a target, Riket,
    its bars, titles, legend or note) may show in the next one, pixel for pixel."""
    from concurrent.futures import ThreadPoolExecutor

    peers_ids = [f"{i:04d}" for i in range(1, 291)]
    first = _big_chart(peers_ids, shift=0.3, target=Target(90.0, 2026), riket=True, label="Första, med mål och riket")
    second = _big_chart(peers_ids[:250], shift=1.0, target=None, riket=False, label="Andra")

    def pixels(png: bytes):  # noqa: ANN202
        return matplotlib.image.imread(io.BytesIO(png))

    with ThreadPoolExecutor(1) as after, ThreadPoolExecutor(1) as alone:  # a thread: a figure of its own
        before, reused = after.submit(lambda: [render_chart(**first), render_chart(**second)]).result()
        fresh = alone.submit(lambda: render_chart(**second)).result()
    assert (pixels(before) != pixels(fresh)).any()  # the charts differ, so a leftover of the first would show
    assert (pixels(reused) == pixels(fresh)).all()


def test_charts_drawn_by_workers_are_those_drawn_here_and_the_workers_end_with_the_results():
    """Workers are sent the latest year's peers only: their charts must be the ones drawn in this
    process from every year's rows; and once the results are read no worker is left running."""
    from harvester.render.charts import ChartRenderer

    peers_ids = [f"{i:04d}" for i in range(1, 291)]
    jobs = {"big": _big_chart(peers_ids, shift=0.5, target=Target(90.0, 2026), riket=True, label="Stor"),
            "small": _big_chart(peers_ids[:5], shift=10.0, target=None, riket=True, label="Liten")}
    assert jobs["big"]["peers"]["period"].nunique() == 2  # every year's rows go in
    with ChartRenderer(expected=ChartRenderer.PARALLEL_FROM, workers=2) as charts:
        charts.submit("first", **jobs["small"])  # drawn here, and then the workers are forked
        assert charts.pool is not None
        workers = list(charts.pool._processes.values())  # noqa: SLF001
        assert len(workers) == 2 and all(w.is_alive() for w in workers)
        for key, job in jobs.items():
            charts.submit(key, **job)
        drawn = charts.results()
        assert charts.pool is None and not any(w.is_alive() for w in workers)
    for key, job in jobs.items():
        here = matplotlib.image.imread(io.BytesIO(render_chart(**job)))
        assert (matplotlib.image.imread(io.BytesIO(drawn[key])) == here).all(), key


def test_each_workbook_cell_has_its_own_kinds_style_though_styles_are_copied_between_cells():
    """Body cells copy the style of the first cell set alike: every cell must still get its row's
    emphasis, its quartile colour, its alignment and its number format, in every sheet."""
    from harvester.render.document import HOME_STYLE, SUMMARY_STYLE, Cell, Column, Row, Table

    def table(first_style: str) -> Table:
        return Table(caption="T", columns=(Column("Kommun", numeric=False), Column("Värde")), rows=(
            Row((Cell("A"), Cell("1,5", 1.5, "0.0", quartile=MIDDLE)), first_style),
            Row((Cell("B"), Cell("2,0", 2.0, "0.0")), HOME_STYLE),  # A's format without its quartile
            Row((Cell("C"), Cell("3,25", 3.25, "0.00")), SUMMARY_STYLE),
            Row((Cell("D"), Cell("–")), ""),
            Row((Cell("E"), Cell("4", 4, "0")), "")))  # D's kind but for its number format

    docs = [Document(indicator_id=k, heading=k, tables=(table(s),), footnotes=())
            for k, s in (("a", HOME_STYLE), ("b", ""), ("c", HOME_STYLE))]
    wb = openpyxl.load_workbook(io.BytesIO(render_workbook(docs)))
    for name, first_style in (("a", HOME_STYLE), ("b", ""), ("c", HOME_STYLE)):
        ws = wb[name]
        top = next(r for r in range(1, 10) if ws.cell(r, 1).value == "A")
        cells = {ws.cell(r, 1).value: (ws.cell(r, 1), ws.cell(r, 2)) for r in range(top, top + 5)}
        for text, cell in cells.items():
            assert cell[0].alignment.horizontal == "left" and cell[1].alignment.horizontal == "right"
        a_text, a_number = cells["A"]
        assert a_number.fill.fgColor.rgb.endswith(QUARTILE_FILLS[MIDDLE]) and a_number.number_format == "0.0"
        assert bool(a_text.font.b) == (first_style == HOME_STYLE)
        assert a_text.fill.fgColor.rgb.endswith("FFF2CC") == (first_style == HOME_STYLE)
        b_text, b_number = cells["B"]
        assert b_text.font.b and b_number.font.b and b_number.fill.fgColor.rgb.endswith("FFF2CC")
        assert b_number.number_format == "0.0"
        c_text, c_number = cells["C"]
        assert c_text.font.i and c_number.font.i and not c_number.font.b and c_number.number_format == "0.00"
        assert c_number.fill.fill_type is None
        d_text, d_number = cells["D"]
        assert d_number.value is None and not d_number.font.b and not d_number.font.i
        assert d_number.number_format == "General" and d_number.fill.fill_type is None
        assert cells["E"][1].number_format == "0" and cells["E"][1].value == 4


def test_word_report_keeps_one_picture_part_per_distinct_chart():
    """Charts go in with our own bookkeeping of picture parts: an identical chart shares its part, as
    python-docx does, and each different one has its own, in the order the sections show them."""
    import zipfile

    from PIL import Image

    from harvester.render.docx import render_docx

    def png(colour: str) -> bytes:
        buffer = io.BytesIO()
        Image.new("RGB", (40, 20), colour).save(buffer, format="PNG")
        return buffer.getvalue()

    docs = [Document(indicator_id=k, heading=k, tables=(), footnotes=("Källa: x.",)) for k in ("a", "b", "c")]
    charts = {"a": png("red"), "b": png("blue"), "c": png("red")}
    overview = Document(indicator_id="", heading="Översikt", tables=(), footnotes=())
    with zipfile.ZipFile(io.BytesIO(render_docx("T", "S", overview, docs, charts))) as report:
        media = sorted(n for n in report.namelist() if n.startswith("word/media/"))
        body = report.read("word/document.xml").decode()
        rels = report.read("word/_rels/document.xml.rels").decode()
    assert media == ["word/media/image1.png", "word/media/image2.png"]
    embeds = re.findall(r'r:embed="(rId\d+)"', body)
    assert len(embeds) == 3 and embeds[0] == embeds[2] != embeds[1]
    targets = dict(re.findall(r'Id="(rId\d+)"[^>]*Target="(media/[^"]+)"', rels) +
                   [(i, t) for t, i in re.findall(r'Target="(media/[^"]+)"[^>]*Id="(rId\d+)"', rels)])
    assert [targets[e] for e in embeds] == ["media/image1.png", "media/image2.png", "media/image1.png"]
    assert len(set(re.findall(r'<wp:docPr id="(\d+)"', body))) == 3  # every picture its own shape id
