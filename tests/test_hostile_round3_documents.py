"""Hostile round three (issue 18), documents: records that lie and text that would break or arm a document.

Real runs against the fake Kolada: the text arrives as Kolada sends it (bent on the wire by the `rewrite`
fault) or as a config says it, and compare must write every document, readable, with the text as plain text.
"""
from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import docx
import openpyxl
import pytest

from harvester.exitcodes import ExitCode
from tests.conftest import write_config

FORMULAS = ["=cmd|' /C calc'!A0", '=HYPERLINK("http://x","y")', "+1+2", "@SUM(1+1)", "-2+3"]


def fetched(fake, harvester, tmp_path: Path, label: str = "Indikator N35001", unit: str | None = None):  # type: ignore[no-untyped-def]
    config = write_config(tmp_path / "kpis.toml", kpis=("N35001",))
    text = config.read_text("utf-8").replace('label = "Indikator N35001"', f"label = {json.dumps(label)}")
    if unit is not None:
        text += f"unit = {json.dumps(unit)}\n"
    config.write_text(text, "utf-8")
    out = tmp_path / "out"
    result = harvester("fetch", "--config", str(config), "--api-url", fake.base_url, "--output", str(out))
    assert result.code == ExitCode.OK, result.err
    return config, out


def compare(harvester, config: Path, out: Path):  # type: ignore[no-untyped-def]
    result = harvester("compare", "--config", str(config), "--output", str(out))
    assert result.code == ExitCode.OK, result.err
    return result


def test_a_tampered_record_never_removes_a_file_outside_the_output_folder(small_fake, harvester, tmp_path) -> None:
    """Item 22: `.compare-files.json` listing `../../victim.txt`, an absolute path, or a non-string."""
    config, out = fetched(small_fake, harvester, tmp_path)
    compare(harvester, config, out)
    victims = [tmp_path / "victim.txt", out.parent / "abs-victim.txt", out / "tables" / "own-notes.md"]
    for victim in victims:
        victim.write_text("mine", "utf-8")
    (out / "charts" / "escape").symlink_to(tmp_path)
    (out / ".compare-files.json").write_text(json.dumps(
        ["../victim.txt", "tables/../../victim.txt", str(victims[1]), "charts/escape/victim.txt", 7, None,
         "tables/gone.md"]), "utf-8")
    (out / "tables" / "gone.md").write_text("stale", "utf-8")
    result = compare(harvester, config, out)
    assert all(v.read_text("utf-8") == "mine" for v in victims)
    assert not (out / "tables" / "gone.md").exists()  # a plain stale entry is still removed
    assert "not removing '../victim.txt'" in result.err


def test_a_garbage_record_is_ignored(small_fake, harvester, tmp_path) -> None:
    config, out = fetched(small_fake, harvester, tmp_path)
    (out / ".compare-files.json").write_text('{"a": ' * 50_000, "utf-8")
    compare(harvester, config, out)
    assert "report.docx" in json.loads((out / ".compare-files.json").read_text("utf-8"))["files"]


def test_temporary_files_of_killed_compares_are_swept(small_fake, harvester, tmp_path) -> None:
    """Item 27: `.<file>.<pid>.tmp` left by a killed compare (a pid no longer running) is removed by the next."""
    config, out = fetched(small_fake, harvester, tmp_path)
    compare(harvester, config, out)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    leftovers = [out / f".report.docx.{dead.pid}.tmp", out / "tables" / f".n35001.md.{dead.pid}.tmp",
                 out / "charts" / f".n35001.png.{dead.pid}.tmp"]
    for path in leftovers:
        path.write_bytes(b"half")
    alive = out / f".report.html.{os.getppid()}.tmp"  # a live writer's file is not ours to take
    alive.write_bytes(b"busy")
    compare(harvester, config, out)
    assert not any(p.exists() for p in leftovers)
    assert alive.exists()


TITLE = rb'"id":"1981","title":"Sala"'
KPI = rb'"id":"N35001","title":"'


@pytest.mark.parametrize("old,new", [
    pytest.param(TITLE, rb'"id":"1981","title":"Sa\u0007la\ufffe\u000b\u001f"', id="23-municipality-control-chars"),
    pytest.param(rb'"title":"Liknande kommuner IFO, Eskilstuna, 2024"', rb'"title":"Liknande\u0000 \ufffe\uffff"',
                 id="23-group-title-control-chars"),
    pytest.param(rb'vuxna, kr/inv"', rb'vuxna, $\\frac{1}{$ kr/inv"', id="24-kpi-title-mathtext-unit"),
])
def test_hostile_titles_from_kolada_still_give_every_document(small_fake, harvester, tmp_path, old, new) -> None:
    small_fake.add_fault("rewrite", match=r"/v3/(municipality|kpi)", times=None, old=old, new=new)
    config, out = fetched(small_fake, harvester, tmp_path)
    compare(harvester, config, out)
    readable(out)


def test_a_mathtext_unit_in_the_config_is_plain_text_in_the_chart(small_fake, harvester, tmp_path) -> None:
    """Item 24: a config `unit` of `$\\frac{1}{$` reached the chart's axis label unescaped."""
    config, out = fetched(small_fake, harvester, tmp_path, unit="$\\frac{1}{$ kr")
    compare(harvester, config, out)
    assert (out / "charts" / "n35001.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize("label", FORMULAS)
def test_benchmark_csv_never_holds_a_live_formula(small_fake, harvester, tmp_path, label: str) -> None:
    """Item 26: a label or unit that a spreadsheet would run is written with a leading apostrophe."""
    small_fake.add_fault("rewrite", match=r"/v3/kpi", times=None, old=KPI, new=KPI + b"=1+1 ")
    config, out = fetched(small_fake, harvester, tmp_path, label=label)
    compare(harvester, config, out)
    rows = list(csv.reader(io.StringIO((out / "benchmark.csv").read_text("utf-8"))))
    cells = [cell for row in rows for cell in row]
    assert not any(cell[:1] in ("=", "+", "-", "@", "\t", "\r") for cell in cells if not _number(cell))
    assert f"'{label}" in cells


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def readable(out: Path) -> None:
    """Every document opens in the library its format's users' tools build on."""
    docx.Document(str(out / "report.docx"))
    openpyxl.load_workbook(out / "tables" / "benchmark.xlsx")
    zipfile.ZipFile(out / "report.docx").testzip()
    html = (out / "report.html").read_text("utf-8")
    assert "\x00" not in html and "\ufffe" not in html and "\x07" not in html
