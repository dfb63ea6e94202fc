"""Every source the harvester reads, in the order documents cite them: the one list a new source joins.

Rooms above `sources/` (config, harvest, cli, report, render, status) import this module, never a
concrete source. `CATALOGUE` is the source of the areas themselves: municipalities, Riket and the
comparison groups come from Kolada whatever source an indicator reads.
"""
from __future__ import annotations

from . import DataSource
from .file.entry import ENTRY as FILE
from .kolada.entry import ENTRY as KOLADA
from .scb.entry import ENTRY as SCB

SOURCES: tuple[DataSource, ...] = (KOLADA, SCB, FILE)
CATALOGUE: DataSource = KOLADA
DEFAULT: DataSource = KOLADA  # an indicator without `source = "…"` reads Kolada
NETWORKED = tuple(s for s in SOURCES if s.network is not None)
BY_NAME: dict[str, DataSource] = {s.name: s for s in SOURCES}
NAMES = tuple(BY_NAME)
