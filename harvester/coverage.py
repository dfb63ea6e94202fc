"""Which configured indicators have no value at all for the home municipality in the dataset.

Such an indicator gives an empty table in every document, which a plan author may not notice until
the plan is printed; the fetch warns about it (even under --quiet) and `status` lists it. Ratios
are left out: they are computed from two other indicators, which are checked themselves.
"""
from __future__ import annotations

import logging
from pathlib import Path

from . import store
from .config import Config, Indicator
from .names import NotFound, match_municipality

log = logging.getLogger(__name__)


def home_of(root: Path, config: Config) -> tuple[str, str] | None:
    """The home municipality's (id, name), matched against the dataset's stored list (None before any harvest)."""
    rows = store.read_table(root, "municipalities").to_dict("records")
    try:
        found = match_municipality(config.home, rows)
    except NotFound:
        return None
    return found, next(str(m["title"]) for m in rows if str(m["id"]) == found)


def empty_for_home(root: Path, config: Config, home: str) -> list[Indicator]:
    """Indicators read from a source whose stored series has no value for `home` in the indicator's gender."""
    empty = []
    for ind in config.indicators:
        if ind.ratio is not None:
            continue
        values = store.read_values(root, [ind.series_id])
        mine = values[(values["municipality_id"] == home) & (values["gender"] == ind.gender)]
        if not mine["value"].notna().any():
            empty.append(ind)
    return empty


def empty_line(ind: Indicator, home_title: str) -> str:
    """The one wording of the warning, shared by the fetch log and `status`."""
    return (f"indicator {ind.id!r} ({ind.reference}, gender {ind.gender}) has no value at all for {home_title}: "
            "its tables and chart will be empty; choose a series the source publishes for it")


def warn_empty(root: Path, config: Config) -> None:
    """After a fetch: a WARNING per indicator left without any home value (it reaches cron mail under --quiet)."""
    home = home_of(root, config)
    if home is not None:
        for ind in empty_for_home(root, config, home[0]):
            log.warning("%s", empty_line(ind, home[1]))
