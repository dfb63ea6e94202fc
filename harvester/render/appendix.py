"""The appendix of a computed similar set: who the peers are, how far, and in what they are alike.

A committee reading "Liknande kommuner (beräknade: …)" above a table can turn to this page and
see each member's distance and, per structural KPI, its value and that KPI's share of the
distance; the method is one footnote, so the set can be recomputed by hand.
"""
from __future__ import annotations

import datetime as dt

from ..compare import default_decimals
from ..config import Indicator
from ..similar import Similar
from ..sources.registry import CATALOGUE
from .document import Cell, Column, Document, HOME_STYLE, Row, Table, source_line
from .numbers import excel_format, format_number, format_percent, is_missing

MISSING_SHARE = "–"


def _value(value: float, decimals: int, share: float | None) -> Cell:
    text = format_number(value, decimals)
    if share is not None:
        text += f" ({MISSING_SHARE if is_missing(share) else format_percent(100 * share, 0)})"
    return Cell(text, float(value), excel_format(decimals))


def build_similar_appendix(found: Similar, *, title: str, home_title: str, titles: dict[str, str],
                           kpi_titles: dict[str, str], computed_at: dt.date) -> Document:
    """One Document (like an indicator's) for the appendix of the computed set `found`, named `title`."""
    r = found.recipe
    rows = found.contributions
    places = {k: default_decimals(Indicator(id=k, label=k, series_id=k), rows.loc[rows["kpi"] == k, "value"]) for k in r.kpis}
    first = rows[rows["rank"] == 1].set_index("kpi")
    columns = (Column("Kommun", numeric=False), Column("Avstånd"),
               *(Column(f"{kpi_titles.get(k, k).split(',')[0]}\n({k})") for k in r.kpis))
    table_rows = [Row((Cell(home_title), Cell("–"), *(_value(first.at[k, "home_value"], places[k], None) for k in r.kpis)),
                      style=HOME_STYLE)]
    for _, peer in rows.groupby("rank", sort=True):
        by_kpi = peer.set_index("kpi")
        mid = str(peer["municipality_id"].iloc[0])
        table_rows.append(Row((Cell(titles.get(mid, mid)),
                               Cell(format_number(peer["distance"].iloc[0], 3), float(peer["distance"].iloc[0]),
                                    excel_format(3)),
                               *(_value(by_kpi.at[k, "value"], places[k], by_kpi.at[k, "share"]) for k in r.kpis))))
    logged = ", ".join(r.log)
    weights = "; vikter " + ", ".join(f"{k} = {format_number(w, 1)}" for k, w in r.weights) if r.weights else ""
    method = (f"Metod: alla {found.candidates} kommuner med värde för varje nyckeltal {found.year}"
              f"{f' ({len(found.left_out)} utan värde för något nyckeltal är utelämnade)' if found.left_out else ''}"
              f"{f'; {logged} logaritmerat' if logged else ''}; varje nyckeltal standardiserat över dem "
              "(z = (x − medelvärde) / standardavvikelse); avstånd = √(Σ w·(z hemkommun − z kommun)² / Σ w)"
              f"{weights}; de {r.n} minsta avstånden bland övriga kommuner, lika avstånd i kommunkodsordning. "
              "Inom parentes: nyckeltalets andel av avståndet i kvadrat.")
    kpis = "Nyckeltal: " + "; ".join(f"{k} {kpi_titles.get(k, '')}".strip() for k in r.kpis) + "."
    computed = f"Beräknad {computed_at:%Y-%m-%d} ur Koladas värden; docs/similar.md beskriver metoden."
    table = Table(caption=f"{title}: {home_title} och de {len(found.peers)} närmaste kommunerna, {found.year}",
                  columns=columns, rows=tuple(table_rows))
    return Document(indicator_id=f"bilaga-{found.home}-{found.year}", heading=f"Bilaga: {title}", tables=(table,),
                    footnotes=(method, kpis, computed, source_line((CATALOGUE.name,), "avstånd och andelar")))
