"""One harvest: resolve the config, plan the requests, fetch, merge, and commit in one step.

This is dlt's extract → normalize → load in miniature. Pages become Arrow tables as they arrive;
each batch of KPIs is merged and staged as soon as its queries are complete, so memory follows
the batch, not the harvest. Nothing becomes visible until `Transaction.commit`, and the
incremental cursor of a KPI moves only when that KPI's data is committed with it.
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from . import __version__, schema, store
from .config import Config
from .kolada.client import KoladaClient
from .kolada.errors import KoladaError, UpstreamUnavailable
from .kolada.items import rows_from_items
from .kolada.queries import Batch, Scope, plan_requests
from .merge import merge_values, to_arrow
from .names import RIKET
from .resolve import Resolved, resolve

log = logging.getLogger(__name__)

FIRST_YEAR_SERVED = 1990


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


def wanted_years(config: Config, today: date) -> tuple[int, ...]:
    """The configured years; without `to`, up to this year, so new publications are never missed."""
    return tuple(range(config.year_from, (config.year_to or today.year) + 1))


def _covers(cursor: dict[str, Any], areas: tuple[str, ...], years: tuple[int, ...]) -> bool:
    covered = cursor.get("years") or [0, -1]
    return set(areas) <= set(cursor.get("areas", ())) and covered[0] <= years[0] and years[-1] <= covered[1]


def _incremental_state(cursors: dict[str, Any], kpis: list[str], areas: tuple[str, ...], years: tuple[int, ...],
                       refresh: bool) -> tuple[dict[str, date | None], dict[str, float]]:
    """Per KPI: the from_date to ask with (None: fetch in full) and the item density seen last time."""
    since: dict[str, date | None] = {}
    density: dict[str, float] = {}
    for kpi in kpis:
        cursor = cursors.get(kpi)
        if not cursor:
            continue
        if not refresh and _covers(cursor, areas, years):
            since[kpi] = date.fromisoformat(cursor["since"])
        span = cursor.get("years") or [0, -1]
        cells = len(cursor.get("areas", ())) * max(0, span[1] - span[0] + 1)
        if cells and cursor.get("items") is not None:
            density[kpi] = min(1.0, cursor["items"] / cells)
    return since, density


def _areas_served(resolved: Resolved) -> int:
    """How many areas an unfiltered query can return: kommuner and Riket for K-only KPIs."""
    types = {str(k.get("municipality_type")) for k in resolved.kpis.values()}
    if types == {"K"}:
        return sum(1 for m in resolved.municipalities if m.get("type") == "K") + 1
    return len(resolved.municipalities)


class Harvest:
    """State of one run; `run()` drives it. Split in methods so each step reads on its own."""

    def __init__(self, config: Config, root: Path, client: KoladaClient, *, refresh: bool = False,
                 show_progress: bool = False, command: str = "fetch") -> None:
        self.config, self.root, self.client = config, Path(root), client
        self.refresh, self.show_progress, self.command = refresh, show_progress, command
        self.started = pd.Timestamp.now(tz="UTC").floor("us")
        self.result = HarvestResult(run_id=new_run_id(self.started), outcome="failed")
        self.txn = store.Transaction(self.root, self.result.run_id)
        self.revisions: list[pd.DataFrame] = []
        self.cursors = store.read_cursors(self.root)
        self.new_cursors = dict(self.cursors)
        self.metadata_changed = False
        self.batches_ok = 0

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
            resolved = resolve(self.config, self.client, store.read_table(self.root, "kpis"))
        except UpstreamUnavailable as exc:
            self.result.failures.append(f"could not read Kolada's catalogue: {exc}")
            self._finish()
            return
        for kpi in resolved.retired:  # partial, not failed: the other KPIs are still worth fetching
            self.result.failures.append(f"{kpi} is no longer published by Kolada; stored values kept")
        today = self.started.date()
        years = wanted_years(self.config, today)
        kpis = list(resolved.kpis)
        since, density = _incremental_state(self.cursors, kpis, resolved.areas, years, self.refresh)
        scope = Scope(kpis=tuple(kpis), areas=resolved.areas, years=years, areas_served=_areas_served(resolved),
                      years_served=today.year - FIRST_YEAR_SERVED + 1, density=density)
        batches = plan_requests(scope, since) if kpis else []
        log.info("fetch: %d KPIs × %d areas (home %s %s, %d peers%s) × %d–%d from %s: %d batches, about %d requests",
                 len(kpis), len(resolved.areas), resolved.home, resolved.home_title, len(resolved.peers),
                 ", Riket" if RIKET in resolved.areas else "", years[0], years[-1], self.client.base_url,
                 len(batches), sum(b.estimated_pages for b in batches))
        self._fetch(batches, resolved, years)
        if self.batches_ok or not batches:
            self._stage_metadata(resolved)
        self._finish()

    def _fetch(self, batches: list[Batch], resolved: Resolved, years: tuple[int, ...]) -> None:
        wanted_areas, wanted_years_set = set(resolved.areas), set(years)
        bar = tqdm(total=sum(b.estimated_pages for b in batches), unit="page", desc="fetch",
                   disable=not self.show_progress, leave=False)
        try:
            for number, batch in enumerate(batches, start=1):
                tables: list[pa.Table] = []
                try:
                    for query in batch.queries:
                        for page in self.client.pages(query.path, query.params, fresh=query.from_date is not None):
                            tables.append(rows_from_items(page, self.client.url(query.path), wanted_areas, wanted_years_set))
                            bar.update(1)
                except UpstreamUnavailable as exc:
                    self._batch_failed(batch, exc)
                    left = len(batches) - number
                    if left:
                        self.result.failures.append(f"stopped: {left} more batches not tried while Kolada is unavailable")
                    return
                except KoladaError as exc:
                    self._batch_failed(batch, exc)
                    continue
                self._merge_batch(batch, tables, resolved.areas, years)
        finally:
            bar.close()

    def _batch_failed(self, batch: Batch, exc: Exception) -> None:
        kpis = ",".join(batch.kpis)
        self.result.failures.append(f"{kpis}: {exc}")
        log.error("fetch failed for %s; their stored values are kept: %s", kpis, exc)

    def _merge_batch(self, batch: Batch, tables: list[pa.Table], areas: tuple[str, ...], years: tuple[int, ...]) -> None:
        self.batches_ok += 1
        incoming = (pa.concat_tables(tables) if tables else rows_from_items([], "")).to_pandas()
        for kpi, rows in _split_by_kpi(incoming, batch.kpis):
            stored = store.read_values_table(self.root, kpi).to_pandas()
            if not batch.incremental and rows.empty and len(stored):
                msg = (f"{kpi}: Kolada returned no values although {len(stored)} rows are stored; "
                       "suspicious answer, stored values kept and the KPI will be fetched in full next time")
                self.result.failures.append(msg)
                log.warning(msg)
                continue
            if not batch.incremental and rows.empty:
                log.warning("%s: Kolada has no values for these areas and years (nothing stored)", kpi)
            merged = merge_values(stored, rows, self.started, self.result.run_id)
            if merged.touched:
                self.txn.stage_table(f"{store.VALUES_DIR}/{kpi}.parquet", to_arrow(merged.values, schema.VALUES))
                self.revisions.append(merged.revisions)
            self.result.added += merged.added
            self.result.changed += merged.changed
            self.result.removed += merged.removed
            items = int(rows[["municipality_id", "period"]].drop_duplicates().shape[0])
            previous = self.cursors.get(kpi, {})
            self.new_cursors[kpi] = {
                "since": (self.started.date() - timedelta(days=1)).isoformat(),
                "areas": list(areas),
                "years": [years[0], years[-1]],
                "items": previous.get("items", items) if batch.incremental else items,
            }
            log.info("%s: %d rows received (%s), %d added, %d changed, %d removed", kpi, len(rows),
                     "changes only" if batch.incremental else "full", merged.added, merged.changed, merged.removed)

    def _stage_metadata(self, resolved: Resolved) -> None:
        self._stage_if_changed("kpis", _kpis_table(store.read_table(self.root, "kpis"), resolved.kpis))
        self._stage_if_changed("municipalities", _municipalities_table(resolved.municipalities))
        groups = _groups_table(store.read_table(self.root, "groups"), resolved.groups, self.started)
        self._stage_if_changed("groups", groups)

    def _stage_if_changed(self, name: str, table: pa.Table) -> None:
        path = store.table_path(self.root, name)
        if path.exists():
            if pq.read_table(path, schema=table.schema).equals(table):  # schema and contents
                return
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
        elif self.new_cursors != self.cursors:
            self.txn.stage_json(store.CURSORS, self.new_cursors)
        revisions = [x for x in self.revisions if len(x)]
        if revisions and r.outcome != "failed":
            old = store.read_table(self.root, "revisions")
            self.txn.stage_table("revisions.parquet", to_arrow(pd.concat([old, *revisions], ignore_index=True), schema.REVISIONS))
        r.requests, r.cached = self.client.stats.network, self.client.stats.cached
        r.message = r.failures[0] if r.failures else _summary(r)
        self.txn.stage_table("runs.parquet", self._runs_table())
        self.txn.commit()

    def _runs_table(self) -> pa.Table:
        r = self.result
        row = {
            "run_id": r.run_id, "command": self.command, "started_at": self.started,
            "finished_at": pd.Timestamp.now(tz="UTC").floor("us"), "api_url": self.client.base_url,
            "config": str(self.config.path), "requests": r.requests, "cached": r.cached,
            "rows_added": r.added, "rows_changed": r.changed, "rows_removed": r.removed,
            "outcome": r.outcome, "message": r.message, "harvester_version": __version__,
            "schema_version": schema.SCHEMA_VERSION,
        }
        old = store.read_table(self.root, "runs")
        frame = pd.concat([old, pd.DataFrame([row])], ignore_index=True) if len(old) else pd.DataFrame([row])
        return to_arrow(frame, schema.RUNS)


def _summary(r: HarvestResult) -> str:
    return f"{r.added} rows added, {r.changed} changed, {r.removed} removed; {r.requests} requests, {r.cached} cached"


def _split_by_kpi(incoming: pd.DataFrame, kpis: tuple[str, ...]) -> list[tuple[str, pd.DataFrame]]:
    groups = dict(tuple(incoming.groupby("kpi", sort=False))) if len(incoming) else {}
    empty = incoming.iloc[0:0]
    return [(kpi, groups.get(kpi, empty)) for kpi in kpis]


def _kpis_table(stored: pd.DataFrame, fetched: dict[str, dict[str, Any]]) -> pa.Table:
    rows = {str(r["id"]): r for r in stored.to_dict("records")}
    for kpi_id, meta in fetched.items():
        rows[kpi_id] = {name: meta.get(name) for name in schema.KPIS.names}
    frame = pd.DataFrame([rows[k] for k in sorted(rows)], columns=schema.KPIS.names)
    for col in ("prel_publication_date", "publication_date"):
        frame[col] = pd.to_datetime(frame[col], errors="coerce").dt.date
    frame["publ_period"] = frame["publ_period"].map(lambda v: None if v is None or pd.isna(v) else str(v))
    return to_arrow(frame, schema.KPIS)


def _municipalities_table(municipalities: list[dict[str, Any]]) -> pa.Table:
    frame = pd.DataFrame([{k: m.get(k) for k in schema.MUNICIPALITIES.names} for m in municipalities],
                         columns=schema.MUNICIPALITIES.names).sort_values("id")
    return to_arrow(frame, schema.MUNICIPALITIES)


def _groups_table(stored: pd.DataFrame, groups: list[dict[str, Any]], read_at: pd.Timestamp) -> pa.Table:
    """Stored vintages plus a new one for each group whose title or members changed."""
    new_rows = []
    for group in groups:
        gid = str(group["id"])
        members = sorted((str(m["member_id"]), str(m.get("member_title", ""))) for m in group.get("members", []))
        mine = stored[stored["group_id"] == gid]
        if len(mine):
            latest = mine[mine["read_at"] == mine["read_at"].max()]
            same_title = set(latest["title"]) == {group.get("title")}
            if same_title and sorted(zip(latest["member_id"], latest["member_title"])) == members:
                continue
        new_rows += [{"group_id": gid, "title": group.get("title"), "member_id": mid, "member_title": mtitle,
                      "read_at": read_at} for mid, mtitle in members]
    frame = pd.concat([stored, pd.DataFrame(new_rows, columns=schema.GROUPS.names)], ignore_index=True) if new_rows else stored
    return to_arrow(frame.sort_values(["group_id", "read_at", "member_id"], kind="stable"), schema.GROUPS)


def harvest(config: Config, root: Path, client: KoladaClient, *, refresh: bool = False,
            show_progress: bool = False, command: str = "fetch") -> HarvestResult:
    """Fetch everything the config asks for into the dataset under `root` (the caller holds the lock)."""
    return Harvest(config, root, client, refresh=refresh, show_progress=show_progress, command=command).run()
