"""Serve a fake SCB PxWebApi 2.0 locally, for trying the SCB client by hand.

Values are SYNTHETIC and deterministic, except TAB638 BE0101N1 population totals 1994-2022, which are real
(../shared/scb/population.parquet). Never quote a figure from this server.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tests.fake_http import serve_until_signalled

from .data import ScbData, shared_path
from .server import FakeScb


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tests.fake_scb", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=None,
                        help="folder with recorded/ and population.parquet (default: $SCB_SHARED or <repo>/../shared/scb)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8766, help="0 picks a free port")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds slept before each answer")
    parser.add_argument("--max-cells", type=int, default=150_000, help="maxDataCells")
    parser.add_argument("--max-calls", type=int, default=30, help="maxCallsPerTimeWindow")
    parser.add_argument("--time-window", type=int, default=10, help="timeWindow in seconds")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        data = ScbData.from_shared(args.shared or shared_path())
    except FileNotFoundError as error:
        print(error, file=sys.stderr)
        return 2
    fake = FakeScb(data, args.max_cells, args.max_calls, args.time_window, args.latency, host=args.host, port=args.port)
    serve_until_signalled(fake, lambda: fake.base_url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
