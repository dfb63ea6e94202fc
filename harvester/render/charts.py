"""One PNG per indicator, sized for a Word page: where the home municipality stands, and its trend.

Left: the latest year as sorted bars, best on top, the home municipality in a colour of its own,
with the peer median, Riket and the target as lines. Right: home, peer median with its Q1–Q3 band
and Riket over the years, the target marked. Axes start at zero so bar lengths are honest, and
every number on the figure is Swedish ("1 000", "4,5"). A bare `Figure` renders with Agg and
touches no pyplot state, so charts can be drawn on a server and in parallel tests.
"""
from __future__ import annotations

import gc
import io
import multiprocessing
import os
import threading
from concurrent.futures import Future, ProcessPoolExecutor

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from ..compare import HOME, PEER
from ..config import Target
from .document import BIG_GROUP, latest_order
from .numbers import format_number, format_plain
from .text import chart_text

CM = 1 / 2.54
MAX_YEAR_LABELS = 5  # four-digit years at 7 pt on a half-width panel: more would touch
WIDTH_CM, MIN_HEIGHT_CM, DPI = 16.0, 9.0, 160  # 1 000 pixels across 16 cm: sharp in Word and in print
HOME_COLOUR, PEER_COLOUR = "#d95f02", "#a6bddb"
MEDIAN_COLOUR, RIKET_COLOUR, TARGET_COLOUR = "#08519c", "#525252", "#238b45"
RIKET_OFF_SCALE = 10  # Riket above this many times the largest municipal value (a count): not drawn
# Panel titles sit at the top edge, where matplotlib would place them anyway (no axis is drawn above a
# panel): a fixed place spares it measuring every tick label of the panel on each draw to check.
TITLE_Y = 1.0


def _swedish_axis() -> FuncFormatter:
    """A new formatter per axis: matplotlib ties a formatter to the one axis it is set on."""
    return FuncFormatter(lambda x, _pos: format_plain(x, 2))


def _span(*series: object, room: float) -> tuple[float, float]:
    """Axis limits that include zero (honest bar lengths) and every value, with `room` to spare."""
    values = pd.concat([pd.Series(s, dtype="float64") for s in series]).dropna()
    low, high = min(0.0, values.min()), max(0.0, values.max())
    return low * room, high * room


def _reference_lines(line, latest: pd.Series, target: Target | None, riket: bool) -> None:  # type: ignore[no-untyped-def]
    """The median, Riket and the target across the latest-year panel (`line`: the axis' axvline or axhline)."""
    if pd.notna(latest["peer_median"]):
        line(latest["peer_median"], color=MEDIAN_COLOUR, linestyle="--", linewidth=1)
    if riket and pd.notna(latest["riket"]):
        line(latest["riket"], color=RIKET_COLOUR, linestyle=":", linewidth=1.2)
    if target is not None:
        line(target.value, color=TARGET_COLOUR, linestyle="-.", linewidth=1)


def _bars(ax, year: pd.DataFrame, latest: pd.Series, *, direction: str, decimals: int, unit: str,
          target: Target | None, riket: bool) -> list[str]:
    """Draw the latest-year bars; return the names of peers without a value (for a note)."""
    ordered = latest_order(year, direction)
    shown = ordered[ordered["value"].notna()]
    positions = range(len(shown))
    colours = [HOME_COLOUR if role == HOME else PEER_COLOUR for role in shown["role"]]
    ax.barh(list(positions), shown["value"], color=colours, height=0.7)
    ax.set_yticks(list(positions), labels=[chart_text(t) for t in shown["title"]], fontsize=7)
    for label, role in zip(ax.get_yticklabels(), shown["role"]):
        if role == HOME:
            label.set_fontweight("bold")
    ax.set_ylim(max(len(shown), 6) - 0.5, -0.5)  # best on top; a few bars stay bars, not blocks
    # Values in a column at the right edge, where no bar (≤ 85 % of the axis) or line can cross them.
    edge = ax.get_yaxis_transform()
    for y, value, role in zip(positions, shown["value"], shown["role"]):
        ax.text(1.0, y, format_number(value, decimals), transform=edge, va="center", ha="right", fontsize=6.5,
                fontweight="bold" if role == HOME else "normal",
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.6})  # a grid line never runs through
    _reference_lines(ax.axvline, latest, target, riket)
    ax.set_xlim(*_span(shown["value"], [latest["peer_median"], latest["riket"] if riket else None,
                                         target.value if target else None], room=1.18))
    ax.xaxis.set_major_formatter(_swedish_axis())
    ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
    ax.set_xlabel(unit, fontsize=7)
    ax.set_title(f"{int(latest['period'])}", fontsize=8, loc="left", y=TITLE_Y)
    order = {"lower": "bäst överst, lägre är bättre", "higher": "bäst överst, högre är bättre"}
    ax.set_title(order.get(direction, "högst överst"), fontsize=6.5, loc="right", color="#525252", y=TITLE_Y)
    return [chart_text(t) for t in ordered.loc[ordered["value"].isna() & (ordered["role"] == PEER), "title"]]


def _stems(x: np.ndarray, heights: np.ndarray, colours: list[str], width: float) -> LineCollection:
    """Vertical lines from 0 to each height, as `Axes.vlines` draws them, built from a plain array: vlines
    goes through masked arrays, a Path per line from a masked slice, a third of a big chart's setting up.
    The limits are set by the chart itself, so nothing needs the data limits vlines would widen."""
    segments = np.zeros((len(x), 2, 2))
    segments[:, :, 0] = np.asarray(x, dtype="float64")[:, None]
    segments[:, 1, 1] = heights
    return LineCollection(segments, colors=colours, linewidths=width)


def _distribution(ax, year: pd.DataFrame, latest: pd.Series, *, direction: str, decimals: int, unit: str,
                  target: Target | None, riket: bool) -> list[str]:
    """A big group's latest year: every municipality a thin bar in rank order, the quartile band and
    median behind them, names only for the home municipality and the two ends."""
    ordered = latest_order(year, direction)
    shown = ordered[ordered["value"].notna()].reset_index(drop=True)
    colours = [HOME_COLOUR if role == HOME else PEER_COLOUR for role in shown["role"]]
    # One LineCollection of thin bars: 290 rectangles would cost a patch each to lay out and draw.
    value = shown["value"].to_numpy(dtype="float64")
    ax.add_collection(_stems(np.arange(len(shown)), value, colours, 1.1), autolim=False)
    home_at = np.flatnonzero(shown["role"].to_numpy(dtype=object) == HOME)
    ax.add_collection(_stems(home_at, value[home_at], [HOME_COLOUR], 2.5), autolim=False)
    if pd.notna(latest["peer_q1"]):
        ax.axhspan(latest["peer_q1"], latest["peer_q3"], color=MEDIAN_COLOUR, alpha=0.08, linewidth=0)
    _reference_lines(ax.axhline, latest, target, riket)
    named = {0, len(shown) - 1} | set(shown.index[shown["role"] == HOME])
    for i in sorted(named):
        row = shown.loc[i]
        home = row["role"] == HOME
        ax.annotate(f"{chart_text(row['title'])} {format_number(row['value'], decimals)}", (i, row["value"]),
                    textcoords="offset points", xytext=(0, 4 if home else 2), ha="center" if 0 < i < len(shown) - 1
                    else ("left" if i == 0 else "right"), fontsize=6.5 if home else 6,
                    fontweight="bold" if home else "normal", color=HOME_COLOUR if home else "#525252")
    ax.set_xticks([])
    ax.set_xlim(-1, len(shown))
    ax.set_ylim(*_span(shown["value"], [latest["peer_median"], latest["riket"] if riket else None,
                                         target.value if target else None], room=1.15))
    ax.yaxis.set_major_formatter(_swedish_axis())
    ax.set_ylabel(unit, fontsize=7)
    ax.set_xlabel(f"{len(shown)} kommuner i rangordning", fontsize=7)
    ax.set_title(f"{int(latest['period'])}", fontsize=8, loc="left", y=TITLE_Y)
    order = {"lower": "bäst till vänster, lägre är bättre", "higher": "bäst till vänster, högre är bättre"}
    ax.set_title(order.get(direction, "högst till vänster"), fontsize=6.5, loc="right", color="#525252", y=TITLE_Y)
    return [chart_text(t) for t in ordered.loc[ordered["value"].isna() & (ordered["role"] == PEER), "title"]]


def year_ticks(first: int, last: int, target_year: int | None = None) -> list[int]:
    """Labelled years: the latest always, then every step-th back, and a later target year.

    The step comes from the whole axis, target included: with data 2020–2022 and a target in 2040
    the axis spans 21 years, and three adjacent labels would run together ("202020212022").
    """
    end = max(last, target_year) if target_year is not None else last
    step = -(-(end - first + 1) // MAX_YEAR_LABELS)
    ticks = list(range(last, first - 1, -step))[::-1]
    if target_year is not None and target_year - last >= step:  # closer, "Mål <year>" at the star says it
        ticks.append(target_year)
    return ticks


def _series(ax, bench: pd.DataFrame, *, unit: str, target: Target | None, riket: bool) -> None:
    years = bench["period"]
    ax.fill_between(years, bench["peer_q1"], bench["peer_q3"], color=PEER_COLOUR, alpha=0.45, linewidth=0)
    # Small markers, so a year standing alone between gaps still shows.
    ax.plot(years, bench["peer_median"], color=MEDIAN_COLOUR, linestyle="--", linewidth=1.2, marker="o", markersize=1.5)
    if riket:
        ax.plot(years, bench["riket"], color=RIKET_COLOUR, linestyle=":", linewidth=1.4, marker="o", markersize=1.5)
    ax.plot(years, bench["home_value"], color=HOME_COLOUR, marker="o", markersize=3, linewidth=1.8)
    if target is not None:
        ax.plot([target.year], [target.value], marker="*", markersize=9, color=TARGET_COLOUR, linestyle="none")
        ax.annotate(f"Mål {target.year}", (target.year, target.value), textcoords="offset points", xytext=(0, 6),
                    ha="center", fontsize=6.5, color=TARGET_COLOUR)
    ax.set_ylim(*_span(bench["peer_q1"], bench["peer_q3"], bench["home_value"], bench["riket"] if riket else [],
                       [target.value] if target else [], room=1.12))
    first, last = int(years.min()), int(years.max())
    ticks = year_ticks(first, last, target.year if target is not None else None)
    ax.set_xticks(ticks)
    ax.set_xticklabels([str(t) for t in ticks])  # whole years, never "2 020" or "2020.5"
    ax.set_xlim(first - 0.6, ticks[-1] + (1.4 if ticks[-1] > last else 0.6))  # room for "Mål <year>"
    ax.yaxis.set_major_formatter(_swedish_axis())
    ax.set_ylabel(unit, fontsize=7)
    ax.set_title(f"{years.min()}–{years.max()}", fontsize=8, loc="left", y=TITLE_Y)


def _riket_off_scale(bench: pd.DataFrame) -> bool:
    """Riket as a count (all of Sweden's unemployed, population) would flatten every municipality to zero."""
    local = pd.concat([bench["home_value"], bench["peer_max"]]).abs().max()
    return bool(pd.notna(local) and local > 0 and bench["riket"].abs().max() > RIKET_OFF_SCALE * local)


def drawn_peers(bench: pd.DataFrame, peers: pd.DataFrame) -> pd.DataFrame:
    """The rows of `peers` a chart draws: the home and its peers in the latest year (`bench`'s).
    A chart needs no other year's, so a worker is sent these alone."""
    latest = bench.loc[bench["is_latest"], "period"].iloc[0]
    return peers[(peers["period"] == latest) & peers["role"].isin([HOME, PEER])]


class _Reused(threading.local):
    """A big group's figure, its two panels and its canvas, kept from one chart to the next (one
    set per thread: a figure is not thread-safe). Making a figure and its axes, and their ticks on
    the first draw, was a fifth of a chart's time, and measuring the same texts again (tick
    labels, the legend) for every new renderer another sixth. What a chart adds is taken away
    before the next; what every big chart sets alike (margins, spines, grid, tick sizes) stays,
    and what differs (limits, ticks, formatters, labels, titles) each chart sets again, so a
    chart's pixels do not depend on the one before (tests/test_render.py checks)."""

    figure: tuple[Figure, Axes, Axes] | None = None


_reused = _Reused()


def _big_figure() -> tuple[Figure, Axes, Axes]:
    """The figure of a big group's chart, empty of the last chart's data, titles and notes."""
    if _reused.figure is None:
        fig = Figure(figsize=(WIDTH_CM * CM, MIN_HEIGHT_CM * CM), dpi=DPI)
        FigureCanvasAgg(fig)  # its own canvas keeps one renderer, and with it the measured texts, between charts
        fig.subplots_adjust(left=1.5 / WIDTH_CM, right=1 - 0.3 / WIDTH_CM, top=1 - 1.3 / MIN_HEIGHT_CM,
                            bottom=2.6 / MIN_HEIGHT_CM, wspace=0.28)
        left, right = fig.subplots(1, 2, width_ratios=[1.15, 1])
        _reused.figure = fig, left, right
        return _reused.figure
    fig, left, right = _reused.figure
    for ax in (left, right):
        for artist in [*ax.lines, *ax.collections, *ax.patches, *ax.texts]:
            artist.remove()
    for artist in [*fig.legends, *fig.texts]:
        artist.remove()
    return fig, left, right


def render_chart(bench: pd.DataFrame, peers: pd.DataFrame, *, title: str, home_title: str, unit: str,
                 decimals: int, direction: str, target: Target | None, riket: bool, source: str) -> bytes:
    """The PNG bytes of one indicator's chart; `bench` must have a latest year (a home value).

    `peers` is `compare.peer_values` with a `title` column; `title` names the indicator on top;
    `source` is the attribution line under it.
    """
    off_scale = riket and _riket_off_scale(bench)
    riket = riket and not off_scale
    unit = chart_text(unit)  # a config's or a KPI title's `$\frac{1}{$` is text on the axes, not mathtext
    latest = bench[bench["is_latest"]].iloc[0]
    year = drawn_peers(bench, peers)
    big = len(year) - 1 > BIG_GROUP
    height = MIN_HEIGHT_CM if big else max(MIN_HEIGHT_CM, 3.6 + 0.3 * len(year))
    # A big group's panels carry no names to fit, so fixed margins do: no text measured again and
    # again, which is most of a chart's time when a compare draws 168 of them.
    if big:
        fig, left, right = _big_figure()
        key = None
    else:  # the legend in a row of its own, so the layout engine keeps it off the source line
        fig = Figure(figsize=(WIDTH_CM * CM, height * CM), dpi=DPI, layout="constrained")
        footer = 0.45 / height
        fig.get_layout_engine().set(rect=(0, footer, 1, 1 - footer))  # (left, bottom, width, height)
        grid = fig.add_gridspec(2, 2, width_ratios=[1.15, 1], height_ratios=[height - 2.6, 1.0])
        left, right, key = fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[0, 1]), fig.add_subplot(grid[1, :])
        key.axis("off")
    draw = _distribution if big else _bars
    missing = draw(left, year, latest, direction=direction, decimals=decimals, unit=unit, target=target, riket=riket)
    _series(right, bench, unit=unit, target=target, riket=riket)
    for ax in (left, right):
        ax.tick_params(labelsize=7)
        ax.spines[["top", "right"]].set_visible(False)
        ax.grid(axis="x" if ax is left else "y", color="#e0e0e0", linewidth=0.6)
        ax.set_axisbelow(True)
    has = {name: bool(bench[name].notna().any()) for name in ("peer_median", "peer_q1", "riket")}
    handles = [Line2D([], [], color=HOME_COLOUR, marker="o", markersize=3, linewidth=1.8, label=chart_text(home_title))]
    handles += [Patch(color=PEER_COLOUR, label="Jämförelsekommun")] if year["value"].notna().sum() > 1 else []
    handles += [Line2D([], [], color=MEDIAN_COLOUR, linestyle="--", label="Median jämförelsegrupp")] if has["peer_median"] else []
    handles += [Patch(color=PEER_COLOUR, alpha=0.45, linewidth=0, label="Mittersta hälften (Q1–Q3)")] if has["peer_q1"] else []
    handles += [Line2D([], [], color=RIKET_COLOUR, linestyle=":", linewidth=1.4, label="Riket")] if riket and has["riket"] else []
    handles += [Line2D([], [], color=TARGET_COLOUR, linestyle="-.", marker="*", label=f"Mål {target.year}")] if target else []
    columns = -(-len(handles) // 2)
    if key is None:
        fig.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 0.45 / height), ncols=columns,
                   fontsize=6.5, frameon=False)
    else:
        key.legend(handles=handles, loc="center", ncols=columns, fontsize=6.5, frameon=False)
    fig.suptitle(chart_text(title), fontsize=8.5, x=0.01, ha="left", fontweight="bold")
    if len(missing) > 8:  # a big group: a count, not a list nobody can read under a chart
        missing = [f"{len(missing)} kommuner"]
    note = source + (f" Saknar värde {int(latest['period'])}: {', '.join(missing)}." if missing else "")
    note += " Riket visas inte: ett antal för hela landet, utanför skalan." if off_scale else ""
    fig.text(0.01, 0.002, note, fontsize=5.5, color="#525252", ha="left", va="bottom")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, pil_kwargs={"compress_level": 3})
    return buffer.getvalue()


def _render_job(job: dict) -> bytes:  # type: ignore[type-arg]
    return render_chart(**job)


WORKERS_VARIABLE = "HARVESTER_CHART_WORKERS"  # processes drawing charts; default: the CPUs, at most 4


class ChartRenderer:
    """Draws charts while the caller goes on computing: in worker processes when there are many.

    matplotlib draws in one thread per process, so on a 2-core machine two workers let charts be
    drawn while the next indicators are computed. The first chart is drawn here and the workers are
    forked right after it, so they share with this process not only the imported libraries but
    what drawing a chart loads once (fonts, the Agg canvas, cached text sizes) instead of loading
    their own; with `expected` charts below `PARALLEL_FROM`, or one worker, every chart is drawn
    here, without any process start-up.
    """

    PARALLEL_FROM = 8

    def __init__(self, expected: int, workers: int | None = None) -> None:
        workers = workers or int(os.environ.get(WORKERS_VARIABLE) or 0) or min(os.cpu_count() or 1, 4)
        self.workers = workers if expected >= self.PARALLEL_FROM and workers > 1 else 0  # 0: draw here
        self.pool: ProcessPoolExecutor | None = None
        self.pending: dict[str, Future[bytes] | bytes] = {}

    def submit(self, key: str, **job: object) -> None:
        """Draw `render_chart(**job)` under `key`.

        A worker is sent the latest year's peers only (`drawn_peers`): every year's are 23 times
        as many rows to pickle here and unpickle there, and a job waiting for a worker keeps its
        frames alive in this process."""
        if self.pool is None:
            self.pending[key] = render_chart(**job)  # type: ignore[arg-type]
            if self.workers:
                self._fork()
            return
        job["peers"] = drawn_peers(job["bench"], job["peers"])  # type: ignore[arg-type]
        self.pending[key] = self.pool.submit(_render_job, job)

    def _fork(self) -> None:
        gc.freeze()  # keep the shared objects' pages shared: the collector would write to every one of them
        self.pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=multiprocessing.get_context("fork"))
        self.pool.submit(int)  # a fork pool starts all its workers at its first job: now, with this memory

    def results(self) -> dict[str, bytes]:
        """Every chart by key, in the order submitted (waits for the workers).

        The workers are let go here, not when the renderer is closed: the Word and HTML reports
        are written after this, and the workers' memory need not add to theirs."""
        drawn = {key: done.result() if isinstance(done, Future) else done for key, done in self.pending.items()}
        self.close()
        return drawn

    def close(self) -> None:
        """End the worker processes (charts not yet drawn are cancelled); any later chart is drawn here."""
        self.workers = 0
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)
            self.pool = None

    def __enter__(self) -> "ChartRenderer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
