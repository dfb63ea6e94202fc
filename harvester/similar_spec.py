"""A computed comparison set in the config, and the group vintage that records it in the dataset.

In the config a set is declared like any other (`harvester/comparisons.py`), with the key
`similar`: either a shipped model (`similar = "ifo"`) or a recipe of its own
(`similar = { kpis = ["N01951", "N02926", "N03920"], log = ["N01951"], year = 2022, n = 7 }`).
In the dataset each computation that changed the set is a vintage of a group of our own id in
`groups.parquet` (written by `resolve.groups_table`, as Kolada's), with the recipe and the
distances beside its members, so a later run can show that the set changed and why.
"""
from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .comparisons import Validator
from .similar import DEFAULT_N, Recipe, Similar, SimilarError, make_recipe
from .similar_models import model

KEYS = ("model", "kpis", "log", "weights", "year", "n")
GROUP_PREFIX = "computed:"  # group ids of computed sets; Kolada's are G + digits, so they never meet
EXAMPLE = 'similar = { kpis = ["N01951", "N02926", "N03920"], log = ["N01951"], year = 2022, n = 7 } or similar = "ifo"'


@dataclass(frozen=True)
class SimilarSpec:
    """A computed set as configured: the recipe, and the words documents name it by (a model's title)."""

    recipe: Recipe
    model: str | None = None
    words: str | None = None


def parse_similar(v: Validator, raw: Any, section: str) -> SimilarSpec:
    """`similar = …` of one comparison table; every mistake is one line naming the file and line."""
    where = f"[{section}] similar"
    try:
        if isinstance(raw, str):
            chosen = model(raw, where)
            return SimilarSpec(recipe=chosen.recipe(), model=raw.strip(), words=chosen.title)
        if not isinstance(raw, dict):
            raise SimilarError(f"{where} must be a shipped model or a recipe: {EXAMPLE}")
        for key in raw:
            if key not in KEYS:
                near = difflib.get_close_matches(key, KEYS, n=1)
                raise SimilarError(f"{where}: unknown key {key!r}{f' (did you mean {near[0]!r}?)' if near else ''}; "
                                   f"allowed: {', '.join(KEYS)}")
        if "model" in raw:
            if "kpis" in raw or "log" in raw or "weights" in raw:
                raise SimilarError(f"{where}: give either model or kpis (with log and weights), not both")
            chosen = model(str(raw["model"]), where)
            return SimilarSpec(recipe=chosen.recipe(year=raw.get("year"), n=raw.get("n", DEFAULT_N)),
                               model=str(raw["model"]).strip(), words=chosen.title)
        kpis, logged, weights = raw.get("kpis"), raw.get("log", []), raw.get("weights", {})
        for key, value in (("kpis", kpis), ("log", logged)):
            if not isinstance(value, list) or not all(isinstance(k, str) for k in value):
                raise SimilarError(f"{where}: {key} must be a list of KPI ids in quotes; {EXAMPLE}")
        if not isinstance(weights, dict):
            raise SimilarError(f"{where}: weights must be written weights = {{ N01951 = 2 }}")
        return SimilarSpec(recipe=make_recipe(kpis, log=logged, weights=weights, year=raw.get("year"),
                                              n=raw.get("n", DEFAULT_N), where=where))
    except SimilarError as exc:
        raise v.fail(str(exc), section, "similar") from None


def similar_place(path: Path, set_key: str) -> str:
    """`file:line` of the `similar` key of `[comparisons.<set_key>]`, for problems Kolada's answers reveal."""
    section = f"[comparisons.{set_key}]"
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except OSError:
        return f"{path}: {section} similar"
    inside = False
    for no, line in enumerate(lines, start=1):
        text = line.strip()
        if text.startswith("["):
            inside = text.split("#")[0].strip() == section
        elif inside and text.startswith("similar"):
            return f"{path}:{no}: {section} similar"
    return f"{path}: {section} similar"


def group_id(set_key: str) -> str:
    return f"{GROUP_PREFIX}{set_key}"


def set_title(spec: SimilarSpec, year: int, kpi_titles: dict[str, str]) -> str:
    """"Liknande kommuner (beräknade: invånare, utrikes födda, arbetslöshet, 2022)": the name tables and charts use.

    A model brings its own words; a recipe of one's own is named by its KPIs' titles up to the first comma.
    """
    words = spec.words or ", ".join(kpi_titles.get(k, k).split(",")[0].strip().lower() for k in spec.recipe.kpis)
    return f"Liknande kommuner (beräknade: {words}, {year})"


def recipe_json(found: Similar, kpi_titles: dict[str, str]) -> str:
    """The recipe as computed (the year filled in, each KPI's title beside it), stable text so an unchanged
    recipe compares equal."""
    r = found.recipe
    return json.dumps({"kpis": list(r.kpis), "log": list(r.log), "weights": dict(r.weights), "year": found.year,
                       "year_asked": r.year, "n": r.n, "kpi_titles": {k: kpi_titles.get(k, "") for k in r.kpis}},
                      ensure_ascii=False, sort_keys=True)


def group_of(set_key: str, spec: SimilarSpec, found: Similar, titles: dict[str, str],
             kpi_titles: dict[str, str]) -> dict[str, Any]:
    """The computed set as a group like Kolada's (id, title, members), with its recipe and each member's
    distance: `resolve.groups_table` keeps it as a vintage when it changed."""
    return {"id": group_id(set_key), "title": set_title(spec, found.year, kpi_titles), "recipe": recipe_json(found, kpi_titles),
            "members": [{"member_id": m, "member_title": titles.get(m, ""), "distance": float(d)}
                        for m, d in zip(found.peers["municipality_id"], found.peers["distance"])]}
