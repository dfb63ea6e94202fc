"""What one SCB series is (table, contents, fixed selection, month) and the id it is stored under.

The id goes in the `kpi` column and names the series' file in `values/`, so it must be stable,
readable, safe in every file system and impossible to mistake for a Kolada id:
`scb_TAB6260_000004YH_alder.16-64_fodelseregion.tot_m07`. It is derived from the config alone
(so `compare` finds the series without asking SCB): variables and codes are case-folded because
SCB matches them case-insensitively, and any character outside [a-z0-9-] is written `~xx`
(its UTF-8 bytes in hex), so two different selections can never share an id.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

PREFIX = "scb_"
_SAFE = re.compile(r"[A-Za-z0-9-]")


def _token(text: str) -> str:
    return "".join(ch if _SAFE.fullmatch(ch) else "".join(f"~{b:02x}" for b in ch.encode()) for ch in text)


@dataclass(frozen=True)
class ScbSeries:
    """The config's description of an SCB series; Region, Kon and Tid are mapped by the harvester."""

    table: str  # TAB + digits, upper case
    contents: str  # the ContentsCode, as the config spells it
    select: tuple[tuple[str, str], ...] = ()  # (variable, code), sorted by variable
    month: int | None = None

    @property
    def reference(self) -> str:
        return f"SCB {self.table} {self.contents}"

    @property
    def id(self) -> str:
        parts = [self.table.upper(), _token(self.contents.upper())]
        parts += [f"{_token(var.casefold())}.{_token(code.casefold())}" for var, code in self.select]
        if self.month is not None:
            parts.append(f"m{self.month:02d}")
        return PREFIX + "_".join(parts)


def is_scb_series(kpi: str) -> bool:
    return kpi.startswith(PREFIX)
