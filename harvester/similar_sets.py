"""Computed comparison sets inside a harvest: fetch the recipes' KPIs for every kommun, compute, add the members.

A config's `similar = …` set has no members until it is computed, and it is computed from
values: so a fetch first harvests the recipes' KPIs for every kommun (merged and staged in the
same transaction as everything else), computes each set from those staged values, and then
fetches the indicators for the home, the peers of every other set and these members. The set
itself is staged as a vintage of its group beside Kolada's groups, in the same commit.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from . import store
from .config import Config
from .resolve import Resolved, ResolveError
from .similar import SimilarError, kommuner, space
from .similar_spec import SimilarSpec, group_of, similar_place
from .sources import Scope
from .sources.kolada.client import KoladaClient
from .sources.kolada.source import KoladaSource

YEARS_BACK = 10  # fetched before a recipe's year (or this year): the default year and the home's years come from it


@dataclass(frozen=True)
class Plan:
    sets: tuple[tuple[str, SimilarSpec], ...]  # (set key, spec) of every computed set an indicator uses
    source: KoladaSource
    scope: Scope
    kpi_titles: dict[str, str]


def computed_sets(config: Config) -> list[tuple[str, SimilarSpec]]:
    return [(spec.key, computed) for spec in config.used_comparisons
            for kind, computed in spec.computed if kind == "similar" and isinstance(computed, SimilarSpec)]


def plan(config: Config, client: KoladaClient, resolved: Resolved, today: date) -> Plan | None:
    """What the computed sets need fetched: their KPIs for every kommun, YEARS_BACK years before their years.

    The scope also covers the config's own areas and years, so a KPI that is both in a recipe and an
    indicator is fetched once, here (the harvest leaves it out of the indicators' pass).
    """
    sets = computed_sets(config)
    if not sets:
        return None
    kpis = list(dict.fromkeys(k for _, s in sets for k in s.recipe.kpis))
    found = {str(k["id"]): k for k in client.kpis(kpis)}
    for key, spec in sets:
        missing = [k for k in spec.recipe.kpis if k not in found]
        if missing:
            raise ResolveError(f"{similar_place(config.path, key)}: {', '.join(missing)} "
                               f"{'is' if len(missing) == 1 else 'are'} not in Kolada's catalogue "
                               "(find KPIs with `harvester kpi search WORDS`)")
    first = min(min(s.recipe.year or today.year, today.year) for _, s in sets) - YEARS_BACK
    areas = set(kommuner(pd.DataFrame(resolved.municipalities, columns=["id", "title", "type"]))) | set(resolved.areas)
    years = set(range(first, today.year + 1)) | set(config.years(today))
    return Plan(sets=tuple(sets), source=KoladaSource(client, found, resolved.municipalities, today),
                scope=Scope(tuple(kpis), tuple(sorted(areas)), tuple(sorted(years))),
                kpi_titles={k: str(m.get("title", "")) for k, m in found.items()})


def staged_values(txn: store.Transaction, root: Path, kpis: tuple[str, ...]) -> pd.DataFrame:
    """The KPIs' values as this run will commit them: staged where the run changed them, else as stored."""
    frames = []
    for kpi in kpis:
        staged = txn.dir / store.VALUES_DIR / f"{kpi}.parquet"
        frames.append(pq.read_table(staged).to_pandas() if staged.exists() else store.read_values(root, [kpi]))
    return pd.concat(frames, ignore_index=True)


def with_sets(config: Config, resolved: Resolved, planned: Plan, values: pd.DataFrame) -> Resolved:
    """`resolved` with each computed set as a group and its members among the peers and areas.

    Without any value of a recipe's KPIs (Kolada unavailable on the first run: the harvest has said so)
    the sets stay empty for this run rather than being computed from nothing.
    """
    if any(not (values["kpi"] == k).any() for k in planned.scope.series):
        return resolved
    municipalities = pd.DataFrame(resolved.municipalities, columns=["id", "title", "type"])
    titles = dict(zip(municipalities["id"].astype(str), municipalities["title"].astype(str)))
    groups = list(resolved.groups)
    for key, spec in planned.sets:
        try:
            found = space(values, municipalities, spec.recipe).nearest(resolved.home)
        except SimilarError as exc:
            raise SimilarError(f"{similar_place(config.path, key)}: {exc}") from None
        groups.append(group_of(key, spec, found, titles, planned.kpi_titles))
    members = {str(m["member_id"]) for g in groups[len(resolved.groups):] for m in g["members"]}
    return replace(resolved, groups=groups, peers=tuple(sorted(set(resolved.peers) | members)),
                   areas=tuple(sorted(set(resolved.areas) | members)))
