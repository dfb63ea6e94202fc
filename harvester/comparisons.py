"""Comparison sets as the config names them: `[comparison]` (the default) and `[comparisons.<name>]`.

A plan compares its IFO indicators with one group of municipalities, its labour-market ones with
another and its elderly care with a third, all in one report; so a comparison set is a value of
its own, named once and referred to by indicators (`comparison = "<name>"`). This module turns the
TOML tables into typed `ComparisonSpec`s and knows nothing of Kolada: group ids and municipality
names are checked in `resolve`, members read from the dataset in `report`.

Kinds of members a set can hold, each a key of the table:
- `groups`: Kolada municipality groups (their members at the latest harvest);
- `municipalities`: municipalities listed by id or name;
- further kinds, each a key with its parser, which the config passes in as `kinds` (the extension
  point: a computed set such as `similar = { ... }` is one entry of `config.MEMBER_KINDS`, and its
  spec lands in `ComparisonSpec.computed`; the fetch sees it in `union`, and
  `report._comparison_sets`, where specs become members, computes it). This module imports no kind.

`name` is the words documents use for the set ("jämförbara kommuner") instead of Kolada's group
titles; `riket` whether Riket is shown beside it.
"""
from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

DEFAULT = ""  # the key of the default set, `[comparison]`
SECTION, NAMED_SECTION = "comparison", "comparisons"
GROUP_ID = re.compile(r"^G\d+$")
SET_NAME = re.compile(r"^[A-Za-z0-9_-]+$")  # a bare TOML key, so `comparison = "<name>"` is typed as read


class Validator(Protocol):
    """What the config loader offers a section parser: errors with file:line, and key checks."""

    def fail(self, message: str, table: str = "", key: str | None = None, index: int = 0) -> Exception: ...

    def check_keys(self, data: dict[str, Any], kind: str, table: str, index: int = 0, label: str = "") -> None: ...


# Extension point: key → parser(validator, raw value, section) returning a frozen, hashable spec of
# members computed from data. Each parser raises `validator.fail(...)` on bad input.
MemberParser = Callable[[Validator, Any, str], object]


BASE_KEYS = frozenset({"name", "groups", "municipalities", "riket"})


def set_keys(kinds: Mapping[str, MemberParser]) -> set[str]:
    """Every key a comparison table may hold: the base kinds and each computed kind."""
    return set(BASE_KEYS | kinds.keys())


@dataclass(frozen=True)
class ComparisonSpec:
    """One comparison set as configured. `key` is DEFAULT for `[comparison]`, else `<name>`."""

    key: str = DEFAULT
    name: str | None = None  # display words; None: documents use Kolada's group titles
    groups: tuple[str, ...] = ()
    municipalities: tuple[str, ...] = ()
    riket: bool = True
    computed: tuple[tuple[str, object], ...] = ()  # (kind, spec) for each computed kind's key given

    @property
    def section(self) -> str:
        """The TOML table that configures this set, as errors name it."""
        return SECTION if self.key == DEFAULT else f"{NAMED_SECTION}.{self.key}"

    @property
    def has_members(self) -> bool:
        return bool(self.groups or self.municipalities or self.computed)


def parse_set(v: Validator, raw: Any, kinds: Mapping[str, MemberParser], key: str = DEFAULT) -> ComparisonSpec:
    """One `[comparison]` or `[comparisons.<key>]` table; a named set must have members."""
    section = SECTION if key == DEFAULT else f"{NAMED_SECTION}.{key}"
    if not isinstance(raw, dict):
        raise v.fail(f"[{section}] must be a table, e.g. [{section}] on a line of its own", "", section.split(".")[-1])
    v.check_keys(raw, SECTION, section, label=f"[{section}]")
    groups = _texts(v, raw.get("groups", []), section, "groups", 'groups = ["G36484"]')
    for gid in groups:
        if not GROUP_ID.match(gid):
            raise v.fail(f"group id {gid!r} is not a Kolada municipality group id (G followed by digits, e.g. \"G36484\")",
                         section, "groups")
    extra = _texts(v, raw.get("municipalities", []), section, "municipalities", 'municipalities = ["Sala"]')
    riket = raw.get("riket", True)
    if not isinstance(riket, bool):
        raise v.fail(f"[{section}] riket must be true or false, got {riket!r}", section, "riket")
    name = raw.get("name")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise v.fail(f'[{section}] name must be a text in quotes, e.g. name = "jämförbara kommuner"', section, "name")
    computed = tuple((kind, parse(v, raw[kind], section)) for kind, parse in kinds.items() if kind in raw)
    spec = ComparisonSpec(key=key, name=name.strip() if name else None, groups=tuple(groups),
                          municipalities=tuple(extra), riket=riket, computed=computed)
    if key != DEFAULT and not spec.has_members:
        raise v.fail(f"[{section}] has no members: give groups = [\"G…\"] (find them with `harvester groups "
                     f"<municipality>`) or municipalities = [\"…\"]", section)
    return spec


def parse_sets(v: Validator, default: Any, named: Any, kinds: Mapping[str, MemberParser]) -> dict[str, ComparisonSpec]:
    """The default set and every named one, by key (DEFAULT first); `kinds`: the computed kinds' parsers."""
    sets = {DEFAULT: parse_set(v, default, kinds)}
    if not isinstance(named, dict):
        raise v.fail(f"[{NAMED_SECTION}] must hold tables, e.g. [{NAMED_SECTION}.ifo] with groups = [\"G36484\"]",
                     "", NAMED_SECTION)
    for key, raw in named.items():
        if not SET_NAME.match(key):
            raise v.fail(f"comparison set name {key!r} must be letters, digits, '-' or '_' (e.g. [comparisons.ifo])",
                         "", NAMED_SECTION)
        sets[key] = parse_set(v, raw, kinds, key)
    return sets


def chosen(v: Validator, sets: Mapping[str, ComparisonSpec], raw: Any, name: str, index: int) -> str:
    """The set an indicator's `comparison = "<name>"` names (DEFAULT when left out)."""
    if raw is None:
        return DEFAULT
    named = [k for k in sets if k != DEFAULT]
    if not isinstance(raw, str) or raw.strip() not in named:
        listed = ", ".join(f"[{NAMED_SECTION}.{k}]" for k in named) or "none yet"
        close = difflib.get_close_matches(str(raw), named, n=3, cutoff=0.5)
        hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
        raise v.fail(f"{name}: comparison {raw!r} names no comparison set{hint}; sets in this config: {listed}; "
                     "leave comparison out to use [comparison]", "indicator", "comparison", index)
    return raw.strip()


def _texts(v: Validator, value: Any, section: str, key: str, example: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(x, str) and x.strip() for x in value):
        raise v.fail(f"[{section}] {key} must be a list of texts in quotes, e.g. {example}", section, key)
    return [x.strip() for x in value]


def union(specs: Iterable[ComparisonSpec]) -> ComparisonSpec:
    """Every member of every set, once: what one fetch covers so each set can be compared from the dataset."""
    specs = list(specs)
    return ComparisonSpec(key=DEFAULT, groups=tuple(dict.fromkeys(g for s in specs for g in s.groups)),
                          municipalities=tuple(dict.fromkeys(m for s in specs for m in s.municipalities)),
                          riket=any(s.riket for s in specs),
                          computed=tuple(dict.fromkeys(c for s in specs for c in s.computed)))
