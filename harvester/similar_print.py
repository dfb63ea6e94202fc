"""`harvester similar`'s answer for a person (an aligned table) or a script (CSV, JSON).

Each peer's row shows, per KPI, the peer's value and that KPI's share of the squared distance, so
the reader sees why a kommun is near: "Heby is near Sala mostly in size, not in unemployment".
The home comes first (rank 0) with its own values, which every distance is measured from.
"""
from __future__ import annotations

import csv
import io
import json
import math
from typing import Any

from .similar import Similar

FORMATS = ("text", "csv", "json")


def _number(value: float) -> str:
    if math.isnan(value):
        return "–"
    return f"{value:,.0f}".replace(",", " ") if abs(value) >= 1000 else f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"


def records(found: Similar, titles: dict[str, str]) -> list[dict[str, Any]]:
    """One record per peer, nearest first: rank, id, name, distance, and per KPI home value, value, share."""
    out = []
    for rank, rows in found.contributions.groupby("rank", sort=True):
        first = rows.iloc[0]
        out.append({"rank": int(rank), "municipality_id": first["municipality_id"],
                    "municipality": titles.get(first["municipality_id"], ""), "distance": float(first["distance"]),
                    "kpis": {r.kpi: {"home_value": r.home_value, "value": r.value,
                                     "share": None if math.isnan(r.share) else r.share} for r in rows.itertuples()}})
    return out


def heading(found: Similar, titles: dict[str, str]) -> str:
    r = found.recipe
    kpis = ", ".join(f"{k} (log)" if k in r.log else k for k in r.kpis)
    weights = f", weights {', '.join(f'{k} = {w:g}' for k, w in r.weights)}" if r.weights else ""
    return (f"{titles.get(found.home, found.home)} ({found.home}), {found.year}: the {len(found.peers)} kommuner "
            f"nearest in {kpis}{weights}, among {found.candidates} kommuner with every KPI "
            f"({len(found.left_out)} left out for a missing value)")


def as_text(found: Similar, titles: dict[str, str]) -> str:
    rows = records(found, titles)
    home = rows[0]["kpis"] if rows else {}
    header = ["rank", "kommun", "distance", *found.recipe.kpis]
    lines = [header, ["0", f"{titles.get(found.home, '')} ({found.home})", "",
                      *(_number(home[k]["home_value"]) for k in found.recipe.kpis)]]
    for rec in rows:
        cells = []
        for k in found.recipe.kpis:
            share = rec["kpis"][k]["share"]
            cells.append(f"{_number(rec['kpis'][k]['value'])} ({'–' if share is None else f'{share:.0%}'})")
        lines.append([str(rec["rank"]), f"{rec['municipality']} ({rec['municipality_id']})", f"{rec['distance']:.3f}",
                      *cells])
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    body = ["  ".join(c.ljust(w) if i == 1 else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths))).rstrip()
            for line in lines]
    note = "Each KPI column: the value, and (in brackets) the KPI's share of the squared distance."
    return "\n".join([heading(found, titles), "", *body, "", note]) + "\n"


def as_csv(found: Similar, titles: dict[str, str]) -> str:
    """Long form, one row per peer × KPI: what a spreadsheet or pandas reads without reshaping."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["home_id", "year", "rank", "municipality_id", "municipality", "distance", "kpi", "log", "weight",
                     "home_value", "value", "share"])
    for r in found.contributions.itertuples():
        writer.writerow([found.home, found.year, r.rank, r.municipality_id, titles.get(r.municipality_id, ""),
                         repr(r.distance), r.kpi, r.kpi in found.recipe.log, found.recipe.weight(r.kpi),
                         repr(r.home_value), repr(r.value), "" if math.isnan(r.share) else repr(r.share)])
    return buffer.getvalue()


def as_json(found: Similar, titles: dict[str, str]) -> str:
    r = found.recipe
    doc = {"home": {"id": found.home, "title": titles.get(found.home, "")}, "year": found.year,
           "recipe": {"kpis": list(r.kpis), "log": list(r.log), "weights": dict(r.weights), "year": r.year, "n": r.n},
           "candidates": found.candidates, "left_out": list(found.left_out), "peers": records(found, titles)}
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def render(found: Similar, titles: dict[str, str], fmt: str) -> str:
    return {"text": as_text, "csv": as_csv, "json": as_json}[fmt](found, titles)
