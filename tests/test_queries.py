"""The request planner: shapes, chunks and from_date, on plain inputs."""
from __future__ import annotations

from datetime import date

from harvester.sources.kolada.queries import DataQuery, Scope, minimum_requests, plan_requests
from harvester.sources.scb.queries import grid as scb_grid


def areas(n: int) -> tuple[str, ...]:
    return tuple(f"{i:04d}" for i in range(n))


def kpis(n: int) -> tuple[str, ...]:
    return tuple(f"N{i:05d}" for i in range(n))


def test_small_harvest_filters_by_municipality() -> None:
    scope = Scope(kpis=kpis(5), areas=areas(26), years=tuple(range(2015, 2027)), areas_served=291)
    [batch] = plan_requests(scope, {})
    assert len(batch.queries) == 2  # 26 areas need two chunks of at most 25
    assert [len(q.areas or ()) for q in batch.queries] == [25, 1]
    assert all(q.kpis == kpis(5) and q.from_date is None for q in batch.queries)
    assert batch.queries[0].path.startswith("data/kpi/N00000,N00001,N00002,N00003,N00004/municipality/0000,")
    assert batch.queries[0].path.endswith("/year/2015,2016,2017,2018,2019,2020,2021,2022,2023,2024,2025,2026")


def test_harvest_of_nearly_all_areas_drops_the_municipality_filter() -> None:
    scope = Scope(kpis=kpis(168), areas=areas(291), years=tuple(range(2000, 2023)), areas_served=291)
    batches = plan_requests(scope, {})
    assert [len(b.kpis) for b in batches] == [25] * 6 + [18]
    assert all(len(b.queries) == 1 and b.queries[0].areas is None for b in batches)
    assert "/municipality/" not in batches[0].queries[0].path


def test_learned_density_can_prefer_the_unfiltered_shape() -> None:
    years = tuple(range(2015, 2027))
    dense = Scope(kpis=kpis(5), areas=areas(60), years=years, areas_served=291)
    sparse = Scope(kpis=kpis(5), areas=areas(60), years=years, areas_served=291, density={k: 0.1 for k in kpis(5)})
    assert len(plan_requests(dense, {})[0].queries) == 3  # 3 municipality chunks, one page each
    [batch] = plan_requests(sparse, {})
    assert len(batch.queries) == 1 and batch.queries[0].areas is None  # 5×291×12×0.1 items fit in one page


def test_incremental_kpis_are_grouped_by_from_date_and_use_fewest_requests() -> None:
    scope = Scope(kpis=kpis(6), areas=areas(26), years=tuple(range(2015, 2027)), areas_served=291)
    since = {"N00000": date(2026, 11, 1), "N00001": date(2026, 11, 1)}
    batches = plan_requests(scope, since)
    full, incremental = batches
    # 4 KPIs in full: 2 filtered pages beat ⌈4×291×12/5000⌉ = 3 unfiltered ones
    assert full.kpis == kpis(6)[2:] and not full.incremental and len(full.queries) == 2
    assert incremental.kpis == ("N00000", "N00001") and incremental.incremental
    [query] = incremental.queries  # changes only: one request without municipality filter beats two
    assert query.areas is None and query.params == {"from_date": "2026-11-01"}


def test_more_than_25_years_are_chunked_or_left_unfiltered() -> None:
    scope = Scope(kpis=kpis(2), areas=areas(3), years=tuple(range(1995, 2027)), areas_served=291, years_served=37)
    [batch] = plan_requests(scope, {})
    for query in batch.queries:
        assert query.years is None or len(query.years) <= 25
    covered = set()
    for query in batch.queries:
        covered |= set(query.years or range(1990, 2027))
    assert set(range(1995, 2027)) <= covered


def test_query_paths_and_minimum() -> None:
    query = DataQuery(("N35001",), None, (2021, 2022), date(2026, 1, 2))
    assert query.path == "data/kpi/N35001/year/2021,2022"
    assert query.params == {"from_date": "2026-01-02"}
    assert DataQuery(("N1",), ("0484",), None).path == "data/kpi/N1/municipality/0484"
    assert minimum_requests(378_271) == 76 and minimum_requests(0) == 1


def test_large_harvest_prefers_few_unfiltered_chunks_even_when_all_312_areas_come_back() -> None:
    # One KPI of type A means an unfiltered query may return all 312 areas, not just the 291 wanted.
    scope = Scope(kpis=kpis(168), areas=areas(291), years=tuple(range(2000, 2023)), areas_served=312)
    batches = plan_requests(scope, {})
    assert all(len(b.queries) == 1 and b.queries[0].areas is None for b in batches)


def test_scb_grid_takes_the_fewest_blocks_under_the_cell_limit() -> None:
    """Worked by hand: 291 regions × 25 years under 500 cells. Men and women (2 cells a region-year)
    fit 10 regions × 25 years or 49 × 5 (30 blocks; fewer region parts wins); splitting by year first
    (250 regions × 1 year) would take 50. The total alone: 97 regions × 5 years, 15 blocks."""
    assert scb_grid(291, 25, 2, 500) == (6, 5)
    assert scb_grid(291, 25, 1, 500) == (3, 5)
    assert scb_grid(291, 5, 3, 500) == (9, 1)  # July 2020–2024, Kon 1, 2, 1+2: 33 regions × 5 years
    assert scb_grid(291, 25, 2, 150_000) == (1, 1)
    assert scb_grid(291, 25, 3, 3) == (291, 25)  # one region-year a request
