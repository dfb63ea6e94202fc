"""The fake Kolada API must speak the contract in shared/kolada/README.md, or client tests prove nothing."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import requests

from tests.fake_kolada import FakeKolada, KoladaData, shared_path

REPO = Path(__file__).resolve().parents[1]
TIMEOUT = 5
ENVELOPE_KEYS = ["values", "count", "next_url", "previous_url"]

KPIS = [
    {"id": "N00001", "title": "Kostnad äldreomsorg, kr/inv", "is_divided_by_gender": False, "municipality_type": "K"},
    {"id": "N00002", "title": "Barn i familjehem, antal/1000", "is_divided_by_gender": True, "municipality_type": "K"},
    {"id": "U00003", "title": "Väntetid vårdcentral, dagar", "is_divided_by_gender": False, "municipality_type": "L"},
]
MUNICIPALITIES = [
    {"id": "1981", "title": "Sala", "type": "K"},
    {"id": "0000", "title": "Riket", "type": "L"},
    {"id": "0180", "title": "Stockholm", "type": "K"},
    {"id": "0380", "title": "Uppsala", "type": "K"},
    {"id": "0004", "title": "Region Sörmland", "type": "L"},
    {"id": "0484", "title": "Eskilstuna", "type": "K"},
]
GROUPS = [
    {"id": "G1", "title": "Liknande kommuner, Sala", "members": [
        {"member_id": "0484", "member_title": "Eskilstuna"},
        {"member_id": "0180", "member_title": "Stockholm"},
        {"member_id": "0380", "member_title": "Uppsala"},
    ]},
]
VALUES = [
    ("N00001", "0484", 2020, "T", 100.0), ("N00001", "0484", 2021, "T", 110.0), ("N00001", "0484", 2022, "T", 120.0),
    ("N00001", "0180", 2020, "T", 200.0), ("N00001", "0180", 2021, "T", None), ("N00001", "0180", 2022, "T", 240.0),
    ("N00001", "1981", 2020, "T", 300.0), ("N00001", "1981", 2021, "T", 310.0), ("N00001", "1981", 2022, "T", 320.0),
    ("N00001", "0000", 2020, "T", 150.0), ("N00001", "0000", 2021, "T", 155.0), ("N00001", "0000", 2022, "T", 160.0),
    ("N00002", "0484", 2021, "M", 9.0), ("N00002", "0484", 2021, "K", 7.0), ("N00002", "0484", 2021, "T", 8.0),
    ("N00002", "0484", 2022, "T", 8.5), ("N00002", "1981", 2021, "T", 12.0), ("N00002", "1981", 2022, "T", 12.4),
    ("N00002", "1981", 2022, "K", 11.1), ("N00002", "1981", 2022, "M", 13.7),
    ("U00003", "0004", 2022, "T", 21.0), ("U00003", "0000", 2022, "T", 19.5),
]
ALL_SMALL_ITEMS = 18  # 12 for N00001, 4 for N00002, 2 for U00003
ALL_SMALL_QUERY = "/data/kpi/N00001,N00002,U00003/year/2020,2021,2022"
REAL_KPIS_25 = ("N00053,N00090,N00095,N00096,N00097,N00098,N00125,N00126,N00200,N00201,N00203,N00204,N00205,"
                "N00206,N00207,N00208,N00209,N00210,N00211,N00214,N00217,N00219,N00220,N00221,N00223")
REAL_KPIS_25_ITEMS = 113181  # distinct kpi x municipality x period in values.parquet


def small_data(**extra: list[dict]) -> KoladaData:
    values = pd.DataFrame(VALUES, columns=["kpi", "municipality", "period", "gender", "value"])
    return KoladaData.from_frames(KPIS, MUNICIPALITIES, GROUPS, values, **extra)


@pytest.fixture
def fake() -> Iterator[FakeKolada]:
    with FakeKolada(small_data()) as server:
        yield server


@pytest.fixture(scope="module")
def real_fake() -> Iterator[FakeKolada]:
    try:
        data = KoladaData.from_shared()
    except FileNotFoundError as error:
        pytest.fail(f"the real Kolada snapshot is required for these tests: {error}")
    with FakeKolada(data) as server:
        yield server


def get(fake: FakeKolada, path: str, params: object = None, timeout: float = TIMEOUT) -> requests.Response:
    return requests.get(f"{fake.base_url}{path}", params=params, timeout=timeout)


def keys(items: list[dict]) -> list[tuple[str, str, int]]:
    return [(item["kpi"], item["municipality"], item["period"]) for item in items]


def follow_next_url(url: str, limit: int = 100) -> list[dict]:
    items: list[dict] = []
    while url and limit:
        body = requests.get(url, timeout=TIMEOUT).json()
        items += body["values"]
        url = body["next_url"]
        limit -= 1
    return items


def values_of(response: requests.Response) -> dict[tuple[str, str, int], dict]:
    return {(i["kpi"], i["municipality"], i["period"]): i for i in response.json()["values"]}


# --- envelope, item shape, pagination ---------------------------------------------------------


def test_envelope_has_exactly_the_documented_keys_and_counts_this_page(fake: FakeKolada) -> None:
    response = get(fake, ALL_SMALL_QUERY, {"per_page": 5})
    body = response.json()
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert list(body) == ENVELOPE_KEYS
    assert body["count"] == len(body["values"]) == 5
    assert body["previous_url"] is None


def test_data_item_has_kolada_key_order_and_gender_order(fake: FakeKolada) -> None:
    item = values_of(get(fake, "/data/kpi/N00002/municipality/0484/year/2021"))[("N00002", "0484", 2021)]
    assert list(item) == ["values", "kpi", "period", "municipality"]
    assert [v["gender"] for v in item["values"]] == ["T", "K", "M"]
    assert item["values"][0] == {"gender": "T", "count": 1, "status": "", "value": 8.0, "isdeleted": False}
    assert list(item["values"][0]) == ["gender", "count", "status", "value", "isdeleted"]


def test_year_without_value_has_count_zero_and_null(fake: FakeKolada) -> None:
    item = values_of(get(fake, "/data/kpi/N00001/municipality/0180/year/2021"))[("N00001", "0180", 2021)]
    assert item["values"] == [{"gender": "T", "count": 0, "status": "", "value": None, "isdeleted": False}]


def test_items_are_sorted_by_kpi_municipality_period(fake: FakeKolada) -> None:
    served = keys(get(fake, ALL_SMALL_QUERY).json()["values"])
    assert served == sorted(served)
    assert len(served) == ALL_SMALL_ITEMS


def test_following_next_url_yields_every_item_once(fake: FakeKolada) -> None:
    first = get(fake, ALL_SMALL_QUERY, {"per_page": 4}).json()
    assert first["next_url"].startswith(f"{fake.base_url}{ALL_SMALL_QUERY}?")
    assert "page=2" in first["next_url"] and "per_page=4" in first["next_url"]
    paged = follow_next_url(first["next_url"])
    assert keys(first["values"] + paged) == keys(get(fake, ALL_SMALL_QUERY).json()["values"])


def test_previous_url_leads_back_and_last_page_has_no_next(fake: FakeKolada) -> None:
    last = get(fake, ALL_SMALL_QUERY, {"per_page": 5, "page": 4}).json()
    assert last["next_url"] is None and last["count"] == ALL_SMALL_ITEMS - 15
    assert get(fake, ALL_SMALL_QUERY, {"per_page": 6, "page": 3}).json()["next_url"] is None
    previous = requests.get(last["previous_url"], timeout=TIMEOUT).json()
    assert previous["values"] == get(fake, ALL_SMALL_QUERY, {"per_page": 5, "page": 3}).json()["values"]


def test_incrementing_page_like_koladapy_yields_every_item_once(fake: FakeKolada) -> None:
    params = [("kpi_id", "N00001"), ("kpi_id", "N00002"), ("kpi_id", "U00003"), ("per_page", "5")]
    items, page = [], 1
    while body := get(fake, "/data", [*params, ("page", str(page))]).json()["values"]:
        items += body
        page += 1
    assert page == 5
    assert keys(items) == keys(get(fake, ALL_SMALL_QUERY).json()["values"])


def test_per_page_cap_is_silent_and_paging_stays_consistent(fake: FakeKolada) -> None:
    fake.per_page_cap = 3
    first = get(fake, ALL_SMALL_QUERY, {"per_page": 5000}).json()
    assert first["count"] == 3 and "per_page=3" in first["next_url"]
    assert len(keys(first["values"] + follow_next_url(first["next_url"]))) == ALL_SMALL_ITEMS


def test_items_helper_counts_what_the_server_returns(fake: FakeKolada) -> None:
    assert fake.data.items(["N00001", "N00002", "U00003"]) == ALL_SMALL_ITEMS
    assert fake.data.items(["N00001"], ["1981", "G1"], [2022]) == get(
        fake, "/data/kpi/N00001/municipality/1981,G1/year/2022").json()["count"] == 2


# --- limits and errors --------------------------------------------------------------------------

IDS_26 = ",".join(f"N{n:05d}" for n in range(26))
AREAS_26 = ",".join(f"{n:04d}" for n in range(26))
YEARS_26 = ",".join(str(1990 + n) for n in range(26))


@pytest.mark.parametrize("path, params", [
    (f"/data/kpi/{IDS_26}/year/2022", None),
    (f"/data/kpi/N00001/municipality/{AREAS_26}", None),
    (f"/data/municipality/1981/year/{YEARS_26}", None),
    ("/data", {"kpi_id": IDS_26}),
    ("/data", [("kpi_id", "N00001"), *[("municipality_id", a) for a in AREAS_26.split(",")]]),
    ("/data", {"kpi_id": "N00001", "year": YEARS_26}),
    (f"/kpi/{IDS_26}", None),
])
def test_more_than_25_ids_in_a_dimension_is_422(fake: FakeKolada, path: str, params: object) -> None:
    response = get(fake, path, params)
    assert response.status_code == 422
    assert "26" in response.json()["detail"]


def test_25_ids_are_accepted(fake: FakeKolada) -> None:
    ids = ",".join(f"N{n:05d}" for n in range(25))
    assert get(fake, f"/data/kpi/{ids}/year/2022").status_code == 200


@pytest.mark.parametrize("path, params", [
    (ALL_SMALL_QUERY, {"per_page": 0}),
    (ALL_SMALL_QUERY, {"per_page": 5001}),
    (ALL_SMALL_QUERY, {"page": 0}),
    (ALL_SMALL_QUERY, {"page": "two"}),
    ("/kpi", {"per_page": "5.5"}),
    ("/data/kpi/N00001/year/twenty", None),
    (ALL_SMALL_QUERY, {"from_date": "2024-13-01"}),
    (ALL_SMALL_QUERY, {"from_date": "20240101"}),
])
def test_bad_paging_years_or_dates_are_422(fake: FakeKolada, path: str, params: object) -> None:
    response = get(fake, path, params)
    assert response.status_code == 422
    assert isinstance(response.json()["detail"], str)


@pytest.mark.parametrize("path", [
    "/nothing", "/data/kpi/N00001", "/data/year/2022/kpi/N00001", "/kpi/N00001/extra", "/data/kpi/N00001/area/1981",
])
def test_unknown_route_is_404(fake: FakeKolada, path: str) -> None:
    response = get(fake, path)
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


@pytest.mark.parametrize("path", ["/v2/kpi", "/v2/data/kpi/N00001/year/2022"])
def test_v2_is_gone(fake: FakeKolada, path: str) -> None:
    response = requests.get(f"{fake.root}{path}", timeout=TIMEOUT)
    assert response.status_code == 410
    assert "v2" in response.json()["detail"]


# --- revisions: from_date and tombstones --------------------------------------------------------


def test_from_date_returns_only_changes_and_tombstones(fake: FakeKolada) -> None:
    fake.data.set_value("N00001", "1981", 2022, "T", 333.0, changed="2025-01-10")
    fake.data.delete_value("N00001", "0484", 2020, "T", changed="2025-01-11")
    changed = get(fake, "/data/kpi/N00001/year/2020,2021,2022", {"from_date": "2025-01-01"})
    assert values_of(changed) == {
        ("N00001", "0484", 2020): {"values": [{"gender": "T", "count": 0, "status": "", "value": None,
                                               "isdeleted": True}], "kpi": "N00001", "period": 2020,
                                   "municipality": "0484"},
        ("N00001", "1981", 2022): {"values": [{"gender": "T", "count": 1, "status": "", "value": 333.0,
                                               "isdeleted": False}], "kpi": "N00001", "period": 2022,
                                   "municipality": "1981"},
    }
    later = get(fake, "/data/kpi/N00001/year/2020,2021,2022", {"from_date": "2025-01-11"})
    assert list(values_of(later)) == [("N00001", "0484", 2020)]


def test_normal_query_drops_deleted_and_shows_revised(fake: FakeKolada) -> None:
    fake.data.set_value("N00001", "1981", 2022, "T", 333.0)
    fake.data.delete_value("N00001", "0484", 2020, "T")
    served = values_of(get(fake, "/data/kpi/N00001/year/2020,2022"))
    assert ("N00001", "0484", 2020) not in served
    assert served[("N00001", "1981", 2022)]["values"][0]["value"] == 333.0


def test_snapshot_values_are_older_than_any_later_from_date(fake: FakeKolada) -> None:
    assert get(fake, ALL_SMALL_QUERY, {"from_date": "2024-08-31"}).json()["count"] == 0
    assert get(fake, ALL_SMALL_QUERY, {"from_date": "2024-08-30"}).json()["count"] == ALL_SMALL_ITEMS


def test_set_value_defaults_to_today_and_null_count(fake: FakeKolada) -> None:
    fake.data.set_value("U00003", "0004", 2023, "T", None)
    served = values_of(get(fake, "/data/kpi/U00003/year/2023", {"from_date": date.today().isoformat()}))
    assert served[("U00003", "0004", 2023)]["values"][0] == {
        "gender": "T", "count": 0, "status": "", "value": None, "isdeleted": False}


def test_delete_of_missing_value_is_a_test_bug(fake: FakeKolada) -> None:
    with pytest.raises(KeyError):
        fake.data.delete_value("N00001", "1981", 1999, "T")


# --- municipality groups --------------------------------------------------------------------------


def test_group_mean_is_unweighted_over_members_with_values(fake: FakeKolada) -> None:
    served = values_of(get(fake, "/data/kpi/N00001,N00002/municipality/G1/year/2020,2021,2022"))
    # Members 0484, 0180, 0380; 0380 has no values, 0180 is null in 2021.
    assert served[("N00001", "G1", 2020)]["values"][0] == {
        "gender": "T", "count": 2, "status": "", "value": 150.0, "isdeleted": False}
    assert served[("N00001", "G1", 2021)]["values"][0]["value"] == 110.0
    assert served[("N00001", "G1", 2021)]["values"][0]["count"] == 1
    assert served[("N00001", "G1", 2022)]["values"][0]["value"] == 180.0
    assert [(v["gender"], v["value"], v["count"]) for v in served[("N00002", "G1", 2021)]["values"]] == [
        ("T", 8.0, 1), ("K", 7.0, 1), ("M", 9.0, 1)]


def test_group_mean_follows_member_deletion(fake: FakeKolada) -> None:
    fake.data.delete_value("N00001", "0180", 2022, "T", changed="2025-02-01")
    served = values_of(get(fake, "/data/kpi/N00001/municipality/G1/year/2022"))
    assert served[("N00001", "G1", 2022)]["values"][0]["value"] == 120.0
    assert served[("N00001", "G1", 2022)]["values"][0]["count"] == 1


# --- query form ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path, params", [
    ("/data", {"kpi_id": "N00001,N00002", "municipality_id": "1981,0484", "year": "2021,2022"}),
    ("/data/", {"kpi_id": "N00001,N00002", "municipality_id": "1981,0484", "year": "2021,2022"}),
    ("/data", [("kpi_id", "N00001"), ("kpi_id", "N00002"), ("municipality_id", "1981"),
               ("municipality_id", "0484"), ("year", "2021"), ("year", "2022")]),
    ("/data", [("kpi_id", "N00001,N00002"), ("municipality_id", "1981"), ("municipality_id", "0484"),
               ("year", "2021,2022")]),
])
def test_query_form_matches_path_form(fake: FakeKolada, path: str, params: object) -> None:
    expected = get(fake, "/data/kpi/N00001,N00002/municipality/1981,0484/year/2021,2022").json()["values"]
    assert len(expected) == 8
    assert get(fake, path, params).json()["values"] == expected


def test_misspelt_parameter_is_ignored(fake: FakeKolada) -> None:
    with_typo = get(fake, "/data", {"kpi_id": "N00001", "municipality": "1981"}).json()
    assert with_typo["values"] == get(fake, "/data", {"kpi_id": "N00001"}).json()["values"]
    assert with_typo["count"] == 12


def test_query_form_without_known_filter_is_empty(fake: FakeKolada) -> None:
    response = get(fake, "/data", {"municipality": "1981", "kpi": "N00001"})
    assert response.status_code == 200
    assert response.json() == {"values": [], "count": 0, "next_url": None, "previous_url": None}


def test_oudata_answers_with_an_empty_list(fake: FakeKolada) -> None:
    response = get(fake, "/oudata/kpi/N00001/ou/V15E148000301/year/2022")
    assert response.status_code == 200 and response.json()["values"] == []


# --- metadata ---------------------------------------------------------------------------------------


def test_title_search_needs_every_word_in_any_case(fake: FakeKolada) -> None:
    found = get(fake, "/kpi", {"title": "KOSTNAD inv"}).json()["values"]
    assert [k["id"] for k in found] == ["N00001"]
    assert get(fake, "/kpi", {"title": "kostnad barn"}).json()["count"] == 0
    assert get(fake, "/kpi", {"title": "Äldreomsorg, KR"}).json()["count"] == 1


def test_municipality_type_filter_accepts_both_names(fake: FakeKolada) -> None:
    regions = [m["id"] for m in get(fake, "/municipality", {"region_type": "L"}).json()["values"]]
    assert regions == ["0000", "0004"]
    assert [m["id"] for m in get(fake, "/municipality", {"type": "L"}).json()["values"]] == regions
    assert "0000" not in [m["id"] for m in get(fake, "/municipality", {"type": "K"}).json()["values"]]


def test_metadata_by_ids_is_sorted_by_id(fake: FakeKolada) -> None:
    found = get(fake, "/municipality/1981,0484,9999").json()["values"]
    assert [m["id"] for m in found] == ["0484", "1981"]
    assert get(fake, "/municipality_groups/G1").json()["values"] == GROUPS


def test_kpi_groups_and_ou_are_empty_unless_given() -> None:
    ous = [{"id": "V15E148000301", "title": "Solgläntans förskola", "municipality": "1480"},
           {"id": "V15E048400101", "title": "Ekbackens förskola", "municipality": "0484"}]
    with FakeKolada(small_data()) as bare, FakeKolada(small_data(ous=ous)) as full:
        assert get(bare, "/kpi_groups").json()["values"] == get(bare, "/ou").json()["values"] == []
        assert get(full, "/ou", {"municipality": "0484", "title": "förskola"}).json()["values"] == [ous[1]]


# --- faults ------------------------------------------------------------------------------------------


def test_status_fault_sends_detail_and_retry_after_once(fake: FakeKolada) -> None:
    fake.add_fault("status", status=429, retry_after=2)
    refused = get(fake, "/kpi")
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "2"
    assert "detail" in refused.json()
    assert get(fake, "/kpi").status_code == 200


def test_html_fault_is_a_maintenance_page(fake: FakeKolada) -> None:
    fake.add_fault("html")
    response = get(fake, "/kpi")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    with pytest.raises(ValueError):
        response.json()


def test_truncate_fault_cuts_the_body_with_matching_length(fake: FakeKolada) -> None:
    whole = get(fake, "/kpi").content
    fake.add_fault("truncate")
    response = get(fake, "/kpi")
    assert response.content == whole[: len(whole) // 2]
    assert int(response.headers["Content-Length"]) == len(response.content)
    with pytest.raises(ValueError):
        response.json()


def test_reset_fault_breaks_the_connection_mid_body(fake: FakeKolada) -> None:
    fake.add_fault("reset")
    with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError)):
        get(fake, ALL_SMALL_QUERY)
    assert get(fake, ALL_SMALL_QUERY).json()["count"] == ALL_SMALL_ITEMS


def test_drop_fault_closes_without_response(fake: FakeKolada) -> None:
    fake.add_fault("drop")
    with pytest.raises(requests.exceptions.ConnectionError):
        get(fake, "/kpi")


def test_timeout_fault_outlasts_the_client_timeout(fake: FakeKolada) -> None:
    fake.add_fault("timeout", seconds=2)
    started = time.monotonic()
    with pytest.raises(requests.exceptions.Timeout):
        get(fake, "/kpi", timeout=0.3)
    assert time.monotonic() - started < 1.5


def test_empty_fault_is_a_valid_empty_envelope(fake: FakeKolada) -> None:
    fake.add_fault("empty")
    assert get(fake, ALL_SMALL_QUERY).json() == {"values": [], "count": 0, "next_url": None, "previous_url": None}


def test_loop_fault_points_next_url_at_the_same_page(fake: FakeKolada) -> None:
    fake.add_fault("loop")
    body = get(fake, ALL_SMALL_QUERY, {"per_page": 5, "page": 2}).json()
    assert body["count"] == 5
    assert body["next_url"] == f"{fake.base_url}{ALL_SMALL_QUERY}?page=2&per_page=5"


def test_faults_match_by_regex_are_consumed_in_order_and_can_repeat(fake: FakeKolada) -> None:
    fake.add_fault("status", match=r"/municipality", status=500)
    fake.add_fault("status", match=r"/municipality", status=502, times=2)
    fake.add_fault("status", match=r"title=Sala", status=503, times=None)
    assert get(fake, "/kpi").status_code == 200
    assert [get(fake, "/municipality").status_code for _ in range(4)] == [500, 502, 502, 200]
    assert [get(fake, "/kpi", {"title": "Sala"}).status_code for _ in range(3)] == [503, 503, 503]
    fake.clear_faults()
    assert get(fake, "/kpi", {"title": "Sala"}).status_code == 200


@pytest.mark.parametrize("kind, opts", [("nonsense", {}), ("status", {"code": 500}), ("drop", {"seconds": 1})])
def test_add_fault_rejects_typos(fake: FakeKolada, kind: str, opts: dict) -> None:
    with pytest.raises(ValueError):
        fake.add_fault(kind, **opts)


def test_log_records_status_items_and_fault(fake: FakeKolada) -> None:
    fake.add_fault("status", status=503)
    get(fake, ALL_SMALL_QUERY, {"per_page": 5})
    get(fake, ALL_SMALL_QUERY, {"per_page": 5})
    get(fake, "/nothing")
    log = fake.log
    assert [(e.status, e.items, e.fault) for e in log] == [(503, 0, "status"), (200, 5, None), (404, 0, None)]
    assert log[1].path == f"/v3{ALL_SMALL_QUERY}" and log[1].query == "per_page=5"
    assert log[0].t <= log[1].t <= log[2].t
    fake.clear_log()
    assert fake.log == []


# --- server lifecycle -----------------------------------------------------------------------------


def test_latency_delays_each_answer(fake: FakeKolada) -> None:
    fake.latency = 0.2
    started = time.monotonic()
    get(fake, "/kpi")
    assert time.monotonic() - started >= 0.2


def test_stop_returns_promptly_while_a_handler_sleeps() -> None:
    fake = FakeKolada(small_data()).start()
    fake.add_fault("timeout", seconds=30)
    outcome: list[object] = []

    def client() -> None:
        try:
            outcome.append(get(fake, "/kpi", timeout=10))
        except requests.RequestException as error:
            outcome.append(error)

    thread = threading.Thread(target=client)
    thread.start()
    time.sleep(0.3)  # let the handler reach its sleep
    started = time.monotonic()
    fake.stop()
    assert time.monotonic() - started < 2
    thread.join(5)
    assert isinstance(outcome[0], requests.RequestException)
    deadline = time.monotonic() + 1
    while not fake.log and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [(e.status, e.fault) for e in fake.log] == [(0, "timeout")]  # the handler's sleep ended too
    with pytest.raises(RuntimeError):
        fake.base_url


def test_keep_alive_serves_several_requests_on_one_connection(fake: FakeKolada) -> None:
    port = int(fake.root.rsplit(":", 1)[1])
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    for _ in range(3):
        connection.request("GET", "/v3/municipality/1981")
        response = connection.getresponse()
        assert json.loads(response.read())["values"][0]["title"] == "Sala"
    assert connection.sock is not None
    connection.close()


# --- the real snapshot -----------------------------------------------------------------------------


def test_real_n35001_2022_for_sala_and_riket(real_fake: FakeKolada) -> None:
    served = values_of(get(real_fake, "/data/kpi/N35001/municipality/1981,0000/year/2022"))
    assert served[("N35001", "1981", 2022)]["values"][0]["value"] == 793.481572
    assert round(served[("N35001", "0000", 2022)]["values"][0]["value"], 2) == 828.33


def test_real_gender_divided_kpi(real_fake: FakeKolada) -> None:
    item = values_of(get(real_fake, "/data/kpi/N33817/municipality/1981/year/2022"))[("N33817", "1981", 2022)]
    assert [v["gender"] for v in item["values"]] == ["T", "K", "M"]
    assert round(item["values"][0]["value"], 2) == 12.44


@pytest.mark.parametrize("name", ["kpi", "municipality", "municipality_groups"])
def test_real_catalogue_is_served_verbatim(real_fake: FakeKolada, name: str) -> None:
    expected = json.loads((shared_path() / "catalog" / f"{name}.json").read_text(encoding="utf-8"))
    served = follow_next_url(f"{real_fake.base_url}/{name}")
    assert [list(o.items()) for o in served] == [list(o.items()) for o in expected]


def test_real_kpi_catalogue_needs_two_pages(real_fake: FakeKolada) -> None:
    first = get(real_fake, "/kpi").json()
    assert first["count"] == 5000 and first["next_url"] is not None


def test_real_5000_item_pages_are_cut_from_one_materialised_answer(real_fake: FakeKolada) -> None:
    """Paging must not recompute a query (25 KPIs over the real snapshot take seconds to gather): every page
    is cut from the answer the first page materialised. Checked by identity and cache size, not by a clock."""
    url = f"{real_fake.base_url}/data?kpi_id={REAL_KPIS_25}"
    assert requests.get(url, timeout=30).json()["count"] == 5000
    entries = len(real_fake.data._cache)  # noqa: SLF001 - the fake's own memo is what is under test
    answer = real_fake.data.query(REAL_KPIS_25.split(","))
    assert len(real_fake.data._cache) == entries  # noqa: SLF001 - the server memoised this very query
    for page in (2, 3, 4):
        assert requests.get(f"{url}&page={page}", timeout=TIMEOUT).json()["count"] == 5000
    assert len(real_fake.data._cache) == entries and real_fake.data.query(REAL_KPIS_25.split(",")) is answer  # noqa: SLF001
    assert real_fake.data.items(REAL_KPIS_25.split(",")) == REAL_KPIS_25_ITEMS


# --- command line ---------------------------------------------------------------------------------


def test_command_line_serves_real_data_until_interrupted() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_kolada", "--port", "0"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        base_url = process.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v3"), process.stderr.read()
        sala = requests.get(f"{base_url}/municipality/1981", timeout=TIMEOUT).json()["values"]
        assert sala == [{"id": "1981", "title": "Sala", "type": "K"}]
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(10) == 0


def test_command_line_says_where_it_looked_when_data_is_missing(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    result = subprocess.run(
        [sys.executable, "-m", "tests.fake_kolada", "--port", "0"], cwd=REPO, capture_output=True, text=True,
        timeout=30, env={**os.environ, "KOLADA_SHARED": str(missing)},
    )
    assert result.returncode != 0
    assert str(missing) in result.stderr
