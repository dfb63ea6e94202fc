"""`harvester similar`'s edge: fetch a recipe's KPIs for every kommun, as `fetch` would, then compute the set.

The values come through the same client, HTTP cache, staged commit and cursors as any harvest:
the recipe becomes a config of its own (every kommun of the catalogue as a peer, its KPIs as
indicators), so a second call on the same day asks Kolada for changes only, and an analyst finds
the values in the dataset's `values/` like any other.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd

from . import store
from .config import Config, Indicator, SourceSettings
from .harvest import HarvestResult, harvest
from .names import match_municipality, suggest_kpis
from .similar import Recipe, Similar, SimilarError, kommuner, space
from .similar_sets import YEARS_BACK
from .sources.kolada.client import KoladaClient
from .sources.registry import CATALOGUE



@dataclass(frozen=True)
class Outcome:
    similar: Similar | None  # None when the harvest failed and nothing could be computed
    titles: dict[str, str]  # municipality id → name
    kpi_titles: dict[str, str]
    harvest: HarvestResult


def recipe_config(recipe: Recipe, home: str, municipalities: list[dict[str, object]], today: date,
                  path: Path, source: SourceSettings) -> Config:
    """The harvest a recipe needs: its KPIs for every kommun, YEARS_BACK years before its year up to today."""
    last = min(recipe.year or today.year, today.year)
    ids = kommuner(pd.DataFrame(municipalities, columns=["id", "title", "type"]))
    return Config(path=path, home=home, municipalities=tuple(m for m in ids if m != home), riket=False,
                  year_from=last - YEARS_BACK, year_to=max(last, today.year),
                  indicators=tuple(Indicator(id=k.lower(), label=k, series_id=k) for k in recipe.kpis), source=source)


def _check_kpis(client: KoladaClient, recipe: Recipe, where: str) -> dict[str, str]:
    """Titles of the recipe's KPIs; an unknown one is refused with the nearest ids of the catalogue."""
    found = {str(k["id"]): str(k.get("title", "")) for k in client.kpis(list(recipe.kpis))}
    unknown = [k for k in recipe.kpis if k not in found]
    if unknown:
        catalogue = client.kpis()
        lines = []
        for kpi in unknown:
            started = [k for k in catalogue if str(k.get("id", "")).startswith(kpi)]  # a digit left off the end
            near = "; ".join(f"{k['id']} {k['title']}" for k in [*started, *suggest_kpis(kpi, "", catalogue)][:5])
            lines.append(f"KPI {kpi} is not in Kolada's catalogue (closest: {near or 'none'})")
        raise SimilarError(f"{where}: {'; '.join(lines)}")
    return found


def similar(client: KoladaClient, root: Path, home_text: str, recipe: Recipe, *, where: str, path: Path,
            source: SourceSettings, today: date) -> Outcome:
    """Harvest what the recipe needs into the dataset at `root` (the caller holds its lock), then compute the set.

    Everything the command line can get wrong is checked before anything is fetched or written.
    """
    municipalities = client.municipalities()
    home = match_municipality(home_text, municipalities)
    titles = {str(m["id"]): str(m["title"]) for m in municipalities}
    if next(str(m.get("type")) for m in municipalities if str(m["id"]) == home) != "K":
        raise SimilarError(f"{where}: {titles[home]} ({home}) is not a kommun; similar kommuner are found for kommuner")
    kpi_titles = _check_kpis(client, recipe, where)
    config = recipe_config(recipe, home, municipalities, today, path, source)
    result = harvest(config, root, {CATALOGUE.name: client}, command="similar", show_progress=False)
    if result.outcome == "failed" and not all(store.values_path(root, k).exists() for k in recipe.kpis):
        return Outcome(None, titles, kpi_titles, result)
    values = store.read_values(root, recipe.kpis)
    try:
        found = space(values, store.read_table(root, "municipalities"), recipe).nearest(home)
    except SimilarError as exc:
        raise SimilarError(f"{where}: {exc}") from None
    return Outcome(found, titles, kpi_titles, result)
