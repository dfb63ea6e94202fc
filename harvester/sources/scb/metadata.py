"""An SCB table as its metadata describes it: variables, their codes, which may be left out, units.

PxWebApi answers `/tables/{id}/metadata` with a JSON-stat 2 dataset whose `value` is empty. Everything
the harvest needs to ask only for what exists (codes, periods, the time and region variables, the
elimination rules, the contents' units) is read here, once, into plain data; the planner and the
config checks never look at raw JSON.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...errors import BadResponse

REGION = "region"  # variable codes are case-insensitive on input (PxWebApi SelectionHandler)
KON = "kon"
CONTENTS = "contentscode"
SHOW_CODES = 5  # an error lists this many allowed codes, then says how to list all


@dataclass(frozen=True)
class Variable:
    code: str
    label: str
    codes: tuple[str, ...]  # in table order
    labels: dict[str, str]
    elimination: bool  # may be left out (the answer then stands for the table's total)
    elimination_code: str | None = None

    def find(self, code: str) -> str | None:
        """The table's own spelling of `code` (SCB matches codes case-insensitively), or None."""
        wanted = code.strip().casefold()
        return next((c for c in self.codes if c.casefold() == wanted), None)

    def allowed(self, table: str) -> str:
        """The first few codes with labels, and how to see them all: for error messages."""
        shown = ", ".join(f"{c!r} ({self.labels.get(c, '')})" for c in self.codes[:SHOW_CODES])
        more = f" and {len(self.codes) - SHOW_CODES} more" if len(self.codes) > SHOW_CODES else ""
        return f"{shown}{more}; all of them: `harvester scb show {table}`"


@dataclass(frozen=True)
class Unit:
    base: str
    decimals: int | None


@dataclass(frozen=True)
class TableMeta:
    id: str
    label: str
    updated: str
    variables: tuple[Variable, ...]
    time: str  # code of the time variable
    units: dict[str, Unit]  # ContentsCode → unit
    notes: tuple[str, ...] = ()

    def variable(self, code: str) -> Variable | None:
        return next((v for v in self.variables if v.code.casefold() == code.casefold()), None)

    @property
    def time_variable(self) -> Variable:
        found = self.variable(self.time)
        assert found is not None  # checked on parse
        return found

    @property
    def monthly(self) -> bool:
        return any("M" in c for c in self.time_variable.codes)

    @property
    def quarterly(self) -> bool:
        return any("K" in c for c in self.time_variable.codes)


MAX_DECIMALS = 6  # more than any published figure has; a unit claiming 10**9 once broke every compare


def _text(value: Any, what: str, url: str) -> str:
    """A label, code or stamp: text as JSON-stat says, never a list or object made into text by str()."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise BadResponse(f"SCB metadata: {what} is not text ({str(value)[:80]})", url)
    return str(value)


def _decimals(value: Any) -> int | None:
    return value if type(value) is int and 0 <= value <= MAX_DECIMALS else None


def _str_map(value: Any, what: str, url: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadResponse(f"SCB metadata: {what} is not an object", url)
    return value


def parse_metadata(body: Any, url: str) -> TableMeta:
    """A `/tables/{id}/metadata` (or data) answer as a TableMeta; BadResponse when it is not JSON-stat 2."""
    body = _str_map(body, "the answer", url)
    if body.get("class") != "dataset" or not isinstance(body.get("id"), list):
        raise BadResponse("SCB answered JSON that is not a JSON-stat 2 dataset", url)
    dimension = _str_map(body.get("dimension"), "dimension", url)
    variables = []
    for code in body["id"]:
        dim = _str_map(dimension.get(code), f"dimension {code!r}", url)
        category = _str_map(dim.get("category"), f"{code}.category", url)
        index = _str_map(category.get("index"), f"{code}.category.index", url)
        labels = category.get("label") or {}
        extension = dim.get("extension") or {}
        if not all(type(p) is int for p in index.values()):
            raise BadResponse(f"SCB metadata: {code}.category.index holds a position that is not a number", url)
        ordered = tuple(sorted(index, key=lambda c: index[c]))
        labels = _str_map(labels, f"{code}.category.label", url)
        variables.append(Variable(code=_text(code, "a variable code", url),
                                  label=_text(dim.get("label", code), f"{code}.label", url), codes=ordered,
                                  labels={k: _text(v, f"a label of {code}", url) for k, v in labels.items()},
                                  elimination=bool(extension.get("elimination", False)),
                                  elimination_code=extension.get("eliminationValueCode")))
    role = body.get("role") or {}
    time = (role.get("time") or [None])[0]
    if time not in body["id"]:
        raise BadResponse("SCB metadata names no time variable (role.time)", url)
    units: dict[str, Unit] = {}
    contents = next((v for v in variables if v.code.casefold() == CONTENTS), None)
    if contents is not None:
        raw_units = dimension[contents.code]["category"].get("unit") or {}
        for code, unit in raw_units.items():
            if isinstance(unit, dict):
                units[str(code)] = Unit(base=_text(unit.get("base", ""), f"the unit of {code}", url),
                                        decimals=_decimals(unit.get("decimals")))
    px = (body.get("extension") or {}).get("px") or {}
    return TableMeta(id=_text(px.get("tableid") or px.get("matrix") or "", "the table id", url),
                     label=_text(body.get("label", ""), "the label", url),
                     updated=_text(body.get("updated", ""), "updated", url), variables=tuple(variables),
                     time=str(time), units=units, notes=tuple(_text(n, "a note", url) for n in body.get("note") or ()))
