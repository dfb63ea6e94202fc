"""How far each source's data reach, said once for the title and the overview's notes.

A report mixing Kolada (yearly, to 2022) and a monthly SCB series (to July 2025) must not say
"till och med 2025" for figures that end in 2022: each source is named with its own last period.
"""
from __future__ import annotations

from collections.abc import Mapping

from ..names import MONTHS
from .document import SOURCE_NAMES

Reach = dict[str, tuple[int, int | None]]  # source → (last year with a home value, its month or None)


def widen(reach: Reach, source: str, year: int, month: int | None) -> None:
    """Let `reach` cover `year` (of `month`, for a monthly series) for `source`; a whole year reaches furthest."""
    def key(period: tuple[int, int | None]) -> tuple[int, int]:
        return period[0], period[1] or 13
    if source not in reach or key((year, month)) > key(reach[source]):
        reach[source] = (year, month)


def reach_words(reach: Mapping[str, tuple[int, int | None]]) -> str:
    """"Kolada t.o.m. 2022, SCB t.o.m. juli 2025"; "" when no source has a value."""
    order = list(SOURCE_NAMES)  # Kolada, SCB, the author's own figures: as every citation lists them
    return ", ".join(f"{SOURCE_NAMES[s][0]} t.o.m. {MONTHS[m - 1] + ' ' if m else ''}{y}"
                     for s, (y, m) in sorted(reach.items(), key=lambda item: order.index(item[0])))
