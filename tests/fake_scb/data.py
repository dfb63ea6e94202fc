"""What the fake SCB API serves: recorded catalogue and metadata, real population, synthetic values elsewhere.

Only TAB638 `BE0101N1` totals (Alder and Civilstand eliminated or Alder `tot`, Tid 1994-2022) are real, read
once from `population.parquet`; SCB publishes nothing else we could serve as real, so every other cell is a
stable hash of (table, codes) scaled by the region's population. The fake says so in every data answer.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
import os
import threading
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

REPO_ROOT = Path(__file__).resolve().parents[2]
TABLES = ("TAB638", "TAB6260", "TAB2948", "TAB6471")
SHARED_FILES = (
    "population.parquet", "recorded/config.json", "recorded/tables.json", "recorded/tables-search.json",
    *(f"recorded/{table}-metadata.json" for table in TABLES), "recorded/TAB6471-data.json",
)
SYNTHETIC_NOTE = (
    "FAKE SCB (tests only): values are synthetic and deterministic, except TAB638 BE0101N1 totals 1994-2022,"
    " which are real (population.parquet)."
)
REAL_TABLE, REAL_CONTENTS, REAL_YEARS = "TAB638", "BE0101N1", range(1994, 2023)
NULL_ONE_IN = 53  # about 2 % of synthetic cells are missing, so clients can tell null from 0
_LABELS = {  # Swedish /tables labels (README); the first two are made up in the same style
    "TAB638": "Folkmängden efter region, civilstånd, ålder och kön. År 1968-2024",
    "TAB6471": "Folkmängden per månad efter region, ålder och kön. Månad 2025M01-2026M04",
    "TAB6260": "Arbetsmarknadsstatus efter region, kön, ålder och födelseregion. Preliminär statistik."
               " Månad 2020M01-2026M06",
    "TAB2948": "Arbetsmarknadsstatus efter region, kön, ålder och födelseregion. Slutlig statistik."
               " Månad 2020M01-2024M12",
}
_SUBJECT = {"TAB638": ("BE", "Befolkning"), "TAB6471": ("BE", "Befolkning"),
            "TAB6260": ("AM", "Arbetsmarknad"), "TAB2948": ("AM", "Arbetsmarknad")}


def shared_path() -> Path:
    """Locate the SCB contract folder, which lives beside the repo so it is never committed."""
    override = os.environ.get("SCB_SHARED")
    return Path(override) if override else REPO_ROOT.parent / "shared" / "scb"


def require_shared(path: Path | None = None) -> Path:
    """Fail loudly when the contract is missing: silently skipping would hide untested code."""
    path = path or shared_path()
    missing = [name for name in SHARED_FILES if not (path / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"SCB contract missing: looked in {path} and did not find {', '.join(missing)}."
            " By default it is <repo>/../shared/scb; set SCB_SHARED (or --shared) to point elsewhere."
        )
    return path


def _stable(*parts: str) -> int:
    """A 64-bit hash that is the same in every process (Python's hash() is salted)."""
    return int.from_bytes(hashlib.blake2b("\x1f".join(parts).encode(), digest_size=8).digest(), "little")


def _mix(h: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: turns sums of code hashes into well-spread bits."""
    with np.errstate(over="ignore"):
        h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return h ^ (h >> np.uint64(31))


class ScbData:
    """The recorded bodies plus value generation; mutable only through set_updated/set_value."""

    def __init__(self, path: Path) -> None:
        self.path = require_shared(path)
        recorded = self.path / "recorded"
        self.config: dict = json.loads((recorded / "config.json").read_text("utf-8"))
        self.metadata: dict[str, dict] = {
            t: json.loads((recorded / f"{t}-metadata.json").read_text("utf-8")) for t in TABLES
        }
        self._elimination_values = _elimination_values(json.loads((recorded / "TAB6471-data.json").read_text("utf-8")))
        self._entries: dict[str, dict] = {}
        for name in ("tables.json", "tables-search.json"):
            for entry in json.loads((recorded / name).read_text("utf-8"))["tables"]:
                self._entries.setdefault(entry["id"], entry)
        template = next(iter(self._entries.values()))
        for table in TABLES:
            self._entries[table] = self._entry(table, template)
        self._overrides: dict[str, dict[frozenset, float | None]] = {}
        self._population: dict[tuple[str, str, str], float | None] | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_shared(cls, path: Path | None = None) -> ScbData:
        return cls(path or shared_path())

    def _entry(self, table: str, template: dict) -> dict:
        """A /tables entry for a table we hold metadata for, periods and stamp taken from that metadata."""
        meta = self.metadata[table]
        time_var = meta["role"]["time"][0]
        periods = list(meta["dimension"][time_var]["category"]["index"])
        code, area = _SUBJECT[table]
        return {
            **template, "id": table, "label": _LABELS[table], "description": "", "sortCode": "01",
            "updated": meta["updated"], "firstPeriod": periods[0], "lastPeriod": periods[-1],
            "variableNames": [meta["dimension"][v]["label"] for v in meta["id"]], "source": "SCB",
            "subjectCode": code, "timeUnit": "Monthly" if "M" in periods[0] else "Annual",
            "paths": [[{"id": code, "label": area, "sortCode": area}]],
        }

    def elimination_value(self, table: str, var: str) -> str | None:
        """The code an eliminated variable stands for; metadata bodies omit it, the recorded data body names it."""
        return self._elimination_values.get((table, var))

    # -- catalogue -------------------------------------------------------------------------------------------
    def entries(self) -> list[dict]:
        with self._lock:
            return [copy.deepcopy(e) for e in self._entries.values()]

    def entry(self, table: str) -> dict | None:
        with self._lock:
            found = self._entries.get(table.upper())
            return copy.deepcopy(found) if found else None

    def table_metadata(self, table: str) -> dict | None:
        with self._lock:
            found = self.metadata.get(table.upper())
            return copy.deepcopy(found) if found else None

    def set_updated(self, table: str, iso_timestamp: str) -> None:
        """Simulate SCB publishing a revision: /tables, metadata and data answers all show the new stamp."""
        with self._lock:
            self._entries[table]["updated"] = iso_timestamp
            if table in self.metadata:
                self.metadata[table]["updated"] = iso_timestamp

    def set_value(self, table: str, codes: Mapping[str, str], value: float | None) -> None:
        """Override one cell; `codes` names every variable the answer keeps (left-out ones are eliminated)."""
        with self._lock:
            self._overrides.setdefault(table, {})[frozenset(codes.items())] = value

    # -- values ----------------------------------------------------------------------------------------------
    def values(self, table: str, chosen: Mapping[str, list[str] | None]) -> list[float | None]:
        """Row-major values for `chosen` (variable -> codes, None = eliminated), in metadata variable order."""
        meta = self.metadata[table]
        kept = [v for v in meta["id"] if chosen[v] is not None]
        shape = [len(chosen[v]) for v in kept]
        out = self._synthetic(table, meta, chosen).astype(object).reshape(-1)
        out[np.isnan(out.astype(float))] = None
        if table == REAL_TABLE:
            self._real(chosen, kept, shape, out)
        for key, value in self._overrides.get(table, {}).items():
            codes = dict(key)
            if set(codes) == set(kept) and all(codes[v] in chosen[v] for v in kept):
                out[np.ravel_multi_index([chosen[v].index(codes[v]) for v in kept], shape)] = value
        return [None if v is None else (int(v) if float(v).is_integer() else float(v)) for v in out.tolist()]

    def _synthetic(self, table: str, meta: dict, chosen: Mapping[str, list[str] | None]) -> np.ndarray:
        """Hash per code, summed across variables and mixed; eliminated variables are summed over their codes
        unless the table names an elimination value, so sums of parts equal the eliminated total."""
        dims = meta["dimension"]
        axes, summed = [], []
        for var in meta["id"]:
            codes = chosen[var]
            if codes is None:
                total = self.elimination_value(table, var)
                if total:
                    codes = [total]
                else:
                    summed.append([_stable(table, var, c) for c in dims[var]["category"]["index"]])
                    continue
            axes.append(np.array([_stable(table, var, c) for c in codes], dtype=np.uint64))
        grid = np.zeros([len(a) for a in axes], dtype=np.uint64)
        with np.errstate(over="ignore"):
            for i, axis in enumerate(axes):
                grid = grid + axis.reshape([-1 if j == i else 1 for j in range(len(axes))])
        kept = [v for v in meta["id"] if chosen[v] is not None or self.elimination_value(table, v)]
        scale = self._scale(kept, chosen, [len(a) for a in axes])
        percent = self._percent(meta, kept, chosen, [len(a) for a in axes])
        total = np.zeros(grid.shape)
        present = np.ones(grid.shape, dtype=bool)
        with np.errstate(over="ignore"):
            for combo in itertools.product(*summed) if summed else [()]:
                h = _mix(grid + np.uint64(sum(combo) % 2**64))
                u = (h >> np.uint64(11)).astype(float) / float(2**53)
                cell = np.where(percent, np.round(2 + 10 * u, 1), np.round(scale * (0.2 + 0.8 * u)))
                ok = (h % np.uint64(NULL_ONE_IN)) != 0
                total += np.where(ok, cell, 0)
                present &= ok  # a total over a missing part is missing too
        return np.where(present, total, np.nan)

    def _scale(self, kept: list[str], chosen: Mapping, shape: list[int]) -> np.ndarray:
        """Counts grow with the region's 2022 population, so synthetic Stockholm dwarfs synthetic Sala."""
        if "Region" not in kept or chosen["Region"] is None:
            return np.full(shape, 1000.0)
        population = self._population_table()
        sizes = np.array([population.get((r, "1+2", "2022")) or 10000.0 for r in chosen["Region"]]) * 0.03
        return sizes.reshape([-1 if v == "Region" else 1 for v in kept]) * np.ones(shape)

    @staticmethod
    def _percent(meta: dict, kept: list[str], chosen: Mapping, shape: list[int]) -> np.ndarray:
        units = meta["dimension"]["ContentsCode"]["category"].get("unit", {})
        flags = np.array([units.get(c, {}).get("base") in ("percent", "procent") for c in chosen["ContentsCode"]])
        return flags.reshape([-1 if v == "ContentsCode" else 1 for v in kept]) * np.ones(shape, dtype=bool)

    def _real(self, chosen: Mapping, kept: list[str], shape: list[int], out: np.ndarray) -> None:
        """Overwrite the cells population.parquet holds: TAB638 BE0101N1, all ages and civil statuses."""
        if chosen["Civilstand"] is not None or chosen["Alder"] not in (None, ["tot"]):
            return
        population = self._population_table()
        axes = [chosen[v] for v in kept]
        for position, codes in enumerate(itertools.product(*axes)):
            cell = dict(zip(kept, codes))
            if cell["ContentsCode"] != REAL_CONTENTS or int(cell["Tid"]) not in REAL_YEARS:
                continue
            key = (cell.get("Region"), cell.get("Kon", "1+2"), cell["Tid"])
            if key in population:
                out[position] = population[key]

    def _population_table(self) -> dict[tuple[str, str, str], float | None]:
        """Read the parquet once, on first need (27 144 rows)."""
        with self._lock:
            if self._population is None:
                frame = pq.read_table(self.path / "population.parquet").to_pylist()
                self._population = {
                    (r["Region"], r["Kon"], r["Tid"]): None if r["value"] is None or math.isnan(r["value"])
                    else r["value"] for r in frame
                }
            return self._population


def _elimination_values(body: dict) -> dict[tuple[str, str], str]:
    table = body["extension"]["px"]["tableid"]
    return {(table, var): dim["extension"]["eliminationValueCode"] for var, dim in body["dimension"].items()
            if "eliminationValueCode" in dim["extension"]}


def table_codes(meta: dict, var: str) -> list[str]:
    """A variable's codes in table order."""
    return list(meta["dimension"][var]["category"]["index"])

