"""Turn the config's names into ids, checked against the catalogue (Kolada: `registry.CATALOGUE`); keep the
catalogue tables. Each source checks its own series (an SCB table's codes, a file's rows) itself.

Resolution happens before anything is fetched or written, so a typo in the config costs one
clear message and no data. Every refusal carries the closest matches, looked up in the same
(cached) catalogue the check used. The catalogue tables of the dataset (`kpis`, `municipalities`,
`groups` with their vintages) are made here from what resolution read.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pyarrow as pa

from . import schema
from .comparisons import union
from .config import Config, ConfigError, indicator_place, place
from .errors import BadResponse, SourceError
from .names import RIKET, NotFound, match_municipality, suggest_kpis
from .sources.kolada.catalogue import kpis_table, municipalities_table
from .sources.kolada.client import KoladaClient

log = logging.getLogger(__name__)

# Fetching the whole catalogue costs about two pages; asking by id costs one page per 25 ids.
WHOLE_CATALOGUE_ABOVE = 50


class ResolveError(ConfigError):
    """The config names something Kolada does not have."""


@dataclass(frozen=True)
class Resolved:
    home: str
    home_title: str
    peers: tuple[str, ...]
    areas: tuple[str, ...]
    kpis: dict[str, dict[str, Any]]
    retired: tuple[str, ...]
    municipalities: list[dict[str, Any]]
    groups: list[dict[str, Any]]


def resolve(config: Config, client: KoladaClient, stored_kpis: pd.DataFrame) -> Resolved:
    """Check every id and name of the config against Kolada; raise ResolveError listing near matches."""
    municipalities = client.municipalities()
    if not municipalities:  # Kolada's fault, not the config's: never blame the home municipality for it
        raise BadResponse("Kolada's municipality list is empty", client.url("municipality"))

    def municipality(text: str, key: str) -> str:
        try:
            return match_municipality(text, municipalities)
        except NotFound as exc:
            raise ResolveError(f"{place(config, key, text)}: {exc}") from None

    home = municipality(config.home, "municipality")
    titles = {str(m["id"]): str(m["title"]) for m in municipalities}
    wanted = union(config.comparison_sets.values())  # every set's members, fetched once
    groups = _groups(config, wanted.groups, client, home, titles)
    peers = {str(m["member_id"]) for g in groups for m in g.get("members", [])}
    peers |= {municipality(name, "municipalities") for name in wanted.municipalities}
    peers.discard(home)
    areas = peers | {home} | ({RIKET} if wanted.riket else set())
    kpis, retired = _kpis(config, client, stored_kpis)
    return Resolved(home=home, home_title=titles[home], peers=tuple(sorted(peers)), areas=tuple(sorted(areas)),
                    kpis=kpis, retired=tuple(retired), municipalities=municipalities, groups=groups)


def _groups(config: Config, wanted: tuple[str, ...], client: KoladaClient, home: str,
            titles: dict[str, str]) -> list[dict[str, Any]]:
    if not wanted:
        return []
    found = {str(g["id"]): g for g in client.municipality_groups(list(wanted))}
    missing = [g for g in wanted if g not in found]
    if missing:
        raise ResolveError(f"{place(config, 'groups', missing[0])}: {', '.join(missing)} "
                           f"{'is' if len(missing) == 1 else 'are'} not a Kolada municipality group. "
                           + groups_hint(client, home, titles))
    return [found[g] for g in wanted]


def groups_hint(client: KoladaClient, home: str, titles: dict[str, str]) -> str:
    own = groups_for(client.municipality_groups(), home, titles.get(home, home))
    if not own:
        return "List the groups of a municipality with `harvester groups <municipality>`."
    shown = "; ".join(f"{g['id']} {g['title']}" for g in own[:8])
    return f"Groups for {titles.get(home, home)}: {shown}"


def groups_for(groups: list[dict[str, Any]], municipality_id: str, title: str) -> list[dict[str, Any]]:
    """Comparison groups of a municipality: its own "Liknande kommuner …, <name>" groups first.

    Kolada leaves a municipality out of its own "Liknande kommuner" groups (they hold its peers),
    so those are found by title; then come the groups it is a member of.
    """
    named = re.compile(rf",\s*{re.escape(title)}(,|$)")

    def own(g: dict[str, Any]) -> bool:
        return bool(named.search(str(g.get("title", ""))))

    def member(g: dict[str, Any]) -> bool:
        return any(str(m.get("member_id")) == municipality_id for m in g.get("members", []))

    found = [g for g in groups if own(g) or member(g)]
    return sorted(found, key=lambda g: (not own(g), not str(g.get("title", "")).startswith("Liknande kommuner"),
                                        str(g.get("title"))))


def _kpis(config: Config, client: KoladaClient, stored_kpis: pd.DataFrame) -> tuple[dict[str, dict[str, Any]], list[str]]:
    wanted = config.kpis
    if not wanted:  # only SCB indicators: Kolada is asked for municipalities and groups alone
        return {}, []
    if len(wanted) > WHOLE_CATALOGUE_ABOVE:
        catalogue = client.kpis()
        found = {str(k["id"]): k for k in catalogue if k.get("id") in set(wanted)}
    else:
        catalogue = None
        found = {str(k["id"]): k for k in client.kpis(wanted)}
    missing = [k for k in wanted if k not in found]
    known_before = set(stored_kpis["id"]) if len(stored_kpis) else set()
    retired = [k for k in missing if k in known_before]
    unknown = [k for k in missing if k not in known_before]
    for kpi in retired:
        title = stored_kpis.loc[stored_kpis["id"] == kpi, "title"].iloc[0]
        log.warning("KPI %s (%s) is no longer published by Kolada; its stored values are kept as they are", kpi, title)
    if unknown:
        catalogue = catalogue if catalogue is not None else client.kpis()
        labels = {ind.series_id: ind.label for ind in config.indicators}
        lines = []
        for kpi in unknown:
            near = suggest_kpis(kpi, labels.get(kpi, ""), catalogue)
            hint = "; ".join(f"{k['id']} {k['title']}" for k in near) or "no similar KPI found"
            lines.append(f"{place(config, 'kpi', kpi)}: KPI {kpi} is not in Kolada's catalogue (closest: {hint})")
        raise ResolveError("; ".join(lines))
    _check_genders(config, found)
    return {k: found[k] for k in wanted if k in found}, retired


def _check_genders(config: Config, found: dict[str, dict[str, Any]]) -> None:
    """Refuse K or M for a KPI Kolada does not divide by gender: it would give an empty indicator and exit 0."""
    for ind in config.indicators:
        kpi = found.get(ind.series_id) if ind.source == "kolada" else None
        if kpi is not None and ind.gender != "T" and kpi.get("is_divided_by_gender") is False:
            raise ResolveError(f"{indicator_place(config, ind.id, 'gender')}: indicator {ind.id!r}: KPI {ind.series_id} "
                               f"({kpi.get('title', '')}) is not divided by gender in Kolada: it has only the total; "
                               f'write gender = "T" or remove the gender line')


def series_table(stored: pd.DataFrame, described: list[pd.DataFrame]) -> pa.Table:
    """Stored rows plus the rows each source described this run; a row whose description did not change
    keeps its `read_at`, so a harvest with nothing new rewrites nothing."""
    fresh = pd.concat([rows.reindex(columns=schema.SERIES.names) for rows in described], ignore_index=True)
    if len(stored) and len(fresh):
        described = [c for c in schema.SERIES.names if c != "read_at"]
        old = stored.set_index("kpi")
        same = [k for k, row in fresh.set_index("kpi").iterrows()
                if k in old.index and _same_row(old.loc[k], row, described[1:])]
        fresh = fresh[~fresh["kpi"].isin(same)]
    kept = stored[~stored["kpi"].isin(fresh["kpi"])] if len(stored) else stored
    frame = pd.concat([kept, fresh], ignore_index=True) if len(fresh) else kept
    frame = frame if len(frame) else pd.DataFrame(columns=schema.SERIES.names)
    return schema.to_arrow(frame.sort_values("kpi", kind="stable"), schema.SERIES)


def _same_row(old: pd.Series, new: pd.Series, columns: list[str]) -> bool:
    return all((pd.isna(old[c]) and pd.isna(new[c])) or old[c] == new[c] for c in columns)


def groups_table(stored: pd.DataFrame, groups: list[dict[str, Any]], read_at: pd.Timestamp) -> pa.Table:
    """Stored vintages plus a new one for each group whose title, members or recipe changed.

    Kolada keeps a group's id while its members change; a plan read years later must say which
    municipalities were meant, so each change is kept as a vintage (rows with a new `read_at`).
    A computed set (harvester/similar_spec.py) also carries its `recipe` and each member's
    `distance`; a distance that moves with a revised value alone makes no new vintage.
    """
    new_rows = []
    for group in groups:
        gid = str(group["id"])
        members = sorted((str(m["member_id"]), str(m.get("member_title", ""))) for m in group.get("members", []))
        distance = {str(m["member_id"]): m.get("distance") for m in group.get("members", [])}
        recipe = group.get("recipe")
        mine = stored[stored["group_id"] == gid]
        if len(mine):
            latest = mine[mine["read_at"] == mine["read_at"].max()]
            same_title = set(latest["title"]) == {group.get("title")}
            same_recipe = set(latest["recipe"].fillna("")) == {recipe or ""}
            if same_title and same_recipe and sorted(zip(latest["member_id"], latest["member_title"])) == members:
                continue
        new_rows += [{"group_id": gid, "title": group.get("title"), "member_id": mid, "member_title": mtitle,
                      "read_at": read_at, "distance": distance[mid], "recipe": recipe} for mid, mtitle in members]
    frame = pd.concat([stored, pd.DataFrame(new_rows, columns=schema.GROUPS.names)], ignore_index=True) if new_rows else stored
    return schema.to_arrow(frame.sort_values(["group_id", "read_at", "member_id"], kind="stable"), schema.GROUPS)


def catalogue_tables(resolved: Resolved, stored: dict[str, pd.DataFrame], read_at: pd.Timestamp,
                     described: list[pd.DataFrame] | None = None) -> dict[str, pa.Table]:
    """The catalogue tables as they should be after this harvest (`stored` holds today's `kpis`, `groups`
    and `series`); `series` only when a source described series this run (`described`: their rows)."""
    tables = {"kpis": kpis_table(stored["kpis"], resolved.kpis),
              "municipalities": municipalities_table(resolved.municipalities),
              "groups": groups_table(stored["groups"], resolved.groups, read_at)}
    if described:
        tables["series"] = series_table(stored["series"], described)
    return tables
