"""The Parquet dataset on disk: every file of it, how to read it, and how to replace parts of it safely.

Every write goes to `.staging/<run>/` first. A run's changes become visible in one commit: each
target folder is probed for writing, a manifest is written (the commit point), then each staged
file is moved over its target with `os.replace`, which is atomic on POSIX. A crash before the
manifest leaves the old dataset as it was; a crash after it is rolled forward by `recover` at the
start of the next run. Files are moved in a fixed order (`COMMIT_ORDER`): values first, then the
tables that describe them, then `revisions`, then `runs`, and the cursors last. So a reader never
sees a revision or a run row whose values are not in place yet, and a run row in `runs` means every
file of that run is in place; a `.staging/*/COMMIT.json` means a commit is being (or is to be)
finished.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from . import schema
from .outputfiles import temporary_name

log = logging.getLogger(__name__)
T = TypeVar("T")

VALUES_DIR = "values"
CURSORS = "cursors.json"
STAGING = ".staging"
MANIFEST = "COMMIT.json"
LOCK_FILE = ".lock"
# Commit order: first what readers need, then what describes it, the cursors last (they must never
# claim data that is not in place yet).
COMMIT_ORDER = (VALUES_DIR + "/", "kpis.parquet", "municipalities.parquet", "groups.parquet", "series.parquet",
                "revisions.parquet",
                "runs.parquet", CURSORS)


def values_path(root: Path, kpi: str) -> Path:
    return Path(root) / VALUES_DIR / f"{kpi}.parquet"


def table_path(root: Path, name: str) -> Path:
    return Path(root) / f"{name}.parquet"


def stored_kpis(root: Path) -> list[str]:
    folder = Path(root) / VALUES_DIR
    return sorted(p.stem for p in folder.glob("*.parquet")) if folder.is_dir() else []


def _upgraded(table: pa.Table) -> pa.Table:
    """A values file of schema version 1 (Kolada only, no `source`) in today's columns."""
    missing = set(schema.VALUES.names) - set(table.column_names) - {"source"}
    if missing:  # not ours: a file of another schema
        raise pa.ArrowInvalid(f"no column {', '.join(sorted(missing))}")
    if "source" not in table.column_names:
        table = table.append_column("source", pa.array(["kolada"] * len(table), pa.string()))
    return table.select(schema.VALUES.names).cast(schema.VALUES)


class CorruptDataset(Exception):
    """A dataset file that cannot be read as what it should be (truncated, empty, another schema)."""


def _readable(path: Path, read: Callable[[], T]) -> T:
    """`read()` of a dataset file, or a CorruptDataset naming the file and what to do: a truncated file is
    not a bug in harvester, and the run must stop before it writes anything."""
    try:
        return read()
    except (pa.ArrowException, OSError) as exc:
        raise CorruptDataset(f"{path} is damaged and cannot be read ({str(exc)[:200]}); restore it from a backup, "
                             "or move it away and run `harvester fetch --refresh`; nothing was changed") from None


def read_values_table(root: Path, kpi: str) -> pa.Table:
    """One series' stored rows as Arrow (empty, with the schema, when nothing is stored)."""
    path = values_path(root, kpi)
    if not path.exists():
        return schema.VALUES.empty_table()
    return _readable(path, lambda: _upgraded(pq.read_table(path)))


def outdated_values(root: Path) -> list[str]:
    """Series whose file predates the current schema (upgraded in place by the next harvest)."""
    return [k for k in stored_kpis(root)
            if "source" not in _readable(values_path(root, k), lambda: pq.read_schema(values_path(root, k))).names]


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
    table = _readable(path, lambda: pq.read_table(path, schema=target)) if path.exists() else target.empty_table()
    return table.to_pandas()


def holds(root: Path, name: str, table: pa.Table) -> bool:
    """Whether metadata table `name` on disk already has exactly these rows and types (no rewrite needed)."""
    path = table_path(root, name)
    return path.exists() and _readable(path, lambda: pq.read_table(path, schema=table.schema)).equals(table)


def missing_tables(root: Path) -> list[str]:
    """Documented tables not on disk yet: a first successful run creates them, empty where empty."""
    return [name for name in schema.TABLES if not table_path(root, name).exists()]


def read_cursors(root: Path) -> dict[str, dict[str, Any]]:
    path = Path(root) / CURSORS
    if not path.exists():
        return {}
    try:
        cursors = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(cursors, dict) or not all(isinstance(c, dict) for c in cursors.values()):
            raise ValueError("not an object of one object per series")
        return cursors
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable %s (%s): every KPI will be fetched in full", path, exc)
        return {}


def checked_at(root: Path) -> dict[str, pd.Timestamp]:
    """When each series was last checked against its source: its cursor's `checked_at`, or else the
    start of the last harvest that succeeded (datasets written before cursors carried the time)."""
    runs = read_table(root, "runs")
    good = runs[runs["outcome"].isin(["success", "unchanged", "partial"])]
    fallback = good["started_at"].max() if len(good) else None
    checked = {}
    for series, cursor in read_cursors(root).items():
        stamp = cursor.get("checked_at")
        checked[series] = pd.Timestamp(stamp) if stamp else fallback
    return {k: v for k, v in checked.items() if v is not None and not pd.isna(v)}


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def parquet_bytes(table: pa.Table) -> bytes:
    buffer = pa.BufferOutputStream()
    pq.write_table(table, buffer, compression="zstd")
    return buffer.getvalue().to_pybytes()


def write_durably(path: Path, data: bytes) -> None:
    """Write a file and flush it to disk, so a power cut cannot leave a torn file behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def write_atomically(path: Path, data: bytes) -> Path:
    """Replace `path` with `data` in one step (a temporary file beside it, then `os.replace`).

    A reader, or a Word document linked to the file, sees the old file or the new one, never half
    of one; a failed write leaves the old file and no temporary file behind.
    """
    tmp = temporary_name(path)
    try:
        write_durably(tmp, data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _probe(folder: Path) -> None:
    """Raise OSError unless a file can be created in `folder` (os.access is blind to chattr +i and full disks)."""
    folder.mkdir(parents=True, exist_ok=True)
    probe = folder / f".probe-{os.getpid()}"
    try:
        with open(probe, "wb") as fh:
            fh.write(b"x")
    finally:
        probe.unlink(missing_ok=True)


class Transaction:
    """Files staged for one run, made visible together by `commit`."""

    def __init__(self, root: Path, run_id: str) -> None:
        self.root = Path(root)
        self.dir = self.root / STAGING / run_id
        self.staged: list[str] = []

    def stage_table(self, relpath: str, table: pa.Table) -> None:
        write_durably(self.dir / relpath, parquet_bytes(table))
        self._note(relpath)

    def stage_values(self, kpi: str, table: pa.Table) -> None:
        self.stage_table(f"{VALUES_DIR}/{kpi}.parquet", table)

    def stage_json(self, relpath: str, data: Any) -> None:
        text = json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
        write_durably(self.dir / relpath, text.encode("utf-8"))
        self._note(relpath)

    def stage_appended(self, name: str, rows: pd.DataFrame) -> None:
        """Stage table `name` (`runs`, `revisions`) with `rows` added after the stored ones."""
        old = read_table(self.root, name)
        frame = pd.concat([old, rows], ignore_index=True) if len(old) else rows
        self.stage_table(f"{name}.parquet", schema.to_arrow(frame, schema.TABLES[name]))

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
        order = sorted(self.staged, key=_commit_rank)
        for folder in sorted({(self.root / p).parent for p in order}):
            _probe(folder)  # a folder we cannot write fails the run before the commit point, not half way
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(order, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, manifest)
        _fsync_dir(self.dir)
        _roll_forward(self.root, self.dir, order)
        return order

    def discard(self) -> None:
        """Drop staged files, unless the commit point was passed: then `recover` must finish the job."""
        if not (self.dir / MANIFEST).exists():
            shutil.rmtree(self.dir, ignore_errors=True)


def _commit_rank(relpath: str) -> tuple[int, str]:
    rank = next((i for i, prefix in enumerate(COMMIT_ORDER) if relpath.startswith(prefix)), len(COMMIT_ORDER) - 1)
    return rank, relpath


class CommitIncomplete(OSError):
    """The commit point was passed but not every file could be moved; the next run finishes the job."""


def _manifest(root: Path, staged_dir: Path) -> list[str] | None:
    """The files a commit moves, or None when the manifest is garbage: a list of paths inside the dataset
    is the only thing a run of ours writes there, so anything else was not written by one."""
    try:
        order = json.loads((staged_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    inside = (isinstance(order, list) and all(isinstance(p, str) and p and not Path(p).is_absolute()
                                              and ".." not in Path(p).parts for p in order))
    return order if inside else None


def _roll_forward(root: Path, staged_dir: Path, order: list[str]) -> None:
    touched: set[Path] = set()
    for number, relpath in enumerate(order):
        source = staged_dir / relpath
        if source.exists():  # already moved when an earlier roll-forward was interrupted
            target = root / relpath
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(source, target)
            except OSError as exc:
                raise CommitIncomplete(
                    f"the commit of run {staged_dir.name} stopped after {number} of {len(order)} files "
                    f"({', '.join(order[:number]) or 'none'} in place; {relpath} failed: {exc}); the next run "
                    "finishes it") from exc
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
        if (run_dir / MANIFEST).exists() and (order := _manifest(Path(root), run_dir)) is None:
            log.warning("discarding the staging of run %s: its %s is not a list of files inside the dataset, "
                        "so it cannot be rolled forward", run_dir.name, MANIFEST)
            shutil.rmtree(run_dir, ignore_errors=True)
            done.append(f"discarded run {run_dir.name} with an unreadable {MANIFEST}")
        elif (run_dir / MANIFEST).exists():
            _roll_forward(Path(root), run_dir, order)
            done.append(f"completed the interrupted commit of run {run_dir.name}")
        else:
            shutil.rmtree(run_dir, ignore_errors=True)
            done.append(f"discarded unfinished work of run {run_dir.name}")
    return done


GOOD_RUNS = ("success", "unchanged", "partial")  # harvests that committed what they fetched


class AsOfError(ValueError):
    """A date the dataset cannot answer for: in the future, or before its first harvest."""


def first_harvest(root: Path) -> pd.Timestamp | None:
    """When the first harvest that committed anything started (None: none yet)."""
    runs = read_table(root, "runs")
    good = runs.loc[runs["outcome"].isin(GOOD_RUNS), "started_at"]
    return good.min() if len(good) else None


def check_as_of(root: Path, date: dt.date, today: dt.date | None = None) -> None:
    """Raise AsOfError unless the dataset under `root` can say what it held at the end of `date`."""
    today = today or dt.datetime.now(dt.timezone.utc).date()
    if date > today:
        raise AsOfError(f"as of {date:%Y-%m-%d}: that date is in the future (today is {today:%Y-%m-%d})")
    first = first_harvest(root)
    if first is None or date < first.date():
        since = f"the first it can reproduce is {first.date():%Y-%m-%d}" if first is not None else "it has no harvest yet"
        raise AsOfError(f"as of {date:%Y-%m-%d}: the dataset under {root} holds no values from before its first "
                        f"harvest; {since}")


def values_as_of(path: Path, date: dt.date, kpis: Iterable[str] | None = None,
                 today: dt.date | None = None) -> pd.DataFrame:
    """The stored values as they stood at the end of `date` (UTC), rebuilt from `revisions`.

    A plan quotes the figure of the day it was written; Kolada may have revised it since. A value
    revised later shows the figure it had then (the `old_value` of its first later revision), a value
    removed later is back, a value first fetched later is absent. A restored row's `fetched_at` is
    the revision before `date` that set it, or null when it predates every recorded revision. The
    dataset does not keep when a row was first fetched, only when it last changed: a value first
    fetched after `date` and revised after it again shows its first figure.
    Same columns as `read_values`. Raises AsOfError for a date after `today` or before the first harvest.
    """
    root = Path(path)
    check_as_of(root, date, today)
    cutoff = pd.Timestamp(date + dt.timedelta(days=1), tz="UTC")
    values = read_values(root, kpis)
    key = ["kpi", "municipality_id", "period", "gender"]
    revisions = read_table(root, "revisions")
    revisions = revisions[revisions["kpi"].isin(values["kpi"].unique()) if kpis is None
                          else revisions["kpi"].isin(list(kpis))].sort_values("detected_at", kind="stable")
    later = revisions[revisions["detected_at"] >= cutoff].drop_duplicates(key, keep="first")
    set_before = revisions[revisions["detected_at"] < cutoff].drop_duplicates(key, keep="last")
    now = values[values["fetched_at"] < cutoff].merge(later[key], on=key, how="left", indicator=True)
    kept = now.loc[now["_merge"] == "left_only", values.columns]  # unchanged since the date
    restored = later.merge(values.drop(columns=["value", "fetched_at"]), on=key, how="left")
    restored = restored.merge(set_before[[*key, "detected_at"]].rename(columns={"detected_at": "set_at"}), on=key,
                              how="left")
    series_source = dict(zip(values["kpi"], values["source"]))  # a removed row's source: its series'
    restored = restored.assign(value=restored["old_value"], fetched_at=restored["set_at"],
                               count=restored["count"].fillna(1).where(restored["old_value"].notna(), 0),
                               status=restored["status"].fillna(""),
                               source=restored["source"].where(restored["source"].notna(),
                                                               restored["kpi"].map(series_source)).fillna("kolada"))
    out = pd.concat([kept, restored[values.columns]], ignore_index=True)
    table = pa.Table.from_pandas(out.sort_values(key, kind="stable"), schema=schema.VALUES, preserve_index=False)
    return table.to_pandas()
