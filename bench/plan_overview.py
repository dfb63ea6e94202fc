"""The overview of a mixed Kolada + SCB plan: how many rows show the home's figures, and how long the compare takes.

The real Kolada snapshot (Eskilstuna's values end in 2022) and the fake SCB (a monthly series to
2025) are served locally; the config is harvested once, then compared in-process after imports
(best of three). Counted from `tables/overview.md` and `benchmark.csv`: rows whose home has a value
in the benchmark but whose overview row shows none, and the title line's "how far data reach".

    .venv/bin/python -m bench.plan_overview                          # config/examples/plan.toml
    .venv/bin/python -m bench.plan_overview --config other.toml      # any Kolada + SCB config
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.compare_bench import in_process_seconds  # noqa: E402
from tests.fake_kolada import FakeKolada, KoladaData  # noqa: E402
from tests.fake_scb import FakeScb, ScbData  # noqa: E402

MISSING = "–"


def flat(text: str) -> str:
    """Labels as the CSV has them: the overview's unbreakable spaces read as spaces."""
    return text.replace("\u00a0", " ")


def overview_rows(md: str) -> tuple[list[str], list[list[str]]]:
    rows = [[c.strip() for c in line.strip("|").split(" | ")] for line in md.splitlines()
            if line.startswith("|") and not line.startswith("|:")]
    return rows[0], rows[1:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=REPO / "config" / "examples" / "plan.toml")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="plan-bench-") as work, \
            FakeKolada(KoladaData.from_shared()) as kolada, FakeScb(ScbData.from_shared()) as scb:
        out = Path(work) / "out"
        done = subprocess.run([sys.executable, "-m", "harvester", "fetch", "--config", str(args.config),
                               "--api-url", kolada.base_url, "--scb-api-url", scb.base_url, "--output", str(out),
                               "--no-cache", "--quiet"], cwd=REPO, capture_output=True, text=True)
        if done.returncode not in (0, 5):
            raise SystemExit(f"harvest failed: {done.stderr[-2000:]}")
        seconds = min(in_process_seconds(args.config, out) for _ in range(3))
        header, rows = overview_rows((out / "tables" / "overview.md").read_text(encoding="utf-8"))
        bench = pd.read_csv(out / "benchmark.csv", dtype={"home_id": str})
        with_home = {flat(label) for label in bench.loc[bench["home_value"].notna(), "label"]}
        shown = [h for h in header if h[:4].isdigit() or h.startswith("Senaste värde")]
        blank = [r[0] for r in rows if all(r[header.index(h)] == MISSING for h in shown)
                 and any(flat(r[0]).startswith(label) for label in with_home)]
        subtitle = next(line for line in (out / "report.html").read_text(encoding="utf-8").splitlines()
                        if line.startswith("<p>"))
    print(f"config {args.config.relative_to(REPO) if args.config.is_relative_to(REPO) else args.config}: "
          f"{len(rows)} indicators, columns {' | '.join(header)}")
    print(f"rows blank although the home has values: {len(blank)}{': ' + '; '.join(blank) if blank else ''}")
    print(f"title line: {subtitle.removeprefix('<p>').removesuffix('</p>')}")
    print(f"compare in-process after imports, best of 3: {seconds:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
