"""Shared fixtures: the fake Kolada (real or small data), the fake SCB, configs pointing at them, and a CLI runner."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from harvester.cli import main
from tests.fake_kolada import FakeKolada, KoladaData, require_shared
from tests.fake_scb.data import ScbData
from tests.fake_scb.data import require_shared as require_scb_shared
from tests.fake_scb.server import FakeScb

REPO = Path(__file__).resolve().parents[1]

SMALL_KPIS = [
    {"id": "N35001", "title": "Kostnad missbruksvård vuxna, kr/inv", "description": "d", "is_divided_by_gender": False,
     "municipality_type": "K", "auspice": "T", "operating_area": "Individ- och familjeomsorg", "perspective": "Resurser",
     "prel_publication_date": "2026-03-31", "publication_date": "2026-08-28", "publ_period": "2025", "has_ou_data": False},
    {"id": "N33817", "title": "Barn och unga 0-20 år placerade på familjehem, antal/1000 inv", "description": "d",
     "is_divided_by_gender": True, "municipality_type": "K", "auspice": None, "operating_area": "Individ- och familjeomsorg",
     "perspective": "Volymer", "prel_publication_date": None, "publication_date": "2027-02-24", "publ_period": "2026",
     "has_ou_data": False},
]
SMALL_MUNICIPALITIES = [
    {"id": "0000", "title": "Riket", "type": "L"},
    {"id": "0180", "title": "Stockholm", "type": "K"},
    {"id": "0380", "title": "Uppsala", "type": "K"},
    {"id": "0484", "title": "Eskilstuna", "type": "K"},
    {"id": "1981", "title": "Sala", "type": "K"},
    {"id": "2081", "title": "Borlänge", "type": "K"},
]
SMALL_GROUPS = [{"id": "G1", "title": "Liknande kommuner IFO, Eskilstuna, 2024", "members": [
    {"member_id": "0180", "member_title": "Stockholm"}, {"member_id": "0380", "member_title": "Uppsala"},
    {"member_id": "1981", "member_title": "Sala"}]}]


def small_values() -> pd.DataFrame:
    rows = []
    for i, area in enumerate(["0000", "0180", "0380", "0484", "1981", "2081"]):
        for year in range(2019, 2023):
            rows.append(("N35001", area, year, "T", 1000.0 + 100 * i + year - 2019))
            for g, extra in (("T", 0.0), ("K", -1.0), ("M", 1.0)):
                rows.append(("N33817", area, year, g, 10.0 + i + extra))
    rows.append(("N35001", "0484", 2018, "T", None))
    return pd.DataFrame(rows, columns=["kpi", "municipality", "period", "gender", "value"])


def small_data() -> KoladaData:
    return KoladaData.from_frames(SMALL_KPIS, SMALL_MUNICIPALITIES, SMALL_GROUPS, small_values())


@pytest.fixture
def small_fake() -> Iterator[FakeKolada]:
    with FakeKolada(small_data()) as fake:
        yield fake


def _needed(require: Callable[[], Path], what: str) -> Path:
    """The folder of ../shared a test needs; a clear failure (never a skip) when it is absent."""
    try:
        return require()
    except FileNotFoundError as exc:
        pytest.fail(f"these tests need {what}: {exc}")


@pytest.fixture(scope="session")
def shared_kolada() -> Path:
    return _needed(require_shared, "the real Kolada snapshot in ../shared/kolada")


@pytest.fixture
def real_fake(shared_kolada: Path) -> Iterator[FakeKolada]:
    """A fresh server per test: tests mutate its data."""
    with FakeKolada(KoladaData.from_shared(shared_kolada)) as fake:
        yield fake


@pytest.fixture(scope="session")
def shared_scb() -> Path:
    return _needed(require_scb_shared, "the SCB contract in ../shared/scb")


@pytest.fixture
def scb_fake(shared_scb: Path) -> Iterator[FakeScb]:
    """A fresh fake SCB per test (tests mutate its data), with SCB's real limits."""
    with FakeScb(ScbData.from_shared(shared_scb)) as fake:
        yield fake


def write_config(path: Path, *, home: str = "0484", groups: tuple[str, ...] = ("G1",), kpis: tuple[str, ...] = ("N35001",),
                 year_from: int = 2015, year_to: int | None = None, extra: tuple[str, ...] = (), riket: bool = True,
                 rate: float = 1000, retry_seconds: float = 3, timeout: float = 5, directions: tuple[str, ...] = (),
                 backoff: float = 0.02) -> Path:
    """A config for tests: fast rate, short retry budget and backoff, indicators named after their KPIs."""
    lines = ["[source]", f"rate = {rate}", f"max_retry_seconds = {retry_seconds}", f"timeout = {timeout}",
             f"backoff = {backoff}", "",
             "[home]", f'municipality = "{home}"', "", "[comparison]",
             "groups = [" + ", ".join(f'"{g}"' for g in groups) + "]",
             "municipalities = [" + ", ".join(f'"{m}"' for m in extra) + "]", f"riket = {'true' if riket else 'false'}",
             "", "[years]", f"from = {year_from}"]
    if year_to:
        lines.append(f"to = {year_to}")
    for i, kpi in enumerate(kpis):
        direction = directions[i] if i < len(directions) else "lower"
        lines += ["", "[[indicator]]", f'id = "{kpi.lower()}"', f'label = "Indikator {kpi}"', f'kpi = "{kpi}"',
                  f'direction = "{direction}"']
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@dataclass
class Run:
    code: int
    out: str
    err: str


@pytest.fixture
def harvester(capsys: pytest.CaptureFixture[str], tmp_path: Path):  # type: ignore[no-untyped-def]
    """Run the CLI in-process with a private HTTP cache; returns (exit code, stdout, stderr)."""
    def run(*args: str, cache: bool = True) -> Run:
        extra = ["--cache", str(tmp_path / "http-cache.sqlite")] if cache and args[0] in {"fetch", "run", "groups"} else []
        try:
            code = main([*args, *extra])
        except SystemExit as exc:  # argparse refuses bad arguments this way, with code 2
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)
    return run


def snapshot(root: Path, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """sha256 of every file under root (but the lock, staging and skipped names), to prove nothing changed."""
    digest = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and not rel.startswith((".staging", ".lock")) and path.name not in skip:
            digest[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digest


def run_cli_subprocess(args: list[str], env: dict[str, str] | None = None, timeout: float = 120,
                       **kwargs) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    """The real console entry point in a child process (for locks, kills and resource limits)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "harvester", *args], capture_output=True, text=True,
                          timeout=timeout, env=full_env, cwd=REPO, **kwargs)
