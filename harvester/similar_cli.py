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

if TYPE_CHECKING:
    from .config import Config
    from .similar import Recipe
    from .sources.kolada.client import KoladaClient

log = logging.getLogger("harvester")


def add_similar_parser(sub: Any, parents: list[argparse.ArgumentParser],
                       func: Callable[[argparse.Namespace], int]) -> None:
    from .similar_print import FORMATS

    text = ("the kommuner most similar to one in structural KPIs, with each KPI's share of the distance "
            "(docs/similar.md)")
    p = sub.add_parser("similar", parents=parents, help=text, description=text)
    p.add_argument("municipality", help="the home kommun: id or name, e.g. 1981 or Sala")
    how = p.add_mutually_exclusive_group(required=True)
    how.add_argument("--kpis", help="structural KPIs, comma-separated, e.g. N01951,N02926,N03920")
    how.add_argument("--model", help="a shipped model: ifo, arbetsmarknad, aldreomsorg")
    p.add_argument("--log", default="", help="KPIs (of --kpis) taken as natural logarithms, e.g. N01951")
    p.add_argument("--weight", action="append", default=[], metavar="KPI=W",
                   help="weight of a KPI in the distance (default 1 each); repeat for several")
    p.add_argument("--year", type=int, help="the year of the values (default: the latest in which 90 %% of "
                                            "kommuner have every KPI)")
    p.add_argument("--n", type=int, default=7, help="how many similar kommuner (default 7)")
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


def recipe_of(args: argparse.Namespace, config: Config | None) -> tuple[Recipe, str]:
    """The recipe the arguments ask for and how messages name its origin; a SimilarError when it is wrong."""
    from .similar import make_recipe
    from .similar_models import model

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

    outcome = similar(client, root, args.municipality, recipe, where=where,
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
    sys.stdout.write(render(outcome.similar, outcome.titles, args.format))
    return ExitCode.OK
