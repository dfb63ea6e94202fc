"""One PNG per indicator, sized for a Word page: where the home municipality stands, and its trend.

Left: the latest year as sorted bars, best on top, the home municipality in a colour of its own,
with the peer median, Riket and the target as lines. Right: home, peer median with its Q1–Q3 band
and Riket over the years, the target marked. Axes start at zero so bar lengths are honest, and
every number on the figure is Swedish ("1 000", "4,5"). A bare `Figure` renders with Agg and
touches no pyplot state, so charts can be drawn on a server and in parallel tests.
"""
from __future__ import annotations

import io
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from ..compare import HOME, PEER
from ..config import Target
from . import latest_order
from .numbers import format_number, format_plain
from .text import chart_text

CM = 1 / 2.54
MAX_YEAR_LABELS = 5  # four-digit years at 7 pt on a half-width panel: more would touch
BIG_GROUP = 30  # above this many peers, the latest year is drawn as a distribution without every name
WIDTH_CM, MIN_HEIGHT_CM, DPI = 16.0, 9.0, 200
HOME_COLOUR, PEER_COLOUR = "#d95f02", "#a6bddb"
MEDIAN_COLOUR, RIKET_COLOUR, TARGET_COLOUR = "#08519c", "#525252", "#238b45"
FOOTER = "Källa: Kolada (RKA); median, kvartiler och rang: egen bearbetning."


def _swedish_axis() -> FuncFormatter:
    """A new formatter per axis: matplotlib ties a formatter to the one axis it is set on."""
    return FuncFormatter(lambda x, _pos: format_plain(x, 2))


def _span(*series: object, room: float) -> tuple[float, float]:
    """Axis limits that include zero (honest bar lengths) and every value, with `room` to spare."""
    values = pd.concat([pd.Series(s, dtype="float64") for s in series]).dropna()
    low, high = min(0.0, values.min()), max(0.0, values.max())
    return low * room, high * room


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
                fontweight="bold" if role == HOME else "normal")
    if pd.notna(latest["peer_median"]):
        ax.axvline(latest["peer_median"], color=MEDIAN_COLOUR, linestyle="--", linewidth=1)
    if riket and pd.notna(latest["riket"]):
        ax.axvline(latest["riket"], color=RIKET_COLOUR, linestyle=":", linewidth=1.2)
    if target is not None:
        ax.axvline(target.value, color=TARGET_COLOUR, linestyle="-.", linewidth=1)
    ax.set_xlim(*_span(shown["value"], [latest["peer_median"], latest["riket"] if riket else None,
                                         target.value if target else None], room=1.18))
    ax.xaxis.set_major_formatter(_swedish_axis())
    ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
    ax.set_xlabel(unit, fontsize=7)
    ax.set_title(f"{int(latest['period'])}", fontsize=8, loc="left")
    order = {"lower": "bäst överst, lägre är bättre", "higher": "bäst överst, högre är bättre"}
    ax.set_title(order.get(direction, "högst överst"), fontsize=6.5, loc="right", color="#525252")
    return [chart_text(t) for t in ordered.loc[ordered["value"].isna() & (ordered["role"] == PEER), "title"]]


def _distribution(ax, year: pd.DataFrame, latest: pd.Series, *, direction: str, decimals: int, unit: str,
                  target: Target | None, riket: bool) -> list[str]:
    """A big group's latest year: every municipality a thin bar in rank order, the quartile band and
    median behind them, names only for the home municipality and the two ends."""
    ordered = latest_order(year, direction)
    shown = ordered[ordered["value"].notna()].reset_index(drop=True)
    colours = [HOME_COLOUR if role == HOME else PEER_COLOUR for role in shown["role"]]
    ax.bar(range(len(shown)), shown["value"], width=0.85, color=colours, linewidth=0)
    if pd.notna(latest["peer_q1"]):
        ax.axhspan(latest["peer_q1"], latest["peer_q3"], color=MEDIAN_COLOUR, alpha=0.08, linewidth=0)
    if pd.notna(latest["peer_median"]):
        ax.axhline(latest["peer_median"], color=MEDIAN_COLOUR, linestyle="--", linewidth=1)
    if riket and pd.notna(latest["riket"]):
        ax.axhline(latest["riket"], color=RIKET_COLOUR, linestyle=":", linewidth=1.2)
    if target is not None:
        ax.axhline(target.value, color=TARGET_COLOUR, linestyle="-.", linewidth=1)
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
    ax.set_title(f"{int(latest['period'])}", fontsize=8, loc="left")
    order = {"lower": "bäst till vänster, lägre är bättre", "higher": "bäst till vänster, högre är bättre"}
    ax.set_title(order.get(direction, "högst till vänster"), fontsize=6.5, loc="right", color="#525252")
    return [chart_text(t) for t in ordered.loc[ordered["value"].isna() & (ordered["role"] == PEER), "title"]]


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
    step = -(-(last - first + 1) // MAX_YEAR_LABELS)  # the latest year always labelled
    ticks = list(range(last, first - 1, -step))[::-1]
    if target is not None and target.year - last >= step:  # closer, "Mål <year>" at the star says it
        ticks.append(target.year)
    ax.set_xticks(ticks)
    ax.set_xlim(first - 0.6, ticks[-1] + (1.4 if ticks[-1] > last else 0.6))  # room for "Mål <year>"
    ax.yaxis.set_major_formatter(_swedish_axis())
    ax.set_ylabel(unit, fontsize=7)
    ax.set_title(f"{years.min()}–{years.max()}", fontsize=8, loc="left")


def render_chart(bench: pd.DataFrame, peers: pd.DataFrame, *, title: str, home_title: str, unit: str,
                 decimals: int, direction: str, target: Target | None, riket: bool) -> bytes:
    """The PNG bytes of one indicator's chart; `bench` must have a latest year (a home value).

    `peers` is `compare.peer_values` with a `title` column; `title` names the indicator on top.
    """
    latest = bench[bench["is_latest"]].iloc[0]
    year = peers[(peers["period"] == latest["period"]) & peers["role"].isin([HOME, PEER])]
    big = len(year) - 1 > BIG_GROUP
    height = MIN_HEIGHT_CM if big else max(MIN_HEIGHT_CM, 3.6 + 0.3 * len(year))
    fig = Figure(figsize=(WIDTH_CM * CM, height * CM), dpi=DPI, layout="constrained")
    fig.get_layout_engine().set(rect=(0, 0.3 / height, 1, 1 - 0.3 / height))  # room for the source line
    left, right = fig.subplots(1, 2, width_ratios=[1.15, 1])
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
    fig.legend(handles=handles, loc="outside lower center", ncols=-(-len(handles) // 2), fontsize=6.5, frameon=False)
    fig.suptitle(chart_text(title), fontsize=8.5, x=0.01, ha="left", fontweight="bold")
    if len(missing) > 8:  # a big group: a count, not a list nobody can read under a chart
        missing = [f"{len(missing)} kommuner"]
    note = FOOTER + (f" Saknar värde {int(latest['period'])}: {', '.join(missing)}." if missing else "")
    fig.text(0.01, 0.002, note, fontsize=5.5, color="#525252", ha="left", va="bottom")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _render_job(job: dict) -> bytes:  # type: ignore[type-arg]
    return render_chart(**job)


PARALLEL_FROM = 8  # fewer charts are drawn faster than worker processes start


def render_charts(jobs: list[dict], workers: int | None = None) -> list[bytes]:  # type: ignore[type-arg]
    """Many charts (each `render_chart`'s keyword arguments), in parallel processes when there are many.

    matplotlib draws in one thread per process, so on a 2-core machine two processes halve the
    time of a 168-indicator compare; a few charts are drawn here, without process start-up.
    """
    if len(jobs) < PARALLEL_FROM:
        return [render_chart(**job) for job in jobs]
    workers = workers or min(len(jobs), os.cpu_count() or 1, 4)
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        return list(pool.map(_render_job, jobs, chunksize=max(1, len(jobs) // (4 * workers))))
