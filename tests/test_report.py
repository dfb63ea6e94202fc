"""`write_report` on a small dataset written the way docs/schema.md describes it."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from harvester import schema
from harvester.config import parse_config
from harvester.render.document import QUARTILE_WORDS
from harvester.report import ReportError, write_report

UTC = "UTC"
MUNICIPALITIES = [("0000", "Riket", "L"), ("1981", "Sala", "K"), ("0686", "Eksjö", "K"), ("0687", "Tranås", "K"),
                  ("0764", "Alvesta", "K"), ("1904", "Torsby", "K"), ("1984", "Arboga", "K"), ("1480", "Göteborg", "K")]
# N35001 (total only), N33817 (by gender); Arboga is an extra peer, Torsby only in the old vintage.
N35001 = {"1981": {2021: 597.31, 2022: 793.48}, "0686": {2021: 727.6, 2022: 610.54},
          "0687": {2021: 1361.4, 2022: 1473.62}, "0764": {2021: 753.0, 2022: None}, "1904": {2021: 5.0, 2022: 5.0},
          "1984": {2021: 741.6, 2022: 955.62}, "0000": {2021: 826.54, 2022: 828.33}}
N33817 = {"1981": {2022: 12.44}, "0686": {2022: 9.0}, "0687": {2022: 8.6}, "0764": {2022: 3.9}, "1984": {2022: 15.4},
          "0000": {2022: 7.5}}


def _write(path: Path, rows: list[dict], schema_: pa.Schema) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=schema_), path)


def _values(kpi: str, series: dict[str, dict[int, float | None]], genders: dict[str, float]) -> list[dict]:
    fetched = dt.datetime(2026, 11, 22, 8, tzinfo=dt.timezone.utc)
    return [{"kpi": kpi, "municipality_id": m, "period": year, "gender": g,
             "value": None if v is None else v * factor, "count": 0 if v is None else 1, "status": "",
             "fetched_at": fetched}
            for m, years in sorted(series.items()) for year, v in sorted(years.items())
            for g, factor in genders.items()]


def build_dataset(root: Path) -> None:
    _write(root / "values/N35001.parquet", _values("N35001", N35001, {"T": 1.0}), schema.VALUES)
    _write(root / "values/N33817.parquet", _values("N33817", N33817, {"K": 1.0, "M": 2.0, "T": 1.5}), schema.VALUES)
    _write(root / "municipalities.parquet", [dict(zip(["id", "title", "type"], m)) for m in MUNICIPALITIES],
           schema.MUNICIPALITIES)
    titles = {m[0]: m[1] for m in MUNICIPALITIES}
    old, new = dt.datetime(2025, 3, 1, tzinfo=dt.timezone.utc), dt.datetime(2026, 3, 15, tzinfo=dt.timezone.utc)
    groups = [{"group_id": "G36628", "title": title, "member_id": m, "member_title": titles[m], "read_at": when}
              for title, when, members in [("Liknande kommuner IFO, Sala, 2023", old, ["0686", "1904"]),
                                           ("Liknande kommuner IFO, Sala, 2024", new, ["0686", "0687", "0764"])]
              for m in members]
    _write(root / "groups.parquet", groups, schema.GROUPS)
    kpis = [{"id": "N35001", "title": "Kostnad missbruksvård vuxna, kr/inv", "is_divided_by_gender": False},
            {"id": "N33817", "title": "Barn placerade i familjehem, antal/1000 inv", "is_divided_by_gender": True}]
    _write(root / "kpis.parquet", [{**{c: None for c in schema.KPIS.names}, "municipality_type": "K",
                                    "has_ou_data": False, **k} for k in kpis], schema.KPIS)
    _write(root / "revisions.parquet", [{
        "kpi": "N35001", "municipality_id": "1981", "period": 2022, "gender": "T", "old_value": 731.0,
        "new_value": 793.48, "change": "changed", "detected_at": dt.datetime(2026, 11, 22, 8, tzinfo=dt.timezone.utc),
        "run_id": "20261122T080000Z-1"}], schema.REVISIONS)


def config(home: str = "Sala", groups: tuple[str, ...] = ("G36628",), extra: tuple[str, ...] = ("Arboga",),
           indicators: int = 3):
    data = {"home": {"municipality": home}, "comparison": {"groups": list(groups), "municipalities": list(extra)},
            "years": {"from": 2015},
            "indicator": [{"id": "missbruk", "label": "Kostnad missbruksvård vuxna", "kpi": "N35001",
                           "direction": "lower", "target": {"value": 700, "year": 2027}},
                          {"id": "familjehem-flickor", "label": "Flickor i familjehem", "kpi": "N33817",
                           "direction": "lower", "gender": "K"},
                          {"id": "saknas", "label": "Ej hämtat", "kpi": "N99999"}][:indicators]}
    return parse_config(data, Path("test.toml"))


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = tmp_path_factory.mktemp("out")
    build_dataset(root)
    return root, write_report(config(), root, revised_since=dt.date(2026, 11, 1))


def test_every_file_is_written_and_listed(report):
    root, result = report
    expected = {"benchmark.parquet", "benchmark.csv", "peers.parquet", "robustness.parquet", "tables/benchmark.xlsx",
                *(f"tables/{i}.{ext}" for i in ("missbruk", "familjehem-flickor", "saknas") for ext in ("md", "html")),
                "charts/missbruk.png", "charts/familjehem-flickor.png", "tables/overview.md", "tables/overview.html",
                "report.docx", "report.html"}
    assert {str(p.relative_to(root)) for p in result.files} == expected
    assert all(p.stat().st_size > 0 for p in result.files)
    assert not list(root.rglob("*.tmp"))
    assert result.notes == ("saknas: no values for Sala (N99999, gender T); table without comparison, no chart",)


def test_benchmark_figures_for_the_latest_year(report):
    root, _ = report
    bench = pd.read_parquet(root / "benchmark.parquet")
    for column in ["indicator", "kpi", "label", "home_id", "period", "home_value", "peer_median", "peer_mean",
                   "peer_min", "peer_max", "peer_q1", "peer_q3", "peer_n", "rank", "rank_of", "riket", "target",
                   "target_year", "gap_to_target", "diff_to_median", "diff_to_median_pct", "unit"]:
        assert column in bench.columns
    row = bench[(bench["indicator"] == "missbruk") & (bench["period"] == 2022)].iloc[0]
    # Peers: Eksjö 610.54, Tranås 1473.62, Alvesta none, Arboga 955.62 (Torsby left with the old vintage).
    assert row["home_value"] == 793.48 and row["peer_median"] == 955.62
    assert (row["peer_n"], row["peer_missing"], row["rank"], row["rank_of"]) == (3, 1, 2, 4)
    assert row["riket"] == 828.33 and row["gap_to_target"] == pytest.approx(93.48)
    assert row["unit"] == "kr/inv"
    girls = bench[(bench["indicator"] == "familjehem-flickor") & (bench["period"] == 2022)].iloc[0]
    assert (girls["home_value"], girls["peer_median"], girls["rank"]) == (12.44, 8.8, 4)  # K rows, not T or M


def test_csv_uses_dot_decimals_and_empty_for_missing(report):
    root, _ = report
    lines = (root / "benchmark.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("indicator,kpi,label,gender,direction,home_id,period")
    row = next(line for line in lines if line.startswith("missbruk,") and ",2022," in line)
    assert ",793.48," in row and ",955.62," in row
    assert not any(line.startswith("saknas,") for line in lines)


def test_peers_file_names_every_compared_municipality(report):
    root, _ = report
    peers = pd.read_parquet(root / "peers.parquet")
    latest = peers[(peers["indicator"] == "missbruk") & (peers["period"] == 2022)]
    assert dict(zip(latest["title"], latest["role"])) == {
        "Sala": "home", "Eksjö": "peer", "Tranås": "peer", "Alvesta": "peer", "Arboga": "peer", "Riket": "riket"}
    assert latest.loc[latest["title"] == "Alvesta", "value"].isna().all()


def test_tables_say_where_the_numbers_come_from(report):
    root, _ = report
    md = (root / "tables/missbruk.md").read_text(encoding="utf-8")
    assert md.startswith("## Kostnad missbruksvård vuxna, kr/inv – Sala jämfört med Liknande kommuner IFO, Sala, "
                         "2024 och Arboga")
    # The member list once, under the overview; each indicator names and counts its set.
    assert "medlemmar enligt Kolada 2026-03-15" not in md and "4 kommuner (medlemmarna anges under översikten)" in md
    overview = (root / "tables/overview.md").read_text(encoding="utf-8")
    assert "medlemmar enligt Kolada 2026-03-15" in overview and "Torsby" not in overview
    assert "Värdet för Sala 2022 har reviderats av Kolada (tidigare 731, nu 793,48; upptäckt 2026-11-22)." in md
    assert "Källa: Kolada (RKA); jämförelser: egen bearbetning." in md
    assert "Inget värde i Kolada för Sala" in (root / "tables/saknas.html").read_text(encoding="utf-8")
    wb = openpyxl.load_workbook(root / "tables/benchmark.xlsx")
    assert wb.sheetnames == ["Översikt", "missbruk", "familjehem-flickor", "saknas"]


def test_without_revised_since_no_revision_notes(tmp_path):
    build_dataset(tmp_path)
    write_report(config(), tmp_path)
    assert "reviderats" not in (tmp_path / "tables/missbruk.md").read_text(encoding="utf-8")


def test_empty_dataset_says_what_to_run(tmp_path):
    with pytest.raises(ReportError, match="run `harvester fetch --config test.toml"):
        write_report(config(), tmp_path)


def test_unknown_home_municipality_is_refused_with_suggestions(tmp_path):
    build_dataset(tmp_path)
    with pytest.raises(ReportError, match=r"\[home\] municipality.*Sala \(1981\)"):
        write_report(config(home="Salla"), tmp_path)


def test_group_missing_from_the_dataset_is_refused(tmp_path):
    build_dataset(tmp_path)
    with pytest.raises(ReportError, match="G1.*harvester fetch"):
        write_report(config(groups=("G1",)), tmp_path)


def test_home_municipality_without_any_harvested_value_is_refused(tmp_path):
    build_dataset(tmp_path)
    with pytest.raises(ReportError, match=r"no values for Göteborg \(1480\).*harvester fetch"):
        write_report(config(home="Göteborg"), tmp_path)


# --- plan-ready documents (issue 7) -------------------------------------------------------------------

def _markdown_rows(md: str) -> list[list[str]]:
    """Cells of every Markdown table row, unescaped and without emphasis, as a reader sees them."""
    import re

    rows = []
    for line in md.splitlines():
        if line.startswith("| ") and not set(line) <= set("|-: "):
            cells = [re.sub(r"\\(.)", r"\1", c.strip()).strip("*") for c in line.strip("|").split(" | ")]
            rows.append(cells)
    return rows


def test_word_report_tables_hold_what_the_markdown_tables_hold(report):
    """The Word report is real tables, cell for cell the Markdown's, with a header repeated on every page."""
    import docx

    root, _ = report
    word = docx.Document(str(root / "report.docx"))
    md_rows = (_markdown_rows((root / "tables/overview.md").read_text(encoding="utf-8"))
               + _markdown_rows((root / "tables/missbruk.md").read_text(encoding="utf-8"))
               + _markdown_rows((root / "tables/familjehem-flickor.md").read_text(encoding="utf-8")))
    word_rows = [[" ".join(c.text.split()) for c in row.cells] for t in word.tables for row in t.rows]
    said = re.compile(" \\((" + "|".join(QUARTILE_WORDS.values()) + ")\\)")  # Word colours what Markdown says
    for row in md_rows:
        assert [" ".join(said.sub("", c).split()) for c in row] in word_rows, row
    first = word.tables[1]  # the first indicator's series table, after the overview
    assert first.rows[0]._tr.trPr.find("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}tblHeader") is not None
    numeric = first.rows[1].cells[1]
    assert numeric.paragraphs[0].alignment == 2  # right
    assert len(word.inline_shapes) == 2  # the two charts
    assert word.paragraphs[0].text.startswith("Sala jämfört med Liknande kommuner IFO, Sala, 2024")


def test_ranges_and_ranks_cannot_break_inside(report):
    root, _ = report
    md = (root / "tables/missbruk.md").read_text(encoding="utf-8")
    assert "610,54\u2060–\u20601\u00a0473,62" in md or "611\u2060–\u20601\u00a0474" in md
    assert "2\u00a0av\u00a04" in md


def test_overview_has_the_plan_shape(report):
    root, _ = report
    rows = _markdown_rows((root / "tables/overview.md").read_text(encoding="utf-8"))
    header, missbruk = rows[0], rows[1]
    assert header[:3] == ["Indikator", "Nyckeltal", "Mål"] and header[3:5] == ["2021", "2022"]
    assert missbruk[1] == "N35001" and missbruk[2] == "≤\u00a0700 kr/inv (2027)"
    assert missbruk[header.index("2022")] == "793" and missbruk[header.index("Rang")] == "2\u00a0av\u00a04"
    assert missbruk[-1] == "längre från målet"  # 597 → 793 against a target of 700
    wb = openpyxl.load_workbook(root / "tables/benchmark.xlsx")
    sheet = wb["Översikt"]
    assert sheet.cell(1, 1).value.startswith("Indikatorer i jämförelse")


def test_workbook_stores_min_max_and_rank_as_numbers_and_missing_as_empty(report):
    root, _ = report
    sheet = openpyxl.load_workbook(root / "tables/benchmark.xlsx")["missbruk"]
    rows = list(sheet.iter_rows(values_only=True))
    header_at = next(i for i, r in enumerate(rows) if r and r[0] == "År")
    header = rows[header_at]
    assert {"Min", "Max", "Rang", "Antal rangordnade"} <= set(header)
    row2022 = next(r for r in rows[header_at + 1:] if r[0] == 2022)
    assert row2022[header.index("Min")] == 610.54 and row2022[header.index("Max")] == 1473.62
    assert (row2022[header.index("Rang")], row2022[header.index("Antal rangordnade")]) == (2, 4)
    assert "–" not in [c for r in rows for c in r if isinstance(c, str) and c == "–"]


def test_report_html_is_one_self_contained_page(report):
    root, _ = report
    page = (root / "report.html").read_text(encoding="utf-8")
    assert page.count("<table") == 1 + 2 + 2 + 0  # overview, two indicators with two tables, one without
    assert page.count('src="data:image/png;base64,') == 2
    assert "http://" not in page and "https://" not in page and "<script" not in page


def test_a_dropped_indicator_leaves_no_files_behind(tmp_path):
    build_dataset(tmp_path)
    write_report(config(), tmp_path)
    (tmp_path / "notes.txt").write_text("mine")  # not written by compare: must stay
    result = write_report(config(indicators=1), tmp_path)
    assert not (tmp_path / "tables/familjehem-flickor.md").exists()
    assert not (tmp_path / "charts/familjehem-flickor.png").exists()
    assert "charts/familjehem-flickor.png" in result.removed
    assert (tmp_path / "tables/missbruk.md").exists() and (tmp_path / "notes.txt").exists()


def test_word_report_speaks_of_its_own_dashes_and_the_workbook_of_its_empty_cells(report):
    import docx

    root, _ = report
    word = docx.Document(str(root / "report.docx"))
    text = "\n".join(p.text for p in word.paragraphs)
    assert "kalkylbladet" not in text and "Tom cell" not in text
    assert "– = värde saknas" in text
    sheets = openpyxl.load_workbook(root / "tables/benchmark.xlsx")
    notes = [c for ws in sheets for r in ws.iter_rows(values_only=True) for c in r if isinstance(c, str)]
    assert any(n.startswith("Tom cell = värde saknas") for n in notes)
    assert not any(n.startswith("– =") for n in notes)
