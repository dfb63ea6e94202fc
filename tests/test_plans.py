"""The mixed plan example, end to end: Kolada and SCB in one overview, sets per indicator, targets in words.

Against the real Kolada snapshot (ending in 2022 for Eskilstuna) and the fake SCB (monthly to 2026M06):
the situation where the overview used to leave every Kolada row blank.
"""
from __future__ import annotations

import re
from pathlib import Path

import docx
import openpyxl

from harvester.render.document import QUARTILE_FILLS
from tests.conftest import REPO

PLAN = REPO / "config" / "examples" / "plan.toml"
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def rows_of(md: str) -> list[list[str]]:
    return [[c.strip() for c in line.strip("|").split(" | ")] for line in md.splitlines()
            if line.startswith("|") and not line.startswith("|:")]


def test_mixed_plan_overview_word_report_and_workbook(real_fake, scb_fake, harvester, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run = harvester("run", "--config", str(PLAN), "--output", str(out), "--api-url", real_fake.base_url,
                    "--scb-api-url", scb_fake.base_url, "--quiet")
    assert run.code == 0, run.err

    overview = (out / "tables" / "overview.md").read_text(encoding="utf-8")
    header, *rows = rows_of(overview)
    assert header[3:6] == ["2020", "2021", "2022"]  # where most indicators have a value, not SCB's 2023–2025
    by_id = dict(zip(["missbruk", "egen", "ifo", "bistand", "mottagare", "hemtjanst", "arbetslosa", "befolkning", "kvot"],
                     rows))
    latest = header.index("Senaste värde (år)")
    assert all(row[latest] != "–" and row[5] != "–" for row in rows)  # no blank row: every home has data
    assert by_id["ifo"][latest].startswith("9\u00a0259 (2022)")  # Kolada to 2022
    # 3 b: Kolada's 2022 in its column, the committee's own 2023 as the latest, median and rank of 2022.
    assert by_id["missbruk"][5] == "1\u00a0837" and by_id["missbruk"][latest] == "1\u00a0690 (2023)"
    assert "Median och rang avser det senaste år då både Eskilstuna och jämförelsegruppen har värden: Kostnad " \
           "missbruksvård vuxna, kr/inv (2022)." in overview
    assert by_id["arbetslosa"][latest].startswith("3\u00a0429 (2025)")  # SCB's July to 2025, beside the columns
    assert [by_id[k][2] for k in ("missbruk", "ifo", "bistand", "mottagare", "hemtjanst")] == [
        "≤\u00a01\u00a0250 kr/inv (2027)", "I nivå med jämförbara kommuner (IFO) (median)",
        "Minska med 0,2 procentenheter", "Minska", "Öka"]
    group = header.index("Jämförelsegrupp")
    assert by_id["bistand"][group] == "liknande kommuner arbetsmarknad" and by_id["hemtjanst"][group].endswith("äldreomsorg")
    rank = header.index("Rang")
    assert by_id["mottagare"][rank] == "–" and by_id["missbruk"][rank] == "8\u00a0av\u00a08"  # a count is not ranked
    assert by_id["ifo"][latest].endswith("(sämsta fjärdedelen)")  # said in words in Markdown
    assert by_id["ifo"][-1] == "närmare målet"  # judged against each year's median
    assert "Data: Kolada t.o.m. 2022, SCB t.o.m. juli 2025, egen statistik t.o.m. 2023." in overview
    assert overview.count("Koladas kommungrupp G216130") == 1  # the member list once, here
    unemployed = (out / "tables" / "arbetslosa-juli.md").read_text(encoding="utf-8")
    assert unemployed.startswith("## Arbetslösa 16–64 år, antal (juli) – Eskilstuna jämfört med liknande kommuner "
                                 "arbetsmarknad") and "G216130" not in unemployed

    word = docx.Document(str(out / "report.docx"))
    assert "Kolada t.o.m. 2022, SCB t.o.m. juli 2025" in word.paragraphs[1].text
    body = list(word.element.body)
    first_break = next(i for i, el in enumerate(body) if el.find(f".//{W}sectPr") is not None)
    first_table = next(i for i, el in enumerate(body) if el.tag == f"{W}tbl")
    assert first_table < first_break  # the overview starts on the first page, under the title and legend
    legend = next(i for i, p in enumerate(word.paragraphs) if p.text.startswith("Färg på det senaste värdet"))
    assert legend < 5
    texts = [c.text for t in word.tables for row in t.rows for c in row.cells]
    assert not [t for t in texts if re.search(r"\d \d{3}(?!\d)", t)]  # every thousands space unbreakable
    assert any("(per 1\u00a0000 inv)" in t for t in texts)
    fills = {shd.get(f"{W}fill") for shd in word.tables[0]._tbl.iter(f"{W}shd")}
    assert set(QUARTILE_FILLS.values()) <= fills

    page = (out / "report.html").read_text(encoding="utf-8")
    assert all(f"background:#{colour}" in page for colour in QUARTILE_FILLS.values())
    sheet = openpyxl.load_workbook(out / "tables" / "benchmark.xlsx")["Översikt"]
    coloured = {c.fill.fgColor.rgb[-6:] for row in sheet.iter_rows() for c in row if c.fill.fill_type == "solid"}
    assert set(QUARTILE_FILLS.values()) <= coloured
