"""The similar-municipality method on sets small enough to check by hand, and once on real Kolada data."""
from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from harvester.similar import SimilarError, covered_year, make_recipe, nearest, space

MUNICIPALITIES = pd.DataFrame({"id": ["0000", "0001", "0002", "0003", "0004", "0005", "0006", "0010"],
                               "title": ["Riket", "A", "B", "C", "D", "E", "F", "Region"],
                               "type": ["L", "K", "K", "K", "K", "K", "K", "L"]})


def frame(rows: list[tuple[str, str, int, float | None]], gender: str = "T") -> pd.DataFrame:
    return pd.DataFrame([{"kpi": k, "municipality_id": m, "period": y, "gender": gender, "value": v}
                         for k, m, y, v in rows])


def basic(year: int = 2022) -> pd.DataFrame:
    """X = 1..5 (mean 3, population sd √2); Y = 10,10,10,10,20 (mean 12, sd 4); F lacks Y; Riket and a region
    have values too, far away, and must change nothing."""
    xs = {"0001": 1, "0002": 2, "0003": 3, "0004": 4, "0005": 5, "0006": 3, "0000": 100, "0010": -50}
    ys = {"0001": 10, "0002": 10, "0003": 10, "0004": 10, "0005": 20, "0000": 900, "0010": 0}
    rows = [("X", m, year, float(v)) for m, v in xs.items()] + [("Y", m, year, float(v)) for m, v in ys.items()]
    return pd.concat([frame(rows), frame([("X", "0003", year, 999.0)], gender="K")], ignore_index=True)


def test_distances_ties_and_shares_by_hand() -> None:
    result = nearest(basic(), MUNICIPALITIES, "0003", make_recipe(["X", "Y"], n=4, year=2022))
    peers = result.peers
    # z_X differences from C: B, D ±1/√2; A, E ±2/√2. z_Y: A–D −0.5, E +2.
    assert list(peers["municipality_id"]) == ["0002", "0004", "0001", "0005"]  # B and D tie: the lower id first
    assert peers["distance"].tolist() == pytest.approx([0.5, 0.5, 1.0, math.sqrt((2 + 6.25) / 2)])
    assert result.candidates == 5 and result.left_out == ("0006",)  # F has no Y: left out and counted
    e = result.contributions[result.contributions["municipality_id"] == "0005"].set_index("kpi")
    assert e["share"].tolist() == pytest.approx([2 / 8.25, 6.25 / 8.25])
    assert e["home_value"].tolist() == [3.0, 10.0] and e["value"].tolist() == [5.0, 20.0]


def test_weights_change_the_distance_as_written() -> None:
    result = nearest(basic(), MUNICIPALITIES, "0003", make_recipe(["X", "Y"], weights={"Y": 3}, n=4, year=2022))
    e = result.peers.set_index("municipality_id").loc["0005", "distance"]
    assert e == pytest.approx(math.sqrt((2 + 3 * 6.25) / 4))


def test_log_is_taken_before_standardising() -> None:
    xs = {"0001": 1.0, "0002": math.e, "0003": math.e ** 2, "0004": math.e ** 3, "0005": math.e ** 10}
    values = frame([("X", m, 2022, v) for m, v in xs.items()])
    plain = nearest(values, MUNICIPALITIES, "0003", make_recipe(["X"], n=2, year=2022)).peers
    logged = nearest(values, MUNICIPALITIES, "0003", make_recipe(["X"], log=["X"], n=2, year=2022)).peers
    assert list(logged["municipality_id"]) == ["0002", "0004"]  # 1 and 3 are equally far from 2 on the log scale
    assert list(plain["municipality_id"]) == ["0002", "0001"]  # e² is nearer e and 1 than e³ in raw values
    sd = statistics.pstdev([0, 1, 2, 3, 10])
    assert logged["distance"].tolist() == pytest.approx([1 / sd, 1 / sd])


def test_the_home_is_never_its_own_peer_and_n_is_bounded() -> None:
    result = nearest(basic(), MUNICIPALITIES, "0001", make_recipe(["X", "Y"], n=4, year=2022))
    assert "0001" not in set(result.peers["municipality_id"]) and len(result.peers) == 4
    with pytest.raises(SimilarError, match="n = 5 but only 4 other kommuner have every KPI in 2022; choose n between 1 and 4"):
        nearest(basic(), MUNICIPALITIES, "0001", make_recipe(["X", "Y"], n=5, year=2022))


def test_default_year_is_the_latest_with_90_percent_coverage() -> None:
    full = basic(2021)
    thin = basic(2022)
    thin = thin[~((thin["municipality_id"] == "0004") & (thin["kpi"] == "Y"))]  # 2022: 4 of 6 kommuner complete
    values = pd.concat([full, thin, basic(2020)], ignore_index=True)
    assert covered_year(values, MUNICIPALITIES, ["X"]) == 2022  # X alone: 6 of 6 in 2022
    # X and Y: 5 of 6 in 2021 and 2020 (F lacks Y), below 90 %: no year qualifies, and the message says the best
    with pytest.raises(SimilarError, match="at least 90% of the 6 kommuner; the best is 2021 with 5"):
        covered_year(values, MUNICIPALITIES, ["X", "Y"])
    complete = pd.concat([values, frame([("Y", "0006", y, 10.0) for y in (2020, 2021)])], ignore_index=True)
    assert space(complete, MUNICIPALITIES, make_recipe(["X", "Y"])).year == 2021


@pytest.mark.parametrize(("args", "message"), [
    ({"kpis": ["X"], "n": 0}, "n = 0; n is how many similar kommuner to take, a whole number of at least 1"),
    ({"kpis": ["X"], "n": 2.5}, "n = 2.5"),
    ({"kpis": ["X", "Y"], "weights": {"Y": 0}}, "the weight of Y is 0; a weight is a number above 0"),
    ({"kpis": ["X", "Y"], "weights": {"Y": "2"}}, "the weight of Y is '2'"),
    ({"kpis": ["X"], "weights": {"Z": 2}}, "weights names Z, which is not among the KPIs"),
    ({"kpis": ["X"], "log": ["Y"]}, "log names Y, which is not among the KPIs"),
    ({"kpis": []}, "name at least one KPI"),
])
def test_bad_recipes_are_refused_in_one_line(args: dict, message: str) -> None:
    with pytest.raises(SimilarError, match=message.replace("(", r"\(")):
        make_recipe(where="--kpis", **args)


def test_bad_data_is_refused_naming_kpi_and_years() -> None:
    values = basic()
    with pytest.raises(SimilarError, match=r"log of X is impossible: 0001 has -1 in 2022"):
        bad = values.copy()
        bad.loc[(bad["kpi"] == "X") & (bad["municipality_id"] == "0001"), "value"] = -1.0
        nearest(bad, MUNICIPALITIES, "0003", make_recipe(["X", "Y"], log=["X"], n=2, year=2022))
    sparse = pd.concat([values, frame([("Z", "0001", 2022, 1.0), ("Z", "0002", 2022, 2.0), ("Z", "0003", 2019, 1.0),
                                       ("Z", "0003", 2020, 1.0), ("Z", "0003", 2017, 1.0)])], ignore_index=True)
    with pytest.raises(SimilarError, match=r"Z has values for 2 of 6 kommuner in 2022, fewer than half; years with "
                                           r"values: 2017, 2019–2020, 2022"):
        nearest(sparse, MUNICIPALITIES, "0003", make_recipe(["X", "Z"], year=2022))
    with pytest.raises(SimilarError, match=r"Y has no value for 0006 in 2022 \(no year has a value\)"):
        nearest(values, MUNICIPALITIES, "0006", make_recipe(["X", "Y"], n=2, year=2022))


def test_real_data_sala_2022(shared_kolada: Path) -> None:
    """Sala among all 290 kommuner on population (log), foreign-born and unemployment, checked by a second,
    plain-Python computation of the nearest peer's distance."""
    kpis = ["N01951", "N02926", "N03920"]
    values = pq.read_table(shared_kolada / "values.parquet", filters=[("kpi", "in", kpis), ("period", "=", 2022)]
                           ).to_pandas().rename(columns={"municipality": "municipality_id"})
    municipalities = pd.DataFrame(json.loads((shared_kolada / "catalog" / "municipality.json").read_text("utf-8")))
    result = nearest(values, municipalities, "1981", make_recipe(kpis, log=["N01951"], year=2022))
    assert result.candidates == 290 and result.left_out == ()
    peers = result.peers
    assert len(peers) == 7 and "1981" not in set(peers["municipality_id"]) and "0000" not in set(peers["municipality_id"])
    assert peers["distance"].is_monotonic_increasing
    kommun = set(municipalities.loc[municipalities["type"] == "K", "id"])
    t = values[(values["gender"] == "T") & values["municipality_id"].isin(kommun)]
    cols = {k: {r.municipality_id: r.value for r in t[t["kpi"] == k].itertuples()} for k in kpis}
    cols["N01951"] = {m: math.log(v) for m, v in cols["N01951"].items()}
    zs = {k: {m: (v - statistics.fmean(c.values())) / statistics.pstdev(c.values()) for m, v in c.items()}
          for k, c in cols.items()}
    first = peers["municipality_id"].iloc[0]
    by_hand = math.sqrt(sum((zs[k]["1981"] - zs[k][first]) ** 2 for k in kpis) / 3)
    assert peers["distance"].iloc[0] == pytest.approx(by_hand)
    assert min(math.sqrt(sum((zs[k]["1981"] - zs[k][m]) ** 2 for k in kpis) / 3)
               for m in kommun - {"1981"}) == pytest.approx(by_hand)
    shares = result.contributions.groupby("rank")["share"].sum()
    assert shares.tolist() == pytest.approx([1.0] * 7)
