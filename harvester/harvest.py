"""One harvest: resolve the config, let each source plan and fetch, merge per series, commit in one step.

This is dlt's extract → normalize → load in miniature, and it knows no source's API: a source
(`harvester.sources`) plans batches, delivers their pages as rows and says what to remember of a
series; this module merges the rows (a complete answer replaces its slice, changes are merged),
holds back answers that would lose more than a small share of a series, and stages everything in
one `store.Transaction`. Nothing becomes visible until the commit, and the cursor of a series
moves only when that series' data is committed with it.
"""
from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
from tqdm import tqdm

from . import __version__, schema, similar_sets, store
from .config import Config, indicator_place
from .errors import BadResponse, SourceError, UpstreamUnavailable
from .merge import Slice, conflicting, losses_suspicious, merge_values
from .names import RIKET
from .resolve import Resolved, catalogue_tables, resolve
from .sources import Batch, DataSource, Scope, Source, Wanted, WantedSeries
from .sources.registry import CATALOGUE, SOURCES
from .wording import counted

log = logging.getLogger(__name__)


@dataclass
class HarvestResult:
    run_id: str
    outcome: str  # success | unchanged | partial | failed
    message: str = ""
    added: int = 0
    changed: int = 0
    removed: int = 0
    requests: int = 0
    cached: int = 0
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0


def new_run_id(started: pd.Timestamp) -> str:
    return f"{started.strftime('%Y%m%dT%H%M%SZ')}-{os.getpid()}"


class Harvest:
    """State of one run; `run()` drives it. Split in methods so each step reads on its own."""

    def __init__(self, config: Config, root: Path, clients: Mapping[str, Any], *, refresh: bool = False,
                 accept_removals: bool = False, show_progress: bool = False, command: str = "fetch") -> None:
        self.config, self.root, self.clients = config, Path(root), clients
        self.catalogue = clients[CATALOGUE.name]  # municipalities, groups and KPIs: the areas' own source
        self.refresh, self.accept_removals = refresh, accept_removals
        self.show_progress, self.command = show_progress, command
        self.started = pd.Timestamp.now(tz="UTC").floor("us")
        self.result = HarvestResult(run_id=new_run_id(self.started), outcome="failed")
        self.txn = store.Transaction(self.root, self.result.run_id)
        self.revisions: list[pd.DataFrame] = []
        self.cursors = store.read_cursors(self.root)
        self.new_cursors = dict(self.cursors)
        self.metadata_changed = False
        self.batches_ok = 0
        self.batches = 0
        self.sources: list[Source] = []
        self.covered: frozenset[str] = frozenset()  # KPIs the computed sets' pass fetched for every area wanted

    def run(self) -> HarvestResult:
        clock = time.monotonic()
        try:
            self._run()
        except BaseException:
            self.txn.discard()  # a write error or an interrupt: the previous dataset stays as it was
            raise
        finally:
            self.result.seconds = time.monotonic() - clock
        return self.result

    def _run(self) -> None:
        try:
            resolved = resolve(self.config, self.catalogue, store.read_table(self.root, "kpis"))
        except UpstreamUnavailable as exc:
            self.result.failures.append(f"could not read {CATALOGUE.label}'s catalogue: {exc}")
            self._finish()
            return
        except SourceError as exc:  # a 4xx or a malformed catalogue: still a harvest, so still a `runs` row
            self.result.failures.append(f"{CATALOGUE.label}'s catalogue could not be read: {exc}")
            self._finish()
            return
        resolved = self._computed_sets(resolved)
        for kpi in resolved.retired:  # partial, not failed: the other KPIs are still worth fetching
            self.result.failures.append(f"{kpi} is no longer published by {CATALOGUE.label}; stored values kept")
        years = self.config.years(self.started.date())
        # Every source checks its series first (a config error costs nothing: nothing is fetched yet), then
        # plans (the author's files are read and checked then: one bad row, nothing stored), then fetches.
        prepared = [p for p in (self._prepare(kind, resolved, years) for kind in SOURCES) if p is not None]
        planned = [(source, scope, self._plan(source, scope)) for source, scope in prepared]
        for source, scope, batches in planned:
            if batches is not None:
                self._fetch(source, scope, batches, resolved)
        if self.batches_ok or not self.batches:
            self._stage_catalogue(resolved)
        self._finish()

    def _prepare(self, kind: DataSource, resolved: Resolved, years: tuple[int, ...]) -> tuple[Source, Scope] | None:
        """`kind`'s harvest source and scope, its series checked against it; an unavailable source costs its
        series only."""
        mine = self.config.indicators_of(kind.name)
        skip = self.covered | set(resolved.retired)  # a recipe's KPI is fetched once, by the computed sets' pass
        series = tuple(dict.fromkeys(ind.series_id for ind in mine if ind.series_id not in skip))
        if not series:
            return None
        if kind.network is not None and kind.name not in self.clients:
            raise ValueError(f"the config has {kind.label} indicators but the harvest was given no {kind.label} client")
        wanted = Wanted(series=tuple(WantedSeries(ind.id, ind.label, ind.gender, ind.series) for ind in mine
                                     if ind.series_id in series),
                        areas=resolved.areas, municipalities=resolved.municipalities, kpis=resolved.kpis,
                        today=self.started.date(), place=lambda ind_id, key: indicator_place(self.config, ind_id, key))
        try:
            source = kind.prepare(wanted, self.clients.get(kind.name))
        except SourceError as exc:
            self.result.failures.append(f"could not read {kind.label}'s tables; {kind.label} series not fetched: {exc}")
            log.info("%s", self.result.failures[-1])
            return None
        self.sources.append(source)
        return source, Scope(series, resolved.areas, years)

    def _computed_sets(self, resolved: Resolved) -> Resolved:
        """Computed comparison sets (docs/similar.md): their KPIs for every kommun first, then their members join."""
        planned = similar_sets.plan(self.config, self.catalogue, resolved, self.started.date())
        if planned is None:
            return resolved
        self.sources.append(planned.source)
        self.covered = frozenset(planned.scope.series)
        batches = self._plan(planned.source, planned.scope)
        if batches is not None:
            self._fetch(planned.source, planned.scope, batches, resolved)
        values = similar_sets.staged_values(self.txn, self.root, planned.scope.series)
        return similar_sets.with_sets(self.config, resolved, planned, values)

    def _plan(self, source: Source, scope: Scope) -> list[Batch] | None:
        """One source's batches (None when it could not plan: its series keep their values)."""
        try:
            batches = source.plan(scope, self.cursors, self.refresh)
        except SourceError as exc:  # e.g. SCB's /config unreadable
            self.result.failures.append(f"{source.label}: could not plan the requests: {exc}")
            log.info("%s", self.result.failures[-1])
            return None
        self.batches += len(batches)
        planned = {s for b in batches for s in b.series}
        for series in scope.series:
            if series not in planned and series in self.cursors:  # nothing to ask: checked by the plan itself
                self.new_cursors[series] = {**self.cursors[series], "checked_at": self.started.isoformat()}
        return batches

    def _fetch(self, source: Source, scope: Scope, batches: list[Batch], resolved: Resolved) -> None:
        """Fetch one source's batches; a failing batch costs its own series only."""
        log.info("fetch: %d series × %d areas (home %s %s, %d peers%s) × %d–%d from %s: %s, about %s",
                 len(scope.series), len(scope.areas), resolved.home, resolved.home_title, len(resolved.peers),
                 ", Riket" if RIKET in scope.areas else "", scope.years[0], scope.years[-1],
                 source.base_url,
                 counted(len(batches), "batch"), counted(sum(b.estimated_pages for b in batches), "request"))
        bar = tqdm(total=sum(b.estimated_pages for b in batches), unit="page", desc=f"fetch {source.name}",
                   disable=not self.show_progress, leave=False)
        try:
            for number, batch in enumerate(batches, start=1):
                tables: list[pa.Table] = []
                try:
                    for table in source.fetch(batch, scope):
                        tables.append(table)
                        bar.update(1)
                except UpstreamUnavailable as exc:
                    self._batch_failed(batch, exc)
                    left = len(batches) - number
                    if left:
                        self.result.failures.append(f"stopped: {left} more batches not tried while "
                                                    f"{source.label} is unavailable")
                    return
                except SourceError as exc:
                    self._batch_failed(batch, exc)
                    continue
                self._merge_batch(source, batch, scope, tables)
        finally:
            bar.close()

    def _batch_failed(self, batch: Batch, exc: Exception) -> None:
        series = ",".join(batch.series)
        self.result.failures.append(f"{series}: {exc}")
        log.info("fetch failed for %s; their stored values are kept: %s", series, exc)

    def _merge_batch(self, source: Source, batch: Batch, scope: Scope, tables: list[pa.Table]) -> None:
        incoming = (pa.concat_tables(tables) if tables else schema.ROWS.empty_table()).to_pandas()
        clash = conflicting(incoming)
        if len(clash):  # each page was well formed (the client checks that); together they contradict
            r = clash.iloc[0]
            self._batch_failed(batch, BadResponse(
                f"{source.label} sent {len(clash)} rows that contradict each other on different pages of one "
                f"answer (e.g. {r.kpi} {r.municipality_id} {r.period} {r.gender}); the answer is refused and "
                "forgotten"))
            source.forget(batch)
            return
        self.batches_ok += 1
        complete = Slice(scope.areas, scope.years) if batch.complete else None
        for series, rows in _split_by_series(incoming, batch.series):
            # Nothing changed since the last harvest (the nightly common case): no file to read.
            stored = (store.read_values_table(self.root, series).to_pandas() if len(rows) or complete
                      else schema.VALUES.empty_table().to_pandas())
            merged = merge_values(stored, rows, self.started, self.result.run_id, complete)
            if losses_suspicious(merged, stored) and not self.accept_removals:
                msg = (f"{series}: {source.label}'s answer would remove or empty {merged.lost} of "
                       f"{int(stored['value'].notna().sum())} stored values; suspicious, so the stored values are kept "
                       "and the series will be fetched in full next time (after a look, --accept-removals accepts it)")
                self.result.failures.append(msg)
                log.info("%s", msg)
                self.new_cursors.pop(series, None)
                source.forget(batch)
                continue
            if batch.complete and rows.empty:
                log.warning("%s: %s has no values for these areas and years (nothing stored)", series, source.label)
            if merged.touched:
                self.txn.stage_values(series, schema.to_arrow(merged.values, schema.VALUES))
                self.revisions.append(merged.revisions)
            self.result.added += merged.added
            self.result.changed += merged.changed
            self.result.removed += merged.removed
            cursor = source.cursor(series, batch, rows, scope, self.cursors.get(series), self.started)
            self.new_cursors[series] = {**cursor, "source": source.name, "checked_at": self.started.isoformat()}
            log.info("%s: %d rows received (%s), %d added, %d changed, %d removed", series, len(rows),
                     "complete" if batch.complete else "changes only", merged.added, merged.changed, merged.removed)

    def _stage_catalogue(self, resolved: Resolved) -> None:
        stored = {name: store.read_table(self.root, name) for name in ("kpis", "groups", "series")}
        described = [rows for rows in (source.described(self.started) for source in self.sources)
                     if rows is not None and len(rows)]
        for name, table in catalogue_tables(resolved, stored, self.started, described).items():
            if store.holds(self.root, name, table):
                continue
            self.txn.stage_table(f"{name}.parquet", table)
            self.metadata_changed = True
            log.info("%s: updated", name)

    def _finish(self) -> None:
        r = self.result
        data_changed = bool(r.added or r.changed or r.removed)
        if r.failures:
            r.outcome = "partial" if (self.batches_ok or data_changed) else "failed"
        else:
            r.outcome = "success" if (data_changed or self.metadata_changed) else "unchanged"
        if r.outcome == "failed":
            self.txn.discard()
            self.txn = store.Transaction(self.root, r.run_id)  # a failed run records only itself
        else:
            self._stage_upkeep()
        r.requests = sum(client.stats.network for client in self.clients.values())
        r.cached = sum(client.stats.cached for client in self.clients.values())
        r.message = r.failures[0] if r.failures else _summary(r)
        self.txn.stage_appended("runs", pd.DataFrame([self._run_row()]))
        if r.outcome != "failed":  # every documented table exists after a successful run, empty where empty
            for name in store.missing_tables(self.root):
                if f"{name}.parquet" not in self.txn.staged:
                    self.txn.stage_table(f"{name}.parquet", schema.TABLES[name].empty_table())
        self.txn.commit()

    def _stage_upkeep(self) -> None:
        """Revisions, cursors, and files of an older schema rewritten in today's columns."""
        revisions = [x for x in self.revisions if len(x)]
        if revisions:
            self.txn.stage_appended("revisions", pd.concat(revisions, ignore_index=True))
        if self.new_cursors != self.cursors:
            self.txn.stage_json(store.CURSORS, self.new_cursors)
        staged = set(self.txn.staged)
        outdated = [k for k in store.outdated_values(self.root) if f"{store.VALUES_DIR}/{k}.parquet" not in staged]
        for kpi in outdated:
            self.txn.stage_values(kpi, store.read_values_table(self.root, kpi))
        if outdated:
            log.info("upgraded %d values files to schema version %d", len(outdated), schema.SCHEMA_VERSION)

    def _run_row(self) -> dict[str, Any]:
        r = self.result
        return {
            "run_id": r.run_id, "command": self.command, "started_at": self.started,
            "finished_at": pd.Timestamp.now(tz="UTC").floor("us"),
            "api_url": ", ".join(dict.fromkeys([self.catalogue.base_url, *(s.base_url for s in self.sources)])),
            "config": str(self.config.path), "requests": r.requests, "cached": r.cached,
            "rows_added": r.added, "rows_changed": r.changed, "rows_removed": r.removed,
            "outcome": r.outcome, "message": r.message, "harvester_version": __version__,
            "schema_version": schema.SCHEMA_VERSION,
        }


def _summary(r: HarvestResult) -> str:
    return (f"{counted(r.added, 'row')} added, {r.changed} changed, {r.removed} removed; "
            f"{counted(r.requests, 'request')}, {r.cached} cached")


def _split_by_series(incoming: pd.DataFrame, series: tuple[str, ...]) -> list[tuple[str, pd.DataFrame]]:
    groups = dict(tuple(incoming.groupby("kpi", sort=False))) if len(incoming) else {}
    empty = incoming.iloc[0:0]
    return [(s, groups.get(s, empty)) for s in series]


def harvest(config: Config, root: Path, clients: Mapping[str, Any], *, refresh: bool = False,
            accept_removals: bool = False, show_progress: bool = False, command: str = "fetch") -> HarvestResult:
    """Fetch everything the config asks for into the dataset under `root` (the caller holds the lock).

    `clients` by source name: one for each networked source the config's indicators read, and always
    the catalogue's (`registry.CATALOGUE`: municipalities and groups).
    """
    return Harvest(config, root, clients, refresh=refresh, accept_removals=accept_removals,
                   show_progress=show_progress, command=command).run()
