"""The author's own figures as a third source, end to end: real CSV and xlsx files in tmp_path → the
fake Kolada over HTTP → Parquet → documents, driven through the command line like Kolada and SCB."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook

from harvester.config import ConfigError, load_config
from harvester.sources.file.numbers import NotANumber, parse_number
from tests.conftest import REPO, snapshot, write_config
from tests.fake_kolada import FakeKolada

OWN = "file_egen-kostnad"
OWN_INDICATOR = '''
[[indicator]]
id = "egen-kostnad"
label = "Kostnad missbruksvård vuxna, egen statistik"
source = "file"
path = "{path}"
direction = "lower"
'''
CSV = ("kommun;år;värde;kommentar\nEskilstuna;2022;1 731;enligt bokslut\nEskilstuna;2023;1 790,5;\nSala;2023;1 500;\n"
       "0180;2023;..;\n")


def own_config(tmp_path: Path, path: str = "egna.csv", extra: str = "", fill: bool = True) -> Path:
    """Kolada's N35001 filled from the author's file, for 2015–2023 (the small fake has Kolada up to 2022)."""
    config = write_config(tmp_path / "plan.toml", year_from=2015, year_to=2023)
    text = config.read_text(encoding="utf-8")
    if fill:
        text = text.replace('kpi = "N35001"', 'kpi = "N35001"\nfill = "egen-kostnad"')
    config.write_text(text + OWN_INDICATOR.format(path=path) + extra, encoding="utf-8")
    return config


def test_own_figures_are_stored_fill_kolada_gaps_and_are_cited(small_fake: FakeKolada, tmp_path: Path,
                                                                harvester) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "egna.csv").write_text(CSV, encoding="utf-8")
    config, out = own_config(tmp_path), tmp_path / "out"
    run = harvester("run", "--config", str(config), "--output", str(out), "--api-url", small_fake.base_url)
    assert run.code == 0, run.err

    own = pd.read_parquet(out / "values" / f"{OWN}.parquet")
    assert set(own["source"]) == {"file"} and set(own["gender"]) == {"T"}
    # Stockholm's ".." is no value; Sala is a peer; everything else is exact, Swedish decimals included.
    assert sorted(zip(own["municipality_id"], own["period"], own["value"])) == [
        ("0484", 2022, 1731.0), ("0484", 2023, 1790.5), ("1981", 2023, 1500.0)]
    series = pd.read_parquet(out / "series.parquet").set_index("kpi").loc[OWN]
    assert series["source"] == "file" and series["sha256"] == hashlib.sha256(CSV.encode()).hexdigest()
    assert series["modified_at"] == pd.Timestamp((tmp_path / "egna.csv").stat().st_mtime_ns, unit="ns",
                                                 tz="UTC").floor("us")
    assert json.loads(series["selection"])["path"] == "egna.csv"
    assert (series["first_period"], series["last_period"]) == ("2022", "2023")

    # Kolada ends in 2022: its value wins there, the author's 2023 fills the gap (Eskilstuna's and Sala's).
    bench = pd.read_csv(out / "benchmark.csv", dtype={"home_id": str})
    kolada = bench[bench["indicator"] == "n35001"].set_index("period")
    assert kolada.loc[2022, "home_value"] == 1303.0 and kolada.loc[2023, "home_value"] == 1790.5
    assert kolada.loc[2023, "peer_median"] == 1500.0  # Sala's own figure is the only peer value for 2023
    table = (out / "tables" / "n35001.md").read_text(encoding="utf-8")
    assert "Där Kolada saknar värde visas egen statistik (fil egna.csv): Eskilstuna 2023; Sala 2023." in table
    assert ("Egen statistik (fil egna.csv) skiljer sig från Kolada för Eskilstuna 2022 (Kolada 1\u00a0303, "
            "egen statistik 1\u00a0731); tabellerna visar värdet från Kolada.") in table
    assert "Källa: Kolada (RKA) och egen statistik;" in table
    alone = (out / "tables" / "egen-kostnad.md").read_text(encoding="utf-8")
    assert "Värden: egen statistik, fil egna.csv" in alone and "Källa: egen statistik;" in alone
    overview = (out / "tables" / "overview.md").read_text(encoding="utf-8")
    assert "egen statistik, egna.csv" in overview
    status = harvester("status", "--config", str(config), "--output", str(out))
    assert "file egna.csv, modified " in status.out and f"sha256 {series['sha256'][:12]}…" in status.out


def test_unchanged_file_reads_nothing_and_an_edit_lands_in_revisions(small_fake: FakeKolada, tmp_path: Path,
                                                                      harvester) -> None:  # type: ignore[no-untyped-def]
    own_file = tmp_path / "egna.csv"
    own_file.write_text(CSV, encoding="utf-8")
    config, out = own_config(tmp_path), tmp_path / "out"
    args = ("fetch", "--config", str(config), "--output", str(out), "--api-url", small_fake.base_url)
    assert harvester(*args).code == 0
    before = snapshot(out, skip=("runs.parquet", "cursors.json"))
    cursor = json.loads((out / "cursors.json").read_text(encoding="utf-8"))[OWN]
    assert cursor["sha256"] == hashlib.sha256(CSV.encode()).hexdigest() and cursor["source"] == "file"

    again = harvester(*args, "-v")
    assert again.code == 3, again.err  # nothing new anywhere: the nightly job stays quiet
    assert f"{OWN}: {own_file} unchanged (sha256 {cursor['sha256'][:12]}…); nothing to read" in again.err
    assert snapshot(out, skip=("runs.parquet", "cursors.json")) == before

    # The author corrects 2023 and drops Sala: the file is read again and its slice replaced.
    own_file.write_text(CSV.replace("1 790,5", "1 801").replace("Sala;2023;1 500;\n", ""), encoding="utf-8")
    edited = harvester(*args)
    assert edited.code == 0, edited.err
    own = pd.read_parquet(out / "values" / f"{OWN}.parquet")
    assert sorted(zip(own["municipality_id"], own["period"], own["value"])) == [("0484", 2022, 1731.0),
                                                                                ("0484", 2023, 1801.0)]
    revisions = pd.read_parquet(out / "revisions.parquet")
    mine = revisions[revisions["kpi"] == OWN].sort_values("municipality_id")
    assert mine[["municipality_id", "period", "old_value", "change"]].values.tolist() == [
        ["0484", 2023, 1790.5, "changed"], ["1981", 2023, 1500.0, "removed"]]
    assert pd.read_parquet(out / "series.parquet").set_index("kpi").loc[OWN, "sha256"] == hashlib.sha256(
        own_file.read_bytes()).hexdigest()


def test_excel_sheet_with_several_series_monthly_and_by_gender(small_fake: FakeKolada, tmp_path: Path,
                                                               harvester) -> None:  # type: ignore[no-untyped-def]
    book = Workbook()
    book.active.title = "Anteckningar"
    sheet = book.create_sheet("Statistik")
    sheet.append(["Kommun", "Period", "Värde", "Kön", "Serie"])
    sheet.append([484, "2022-07", 312, "T", "placerade"])  # Excel dropped the leading zero of 0484
    sheet.append(["Eskilstuna", dt.datetime(2022, 7, 1), 150.5, "k", "placerade"])  # typed 2022-07 became a date
    sheet.append(["Eskilstuna", "2022-06", 999, "T", "placerade"])  # another month: not the year's figure
    sheet.append(["Eskilstuna", "2022-07", "1 000", "T", "kostnad"])  # another series
    sheet.append([])
    sheet.append(["Riket", "2023M07", "45 000,25", None, "placerade"])
    book.save(tmp_path / "egen statistik.xlsx")
    extra = 'sheet = "Statistik"\nseries = "placerade"\nmonth = 7\n'
    config, out = own_config(tmp_path, "egen statistik.xlsx", extra, fill=False), tmp_path / "out"
    run = harvester("fetch", "--config", str(config), "--output", str(out), "--api-url", small_fake.base_url)
    assert run.code == 0, run.err
    own = pd.read_parquet(out / "values" / f"{OWN}.parquet")
    assert sorted(zip(own["municipality_id"], own["period"], own["gender"], own["value"])) == [
        ("0000", 2023, "T", 45000.25), ("0484", 2022, "K", 150.5), ("0484", 2022, "T", 312.0)]


BAD_ROWS = [
    ("kommun;år;belopp\nEskilstuna;2022;1\n", "egna.csv:1: no column 'value' (also accepted: 'värde')"),
    ("kommun;år;värde\nEskilstuna;2022;1 731\nEskilstuna;2023;1.234,5\n",
     "egna.csv:3: column 'värde': '1.234,5' is not a number (write it as 1 234,5 or 1234.5"),
    ("kommun;år;värde\nEskilstna;2022;1\n",
     "egna.csv:2: column 'kommun': no municipality is called 'Eskilstna' in Kolada; did you mean Eskilstuna (0484)"),
    ("kommun;år;värde\n0484;2022;1\n\nEskilstuna;2022;2\n",  # a blank line keeps the row numbers true
     "egna.csv:4: the same figure twice: rows 2 and 4 are both 0484 2022 gender T; keep one"),
    ("kommun;år;värde\n0484;2031;1\n0484;2032;1\n",
     "egna.csv:2: column 'år': 2031 is outside the config's years 2015–2023; remove the row or change [years] "
     "(and 1 more problem in the file)"),
    ("kommun;år;värde;kön\n0484;2022;1;X\n",
     "egna.csv:2: column 'kön': 'X' must be T (total), K (women) or M (men)"),
    ("kommun;år;värde\n0484;2022-07;1\n",
     "egna.csv:2: column 'år': 2022-07 is a month; set month = 7 in the indicator"),
]


@pytest.mark.parametrize("text, expected", BAD_ROWS, ids=["column", "number", "municipality", "duplicate", "year",
                                                           "gender", "month"])
def test_a_bad_row_is_one_error_naming_file_row_column_and_nothing_is_written(
        small_fake: FakeKolada, tmp_path: Path, harvester, text: str, expected: str) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "egna.csv").write_text(text, encoding="utf-8")
    config, out = own_config(tmp_path), tmp_path / "out"
    run = harvester("run", "--config", str(config), "--output", str(out), "--api-url", small_fake.base_url)
    assert run.code == 2 and expected in run.err, run.err
    assert len(run.err.strip().splitlines()) == 1 and "indicator 'egen-kostnad': nothing was stored" in run.err
    assert not out.exists()  # not even the folder: nothing written
    assert not [r for r in small_fake.log if r.path.endswith("/data")]  # checked before anything was fetched


def test_a_bad_edit_of_a_harvested_file_changes_no_byte(small_fake: FakeKolada, tmp_path: Path,
                                                        harvester) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "egna.csv").write_text(CSV, encoding="utf-8")
    config, out = own_config(tmp_path), tmp_path / "out"
    args = ("run", "--config", str(config), "--output", str(out), "--api-url", small_fake.base_url)
    assert harvester(*args).code == 0
    before = snapshot(out)
    (tmp_path / "egna.csv").write_text(CSV.replace("1 790,5", "1 790,5 kr"), encoding="utf-8")
    run = harvester(*args)
    assert run.code == 2 and "egna.csv:3: column 'värde': '1 790,5 kr' is not a number" in run.err
    assert snapshot(out) == before


@pytest.mark.parametrize("edit, expected", [
    (('path = "egna.csv"', 'path = "saknas.csv"'), "plan.toml:30: indicator 'egen-kostnad': no file "),
    (('path = "egna.csv"', 'path = "egna.xls"'), "plan.toml:30: indicator 'egen-kostnad': path 'egna.xls' must be "
                                                 "a .csv or .xlsx file (save it as .xlsx in Excel)"),
    (('path = "egna.csv"', 'path = "egna.csv"\nsheet = "Blad1"'), "plan.toml:31: indicator 'egen-kostnad': sheet "
                                                                  "names a sheet of an .xlsx file"),
    (('fill = "egen-kostnad"', 'fill = "egen-kosnad"'), "plan.toml:23: indicator 'n35001': fill names 'egen-kosnad', "
                                                        "which is not another indicator of this config (did you mean "
                                                        "'egen-kostnad'?)"),
    (('path = "egna.csv"', 'path = "egna.csv"\nfill = "n35001"'),
     "plan.toml:23: indicator 'n35001': fill goes round in a circle (n35001 → egen-kostnad → n35001)"),
])
def test_config_mistakes_name_the_line(small_fake: FakeKolada, tmp_path: Path, harvester, edit: tuple[str, str],
                                       expected: str) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "egna.csv").write_text(CSV, encoding="utf-8")
    config = own_config(tmp_path)
    text = config.read_text(encoding="utf-8")
    assert edit[0] in text
    config.write_text(text.replace(edit[0], edit[1], 1), encoding="utf-8")
    run = harvester("fetch", "--config", str(config), "--output", str(tmp_path / "out"), "--api-url",
                    small_fake.base_url)
    assert run.code == 2 and expected in run.err, run.err
    assert not (tmp_path / "out").exists()


def test_kolada_indicator_with_a_file_key_is_refused(tmp_path: Path) -> None:
    config = write_config(tmp_path / "k.toml")
    config.write_text(config.read_text(encoding="utf-8") + 'path = "egna.csv"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match='k.toml:23: .*path belongs to a file indicator; add source = "file"'):
        load_config(config)


@pytest.mark.parametrize("text, value", [("1 234,5", 1234.5), ("1\u00a0234", 1234.0), ("\u22123,5", -3.5),
                                         ("1234.5", 1234.5), ("..", None), ("", None), (7, 7.0)])
def test_numbers_as_authors_type_them(text: object, value: float | None) -> None:
    assert parse_number(text) == value


@pytest.mark.parametrize("text", ["1.234,5", "1,234.5", "12 34", "12 %", True])
def test_numbers_that_cannot_be_read_exactly_are_refused(text: object) -> None:
    with pytest.raises(NotANumber):
        parse_number(text)


def test_shipped_example_on_real_kolada_notes_the_plans_figure_beside_kolada_s(
        real_fake: FakeKolada, tmp_path: Path, harvester) -> None:  # type: ignore[no-untyped-def]
    config, out = REPO / "config" / "examples" / "egen-statistik.toml", tmp_path / "out"
    run = harvester("run", "--config", str(config), "--output", str(out), "--api-url", real_fake.base_url)
    assert run.code == 0, run.err
    table = (out / "tables" / "missbruk-kostnad.md").read_text(encoding="utf-8")
    # Kolada revised Eskilstuna's 2022 after the plan quoted 1 731; its value stays in the table.
    assert ("Egen statistik (fil egen-statistik.csv) skiljer sig från Kolada för Eskilstuna 2022 "
            "(Kolada 1\u00a0837,12, egen statistik 1\u00a0731); tabellerna visar värdet från Kolada.") in table
    assert "Där Kolada saknar värde visas egen statistik (fil egen-statistik.csv): Eskilstuna 2023." in table
    bench = pd.read_csv(out / "benchmark.csv", dtype={"home_id": str})
    row = bench[(bench["indicator"] == "missbruk-kostnad") & (bench["period"] == 2023)].iloc[0]
    assert row["home_value"] == 1690.0 and row["peer_n"] == 0


def test_the_documented_error_is_what_harvester_prints(small_fake: FakeKolada, tmp_path: Path, harvester,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    prefix = "harvester: error: config/examples/egen-statistik.csv:"
    shown = {line for doc in ("README.md", "docs/sources.md")
             for line in (REPO / doc).read_text(encoding="utf-8").splitlines() if line.startswith(prefix)}
    assert len(shown) == 1
    examples = tmp_path / "config" / "examples"
    examples.mkdir(parents=True)
    for name in ("egen-statistik.toml", "egen-statistik.csv"):  # the small fake's group stands in for G36484
        text = (REPO / "config" / "examples" / name).read_text(encoding="utf-8").replace('"G36484"', '"G1"')
        (examples / name).write_text(text, encoding="utf-8")
    csv = examples / "egen-statistik.csv"
    csv.write_text(csv.read_text(encoding="utf-8").replace(";1 690;", ";1 690 kr;"), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    run = harvester("fetch", "--config", "config/examples/egen-statistik.toml", "--output", "out",
                    "--api-url", small_fake.base_url)
    assert run.code == 2 and run.err.strip() == shown.pop()
