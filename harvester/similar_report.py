"""The computed sets of a report, read back from the dataset: their group ids and their appendices.

The set a fetch computed is the latest vintage of its group in `groups.parquet`; its appendix is
recomputed from that vintage's recipe and the stored values, so the distances and shares shown
are the method's on the values the report itself uses.
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from . import store
from .comparisons import ComparisonSpec
from .render.document import Document
from .render.appendix import build_similar_appendix
from .similar import make_recipe, space
from .similar_spec import group_id


def group_ids(spec: ComparisonSpec) -> tuple[str, ...]:
    """The ids under which a comparison set's computed members are stored (one per `similar = …`)."""
    return tuple(group_id(spec.key) for kind, _ in spec.computed if kind == "similar")


def appendices(root: Path, specs: list[ComparisonSpec], home_id: str, titles: dict[str, str],
               kpi_titles: dict[str, str]) -> list[Document]:
    """One appendix per computed set of `specs` that the dataset holds a vintage of."""
    groups = store.read_table(root, "groups")
    municipalities = store.read_table(root, "municipalities")
    docs = []
    for gid in dict.fromkeys(g for spec in specs for g in group_ids(spec)):
        mine = groups[groups["group_id"] == gid]
        if mine.empty:
            continue
        latest = mine[mine["read_at"] == mine["read_at"].max()]
        recipe_data = json.loads(str(latest["recipe"].iloc[0]))
        recipe = make_recipe(recipe_data["kpis"], log=recipe_data["log"], weights=recipe_data["weights"],
                             year=recipe_data["year"], n=recipe_data["n"])
        found = space(store.read_values(root, recipe.kpis), municipalities, recipe).nearest(home_id)
        read_at = pd.Timestamp(latest["read_at"].iloc[0])
        named = {**recipe_data.get("kpi_titles", {}), **kpi_titles}
        docs.append(build_similar_appendix(found, title=str(latest["title"].iloc[0]), home_title=titles[home_id],
                                           titles=titles, kpi_titles=named, computed_at=read_at.date()))
    return docs
