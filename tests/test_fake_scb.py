"""The fake SCB API must speak the contract in shared/scb/README.md, or the SCB client's tests prove nothing."""

from __future__ import annotations

import itertools
import json
import math
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import requests

from tests.fake_scb import FakeScb, ScbData, require_shared
from tests.fake_scb.data import TOTAL_CODES, detect_total_codes

REPO = Path(__file__).resolve().parents[1]
TIMEOUT = 5
BAS = "valueCodes[Alder]=16-64&valueCodes[Fodelseregion]=tot"


@pytest.fixture(scope="module")
def shared() -> Path:
    return require_shared()


@pytest.fixture(scope="module")
def data(shared: Path) -> ScbData:
    return ScbData.from_shared(shared)


@pytest.fixture
def fake(data: ScbData) -> Iterator[FakeScb]:
    with FakeScb(ScbData.from_shared(data.path)) as server:
        yield server


def recorded(shared: Path, name: str) -> dict:
    return json.loads((shared / "recorded" / name).read_text("utf-8"))


def shape(value: object, depth: int = 0) -> object:
    """Keys and types, recursively; below a few levels only the type, since code-keyed maps differ by table."""
    if isinstance(value, dict):
        return {k: shape(v, depth + 1) for k, v in value.items()} if depth < 2 else "dict"
    if isinstance(value, list):
        return "list"
    return "number" if isinstance(value, int | float) and not isinstance(value, bool) else type(value).__name__


def get(fake: FakeScb, path: str) -> requests.Response:
    return requests.get(fake.base_url + path, timeout=TIMEOUT)


def data_get(fake: FakeScb, table: str, query: str) -> requests.Response:
    return get(fake, f"/tables/{table}/data?lang=sv&outputFormat=json-stat2&{query}")


def values(fake: FakeScb, table: str, query: str) -> list:
    response = data_get(fake, table, query)
    assert response.status_code == 200, response.text
    return response.json()["value"]


def decoded(body: dict) -> dict[tuple[str, ...], object]:
    """Every value of a json-stat2 answer keyed by its codes in `id` order (row-major: the last varies fastest)."""
    axes = []
    for var in body["id"]:
        index = body["dimension"][var]["category"]["index"]
        axes.append(sorted(index, key=index.get))
    assert len(body["value"]) == math.prod(len(axis) for axis in axes)
    return dict(zip(itertools.product(*axes), body["value"], strict=True))


def assert_problem(response: requests.Response, status: int, title: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["type"] == "Parameter error" and body["title"] == title and body["status"] == status


# -- shape parity --------------------------------------------------------------------------------------------
def test_config_has_the_recorded_shape_with_scbs_real_limits(fake: FakeScb, shared: Path) -> None:
    body = get(fake, "/config").json()
    assert shape(body) == shape(recorded(shared, "config.json"))
    assert (body["maxDataCells"], body["maxCallsPerTimeWindow"], body["timeWindow"]) == (150_000, 30, 10)


def test_tables_and_table_entries_have_the_recorded_shape(fake: FakeScb, shared: Path) -> None:
    page = get(fake, "/tables").json()
    assert shape(page) == shape(recorded(shared, "tables.json"))
    entry_shape = shape(recorded(shared, "tables.json")["tables"][0])
    for table in ("TAB638", "TAB6260", "TAB2948", "TAB6471", "TAB4707"):
        assert shape(get(fake, f"/tables/{table}").json()) == entry_shape
    entry = get(fake, "/tables/TAB6260").json()
    assert (entry["firstPeriod"], entry["lastPeriod"], entry["timeUnit"]) == ("2020M01", "2026M06", "Monthly")
    assert entry["updated"] == "2026-08-28T06:00:00Z" and "Preliminär statistik" in entry["label"]
    assert get(fake, "/tables/TAB638").json()["timeUnit"] == "Annual"
    assert all(link["href"].startswith(fake.root) for link in entry["links"])


def test_metadata_is_the_recorded_body(fake: FakeScb, shared: Path) -> None:
    for table in ("TAB638", "TAB6260", "TAB2948", "TAB6471"):
        assert get(fake, f"/tables/{table}/metadata?lang=sv").json() == recorded(shared, f"{table}-metadata.json")


def test_data_answer_has_the_recorded_data_shape(fake: FakeScb, shared: Path) -> None:
    real = recorded(shared, "TAB6471-data.json")
    body = data_get(fake, "TAB6471", "valueCodes[Region]=01,03&valueCodes[Alder]=TotSA,-4&valueCodes[Kon]=*"
                    "&valueCodes[ContentsCode]=000007SF&valueCodes[Tid]=2026M01,2026M02").json()
    assert set(body) - {"status"} == set(real)
    assert {k: shape(v) for k, v in body.items() if k != "status"} == {k: shape(v) for k, v in real.items()}
    for var in real["id"]:
        assert set(body["dimension"][var]) == set(real["dimension"][var])
        assert set(body["dimension"][var]["category"]) == set(real["dimension"][var]["category"])
        assert set(body["dimension"][var]["extension"]) == set(real["dimension"][var]["extension"])
    assert body["size"] == [2, 2, 3, 1, 2] and len(body["value"]) == 24


# -- real numbers ----------------------------------------------------------------------------------------------
def test_the_readme_worked_example(fake: FakeScb) -> None:
    body = data_get(fake, "TAB638", "valueCodes[Region]=1981,00&valueCodes[ContentsCode]=BE0101N1"
                    "&valueCodes[Tid]=2021,2022").json()
    assert body["id"] == ["Region", "ContentsCode", "Tid"] and body["size"] == [2, 1, 2]
    assert body["dimension"]["Region"]["category"]["index"] == {"00": 0, "1981": 1}
    assert body["value"] == [10452326, 10521556, 22998, 22981]


def test_known_facts_and_nulls_come_from_the_parquet(fake: FakeScb, shared: Path) -> None:
    common = "valueCodes[ContentsCode]=BE0101N1&valueCodes[Tid]=2022"
    assert values(fake, "TAB638", f"valueCodes[Region]=1981&valueCodes[Kon]=1,2&{common}") == [11624, 11357]
    assert values(fake, "TAB638", f"valueCodes[Region]=00,19&{common}") == [10521556, 280713]
    assert values(fake, "TAB638", f"valueCodes[Region]=1981&valueCodes[Alder]=tot&{common}") == [22981]
    knivsta = pq.read_table(shared / "population.parquet", filters=[("Region", "=", "0330"), ("Kon", "=", "1+2")])
    expected = {row["Tid"]: row["value"] for row in knivsta.to_pylist()}
    served = values(fake, "TAB638", "valueCodes[Region]=0330&valueCodes[ContentsCode]=BE0101N1"
                    "&valueCodes[Tid]=[RANGE(2000,2003)]")
    assert served == [expected[y] for y in ("2000", "2001", "2002", "2003")] and served[:2] == [None, None]


def test_synthetic_values_are_deterministic_marked_and_have_nulls(data: ScbData) -> None:
    query = (f"valueCodes[Region]=????&{BAS}&valueCodes[ContentsCode]=000004YH&valueCodes[Tid]=2022M07")
    with FakeScb(ScbData.from_shared(data.path)) as first, FakeScb(ScbData.from_shared(data.path)) as second:
        one, two = data_get(first, "TAB6260", query).json(), data_get(second, "TAB6260", query).json()
    assert one["value"] == two["value"] and len(one["value"]) == 290
    assert any("synthetic" in note for note in one["note"])
    nulls = [i for i, v in enumerate(one["value"]) if v is None]
    assert nulls and one["status"] == {str(i): ".." for i in nulls}
    assert all(v is None or v > 0 for v in one["value"])
    index = one["dimension"]["Region"]["category"]["index"]
    stockholm, sala = one["value"][index["0180"]], one["value"][index["1981"]]
    assert stockholm is None or sala is None or stockholm > sala  # counts scale with population


def test_synthetic_values_are_plausible(fake: FakeScb, shared: Path) -> None:
    real = pq.read_table(shared / "population.parquet", filters=[("Region", "=", "0484"), ("Kon", "=", "1+2"),
                                                                 ("Tid", "=", "2022")]).to_pylist()[0]["value"]
    # A synthetic TAB638 total (2023 and 2024 are not in population.parquet) is there and near the real size.
    eskilstuna = values(fake, "TAB638", "valueCodes[Region]=0484&valueCodes[ContentsCode]=BE0101N1"
                        "&valueCodes[Tid]=2023,2024")
    assert None not in eskilstuna and all(abs(v / real - 1) <= 0.25 for v in eskilstuna)
    growth = values(fake, "TAB638", "valueCodes[Region]=0484&valueCodes[ContentsCode]=BE0101N2&valueCodes[Tid]=2023")
    assert 0 < growth[0] < 0.05 * real
    # BAS counts nest (unemployed < labour force < total number) in every region and month, in both tables, and
    # the same (Region, Tid) are missing for every contents code: about 2 % of them.
    for table, (unemployed, labour, total), rates in (
            ("TAB6260", ("000004YH", "000006IU", "000006I8"), ("000006II", "000006IJ", "000006IK")),
            ("TAB2948", ("000001ZW", "000001ZV", "0000027N"), ("000001ZX", "000001YK", "00000202"))):
        cells = decoded(data_get(fake, table, f"valueCodes[Region]=*&valueCodes[Kon]=1%2B2&{BAS}&valueCodes"
                                 f"[ContentsCode]={','.join((unemployed, labour, total, *rates))}"
                                 "&valueCodes[Tid]=*").json())
        by_cell: dict[tuple, dict] = {}
        for (region, _, _, _, contents, period), value in cells.items():
            by_cell.setdefault((region, period), {})[contents] = value
        missing = [key for key, got in by_cell.items() if None in got.values()]
        assert all(set(by_cell[key].values()) == {None} for key in missing)
        assert 0.01 < len(missing) / len(by_cell) < 0.03, len(missing) / len(by_cell)
        for key, got in by_cell.items():
            if key not in missing:
                assert 0 < got[unemployed] < got[labour] < got[total], (table, key, got)
                assert all(2 <= got[rate] <= 12 for rate in rates), (table, key, got)
        # ... and a ratio of two of them differs between municipalities, as a plan's "per 1 000" figure would.
        shares = [got[unemployed] / got[total] for key, got in by_cell.items() if key not in missing]
        assert max(shares) / min(shares) > 1.3
    # A region's figures move by at most about ±10 % from one month to the next, not from 0.2 to 1.
    sala = values(fake, "TAB6260", f"valueCodes[Region]=1981&valueCodes[Kon]=1%2B2&{BAS}"
                  "&valueCodes[ContentsCode]=000004YH&valueCodes[Tid]=2022*")
    present = [v for v in sala if v is not None]
    assert len(present) >= 10 and max(present) / min(present) < 1.1 / 0.9 + 0.05


# -- selection -------------------------------------------------------------------------------------------------
def test_expressions_codes_and_case(fake: FakeScb) -> None:
    def codes(var: str, expression: str) -> list[str]:
        selection = {"Region": "1981", "Alder": "16-64", "Fodelseregion": "tot", "ContentsCode": "000004YH",
                     "Tid": "2022M07", var: expression}
        query = "&".join(f"valueCodes[{k}]={v}" for k, v in selection.items())
        response = data_get(fake, "TAB6260", query)
        assert response.status_code == 200, response.text
        return list(response.json()["dimension"][var]["category"]["index"])

    assert codes("Tid", "TOP(2)") == ["2026M05", "2026M06"]
    assert codes("Tid", "[TOP(2,1)]") == ["2026M04", "2026M05"]
    assert codes("Tid", "BOTTOM(1)") == ["2020M01"]
    assert codes("Tid", "[RANGE(2020M11,2021M02)]") == ["2020M11", "2020M12", "2021M01", "2021M02"]
    assert codes("Tid", "FROM(2026M05)") == ["2026M05", "2026M06"]
    assert len(codes("Tid", "TO(2020M03)")) == 3 and len(codes("Tid", "2022*")) == 12
    assert codes("Tid", "*M12")[0] == "2020M12" and codes("Tid", "20??M01")[-1] == "2026M01"
    assert codes("Alder", "*-64") == ["060-64", "16-64", "20-64"]
    assert codes("Alder", "*6-6*") == ["16-64", "16-65", "16-66"] and codes("Alder", "16*") == codes("Alder", "16-??")
    assert len(codes("Region", "????")) == 290 and codes("Region", "TOP(2)") == ["00", "01"]
    assert codes("Kon", "1%2B2") == ["1+2"]
    assert codes("Fodelseregion", "TOT,UT") == ["tot", "ut"]  # matched case-insensitively, table's spelling back
    lower = data_get(fake, "TAB6260", f"valuecodes[region]=1981&{BAS}&valueCodes[contentscode]=000004YH"
                     "&valueCodes[TID]=2022M07")
    assert lower.status_code == 200 and lower.json()["id"] == ["Region", "Alder", "Fodelseregion", "ContentsCode", "Tid"]


def test_codelists_select_value_sets(fake: FakeScb) -> None:
    base = f"{BAS}&valueCodes[ContentsCode]=000004YH&valueCodes[Tid]=2022M07&valueCodes[Region]=*"
    assert len(values(fake, "TAB6260", f"{base}&codelist[Region]=vs_RegionKommun07EjAggr")) == 290
    assert_problem(data_get(fake, "TAB6260", f"{base}&codelist[Region]=vs_Nope"), 400, "Non-existent codelist")


@pytest.mark.parametrize(("query", "status", "title"), [
    ("valueCodes[Region]=1981&valueCodes[Tid]=2022", 400, "Missing selection for mandantory variable"),
    ("valueCodes[Region]=1981&valueCodes[ContentsCode]=BE0101N1&valueCodes[Tid]=", 400,
     "Missing selection for mandantory variable"),
    ("valueCodes[Regionen]=1981&valueCodes[ContentsCode]=BE0101N1&valueCodes[Tid]=2022", 400, "Non-existent variable"),
    ("valueCodes[Region]=9999&valueCodes[ContentsCode]=BE0101N1&valueCodes[Tid]=2022", 400, "Non-existent value"),
    ("valueCodes[Region]=1981&valueCodes[ContentsCode]=BE0101N1&valueCodes[Tid]=2030*", 400, "Non-existent value"),
    ("valueCodes[Kon]=1%2B2&valueCodes[ContentsCode]=BE0101N1&valueCodes[Tid]=2022", 400, "Non-existent value"),
    ("valueCodes[Region]=1981&valueCodes[ContentsCode]=BE0101N1&valueCodes[Tid]=TOP(x)", 400,
     "Illegal selection expression"),
    ("valueCodes[Region]=1981&valueCodes[ContentsCode]=BE0101N1&valueCodes[Tid]=TOP(3,1)", 400,
     "Illegal selection expression"),  # the comma splits an unbracketed TOP(3,1)
    ("valueCodes[Region]=1*9*1&valueCodes[ContentsCode]=BE0101N1&valueCodes[Tid]=2022", 400,
     "Illegal selection expression"),
    ("valueCodes[Region]=1981&valueCodes[ContentsCode]=BE0101N1&valueCodes[Tid]=2022&outputFormat=csv", 400,
     "Unsupported output format"),
    ("valueCodes[Region]=1981&valueCodes[ContentsCode]=BE0101N1&valueCodes[Tid]=2022&codelist[Region]=x", 400,
     "Non-existent codelist"),
])
def test_every_error_of_the_contract(fake: FakeScb, query: str, status: int, title: str) -> None:
    assert_problem(get(fake, f"/tables/TAB638/data?{query}"), status, title)


def test_unknown_table_page_and_json_format(fake: FakeScb) -> None:
    assert_problem(get(fake, "/tables/TAB999999"), 404, "Non-existent table")
    assert_problem(get(fake, "/tables/TAB999999/metadata"), 404, "Non-existent table")
    assert_problem(get(fake, "/tables?pageNumber=999"), 404, "Non-existent page")
    refused = get(fake, "/tables/TAB638/data?outputFormat=json&valueCodes[ContentsCode]=BE0101N1&valueCodes[Tid]=2022")
    assert refused.status_code == 400 and "errors" in refused.json()


def test_table_search_and_paging(fake: FakeScb) -> None:
    hits = get(fake, "/tables?query=arbetsmarknadsstatus").json()
    assert {"TAB2948", "TAB6260"} <= {t["id"] for t in hits["tables"]} and hits["page"]["links"] == []
    assert all("arbetsmarknadsstatus" in t["label"].lower() for t in hits["tables"])
    first = get(fake, "/tables?pageSize=10").json()
    total = first["page"]["totalElements"]
    assert total == 34 and first["page"]["totalPages"] == 4
    assert [link["rel"] for link in first["page"]["links"]] == ["next", "last"]
    seen, page = [t["id"] for t in first["tables"]], first
    while any(link["rel"] == "next" for link in page["page"]["links"]):
        href = next(link["href"] for link in page["page"]["links"] if link["rel"] == "next")
        page = requests.get(href, timeout=TIMEOUT).json()
        seen += [t["id"] for t in page["tables"]]
    assert len(seen) == len(set(seen)) == total


# -- traps and limits -------------------------------------------------------------------------------------------
def test_trap_repeated_value_codes_keep_only_the_first(fake: FakeScb) -> None:
    body = data_get(fake, "TAB638", "valueCodes[Region]=1981&valueCodes[Region]=00&valueCodes[ContentsCode]=BE0101N1"
                    "&valueCodes[Tid]=2022").json()
    assert body["size"] == [1, 1, 1] and body["value"] == [22981]


def test_trap_unencoded_plus_is_a_space(fake: FakeScb) -> None:
    query = f"valueCodes[Region]=1981&{BAS}&valueCodes[ContentsCode]=000004YH&valueCodes[Tid]=2022M07"
    response = data_get(fake, "TAB6260", f"{query}&valueCodes[Kon]=1+2")
    assert_problem(response, 400, "Non-existent value")
    assert response.json()["detail"] == "1 2"
    assert data_get(fake, "TAB6260", f"{query}&valueCodes[Kon]=1%2B2").status_code == 200


def test_a_long_url_is_refused_and_post_gives_the_same_answer(fake: FakeScb) -> None:
    regions = [c for c in get(fake, "/tables/TAB638/metadata").json()["dimension"]["Region"]["category"]["index"]]
    query = f"valueCodes[Region]={','.join(regions)}&valueCodes[ContentsCode]=BE0101N1&valueCodes[Tid]=2022"
    assert data_get(fake, "TAB638", query).status_code == 200  # 1 600 characters pass
    query = query.replace("Tid]=2022", f"Tid]={','.join(str(year) for year in range(1968, 2025))}")
    query += f"&valueCodes[Alder]={','.join(str(age) for age in range(100))}"
    assert len(fake.base_url + query) > 2100
    assert data_get(fake, "TAB638", query).status_code == 414
    short = "valueCodes[Region]=1981,00&valueCodes[Kon]=1&valueCodes[ContentsCode]=BE0101N1&valueCodes[Tid]=[TOP(2,2)]"
    body = {"selection": [{"variableCode": "region", "valueCodes": ["1981", "00"]},
                          {"variableCode": "Kon", "valueCodes": ["1"]},
                          {"variableCode": "ContentsCode", "valueCodes": ["BE0101N1"]},
                          {"variableCode": "Tid", "valueCodes": ["TOP(2,2)"]}],
            "placement": {"heading": [], "stub": []}}
    posted = requests.post(f"{fake.base_url}/tables/TAB638/data?outputFormat=json-stat2", json=body, timeout=TIMEOUT)
    assert posted.status_code == 200 and posted.json() == data_get(fake, "TAB638", short).json()
    body["selection"][0]["valueCodes"] = regions
    assert len(requests.post(f"{fake.base_url}/tables/TAB638/data", json=body, timeout=TIMEOUT).json()["value"]) == 624
    last = fake.log[-1]
    assert (last.method, last.status, last.cells) == ("POST", 200, 624) and '"selection"' in last.body


def test_cell_limit_passes_a_full_tab6260_pull_and_refuses_one_more_month(fake: FakeScb) -> None:
    full = "valueCodes[Region]=*&valueCodes[Kon]=*&valueCodes[ContentsCode]=000004YH,000006II"
    response = requests.post(f"{fake.base_url}/tables/TAB6260/data", timeout=TIMEOUT, json={"selection": [
        {"variableCode": "Region", "valueCodes": ["*"]}, {"variableCode": "Kon", "valueCodes": ["*"]},
        {"variableCode": "Alder", "valueCodes": ["16-64"]},
        {"variableCode": "ContentsCode", "valueCodes": ["000004YH", "000006II"]},
        {"variableCode": "Tid", "valueCodes": ["*"]}]})
    assert response.status_code == 200 and len(response.json()["value"]) == 146_016
    assert fake.log[-1].cells == 146_016
    with FakeScb(fake.data, max_cells=146_015) as strict:
        assert_problem(data_get(strict, "TAB6260", f"{full}&valueCodes[Alder]=16-64&valueCodes[Tid]=*"),
                       400, "Too many cells selected")
        assert data_get(strict, "TAB6260", f"{full}&valueCodes[Alder]=16-64&valueCodes[Tid]=TOP(77)").status_code == 200


def test_elimination_sum_and_elimination_value(fake: FakeScb) -> None:
    common = "valueCodes[Region]=0180&valueCodes[Alder]=TotSA&valueCodes[ContentsCode]=000007SF&valueCodes[Tid]=2026M01"
    assert values(fake, "TAB6471", common) == values(fake, "TAB6471", f"{common}&valueCodes[Kon]=TotSa")
    # TAB6260 Kon has no elimination value but a total code: left out, it stands for 1+2 (= 1 + 2), never 1 + 2 + 1+2.
    bas = f"valueCodes[Region]=0180&{BAS}&valueCodes[ContentsCode]=000006IU&valueCodes[Tid]=2022M07"
    men, women, both = values(fake, "TAB6260", f"{bas}&valueCodes[Kon]=1,2,1%2B2")
    assert None not in (men, women, both) and men + women == both and values(fake, "TAB6260", bas) == [both]
    # Missing is a whole (table, Region, Tid): a region's parts are all missing or all there, and so is its total.
    regions = f"valueCodes[Region]=????&{BAS}&valueCodes[ContentsCode]=000006IU&valueCodes[Tid]=2022M07"
    flat = values(fake, "TAB6260", f"{regions}&valueCodes[Kon]=*")
    by_sex = [flat[i:i + 3] for i in range(0, len(flat), 3)]
    assert all(parts.count(None) in (0, 3) for parts in by_sex)
    assert all(parts[0] + parts[1] == parts[2] for parts in by_sex if None not in parts)
    expected = [parts[2] for parts in by_sex]
    assert values(fake, "TAB6260", regions) == expected and None in expected
    # TAB638 sums 4 x 101 x 2 = 808 parts when Civilstand, Alder and Kon are left out (Alder's 102nd code, tot, is
    # their total, not a part): exactly, outside the real years.
    year = "valueCodes[ContentsCode]=BE0101N1&valueCodes[Tid]=2023"
    every = "valueCodes[Civilstand]=*&valueCodes[Alder]=*&valueCodes[Kon]=*"
    cells = decoded(data_get(fake, "TAB638", f"valueCodes[Region]=0484&{every}&{year}").json())
    parts = [value for (_, _, age, *_), value in cells.items() if age != "tot"]
    assert len(cells) == 816 and len(parts) == 808 and None not in parts
    eliminated = values(fake, "TAB638", f"valueCodes[Region]=0484&{year}")
    assert eliminated == [sum(parts)] == [sum(v for (_, _, age, *_), v in cells.items() if age == "tot")]
    totals = decoded(data_get(fake, "TAB638", f"valueCodes[Region]=????&{year}").json())
    unpublished = [codes[0] for codes, value in totals.items() if value is None]
    assert unpublished
    assert set(values(fake, "TAB638", f"valueCodes[Region]={unpublished[0]}&{every}&{year}")) == {None}


def test_total_codes_are_totals(fake: FakeScb, shared: Path) -> None:
    """A total code (Kon 1+2, Fodelseregion tot, Alder tot) is the exact sum of its variable's other codes, and an
    eliminated variable stands for it: a fully chosen total is population x share, not a ninth of it."""
    for table in ("TAB638", "TAB6260", "TAB2948", "TAB6471"):
        assert detect_total_codes(recorded(shared, f"{table}-metadata.json")) == {
            var: [code] for var, code in TOTAL_CODES[table].items()}
    real = pq.read_table(shared / "population.parquet", filters=[("Region", "=", "0484"), ("Kon", "=", "1+2"),
                                                                 ("Tid", "=", "2022")]).to_pylist()[0]["value"]
    assert real == 107918
    eskilstuna = "valueCodes[Region]=0484&valueCodes[Alder]=16-64&valueCodes[Tid]=2022M07"
    contents = "000006I8,000004YH,000006IU,000006II"
    cells = decoded(data_get(fake, "TAB6260", f"{eskilstuna}&valueCodes[Kon]=*&valueCodes[Fodelseregion]=*"
                             f"&valueCodes[ContentsCode]={contents}").json())
    by_code = {(kon, born, what): value for (_, kon, _, born, what, _), value in cells.items()}
    for what in ("000006I8", "000004YH", "000006IU"):
        for born in ("tot", "in", "ut"):
            assert by_code["1", born, what] + by_code["2", born, what] == by_code["1+2", born, what], (born, what)
        for kon in ("1", "2", "1+2"):
            assert by_code[kon, "in", what] + by_code[kon, "ut", what] == by_code[kon, "tot", what], (kon, what)
    assert 0.4 * real <= by_code["1+2", "tot", "000006I8"] <= 0.8 * real  # 16-64 year olds: share 0.62
    assert 0.02 * real <= by_code["1+2", "tot", "000004YH"] <= 0.06 * real  # unemployed: share 0.04
    assert all(2 <= by_code[kon, born, "000006II"] <= 12 for kon in ("1", "2", "1+2") for born in ("tot", "in", "ut"))
    # Leaving Kon and Fodelseregion out gives the 1+2 / tot cell, rates included.
    eliminated = decoded(data_get(fake, "TAB6260", f"{eskilstuna}&valueCodes[ContentsCode]={contents}").json())
    assert {what: value for (_, _, what, _), value in eliminated.items()} == {
        what: by_code["1+2", "tot", what] for what in contents.split(",")}
    # TAB638 Alder left out is Alder tot, the sum of the 101 single ages, in a synthetic year.
    year = "valueCodes[Region]=0484&valueCodes[ContentsCode]=BE0101N1&valueCodes[Tid]=2023"
    ages = decoded(data_get(fake, "TAB638", f"{year}&valueCodes[Alder]=*").json())
    single = [value for (_, age, *_), value in ages.items() if age != "tot"]
    assert len(single) == 101 and None not in single
    assert values(fake, "TAB638", year) == values(fake, "TAB638", f"{year}&valueCodes[Alder]=tot") == [sum(single)]
    assert abs(sum(single) / real - 1) <= 0.25
    # TAB6471: TotSa = 1 + 2, TotSA = the sum of the other 133 age codes, and TotSA TotSa is about the population.
    month = "valueCodes[Region]=0180&valueCodes[ContentsCode]=000007SF&valueCodes[Tid]=2026M01"
    sexes = values(fake, "TAB6471", f"{month}&valueCodes[Alder]=TotSA&valueCodes[Kon]=TotSa,1,2")
    assert sexes[0] == sexes[1] + sexes[2]
    ages = values(fake, "TAB6471", f"{month}&valueCodes[Alder]=*&valueCodes[Kon]=TotSa")
    index = get(fake, "/tables/TAB6471/metadata").json()["dimension"]["Alder"]["category"]["index"]
    assert len(ages) == 134 and ages[index["TotSA"]] == sum(ages) - ages[index["TotSA"]] == sexes[0]
    stockholm = pq.read_table(shared / "population.parquet", filters=[("Region", "=", "0180"), ("Kon", "=", "1+2"),
                                                                      ("Tid", "=", "2022")]).to_pylist()[0]["value"]
    assert abs(sexes[0] / stockholm - 1) <= 0.25


def test_call_quota_per_client_with_retry_after(data: ScbData) -> None:
    with FakeScb(data, max_calls=3, time_window=1) as fake:
        assert get(fake, "/config").json()["maxCallsPerTimeWindow"] == 3
        statuses = [get(fake, "/tables/TAB638").status_code for _ in range(3)]
        refused = get(fake, "/tables/TAB638")
        assert statuses == [200, 200, 200] and refused.status_code == 429
        assert refused.headers["Content-Type"].startswith("text/plain")
        assert refused.text == "API calls quota exceeded! maximum admitted 3 per 1s."
        assert int(refused.headers["Retry-After"]) >= 1
        assert get(fake, "/config").status_code == 200  # exempt
        other = requests.get(fake.base_url + "/tables/TAB638", headers={"X-Forwarded-For": "10.0.0.9"}, timeout=TIMEOUT)
        assert other.status_code == 200  # counted per client
        time.sleep(1.05)
        assert get(fake, "/tables/TAB638").status_code == 200


# -- mutations, log, faults -------------------------------------------------------------------------------------
def test_set_updated_and_set_value_show_everywhere(fake: FakeScb) -> None:
    fake.set_updated("TAB638", "2026-11-20T07:00:00Z")
    query = "valueCodes[Region]=1981&valueCodes[ContentsCode]=BE0101N1&valueCodes[Tid]=2021,2022"
    fake.set_value("TAB638", {"Region": "1981", "ContentsCode": "BE0101N1", "Tid": "2022"}, 23000)
    body = data_get(fake, "TAB638", query).json()
    assert body["value"] == [22998, 23000] and body["updated"] == "2026-11-20T07:00:00Z"
    assert get(fake, "/tables/TAB638").json()["updated"] == "2026-11-20T07:00:00Z"
    assert get(fake, "/tables/TAB638/metadata").json()["updated"] == "2026-11-20T07:00:00Z"
    assert "TAB638" in [t["id"] for t in get(fake, "/tables?pastDays=30&pageSize=100").json()["tables"]]


def test_log_and_faults(fake: FakeScb) -> None:
    fake.add_fault("status", match="/tables/TAB638$", status=503, retry_after=2)
    failed = get(fake, "/tables/TAB638")
    assert failed.status_code == 503 and failed.headers["Retry-After"] == "2"
    fake.add_fault("html")
    assert get(fake, "/config").headers["Content-Type"].startswith("text/html")
    fake.add_fault("truncate")
    with pytest.raises(requests.exceptions.RequestException):
        get(fake, "/config").json()
    for kind in ("reset", "drop"):
        fake.add_fault(kind)
        with pytest.raises((requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError)):
            get(fake, "/config")
    fake.add_fault("timeout", seconds=2)
    with pytest.raises(requests.exceptions.Timeout):
        requests.get(fake.base_url + "/config", timeout=0.2)
    with pytest.raises(ValueError):
        fake.add_fault("flood")
    assert get(fake, "/tables/TAB638").status_code == 200
    log = fake.log
    assert [(e.status, e.fault) for e in log][:2] == [(503, "status"), (200, "html")]
    assert log[-1].method == "GET" and log[-1].path == "/api/v2/tables/TAB638" and log[-1].status == 200
    fake.clear_log()
    assert fake.log == []


def test_cli_prints_the_base_url_and_says_values_are_synthetic(shared: Path) -> None:
    help_text = subprocess.run([sys.executable, "-m", "tests.fake_scb", "--help"], cwd=REPO, capture_output=True,
                               text=True, timeout=30).stdout
    assert "SYNTHETIC" in help_text
    missing = subprocess.run([sys.executable, "-m", "tests.fake_scb", "--shared", "/nonexistent", "--port", "0"],
                             cwd=REPO, capture_output=True, text=True, timeout=30)
    assert missing.returncode == 2 and "SCB contract missing" in missing.stderr
    process = subprocess.Popen([sys.executable, "-m", "tests.fake_scb", "--port", "0"], cwd=REPO,
                               stdout=subprocess.PIPE, text=True)
    try:
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/api/v2")
        assert requests.get(url + "/config", timeout=TIMEOUT).json()["maxDataCells"] == 150_000
    finally:
        process.terminate()
        process.wait(timeout=10)
