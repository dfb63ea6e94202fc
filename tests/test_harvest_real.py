"""End to end against the fake Kolada serving the real snapshot in ../shared/kolada.

These are the issue's acceptance checks: exact values stored, the minimum number of requests,
a rerun that changes nothing, and incremental updates that are recorded as revisions.
"""
from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from harvester import store
from harvester.config import load_config
from harvester.exitcodes import ExitCode
from tests.conftest import REPO, snapshot, write_config

SHIPPED = REPO / "config" / "kpis.toml"


def group_members(shared: Path, *group_ids: str) -> set[str]:
    groups = json.loads((shared / "catalog" / "municipality_groups.json").read_text(encoding="utf-8"))
    return {m["member_id"] for g in groups if g["id"] in group_ids for m in g["members"]}


def source_values(shared: Path, kpis: list[str], areas: set[str], first_year: int) -> pd.DataFrame:
    table = pq.read_table(shared / "values.parquet", filters=[("kpi", "in", kpis), ("municipality", "in", sorted(areas)),
                                                              ("period", ">=", first_year)])
    frame = table.to_pandas().rename(columns={"municipality": "municipality_id"})
    frame["period"] = frame["period"].astype("int32")
    return frame.sort_values(["kpi", "municipality_id", "period", "gender"]).reset_index(drop=True)


def data_requests(fake) -> list:  # type: ignore[no-untyped-def]
    return [r for r in fake.log if r.path.startswith("/v3/data/")]


def test_shipped_config_stores_exactly_the_real_values(real_fake, shared_kolada, harvester, tmp_path) -> None:
    out = tmp_path / "out"
    result = harvester("fetch", "--config", str(SHIPPED), "--api-url", real_fake.base_url, "--output", str(out))
    assert result.code == ExitCode.OK, result.err

    config = load_config(SHIPPED)
    areas = group_members(shared_kolada, *config.groups) | {"0484", "0000"}
    expected = source_values(shared_kolada, config.kpis, areas, config.year_from)
    stored = store.read_values(out).sort_values(["kpi", "municipality_id", "period", "gender"]).reset_index(drop=True)
    assert len(expected) > 800
    pd.testing.assert_frame_equal(stored[["kpi", "municipality_id", "period", "gender", "value"]], expected,
                                  check_dtype=False)
    assert (stored["count"] == stored["value"].notna().astype(int)).all()
    home = stored[(stored.kpi == "N35001") & (stored.municipality_id == "0484") & (stored.period == 2022)]
    assert round(home["value"].iloc[0], 2) == 1837.12  # the revised value, not the plan's 1 731

    # Minimum requests: 26 areas need 2 municipality chunks; without the filter every area comes back.
    years = list(range(config.year_from, date.today().year + 1))
    unfiltered_pages = math.ceil(real_fake.data.items(config.kpis, None, years) / 5000)
    filtered_pages = sum(max(1, math.ceil(real_fake.data.items(config.kpis, chunk, years) / 5000))
                         for chunk in (sorted(areas)[:25], sorted(areas)[25:]))
    assert len(data_requests(real_fake)) == min(unfiltered_pages, filtered_pages) == 2
    metadata = [r.path for r in real_fake.log if not r.path.startswith("/v3/data/")]
    assert sorted(metadata) == sorted(["/v3/kpi/N35001,N30101,N33817,N33802,N15428", "/v3/municipality",
                                       "/v3/municipality_groups/G36484,G92790"])

    groups = store.read_table(out, "groups")
    assert set(groups["group_id"]) == {"G36484", "G92790"} and groups["read_at"].notna().all()
    assert set(store.read_table(out, "kpis")["id"]) == set(config.kpis)
    assert len(store.read_table(out, "municipalities")) == 312
    [run] = store.read_table(out, "runs").to_dict("records")
    assert run["outcome"] == "success" and run["rows_added"] == len(expected) and run["requests"] == 5


def test_sala_value(real_fake, harvester, tmp_path) -> None:
    config = write_config(tmp_path / "sala.toml", home="Sala", groups=("G36628",), kpis=("N35001", "N33817"))
    out = tmp_path / "out"
    assert harvester("fetch", "--config", str(config), "--api-url", real_fake.base_url, "--output", str(out)).code == 0
    values = store.read_values(out)
    sala = values[(values.kpi == "N35001") & (values.municipality_id == "1981") & (values.period == 2022)]
    assert sala["value"].tolist() == [793.481572]
    riket = values[(values.kpi == "N35001") & (values.municipality_id == "0000") & (values.period == 2022)]
    assert round(riket["value"].iloc[0], 2) == 828.33
    foster = values[(values.kpi == "N33817") & (values.municipality_id == "1981") & (values.period == 2022)]
    assert round(foster.set_index("gender").loc["T", "value"], 2) == 12.44
    assert set(foster["gender"]) == {"T", "K", "M"}


def test_rerun_changes_nothing_and_asks_only_for_changes(real_fake, harvester, tmp_path) -> None:
    out = tmp_path / "out"
    args = ("fetch", "--config", str(SHIPPED), "--api-url", real_fake.base_url, "--output", str(out))
    assert harvester(*args).code == ExitCode.OK
    before = snapshot(out, skip=("runs.parquet", "cursors.json"))
    cursors = store.read_cursors(out)
    real_fake.clear_log()

    again = harvester(*args)
    assert again.code == ExitCode.UNCHANGED, again.err
    assert snapshot(out, skip=("runs.parquet", "cursors.json")) == before
    checked = store.read_cursors(out)  # only the time of the last check moved
    assert {k: {**c, "checked_at": None} for k, c in checked.items()} == \
        {k: {**c, "checked_at": None} for k, c in cursors.items()}
    assert all(checked[k]["checked_at"] > cursors[k]["checked_at"] for k in cursors)
    requests = data_requests(real_fake)
    assert requests and all(r.items == 0 for r in requests)
    assert all("from_date=" in r.query for r in requests)
    assert len(requests) == 1  # changes only: one request without the municipality filter
    runs = store.read_table(out, "runs")
    assert list(runs["outcome"]) == ["success", "unchanged"]


def test_incremental_update_and_withdrawal_are_merged_and_recorded(real_fake, harvester, tmp_path) -> None:
    out = tmp_path / "out"
    args = ("fetch", "--config", str(SHIPPED), "--api-url", real_fake.base_url, "--output", str(out))
    assert harvester(*args).code == ExitCode.OK
    before = store.read_values(out)
    real_fake.data.set_value("N35001", "0484", 2022, "T", 1900.5)
    real_fake.data.delete_value("N30101", "0181", 2021, "T")
    real_fake.clear_log()

    assert harvester(*args).code == ExitCode.OK
    after = store.read_values(out)
    assert len(after) == len(before) - 1
    changed = after[(after.kpi == "N35001") & (after.municipality_id == "0484") & (after.period == 2022)]
    assert changed["value"].tolist() == [1900.5]
    assert after[(after.kpi == "N30101") & (after.municipality_id == "0181") & (after.period == 2021)].empty
    untouched = after[(after.kpi == "N35001") & (after.municipality_id == "0180")]
    assert (untouched["fetched_at"] == before["fetched_at"].min()).all()

    revisions = store.read_table(out, "revisions").sort_values("change").reset_index(drop=True)
    assert revisions[["kpi", "municipality_id", "period", "change"]].values.tolist() == [
        ["N35001", "0484", 2022, "changed"], ["N30101", "0181", 2021, "removed"]]
    assert round(revisions.loc[0, "old_value"], 2) == 1837.12 and revisions.loc[0, "new_value"] == 1900.5
    assert len(data_requests(real_fake)) == 1
    [last] = store.read_table(out, "runs").tail(1).to_dict("records")
    assert (last["rows_changed"], last["rows_removed"], last["rows_added"]) == (1, 1, 0)


def test_refresh_fetches_everything_again_without_changing_data(real_fake, harvester, tmp_path) -> None:
    out = tmp_path / "out"
    args = ("fetch", "--config", str(SHIPPED), "--api-url", real_fake.base_url, "--output", str(out))
    assert harvester(*args).code == ExitCode.OK
    first_items = sum(r.items for r in data_requests(real_fake))
    before = snapshot(out, skip=("runs.parquet", "cursors.json"))
    real_fake.clear_log()
    assert harvester(*args, "--refresh").code == ExitCode.UNCHANGED
    assert all("from_date" not in r.query for r in data_requests(real_fake))
    assert sum(r.items for r in data_requests(real_fake)) == first_items > 500
    assert snapshot(out, skip=("runs.parquet", "cursors.json")) == before


def test_a_change_after_a_cached_rerun_is_still_seen(real_fake, harvester, tmp_path) -> None:
    """Incremental answers change while their URL stays the same, so they must bypass the HTTP cache."""
    out = tmp_path / "out"
    args = ("fetch", "--config", str(SHIPPED), "--api-url", real_fake.base_url, "--output", str(out))
    assert harvester(*args).code == ExitCode.OK
    assert harvester(*args).code == ExitCode.UNCHANGED  # the same from_date URL as the next run
    real_fake.data.set_value("N35001", "0484", 2022, "T", 1960.57)
    assert harvester(*args).code == ExitCode.OK
    values = store.read_values(out, ["N35001"])
    assert values.loc[(values.municipality_id == "0484") & (values.period == 2022), "value"].item() == 1960.57
