"""The Parquet dataset on disk: reading it, and replacing parts of it without ever breaking it.

Every write goes to `.staging/<run>/` first. A run's changes become visible in one commit: a
manifest is written (the commit point), then each staged file is moved over its target with
`os.replace`, which is atomic on POSIX. A crash before the manifest leaves the old dataset as it
was; a crash after it is rolled forward by `recover` at the start of the next run. Readers
therefore always see whole files, and the previous dataset survives any interruption.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from . import schema

log = logging.getLogger(__name__)

VALUES_DIR = "values"
CURSORS = "cursors.json"
STAGING = ".staging"
MANIFEST = "COMMIT.json"


def values_path(root: Path, kpi: str) -> Path:
    return Path(root) / VALUES_DIR / f"{kpi}.parquet"


def table_path(root: Path, name: str) -> Path:
    return Path(root) / f"{name}.parquet"


def stored_kpis(root: Path) -> list[str]:
    folder = Path(root) / VALUES_DIR
    return sorted(p.stem for p in folder.glob("*.parquet")) if folder.is_dir() else []


def read_values_table(root: Path, kpi: str) -> pa.Table:
    """One KPI's stored rows as Arrow (empty, with the schema, when nothing is stored)."""
    path = values_path(root, kpi)
    if not path.exists():
        return schema.VALUES.empty_table()
    return pq.read_table(path, schema=schema.VALUES)


def read_values(root: Path, kpis: Iterable[str] | None = None) -> pd.DataFrame:
    """Stored values of the given KPIs (all when None) as one DataFrame with the documented columns."""
    wanted = stored_kpis(root) if kpis is None else [k for k in dict.fromkeys(kpis) if values_path(root, k).exists()]
    tables = [read_values_table(root, k) for k in wanted]
    table = pa.concat_tables(tables) if tables else schema.VALUES.empty_table()
    return table.to_pandas()


def read_table(root: Path, name: str) -> pd.DataFrame:
    """A metadata table (`kpis`, `municipalities`, `groups`, `revisions`, `runs`); empty when absent."""
    target = schema.TABLES[name]
    path = table_path(root, name)
    table = pq.read_table(path, schema=target) if path.exists() else target.empty_table()
    return table.to_pandas()


def read_cursors(root: Path) -> dict[str, dict[str, Any]]:
    path = Path(root) / CURSORS
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable %s (%s): every KPI will be fetched in full", path, exc)
        return {}


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_parquet_durably(table: pa.Table, path: Path) -> None:
    """Write a Parquet file and flush it to disk, so a power cut cannot leave a torn file behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        pq.write_table(table, fh, compression="zstd")
        fh.flush()
        os.fsync(fh.fileno())


class Transaction:
    """Files staged for one run, made visible together by `commit`."""

    def __init__(self, root: Path, run_id: str) -> None:
        self.root = Path(root)
        self.dir = self.root / STAGING / run_id
        self.staged: list[str] = []

    def stage_table(self, relpath: str, table: pa.Table) -> None:
        write_parquet_durably(table, self.dir / relpath)
        self._note(relpath)

    def stage_json(self, relpath: str, data: Any) -> None:
        target = self.dir / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1, sort_keys=True, ensure_ascii=False)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        self._note(relpath)

    def _note(self, relpath: str) -> None:
        if relpath not in self.staged:
            self.staged.append(relpath)

    def commit(self) -> list[str]:
        """Make every staged file visible; return their paths relative to the root."""
        if not self.staged:
            self.discard()
            return []
        manifest = self.dir / MANIFEST
        tmp = manifest.with_suffix(".tmp")
        # Cursors last: they must never claim data that is not in place yet.
        order = sorted(self.staged, key=lambda p: (p == CURSORS, p))
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(order, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, manifest)
        _fsync_dir(self.dir)
        _roll_forward(self.root, self.dir)
        return order

    def discard(self) -> None:
        """Drop staged files, unless the commit point was passed: then `recover` must finish the job."""
        if not (self.dir / MANIFEST).exists():
            shutil.rmtree(self.dir, ignore_errors=True)


def _roll_forward(root: Path, staged_dir: Path) -> None:
    order = json.loads((staged_dir / MANIFEST).read_text(encoding="utf-8"))
    touched: set[Path] = set()
    for relpath in order:
        source = staged_dir / relpath
        if source.exists():  # already moved when an earlier roll-forward was interrupted
            target = root / relpath
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, target)
            touched.add(target.parent)
    for folder in touched:
        _fsync_dir(folder)
    shutil.rmtree(staged_dir, ignore_errors=True)


def recover(root: Path) -> list[str]:
    """Finish commits a killed run had started and drop the staging of runs that never committed.

    Called under the run lock, so no other process is writing. Returns what was done, for the log.
    """
    staging = Path(root) / STAGING
    done: list[str] = []
    if not staging.is_dir():
        return done
    for run_dir in sorted(p for p in staging.iterdir() if p.is_dir()):
        if (run_dir / MANIFEST).exists():
            _roll_forward(Path(root), run_dir)
            done.append(f"completed the interrupted commit of run {run_dir.name}")
        else:
            shutil.rmtree(run_dir, ignore_errors=True)
            done.append(f"discarded unfinished work of run {run_dir.name}")
    return done
