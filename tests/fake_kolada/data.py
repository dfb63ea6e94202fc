"""What the fake Kolada API serves: the catalogue verbatim and values loaded lazily per KPI.

The real snapshot (9.5 M values) is far too big to load for every test run, and
most tests touch a handful of KPIs, so values are read from the parquet file
only for the KPIs a query names and are kept in memory afterwards.
"""

from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

SNAPSHOT_DATE = "2024-08-30"
GENDER_ORDER = {"T": 0, "K": 1, "M": 2}
CATALOGUES = ("kpi", "kpi_groups", "municipality", "municipality_groups", "ou")
SHARED_FILES = ("catalog/kpi.json", "catalog/municipality.json", "catalog/municipality_groups.json", "values.parquet")
REPO_ROOT = Path(__file__).resolve().parents[2]

_COLUMNS = ["kpi", "municipality", "period", "gender", "value", "count", "status", "changed", "isdeleted"]
_ITEM_KEY = ["kpi", "municipality", "period"]
_CACHE_SIZE = 8

Loader = Callable[[Sequence[str] | None], pd.DataFrame]


def shared_path() -> Path:
    """Locate the real snapshot, which lives beside the repo so it is never committed."""
    override = os.environ.get("KOLADA_SHARED")
    return Path(override) if override else REPO_ROOT.parent / "shared" / "kolada"


def require_shared(path: Path | None = None) -> Path:
    """Fail loudly when the snapshot is missing: silently skipping would hide untested code."""
    path = path or shared_path()
    missing = [name for name in SHARED_FILES if not (path / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"Kolada snapshot missing: looked in {path} and did not find {', '.join(missing)}."
            " By default it is <repo>/../shared/kolada; set KOLADA_SHARED (or --shared) to point elsewhere."
        )
    return path


def _iso(day: date | str | None) -> str:
    """Store dates as ISO strings so from_date filtering is a vectorised string comparison."""
    if day is None:
        return date.today().isoformat()
    return day.isoformat() if isinstance(day, date) else date.fromisoformat(day).isoformat()


def _normalise(raw: pd.DataFrame) -> pd.DataFrame:
    """Bring caller- or parquet-supplied values to one schema so every later step can rely on it."""
    value = pd.to_numeric(raw["value"]).astype("float64").reset_index(drop=True)
    count = raw["count"].reset_index(drop=True) if "count" in raw else 1
    status = raw["status"].fillna("").astype(str).reset_index(drop=True) if "status" in raw else ""
    frame = pd.DataFrame(
        {
            "kpi": raw["kpi"].astype(str).reset_index(drop=True),
            "municipality": raw["municipality"].astype(str).reset_index(drop=True),
            "period": raw["period"].astype("int64").reset_index(drop=True),
            "gender": raw["gender"].astype(str).reset_index(drop=True),
            "value": value,
        }
    )
    frame["count"] = np.where(value.isna(), 0, count).astype("int64")
    frame["status"] = status
    frame["changed"] = SNAPSHOT_DATE
    frame["isdeleted"] = False
    return frame[_COLUMNS]


def _empty() -> pd.DataFrame:
    return _normalise(pd.DataFrame({"kpi": [], "municipality": [], "period": [], "gender": [], "value": []}))


class Items:
    """A query's answer sorted once, so that any page is a cheap slice rather than a recomputation."""

    def __init__(self, rows: pd.DataFrame) -> None:
        rows = rows.assign(_gender=rows["gender"].map(GENDER_ORDER))
        rows = rows.sort_values([*_ITEM_KEY, "_gender"], kind="stable", ignore_index=True)
        firsts = np.flatnonzero(~rows.duplicated(_ITEM_KEY).to_numpy())
        self._starts = np.append(firsts, len(rows))
        value = rows["value"].astype(object).where(rows["value"].notna(), None)
        self._columns = [
            column.to_numpy()
            for column in (rows["kpi"], rows["municipality"], rows["period"], rows["gender"], value,
                           rows["count"], rows["status"], rows["isdeleted"])
        ]

    def __len__(self) -> int:
        return len(self._starts) - 1

    def page(self, first: int, stop: int) -> list[dict]:
        """Build JSON-ready items [first, stop) in the key order Kolada serves."""
        stop = min(stop, len(self))
        if first >= stop:
            return []
        bounds = self._starts[first:stop + 1]
        low, high = int(bounds[0]), int(bounds[-1])
        kpi, area, period, gender, value, count, status, deleted = (c[low:high].tolist() for c in self._columns)
        offsets = (bounds - low).tolist()
        return [
            {
                "values": [
                    {"gender": gender[i], "count": count[i], "status": status[i], "value": value[i],
                     "isdeleted": deleted[i]}
                    for i in range(start, end)
                ],
                "kpi": kpi[start],
                "period": period[start],
                "municipality": area[start],
            }
            for start, end in zip(offsets, offsets[1:])
        ]


class KoladaData:
    """Catalogue plus values with change dates, mutable by tests to simulate Kolada revising data."""

    def __init__(self, catalogue: dict[str, list[dict]], load: Loader) -> None:
        self._catalogue = {name: sorted(catalogue.get(name, []), key=lambda o: o["id"]) for name in CATALOGUES}
        self._members = {
            group["id"]: [member["member_id"] for member in group.get("members", [])]
            for group in self._catalogue["municipality_groups"]
        }
        self._load = load
        self._frames: dict[str, pd.DataFrame] = {}
        self._complete = False
        self._cache: OrderedDict[tuple, Items] = OrderedDict()
        self._lock = threading.RLock()

    @classmethod
    def from_shared(cls, path: Path | None = None) -> KoladaData:
        """Serve the real snapshot; values are read per KPI on demand because the whole file is large."""
        path = require_shared(path)
        catalogue = {
            name: json.loads((path / "catalog" / f"{name}.json").read_text(encoding="utf-8"))
            for name in ("kpi", "municipality", "municipality_groups")
        }
        parquet = path / "values.parquet"

        def load(kpis: Sequence[str] | None) -> pd.DataFrame:
            filters = None if kpis is None else [("kpi", "in", list(kpis))]
            return pq.read_table(parquet, filters=filters).to_pandas()

        return cls(catalogue, load)

    @classmethod
    def from_frames(
        cls,
        kpis: list[dict],
        municipalities: list[dict],
        groups: list[dict],
        values: pd.DataFrame,
        *,
        kpi_groups: list[dict] | None = None,
        ous: list[dict] | None = None,
    ) -> KoladaData:
        """Serve a small hand-made dataset, so tests can know every expected number."""
        catalogue = {"kpi": kpis, "municipality": municipalities, "municipality_groups": groups,
                     "kpi_groups": kpi_groups or [], "ou": ous or []}

        def load(wanted: Sequence[str] | None) -> pd.DataFrame:
            return values if wanted is None else values[values["kpi"].isin(list(wanted))]

        return cls(catalogue, load)

    def catalogue(self, name: str) -> list[dict]:
        """Objects exactly as loaded (key order kept), sorted by id for deterministic paging."""
        return self._catalogue[name]

    def query(
        self,
        kpis: Sequence[str] | None = None,
        municipalities: Sequence[str] | None = None,
        years: Sequence[int] | None = None,
        from_date: str | None = None,
    ) -> Items:
        """Answer a data query; None means "any" for a dimension. Cached so paging never recomputes."""
        key = (_canonical(kpis), _canonical(municipalities), _canonical(years), from_date)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
            items = Items(self._rows(*key))
            self._cache[key] = items
            if len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
            return items

    def items(
        self,
        kpis: Sequence[str] | None,
        municipalities: Sequence[str] | None = None,
        years: Sequence[int] | None = None,
    ) -> int:
        """Number of data items a query yields, so tests can compute the minimum number of requests."""
        return len(self.query(kpis, municipalities, years))

    def set_value(
        self,
        kpi: str,
        municipality: str,
        period: int,
        gender: str,
        value: float | None,
        count: int | None = None,
        status: str = "",
        changed: date | str | None = None,
    ) -> None:
        """Simulate Kolada revising or adding a value, visible to from_date queries."""
        default_count = int(value is not None)
        with self._lock:
            self._replace(_row(kpi, municipality, period, gender, value, count if count is not None else default_count,
                               status, changed, deleted=False))

    def delete_value(
        self, kpi: str, municipality: str, period: int, gender: str, changed: date | str | None = None
    ) -> None:
        """Simulate Kolada withdrawing a value: a tombstone remains for from_date queries."""
        with self._lock:
            if not _matches(self._frame(kpi), municipality, period, gender).any():
                raise KeyError(f"no value for {kpi} {municipality} {period} {gender}")
            self._replace(_row(kpi, municipality, period, gender, None, 0, "", changed, deleted=True))

    def _replace(self, row: pd.DataFrame) -> None:
        """Copy on write, so a reader holding the old frame is never disturbed."""
        kpi, municipality, period, gender = row.loc[0, ["kpi", "municipality", "period", "gender"]]
        frame = self._frame(kpi)
        kept = frame[~_matches(frame, municipality, period, gender)]
        self._frames[kpi] = pd.concat([kept, row], ignore_index=True)
        self._cache.clear()

    def _frame(self, kpi: str) -> pd.DataFrame:
        frames = self._loaded((kpi,))
        return frames[0] if frames else _empty()

    def _loaded(self, kpis: tuple[str, ...] | None) -> list[pd.DataFrame]:
        """Frames for the KPIs (all when None), reading only those not yet in memory."""
        with self._lock:
            if kpis is None and not self._complete:
                self._store(self._load(None), ())
                self._complete = True
            missing = [] if kpis is None or self._complete else [k for k in kpis if k not in self._frames]
            if missing:
                self._store(self._load(missing), missing)
            names = self._frames if kpis is None else kpis
            return [self._frames[k] for k in names if k in self._frames]

    def _store(self, raw: pd.DataFrame, expected: Sequence[str]) -> None:
        """Keep frames already in memory: they may carry mutations the file does not."""
        for kpi, frame in _normalise(raw).groupby("kpi", sort=False):
            self._frames.setdefault(str(kpi), frame.reset_index(drop=True))
        for kpi in expected:
            self._frames.setdefault(kpi, _empty())

    def _rows(
        self,
        kpis: tuple[str, ...] | None,
        municipalities: tuple[str, ...] | None,
        years: tuple[int, ...] | None,
        from_date: str | None,
    ) -> pd.DataFrame:
        frames = self._loaded(kpis)
        rows = pd.concat(frames, ignore_index=True) if frames else _empty()
        if years is not None:
            rows = rows[rows["period"].isin(years)]
        if municipalities is not None:
            rows = self._areas(rows, municipalities)
        return rows[rows["changed"] >= from_date] if from_date else rows[~rows["isdeleted"]]

    def _areas(self, rows: pd.DataFrame, municipalities: tuple[str, ...]) -> pd.DataFrame:
        plain = rows[rows["municipality"].isin(municipalities)]
        groups = [self._group_mean(rows, group) for group in municipalities if group in self._members]
        return pd.concat([plain, *groups], ignore_index=True)

    def _group_mean(self, rows: pd.DataFrame, group: str) -> pd.DataFrame:
        """Kolada's unweighted group mean; tombstones carry no value, so mean and count skip them."""
        members = rows[rows["municipality"].isin(self._members[group])]
        mean = members.groupby(["kpi", "period", "gender"], sort=False).agg(
            value=("value", "mean"), count=("value", "count"), changed=("changed", "max"),
            isdeleted=("isdeleted", "all"),
        ).reset_index()
        mean["municipality"] = group
        mean["status"] = ""
        return mean[_COLUMNS]


def _canonical(ids: Sequence | None) -> tuple | None:
    """One cache key per query however ids are ordered; a bare string would be read as its letters."""
    if isinstance(ids, str):
        raise TypeError(f"pass a list of ids, not the string {ids!r}")
    return None if ids is None else tuple(sorted(set(ids)))


def _row(
    kpi: str, municipality: str, period: int, gender: str, value: float | None, count: int, status: str,
    changed: date | str | None, deleted: bool,
) -> pd.DataFrame:
    if gender not in GENDER_ORDER:
        raise ValueError(f"gender must be one of T, K, M, not {gender!r}")
    row = _normalise(pd.DataFrame({
        "kpi": [kpi], "municipality": [municipality], "period": [period], "gender": [gender],
        "value": [np.nan if value is None else value], "count": [count], "status": [status],
    }))
    row["changed"] = _iso(changed)
    row["isdeleted"] = deleted
    return row


def _matches(frame: pd.DataFrame, municipality: str, period: int, gender: str) -> pd.Series:
    return (frame["municipality"] == municipality) & (frame["period"] == period) & (frame["gender"] == gender)
