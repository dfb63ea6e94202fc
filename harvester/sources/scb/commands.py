"""`harvester scb search` and `harvester scb show`: what a config author asks SCB before writing an indicator.

The command line gives the shared options (`parents`) and how to connect (`connect(args)`, a client of
this source made from `--scb-api-url`, the environment or `--config`); the words are SCB's.
"""
from __future__ import annotations

import argparse
from collections.abc import Callable
from itertools import islice
from typing import Any, ContextManager

from ...errors import ConfigError, RequestRefused
from ...exitcodes import ExitCode
from .client import ScbClient, refused_table
from .describe import show_lines, table_line
from .resolve import suggest_tables

Connect = Callable[[argparse.Namespace], ContextManager[ScbClient]]
Found = Callable[[list[str], str], int]  # hits → exit code (none found is exit 2 with a line on stderr)


def add_commands(sub: Any, parents: list[argparse.ArgumentParser], connect: Connect, found: Found) -> None:
    scb = sub.add_parser("scb", help="find SCB tables and their codes for an SCB indicator",
                         description="Find SCB tables (search) and the codes an indicator needs (show).")
    actions = scb.add_subparsers(dest="action", required=True, metavar="ACTION")
    s = actions.add_parser("search", parents=parents, help="search SCB's tables by words",
                           description="Search SCB's tables: id, label, first–last period, last update.")
    s.add_argument("words", nargs="+", help="words of the table label, or a table id")
    s.add_argument("--limit", type=int, default=40, help="at most this many tables (default 40)")
    s.set_defaults(func=lambda args: search(args, connect, found))
    s = actions.add_parser("show", parents=parents, help="variables, codes and contents of a table",
                           description="A table's variables and codes: what select must fix, what may be left "
                                       "out, and the contents codes with units.")
    s.add_argument("table", help="table id, e.g. TAB6260")
    s.add_argument("--all", action="store_true", help="list every code, including regions and periods")
    s.set_defaults(func=lambda args: show(args, connect))


def search(args: argparse.Namespace, connect: Connect, found: Found) -> int:
    """SCB's table search, one line per table."""
    words = " ".join(args.words)
    with connect(args) as client:
        hits = list(islice(client.search(words), args.limit))
    return found([table_line(entry) for entry in hits], f"no SCB table matches {words!r}")


def show(args: argparse.Namespace, connect: Connect) -> int:
    """Variables, codes and contents with units, as a config needs them."""
    table = args.table.strip().upper()
    with connect(args) as client:
        try:
            entry = client.table(table)
        except RequestRefused as exc:
            if refused_table(exc):
                raise ConfigError(f"SCB has no table {table}{suggest_tables(client, table)}") from None
            raise
        meta = client.metadata(table, str(entry.get("updated") or ""))
    for line in show_lines(meta, args.all):
        print(line)
    return ExitCode.OK
