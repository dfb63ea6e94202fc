"""What the fake SCB API serves: recorded catalogue and metadata, real population, synthetic values elsewhere.

Only TAB638 `BE0101N1` totals (Alder and Civilstand eliminated or Alder `tot`, Tid 1994-2022) are real, read
once from `population.parquet`; SCB publishes nothing else we could serve as real. Every other cell is synthetic,
deterministic (a stable hash of table and codes, the same in every process) and roughly plausible:

- total codes (`TOTAL_CODES`: Kon `1+2`/`TotSa`, Fodelseregion `tot`, Alder `tot`/`TotSA`) are totals: such a
  cell is the exact sum of the cells of the variable's other codes (Kon 1 + Kon 2 == Kon 1+2, in + ut == tot,
  TAB638's 101 ages == Alder tot where the real totals do not override it). Every other code, the BAS age bands
  16-64, 20-64, ... included, is an elementary code: each band is a share of the whole, not a sum of others.
- an elementary cell's count = region population x share of its ContentsCode (`SHARES`: population 1.0, labour
  force 0.53, unemployed 0.04, ...) / the number of elementary cells the table's total sums over (the codes other
  than the total of every variable that has a total code or is summed when eliminated: TAB638 4 x 101 x 2 = 808,
  TAB6260 and TAB2948 Kon 2 x Fodelseregion 2 = 4, TAB6471 Alder 133 x Kon 2 = 266), x a jitter of 0.9-1.1,
  rounded to an integer by dithering (floor(x + u), u uniform), so a small part is 1 as often as it should be
  rather than always 0. So Kon 1+2, Fodelseregion tot, Alder 16-64 is about population x share (000006I8 about
  0.62 x population), and a TAB638 total about the population. The population is the region's real one for that
  year, clamped to 1994-2022, so synthetic Stockholm dwarfs synthetic Sala and a synthetic TAB638 total lands
  near the real one. The jitter ignores ContentsCode, so unemployed < labour force < total number in every cell;
  a small count (share below 0.1: unemployed, students) also varies on its own by region and year
  (`_rare_factor`), so a ratio such as unemployed per 1 000 differs between municipalities.
- percent (unit base percent/procent) = per elementary cell a level per region and codes that ignores Tid
  (2.5-10.5) x the same jitter, one decimal; a total code, an eliminated variable or an eliminated Region is the
  plain mean of its parts' rates, never their sum: 2-12 %, and a region's rate does not jump from month to month.
- missing: a whole (table, Region, Tid) is unpublished, about 1 in 53, whatever else is selected or
  eliminated, so all parts of a total are missing exactly when the total is. Where population.parquet decides
  (TAB638 1994-2022, and the regions it lacks in 1994 for earlier years, such as Knivsta) it alone does.
- an eliminated variable stands for the table's total (README "Elimination"): its elimination value where there
  is one (TAB6471 Kon `TotSa`, itself a total code), else its total code (TAB6260/TAB2948 Kon `1+2` and
  Fodelseregion `tot`, TAB638 Alder `tot`), else the exact sum over its codes (TAB638 Civilstand and Kon). In all
  three cases it is the sum over the codes other than the total, so parts always add up to the eliminated total.
  PxWebApi eliminates as the table's PX file says: ELIMINATION="<value>" selects that value (SCB names the total;
  the API spec's own TAB638 example, PxTools/PxApiSpecs generator/YamlExamples/yamlGen/ModelsWithData.cs, gives
  Alder `eliminationValueCode: tot`), ELIMINATION=YES sums every value, which with a total code among them would
  count everything twice. SCB's metadata bodies do not say which (only the recorded TAB6471 data body names
  `TotSa`), so the fake takes the total code: the answer a reader expects, and parts = total.
  The fake says it is synthetic in every data answer.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import itertools
import json
import math
import os
import re
import threading
from collections.abc import Callable, Mapping
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
NULL_ONE_IN = 53  # about 2 % of (table, Region, Tid) are missing, so clients can tell null from 0
# SYNTHETIC shares of the region's population per ContentsCode, chosen to look plausible, not taken from SCB:
# employed + unemployed = labour force; labour force + students, retirees, sick, others = BAS total number.
SHARES = {
    "BE0101N1": 1.0, "BE0101N2": 0.01,  # TAB638 population, population growth
    "000007SF": 1.0,  # TAB6471 population per month
    # TAB6260 (preliminary) | TAB2948 (final) BAS: employed, unemployed, labour force, total number,
    # students, retirees, sick, others
    "000006HI": 0.49, "000004YH": 0.04, "000006IU": 0.53, "000006I8": 0.62,
    "000006IE": 0.03, "000006IF": 0.02, "000006IG": 0.02, "000006IH": 0.02,
    "00000253": 0.49, "000001ZW": 0.04, "000001ZV": 0.53, "0000027N": 0.62,
    "00000201": 0.03, "000001ZZ": 0.02, "00000200": 0.02, "000001ZY": 0.02,
}
DEFAULT_SHARE = 0.05  # any other count
# Codes that stand for their variable's total, read off the recorded metadata (code / label, `detect_total_codes`
# finds exactly these; tests/test_fake_scb.py checks it):
#   TAB638   Alder 'tot' / "total". Kon is only 1, 2 (README trap 4); Civilstand OG, G, ÄNKL, SK has no total.
#   TAB6260  Kon '1+2' / "total", Fodelseregion 'tot' / "total". The Alder bands (15-19 ... 16-64, 20-66) are
#   TAB2948  aggregates, not the variable's total: ordinary codes, each a share of the whole. Same in both tables.
#   TAB6471  Kon 'TotSa' / "totalt, samtliga män och kvinnor" (also its elimination value), Alder 'TotSA' /
#            "totalt, samtliga åldrar". The bands -4, 0-9, ... and 100+, 100+5, 100+10 are ordinary codes.
# Region '00' (Sweden/Riket) is not listed: an eliminated Region is the sum over all the table's regions.
TOTAL_CODES: dict[str, dict[str, str]] = {
    "TAB638": {"Alder": "tot"},
    "TAB6260": {"Kon": "1+2", "Fodelseregion": "tot"},
    "TAB2948": {"Kon": "1+2", "Fodelseregion": "tot"},
    "TAB6471": {"Kon": "TotSa", "Alder": "TotSA"},
}
_TOTAL_CODE = re.compile(r"tot\w*|1\+2", re.IGNORECASE)  # tot, TotSa, TotSA, 1+2
_TOTAL_LABEL = re.compile(r"totalt?\b", re.IGNORECASE)  # "total", "totalt, samtliga åldrar"
JITTER = (0.9, 1.1)  # of the intended value, per elementary cell
RARE_SHARE, RARE_LEVEL, RARE_YEAR = 0.1, 0.25, 0.08  # small counts vary ±25 % by region and ±8 % by year
PERCENT_LEVEL = (2.5, 10.5)  # x JITTER stays within 2-12 %
UNKNOWN_POPULATION = 10000.0  # a region population.parquet does not know
CHUNK_CELLS = 1 << 20  # parts computed at once: bounds memory for large answers
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
    """The recorded bodies plus value generation; mutable only through set_updated/set_value/drop_period."""

    def __init__(self, path: Path) -> None:
        self.path = require_shared(path)
        recorded = self.path / "recorded"
        self.config: dict = json.loads((recorded / "config.json").read_text("utf-8"))
        self.metadata: dict[str, dict] = {
            t: json.loads((recorded / f"{t}-metadata.json").read_text("utf-8")) for t in TABLES
        }
        for table, totals in TOTAL_CODES.items():
            for var, code in totals.items():
                if code not in self.metadata[table]["dimension"][var]["category"]["index"]:
                    raise ValueError(f"TOTAL_CODES: {table} {var} has no code {code!r} in the recorded metadata")
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

    def drop_period(self, table: str, code: str) -> None:
        """Simulate SCB withdrawing a period (a preliminary year) without moving the table's `updated`
        stamp: metadata, /tables and data no longer know the code, while a client's cached metadata does."""
        with self._lock:
            meta = self.metadata[table]
            time = meta["role"]["time"][0]
            category = meta["dimension"][time]["category"]
            kept = [c for c in category["index"] if c != code]
            category["index"] = {c: i for i, c in enumerate(kept)}
            category["label"] = {c: category["label"][c] for c in kept}
            meta["size"][meta["id"].index(time)] = len(kept)
            self._entries[table]["firstPeriod"], self._entries[table]["lastPeriod"] = kept[0], kept[-1]

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
        """Values for the cells the answer keeps (shape: the kept variables' code counts), NaN where missing; the
        model is in the module docstring.

        A kept variable asked for its total code beside other codes is answered in two blocks, the other codes and
        the total alone, joined in the order asked. Internally each kept variable is then an axis; a total code
        asked alone is an axis of one cell summed over the variable's other codes; an eliminated variable with an
        elimination value that is no total is an axis of that one code; an eliminated Region is an axis of all
        regions, summed at the end (each region keeps its population and its missing periods). Other eliminated
        variables are summed over their codes other than the total; the summed variables' code combinations are
        added up in chunks. A part's hash is the sum of its codes' hashes, the same whether a variable is kept,
        summed for a total code or summed for an elimination, so the sum of the parts is exactly their total."""
        kept = [v for v in meta["id"] if chosen[v] is not None]
        for var, code in TOTAL_CODES.get(table, {}).items():
            picked = chosen[var]
            if picked is not None and code in picked and len(picked) > 1:
                others = [c for c in picked if c != code]
                joined = np.concatenate([self._synthetic(table, meta, {**chosen, var: others}),
                                         self._synthetic(table, meta, {**chosen, var: [code]})], axis=kept.index(var))
                order = [len(others) if c == code else others.index(c) for c in picked]
                return np.take(joined, order, axis=kept.index(var))
        names, codes, summed, lone = [], [], [], set()
        for var in meta["id"]:
            picked = chosen[var]
            if var != "Region":
                total = TOTAL_CODES.get(table, {}).get(var)
                if picked is None:
                    stands = self.elimination_value(table, var) or total
                    if stands is None or stands == total:  # the sum over its codes other than the total
                        summed.append(self._part_hashes(table, meta, var))
                        continue
                    picked = [stands]
                elif total is not None and picked == [total]:
                    summed.append(self._part_hashes(table, meta, var))
                    lone.add(var)
            names.append(var)
            codes.append(picked if picked is not None else table_codes(meta, var))
        shape = [len(c) for c in codes]

        def along(array: np.ndarray, *axes: str) -> np.ndarray:
            """`array` (one dimension per named variable, in table order) shaped to broadcast over the grid."""
            return array.reshape([shape[i] if var in axes else 1 for i, var in enumerate(names)])

        hashes = {var: along(np.array([_stable(table, var, c) for c in cs], dtype=np.uint64), var)
                  for var, cs in zip(names, codes) if var not in lone}  # a lone total's parts are in `summed`

        def grid(without: str, salt: str) -> np.ndarray:
            out = np.full([1] * len(shape), _stable(table, salt), dtype=np.uint64)
            for var, h in hashes.items():
                if var != without:
                    out = out + h
            return out

        population, missing = self._region_periods(table, codes[names.index("Region")], codes[names.index("Tid")])
        contents = codes[names.index("ContentsCode")]
        units = meta["dimension"]["ContentsCode"]["category"].get("unit", {})
        percent = along(np.array([units.get(c, {}).get("base") in ("percent", "procent") for c in contents]),
                        "ContentsCode")
        share = along(np.array([SHARES.get(c, DEFAULT_SHARE) for c in contents]), "ContentsCode")
        scale = along(population, "Region", "Tid") * share * self._rare_factor(table, hashes, codes[names.index("Tid")],
                                                                             along, share) / self._summed_parts(table, meta)
        jitter_grid, level_grid = grid("ContentsCode", "jitter"), grid("Tid", "level")
        total = np.zeros(shape)
        rates = np.zeros(shape) if percent.any() else None  # the sum of the parts' rates, a mean at the end
        step = max(1, CHUNK_CELLS // math.prod(shape))
        low, high = JITTER
        with np.errstate(over="ignore"):
            combos = functools.reduce(lambda a, b: np.add.outer(a, b).reshape(-1), summed,
                                      np.zeros(1, dtype=np.uint64))
            for start in range(0, len(combos), step):
                chunk = combos[start:start + step]
                h = _mix(jitter_grid[..., None] + chunk)
                jitter = low + (high - low) * (h >> np.uint64(32)).astype(float) / 2.0**32
                dither = (h & np.uint64(0xFFFFFFFF)).astype(float) / 2.0**32
                total += np.floor(scale[..., None] * jitter + dither).sum(axis=-1)
                if rates is not None:
                    u = (_mix(level_grid[..., None] + chunk) >> np.uint64(11)).astype(float) / 2.0**53
                    level = PERCENT_LEVEL[0] + (PERCENT_LEVEL[1] - PERCENT_LEVEL[0]) * u
                    rates += np.round(level * jitter, 1).sum(axis=-1)
        if rates is not None:
            total = np.where(percent, rates / len(combos), total)
        total = np.where(along(missing, "Region", "Tid"), np.nan, total)
        if chosen["Region"] is None:  # over the published regions: counts summed, rates averaged; missing if none is
            axis = names.index("Region")
            published = (~np.isnan(total)).sum(axis=axis)
            sums = np.nansum(total, axis=axis)
            percent = np.take(percent, 0, axis=axis)
            total = np.where(published == 0, np.nan, np.where(percent, sums / np.maximum(published, 1), sums))
        total = np.where(percent, np.round(total, 1), total)  # one decimal, without float dust
        return total.reshape([len(chosen[v]) for v in kept])

    @staticmethod
    def _rare_factor(table: str, hashes: Mapping[str, np.ndarray], periods: list[str], along: Callable[..., np.ndarray],
                     share: np.ndarray) -> np.ndarray:
        """A small count (unemployed, students: share below RARE_SHARE) varies on its own, by region (±25 %) and by
        year (±8 %, the same every month of a year), so a ratio such as unemployed per 1 000 of the total differs
        between municipalities and years; it depends on nothing that is summed, so parts still add up exactly."""
        years = along(np.array([_stable(table, "year", p[:4]) for p in periods], dtype=np.uint64), "Tid")
        with np.errstate(over="ignore"):
            base = hashes["ContentsCode"] + hashes["Region"] + np.uint64(_stable(table, "rare"))
            level = (_mix(base) >> np.uint64(11)).astype(float) / 2.0**53
            wobble = (_mix(base + years) >> np.uint64(11)).astype(float) / 2.0**53
        varied = (1 + RARE_LEVEL * (2 * level - 1)) * (1 + RARE_YEAR * (2 * wobble - 1))
        return np.where(share < RARE_SHARE, varied, 1.0)

    def _part_hashes(self, table: str, meta: dict, var: str) -> np.ndarray:
        """The hashes of a variable's codes other than its total code: what its total and its elimination sum."""
        total = TOTAL_CODES.get(table, {}).get(var)
        return np.array([_stable(table, var, c) for c in table_codes(meta, var) if c != total], dtype=np.uint64)

    def _summed_parts(self, table: str, meta: dict) -> int:
        """How many elementary cells the table's total (every variable at its total or eliminated) sums over: the
        product, over the variables other than Region, Tid and ContentsCode that have a total code or are eliminable
        without an elimination value, of their codes other than the total code (TAB638: Civilstand 4 x Alder 101 x
        Kon 2 = 808; TAB6260 and TAB2948: Kon 2 x Fodelseregion 2 = 4, Alder being mandatory and without a total;
        TAB6471: Alder 133 x Kon 2 = 266, TotSA and TotSa being totals)."""
        dims, totals = meta["dimension"], TOTAL_CODES.get(table, {})

        def summed(var: str) -> bool:
            return var in totals or (dims[var]["extension"]["elimination"] and not self.elimination_value(table, var))

        return math.prod(len(self._part_hashes(table, meta, v)) for v in meta["id"]
                         if v not in ("Region", "Tid", "ContentsCode") and summed(v))

    def _region_periods(self, table: str, regions: list[str], periods: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Per (region, period): the population to scale by, and whether SCB left the cell unpublished.

        The population is the region's real one (both sexes) for the period's year clamped to 1994-2022. A region
        population.parquet has as null that year did not exist yet: missing. In TAB638 1994-2022 the parquet alone
        decides; elsewhere about 1 in 53 (table, Region, Tid) is missing, by hash."""
        known = self._population_table()
        first, last = REAL_YEARS[0], REAL_YEARS[-1]
        years = [min(max(int(p[:4]), first), last) for p in periods]
        population = np.empty((len(regions), len(periods)))
        gone = np.zeros((len(regions), len(periods)), dtype=bool)
        for i, region in enumerate(regions):
            newest = known.get((region, "1+2", str(last))) or UNKNOWN_POPULATION
            for j, year in enumerate(years):
                key = (region, "1+2", str(year))
                value = known.get(key)
                population[i, j] = newest if value is None else value
                gone[i, j] = key in known and value is None
        with np.errstate(over="ignore"):
            h = _mix(np.array([_stable(table, "Region", r) for r in regions], dtype=np.uint64)[:, None]
                     + np.array([_stable(table, "Tid", p) for p in periods], dtype=np.uint64)[None, :]
                     + np.uint64(_stable(table, "missing")))
        hashed = (h % np.uint64(NULL_ONE_IN)) == 0
        if table == REAL_TABLE:
            hashed &= np.array([int(p[:4]) not in REAL_YEARS for p in periods])[None, :]
        return population, gone | hashed

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



def detect_total_codes(meta: dict) -> dict[str, list[str]]:
    """Per classifying variable (not ContentsCode, not time), the codes whose code (tot, TotSa, TotSA, 1+2) or label
    ("total", "totalt, ...") says total: how `TOTAL_CODES` was read off the recorded metadata, and its check."""
    found = {}
    for var in meta["id"]:
        if var == "ContentsCode" or var in meta["role"]["time"]:
            continue
        labels = meta["dimension"][var]["category"]["label"]
        hits = [c for c in table_codes(meta, var) if _TOTAL_CODE.fullmatch(c) or _TOTAL_LABEL.match(labels[c])]
        if hits:
            found[var] = hits
    return found
