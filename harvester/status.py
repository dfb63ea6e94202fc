"""`harvester status` and `harvester changes`: what the dataset holds and what Kolada did to it.

The analyst's question behind `status` is "is a missing 2025 value late, or not due yet?", so each
KPI's newest stored period is set against Kolada's publication calendar from the KPI metadata, and
each SCB series against its table's last update and period span (the `series` table).
"""
from __future__ import annotations

import csv as csvlib
from datetime import date, datetime
from pathlib import Path
from typing import Any, TextIO

import pandas as pd
import pyarrow.parquet as pq

from . import store
from .config import Config
from .coverage import empty_for_home, empty_line, home_of
from .sources.registry import BY_NAME


def _local(stamp: pd.Timestamp) -> datetime:
    """A stored UTC time in the machine's time zone, as the logs give it (the reader's clock, with its offset)."""
    return stamp.to_pydatetime().astimezone()


def _day(value: Any) -> date | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).date()


def publication_note(newest: int | None, publ_period: str | None, prel: date | None, final: date | None,
                     today: date, fetched: date | None = None) -> str:
    """Say whether the next period is published, preliminary, or due, and whether we lag behind.

    `fetched` is the day of the last successful harvest: a period published before it but still
    missing is not ours to fetch, Kolada simply has no value for this municipality.
    """
    if publ_period is None or pd.isna(publ_period) or not str(publ_period).strip():
        return "no publication calendar in Kolada"  # 734 of 6 099 KPIs have none (U33401 among them)
    period = int(publ_period)
    if final and final <= today:
        released, state = final, f"{period} published {final}"
    elif prel and prel <= today:
        released, state = prel, f"{period} preliminary since {prel}, final due {final or '?'}"
    else:
        due = prel or final
        return f"{period} due {due or '(date not announced)'}" + ("" if newest is None else f"; newest stored {newest}")
    if newest is not None and newest >= period:
        return state
    if fetched is not None and fetched >= released:  # Kolada published the period, not this value
        return f"{period} due {released} by Kolada's calendar; no value for this municipality yet (newest {newest or '–'})"
    return state + f"; not in the dataset (newest stored {newest or '–'}): run fetch"


def newest_periods(values: pd.DataFrame, area: str | None = None) -> dict[str, int]:
    """Newest period with a real value per KPI (for one area if given)."""
    have = values[values["value"].notna()]
    if area is not None:
        have = have[have["municipality_id"] == area]
    return {str(k): int(v) for k, v in have.groupby("kpi")["period"].max().items()}


def series_note(described: dict[str, Any]) -> str:
    """A described series' state, in its source's words (when SCB last updated the table, a file's fingerprint)."""
    kind = BY_NAME.get(str(described.get("source")))
    return kind.note(described) if kind is not None else f"source {described.get('source')!r}"


def status_table(kpis: pd.DataFrame, newest: dict[str, int], today: date,
                 labels: dict[str, str] | None = None, fetched: date | None = None,
                 series: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per stored series (or configured indicator): newest stored period and the publication note."""
    rows = []
    meta = {str(r["id"]): r for r in kpis.to_dict("records")}
    described = {str(r["kpi"]): r for r in series.to_dict("records")} if series is not None else {}
    for kpi, label in (labels or {**{k: meta[k]["title"] for k in meta},
                                  **{k: d["title"] for k, d in described.items()}}).items():
        m = meta.get(kpi, {})
        note = (series_note(described[kpi]) if kpi in described else
                publication_note(newest.get(kpi), m.get("publ_period"), _day(m.get("prel_publication_date")),
                                 _day(m.get("publication_date")), today, fetched))
        rows.append({"kpi": kpi, "label": label, "newest": newest.get(kpi), "publication": note})
    return pd.DataFrame(rows, columns=["kpi", "label", "newest", "publication"])


def dataset_size(root: Path) -> tuple[int, int, int]:
    """(bytes, files, value rows) of the Parquet files under root, read from footers only."""
    files = [p for p in Path(root).rglob("*.parquet") if store.STAGING not in p.parts]
    rows = sum(pq.ParquetFile(p).metadata.num_rows for p in files if p.parent.name == store.VALUES_DIR)
    return sum(p.stat().st_size for p in files), len(files), rows


def datasets_below(root: Path) -> list[str]:
    """Plain `harvester status` in the wrong folder: the datasets one level down, and how to ask for each."""
    lines = []
    for folder in sorted(p for p in Path(root).glob("*") if store.table_path(p, "runs").exists()):
        configs = sorted(str(c) for c in Path("config").rglob(f"{folder.name}.toml"))
        lines.append(f"harvester status --config {configs[0]}" if configs else f"harvester status --output {folder}")
    return ["datasets below it; ask for one of them:", *lines] if lines else []


def print_status(root: Path, config: Config | None, out: TextIO, today: date | None = None) -> None:
    today = today or date.today()
    runs = store.read_table(root, "runs")
    if runs.empty:
        out.write(f"{root}: no harvest has run here yet\n")
        out.write("".join(f"  {line}\n" for line in datasets_below(root)))
        return
    last = runs.iloc[-1]
    ok = runs[runs["outcome"].isin(["success", "unchanged"])]
    out.write(f"last run     {last['run_id']} ({last['command']}): {last['outcome']}, "
              f"{_local(last['started_at']):%Y-%m-%d %H:%M} → {_local(last['finished_at']):%H:%M %z}\n")
    out.write(f"             {last['message']}\n")
    if len(ok):
        out.write(f"last success {_local(ok.iloc[-1]['started_at']):%Y-%m-%d %H:%M %z}\n")
    size, files, rows = dataset_size(root)
    shown = f"{size / 1e6:.1f} MB" if size >= 1e6 else f"{size / 1e3:.0f} kB"
    out.write(f"dataset      {shown} in {files} Parquet files, {rows} value rows\n\n")

    values = store.read_values(root)
    kpis = store.read_table(root, "kpis")
    labels, home = None, None
    if config is not None:
        labels = {ind.series_id: ind.label for ind in config.indicators if ind.ratio is None}  # ratios are not stored
        home = home_of(root, config)
    area = home[0] if home else None
    fetched = ok.iloc[-1]["started_at"].date() if len(ok) else None
    table = status_table(kpis, newest_periods(values, area), today, labels, fetched, store.read_table(root, "series"))
    who = f" for {area}" if area else ""
    width = max([8, *(len(k) for k in table["kpi"])])
    out.write(f"{'series':<{width}} {'newest' + who:<14} publication (Kolada's calendar) or SCB table update  label\n")
    for row in table.itertuples():
        newest = "–" if row.newest is None or pd.isna(row.newest) else str(int(row.newest))
        out.write(f"{row.kpi:<{width}} {newest:<14} {row.publication}  {row.label}\n")
    empty = empty_for_home(root, config, home[0]) if config is not None and home is not None else []
    if empty:
        out.write("\n" + "".join(f"empty: {empty_line(ind, home[1])}\n" for ind in empty))


def print_changes(root: Path, since: date | None, out: TextIO, csv: bool = False) -> None:
    revisions = store.read_table(root, "revisions")
    if since is not None:
        revisions = revisions[revisions["detected_at"] >= pd.Timestamp(since, tz="UTC")]
    names = dict(store.read_table(root, "municipalities")[["id", "title"]].itertuples(index=False))
    revisions = revisions.assign(municipality=revisions["municipality_id"].map(names))
    columns = ["detected_at", "kpi", "municipality_id", "municipality", "period", "gender", "old_value", "new_value", "change"]
    if csv:
        writer = csvlib.writer(out)
        writer.writerow(columns)
        writer.writerows(revisions[columns].itertuples(index=False))
        return
    if revisions.empty:
        out.write("no revisions recorded" + (f" since {since}" if since else "") + "\n")
        return
    for r in revisions.itertuples():
        new = "withdrawn" if r.change == "removed" else _num(r.new_value)
        out.write(f"{r.detected_at:%Y-%m-%d} {r.kpi} {r.municipality_id} {r.municipality or ''} {r.period} {r.gender}: "
                  f"{_num(r.old_value)} → {new}\n")


def _num(value: Any) -> str:
    return "–" if value is None or pd.isna(value) else f"{value:g}"
