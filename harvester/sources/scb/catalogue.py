"""A configured SCB series checked against its table's metadata, and the `series` rows it is stored with.

Every code the config names is looked up in the table (SCB matches case-insensitively, we keep the
table's spelling); Region, Kon and Tid are the harvester's to map; a variable that is neither mapped
nor fixed must be one SCB may leave out. Every refusal names the variable and its allowed codes.
"""
from __future__ import annotations

import difflib
import json
from dataclasses import dataclass

import pandas as pd

from .metadata import CONTENTS, KON, REGION, TableMeta, Variable
from .series import ScbSeries

RIKET_SCB = "00"
MALE, FEMALE = "1", "2"
# Units as a reader says them after a number; counts read as plain numbers, like Kolada's "antal".
_UNITS = {"percent": "%", "procent": "%", "per cent": "%"}


class SeriesError(ValueError):
    """The config asks a table for something it does not have (worded for the config's author).

    `key` is the indicator's config key at fault (table, contents, select, month, gender), so the
    message can name its line."""

    def __init__(self, message: str, key: str = "table") -> None:
        super().__init__(message)
        self.key = key


@dataclass(frozen=True)
class KonChoice:
    """How each gender is asked for: a code of Kon, or None for "leave Kon out" (the server's total)."""

    variable: str | None
    codes: dict[str, str | None]  # gender (T/K/M) → Kon code or None

    def groups(self) -> list[tuple[str, ...] | None]:
        """Kon selections to request: one list of codes, and a separate request for an eliminated total."""
        codes = tuple(c for c in self.codes.values() if c is not None)
        return ([codes] if codes else []) + ([None] if None in self.codes.values() else [])


@dataclass(frozen=True)
class CheckedSeries:
    spec: ScbSeries
    meta: TableMeta
    contents: str  # the table's spelling
    fixed: tuple[tuple[str, str], ...]  # (variable, code) in the table's spelling
    region: str  # the table's Region variable
    kon: KonChoice
    gender: str  # the indicator's, checked against the table (again when its metadata is read afresh)

    @property
    def id(self) -> str:
        return self.spec.id

    def periods(self, years: tuple[int, ...]) -> tuple[dict[str, int], list[int]]:
        """Tid codes that exist for `years` (→ year), and the years the table lacks."""
        codes = set(self.meta.time_variable.codes)
        found: dict[str, int] = {}
        for year in years:
            code = f"{year}M{self.spec.month:02d}" if self.spec.month else str(year)
            if code in codes:
                found[code] = year
        return found, [y for y in years if y not in found.values()]

    def regions(self, areas: tuple[str, ...]) -> tuple[dict[str, str], list[str]]:
        """SCB Region codes that exist for our area ids (→ area id), and the areas the table lacks."""
        variable = self.meta.variable(self.region)
        assert variable is not None
        found: dict[str, str] = {}
        for area in areas:
            code = variable.find(to_scb_region(area))
            if code is not None:
                found[code] = area
        return found, [a for a in areas if a not in found.values()]

    @property
    def unit(self) -> str:
        base = self.meta.units.get(self.contents)
        return _UNITS.get(base.base.casefold(), "") if base else ""

    @property
    def decimals(self) -> int | None:
        base = self.meta.units.get(self.contents)
        return base.decimals if base else None

    @property
    def title(self) -> str:
        contents = self.meta.variable(CONTENTS)
        label = contents.labels.get(self.contents, self.contents) if contents else self.contents
        return f"{label} ({self.meta.id}: {self.meta.label})"


def to_scb_region(area: str) -> str:
    """Kolada's area id as SCB's Region code: Riket 0000 → 00, län 00LL → LL, kommuner as they are."""
    if area == "0000":
        return RIKET_SCB
    if len(area) == 4 and area.startswith("00"):
        return area[2:]
    return area


def _unknown(variable: Variable, code: str, table: str, what: str, key: str) -> SeriesError:
    near = difflib.get_close_matches(code.casefold(), [c.casefold() for c in variable.codes], n=3, cutoff=0.5)
    spelled = {c.casefold(): c for c in variable.codes}
    closest = ", ".join(f"{spelled[c]!r} ({variable.labels.get(spelled[c], '')})" for c in near)
    return SeriesError(f"{table} has no {what} {code!r} in {variable.code} ({variable.label})"
                       + (f"; closest: {closest}" if closest else "") + f"; allowed: {variable.allowed(table)}", key)


def kon_choice(meta: TableMeta) -> KonChoice:
    kon = meta.variable(KON)
    if kon is None:  # no sex in the table: every value is the total
        return KonChoice(None, {"T": None})
    codes: dict[str, str | None] = {}
    for gender, code in (("M", MALE), ("K", FEMALE)):
        if kon.find(code):
            codes[gender] = kon.find(code)
    totals = [c for c in kon.codes if c not in (MALE, FEMALE)]
    if kon.elimination_code and kon.find(kon.elimination_code):
        codes["T"] = kon.find(kon.elimination_code)
    elif len(totals) == 1:  # "1+2", "TotSa": request the total, never sum (SCB's noise makes parts ≠ total)
        codes["T"] = totals[0]
    elif kon.elimination:  # TAB638 has only 1 and 2: leaving Kon out makes the server sum them
        codes["T"] = None
    return KonChoice(kon.code, codes)


def check_series(spec: ScbSeries, meta: TableMeta, gender: str) -> CheckedSeries:
    """The series with every code in the table's spelling; SeriesError saying what is wrong otherwise."""
    table = meta.id or spec.table
    contents_var = meta.variable(CONTENTS)
    if contents_var is None:
        raise SeriesError(f"{table} has no ContentsCode variable")
    contents = contents_var.find(spec.contents)
    if contents is None:
        raise _unknown(contents_var, spec.contents, table, "contents", "contents")
    region = meta.variable(REGION)
    if region is None:
        raise SeriesError(f"{table} has no Region variable, so it holds no figures per kommun")
    if meta.quarterly:
        raise SeriesError(f"{table} is a quarterly table; only annual and monthly tables are supported")
    if meta.monthly and spec.month is None:
        raise SeriesError(f"{table} is a monthly table: say which month stands for the year, e.g. month = 12",
                          "source")
    if not meta.monthly and spec.month is not None:
        raise SeriesError(f"{table} is an annual table: remove month = {spec.month}", "month")
    kon = kon_choice(meta)
    if gender not in kon.codes:
        have = ", ".join(sorted(kon.codes)) or "none"
        raise SeriesError(f"{table} has no figures for gender {gender!r} (it has: {have})", "gender")
    mapped = {region.code.casefold(), meta.time.casefold(), CONTENTS, KON}
    fixed: list[tuple[str, str]] = []
    for var_code, code in spec.select:
        variable = meta.variable(var_code)
        if variable is None:
            names = ", ".join(v.code for v in meta.variables if v.code.casefold() not in mapped)
            raise SeriesError(f"{table} has no variable {var_code!r} to select (its other variables: {names or 'none'})",
                              "select")
        if variable.code.casefold() in mapped:
            raise SeriesError(f"select must not name {variable.code}: the harvester sets it "
                              "(Region from the municipalities, Kon from gender, Tid from [years] and month, "
                              "ContentsCode from contents)", "select")
        found = variable.find(code)
        if found is None:
            raise _unknown(variable, code, table, "code", "select")
        fixed.append((variable.code, found))
    chosen = {v.casefold() for v, _ in fixed} | mapped
    for variable in meta.variables:
        if variable.code.casefold() not in chosen and not variable.elimination:
            raise SeriesError(f"{table} needs a code for {variable.code} ({variable.label}) in select, e.g. "
                              f"select = {{ {variable.code} = \"{variable.codes[0]}\" }}; allowed: "
                              f"{variable.allowed(table)}", "select" if spec.select else "table")
    return CheckedSeries(spec=spec, meta=meta, contents=contents, fixed=tuple(fixed), region=region.code, kon=kon,
                         gender=gender)


def series_rows(checked: list[CheckedSeries], read_at: pd.Timestamp) -> pd.DataFrame:
    """Rows of the `series` table: what each SCB series id stands for, so an analyst needs no config."""
    return pd.DataFrame([{
        "kpi": c.id, "source": "scb", "title": c.title, "table_id": c.meta.id,
        "selection": json.dumps({"ContentsCode": c.contents, **dict(c.fixed)}, ensure_ascii=False, sort_keys=True),
        "month": c.spec.month, "unit": c.unit, "decimals": c.decimals, "table_updated": c.meta.updated,
        "first_period": c.meta.time_variable.codes[0] if c.meta.time_variable.codes else None,
        "last_period": c.meta.time_variable.codes[-1] if c.meta.time_variable.codes else None,
        "read_at": read_at,
    } for c in checked])
