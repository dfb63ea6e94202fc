"""`harvester compare`: from the stored dataset to every benchmark file, in one call.

The only module of the comparison that touches files: it reads the dataset with `store`, resolves
names offline against the stored `municipalities` table, lets `compare` compute and `render` lay
out, and writes each output atomically (a temporary file in the same folder, then `os.replace`),
so a reader or a Word document linked to a file never sees half of one.
"""
from __future__ import annotations

import datetime as dt
import io
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from . import compare, store
from .config import Config
from .names import RIKET, NotFound, match_municipality
from .render import build_document, indicator_title
from .render.charts import render_chart
from .render.html import render_html
from .render.markdown import render_markdown
from .render.xlsx import render_workbook

TABLES_DIR, CHARTS_DIR = "tables", "charts"


class ReportError(ValueError):
    """The dataset cannot answer the config yet; the message says what to run first."""


@dataclass(frozen=True)
class ReportResult:
    files: tuple[Path, ...]
    notes: tuple[str, ...]  # indicators shown without comparison, for the command's log


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _parquet(df: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), buffer, compression="zstd")
    return buffer.getvalue()


def _resolve(text: str, municipalities: pd.DataFrame, what: str, fetch: str) -> str:
    try:
        return match_municipality(text, municipalities.to_dict("records"))
    except NotFound as exc:
        reason = str(exc).rstrip(".")
        raise ReportError(f"{what}: {reason}{'' if reason.endswith('?') else '.'} Fix the config, then run {fetch}") from None


def _fetched(values: pd.DataFrame, kpi: str) -> dt.date | None:
    stamps = values.loc[values["kpi"] == kpi, "fetched_at"]
    return stamps.max().date() if stamps.notna().any() else None


def write_report(config: Config, root: Path, revised_since: dt.date | None = None) -> ReportResult:
    """Compute every indicator of `config` from the dataset under `root` and write the outputs there.

    Writes benchmark.parquet/.csv, peers.parquet, tables/<indicator>.md/.html, tables/benchmark.xlsx
    and charts/<indicator>.png (no chart for an indicator without any home value). With
    `revised_since`, the tables note every shown value Kolada revised on or after that date.
    Raises ReportError when the dataset is empty or does not know the configured municipalities.
    """
    root = Path(root)
    fetch = f"`harvester fetch --config {config.path} --output {root}`"
    municipalities = store.read_table(root, "municipalities")
    values = store.read_values(root, config.kpis)
    if municipalities.empty or values.empty:
        raise ReportError(f"no harvested values under {root} for the KPIs of {config.path}: run {fetch} first")
    home_id = _resolve(config.home, municipalities, "[home] municipality", fetch)
    extra_ids = [_resolve(m, municipalities, "[comparison] municipalities", fetch) for m in config.municipalities]
    titles = dict(zip(municipalities["id"], municipalities["title"]))
    home_title = titles[home_id]
    if not (values["municipality_id"] == home_id).any():
        raise ReportError(f"the dataset under {root} has no values for {home_title} ({home_id}): run {fetch} first")
    try:
        peers_set = compare.comparison_set(store.read_table(root, "groups"), config.groups, extra_ids, home_id, titles)
    except ValueError as exc:
        raise ReportError(f"{exc}: run {fetch} first") from None

    kpis = store.read_table(root, "kpis")
    kpi_titles = dict(zip(kpis["id"], kpis["title"]))
    revisions = store.read_table(root, "revisions")
    years = range(config.year_from, (config.year_to or int(values["period"].max())) + 1)
    riket_id = RIKET if config.riket else None

    written: list[Path] = []
    notes: list[str] = []
    benches, all_peers, docs = [], [], []
    for ind in config.indicators:
        peers = compare.peer_values(values, ind, home_id, peers_set.peer_ids, riket_id, years)
        peers["title"] = peers["municipality_id"].map(titles).fillna(peers["municipality_id"])
        bench = compare.benchmark(values, ind, home_id, peers_set.peer_ids, riket_id, years)
        unit = compare.unit_of(ind, kpi_titles.get(ind.kpi))
        decimals = compare.default_decimals(ind, peers["value"])
        revised = (compare.revised_values(revisions, peers, ind, revised_since) if revised_since
                   else revisions.iloc[0:0])
        doc = build_document(bench, peers, indicator=ind, home_title=home_title, comparison=peers_set, unit=unit,
                             decimals=decimals, riket=config.riket, revised=revised,
                             fetched=_fetched(values, ind.kpi))
        written.append(_write(root / TABLES_DIR / f"{ind.id}.md", render_markdown(doc).encode("utf-8")))
        written.append(_write(root / TABLES_DIR / f"{ind.id}.html", render_html(doc).encode("utf-8")))
        if compare.latest_year(bench) is None:
            notes.append(f"{ind.id}: no values for {home_title} ({ind.kpi}, gender {ind.gender}); table without "
                         "comparison, no chart")
        else:
            png = render_chart(bench, peers, title=indicator_title(ind, unit), home_title=home_title, unit=unit,
                               decimals=decimals, direction=ind.direction, target=ind.target, riket=config.riket)
            written.append(_write(root / CHARTS_DIR / f"{ind.id}.png", png))
        benches.append(bench.assign(unit=unit))
        all_peers.append(peers)
        docs.append(doc)

    benchmark = pd.concat(benches, ignore_index=True)
    written.append(_write(root / "benchmark.parquet", _parquet(benchmark)))
    written.append(_write(root / "benchmark.csv", benchmark.to_csv(index=False, lineterminator="\n").encode("utf-8")))
    written.append(_write(root / "peers.parquet", _parquet(pd.concat(all_peers, ignore_index=True))))
    written.append(_write(root / TABLES_DIR / "benchmark.xlsx", render_workbook(docs)))
    return ReportResult(files=tuple(written), notes=tuple(notes))
