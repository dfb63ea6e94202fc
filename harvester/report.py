"""`harvester compare`: from the stored dataset to every benchmark file, in one call.

The only module of the comparison that touches files: it reads the dataset once with `store`,
resolves names offline against the stored `municipalities` table, lets `compare` compute and
`render` lay out, and writes every output as one step: all files go to temporary names first, and
only when every one of them is written are they moved into place. A full disk or a read-only
folder therefore fails the compare and leaves the previous documents as they were. Files that an
earlier compare wrote for indicators no longer in the config are removed, and what has not changed
is not rewritten (both by the record `reuse` keeps beside the outputs).
"""
from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from . import compare, reuse, robustness, store, units
from .config import Config, Indicator, Target
from .fill import fill_notes, fill_values
from .names import RIKET, NotFound, match_municipality
from .outputfiles import sweep_temporaries, temporary_name
from .render.document import Document, Origin, build_document, chart_source, build_overview, indicator_title
from .render.reach import Reach, reach_words, widen
from .render.text import plain, spreadsheet_text
from .render.html import render_html, render_report_html
from .render.markdown import render_markdown
from .similar_report import appendices, group_ids
from .sources.registry import BY_NAME, SOURCES

if TYPE_CHECKING:
    from .render.charts import ChartRenderer

TABLES_DIR, CHARTS_DIR = "tables", "charts"
# pandas 3 keeps text in Arrow arrays, whose every filter, take and comparison of a few thousand rows pays
# Arrow's call overhead: the same `str` columns held as Python strings make the large compare's
# per-indicator work a third faster (8.4 -> 5.9 s for 168 indicators) and its documents the same.
STRINGS_AS_PYTHON = ("mode.string_storage", "python")
REPORT_DOCX, REPORT_HTML = "report.docx", "report.html"


class ReportError(ValueError):
    """The dataset cannot answer the config yet; the message says what to run first."""


@dataclass(frozen=True)
class ReportResult:
    files: tuple[Path, ...]
    notes: tuple[str, ...]  # indicators shown without comparison, for the command's log
    removed: tuple[str, ...] = ()  # files of indicators no longer in the config
    kept: int = 0  # files left as they were: nothing they show changed


def _resolve(text: str, municipalities: pd.DataFrame, what: str, fetch: str) -> str:
    try:
        return match_municipality(text, municipalities.to_dict("records"))
    except NotFound as exc:
        reason = str(exc).rstrip(".")
        raise ReportError(f"{what}: {reason}{'' if reason.endswith('?') else '.'} Fix the config, then run {fetch}") from None


def _changed(values: pd.DataFrame, kpi: str) -> dt.date | None:
    stamps = values.loc[values["kpi"] == kpi, "fetched_at"]
    return stamps.max().date() if stamps.notna().any() else None


@dataclass(frozen=True)
class Sourced:
    """One indicator's values with what the footnotes and units need to say about their source."""

    values: pd.DataFrame
    origin: Origin
    unit: str | None  # the source's own unit (SCB), None for Kolada (read from the KPI title)
    decimals: int | None
    checked: pd.Timestamp | None


def _sourced(root: Path, config: Config, ind: Indicator, described: pd.DataFrame, years: list[int],
             checked: dict[str, pd.Timestamp], titles: dict[str, str], as_of: dt.date | None = None) -> Sourced:
    """An indicator's values as stored (Kolada, SCB, a file) or computed from two others (a ratio), filled
    from another indicator (`fill`) where it has none."""
    if ind.fill is not None:
        return _filled(root, config, ind, described, years, checked, titles, as_of)
    if ind.ratio is None:
        values = store.read_values(root, [ind.series_id]) if as_of is None else store.values_as_of(root, as_of, [ind.series_id])
        row = described[described["kpi"] == ind.series_id]
        cited = BY_NAME[ind.source].cite(ind.series, row.iloc[0] if len(row) else None, years)
        return Sourced(values, Origin((ind.source,), cited.reference, cited.notes), cited.unit, cited.decimals,
                       checked.get(ind.series_id))
    parts = (config.indicator(ind.ratio.numerator), config.indicator(ind.ratio.denominator))
    both = [_sourced(root, config, part, described, years, checked, titles, as_of) for part in parts]
    result = compare.ratio_values(both[0].values, both[1].values, ind, parts)
    scale = f" × {ind.ratio.scale:,.10g}".replace(",", " ") if ind.ratio.scale != 1 else ""
    notes = list(dict.fromkeys(n for b in both for n in b.origin.notes))
    if len(result.zero_denominator):
        where = "; ".join(f"{titles.get(m, m)} {int(y)}" for m, y in result.zero_denominator.itertuples(index=False))
        notes.append(f"Kvoten saknas där nämnaren ({parts[1].label}) är noll: {where}.")
    reference = (f"kvot av {parts[0].label} ({both[0].origin.reference}) och {parts[1].label} "
                 f"({both[1].origin.reference}){scale}, egen beräkning")
    sources = tuple(dict.fromkeys(s for b in both for s in b.origin.sources))
    stamps = [b.checked for b in both if b.checked is not None]
    return Sourced(result.values, Origin(sources, reference, tuple(notes)), None, None,
                   min(stamps) if len(stamps) == len(both) else None)


def _filled(root: Path, config: Config, ind: Indicator, described: pd.DataFrame, years: list[int],
            checked: dict[str, pd.Timestamp], titles: dict[str, str], as_of: dt.date | None = None) -> Sourced:
    """The indicator's own values, with the `fill` indicator's where it has none, both cited in the notes."""
    part = config.indicator(ind.fill or "")
    mine, other = (_sourced(root, config, x, described, years, checked, titles, as_of)
                   for x in (replace(ind, fill=None), part))
    result = fill_values(mine.values, other.values, ind, part)
    notes = fill_notes(result, titles, mine.origin.label, other.origin.label, other.origin.reference)
    sources = (*mine.origin.sources, *(other.origin.sources if len(result.filled) else ()))
    origin = Origin(tuple(dict.fromkeys(sources)), mine.origin.reference, (*mine.origin.notes, *notes))
    return Sourced(result.values, origin, mine.unit, mine.decimals, mine.checked)


class Staged:
    """Outputs written to temporary names as soon as they are made, moved into place all together.

    Memory holds one output at a time, not all of them; and nothing replaces a previous document
    until every new one is written (a full disk fails the compare and keeps the old set).
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: dict[str, Path] = {}

    def tmp(self, relpath: str) -> Path:
        """A temporary path beside `relpath`, staged under that name (for writers that want a path)."""
        target = self.root / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        self.files[relpath] = temporary_name(target)
        return self.files[relpath]

    def put(self, relpath: str, data: bytes) -> None:
        store.write_durably(self.tmp(relpath), data)

    def put_text(self, relpath: str, parts: Iterable[str]) -> None:
        """A text file written part by part (UTF-8), never whole in memory."""
        with open(self.tmp(relpath), "w", encoding="utf-8") as fh:
            for part in parts:
                fh.write(part)
            fh.flush()
            os.fsync(fh.fileno())

    def commit(self, only: set[str] | None = None) -> list[Path]:
        """Move the staged files into place (only those in `only`, when given); the others are discarded."""
        chosen = [r for r in self.files if only is None or r in only]
        for relpath in chosen:
            os.replace(self.files[relpath], self.root / relpath)
        return [self.root / r for r in chosen]

    def discard(self) -> None:
        for tmp in self.files.values():
            tmp.unlink(missing_ok=True)


def _csv(df: pd.DataFrame) -> bytes:
    """The table for spreadsheets: its text cells never start a formula (labels and units are the user's or Kolada's)."""
    text = df.select_dtypes(include=["object", "string"]).columns
    safe = df.assign(**{c: df[c].map(lambda v: spreadsheet_text(v) if isinstance(v, str) else v) for c in text})
    return safe.to_csv(index=False, lineterminator="\n").encode("utf-8")


def _file_schema(schema: pa.Schema) -> pa.Schema:
    """The schema as analysts' files hold it: text as large_string, as pandas 3 writes its Arrow-held text,
    also where the compare held it as Python strings (STRINGS_AS_PYTHON), so the files' schema stays one."""
    return pa.schema([f.with_type(pa.large_string()) if f.type == pa.string() else f for f in schema],
                     metadata=schema.metadata)


def _parquet(df: pd.DataFrame) -> bytes:
    table = pa.Table.from_pandas(df, preserve_index=False)
    return store.parquet_bytes(table.cast(_file_schema(table.schema)))


def write_report(config: Config, root: Path, revised_since: dt.date | None = None,
                 today: dt.date | None = None, force: bool = False, as_of: dt.date | None = None) -> ReportResult:
    """Compute every indicator of `config` from the dataset under `root` and write the outputs there.

    Writes benchmark.parquet/.csv, peers.parquet, robustness.parquet, tables/<indicator>.md/.html, tables/overview.md/.html,
    tables/benchmark.xlsx (the overview first), charts/<indicator>.png (no chart for an indicator
    without any home value), report.docx and report.html. With `revised_since`, the tables note every
    shown value the source revised on or after that date. With `as_of`, the values are those the dataset
    held at the end of that day (`store.values_as_of`), every document says so, and the tables note
    the values revised since (unless `revised_since` says from when). Files whose inputs did not change
    are left as they are (`reuse`); `force` rewrites them all. Raises ReportError when the dataset is
    empty or does not know the configured municipalities, OSError when the files cannot be written.
    """
    root = Path(root)
    today = today or dt.date.today()
    if as_of is not None:
        try:
            store.check_as_of(root, as_of, today)  # before anything is rendered
        except store.AsOfError as exc:
            raise ReportError(f"{exc}; choose another --as-of or [report] as_of") from None
        revised_since = revised_since or as_of + dt.timedelta(days=1)
    sweep_temporaries(root, {root, root / TABLES_DIR, root / CHARTS_DIR})  # left by killed compares
    record = reuse.read_record(root)
    key = reuse.inputs_key(config, root, years=config.years(today), revised_since=revised_since, as_of=as_of)
    if not force and reuse.unchanged(root, record, key):
        return ReportResult(files=(), notes=record.notes, kept=len(record.files))
    from .render.charts import ChartRenderer  # matplotlib: half a second a nightly run with nothing new need not pay

    staged = Staged(root)
    # Chart workers are forked after the first chart, sharing what drawing it loaded (ChartRenderer).
    with ChartRenderer(expected=len(config.indicators)) as charts, pd.option_context(*STRINGS_AS_PYTHON):
        try:
            result = _compute_and_stage(config, root, revised_since, today, staged, charts, as_of)
            written = staged.commit(reuse.to_write(root, record, key, staged.files, force))
        finally:
            staged.discard()
    removed = reuse.write_record(root, key, staged.files, result)
    return ReportResult(files=tuple(written), notes=result, removed=tuple(removed),
                        kept=len(staged.files) - len(written))


@dataclass(frozen=True)
class Inputs:
    """What every indicator's comparison reads from the dataset besides its own values, read once."""

    home_id: str
    home_title: str
    titles: dict[str, str]  # municipality id → title
    sets: dict[str, compare.ComparisonSet]  # comparison key → its members
    kpi_titles: dict[str, str]
    revisions: pd.DataFrame
    described: pd.DataFrame  # the `series` table
    checked: dict[str, pd.Timestamp]
    years: tuple[int, ...]
    revised_since: dt.date | None
    as_of: dt.date | None
    dated: str  # "Värden enligt datasetet den …" for a report as of a date, else ""


@dataclass(frozen=True)
class Computed:
    """One indicator compared: what its own files, the overview and the report take from it."""

    indicator: Indicator
    origin: Origin
    bench: pd.DataFrame
    peers: pd.DataFrame
    doc: Document
    unit: str
    decimals: int
    ranked: bool
    stands: pd.DataFrame  # robustness: the home's position in each reasonable set
    stands_note: str
    latest: int | None  # the latest year the home and its set both have, None: no comparison
    reach: Reach  # how far the home's values of this indicator reach, per source
    home_seen: bool


def _read_inputs(config: Config, root: Path, revised_since: dt.date | None, today: dt.date,
                 as_of: dt.date | None, fetch: str) -> Inputs:
    municipalities = store.read_table(root, "municipalities")
    stored = set(store.stored_kpis(root))
    if municipalities.empty or not stored & set(config.series):
        raise ReportError(f"no harvested values under {root} for the KPIs of {config.path}: run {fetch} first")
    home_id = _resolve(config.home, municipalities, "[home] municipality", fetch)
    titles = dict(zip(municipalities["id"], municipalities["title"]))
    kpis = store.read_table(root, "kpis")
    return Inputs(home_id=home_id, home_title=titles[home_id], titles=titles,
                  sets=_comparison_sets(config, root, municipalities, home_id, titles, fetch),
                  kpi_titles=dict(zip(kpis["id"], kpis["title"])), revisions=store.read_table(root, "revisions"),
                  described=store.read_table(root, "series"),
                  checked=store.checked_at(root) if as_of is None else {},  # today's checks say nothing of that day
                  years=config.years(today), revised_since=revised_since, as_of=as_of,
                  dated=f"Värden enligt datasetet den {as_of:%Y-%m-%d}." if as_of else "")


def _compute(config: Config, root: Path, inputs: Inputs, ind: Indicator) -> Computed:
    """One indicator's comparison and its document; its values are read here and dropped with it."""
    years = inputs.years
    sourced = _sourced(root, config, ind, inputs.described, list(years), inputs.checked, inputs.titles, inputs.as_of)
    own, home_id = sourced.values, inputs.home_id
    spec = config.comparison_of(ind)
    peers_set, riket_id = inputs.sets[spec.key], RIKET if spec.riket else None
    unit = compare.unit_of(ind, inputs.kpi_titles.get(ind.series_id), sourced.unit)
    ranked = units.ranked(ind, unit, inputs.kpi_titles.get(ind.series_id))
    peers = compare.peer_values(own, ind, home_id, peers_set.peer_ids, riket_id, years, ranking=ranked)
    peers["title"] = peers["municipality_id"].map(inputs.titles).fillna(peers["municipality_id"])
    bench = compare.benchmark(own, ind, home_id, peers_set.peer_ids, riket_id, years, rows=peers, ranking=ranked)
    reach: Reach = {}
    _widen_reach(reach, own, ind, home_id, _months(config, ind))
    places = compare.default_decimals(ind, peers["value"], sourced.decimals)
    revised = (compare.revised_values(inputs.revisions, peers, ind, inputs.revised_since) if inputs.revised_since
               else inputs.revisions.iloc[0:0])
    last_check = sourced.checked
    doc = build_document(bench, peers, indicator=ind, home_title=inputs.home_title, comparison=peers_set, unit=unit,
                         decimals=places, riket=spec.riket, revised=revised,
                         checked=last_check.date() if last_check is not None else None,
                         changed=_changed(own, ind.series_id), origin=sourced.origin, ranked=ranked)
    stands = robustness.positions(own, ind, home_id, robustness.comparisons(peers_set, riket_id))
    sentence = robustness.sentence(stands, inputs.home_title, places)
    return Computed(indicator=ind, origin=sourced.origin, bench=bench, peers=peers,
                    doc=_with_note(_with_note(doc, sentence), inputs.dated), unit=unit, decimals=places, ranked=ranked,
                    stands=stands, stands_note=sentence.replace("Robusthet", ind.label, 1),
                    latest=compare.latest_year(bench), reach=reach,
                    home_seen=bool((own["municipality_id"] == home_id).any()))


def _compute_and_stage(config: Config, root: Path, revised_since: dt.date | None, today: dt.date, staged: Staged,
                       charts: ChartRenderer, as_of: dt.date | None = None) -> tuple[str, ...]:
    """Every output of the report, staged: each indicator computed (one's values in memory at a time) and its
    own files written, then the files of the whole report."""
    fetch = f"`harvester fetch --config {config.path} --output {root}`"
    inputs = _read_inputs(config, root, revised_since, today, as_of, fetch)
    notes: list[str] = []
    done: list[Computed] = []
    peers_file: pq.ParquetWriter | None = None
    try:
        for ind in config.indicators:
            c = _compute(config, root, inputs, ind)
            staged.put(f"{TABLES_DIR}/{ind.id}.md", render_markdown(c.doc).encode("utf-8"))
            staged.put(f"{TABLES_DIR}/{ind.id}.html", render_html(c.doc).encode("utf-8"))
            if c.latest is None:
                shown = "the set's values shown without it" if c.doc.tables else "table without comparison"
                notes.append(f"{ind.id}: no values for {inputs.home_title} ({ind.reference}, gender {ind.gender}); "
                             f"{shown}, no chart")
            else:
                spec = config.comparison_of(ind)
                charts.submit(ind.id, bench=c.bench, peers=c.peers, title=indicator_title(ind, c.unit),
                              home_title=inputs.home_title, unit=c.unit, decimals=c.decimals, direction=ind.direction,
                              target=ind.target if isinstance(ind.target, Target) else None,
                              riket=spec.riket, source=chart_source(ind, c.origin))
            table = pa.Table.from_pandas(c.peers, preserve_index=False)
            if peers_file is None:
                peers_file = pq.ParquetWriter(staged.tmp("peers.parquet"), _file_schema(table.schema), compression="zstd")
            peers_file.write_table(table.cast(peers_file.schema))  # one cast: to the file's schema
            done.append(replace(c, peers=pd.DataFrame(columns=c.peers.columns)))  # the peers are in peers.parquet now
    finally:
        if peers_file is not None:
            peers_file.close()
    if not any(c.home_seen for c in done):
        raise ReportError(f"the dataset under {root} has no values for {inputs.home_title} ({inputs.home_id}): "
                          f"run {fetch} first")
    _stage_report(config, root, inputs, today, staged, charts, done)
    return tuple(notes)


def _stage_report(config: Config, root: Path, inputs: Inputs, today: dt.date, staged: Staged,
                  charts: ChartRenderer, done: list[Computed]) -> None:
    """The files of the whole report: overview, workbook, benchmark table, charts, report.docx and report.html.
    What needs no chart first, while the chart workers finish."""
    sources = tuple(dict.fromkeys(s for c in done for s in c.origin.sources))
    reach: Reach = {}
    for c in done:
        for source, (year, month) in c.reach.items():
            widen(reach, source, year, month)
    benches = [c.bench.assign(unit=c.unit) for c in done]
    overview_years, overview_rows = compare.overview(benches, list(config.indicators), config.report_years)
    used = [inputs.sets[config.comparison_of(ind).key] for ind in config.indicators]
    overview = build_overview(overview_years, overview_rows, home_title=inputs.home_title, comparisons=used,
                              units=[c.unit for c in done], decimals=[c.decimals for c in done],
                              indicators=list(config.indicators), ranked=[c.ranked for c in done],
                              sources=sources, reach=reach_words(reach))
    for note in [*(c.stands_note for c in done), inputs.dated]:
        overview = _with_note(overview, note)
    docs = [c.doc for c in done]
    staged.put("robustness.parquet", _parquet(pd.concat([c.stands for c in done], ignore_index=True)))
    staged.put(f"{TABLES_DIR}/overview.md", render_markdown(overview).encode("utf-8"))
    staged.put(f"{TABLES_DIR}/overview.html", render_html(overview).encode("utf-8"))
    from .render.xlsx import render_workbook  # the renderers' libraries load only when something is rendered

    staged.put(f"{TABLES_DIR}/benchmark.xlsx", render_workbook(docs, overview))
    benchmark = pd.concat(benches, ignore_index=True)
    staged.put("benchmark.parquet", _parquet(benchmark))
    staged.put("benchmark.csv", _csv(benchmark))
    drawn = charts.results()
    for ind_id, png in drawn.items():
        staged.put(f"{CHARTS_DIR}/{ind_id}.png", png)
    title, subtitle = _title(inputs.home_title, compare.join_sv(list(dict.fromkeys(c.title for c in used))), reach,
                             today, sources)
    subtitle = f"{subtitle} {inputs.dated}".rstrip()
    sections = [*docs, *appendices(root, config.used_comparisons, inputs.home_id, inputs.titles, inputs.kpi_titles)]
    from .render.docx import render_docx

    staged.put(REPORT_DOCX, render_docx(title, subtitle, overview, sections, drawn))
    staged.put_text(REPORT_HTML, render_report_html(title, subtitle, overview, sections, drawn))


def _figures(sources: tuple[str, ...]) -> str:
    """What the figures are called, in each source's word ("nyckeltal" is Kolada's, SCB publishes
    "statistik"); "Värden" when no source has a word of its own (the author's files)."""
    nouns = [kind.noun for kind in SOURCES if kind.name in sources and kind.noun]
    return " och ".join(nouns).capitalize() if nouns else "Värden"


def _with_note(doc: Document, note: str) -> Document:
    """`doc` with one footnote more (none when `note` is empty), before the source line, which stays last."""
    if not note:
        return doc
    notes = list(doc.footnotes)
    at = len(notes) - 1 if notes and notes[-1].startswith("Källa:") else len(notes)
    return replace(doc, footnotes=(*notes[:at], note, *notes[at:]))


def _title(home_title: str, comparison: str, reach: Reach, today: dt.date,
           sources: tuple[str, ...]) -> tuple[str, str]:
    """The report's title line and the line under it: who, compared with whom, and how far each source's data reach.
    Plain text, since the names are Kolada's and a control character in one made the Word report unwritable."""
    return (plain(f"{home_title} jämfört med {comparison}"),
            plain(f"{_figures(sources)} från {Origin(sources).label} ({reach_words(reach) or 'inga värden'}), "
                  f"sammanställda {today:%Y-%m-%d}. Medianer, rang och skillnader: egen bearbetning."))


def _widen_reach(reach: Reach, values: pd.DataFrame, ind: Indicator, home_id: str, months: dict[str, int]) -> None:
    """Let `reach` cover the home's values of `ind`, per source of each row: a year filled from the
    author's file reaches the file's data, not Kolada's; a mixed ratio's row counts for both.
    `months`: the month standing for the year, per source with a monthly series here."""
    mine = values[(values["kpi"] == ind.series_id) & (values["gender"] == ind.gender)
                  & (values["municipality_id"] == home_id) & values["value"].notna()]
    for source, period in mine.groupby("source")["period"].max().items():
        for name in str(source).split("+"):
            widen(reach, name, int(period), months.get(name))


def _months(config: Config, ind: Indicator) -> dict[str, int]:
    """Per source, the month whose value stands for the year in a monthly series of `ind` (or of a ratio's part)."""
    parts = [ind] if ind.ratio is None else [config.indicator(ind.ratio.numerator),
                                             config.indicator(ind.ratio.denominator)]
    return {p.source: p.series.month for p in parts if p.series is not None and p.series.month}


def _comparison_sets(config: Config, root: Path, municipalities: pd.DataFrame, home_id: str, titles: dict[str, str],
                     fetch: str) -> dict[str, compare.ComparisonSet]:
    """Each comparison set some indicator uses, by key, with its members read from the dataset."""
    groups = store.read_table(root, "groups")
    sets = {}
    for spec in config.used_comparisons:
        extra_ids = [_resolve(m, municipalities, f"[{spec.section}] municipalities", fetch) for m in spec.municipalities]
        try:
            sets[spec.key] = compare.comparison_set(groups, [*spec.groups, *group_ids(spec)], extra_ids, home_id,
                                                    titles, spec.name)
        except ValueError as exc:
            raise ReportError(f"{exc}: run {fetch} first") from None
    return sets

