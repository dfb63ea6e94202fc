"""How fast `harvester compare` turns a dataset into every document, measured on the real snapshot.

Two datasets are harvested from the fake Kolada (serving ../shared/kolada, fast rate, nothing
measured there): the shipped config (5 indicators, 24 peers) and a large one (every IFO KPI with
values, 168, against "Alla kommuner" G2328, 290 kommuner, 2000–2022). Then `harvester compare`
runs on each as a child process; wall time and the peak memory of its whole process tree (the
compare and its chart workers: proportional set size, sampled from /proc every 0.1 s, beside the
kernel's peak RSS of its largest process) are reported, for the parallel
chart rendering and for one process (`--workers 1`) side by side, so the ratio comes from one run.
The shipped config's compare is also timed in-process after imports (the ≤ 2 s target).

    .venv/bin/python -m bench.compare_bench                           # about 4 minutes on 2 cores
    .venv/bin/python -m bench.compare_bench --datasets /tmp/cmp-data  # harvest once, reuse afterwards
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.run import describe_machine, ifo_kpis, write_large_config  # noqa: E402
from tests.fake_kolada import FakeKolada, KoladaData, require_shared  # noqa: E402

BIG_GROUP = "G2328"  # Alla kommuner (ovägt medel): 290 members


def pss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _children(pid: int) -> list[int]:
    """A process's children from /proc/<pid>/task/*/children: a few reads, where a walk over every
    /proc entry reads the stat of each process on the machine at each sample."""
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            found += [int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
    except OSError:
        pass
    return found


def tree_pss_kib(root: int) -> int:
    """Memory of a process and all its descendants, from /proc: the proportional set size, so pages the
    chart workers share with the process they were forked from count once, not once per process."""
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        stack += _children(pid)
        total += pss_kib(pid)
    return total


# Every 0.1 s. Reading smaps_rollup walks the page tables of a process under its memory lock, which the
# process then waits for: sampled every 20 ms, the sampler made the large compare 5 s slower (24–26 s
# against 19 s under /usr/bin/time). The peaks worth catching (the Word report, about 1 s) last longer.
SAMPLE_EVERY = 0.1


def _cpu_busy(seconds: float = 1.0) -> float:
    """The share of all CPUs' time not idle over `seconds`, from /proc/stat."""
    def sample() -> tuple[int, int]:
        fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        return sum(fields), fields[3] + fields[4]  # idle and iowait
    total0, idle0 = sample()
    time.sleep(seconds)
    total1, idle1 = sample()
    return 1 - (idle1 - idle0) / max(1, total1 - total0)


BUSY = 0.1  # above this share of the CPUs in use by others, a run waits (the machine is shared with builds)
busy_starts = 0  # runs that started on a busy machine after waiting a minute


def _wait_for_quiet(limit: float = 60.0) -> None:
    """Wait until the CPUs are idle for a second (at most `limit` s): wall time on a 2-core machine that
    another build is using says more about that build than about the compare."""
    global busy_starts
    deadline = time.monotonic() + limit
    while _cpu_busy() > BUSY:
        if time.monotonic() > deadline:
            busy_starts += 1
            return


# The command runs under a small launcher that forks it and reads its rusage. Linux carries a process's
# peak RSS over fork and exec, so a compare started straight from this process (the fake's catalogue
# in memory) would report this process's peak as its own; the launcher's (about 10 MB) is below any compare's.
LAUNCHER = ("import os, sys\n"
            "pid = os.fork()\n"
            "if pid == 0:\n"
            "    os.execvp(sys.argv[2], sys.argv[2:])\n"
            "_, status, usage = os.wait4(pid, 0)\n"
            "open(sys.argv[1], 'w').write(f'{usage.ru_maxrss} {usage.ru_utime + usage.ru_stime}')\n"
            "sys.exit(os.waitstatus_to_exitcode(status))\n")


@dataclass(frozen=True)
class Timed:
    wall: float  # seconds
    tree_mb: float  # peak PSS of the whole process tree, sampled (SAMPLE_EVERY)
    main_mb: float  # peak PSS of the main process, sampled
    max_rss_mb: float  # the kernel's peak RSS of the largest single process (its rusage), not sampled
    cpu: float  # user + system seconds of the tree (less sensitive than wall time to a busy machine)


def timed(cmd: list[str], env: dict[str, str], cwd: Path = REPO) -> Timed:
    """One run of `cmd` as a child process (under LAUNCHER), measured. `cwd` is where `python -m harvester`
    finds the package: this checkout, or another (`--against`)."""
    _wait_for_quiet()
    with tempfile.TemporaryDirectory() as scratch:
        usage_file, err_file = Path(scratch) / "usage", Path(scratch) / "stderr"
        started = time.perf_counter()
        with open(err_file, "w") as err:
            proc = subprocess.Popen([sys.executable, "-c", LAUNCHER, str(usage_file), *cmd], cwd=cwd,
                                    env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=err)
            peak = main_peak = 0
            done = threading.Event()

            def sample() -> None:
                nonlocal peak, main_peak
                while not done.wait(SAMPLE_EVERY):
                    command = _children(proc.pid)  # the launcher's one child; the launcher itself not counted
                    peak = max(peak, sum(tree_pss_kib(c) for c in command))
                    main_peak = max(main_peak, sum(pss_kib(c) for c in command))

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            try:
                proc.wait(timeout=1800)  # a compare that hangs ends the bench, not the machine's afternoon
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            wall = time.perf_counter() - started
            done.set()
            sampler.join()
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {err_file.read_text()[-2000:]}")
        max_rss, cpu = usage_file.read_text().split()
    return Timed(wall, peak / 1024, main_peak / 1024, int(max_rss) / 1024, float(cpu))


def harvest(fake: FakeKolada, config: Path, out: Path) -> None:
    cmd = [sys.executable, "-m", "harvester", "fetch", "--config", str(config), "--api-url", fake.base_url,
           "--output", str(out), "--no-cache", "--quiet"]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    if done.returncode not in (0, 5):
        raise SystemExit(f"harvest failed: {done.stderr[-2000:]}")


def in_process_seconds(config: Path, out: Path) -> float:
    """The shipped compare after imports, as a person at a terminal waits for it."""
    _wait_for_quiet()
    code = ("import time, sys; from pathlib import Path; from harvester.config import load_config; "
            "from harvester.report import write_report; c = load_config(sys.argv[1]); t = time.perf_counter(); "
            "write_report(c, Path(sys.argv[2]), force=True); print(time.perf_counter() - t)")
    done = subprocess.run([sys.executable, "-c", code, str(config), str(out)], cwd=REPO, capture_output=True,
                          text=True, check=True)
    return float(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=REPO / "bench" / "compare_results.md")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (the datasets and documents)")
    parser.add_argument("--against", type=Path, metavar="CHECKOUT",
                        help="also time the large compare of the code in CHECKOUT (another commit, e.g. from "
                             "`git archive`), taking turns with this one on the same dataset, so that a before and "
                             "after come from one run on a machine whose speed varies")
    parser.add_argument("--turns", type=int, default=3, help="runs of each code with --against (default 3)")
    parser.add_argument("--datasets", type=Path, metavar="DIR",
                        help="harvest into DIR only what is not there yet, and keep it: the harvest is most of a "
                             "run's time, and a compare does not change its dataset")
    args = parser.parse_args(argv)
    shared = require_shared()
    if args.datasets is not None:
        args.datasets.mkdir(parents=True, exist_ok=True)
        return _measure(args, shared, args.datasets)
    work = Path(tempfile.mkdtemp(prefix="compare-bench-"))
    try:
        return _measure(args, shared, work)
    finally:
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)  # two datasets and their documents: 56 MB a run


def _measure(args: argparse.Namespace, shared: Path, work: Path) -> int:
    kpis, titles = ifo_kpis(shared)
    large = write_large_config(work / "large.toml", kpis, titles, "0484", [])
    text = large.read_text(encoding="utf-8").replace("[comparison]\nmunicipalities = []",
                                                     f'[source]\nrate = 1000\n\n[comparison]\ngroups = ["{BIG_GROUP}"]\nmunicipalities = []')
    large.write_text(text, encoding="utf-8")
    shipped = REPO / "config" / "kpis.toml"
    # A dataset with runs.parquet was committed by a harvest: reused as it is.
    missing = [(config, work / name) for config, name in ((shipped, "shipped"), (large, "large"))
               if not (work / name / "runs.parquet").is_file()]
    if missing:
        with FakeKolada(KoladaData.from_shared(shared)) as fake:
            for config, out in missing:
                harvest(fake, config, out)
    rows = []
    for name, config, out, n in (("shipped config", shipped, work / "shipped", 5),
                                 (f"IFO {len(kpis)} indicators × {BIG_GROUP} (290 kommuner)", large, work / "large",
                                  len(kpis))):
        base = [sys.executable, "-m", "harvester", "compare", "--config", str(config), "--output", str(out), "--quiet",
                "--force"]  # every file rendered each time: the documents would be kept otherwise
        parallel = timed(base, {})
        serial = timed(base, {"HARVESTER_CHART_WORKERS": "1"})
        rows.append((name, n, parallel, serial))
    after_imports = in_process_seconds(shipped, work / "shipped")
    machine = describe_machine()
    lines = [f"Machine: {machine['CPU']}, {machine['logical CPUs']} logical CPUs, {machine['RAM']} RAM, "
             f"{machine['Python']}; commit {machine['commit']}.", "",
             "| dataset | indicators | with chart workers: wall s | CPU s | peak MB, all processes | "
             "peak MB, main process | peak RSS MB, largest process | one process: wall s | CPU s | peak MB | "
             "with workers / one process (time) |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, n, par, one in rows:
        lines.append(f"| {name} | {n} | {par.wall:.1f} | {par.cpu:.1f} | {par.tree_mb:.0f} | {par.main_mb:.0f} | "
                     f"{par.max_rss_mb:.0f} | {one.wall:.1f} | {one.cpu:.1f} | {one.tree_mb:.0f} | {par.wall / one.wall:.2f} |")
    large_run = rows[1][2]
    wall, tree, main_only = large_run.wall, large_run.tree_mb, large_run.main_mb
    lines += ["", f"Shipped config, compare in-process after imports: {after_imports:.2f} s (target ≤ 2 s).", "",
              f"Large compare: {wall:.1f} s (target ≤ 20 s: {'met' if wall <= 20 else 'NOT met'}); main process "
              f"{main_only:.0f} MB, all processes {tree:.0f} MB (target < 400 MB: "
              f"{'met' if tree < 400 else 'met by the main process only' if main_only < 400 else 'NOT met'})."]
    if args.against is not None:
        lines += ["", *_turns(args, large, work / "large")]
    lines += ["", f"Runs that started on a busy machine (after waiting 60 s for idle CPUs): {busy_starts}."]
    report = "\n".join(lines) + "\n"
    print(report)
    args.results.write_text(report, encoding="utf-8")
    return 0


def _turns(args: argparse.Namespace, config: Path, out: Path) -> list[str]:
    """The large compare of `--against` and of this checkout in turn, with chart workers: each code's
    median and range, so that the machine's drift (other builds, a busy host) hits both alike."""
    cmd = [sys.executable, "-m", "harvester", "compare", "--config", str(config), "--output", str(out), "--quiet",
           "--force"]
    runs: dict[str, list[Timed]] = {"against": [], "this": []}
    for _ in range(args.turns):
        runs["against"].append(timed(cmd, {}, cwd=args.against.resolve()))
        runs["this"].append(timed(cmd, {}))

    def spread(values: list[float], digits: int) -> str:
        return f"{statistics.median(values):.{digits}f} ({min(values):.{digits}f}–{max(values):.{digits}f})"

    lines = [f"Large compare with chart workers, {args.turns} turns each, {args.against} first in each turn "
             "(median, range in brackets):", "",
             "| code | wall s | CPU s | peak MB, all processes | peak MB, main process | peak RSS MB, largest process |",
             "|---|---|---|---|---|---|"]
    for name, label in (("against", str(args.against)), ("this", "this checkout")):
        done = runs[name]
        lines.append(f"| {label} | {spread([t.wall for t in done], 1)} | {spread([t.cpu for t in done], 1)} | "
                     f"{spread([t.tree_mb for t in done], 0)} | {spread([t.main_mb for t in done], 0)} | "
                     f"{spread([t.max_rss_mb for t in done], 0)} |")
    return lines


if __name__ == "__main__":
    sys.exit(main())
