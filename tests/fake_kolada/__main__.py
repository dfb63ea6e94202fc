"""Serve the real Kolada snapshot locally, for trying the harvester or koladapy by hand."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tests.fake_http import serve_until_signalled

from .data import KoladaData, shared_path
from .server import FakeKolada


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tests.fake_kolada", description=__doc__)
    parser.add_argument("--shared", type=Path, default=None,
                        help="folder with catalog/ and values.parquet (default: $KOLADA_SHARED or <repo>/../shared/kolada)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds slept before each answer")
    parser.add_argument("--per-page-cap", type=int, default=None, help="silently cap per_page at this")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        data = KoladaData.from_shared(args.shared or shared_path())
    except FileNotFoundError as error:
        print(error, file=sys.stderr)
        return 2
    fake = FakeKolada(data, args.latency, args.per_page_cap, args.host, args.port)
    serve_until_signalled(fake, lambda: fake.base_url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
