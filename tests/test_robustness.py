"""Where the home stands against the median of every comparison, checked by hand and in a real report."""
from __future__ import annotations

import pandas as pd

from harvester import store
from harvester.compare import ComparisonSet, GroupVintage
from harvester.config import Indicator
from harvester.exitcodes import ExitCode
from harvester.robustness import comparisons, positions, sentence
from tests.conftest import REPO


def test_each_group_on_its_own_and_riket_by_hand() -> None:
    stamp = pd.Timestamp("2026-01-01", tz="UTC")
    chosen = ComparisonSet(home_id="H", peer_ids=("A", "B", "C", "D"), extra_ids=("D",), title="t", description="d",
                           groups=(GroupVintage("G1", "Grupp ett", stamp, ("A", "B", "H")),
                                   GroupVintage("G2", "Grupp två", stamp, ("B", "C"))))
    sets = comparisons(chosen, "0000")
    assert [(s.title, s.member_ids) for s in sets] == [("Grupp ett", ("A", "B")), ("Grupp två", ("B", "C")),
                                                       ("tillagda kommuner", ("D",)), ("Riket", ("0000",))]
    values = pd.DataFrame({"kpi": "X", "gender": "T", "period": [2022] * 6 + [2021, 2021],
                           "municipality_id": ["H", "A", "B", "C", "D", "0000", "H", "A"],
                           "value": [10.0, 4.0, 8.0, 20.0, 10.0, 12.0, 1.0, 2.0]})
    rows = positions(values, Indicator(id="x", label="X", series_id="X"), "H", sets)
    latest = rows[rows["period"] == 2022].set_index("set")
    assert latest["median"].to_dict() == {"Grupp ett": 6.0, "Grupp två": 14.0, "tillagda kommuner": 10.0, "Riket": 12.0}
    assert latest["position"].to_dict() == {"Grupp ett": "högre", "Grupp två": "lägre", "tillagda kommuner": "lika",
                                            "Riket": "lägre"}
    assert rows[rows["period"] == 2021]["set"].tolist() == ["Grupp ett"]  # only A had a value in 2021
    assert sentence(rows, "Hem", 0) == ("Robusthet, Hem 2022: lägre än medianen i 2 av 4 jämförelser (1 högre, 1 lika); "
                                        "median per jämförelse: Grupp ett: 6; Grupp två: 14; tillagda kommuner: 10; "
                                        "Riket: 12.")


def test_the_shipped_report_says_it_and_writes_robustness_parquet(harvester, real_fake, tmp_path) -> None:
    out = tmp_path / "out"
    run = harvester("run", "--config", str(REPO / "config" / "kpis.toml"), "--api-url", real_fake.base_url,
                    "--output", str(out), "-q")
    assert run.code == ExitCode.OK, run.err
    table = pd.read_parquet(out / "robustness.parquet")
    row = table[(table["indicator"] == "missbruk-kostnad") & (table["period"] == 2022)]
    assert row["set_id"].tolist() == ["G36484", "G92790", "0000"] and set(row["position"]) == {"högre"}
    riket = store.read_values(out, ["N35001"])
    assert riket.loc[(riket["municipality_id"] == "0000") & (riket["period"] == 2022) & (riket["gender"] == "T"),
                     "value"].iloc[0] == row.loc[row["set_id"] == "0000", "median"].iloc[0]
    text = (out / "tables" / "missbruk-kostnad.md").read_text("utf-8").replace("\u00a0", " ")
    assert "Robusthet, Eskilstuna 2022: högre än medianen i 3 av 3 jämförelser; median per jämförelse: Liknande " \
           "kommuner IFO, Eskilstuna, 2024: 1 233; Större stad: 895; Riket: 828." in text
    assert text.rstrip().endswith("Källa: Kolada (RKA); jämförelser: egen bearbetning.")
    overview = (out / "tables" / "overview.md").read_text("utf-8").replace("\u00a0", " ")
    assert "Kostnad missbruksvård vuxna, kr/inv, Eskilstuna 2022: högre än medianen i 3 av 3 jämförelser" in overview
