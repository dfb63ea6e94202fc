"""How close the shipped similar-kommun models come to Kolada's own "Liknande kommuner …" groups, and how fast.

For each model (harvester/similar_models.py) `harvester similar Sala --model M` runs as a child
process against the fake Kolada serving ../shared/kolada: once with an empty cache and dataset
(cold), once again (warm: the cache answers the metadata, the data is asked for changes only).
Then, from the dataset that run wrote, the model's 7 nearest are computed for all 290 kommuner
(one standardisation, 290 distance rankings, timed) and compared with Kolada's group of the same
area for that kommun: the agreement is the share of Kolada's members that our 7 contain, over all
kommuner. Choosing 7 of the 289 others at random contains 7/289 ≈ 2.4 % of them on average; a
seeded random draw is reported beside it as a check.

    .venv/bin/python -m bench.similar_agreement          # about 30 s
"""
from __future__ import annotations

import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.run import describe_machine  # noqa: E402
from harvester import store  # noqa: E402
from harvester.similar import space  # noqa: E402
from harvester.similar_models import MODELS  # noqa: E402
from harvester.sources.kolada.client import KoladaClient  # noqa: E402
from tests.fake_kolada import FakeKolada, KoladaData, require_shared  # noqa: E402

AREA = {"ifo": "IFO", "arbetsmarknad": "arbetsmarknad", "aldreomsorg": "äldreomsorg"}  # Kolada's word in the title
HOME = "Sala"
RESULTS = REPO / "bench" / "similar_results.md"


def kolada_groups(groups: list[dict], titles: dict[str, str], area: str) -> dict[str, set[str]]:
    """Home kommun id → members of its "Liknande kommuner <area>, <home>, <year>" group."""
    by_name = {title: mid for mid, title in titles.items()}
    pattern = re.compile(rf"^Liknande kommuner {re.escape(area)}, (.+), \d{{4}}$")
    found = {}
    for g in groups:
        match = pattern.match(str(g.get("title", "")))
        if match and match.group(1) in by_name:
            found[by_name[match.group(1)]] = {str(m["member_id"]) for m in g.get("members", [])}
    return found


def timed_similar(model: str, base_url: str, work: Path) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "harvester", "similar", HOME, "--model", model, "--api-url", base_url,
                    "--cache", str(work / "cache.sqlite"), "--output", str(work / model), "-q"],
                   cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> int:
    shared = require_shared()
    rows = []
    with FakeKolada(KoladaData.from_shared(shared)) as fake, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        with KoladaClient(fake.base_url, cache_path=None, rate=1000) as client:
            groups = client.municipality_groups()
        for name, model in MODELS.items():
            cold = timed_similar(name, fake.base_url, work)
            warm = timed_similar(name, fake.base_url, work)
            root = work / name
            municipalities = store.read_table(root, "municipalities")
            values = store.read_values(root, [k for k, _ in model.why])
            titles = dict(zip(municipalities["id"], municipalities["title"]))
            reference = kolada_groups(groups, titles, AREA[name])
            started = time.perf_counter()
            computed = space(values, municipalities, model.recipe())
            ours = {home: set(computed.nearest(home).peers["municipality_id"]) for home in reference
                    if home in computed.z.index}
            seconds = time.perf_counter() - started
            draw = random.Random(16)
            hits = sum(len(ours[h] & reference[h]) for h in ours)
            chance = sum(len(set(draw.sample(sorted(set(computed.z.index) - {h}), 7)) & reference[h]) for h in ours)
            total = sum(len(reference[h]) for h in ours)
            listed = ", ".join(f"{k}{' (log)' if k in model.log else ''}" for k, _ in model.why)
            rows.append({"model": name, "kpis": listed,
                         "year": computed.year, "kommuner": len(ours), "agreement": hits / total,
                         "random": chance / total, "some": sum(bool(ours[h] & reference[h]) for h in ours) / len(ours),
                         "cold": cold, "warm": warm, "all": seconds})
    machine = describe_machine()
    lines = [f"Machine: {machine['CPU']}, {machine['logical CPUs']} logical CPUs, {machine['RAM']}; "
             f"{machine['Python']}; commit {machine['commit']}",
             "", "| model | KPIs | year | kommuner | agreement with Kolada's group | random 7 (seed 16) | "
             "kommuner with ≥ 1 common peer | `similar Sala` cold s | warm s | all 290 s |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['kpis']} | {r['year']} | {r['kommuner']} | **{r['agreement']:.1%}** | "
                     f"{r['random']:.1%} | {r['some']:.0%} | {r['cold']:.2f} | {r['warm']:.2f} | {r['all']:.2f} |")
    lines += ["", f"Expected by chance: 7 of 289 others contain 7/289 = {7 / 289:.1%} of a 7-member group."]
    text = "\n".join(lines) + "\n"
    RESULTS.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
