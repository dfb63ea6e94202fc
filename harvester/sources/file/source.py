"""The author's files as a harvest source: the file's sha256 and modification time decide, then the whole file is read.

A file has no "changed since" either, but it can be fingerprinted for nothing: the cursor of a
series remembers the sha256 and modification time of the file it was read from, what the
indicator asked of it (path, sheet, series, month) and the areas and years it covered. All the
same → no read at all. Anything different → the whole file is read, every row checked, and the
series' slice replaced (a complete answer), so an edited or deleted figure lands in `revisions`
like an upstream revision. Files are read and checked while planning, before any source is
fetched, so one bad row stops the harvest with nothing written.
"""
from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pyarrow as pa

from .. import Batch, Scope, covers
from ... import schema
from ...transport import RequestStats
from . import rows as file_rows
from .spec import SOURCE, FileSeries
from .table import FileError, read_sheet

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Fingerprint:
    sha256: str
    modified: pd.Timestamp  # the file's modification time, UTC

    def matches(self, cursor: Mapping[str, Any]) -> bool:
        return cursor.get("sha256") == self.sha256 and cursor.get("modified") == self.modified.isoformat()


@dataclass(frozen=True)
class FileWork:
    rows: pa.Table
    fingerprint: Fingerprint


class FileSource:
    """Reads the files of the config's file indicators; no network, so its request counts stay zero.

    A bad file raises FileError (the author's mistake, like a config error: exit 2, nothing written)."""

    name = SOURCE
    label = "egen statistik"

    def __init__(self, files: Sequence[FileSeries], municipalities: Sequence[Mapping[str, str]]) -> None:
        self.files = {f.id: f for f in files}
        self.municipalities = municipalities
        self.base_url = ", ".join(dict.fromkeys(str(f.location) for f in files))
        self.read: dict[str, tuple[FileSeries, FileWork]] = {}  # series read this run, for the `series` table
        self._stats = RequestStats()

    @property
    def stats(self) -> RequestStats:
        return self._stats

    def plan(self, scope: Scope, cursors: Mapping[str, Mapping[str, Any]], refresh: bool) -> list[Batch]:
        """Every changed file read and checked now, before any source fetches: one bad row, nothing stored."""
        batches = []
        for series in scope.series:
            spec = self.files[series]
            data, fingerprint = _read(spec)
            cursor = cursors.get(series)
            if (cursor and not refresh and fingerprint.matches(cursor) and cursor.get("file") == spec.described
                    and covers(cursor, scope)):
                log.info("%s: %s unchanged (sha256 %s…); nothing to read", series, spec.location,
                         fingerprint.sha256[:12])
                continue
            try:
                sheet = read_sheet(spec.location, data, spec.sheet)
                checked = file_rows.checked_rows(sheet, spec, file_rows.Scope(series, frozenset(scope.areas),
                                                                              scope.years), self.municipalities)
            except FileError as exc:
                raise FileError(f"{exc}; indicator {spec.indicator_id!r}: nothing was stored") from None
            work = FileWork(checked, fingerprint)
            self.read[series] = (spec, work)
            batches.append(Batch(series=(series,), complete=True, estimated_pages=0, work=work))
        return batches

    def fetch(self, batch: Batch, scope: Scope) -> Iterator[pa.Table]:
        yield batch.work.rows

    def forget(self, batch: Batch) -> None:
        """Nothing is cached: the file is read again next time, as the cursor is dropped."""

    def cursor(self, series: str, batch: Batch, rows: pd.DataFrame, scope: Scope,
               previous: Mapping[str, Any] | None, started: pd.Timestamp) -> dict[str, Any]:
        fingerprint = batch.work.fingerprint
        return {"sha256": fingerprint.sha256, "modified": fingerprint.modified.isoformat(),
                "file": self.files[series].described, "areas": list(scope.areas),
                "years": [scope.years[0], scope.years[-1]]}

    def described(self, read_at: pd.Timestamp) -> pd.DataFrame:
        """Rows of the `series` table for the files read this run: what each id stands for, and its fingerprint."""
        rows = []
        for series, (spec, work) in self.read.items():
            periods = work.rows.column("period").to_pylist()
            rows.append({"kpi": series, "source": SOURCE, "title": spec.label, "table_id": None,
                         "selection": json.dumps(spec.described, ensure_ascii=False, sort_keys=True),
                         "month": spec.month, "unit": None, "decimals": None, "table_updated": None,
                         "first_period": str(min(periods)) if periods else None,
                         "last_period": str(max(periods)) if periods else None,
                         "sha256": work.fingerprint.sha256, "modified_at": work.fingerprint.modified,
                         "read_at": read_at})
        return pd.DataFrame(rows, columns=schema.SERIES.names)


def _read(spec: FileSeries) -> tuple[bytes, Fingerprint]:
    """The file's bytes and fingerprint from one read, so what is checked is what is fingerprinted."""
    try:
        modified = pd.Timestamp(spec.location.stat().st_mtime_ns, unit="ns", tz="UTC").floor("us")
        data = spec.location.read_bytes()
    except FileNotFoundError:
        raise FileError(f"{spec.written}: indicator {spec.indicator_id!r}: no file {spec.location} (path is "
                        "relative to the config file)") from None
    except OSError as exc:
        raise FileError(f"{spec.written}: indicator {spec.indicator_id!r}: cannot read {spec.location} "
                        f"({exc.strerror or exc})") from None
    return data, Fingerprint(hashlib.sha256(data).hexdigest(), modified)


def file_note(described: Mapping[str, Any]) -> str:
    """A file series' state for `harvester status`: which file, its fingerprint and modification time."""
    selection = json.loads(described.get("selection") or "{}")
    stamp = described.get("modified_at")
    modified = "?" if stamp is None or pd.isna(stamp) else f"{pd.Timestamp(stamp):%Y-%m-%d %H:%M}"
    return (f"file {selection.get('path')}, modified {modified} UTC, sha256 {str(described.get('sha256'))[:12]}…, "
            f"periods {described.get('first_period')}–{described.get('last_period')}")
