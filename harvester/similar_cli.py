"""The `harvester similar` command: its arguments, the recipe they make, and the answer on stdout.

Kept apart from cli.py so the command's many options live beside the code that reads them; cli.py
only wires the client, the dataset lock and the exit codes, as for every command.
"""
from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .exitcodes import ExitCode
from .similar import DEFAULT_N

if TYPE_CHECKING:
    from .config import Config
    from .similar import Recipe
    from .similar_spec import SimilarSpec
    from .sources.kolada.client import KoladaClient

log = logging.getLogger("harvester")


def add_similar_parser(sub: Any, parents: list[argparse.ArgumentParser],
                       func: Callable[[argparse.Namespace], int]) -> None:
    from .similar_print import FORMATS

    text = ("the kommuner most similar to one in structural KPIs, with each KPI's share of the distance "
            "(docs/similar.md)")
    p = sub.add_parser("similar", parents=parents, help=text, description=text)
    p.add_argument("municipality", nargs="?", help="the home kommun: id or name, e.g. 1981 or Sala (default with "
                                                   "--config: its [home])")
    how = p.add_mutually_exclusive_group(required=True)
    how.add_argument("--kpis", help="structural KPIs, comma-separated, e.g. N01951,N02926,N03920")
    how.add_argument("--model", help="a shipped model: ifo, arbetsmarknad, aldreomsorg")
    how.add_argument("--set", help="the comparison set NAME of --config whose similar = … to compute; the set is "
                                   "stored as a vintage in the dataset's groups.parquet")
    p.add_argument("--log", default="", help="KPIs (of --kpis) taken as natural logarithms, e.g. N01951")
    p.add_argument("--weight", action="append", default=[], metavar="KPI=W",
                   help="weight of a KPI in the distance (default 1 each); repeat for several")
    p.add_argument("--year", type=int, help="the year of the values (default: the latest in which 90 %% of "
                                            "kommuner have every KPI)")
    p.add_argument("--n", type=int, default=DEFAULT_N, help=f"how many similar kommuner (default {DEFAULT_N})")
    p.add_argument("--config", help="use this config's [source] settings and its dataset (output/<config name>/)")
    p.add_argument("--format", choices=FORMATS, default="text", help="text (default), csv or json for scripts")
    p.set_defaults(func=func)


def _weights(items: list[str]) -> dict[str, object]:
    from .similar import SimilarError

    weights: dict[str, object] = {}
    for item in items:
        kpi, sep, text = item.partition("=")
        if not sep:
            raise SimilarError(f"--weight {item!r}: write KPI=WEIGHT, e.g. --weight N01951=2")
        try:
            weights[kpi.strip()] = float(text)
        except ValueError:
            weights[kpi.strip()] = text.strip()  # make_recipe says what a weight must be
    return weights


def set_spec(args: argparse.Namespace, config: Config | None) -> SimilarSpec:
    """The `similar = …` of the config's set `--set NAME`; a clear refusal when there is none."""
    import difflib

    from .similar import SimilarError

    if config is None:
        raise SimilarError("--set names a comparison set of a config: give --config F too")
    sets = {k: s for k, s in config.comparison_sets.items() if k}
    spec = sets.get(args.set)
    if spec is None:
        near = difflib.get_close_matches(args.set, list(sets), n=3, cutoff=0.5)
        raise SimilarError(f"--set: {config.path} has no [comparisons.{args.set}]"
                           f"{'; did you mean ' + ', '.join(near) + '?' if near else ''} "
                           f"(sets: {', '.join(sets) or 'none'})")
    computed = dict(spec.computed).get("similar")
    if computed is None:
        raise SimilarError(f"--set: [comparisons.{args.set}] in {config.path} has no similar = …; "
                           "its members are Kolada groups or listed municipalities")
    if args.year is not None or args.n != DEFAULT_N or args.weight or args.log:
        raise SimilarError(f"--set: the recipe is the config's ([comparisons.{args.set}] similar); "
                           "leave out --year, --n, --log and --weight")
    return computed  # type: ignore[return-value]


def recipe_of(args: argparse.Namespace, config: Config | None) -> tuple[Recipe, str]:
    """The recipe the arguments ask for and how messages name its origin; a SimilarError when it is wrong."""
    from .similar import SimilarError, make_recipe
    from .similar_models import model
    from .similar_spec import similar_place

    if args.municipality is None and config is None:
        raise SimilarError("name the home kommun, e.g. `harvester similar Sala --model ifo`, or give --config")
    if args.set:
        spec = set_spec(args, config)
        assert config is not None
        if args.municipality not in (None, config.home):
            raise SimilarError(f"--set computes {config.path}'s own set for its home {config.home!r}: leave out "
                               f"{args.municipality!r}")
        return spec.recipe, similar_place(config.path, args.set)
    if args.model:
        return model(args.model, "--model").recipe(year=args.year, n=args.n), f"--model {args.model}"
    listed = [k for k in args.kpis.split(",")]
    logged = [k for k in args.log.split(",") if k.strip()]
    return make_recipe(listed, log=logged, weights=_weights(args.weight), year=args.year, n=args.n,
                       where="--kpis"), "--kpis"


def run_similar(args: argparse.Namespace, client: KoladaClient, root: Path, recipe: Recipe, where: str,
                config: Config | None) -> int:
    from .config import SourceSettings
    from .similar_print import render
    from .similar_run import similar

    outcome = similar(client, root, args.municipality or (config.home if config else ""), recipe, where=where,
                      path=config.path if config else Path("harvester similar"),
                      source=config.source if config else SourceSettings(), today=date.today())
    result = outcome.harvest
    if outcome.similar is None:
        print(f"harvester: error: Kolada could not be read and the dataset has no values of "
              f"{', '.join(recipe.kpis)}: {result.failures[0] if result.failures else result.message}", file=sys.stderr)
        return ExitCode.UPSTREAM
    if result.failures:
        log.warning("similar: computed from the stored values; the fetch had problems: %s", result.failures[0])
    log.info("similar: %s %s in %.1f s, %d requests (%d from cache)", where, result.outcome, result.seconds,
             result.requests, result.cached)
    if args.set:
        _store_vintage(root, args.set, set_spec(args, config), outcome)
    sys.stdout.write(render(outcome.similar, outcome.titles, args.format))
    return ExitCode.OK


def _store_vintage(root: Path, key: str, spec: SimilarSpec, outcome: Any) -> None:
    """The computed set as a new vintage of its group in groups.parquet (when title, members or recipe changed)."""
    import pandas as pd

    from . import store
    from .resolve import groups_table
    from .similar_spec import group_of

    group = group_of(key, spec, outcome.similar, outcome.titles, outcome.kpi_titles)
    table = groups_table(store.read_table(root, "groups"), [group], pd.Timestamp.now(tz="UTC").floor("us"))
    if store.holds(root, "groups", table):
        return
    txn = store.Transaction(root, f"{outcome.harvest.run_id}-similar")
    txn.stage_table("groups.parquet", table)
    txn.commit()
    log.info("similar: stored %s in groups.parquet", group["title"])
