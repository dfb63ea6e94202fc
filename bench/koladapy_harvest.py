"""The same harvest done the way a koladapy user would do it, for the benchmark in `bench/run.py`.

    python bench/koladapy_harvest.py --api-url http://127.0.0.1:PORT/v3 --output OUT/values.parquet \
        --kpis N35001,N30101 --home 0484 --groups G36484,G92790 --riket --years 2015-2026

or, for the large harvest, `--kpis-file FILE --all-kommuner --riket --years 2000-2022`.

What it does, with koladapy's public API only (no private helpers, no tuning of its internals):
1. resolve the areas: `get_municipality_group(id)` per group (members) plus the home municipality,
   or `get_municipalities(municipality_type="K")` for all kommuner; Riket `0000` when asked;
2. KPI metadata: `get_kpis(ids, as_dataframe=True)` (koladapy batches it by 25 ids), stored next to
   the values as `kpis.parquet` because our harvester stores the same metadata;
3. the data: one `get_data_as_dataframe(kpi_id=[...], municipality_id=[...], years=[...])` call;
4. `DataFrame.to_parquet(output)`.

koladapy keeps no state between runs, so a rerun is this whole script again. It prints one JSON
line with what it did on stdout; everything else (its tqdm bars, logging) goes to stderr.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

RIKET = "0000"


def _years(text: str) -> list[int]:
    first, _, last = text.partition("-")
    return list(range(int(first), int(last or first) + 1))


def _ids(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--api-url", required=True, help="Kolada v3 base URL, e.g. http://127.0.0.1:8765/v3")
    p.add_argument("--output", required=True, type=Path, help="Parquet file for the values")
    p.add_argument("--kpis", help="comma-separated KPI ids")
    p.add_argument("--kpis-file", type=Path, help="file with one KPI id per line")
    p.add_argument("--home", help="home municipality id")
    p.add_argument("--groups", help="comma-separated municipality group ids whose members are peers")
    p.add_argument("--all-kommuner", action="store_true", help="all municipalities of type K")
    p.add_argument("--riket", action="store_true", help="add Riket (0000)")
    p.add_argument("--years", required=True, help="e.g. 2000-2022")
    p.add_argument("--rate", type=float, default=5.0, help="koladapy's max_requests_per_second (default 5)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    import pandas as pd  # noqa: F401  (koladapy imports it anyway; imported here so the timing is honest)
    from koladapy import KoladaAPI

    kpis = _ids(args.kpis)
    if args.kpis_file:
        kpis += [line.strip() for line in args.kpis_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not kpis:
        print("no KPIs given", file=sys.stderr)
        return 2
    years = _years(args.years)
    # koladapy joins endpoints with urljoin, so the base URL must end with a slash.
    api = KoladaAPI(base_url=args.api_url.rstrip("/") + "/", max_requests_per_second=args.rate)

    areas: list[str] = []
    if args.all_kommuner:
        areas += [str(m["id"]) for m in api.get_municipalities(municipality_type="K")]
    for group_id in _ids(args.groups):
        areas += [str(m["member_id"]) for m in api.get_municipality_group(group_id).get("members", [])]
    if args.home:
        areas.append(args.home)
    if args.riket:
        areas.append(RIKET)
    areas = sorted(set(areas))

    args.output.parent.mkdir(parents=True, exist_ok=True)
    meta = api.get_kpis(kpis, as_dataframe=True)
    meta.to_parquet(args.output.parent / "kpis.parquet", index=False)

    frame = api.get_data_as_dataframe(kpi_id=kpis, municipality_id=areas, years=years)
    frame.to_parquet(args.output, index=False)

    print(json.dumps({"rows": int(len(frame)), "kpis": len(kpis), "areas": len(areas), "years": [years[0], years[-1]],
                      "kpi_metadata": int(len(meta)), "seconds": round(time.perf_counter() - started, 3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
