"""SCB as the registry lists it: `source = "scb"`, table, contents, select and month in an indicator;
its URL, client, harvest source, citation and status note."""
from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from .. import Citation, IndicatorKeys, Network, SpecError, Wanted, required_text
from ...names import MONTHS
from ...transport import Limits
from .client import ScbClient
from .commands import add_commands
from .resolve import resolve_series
from .rows import SOURCE
from .series import ScbSeries
from .source import ScbSource

TABLE_ID = re.compile(r"^TAB\d+$", re.IGNORECASE)
DEFAULT_URL = "https://statistikdatabasen.scb.se/api/v2"
EXAMPLE = 'table = "TAB6260", contents = "000004YH"'


def _connect(url: str, *, cache_path: Path | None, refresh: bool, rate: float, limits: Limits) -> ScbClient:
    """SCB's client; its rate comes from SCB's /config, not from [source] rate."""
    return ScbClient(url, cache_path=cache_path, refresh=refresh, limits=limits)


class Scb:
    name = SOURCE
    label = "SCB"
    cited_as = "SCB"  # "Källa: SCB" is SCB's own wording
    noun: str | None = "statistik"
    needs = 'id, label, source = "scb", table and contents for SCB'
    indicator_words = "an SCB indicator"
    commands = staticmethod(add_commands)
    indicator_keys = ("table", "contents", "select", "month")
    network = Network("source.scb", DEFAULT_URL, "SCB_API_URL", "--scb-api-url", "SCB PxWebApi 2.0", _connect)

    def parse(self, indicator: IndicatorKeys) -> ScbSeries:
        raw, name = indicator.raw, indicator.name
        if "kpi" in raw:
            raise SpecError(f"{name}: an SCB indicator names table and contents, not kpi (a Kolada id); remove kpi",
                            "kpi")
        for key in ("table", "contents"):
            if key not in raw:
                raise SpecError(f"{name}: an SCB indicator needs table and contents, e.g. {EXAMPLE} "
                                "(find them with `harvester scb search WORDS` and `harvester scb show TABLE`)",
                                "source")
        table, contents = (required_text(raw[key], f"{name} {key}", key) for key in ("table", "contents"))
        if not TABLE_ID.match(table):
            raise SpecError(f"{name}: table {table!r} is not an SCB table id (TAB followed by digits, e.g. \"TAB638\")",
                            "table")
        select = raw.get("select", {})
        if not isinstance(select, dict) or not all(isinstance(c, str) and c.strip() for c in select.values()):
            raise SpecError(f'{name}: select must name one code per variable, e.g. select = {{ Alder = "16-64" }}',
                            "select")
        month = raw.get("month")
        if month is not None and (isinstance(month, bool) or not isinstance(month, int) or not 1 <= month <= 12):
            raise SpecError(f"{name}: month must be a whole number from 1 to 12, got {month!r}", "month")
        fixed = tuple(sorted(((str(k).strip(), c.strip()) for k, c in select.items()), key=lambda kc: kc[0].casefold()))
        return ScbSeries(table=table.upper(), contents=contents, select=fixed, month=month)

    def prepare(self, wanted: Wanted, client: ScbClient) -> ScbSource:
        return ScbSource(client, resolve_series(wanted, client))

    def cite(self, spec: ScbSeries, described: Mapping[str, Any] | None, years: list[int]) -> Citation:
        """The table and codes, its own unit and decimals, and the years the table lacks (from the `series` table)."""
        fixed = ", ".join([spec.contents, *(f"{var} {code}" for var, code in spec.select)])
        month = f", {MONTHS[spec.month - 1]}" if spec.month else ""
        reference = f"tabell {spec.table}: {fixed}{month}"
        if described is None:
            return Citation(reference)
        unit = described["unit"] if isinstance(described["unit"], str) else None
        decimals = None if pd.isna(described["decimals"]) else int(described["decimals"])
        first, last = str(described["first_period"])[:4], str(described["last_period"])[:4]
        outside = [y for y in years if not (first.isdigit() and last.isdigit() and int(first) <= y <= int(last))]
        notes = ((f"SCB:s tabell {spec.table} omfattar {described['first_period']}–{described['last_period']}; "
                  f"för {', '.join(map(str, outside))} finns inga värden där.",) if outside else ())
        return Citation(reference, notes, unit, decimals)

    def note(self, described: Mapping[str, Any]) -> str:
        """When SCB last updated the table and which periods it spans."""
        return (f"SCB {described.get('table_id')} updated {str(described.get('table_updated') or '?')[:10]}, "
                f"periods {described.get('first_period')}–{described.get('last_period')}")


ENTRY = Scb()
