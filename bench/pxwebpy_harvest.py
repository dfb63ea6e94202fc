"""The same SCB harvest done the way a pxwebpy user would do it, for the benchmark in `bench/scb_bench.py`.

    python bench/pxwebpy_harvest.py --api-url http://127.0.0.1:PORT/api/v2 --output OUT/values.parquet \
        --table TAB638 --contents BE0101N1 --regions-file REGIONS.txt --periods 2000,2001,… \
        --kon 1,2 --kon-total eliminate

What it does, with pxwebpy's public API only (no private helpers, no tuning of its internals):
1. `PxApi(url, language="sv")`: pxwebpy reads `/config` (its cell and call limits) and `/tables`;
2. one `get_table_data(table, value_codes={...}, show="code")` for the sexes (`--kon`), which pxwebpy
   splits under `maxDataCells` and sends from its thread pool, throttled to the announced call limit;
3. the total: a second call with Kon left out (`--kon-total eliminate`, TAB638 has no total code),
   or the total code in the first call's list (`--kon 1,2,1+2` for TAB6260);
4. `DataFrame.to_parquet(output)`.

The caller hands it the exact codes to ask for (which regions and periods the table has, which month):
pxwebpy checks nothing against the table's metadata, so an unknown code would fail the whole call.
pxwebpy keeps no state between runs, so a rerun is this whole script again. It prints one JSON line
with what it did on stdout.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def _codes(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--api-url", required=True)
    p.add_argument("--output", type=Path, required=True)
    p.add_argument("--table", required=True)
    p.add_argument("--contents", required=True)
    p.add_argument("--select", action="append", default=[], help="VAR=CODE, a fixed variable (repeatable)")
    p.add_argument("--regions-file", type=Path, required=True, help="one SCB Region code per line")
    p.add_argument("--periods", type=_codes, required=True, help="Tid codes, comma-separated")
    p.add_argument("--kon", type=_codes, required=True, help="Kon codes to ask for, comma-separated")
    p.add_argument("--kon-total", choices=("eliminate", "none"), default="none",
                   help="also ask for the total with Kon left out")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import pandas as pd
    from pxweb import PxApi

    started = time.perf_counter()
    api = PxApi(args.api_url, language="sv")
    regions = [line.strip() for line in args.regions_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    codes: dict[str, list[str]] = {"Region": regions, "ContentsCode": [args.contents], "Tid": args.periods}
    codes.update({var: [code] for var, _, code in (s.partition("=") for s in args.select)})
    rows = api.get_table_data(args.table, value_codes={**codes, "Kon": args.kon}, show="code")
    calls = 1
    if args.kon_total == "eliminate":
        rows += api.get_table_data(args.table, value_codes=codes, show="code")
        calls += 1
    frame = pd.DataFrame(rows)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(args.output, index=False)
    print(json.dumps({"rows": len(frame), "columns": list(frame.columns), "get_table_data_calls": calls,
                      "seconds": round(time.perf_counter() - started, 3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
