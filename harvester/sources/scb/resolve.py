"""The config's SCB series checked against their tables' metadata, before anything is fetched.

A config error found here still costs nothing: one message naming the line, with near matches for
an unknown table (from SCB's own table search) and the allowed codes for an unknown code.
"""
from __future__ import annotations

import logging
import re

from ...errors import ConfigError, RequestRefused, SourceError
from .. import Wanted
from .catalogue import CheckedSeries, SeriesError, check_series
from .client import ScbClient, refused_table
from .metadata import TableMeta
from .series import ScbSeries

log = logging.getLogger(__name__)

SUGGESTED_TABLES = 5


def resolve_series(wanted: Wanted, client: ScbClient) -> list[CheckedSeries]:
    """Every wanted series checked against its table (metadata read fresh when the table was revised).

    Raises ConfigError naming the line; SourceError when SCB cannot be asked.
    """
    tables: dict[str, TableMeta] = {}
    checked: dict[str, CheckedSeries] = {}
    for want in wanted.series:
        spec: ScbSeries = want.spec
        table = spec.table
        if table not in tables:
            try:
                entry = client.table(table)
            except RequestRefused as exc:
                if not refused_table(exc):
                    raise
                raise ConfigError(f"{wanted.place(want.indicator_id, 'table')}: indicator {want.indicator_id!r}: "
                                  f"SCB has no table {table}{suggest_tables(client, table, want.label)}") from None
            tables[table] = client.metadata(table, str(entry.get("updated") or ""))
        try:
            series = check_series(spec, tables[table], want.gender)
        except SeriesError as exc:
            raise ConfigError(f"{wanted.place(want.indicator_id, exc.key)}: indicator {want.indicator_id!r}: {exc}") from None
        checked.setdefault(series.id, series)
    return list(checked.values())


def suggest_tables(client: ScbClient, table: str, label: str = "") -> str:
    """Tables the search finds for the id or the indicator's words (a hint only: its failure is no error)."""
    words = [table, *sorted((w for w in re.findall(r"\w{5,}", label)), key=len, reverse=True)[:2]]
    try:
        for query in words:
            hits = []
            for entry in client.search(query):
                hits.append(entry)
                if len(hits) == SUGGESTED_TABLES:
                    break
            if hits:
                shown = "; ".join(f"{h.get('id')} {h.get('label')}" for h in hits)
                return f" (the table search for {query!r} finds: {shown})"
    except SourceError as exc:
        log.debug("no table suggestions: %s", exc)
    return "; search for tables with `harvester scb search WORDS`"
