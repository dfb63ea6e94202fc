"""Compare rewrites only what changed: the record of input and file hashes beside the documents (`reuse`)."""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from harvester import reuse
from harvester.exitcodes import ExitCode
from harvester.report import write_report

from .conftest import write_config
from .test_report import build_dataset, config

DAY = dt.date(2026, 12, 1)
ALL = 17  # per indicator md + html (3), charts (2), overview md + html, xlsx, 4 data files, 2 reports


_OUTPUTS = {"benchmark.parquet", "benchmark.csv", "peers.parquet", "robustness.parquet", "report.docx", "report.html"}


def _outputs(root: Path) -> dict[str, tuple[int, bytes]]:
    paths = [root / name for name in _OUTPUTS] + sorted((root / "tables").iterdir()) + sorted((root / "charts").iterdir())
    return {p.relative_to(root).as_posix(): (p.stat().st_mtime_ns, p.read_bytes()) for p in paths}


def _age(root: Path) -> None:
    """Set every output's mtime an hour back, so a rewrite shows even on a coarse clock."""
    for p in [root / name for name in _OUTPUTS] + list((root / "tables").iterdir()) + list((root / "charts").iterdir()):
        os.utime(p, ns=(p.stat().st_atime_ns, p.stat().st_mtime_ns - 3_600_000_000_000))


def _built(root: Path) -> dict[str, tuple[int, bytes]]:
    build_dataset(root)
    first = write_report(config(), root, today=DAY)
    assert len(first.files) == ALL and first.kept == 0
    _age(root)
    return _outputs(root)


def test_a_rerun_with_nothing_new_rewrites_nothing(tmp_path):
    before = _built(tmp_path)
    again = write_report(config(), tmp_path, today=DAY + dt.timedelta(days=1))
    assert again.files == () and again.kept == ALL
    assert again.notes == ("saknas: no values for Sala (N99999, gender T); table without comparison, no chart",)
    assert _outputs(tmp_path) == before


def test_force_rewrites_everything(tmp_path):
    before = _built(tmp_path)
    forced = write_report(config(), tmp_path, today=DAY, force=True)
    assert len(forced.files) == ALL
    after = _outputs(tmp_path)
    assert all(after[f][0] > before[f][0] for f in before)


def test_a_removed_file_is_the_only_one_written(tmp_path):
    before = _built(tmp_path)
    (tmp_path / "charts/missbruk.png").unlink()
    (tmp_path / "tables/overview.md").write_text("edited by hand", encoding="utf-8")
    again = write_report(config(), tmp_path, today=DAY + dt.timedelta(days=3))
    assert sorted(p.relative_to(tmp_path).as_posix() for p in again.files) == ["charts/missbruk.png",
                                                                               "tables/overview.md"]
    after = _outputs(tmp_path)
    assert after["charts/missbruk.png"][1] == before["charts/missbruk.png"][1]
    assert after["tables/overview.md"] != before["tables/overview.md"]
    assert after["tables/overview.md"][1] == before["tables/overview.md"][1]
    assert {f: v for f, v in after.items() if f not in {"charts/missbruk.png", "tables/overview.md"}} == \
        {f: v for f, v in before.items() if f not in {"charts/missbruk.png", "tables/overview.md"}}


def test_a_changed_value_rewrites_its_indicator_and_the_shared_documents_only(tmp_path):
    before = _built(tmp_path)
    path = tmp_path / "values/N33817.parquet"
    table = pq.read_table(path).to_pylist()
    for row in table:
        if row["municipality_id"] == "1981" and row["gender"] == "K":
            row["value"] = 13.5
    pq.write_table(pa.Table.from_pylist(table, schema=pq.read_schema(path)), path)
    again = write_report(config(), tmp_path, today=DAY)
    written = {p.relative_to(tmp_path).as_posix() for p in again.files}
    assert {"tables/familjehem-flickor.md", "charts/familjehem-flickor.png", "report.docx"} <= written
    assert not written & {"tables/missbruk.md", "tables/missbruk.html", "charts/missbruk.png", "tables/saknas.md"}
    assert again.kept == ALL - len(written)
    after = _outputs(tmp_path)
    assert after["charts/missbruk.png"] == before["charts/missbruk.png"]


def test_a_corrupt_or_foreign_record_means_a_full_rebuild(tmp_path):
    before = _built(tmp_path)
    record = tmp_path / reuse.RECORD
    for spoilt in ("{not json", '{"format": 2, "version": "0.0.1-other", "inputs": "x", "files": {}, "notes": []}',
                   '"a string"', '{"format": 2, "files": 7}'):
        record.write_text(spoilt, encoding="utf-8")
        again = write_report(config(), tmp_path, today=DAY)
        assert again.kept + len(again.files) == ALL  # rendered in full, compared byte by byte
        assert reuse.read_record(tmp_path).inputs  # and recorded again
    forced = write_report(config(), tmp_path, today=DAY, force=True)
    assert {p.relative_to(tmp_path).as_posix() for p in forced.files} == set(before)


def test_the_nightly_run_with_nothing_new_keeps_every_document(small_fake, harvester, tmp_path):
    config = write_config(tmp_path / "kpis.toml", kpis=("N35001", "N33817"))
    out = tmp_path / "out"
    args = ("run", "--config", str(config), "--api-url", small_fake.base_url, "--output", str(out))
    assert harvester(*args).code == ExitCode.OK
    _age(out)
    before = _outputs(out)
    again = harvester(*args, "--quiet")
    assert again.code == ExitCode.UNCHANGED and again.err == ""
    assert _outputs(out) == before
    loud = harvester(*args)
    assert "compare: nothing changed since the last compare" in loud.err and _outputs(out) == before
    forced = harvester("compare", "--config", str(config), "--output", str(out), "--force")
    assert forced.code == ExitCode.OK and "compare: wrote" in forced.err
    assert all(mtime > before[f][0] for f, (mtime, _) in _outputs(out).items())
