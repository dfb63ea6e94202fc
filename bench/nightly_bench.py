"""What a nightly `harvester run` costs when the source has nothing new, beside `fetch` alone.

The shipped config is harvested and compared once from the fake Kolada (serving ../shared/kolada);
then, on that unchanged dataset, each of these runs `--repeat` times as a child process, in turn:
`fetch` (the floor: the requests that find nothing new), `run` (fetch, then compare, which keeps every
document: the nightly job), and `run --force` (compare renders and writes everything, as every
nightly run did before documents were reused). For each: the median wall time, its ratio to the
fetch's, and how many of compare's files got a new mtime.

    .venv/bin/python -m bench.nightly_bench            # about 1 minute on 2 cores
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.run import describe_machine  # noqa: E402
from harvester import reuse  # noqa: E402
from tests.fake_kolada import FakeKolada, KoladaData, require_shared  # noqa: E402


def mtimes(out: Path) -> dict[str, int]:
    """mtime of every file compare last recorded (its documents, tables, charts and data files)."""
    return {r: (out / r).stat().st_mtime_ns for r in reuse.read_record(out).files if (out / r).exists()}


def once(cmd: list[str]) -> tuple[float, int]:
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 3):  # 3: nothing new, which is the case measured
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr[-2000:]}")
    return seconds, done.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--config", type=Path, default=REPO / "config" / "kpis.toml")
    args = parser.parse_args(argv)
    shared = require_shared()
    with tempfile.TemporaryDirectory(prefix="nightly-bench-") as tmp, FakeKolada(KoladaData.from_shared(shared)) as fake:
        out, cache = Path(tmp) / "out", Path(tmp) / "http-cache.sqlite"
        base = ["--config", str(args.config), "--api-url", fake.base_url, "--output", str(out), "--cache", str(cache),
                "--quiet"]
        once([sys.executable, "-m", "harvester", "run", *base])  # the cold run: dataset and documents
        rows = []
        for name, extra in (("fetch", ["fetch"]), ("run, nothing new", ["run"]), ("run --force", ["run", "--force"])):
            walls, rewritten = [], []
            for _ in range(args.repeat):
                before = mtimes(out)
                seconds, _code = once([sys.executable, "-m", "harvester", *extra[:1], *base, *extra[1:]])
                after = mtimes(out)
                walls.append(seconds)
                rewritten.append(sum(after.get(r) != t for r, t in before.items()))
            rows.append((name, statistics.median(walls), max(rewritten), len(before)))
    fetch_wall = rows[0][1]
    machine = describe_machine()
    lines = [f"Machine: {machine['CPU']}, {machine['logical CPUs']} logical CPUs, {machine['RAM']} RAM, "
             f"{machine['Python']}; commit {machine['commit']}; config {args.config.name}; median of {args.repeat}.",
             "", "| command on an unchanged dataset | wall s | × fetch | compare's files rewritten |", "|---|---|---|---|"]
    for name, wall, rewritten, total in rows:
        lines.append(f"| {name} | {wall:.2f} | {wall / fetch_wall:.2f} | {rewritten} of {total} |")
    ratio = rows[1][1] / fetch_wall
    lines += ["", f"Nightly run with nothing new: {ratio:.2f} × the fetch alone (target ≤ 1.5: "
                  f"{'met' if ratio <= 1.5 else 'NOT met'})."]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
