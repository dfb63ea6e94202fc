"""What users see, checked in the applications they use: LibreOffice for report.docx, Chromium for report.html.

CI installs both (`.ci/run`); a machine without them fails these tests with a message saying what
to install, rather than passing them silently.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from harvester.exitcodes import ExitCode
from tests.conftest import REPO

SHIPPED = REPO / "config" / "kpis.toml"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def need(program: str, package: str) -> str:
    path = shutil.which(program)
    if path is None:
        pytest.fail(f"{program} is needed to check what users see: apt-get install {package} (.ci/run does)")
    return path


@pytest.fixture(scope="module")
def shipped_report(tmp_path_factory, shared_kolada) -> Path:
    from harvester.cli import main
    from tests.fake_kolada import FakeKolada, KoladaData

    out = tmp_path_factory.mktemp("shipped")
    with FakeKolada(KoladaData.from_shared(shared_kolada)) as fake:
        code = main(["run", "--config", str(SHIPPED), "--api-url", fake.base_url, "--output", str(out), "--no-cache",
                     "--quiet"])
    assert code == ExitCode.OK
    return out


def test_word_report_converts_to_pdf_with_every_number_whole(shipped_report, tmp_path) -> None:
    soffice = need("soffice", "libreoffice-writer-nogui")
    need("pdftotext", "poppler-utils")
    done = subprocess.run([soffice, "--headless", f"-env:UserInstallation=file://{tmp_path}/lo", "--convert-to", "pdf",
                           "--outdir", str(tmp_path), str(shipped_report / "report.docx")],
                          capture_output=True, text=True, timeout=180)
    pdf = tmp_path / "report.pdf"
    assert pdf.exists(), done.stderr
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    lines = [" ".join(line.split()) for line in text.splitlines()]
    md = (shipped_report / "tables" / "missbruk-kostnad.md").read_text(encoding="utf-8")
    numbers = set(re.findall(r"[+-]?\d{1,3}(?:\u00a0\d{3})+(?:,\d+)?", md))  # every number with a thousands space
    assert len(numbers) > 20
    for number in numbers:  # whole on one line: no cell broke it
        flat = number.replace("\u00a0", " ")
        assert any(flat in line for line in lines), number
    assert "jämförelsegrupp" in text  # the heading word, unbroken
    first = subprocess.run(["pdftotext", "-f", "1", "-l", "1", str(pdf), "-"], capture_output=True, text=True,
                           check=True).stdout
    # The first page holds more than the title: the legend and the start of the overview.
    assert "Färg på det senaste värdet" in first and "Indikatorer i jämförelse" in first
    assert "Kostnad missbruksvård" in first and "N35001" in first


def test_report_page_renders_every_table_and_image_in_a_browser(shipped_report) -> None:
    chromium = need("chromium", "chromium")
    from playwright.sync_api import sync_playwright

    page_url = (shipped_report / "report.html").resolve().as_uri()
    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
        page.on("console", lambda msg: problems.append(f"console {msg.type}: {msg.text}") if msg.type == "error" else None)
        page.on("request", lambda request: None if request.url.startswith(("file:", "data:"))
                else problems.append(f"external request: {request.url}"))
        page.goto(page_url)
        tables = page.locator("table").count()
        images = page.evaluate("Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.naturalHeight])")
        # numbers in one line: a right-aligned cell is never taller than the one-line "År" cell of its row
        wrapped = page.evaluate("Array.from(document.querySelectorAll('tbody tr')).filter(tr => {"
                                " const cells = Array.from(tr.cells); const h = Math.min(...cells.map(c => c.clientHeight));"
                                " return cells.some(c => c.style.textAlign === 'right' && c.scrollHeight > 1.6 * h); }).length")
        page.screenshot(path=str(shipped_report / "report-screenshot.png"), full_page=True)
        browser.close()
    assert problems == []
    # overview + two tables for each of the five indicators: every shipped indicator has values
    assert tables == 1 + 2 * 5
    assert len(images) == 5 and all(done and width > 500 and height > 200 for done, width, height in images)
    assert wrapped == 0
