"""Every comparison statistic against figures worked out by hand on a few rows."""
from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest

from harvester import compare
from harvester.config import Indicator, Target

HOME = "0100"


def values_frame(series: dict[str, dict[int, float | None]], kpi: str = "N00001", gender: str = "T") -> pd.DataFrame:
    """Rows shaped like `store.read_values`: {municipality: {year: value}}; None = published without a value."""
    rows = [{"kpi": kpi, "municipality_id": m, "period": year, "gender": gender, "value": v,
             "count": 0 if v is None else 1, "status": "", "fetched_at": pd.Timestamp("2026-11-22", tz="UTC")}
            for m, years in series.items() for year, v in years.items()]
    return pd.DataFrame(rows).astype({"period": "int32", "value": "float64", "count": "int32"})


def indicator(direction: str = "lower", target: Target | None = None, gender: str = "T", **kw) -> Indicator:
    return Indicator(id="ind", label="Kostnad, kr/inv", series_id="N00001", direction=direction, target=target,
                     gender=gender, **kw)


def one_year(bench: pd.DataFrame, year: int) -> pd.Series:
    return bench.set_index("period").loc[year]


# Home 10; peers 8, 12, 14, 20; Riket 11. Sorted peers: 8 12 14 20.
SIMPLE = values_frame({HOME: {2022: 10}, "0201": {2022: 8}, "0202": {2022: 12}, "0203": {2022: 14},
                       "0204": {2022: 20}, "0000": {2022: 11}})
SIMPLE_PEERS = ["0201", "0202", "0203", "0204"]


def test_median_mean_spread_and_quartiles_by_hand():
    row = one_year(compare.benchmark(SIMPLE, indicator(), HOME, SIMPLE_PEERS), 2022)
    assert row["home_value"] == 10
    assert row["peer_median"] == 13  # (12 + 14) / 2
    assert row["peer_mean"] == 13.5  # 54 / 4, unweighted
    assert (row["peer_min"], row["peer_max"]) == (8, 20)
    assert row["peer_q1"] == pytest.approx(11.0)  # linear: position 0.75 between 8 and 12
    assert row["peer_q3"] == pytest.approx(15.5)  # position 2.25 between 14 and 20
    assert (row["peer_n"], row["peer_missing"]) == (4, 0)
    assert row["riket"] == 11
    assert row["diff_to_median"] == -3
    assert row["diff_to_median_pct"] == pytest.approx(-300 / 13)


def test_rank_lower_is_better():
    row = one_year(compare.benchmark(SIMPLE, indicator("lower"), HOME, SIMPLE_PEERS), 2022)
    assert (row["rank"], row["rank_of"]) == (2, 5)  # only 8 is lower
    assert row["percentile"] == 75  # better than 12, 14, 20 of the four peers


def test_rank_higher_is_better():
    row = one_year(compare.benchmark(SIMPLE, indicator("higher"), HOME, SIMPLE_PEERS), 2022)
    assert (row["rank"], row["rank_of"]) == (4, 5)  # 12, 14 and 20 are higher
    assert row["percentile"] == 25  # better than 8 only


def test_direction_none_has_statistics_but_no_rank():
    bench = compare.benchmark(SIMPLE, indicator("none"), HOME, SIMPLE_PEERS)
    row = one_year(bench, 2022)
    assert row["peer_median"] == 13
    assert pd.isna(row["rank"]) and pd.isna(row["rank_of"]) and math.isnan(row["percentile"])
    peers = compare.peer_values(SIMPLE, indicator("none"), HOME, SIMPLE_PEERS)
    assert peers["rank"].isna().all()


@pytest.mark.parametrize("direction, rank, percentile", [("lower", 2, 0.0), ("higher", 1, 100 / 3)])
def test_ties_share_the_better_rank(direction, rank, percentile):
    values = values_frame({HOME: {2022: 10}, "0201": {2022: 10}, "0202": {2022: 10}, "0203": {2022: 5}})
    peers = ["0201", "0202", "0203"]
    row = one_year(compare.benchmark(values, indicator(direction), HOME, peers), 2022)
    assert (row["rank"], row["rank_of"]) == (rank, 4)
    assert row["percentile"] == pytest.approx(percentile)  # strictly better only: ties do not count
    ranks = compare.peer_values(values, indicator(direction), HOME, peers).set_index("municipality_id")["rank"]
    assert ranks["0201"] == ranks["0202"] == ranks[HOME] == rank


def test_missing_peers_are_left_out_not_counted_as_zero():
    # 0202 was published without a value, 0203 has no row at all for 2022.
    values = values_frame({HOME: {2021: 5, 2022: 10}, "0201": {2021: 4, 2022: 8}, "0202": {2021: 6, 2022: None},
                           "0203": {2021: 7}})
    bench = compare.benchmark(values, indicator("lower"), HOME, ["0201", "0202", "0203"])
    row = one_year(bench, 2022)
    assert (row["peer_n"], row["peer_missing"]) == (1, 2)
    assert row["peer_median"] == 8 and row["peer_min"] == 8  # a zero would have made both 0
    assert (row["rank"], row["rank_of"]) == (2, 2)
    assert one_year(bench, 2021)["peer_median"] == 6
    peers = compare.peer_values(values, indicator("lower"), HOME, ["0201", "0202", "0203"])
    missing = peers[(peers["period"] == 2022) & (peers["role"] == "peer") & peers["value"].isna()]
    assert set(missing["municipality_id"]) == {"0202", "0203"}
    assert missing["rank"].isna().all()


def test_year_without_home_value_is_listed_and_changes_skip_it():
    values = values_frame({HOME: {2019: 100, 2020: 110, 2022: 130}, "0201": {2019: 90, 2020: 95, 2021: 99, 2022: 98}})
    bench = compare.benchmark(values, indicator("lower"), HOME, ["0201"])
    assert list(bench["period"]) == [2019, 2020, 2021, 2022]
    gap = one_year(bench, 2021)
    assert math.isnan(gap["home_value"]) and pd.isna(gap["rank"]) and math.isnan(gap["diff_to_median"])
    assert gap["peer_median"] == 99
    assert one_year(bench, 2020)["change_since_previous"] == 10
    assert one_year(bench, 2020)["change_since_first"] == 10
    assert math.isnan(one_year(bench, 2022)["change_since_previous"])  # 2021 has no home value
    assert one_year(bench, 2022)["change_since_first"] == 30
    assert one_year(bench, 2019)["change_since_first"] == 0
    assert compare.latest_year(bench) == 2022
    assert list(bench.loc[bench["is_latest"], "period"]) == [2022]


def test_latest_year_is_the_home_municipalitys_latest():
    values = values_frame({HOME: {2020: 1.0, 2021: 2.0}, "0201": {2020: 1.5, 2021: 2.5, 2022: 3.0}})
    bench = compare.benchmark(values, indicator(), HOME, ["0201"])
    assert list(bench["period"]) == [2020, 2021, 2022]
    assert compare.latest_year(bench) == 2021
    assert compare.latest_year(bench.iloc[0:0]) is None


def test_empty_years_inside_the_series_stay_listed():
    values = values_frame({HOME: {2015: 1.0, 2017: 2.0}, "0201": {2015: 1.5, 2016: None, 2017: 2.5}})
    bench = compare.benchmark(values, indicator(), HOME, ["0201"])
    assert list(bench["period"]) == [2015, 2016, 2017]
    assert one_year(bench, 2016)["peer_n"] == 0


def test_years_limit_the_rows():
    values = values_frame({HOME: {2014: 1.0, 2015: 2.0, 2016: 3.0}, "0201": {2014: 1.0, 2015: 2.0, 2016: 3.0}})
    bench = compare.benchmark(values, indicator(), HOME, ["0201"], years=range(2015, 2016))
    assert list(bench["period"]) == [2015]
    assert one_year(bench, 2015)["change_since_first"] == 0


def test_only_the_configured_gender_is_used():
    values = pd.concat([
        values_frame({HOME: {2022: 10}, "0201": {2022: 20}, "0000": {2022: 30}}, gender="T"),
        values_frame({HOME: {2022: 1}, "0201": {2022: 2}, "0000": {2022: 3}}, gender="K"),
        values_frame({HOME: {2022: 100}, "0201": {2022: 200}, "0000": {2022: 300}}, gender="M"),
    ])
    row = one_year(compare.benchmark(values, indicator(gender="K"), HOME, ["0201"]), 2022)
    assert (row["home_value"], row["peer_median"], row["riket"]) == (1, 2, 3)
    assert row["gender"] == "K"


def test_target_gap_is_home_minus_target():
    values = values_frame({HOME: {2021: 1300, 2022: 1200}, "0201": {2021: 1000, 2022: 1100}})
    bench = compare.benchmark(values, indicator("lower", Target(1250.0, 2027)), HOME, ["0201"])
    assert list(bench["gap_to_target"]) == [50, -50]
    assert set(bench["target"]) == {1250} and set(bench["target_year"]) == {2027}
    no_target = compare.benchmark(values, indicator("lower"), HOME, ["0201"])
    assert no_target["gap_to_target"].isna().all() and no_target["target_year"].isna().all()


def test_riket_can_be_left_out_and_is_never_ranked():
    peers = compare.peer_values(SIMPLE, indicator(), HOME, SIMPLE_PEERS)
    riket = peers[peers["role"] == "riket"]
    assert list(riket["value"]) == [11] and riket["rank"].isna().all()
    bench = compare.benchmark(SIMPLE, indicator(), HOME, SIMPLE_PEERS, riket_id=None)
    assert bench["riket"].isna().all() and one_year(bench, 2022)["rank_of"] == 5


def test_home_listed_as_peer_is_not_its_own_peer():
    row = one_year(compare.benchmark(SIMPLE, indicator(), HOME, [HOME, *SIMPLE_PEERS]), 2022)
    assert (row["peer_n"], row["peer_median"], row["rank_of"]) == (4, 13, 5)


def test_no_values_gives_an_empty_table_with_every_column():
    bench = compare.benchmark(SIMPLE.iloc[0:0], indicator(), HOME, SIMPLE_PEERS)
    assert bench.empty and list(bench.columns) == compare.BENCHMARK_COLUMNS


GROUPS = pd.DataFrame([
    # 2025 vintage: 0201, 0202, 0203. 2026 vintage: 0202, 0203, 0204 and the home municipality.
    *({"group_id": "G1", "title": "Liknande kommuner, 2025", "member_id": m, "member_title": f"K{m}",
       "read_at": pd.Timestamp("2025-03-01", tz="UTC")} for m in ["0201", "0202", "0203"]),
    *({"group_id": "G1", "title": "Liknande kommuner, 2026", "member_id": m, "member_title": f"K{m}",
       "read_at": pd.Timestamp("2026-03-15 10:00", tz="UTC")} for m in ["0202", "0203", "0204", HOME]),
    {"group_id": "G2", "title": "Större stad", "member_id": "0205", "member_title": "K0205",
     "read_at": pd.Timestamp("2026-01-10", tz="UTC")},
])
TITLES = {HOME: "Hemby", "0206": "Extraby", "0204": "Fyrby"}


def test_comparison_set_uses_the_latest_vintage_of_each_group():
    cs = compare.comparison_set(GROUPS, ["G1", "G2"], ["0206", HOME, "0202"], HOME, TITLES)
    assert cs.peer_ids == ("0202", "0203", "0204", "0205", "0206")  # 0201 left with the 2025 vintage
    assert cs.extra_ids == ("0206",)  # 0202 is a member already
    assert [g.title for g in cs.groups] == ["Liknande kommuner, 2026", "Större stad"]
    assert cs.title == "Liknande kommuner, 2026, Större stad och Extraby"
    assert "2026-03-15" in cs.description and "2026-01-10" in cs.description and "2025" not in cs.description
    assert "Fyrby" in cs.description and "K0201" not in cs.description  # titles win over member_title
    assert "Hemby själv räknas inte in" in cs.description


def test_comparison_set_refuses_an_unknown_group():
    with pytest.raises(ValueError, match="G9"):
        compare.comparison_set(GROUPS, ["G9"], [], HOME, TITLES)


def test_unit_from_config_or_kpi_title():
    assert compare.unit_of(indicator(unit="kronor"), "Kostnad, kr/inv") == "kronor"
    assert compare.unit_of(indicator(), "Kostnad missbruksvård vuxna, kr/inv") == "kr/inv"
    assert compare.unit_of(indicator(), "Barn 0-20 år, placerade, antal/1000 inv") == "per 1 000 inv"
    assert compare.unit_of(indicator(), "Brukarbedömning, andel (%)") == "%"  # "92,0 %", never "92,0 andel (%)"
    assert compare.unit_of(indicator(), "Utan komma") == ""
    assert compare.unit_of(indicator(), None) == ""


def test_default_decimals_follow_magnitude_unless_configured():
    assert compare.default_decimals(indicator(), pd.Series([793.4, 1837.1, None])) == 0
    assert compare.default_decimals(indicator(), pd.Series([12.4, 8.6])) == 1
    assert compare.default_decimals(indicator(), pd.Series([], dtype=float)) == 1
    assert compare.default_decimals(indicator(decimals=2), pd.Series([793.4])) == 2


def revision(mid: str, period: int, old: float | None, new: float | None, when: str, gender: str = "T") -> dict:
    return {"kpi": "N00001", "municipality_id": mid, "period": period, "gender": gender, "old_value": old,
            "new_value": new, "change": "changed" if new is not None else "removed",
            "detected_at": pd.Timestamp(when, tz="UTC"), "run_id": "r"}


def test_revised_values_only_of_shown_values_after_the_date():
    values = values_frame({HOME: {2021: 1.0, 2022: 2.0}, "0201": {2021: 1.5, 2022: 2.5}, "0000": {2021: 3.0}})
    peers = compare.peer_values(values, indicator(), HOME, ["0201"])
    revisions = pd.DataFrame([
        revision(HOME, 2022, 1731.0, 1800.0, "2026-11-01"),
        revision("0201", 2022, None, 2.0, "2026-11-01"),  # was empty before: "tidigare –", not a later value
        revision(HOME, 2022, 1800.0, 1837.12, "2026-11-22"),  # same value again: one note, first old, last new
        revision(HOME, 2021, 0.5, 1.0, "2026-01-01"),  # before the date
        revision("0201", 2021, 1.0, 1.5, "2026-11-22"),  # a peer in an earlier year: not shown
        revision("0201", 2022, 2.0, 2.5, "2026-11-22"),  # a peer in the latest year: shown
        revision("0000", 2021, 2.0, 3.0, "2026-11-22"),  # Riket: shown every year
        revision(HOME, 2022, 9.0, 9.5, "2026-11-22", gender="K"),  # another gender
    ])
    out = compare.revised_values(revisions, peers, indicator(), dt.date(2026, 10, 1))
    assert list(zip(out["municipality_id"], out["period"])) == [("0000", 2021), (HOME, 2022), ("0201", 2022)]
    home = out[out["municipality_id"] == HOME].iloc[0]
    assert (home["old_value"], home["new_value"]) == (1731.0, 1837.12)
    assert home["detected_at"] == pd.Timestamp("2026-11-22", tz="UTC")
    peer = out[out["municipality_id"] == "0201"].iloc[0]
    assert math.isnan(peer["old_value"]) and peer["new_value"] == 2.5
    assert compare.revised_values(revisions, peers, indicator(), dt.date(2026, 12, 1)).empty


@pytest.mark.parametrize("home,peers,expected", [
    (-5.0, [-10.0, -10.0, -12.0], 50.0),   # above a negative median: +, and home ranks above it
    (-15.0, [-10.0, -10.0, -12.0], -50.0),
    (5.0, [0.0, 0.0, 1.0], None),          # a zero median: no percentage
    (100.0, [0.5, 0.4, 0.6], None),        # a median under 1 % of the largest value: no percentage
    (110.0, [100.0, 90.0, 120.0], 10.0),
])
def test_percent_difference_uses_the_median_s_size(home, peers, expected) -> None:
    """Issue 8.2: never divide by a signed or near-zero median."""
    areas = ["h", "a", "b", "c"]
    values = pd.DataFrame({"kpi": "K1", "municipality_id": areas, "period": 2022, "gender": "T",
                           "value": [home, *peers]})
    ind = Indicator(id="k1", label="K1", series_id="K1", direction="higher")
    row = compare.benchmark(values, ind, "h", ["a", "b", "c"], riket_id=None).iloc[0]
    if expected is None:
        assert pd.isna(row["diff_to_median_pct"])
    else:
        assert row["diff_to_median_pct"] == pytest.approx(expected)


@pytest.mark.parametrize("n, best, worst", [(4, [1], [4]), (5, [1, 2], [4, 5]), (8, [1, 2], [7, 8]), (2, [1], [2])])
def test_quartile_by_rank_as_jamforaren_colours(n: int, best: list[int], worst: list[int]) -> None:
    """Best quarter r ≤ ⌈n/4⌉, worst r > n − ⌈n/4⌉, middle between; nothing to colour alone or unranked."""
    marks = {r: compare.quartile(r, n) for r in range(1, n + 1)}
    assert [r for r, q in marks.items() if q == compare.BEST] == best
    assert [r for r, q in marks.items() if q == compare.WORST] == worst
    assert all(q == compare.MIDDLE for r, q in marks.items() if r not in best + worst)
    assert compare.quartile(1, 1) is None and compare.quartile(pd.NA, 5) is None


def test_a_count_that_is_not_ranked_has_no_rank_and_no_quartile() -> None:
    bench = compare.benchmark(SIMPLE, indicator("lower"), HOME, SIMPLE_PEERS, ranking=False)
    row = one_year(bench, 2022)
    assert pd.isna(row["rank"]) and row["quartile"] is None and row["peer_median"] == 13
    ranked = one_year(compare.benchmark(SIMPLE, indicator("lower"), HOME, SIMPLE_PEERS), 2022)
    assert (ranked["rank"], ranked["rank_of"], ranked["quartile"]) == (2, 5, compare.BEST)  # 2 ≤ ⌈5/4⌉ = 2


# Home: 100 in 2021, 90 in 2022 (Kolada-like rows); peers' medians 80 and 95.
TWO_YEARS = values_frame({HOME: {2021: 100, 2022: 90}, "0201": {2021: 70, 2022: 90}, "0202": {2021: 90, 2022: 100}})


def test_median_target_gap_and_trend_are_per_year() -> None:
    from harvester.config import MedianTarget

    ind = indicator("lower", target=MedianTarget())
    bench = compare.benchmark(TWO_YEARS, ind, HOME, ["0201", "0202"])
    assert bench["target"].tolist() == [80.0, 95.0] and bench["gap_to_target"].tolist() == [20.0, -5.0]
    _, rows = compare.overview([bench], [ind])
    assert rows.loc[0, "trend"] == compare.TOWARD  # 20 above the median, then below it: the target is met
    higher = indicator("higher", target=MedianTarget())
    _, rows = compare.overview([compare.benchmark(TWO_YEARS, higher, HOME, ["0201", "0202"])], [higher])
    assert rows.loc[0, "trend"] == compare.AWAY  # 100 ≥ 80 met, 90 < 95 not


def test_a_target_in_words_is_judged_by_direction() -> None:
    from harvester.config import TextTarget

    ind = indicator("lower", target=TextTarget("Minska med 1 procentenhet"))
    bench = compare.benchmark(TWO_YEARS, ind, HOME, ["0201", "0202"])
    assert bench["target"].isna().all() and bench["gap_to_target"].isna().all()
    assert compare.overview([bench], [ind])[1].loc[0, "trend"] == compare.TOWARD  # 100 → 90, lower is better


def test_overview_years_are_where_most_indicators_have_a_home_value() -> None:
    """Kolada to 2022, a monthly SCB series to 2025: the columns are Kolada's years, and each row keeps
    its own latest value and year, so no row with a home value is blank."""
    kolada = [values_frame({HOME: {y: 10.0 + i for y in range(2018, 2023)}, "0201": {2022: 5.0}}, kpi=f"N0000{i}")
              for i in range(3)]
    scb = values_frame({HOME: {y: 50.0 for y in range(2020, 2026)}, "0201": {2025: 40.0}}, kpi="scb_x")
    inds = [Indicator(id=f"k{i}", label="K", series_id=f"N0000{i}", direction="lower") for i in range(3)]
    inds.append(Indicator(id="s", label="S", series_id="scb_x", direction="lower"))
    benches = [compare.benchmark(v, ind, HOME, ["0201"]) for v, ind in zip([*kolada, scb], inds)]
    years, rows = compare.overview(benches, inds)
    assert years == [2020, 2021, 2022]
    assert rows[["latest_year", "latest_value"]].values.tolist() == [[2022, 10.0], [2022, 11.0], [2022, 12.0],
                                                                    [2025, 50.0]]
    assert rows.loc[3, "median"] == 40.0 and rows.loc[3, "value_2022"] == 50.0
    assert compare.overview(benches, inds, (2024, 2025))[0] == [2024, 2025]


def test_overview_row_without_a_home_value_keeps_the_group() -> None:
    values = TWO_YEARS[TWO_YEARS["municipality_id"] != HOME]
    bench = compare.benchmark(values, indicator(), HOME, ["0201", "0202"])
    row = compare.overview([bench], [indicator()])[1].iloc[0]
    assert row["home_missing"] and row["latest_year"] == 2022 and row["median"] == 95.0
    assert math.isnan(row["latest_value"])


def test_overview_compares_in_the_latest_year_the_set_has_a_median() -> None:
    """A year only the home has (the author's own figure) is its latest value, not the year compared."""
    values = values_frame({HOME: {2021: 100, 2022: 90, 2023: 85}, "0201": {2021: 70, 2022: 90},
                           "0202": {2021: 90, 2022: 100}})
    bench = compare.benchmark(values, indicator(), HOME, ["0201", "0202"])
    row = compare.overview([bench], [indicator()])[1].iloc[0]
    assert (row["latest_year"], row["latest_value"], row["compared_year"], row["median"]) == (2023, 85.0, 2022, 95.0)
    assert (row["rank"], row["rank_of"]) == (1, 3)


def test_a_year_the_home_has_alone_is_neither_ranked_nor_the_year_compared() -> None:
    """The author's own 2023 figure beside peers published to 2022: the latest-year table compares 2022
    (a table of the home beside empty cells compares nothing), and 2023 is not "1 av 1"."""
    values = values_frame({HOME: {2021: 100, 2022: 90, 2023: 85}, "0201": {2021: 70, 2022: 90},
                           "0202": {2021: 90, 2022: 100}})
    bench = compare.benchmark(values, indicator(), HOME, ["0201", "0202"])
    assert compare.latest_year(bench) == 2022
    assert list(bench.loc[bench["is_latest"], "period"]) == [2022]
    alone = one_year(bench, 2023)
    assert pd.isna(alone["rank"]) and pd.isna(alone["rank_of"]) and pd.isna(alone["quartile"])
    assert (one_year(bench, 2022)["rank"], one_year(bench, 2022)["rank_of"]) == (1, 3)
    peers = compare.peer_values(values, indicator(), HOME, ["0201", "0202"])
    assert peers.loc[peers["period"] == 2023, "rank"].isna().all()


@pytest.mark.parametrize("title, name", [("SmåKom (ovägt medel)", "SmåKom"), ("Större stad (vägt medel) ", "Större stad"),
                                         ("Liknande kommuner IFO, Eskilstuna, 2024", "Liknande kommuner IFO, Eskilstuna, 2024"),
                                         ("(ovägt medel)", "(ovägt medel)")])
def test_kolada_s_averaging_words_never_stand_beside_our_median(title: str, name: str) -> None:
    assert compare.group_name(title) == name
