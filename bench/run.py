"""Benchmark the harvester against koladapy on the fake Kolada: `.venv/bin/python -m bench.run [--quick]`.

The fake Kolada (tests/fake_kolada, serving ../shared/kolada) runs in this process with a fixed
latency per request. Every measured client runs as a child process, so its wall time, CPU time and
peak memory (`os.wait4` → `ru_maxrss`) are its own. Requests are counted where they arrive: in the
fake's request log, data and metadata alike, together with the most requests that started within
any one second. The result is printed as Markdown and written to bench/results.md (and the raw
numbers to bench/results.json). See bench/README.md for what each row means.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # tests.fake_kolada lives in the repo, not in the installed package

from harvester.sources.kolada.client import chunks as _chunks  # noqa: E402
from harvester.sources.kolada.client import MAX_IDS  # noqa: E402
from harvester.sources.kolada.queries import minimum_requests as _pages  # noqa: E402
from tests.fake_kolada import FakeKolada, KoladaData, shared_path  # noqa: E402

IFO = "Individ- och familjeomsorg"
RIKET = "0000"
SHIPPED = REPO / "config" / "kpis.toml"
SHIPPED_HOME, SHIPPED_GROUPS, SHIPPED_FROM = "0484", ("G36484", "G92790"), 2015
LARGE_YEARS = (2000, 2022)
CHANGE = ("N35001", "0484", 2022, "T")  # the value changed upstream before the incremental rerun
CHILD_TIMEOUT = 600.0  # seconds; a child that takes longer is killed and reported
OURS, KOLADAPY = "harvester", "koladapy"


# --- the machine ----------------------------------------------------------------------------------
def describe_machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    os_name = platform.platform()
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                os_name = f"{line.split('=', 1)[1].strip(chr(34))} ({platform.system()} {platform.release()})"
    except OSError:
        pass
    versions = []
    for dist in ("harvester", "koladapy", "pandas", "pyarrow", "requests", "requests-cache"):
        try:
            from importlib.metadata import version
            versions.append(f"{dist} {version(dist)}")
        except Exception:  # noqa: BLE001 - a missing package is shown, not fatal
            versions.append(f"{dist} missing")
    return {"CPU": cpu, "logical CPUs": str(os.cpu_count()), "RAM": ram,
            "Python": f"{platform.python_implementation()} {platform.python_version()}", "OS": os_name,
            "packages": ", ".join(versions), "commit": _commit()}


def _commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
                              timeout=10).stdout.strip()
        diff = subprocess.run(["git", "diff", "HEAD", "--", "harvester", "tests", "config"], cwd=REPO,
                              capture_output=True, text=True, timeout=10).stdout
        dirty = f" + uncommitted changes in harvester/tests/config (diff sha1 {hashlib.sha1(diff.encode()).hexdigest()[:10]})"
        return f"{head}{dirty if diff.strip() else ''}" if head else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


# --- what is harvested ----------------------------------------------------------------------------
@dataclass
class Harvest:
    name: str
    kpis: list[str]
    areas: list[str]
    years: list[int]
    config: Path  # our TOML
    koladapy_args: list[str]
    items: int = 0  # data items the wanted KPIs × areas × years hold
    minimum: int = 0  # ⌈items / 5000⌉: the floor for a full harvest
    changes_minimum: int = 0  # ⌈KPIs / 25⌉ × ⌈years / 25⌉: the floor for asking "what changed since"
    shape_pages: dict[str, int] = field(default_factory=dict)  # real pages of each query shape, KPIs in chunks of 25


def ifo_kpis(shared: Path) -> tuple[list[str], dict[str, str]]:
    """IFO KPIs that have values in the snapshot, in id order, with their titles."""
    catalogue = json.loads((shared / "catalog" / "kpi.json").read_text(encoding="utf-8"))
    with_values = set(pc.unique(pq.read_table(shared / "values.parquet", columns=["kpi"])["kpi"]).to_pylist())
    titles = {str(k["id"]): str(k["title"]) for k in catalogue}
    ifo = sorted(str(k["id"]) for k in catalogue if k.get("operating_area") == IFO and k["id"] in with_values)
    return ifo, titles


def kommuner(shared: Path) -> list[str]:
    municipalities = json.loads((shared / "catalog" / "municipality.json").read_text(encoding="utf-8"))
    return sorted(str(m["id"]) for m in municipalities if m.get("type") == "K")


def group_members(shared: Path, groups: tuple[str, ...]) -> set[str]:
    catalogue = json.loads((shared / "catalog" / "municipality_groups.json").read_text(encoding="utf-8"))
    return {str(m["member_id"]) for g in catalogue if g["id"] in groups for m in g.get("members", [])}


def _toml_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a valid TOML basic string


def write_large_config(path: Path, kpis: list[str], titles: dict[str, str], home: str, others: list[str]) -> Path:
    """All kommuner + Riket × the KPIs × 2000–2022; [source] left at its defaults (5 requests/s)."""
    lines = ["# generated by bench/run.py", "", "[home]", f"municipality = {_toml_string(home)}", "",
             "[comparison]", "municipalities = [" + ", ".join(_toml_string(m) for m in others) + "]",
             "riket = true", "", "[years]", f"from = {LARGE_YEARS[0]}", f"to = {LARGE_YEARS[1]}"]
    for kpi in kpis:
        lines += ["", "[[indicator]]", f"id = {_toml_string(kpi.lower())}", f"label = {_toml_string(titles[kpi])}",
                  f"kpi = {_toml_string(kpi)}", 'direction = "none"']
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def define_harvests(shared: Path, work: Path, quick: bool) -> tuple[list[Harvest], list[str]]:
    today = date.today()
    shipped_kpis = ["N35001", "N30101", "N33817", "N33802", "N15428"]  # config/kpis.toml, checked below
    from harvester.config import load_config
    shipped_cfg = load_config(SHIPPED)
    if (shipped_cfg.kpis != shipped_kpis or shipped_cfg.home != SHIPPED_HOME or shipped_cfg.groups != SHIPPED_GROUPS
            or shipped_cfg.year_from != SHIPPED_FROM or not shipped_cfg.riket or shipped_cfg.year_to is not None):
        shipped_kpis = shipped_cfg.kpis
        print("note: config/kpis.toml differs from the benchmark's description; its own values are used", file=sys.stderr)
    shipped_years = list(range(shipped_cfg.year_from, (shipped_cfg.year_to or today.year) + 1))
    shipped_areas = sorted(group_members(shared, shipped_cfg.groups) | {shipped_cfg.home} | ({RIKET} if shipped_cfg.riket else set()))
    harvests = [Harvest(
        name="shipped config", kpis=shipped_kpis, areas=shipped_areas, years=shipped_years, config=SHIPPED,
        koladapy_args=["--kpis", ",".join(shipped_kpis), "--home", shipped_cfg.home, "--groups", ",".join(shipped_cfg.groups),
                       "--years", f"{shipped_years[0]}-{shipped_years[-1]}"] + (["--riket"] if shipped_cfg.riket else []),
    )]
    ifo, titles = ifo_kpis(shared)
    all_k = kommuner(shared)
    others = [m for m in all_k if m != SHIPPED_HOME]
    years = list(range(LARGE_YEARS[0], LARGE_YEARS[1] + 1))
    sizes = [50] if quick else [50, 100, len(ifo)]
    for n in sizes:
        kpis = ifo[:n]
        config = write_large_config(work / f"ifo{n}.toml", kpis, titles, SHIPPED_HOME, others)
        kpi_file = work / f"ifo{n}.txt"
        kpi_file.write_text("\n".join(kpis) + "\n", encoding="utf-8")
        harvests.append(Harvest(
            name=f"IFO {n} KPIs" if n < len(ifo) else f"IFO all {n} KPIs (large)", kpis=kpis, areas=sorted(all_k + [RIKET]),
            years=years, config=config,
            koladapy_args=["--kpis-file", str(kpi_file), "--all-kommuner", "--riket", "--years", f"{years[0]}-{years[-1]}"],
        ))
    return harvests, ifo


SHAPES = ("filtered", "all areas", "all years")


def compute_minimums(data: KoladaData, harvests: list[Harvest]) -> None:
    """The floors, and the real pages each query shape costs (KPIs chunked by 25 in config order).

    Also loads every KPI the benchmark touches into the fake's memory, so no measured client pays for that.
    """
    for h in harvests:
        h.items = data.items(h.kpis, h.areas, h.years)
        h.minimum = _pages(h.items)
        h.changes_minimum = math.ceil(len(h.kpis) / MAX_IDS) * math.ceil(len(h.years) / MAX_IDS)
        kpi_chunks, area_chunks, year_chunks = _chunks(h.kpis), _chunks(h.areas), _chunks(h.years)
        h.shape_pages = {
            "filtered": sum(_pages(data.items(k, a, y)) for k in kpi_chunks for a in area_chunks for y in year_chunks),
            "all areas": sum(_pages(data.items(k, None, y)) for k in kpi_chunks for y in year_chunks),
            "all years": sum(_pages(data.items(k, a, None)) for k in kpi_chunks for a in area_chunks),
        }


# --- one measured run ----------------------------------------------------------------------------
@dataclass
class Measure:
    harvest: str
    client: str
    run: str
    data_requests: int = 0
    meta_requests: int = 0
    minimum: int | None = None
    max_in_1s: int = 0
    wall: float = 0.0
    cpu: float = 0.0
    peak_kib: int = 0
    parquet_bytes: int = 0
    rows: int = 0
    rows_per_s: float | None = None
    exit_code: int = 0
    note: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def requests(self) -> int:
        return self.data_requests + self.meta_requests

    @property
    def ratio(self) -> float | None:
        return self.data_requests / self.minimum if self.minimum else None


def max_starts_in_window(times: list[float], window: float = 1.0) -> int:
    """Most request starts inside any half-open window [t, t + window) (server-side arrival times)."""
    times = sorted(times)
    best, j = 0, 0
    for i, t in enumerate(times):
        j = max(j, i)
        while j < len(times) and times[j] < t + window:
            j += 1
        best = max(best, j - i)
    return best


def tightest_span(times: list[float], n: int) -> float | None:
    """Shortest time in which n consecutive requests started (n = 6 shows how close a client came to 6/s)."""
    times = sorted(times)
    if len(times) < n:
        return None
    return min(times[i + n - 1] - times[i] for i in range(len(times) - n + 1))


def settled_log(fake: FakeKolada) -> list:
    """The server logs a request after its answer is written: give the last handler a moment (bounded)."""
    count = -1
    for _ in range(40):
        entries = fake.log
        if len(entries) == count:
            return entries
        count = len(entries)
        time.sleep(0.05)
    return fake.log


class Launcher:
    """bench/spawn.py in a child process: it forks the clients, so their ru_maxrss is not inflated by ours."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "bench.spawn"], cwd=REPO, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, bufsize=1)

    def run(self, cmd: list[str], stdout: Path, stderr: Path) -> dict:
        """Run a client; return its exit code, wall s, CPU s, peak RSS KiB (that child alone), start and end times."""
        job = {"cmd": cmd, "cwd": str(REPO), "stdout": str(stdout), "stderr": str(stderr), "timeout": CHILD_TIMEOUT,
               "env": {"PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1"}, "unset": ["KOLADA_API_URL"]}
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps(job) + "\n")
        self.proc.stdin.flush()
        reply = json.loads(self.proc.stdout.readline() or '{"error": "launcher died"}')
        if "error" in reply:
            raise RuntimeError(f"bench/spawn.py: {reply['error']}")
        if reply["killed"]:
            reply["code"] = -9
        return reply

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=30)


LAUNCHER: Launcher | None = None


def measure(fake: FakeKolada, cmd: list[str], logs: Path, label: str) -> tuple[Measure, list]:
    fake.clear_log()
    assert LAUNCHER is not None
    child = LAUNCHER.run(cmd, logs / f"{label}.out", logs / f"{label}.err")
    entries = settled_log(fake)
    data = [e for e in entries if e.path.startswith("/v3/data")]
    starts = [e.t for e in entries]
    m = Measure(harvest="", client="", run="", data_requests=len(data), meta_requests=len(entries) - len(data),
                max_in_1s=max_starts_in_window(starts), wall=child["wall"], cpu=child["cpu"], peak_kib=child["maxrss_kib"],
                exit_code=child["code"])
    span = tightest_span(starts, 6)
    m.extra["tightest_6_starts_s"] = None if span is None else round(span, 4)
    m.extra["bad_status"] = sorted({e.status for e in entries if e.status != 200})
    if starts:  # where the wall time goes: before the first request, while requesting, after the last one
        m.extra["first_request_after_s"] = round(min(starts) - child["t_start"], 3)
        m.extra["requesting_s"] = round(max(starts) - min(starts), 3)
        m.extra["after_last_request_s"] = round(child["t_end"] - max(starts), 3)
    return m, entries


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# --- our harvester -------------------------------------------------------------------------------
def ours_cmd(h: Harvest, out: Path, cache: Path, api_url: str) -> list[str]:
    return [sys.executable, "-m", "harvester", "fetch", "--config", str(h.config), "--output", str(out),
            "--cache", str(cache), "--api-url", api_url]


def ours_outcome(out: Path) -> dict:
    runs = out / "runs.parquet"
    if not runs.exists():
        return {}
    last = pq.read_table(runs).to_pylist()[-1]
    return {k: last[k] for k in ("outcome", "requests", "cached", "rows_added", "rows_changed", "rows_removed", "message")}


def values_stats(out: Path) -> tuple[int, int]:
    files = sorted((out / "values").glob("*.parquet"))
    return sum(p.stat().st_size for p in files), sum(pq.ParquetFile(p).metadata.num_rows for p in files)


def stored_value(out: Path, kpi: str, area: str, period: int, gender: str, column: str = "municipality_id") -> float | None:
    path = out / "values" / f"{kpi}.parquet" if (out / "values").is_dir() else out
    if not path.exists():
        return None
    rows = pq.read_table(path, filters=[("kpi", "=", kpi), (column, "=", area), ("period", "=", period),
                                        ("gender", "=", gender)]).to_pylist()
    return rows[0]["value"] if rows else None


def run_ours(fake: FakeKolada, h: Harvest, run: str, out: Path, cache: Path, logs: Path, full: bool) -> Measure:
    label = f"ours-{h.name}-{run}".replace(" ", "_").replace("(", "").replace(")", "")
    m, _ = measure(fake, ours_cmd(h, out, cache, fake.base_url), logs, label)
    m.harvest, m.client, m.run = h.name, OURS, run
    m.parquet_bytes, m.rows = values_stats(out)
    outcome = ours_outcome(out)
    m.extra.update(outcome)
    m.extra["cache_bytes"] = cache.stat().st_size if cache.exists() else 0
    m.minimum = h.minimum if full else h.changes_minimum
    if full:
        m.rows_per_s = m.rows / m.wall if m.wall else None
    if m.exit_code not in (0, 3):
        m.note = f"exit {m.exit_code}: {tail(logs / f'{label}.err', 3)}"
    else:
        m.note = (f"{outcome.get('outcome')}: +{outcome.get('rows_added')} ~{outcome.get('rows_changed')} "
                  f"-{outcome.get('rows_removed')} rows; {outcome.get('cached')} from HTTP cache")
    return m


# --- koladapy --------------------------------------------------------------------------------------
def run_koladapy(fake: FakeKolada, h: Harvest, run: str, out_dir: Path, logs: Path) -> Measure:
    label = f"koladapy-{h.name}-{run}".replace(" ", "_").replace("(", "").replace(")", "")
    shutil.rmtree(out_dir, ignore_errors=True)
    target = out_dir / "values.parquet"
    cmd = [sys.executable, str(REPO / "bench" / "koladapy_harvest.py"), "--api-url", fake.base_url,
           "--output", str(target), "--rate", "5", *h.koladapy_args]
    m, _ = measure(fake, cmd, logs, label)
    m.harvest, m.client, m.run = h.name, KOLADAPY, run
    m.minimum = h.minimum
    if target.exists():
        m.parquet_bytes = target.stat().st_size
        m.rows = pq.ParquetFile(target).metadata.num_rows
        m.rows_per_s = m.rows / m.wall if m.wall else None
    if m.exit_code != 0:
        m.note = f"exit {m.exit_code}: {tail(logs / f'{label}.err', 3)}"
    else:
        m.note = "full download; no state between runs"
    return m


# --- the benchmark -------------------------------------------------------------------------------
def bench_shipped(fake: FakeKolada, h: Harvest, work: Path, logs: Path, results: list[Measure]) -> None:
    out, cache = work / "shipped-ours", work / "shipped-ours-cache.sqlite"
    kdir = work / "shipped-koladapy"
    results.append(run_ours(fake, h, "cold", out, cache, logs, full=True))
    results.append(run_koladapy(fake, h, "cold", kdir, logs))
    results.append(run_ours(fake, h, "warm rerun (changes only)", out, cache, logs, full=False))
    results.append(run_koladapy(fake, h, "rerun (full)", kdir, logs))

    kpi, area, period, gender = CHANGE
    old = stored_value(out, kpi, area, period, gender)
    new = round((old or 1000.0) + 123.45, 2)
    fake.data.set_value(kpi, area, period, gender, new)

    inc = run_ours(fake, h, "incremental after 1 change", out, cache, logs, full=False)
    got = stored_value(out, kpi, area, period, gender)
    inc.extra["change_seen"] = got == new
    inc.note += f"; {kpi} {area} {period}: {'new value stored' if got == new else f'CHANGE MISSED (stored {got}, upstream {new})'}"
    results.append(inc)
    kinc = run_koladapy(fake, h, "after 1 change (full)", kdir, logs)
    kgot = stored_value(kdir / "values.parquet", kpi, area, period, gender, column="municipality")
    kinc.extra["change_seen"] = kgot == new
    kinc.note += f"; {'new value present' if kgot == new else f'CHANGE MISSED (got {kgot})'}; no merge, no revision record"
    results.append(kinc)
    if not inc.extra["change_seen"]:
        # What a run after the HTTP cache's 1 h data expiry would do: same dataset and cursors, no cache.
        expired = work / "shipped-ours-cache-expired.sqlite"
        again = run_ours(fake, h, "incremental, HTTP cache expired", out, expired, logs, full=False)
        got = stored_value(out, kpi, area, period, gender)
        again.extra["change_seen"] = got == new
        again.note += f"; {'new value stored' if got == new else 'CHANGE STILL MISSED'}"
        results.append(again)


def bench_ifo(fake: FakeKolada, h: Harvest, work: Path, logs: Path, results: list[Measure], *, reruns: bool,
              koladapy_rerun: bool) -> None:
    tag = h.name.split()[1]
    out, cache = work / f"ifo{tag}-ours", work / f"ifo{tag}-ours-cache.sqlite"
    results.append(run_ours(fake, h, "cold", out, cache, logs, full=True))
    if reruns:
        results.append(run_ours(fake, h, "nightly rerun, cache kept", out, cache, logs, full=False))
        # A nightly run comes > 20 h later, when every cached answer has expired: same dataset, no cache.
        results.append(run_ours(fake, h, "nightly rerun, cache expired", out, work / f"ifo{tag}-expired.sqlite",
                                logs, full=False))
    kdir = work / f"ifo{tag}-koladapy"
    results.append(run_koladapy(fake, h, "cold", kdir, logs))
    if reruns and koladapy_rerun:
        results.append(run_koladapy(fake, h, "nightly rerun (full)", kdir, logs))
    shutil.rmtree(kdir, ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)


# --- the report ----------------------------------------------------------------------------------
def _num(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}".replace(",", "\u202f")


def _int(value: int) -> str:
    return f"{value:,}".replace(",", "\u202f")


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f}" if n else "–"


def results_table(results: list[Measure]) -> str:
    head = ("| harvest | client | run | requests (data+meta) | minimum | ratio | max req in 1 s | wall s | CPU s "
            "| peak MB | Parquet MB | rows | rows/s | notes |")
    lines = [head, "|" + "---|" * 14]
    for m in results:
        lines.append(
            f"| {m.harvest} | {m.client} | {m.run} | {m.requests} ({m.data_requests}+{m.meta_requests}) | "
            f"{m.minimum if m.minimum is not None else '–'} | {_num(m.ratio, 2)} | {m.max_in_1s} | {m.wall:.1f} | "
            f"{m.cpu:.1f} | {m.peak_kib / 1024:.0f} | {_mb(m.parquet_bytes)} | {_int(m.rows)} | {_num(m.rows_per_s, 0)} | "
            f"{m.note} |")
    return "\n".join(lines)


def find(results: list[Measure], harvest: str, client: str, run: str) -> Measure | None:
    return next((m for m in results if m.harvest == harvest and m.client == client and m.run == run), None)


def target_checks(results: list[Measure], harvests: list[Harvest]) -> list[tuple[str, str, str, bool | None]]:
    """(target, measured, limit, passed) rows; None where the run needed for a check was not made."""
    checks: list[tuple[str, str, str, bool | None]] = []
    large = harvests[-1].name
    ours = find(results, large, OURS, "cold")
    kola = find(results, large, KOLADAPY, "cold")
    if ours and ours.minimum:
        checks.append((f"requests ≤ 1.05 × minimum ({large}, ours cold, data requests)",
                       f"{ours.data_requests} / {ours.minimum} = {ours.ratio:.2f} (with metadata: "
                       f"{ours.requests / ours.minimum:.2f})", "≤ 1.05", ours.ratio <= 1.05))
    if ours and kola:
        checks.append((f"wall time ≤ 0.7 × koladapy's ({large}, cold)", f"{ours.wall:.1f} s / {kola.wall:.1f} s = "
                       f"{ours.wall / kola.wall:.2f}", "≤ 0.70", ours.wall <= 0.7 * kola.wall))
        checks.append((f"peak memory ≤ ⅓ of koladapy's ({large}, cold)", f"{ours.peak_kib / 1024:.0f} MB / "
                       f"{kola.peak_kib / 1024:.0f} MB = {ours.peak_kib / kola.peak_kib:.2f}", "≤ 0.33",
                       ours.peak_kib * 3 <= kola.peak_kib))
        krerun = find(results, large, KOLADAPY, "nightly rerun (full)") or kola
        which = "its measured rerun" if krerun is not kola else "its cold run (a rerun is the same work)"
        for run in ("nightly rerun, cache expired", "nightly rerun, cache kept"):
            night = find(results, large, OURS, run)
            if night:
                checks.append((f"{run} ≤ 10 % of koladapy's ({which})", f"{night.wall:.1f} s / {krerun.wall:.1f} s = "
                               f"{night.wall / krerun.wall:.3f}", "≤ 0.10", night.wall <= 0.10 * krerun.wall))
    for client in (OURS, KOLADAPY):
        mine = [m for m in results if m.client == client]
        if mine:
            worst = max(mine, key=lambda m: m.max_in_1s)
            spans = [m.extra["tightest_6_starts_s"] for m in mine if m.extra.get("tightest_6_starts_s") is not None]
            over = sum(1 for m in mine if m.max_in_1s > 5)
            checks.append((f"≤ 5 requests started in any 1 s, {client}, every run (metadata included; server arrival times)",
                           f"max {worst.max_in_1s} ({worst.harvest}, {worst.run}); {over} of {len(mine)} runs over 5; "
                           f"tightest 6 consecutive starts {f'{min(spans):.4f}' if spans else '–'} s", "≤ 5", worst.max_in_1s <= 5))
    peaks = [(h.name, find(results, h.name, OURS, "cold")) for h in harvests[1:]]
    peaks = [(n, m) for n, m in peaks if m]
    if len(peaks) >= 2:
        first, last = peaks[0][1], peaks[-1][1]
        growth = last.peak_kib / first.peak_kib
        data_growth = last.rows / first.rows if first.rows else float("nan")
        kpeaks = [find(results, n, KOLADAPY, "cold") for n, _ in peaks]
        kshown = ", ".join(f"{k.peak_kib / 1024:.0f}" for k in kpeaks if k)
        checks.append(("memory flat as KPIs grow: ours' peak, largest / smallest IFO harvest",
                       f"{' → '.join(f'{m.peak_kib / 1024:.0f}' for _, m in peaks)} MB = ×{growth:.2f} for ×{data_growth:.1f} rows "
                       f"(koladapy: {kshown} MB)", "≤ ×1.25", growth <= 1.25))
    for h in harvests:
        inc = find(results, h.name, OURS, "incremental after 1 change")
        if inc:
            checks.append(("incremental rerun stores the changed value (shipped config)",
                           "yes" if inc.extra.get("change_seen") else "no: served from the HTTP cache", "yes",
                           bool(inc.extra.get("change_seen"))))
    return checks


def checks_table(checks: list[tuple[str, str, str, bool | None]]) -> str:
    lines = ["| target | measured | limit | result |", "|---|---|---|---|"]
    for name, measured, limit, ok in checks:
        lines.append(f"| {name} | {measured} | {limit} | {'PASS' if ok else 'FAIL' if ok is not None else '–'} |")
    return "\n".join(lines)


def harvests_table(harvests: list[Harvest]) -> str:
    lines = ["| harvest | KPIs | areas | years | data items | minimum (⌈items/5000⌉) | changes-only minimum (⌈KPIs/25⌉·⌈years/25⌉) "
             "| pages by query shape: areas×KPIs×years / KPIs×years, all areas / KPIs×areas, all years |",
             "|---|---|---|---|---|---|---|---|"]
    for h in harvests:
        shapes = " / ".join(str(h.shape_pages.get(k, "–")) for k in SHAPES)
        lines.append(f"| {h.name} | {len(h.kpis)} | {len(h.areas)} | {h.years[0]}–{h.years[-1]} | {_int(h.items)} | "
                     f"{h.minimum} | {h.changes_minimum} | {shapes} |")
    return "\n".join(lines)


def report(machine: dict[str, str], harvests: list[Harvest], results: list[Measure], checks, latency: float,
           seconds: float, quick: bool) -> str:
    parts = [f"# Benchmark results ({'quick' if quick else 'full'} run, {date.today().isoformat()})", "",
             "Machine: " + "; ".join(f"{k}: {v}" for k, v in machine.items() if k not in ("packages", "commit")) + ".",
             f"Packages: {machine['packages']}. Repository at commit {machine['commit']}.",
             f"Fake Kolada in the benchmark process, latency {latency * 1000:.0f} ms per request; every client a child "
             f"process; both clients at 5 requests/s. Whole benchmark: {seconds / 60:.1f} min. "
             "bench/README.md explains every column.", "",
             "## Harvests", "", harvests_table(harvests), "", "## Runs", "", results_table(results), "",
             "## Targets", ""]
    if quick:
        parts += ["Quick run: the targets are defined for the large harvest (all IFO KPIs); here they are applied to the "
                  "50-KPI harvest for orientation only. At 50 KPIs the ~120 MB import floor and the fixed start-up "
                  "weigh more, so the memory and time ratios are worse than on the large harvest.", ""]
    parts += [checks_table(checks), ""]
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shipped config and a 50-KPI harvest only")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds the fake waits per request (default 0.05)")
    parser.add_argument("--no-koladapy-rerun", action="store_true",
                        help="use koladapy's cold time for its nightly rerun instead of running it again")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (outputs, logs) for inspection")
    parser.add_argument("--results", type=Path, default=REPO / "bench" / "results.md", help="where to write the table")
    args = parser.parse_args(argv)

    global LAUNCHER
    started = time.perf_counter()
    LAUNCHER = Launcher()
    machine = describe_machine()
    shared = shared_path()
    work = Path(tempfile.mkdtemp(prefix="harvester-bench-"))
    logs = work / "logs"
    logs.mkdir()
    print(f"work folder {work}", file=sys.stderr)
    try:
        harvests, _ = define_harvests(shared, work, args.quick)
        print("loading the fake's data and computing the minimums…", file=sys.stderr)
        data = KoladaData.from_shared(shared)
        compute_minimums(data, harvests)
        for h in harvests:
            print(f"{h.name}: {len(h.kpis)} KPIs × {len(h.areas)} areas × {len(h.years)} years = {h.items} items, "
                  f"minimum {h.minimum} requests; pages by shape {h.shape_pages}", file=sys.stderr)
        results: list[Measure] = []
        with FakeKolada(data, latency=args.latency) as fake:
            bench_shipped(fake, harvests[0], work, logs, results)
            _progress(results)
            for h in harvests[1:]:
                big = h is harvests[-1]
                bench_ifo(fake, h, work, logs, results, reruns=big,
                          koladapy_rerun=big and not args.no_koladapy_rerun)
                _progress(results)
        seconds = time.perf_counter() - started
        end_commit = _commit()
        if end_commit != machine["commit"]:  # someone committed or edited harvester while we measured
            machine["commit"] = (f"{machine['commit']} at the start but {end_commit} at the end: the code changed during "
                                 "the run, so these numbers mix two versions; run again")
            print(f"WARNING: repository changed during the run ({machine['commit']})", file=sys.stderr)
        checks = target_checks(results, harvests)
        text = report(machine, harvests, results, checks, args.latency, seconds, args.quick)
        print(text)
        args.results.write_text(text, encoding="utf-8")
        raw = {"machine": machine, "latency": args.latency, "seconds": seconds, "quick": args.quick,
               "harvests": [{k: v for k, v in asdict(h).items() if k not in ("kpis", "areas", "koladapy_args")}
                            | {"kpis": len(h.kpis), "areas": len(h.areas), "config": str(h.config)} for h in harvests],
               "runs": [asdict(m) for m in results],
               "checks": [{"target": c[0], "measured": c[1], "limit": c[2], "passed": c[3]} for c in checks]}
        args.results.with_suffix(".json").write_text(json.dumps(raw, indent=1, default=str) + "\n", encoding="utf-8")
        print(f"\nwritten to {args.results} and {args.results.with_suffix('.json')}", file=sys.stderr)
        failed = [m for m in results if m.exit_code not in (0, 3)]
        return 1 if failed else 0
    finally:
        LAUNCHER.close()
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


_SHOWN: set[int] = set()


def _progress(results: list[Measure]) -> None:
    for m in results:
        if id(m) not in _SHOWN:
            _SHOWN.add(id(m))
            print(f"  {m.harvest} / {m.client} / {m.run}: {m.requests} requests ({m.data_requests} data), "
                  f"{m.wall:.1f} s, peak {m.peak_kib / 1024:.0f} MB, max {m.max_in_1s}/s, exit {m.exit_code}",
                  file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
