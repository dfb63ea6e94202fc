"""SCB tables described for a person choosing an indicator (`harvester scb search`, `harvester scb show`).

What a config author needs, in the order they need it: which table, which contents code (with its
unit), which variables must be fixed in `select`, and which the harvester fills in itself.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from .catalogue import kon_choice
from .metadata import CONTENTS, KON, REGION, TableMeta

CODES_SHOWN = 12


def table_line(entry: Mapping[str, Any]) -> str:
    """One search hit: id, label, first–last period, when SCB last updated it."""
    updated = str(entry.get("updated") or "")[:10] or "–"
    span = f"{entry.get('firstPeriod') or '?'}–{entry.get('lastPeriod') or '?'}"
    return f"{entry.get('id')}  {entry.get('label', '')}  [{span}; updated {updated}]"


def show_lines(meta: TableMeta, all_codes: bool = False) -> Iterator[str]:
    """The table's variables and codes, and how a config uses each."""
    time = meta.time_variable
    yield f"{meta.id}  {meta.label}"
    yield f"updated {meta.updated[:10]}; periods {time.codes[0]}–{time.codes[-1]} ({len(time.codes)})" + (
        "; monthly: set month = 1…12 in the indicator" if meta.monthly else "")
    yield ""
    for variable in meta.variables:
        key = variable.code.casefold()
        if key == CONTENTS:
            yield f"contents = one of ({len(variable.codes)}):"
            for code in variable.codes:
                unit = meta.units.get(code)
                yield (f"  {code}  {variable.labels.get(code, '')}"
                       + (f"  [{unit.base}, {unit.decimals} decimals]" if unit else ""))
            continue
        if key == REGION:
            how = "set by the harvester from [home] and [comparison] (Riket is 00)"
        elif key == meta.time.casefold():
            how = "set by the harvester from [years]" + (" and month" if meta.monthly else "")
        elif key == KON:
            kon = kon_choice(meta)
            how = "set by the harvester from gender (" + ", ".join(
                f"{g} → {c if c is not None else 'left out, the server sums'}" for g, c in sorted(kon.codes.items())) + ")"
        elif variable.elimination:
            how = "may be left out of select (the table's total), or fixed there"
        else:
            how = f"mandatory: fix one code in select, e.g. select = {{ {variable.code} = \"{variable.codes[0]}\" }}"
        yield f"{variable.code} ({variable.label}): {how}"
        if key in (REGION, meta.time.casefold()) and not all_codes:
            continue
        codes = variable.codes if all_codes else variable.codes[:CODES_SHOWN]
        for code in codes:
            yield f"  {code}  {variable.labels.get(code, '')}"
        if len(codes) < len(variable.codes):
            yield f"  … and {len(variable.codes) - len(codes)} more (--all lists every code)"
