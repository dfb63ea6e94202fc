"""What the rest of the harvester asks of a data source, and nothing more.

A source is one folder (`kolada/`, `scb/`, `file/`) that knows its API: client, request planner,
answers → rows, catalogue, citation. It exports one `DataSource` object, and `registry.SOURCES`
lists them; config, harvest, cli, report, render and status read that list and import no
concrete source. The harvest drives any source the same way: prepare (check the config against
the source) → plan → fetch pages as rows → merge per series → commit. docs/sources.md "Adding a
source" walks through a new one.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ContextManager, Protocol

import pandas as pd
import pyarrow as pa

from ..transport import RequestStats


@dataclass(frozen=True)
class Scope:
    """What the config wants from one source: these series for these areas and years."""

    series: tuple[str, ...]
    areas: tuple[str, ...]
    years: tuple[int, ...]


@dataclass(frozen=True)
class Batch:
    """Requests that together answer for `series` completely, so their rows can be merged per series.

    `complete`: the answer is the whole truth for the scope's areas × years of these series (a full
    fetch, which replaces that slice); otherwise it holds changes only (merged, tombstones remove).
    `work` is the source's own plan of requests, opaque to the harvest.
    """

    series: tuple[str, ...]
    complete: bool
    estimated_pages: int
    work: Any


def covers(cursor: Mapping[str, Any], scope: Scope) -> bool:
    """Whether a cursor's areas and years include the scope's: if not, the series is fetched in full."""
    covered = cursor.get("years") or [0, -1]
    return (set(scope.areas) <= set(cursor.get("areas", ()))
            and covered[0] <= scope.years[0] and scope.years[-1] <= covered[1])


class Source(Protocol):
    """One data source as the harvest drives it."""

    name: str  # the `source` column of the rows it delivers: "kolada", "scb"
    label: str  # how messages and tables call it: "Kolada", "SCB"
    base_url: str  # where it asks, for the log

    @property
    def stats(self) -> RequestStats: ...

    def plan(self, scope: Scope, cursors: Mapping[str, Mapping[str, Any]], refresh: bool) -> list[Batch]:
        """The batches to ask for; a series with no batch needs no request (nothing new upstream)."""

    def fetch(self, batch: Batch, scope: Scope) -> Iterator[pa.Table]:
        """The batch's answer, page by page, as `schema.ROWS` tables of the scope's areas and years."""

    def forget(self, batch: Batch) -> None:
        """Drop the batch's answers from any cache: the harvest held them back as suspicious."""

    def cursor(self, series: str, batch: Batch, rows: pd.DataFrame, scope: Scope,
               previous: Mapping[str, Any] | None, started: pd.Timestamp) -> dict[str, Any]:
        """What to remember of `series` after its rows from `batch` were merged (saved with them)."""

    def described(self, read_at: pd.Timestamp) -> pd.DataFrame | None:
        """Its rows of the dataset's `series` table for what this run read (None: it keeps no such rows)."""


class SpecError(ValueError):
    """An indicator's source keys are wrong; `key` names the config key at fault, so config can give its line."""

    def __init__(self, message: str, key: str) -> None:
        super().__init__(message)
        self.key = key


def required_text(value: Any, what: str, key: str) -> str:
    """`value` stripped if it is a non-empty text; else SpecError naming `key`."""
    if not isinstance(value, str) or not value.strip():
        raise SpecError(f"{what} must be a non-empty text in quotes, got {value!r}", key)
    return value.strip()


class SeriesSpec(Protocol):
    """What one indicator asks of its source, parsed from the config by the source itself."""

    @property
    def id(self) -> str:
        """The series id: the dataset's `kpi` column and the name of its values file."""

    @property
    def reference(self) -> str:
        """How tables name the series: "N35001", "SCB TAB638 BE0101N1", "egen statistik, fil.csv"."""

    @property
    def month(self) -> int | None:
        """The month whose value stands for the year (monthly series), else None."""


@dataclass(frozen=True)
class IndicatorKeys:
    """One [[indicator]] as its source's parser sees it: the raw keys and what messages need."""

    raw: Mapping[str, Any]
    name: str  # "indicator 'kostnad'", how messages call it
    indicator_id: str
    label: str
    config_path: Path
    line_of: Callable[[str], str]  # config key → "file:line"


@dataclass(frozen=True)
class Network:
    """Where a networked source's base URL comes from (`config.choose_url` keeps the precedence), and
    how its client is made: `connect(url, cache_path=, refresh=, rate=, limits=)`, a context manager."""

    section: str  # the config table holding `api_url`: "source" (Kolada) or "source.<name>"
    default: str
    env: str  # the environment variable: "KOLADA_API_URL"
    option: str  # the command-line option: "--api-url"
    what: str  # "Kolada v3", for --help
    connect: Callable[..., ContextManager[Any]]


@dataclass(frozen=True)
class WantedSeries:
    """One configured series of a source, with what its checks need to say about it."""

    indicator_id: str
    label: str
    gender: str
    spec: Any  # the source's own SeriesSpec


@dataclass(frozen=True)
class Wanted:
    """What a harvest wants of one source, after the areas were resolved against the catalogue."""

    series: tuple[WantedSeries, ...]
    areas: tuple[str, ...]
    municipalities: list[dict[str, Any]]  # the catalogue's municipality entries (id, title, type)
    kpis: Mapping[str, Mapping[str, Any]]  # the catalogue's entries of the Kolada KPIs the config names
    today: dt.date  # the day of the run
    place: Callable[[str, str], str]  # (indicator id, config key) → "file:line"


@dataclass(frozen=True)
class Citation:
    """How documents cite one series: the words after "Källa: …", notes, and the source's own unit."""

    reference: str  # "nyckeltal N35001", "tabell TAB638: BE0101N1"
    notes: tuple[str, ...] = ()
    unit: str | None = None
    decimals: int | None = None


class DataSource(Protocol):
    """One source as every room above `sources/` sees it (its entry in `registry.SOURCES`)."""

    name: str  # the config's `source = "…"` and the rows' `source` column
    label: str  # how messages and status call it: "Kolada", "SCB", "egen statistik"
    cited_as: str  # how documents credit it: "Kolada (RKA)"
    noun: str | None  # what its series are called in a title: "nyckeltal", "statistik" (None: just values)
    needs: str  # the keys an indicator of it needs, for the config's "needed: …" message
    indicator_words: str  # "an SCB indicator", for "table belongs to an SCB indicator"
    indicator_keys: tuple[str, ...]  # the [[indicator]] keys it adds (checked and owned by it)
    network: Network | None  # None: read without a network (the author's files)
    # Its own lookup commands: commands(subparsers, parents, connect(args) → client, found(lines, nothing) → exit
    # code), or None. The catalogue's lookups (kpi, municipality, groups) are the command line's own.
    commands: Callable[..., None] | None

    def parse(self, indicator: IndicatorKeys) -> SeriesSpec:
        """The indicator's series; SpecError naming the key at fault."""

    def prepare(self, wanted: Wanted, client: Any) -> Source | None:
        """The harvest source for `wanted`, its series checked against the source first (ConfigError for
        the author's mistakes, SourceError when the source cannot be asked); None when nothing is wanted."""

    def cite(self, spec: Any, described: Mapping[str, Any] | None, years: list[int]) -> Citation:
        """How documents cite the series; `described` is its row of the `series` table, if any."""

    def note(self, described: Mapping[str, Any]) -> str:
        """Its series' state for `harvester status` (from the `series` table row)."""
