"""The SCB client's own parts, one by one: recorded bodies, json-stat2 decoding, selections, the planner, and
ScbClient over real HTTP (requests, requests-cache, tenacity) against the fake SCB or a replay of recorded bodies.

Contract: ../shared/scb/README.md. Recorded bodies are read from ../shared/scb/recorded at test time (never
copied here); population figures checked are real (README "Known facts", population.parquet). Synthetic values
are only ever compared with what the fake itself serves, never by magnitude.
"""
from __future__ import annotations

import copy
import json
import math
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from harvester.errors import BadResponse, RequestRefused, TransientError, UpstreamUnavailable
from harvester.sources.scb.catalogue import CheckedSeries, check_series, kon_choice, to_scb_region
from harvester.sources.scb.client import FORMAT, LANG, MAX_GET_URL, ScbClient, ServerLimits, selection_query
from harvester.sources.scb.jsonstat import decode
from harvester.sources.scb.metadata import TableMeta, Unit, parse_metadata
from harvester.sources.scb.queries import DataRequest, plan_series
from harvester.sources.scb.series import ScbSeries
from harvester.transport import Limits, RateLimiter
from tests.fake_http import FakeHttpServer, TrackedHandler
from tests.fake_scb import FakeScb, ScbData

URL = "http://127.0.0.1/api/v2/tables/TAB0/data"  # only named in error messages
FAST = Limits(timeout=5, deadline=10, max_retry_seconds=5, backoff=0.01)
BRIEF = Limits(timeout=5, deadline=10, max_retry_seconds=0.3, backoff=0.01)  # a failure gives up within a second
JSON_TYPE = "application/json; charset=utf-8"


# -- helpers ---------------------------------------------------------------------------------------------------
def recorded(shared: Path, name: str) -> Any:
    return json.loads((shared / "recorded" / name).read_text("utf-8"))


def recorded_bytes(shared: Path, name: str) -> bytes:
    return (shared / "recorded" / name).read_bytes()


def meta_of(shared: Path, table: str) -> TableMeta:
    return parse_metadata(recorded(shared, f"{table}-metadata.json"), f"recorded/{table}-metadata.json")


def population(shared: Path) -> dict[tuple[str, str, str], float | None]:
    """Real 31 December population (Region, Kon 1/2/1+2, Tid) → value, None where the kommun did not exist."""
    rows = pq.read_table(shared / "population.parquet").to_pylist()
    return {(r["Region"], r["Kon"], r["Tid"]): None if r["value"] is None or math.isnan(r["value"]) else r["value"]
            for r in rows}


def assert_one_list_per_variable(queries: list[str]) -> None:
    """Trap 1: a repeated valueCodes[X] is silently cut to its first value, so none may ever be sent."""
    for query in queries:
        keys = [k.casefold() for k, _ in parse_qsl(query) if k.casefold().startswith(("valuecodes[", "codelist["))]
        assert len(keys) == len(set(keys)), query


def cells_in(request: DataRequest) -> int:
    return math.prod(len(codes) for _, codes in request.selection if codes is not None)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[Callable[..., ScbClient]]:
    """ScbClient factory with a real HTTP cache file and small retry budgets; every client is closed after."""
    made: list[ScbClient] = []

    def make(base_url: str, limits: Limits = FAST) -> ScbClient:
        made.append(ScbClient(base_url, cache_path=tmp_path / f"cache{len(made)}.sqlite", limits=limits))
        return made[-1]

    yield make
    for c in made:
        c.close()


# -- a replay server: recorded bodies byte for byte, over real HTTP ---------------------------------------------
@dataclass(frozen=True)
class Asked:
    method: str
    path: str
    query: str


class _ReplayHandler(TrackedHandler):
    def do_GET(self) -> None:
        self._replay("GET")

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._replay("POST")

    def _replay(self, method: str) -> None:
        replay: Replay = self.server.fake  # type: ignore[assignment]
        path, _, query = self.path.partition("?")
        body = replay.next_body(f"{path}?{query}")
        replay._record(Asked(method, path, query))  # noqa: SLF001 - the shared fake base's log
        if body is None:
            self._send_bytes(404, "application/problem+json; charset=utf-8", {},
                             b'{"type":"Parameter error","title":"Not found","status":404}', None)
        else:
            self._send_bytes(200, JSON_TYPE, {}, body, None)


class Replay(FakeHttpServer[Asked]):
    """Answers each path?query matching a route with that route's bodies in turn (the last one repeats).

    The fake SCB builds its own /config, /tables pages and data answers; this one serves the recorded
    bodies exactly as SCB sent them, so the client's own parsing of those bytes is what is tested."""

    def __init__(self, routes: list[tuple[str, list[bytes]]]) -> None:
        super().__init__(_ReplayHandler, "127.0.0.1", 0)
        self._routes = [(re.compile(pattern), list(bodies)) for pattern, bodies in routes]
        self._turn = threading.Lock()

    @property
    def base_url(self) -> str:
        return f"{self.root}/api/v2"

    def next_body(self, target: str) -> bytes | None:
        with self._turn:
            for pattern, bodies in self._routes:
                if pattern.search(target):
                    return bodies.pop(0) if len(bodies) > 1 else bodies[0]
        return None


# == 1. recorded bodies through our code ========================================================================
METADATA = {  # what the recorded metadata says (README "Tables that matter"), read off the files by hand
    "TAB638": {"variables": ["Region", "Civilstand", "Alder", "Kon", "ContentsCode", "Tid"], "monthly": False,
               "periods": (57, "1968", "2024"), "eliminable": {"Region", "Civilstand", "Alder", "Kon"},
               "contents": 2, "units": {"BE0101N1": Unit("number of persons", 0)},
               "updated": "2025-02-21T07:00:00Z"},
    "TAB6260": {"variables": ["Region", "Kon", "Alder", "Fodelseregion", "ContentsCode", "Tid"], "monthly": True,
                "periods": (78, "2020M01", "2026M06"), "eliminable": {"Region", "Kon", "Fodelseregion"},
                "contents": 11, "units": {"000004YH": Unit("number", 0), "000006II": Unit("percent", 1)},
                "updated": "2026-08-28T06:00:00Z"},
    "TAB2948": {"variables": ["Region", "Kon", "Alder", "Fodelseregion", "ContentsCode", "Tid"], "monthly": True,
                "periods": (60, "2020M01", "2024M12"), "eliminable": {"Region", "Kon", "Fodelseregion"},
                "contents": 11, "units": {"000001ZW": Unit("number", 0), "000001ZX": Unit("percent", 1)},
                "updated": "2025-11-28T07:00:00Z"},
    "TAB6471": {"variables": ["Region", "Alder", "Kon", "ContentsCode", "Tid"], "monthly": True,
                "periods": (16, "2025M01", "2026M04"), "eliminable": {"Region", "Kon"},
                "contents": 1, "units": {"000007SF": Unit("antal", 0)}, "updated": "2026-06-08T06:00:00Z"},
}


@pytest.mark.parametrize("table", list(METADATA))
def test_recorded_metadata_parses_into_variables_periods_units_and_elimination(shared_scb: Path, table: str) -> None:
    """Everything the planner and the config checks use comes from parse_metadata, so each real body must give it."""
    expected = METADATA[table]
    meta = meta_of(shared_scb, table)
    assert meta.id == table and meta.updated == expected["updated"]
    assert [v.code for v in meta.variables] == expected["variables"]
    assert meta.time == "Tid" and meta.monthly is expected["monthly"] and not meta.quarterly
    count, first, last = expected["periods"]
    tid = meta.time_variable.codes
    assert (len(tid), tid[0], tid[-1]) == (count, first, last)
    assert {v.code for v in meta.variables if v.elimination} == expected["eliminable"]  # the rest are mandatory
    assert len(meta.units) == expected["contents"] == len(meta.variable("contentscode").codes)
    assert {code: meta.units[code] for code in expected["units"]} == expected["units"]
    region = meta.variable("REGION")  # variable codes are case-insensitive
    assert region is not None and len(region.codes) == 312
    assert {"00", "19", "0114", "1981"} <= set(region.codes)  # leading zeros kept
    assert meta.notes and all(isinstance(n, str) for n in meta.notes)


def test_recorded_metadata_keeps_the_traps_of_sex_and_age_codes(shared_scb: Path) -> None:
    """Traps 4 and 5: TAB638 has no sex total, BAS ages include 060-64, TAB6471 spells TotSa and TotSA differently."""
    tab638, tab6260, tab6471 = (meta_of(shared_scb, t) for t in ("TAB638", "TAB6260", "TAB6471"))
    kon = tab638.variable("Kon")
    assert kon.codes == ("1", "2") and kon.elimination and kon.find("1+2") is None
    assert tab638.variable("Civilstand").codes == ("OG", "G", "ÄNKL", "SK")
    alder = tab638.variable("Alder")
    assert len(alder.codes) == 102 and alder.codes[-2:] == ("100+", "tot") and alder.elimination
    bas_age = tab6260.variable("Alder")
    assert not bas_age.elimination and len(bas_age.codes) == 20
    assert {"16-64", "060-64", "16-65", "16-66"} <= set(bas_age.codes)
    assert tab6260.variable("Kon").codes == ("1", "2", "1+2")
    assert tab6260.variable("ContentsCode").find("000004yh") == "000004YH"
    age = tab6471.variable("Alder")
    assert not age.elimination and len(age.codes) == 134
    assert {c for c, label in age.labels.items() if label == "100+ år"} == {"100+", "100+5", "100+10"}
    assert age.labels["-4"] == "0-4 år" and age.find("totsa") == "TotSA"
    assert tab6471.variable("Kon").find("TOTSA") == "TotSa"


def test_kon_choice_regions_and_periods_on_the_recorded_tables(shared_scb: Path) -> None:
    """How each gender is asked for follows the table: TAB638 leaves Kon out for T, the others name their total."""
    tab638, tab6260, tab6471 = (meta_of(shared_scb, t) for t in ("TAB638", "TAB6260", "TAB6471"))
    assert kon_choice(tab638).codes == {"M": "1", "K": "2", "T": None}
    assert kon_choice(tab638).groups() == [("1", "2"), None]
    assert kon_choice(tab6260).codes == {"M": "1", "K": "2", "T": "1+2"}
    assert kon_choice(tab6260).groups() == [("1", "2", "1+2")]
    assert kon_choice(tab6471).codes["T"] == "TotSa"
    data_body = parse_metadata(recorded(shared_scb, "TAB6471-data.json"), "recorded/TAB6471-data.json")
    assert data_body.variable("Kon").elimination_code == "TotSa" and kon_choice(data_body).codes["T"] == "TotSa"

    assert [to_scb_region(a) for a in ("0000", "0019", "1981", "0114")] == ["00", "19", "1981", "0114"]
    series = check_series(ScbSeries("TAB6260", "000004yh", (("Alder", "16-64"), ("Fodelseregion", "TOT")), 7),
                          tab6260, "T")
    assert series.contents == "000004YH" and series.fixed == (("Alder", "16-64"), ("Fodelseregion", "tot"))
    regions, missing = series.regions(("0000", "0019", "1981", "9999"))
    assert regions == {"00": "0000", "19": "0019", "1981": "1981"} and missing == ["9999"]
    periods, lacking = series.periods(tuple(range(2019, 2027)))
    assert list(periods) == [f"{y}M07" for y in range(2020, 2026)] and lacking == [2019, 2026]
    assert (series.unit, series.decimals) == ("", 0)
    rate = check_series(ScbSeries("TAB6260", "000006II", (("Alder", "16-64"),), 7), tab6260, "K")
    assert (rate.unit, rate.decimals) == ("%", 1)


def reference_cell(body: dict[str, Any], i: int) -> dict[str, str]:
    """The README's decoding by hand: divmod from the last variable, codes looked up by category.index."""
    codes = {}
    for var, size in reversed(list(zip(body["id"], body["size"]))):
        i, position = divmod(i, size)
        index = body["dimension"][var]["category"]["index"]
        codes[var] = next(code for code, p in index.items() if p == position)
    return codes


def test_recorded_data_body_decodes_row_major(shared_scb: Path) -> None:
    """The one real data body: 2 772 cells, last variable fastest, and trap 7's Stockholms län figures in place."""
    body = recorded(shared_scb, "TAB6471-data.json")
    cells = decode(body, URL)
    assert len(cells) == math.prod(body["size"]) == len(body["value"]) == 2772
    assert list(cells.columns) == [*body["id"], "value", "status"]
    # The first four values are one region × age × sex over 2026M01–M04 (README).
    first = cells.iloc[:4]
    assert first[["Region", "Alder", "Kon", "ContentsCode"]].drop_duplicates().values.tolist() == [
        ["01", "0-9", "TotSa", "000007SF"]]
    assert first["Tid"].tolist() == ["2026M01", "2026M02", "2026M03", "2026M04"]
    assert first["value"].tolist() == [float(v) for v in body["value"][:4]]
    # Trap 7: Stockholms län 0–9 years in 2026M01, total 245 284, men 125 373 + women 119 906 = 245 279.
    stockholm = cells[(cells["Region"] == "01") & (cells["Alder"] == "0-9") & (cells["Tid"] == "2026M01")]
    assert stockholm.set_index("Kon")["value"].to_dict() == {"TotSa": 245284.0, "1": 125373.0, "2": 119906.0}
    assert cells.index[cells["Kon"].eq("1") & cells["Region"].eq("01") & cells["Alder"].eq("0-9")
                       & cells["Tid"].eq("2026M01")].tolist() == [4]
    # Every cell against the hand decoding.
    decoded = cells[body["id"]].to_dict("records")
    assert all(decoded[i] == reference_cell(body, i) for i in range(len(decoded)))
    assert np.array_equal(cells["value"].to_numpy(), np.array(body["value"], dtype=float))
    assert cells["status"].isna().all()  # the recorded body has no status member


def test_decode_reads_positions_from_category_index_not_from_key_order(shared_scb: Path) -> None:
    """JSON object order carries no meaning: the same body with every index written backwards decodes the same."""
    body = recorded(shared_scb, "TAB6471-data.json")
    backwards = copy.deepcopy(body)
    for dim in backwards["dimension"].values():
        index = dim["category"]["index"]
        dim["category"]["index"] = dict(reversed(list(index.items())))
    pd.testing.assert_frame_equal(decode(backwards, URL), decode(body, URL))


def test_the_readme_worked_example_decodes_to_its_four_rows() -> None:
    """README's TAB638 example: value[3] is Sala 2022 = 22 981, and Riket comes first because its index is 0."""
    body = {"version": "2.0", "class": "dataset",  # the README trims these two; SCB always sends them
            "id": ["Region", "ContentsCode", "Tid"], "size": [2, 1, 2],
            "dimension": {"Region": {"category": {"index": {"00": 0, "1981": 1}}},
                          "ContentsCode": {"category": {"index": {"BE0101N1": 0}}},
                          "Tid": {"category": {"index": {"2021": 0, "2022": 1}}}},
            "value": [10452326, 10521556, 22998, 22981]}
    cells = decode(body, URL)
    assert cells[["Region", "Tid", "value"]].values.tolist() == [
        ["00", "2021", 10452326.0], ["00", "2022", 10521556.0], ["1981", "2021", 22998.0], ["1981", "2022", 22981.0]]
    assert cells.iloc[3][["Region", "ContentsCode", "Tid", "value"]].tolist() == ["1981", "BE0101N1", "2022", 22981.0]


def test_the_worked_example_over_http_comes_back_in_index_order(scb_fake: FakeScb,
                                                               client: Callable[..., ScbClient]) -> None:
    """Asked for 1981 before 00, SCB answers in table order; the client must follow the answer, not the question."""
    scb = client(scb_fake.base_url)
    cells, url = scb.data("TAB638", [("Region", ("1981", "00")), ("ContentsCode", ("BE0101N1",)),
                                     ("Tid", ("2021", "2022"))])
    assert cells[["Region", "Tid", "value"]].values.tolist() == [
        ["00", "2021", 10452326.0], ["00", "2022", 10521556.0], ["1981", "2021", 22998.0], ["1981", "2022", 22981.0]]
    assert url.endswith("valueCodes[Region]=1981,00&valueCodes[ContentsCode]=BE0101N1&valueCodes[Tid]=2021,2022")
    assert scb.metadata("TAB638") == meta_of(scb_fake.data.path, "TAB638")  # metadata over HTTP = the file


def test_recorded_config_gives_the_limits_and_sets_the_call_quota(shared_scb: Path,
                                                                  client: Callable[..., ScbClient]) -> None:
    """/config as recorded (pxwebpy's 3 calls per 1 s) is read once and its quota reaches the rate limiter."""
    config = recorded_bytes(shared_scb, "config.json")
    with Replay([(r"^/api/v2/config\?", [config])]) as replay:
        scb = client(replay.base_url)
        assert scb.limits() == ServerLimits(max_cells=150_000, calls=3, window=1.0)
        assert scb.limits() == ServerLimits(150_000, 3, 1.0)
        assert (scb.limiter.calls, scb.limiter.window) == (3, 1.0 + RateLimiter.MARGIN)
        assert [(a.method, a.path) for a in replay.log] == [("GET", "/api/v2/config")]
    broken = json.loads(config)
    del broken["maxDataCells"]
    impossible = {**json.loads(config), "maxCallsPerTimeWindow": 0}
    with Replay([(r"/config", [json.dumps(broken).encode(), json.dumps(impossible).encode()])]) as replay:
        with pytest.raises(BadResponse, match="no maxDataCells"):
            client(replay.base_url).limits()
        assert client(replay.base_url).limits().calls == 1  # clamped with a WARNING (test_hostile_round3_answers)


def test_search_reads_recorded_pages_and_follows_next_onto_our_server(shared_scb: Path,
                                                                      client: Callable[..., ScbClient]) -> None:
    """tables.json's `next` names SCB's public host; the client follows it on the configured server and stops
    where a page's links are empty (tables-search.json), yielding every entry unchanged."""
    tables, search = recorded(shared_scb, "tables.json"), recorded(shared_scb, "tables-search.json")
    assert tables["page"]["links"][0]["href"].startswith("https://statistikdatabasen.scb.se/")
    with Replay([(r"pageNumber=2", [recorded_bytes(shared_scb, "tables-search.json")]),
                 (r"^/api/v2/tables/?\?", [recorded_bytes(shared_scb, "tables.json")])]) as replay:
        hits = list(client(replay.base_url).search("", past_days=30))
        asked = replay.log
    assert [h["id"] for h in hits] == [t["id"] for t in tables["tables"] + search["tables"]]
    assert hits[0] == tables["tables"][0] and hits[-1] == search["tables"][-1]
    assert len(asked) == 2
    assert dict(parse_qsl(asked[0].query, keep_blank_values=True)) == {"lang": "sv", "query": "", "pageSize": "100",
                                                                       "pastDays": "30"}
    assert asked[1].path == "/api/v2/tables/" and dict(parse_qsl(asked[1].query))["pageNumber"] == "2"


# == 2. decode edge cases =======================================================================================
def cube(value: Any, status: Any = None, index: Any = None) -> dict[str, Any]:
    """Sala 2020–2022 as a three-cell json-stat2 dataset."""
    years = index if index is not None else {"2020": 0, "2021": 1, "2022": 2}
    body: dict[str, Any] = {
        "version": "2.0", "class": "dataset", "id": ["Region", "Tid"], "size": [1, 3],
        "dimension": {"Region": {"category": {"index": {"1981": 0}}}, "Tid": {"category": {"index": years}}},
        "value": value}
    if status is not None:
        body["status"] = status
    return body


def test_null_stays_missing_and_a_real_zero_stays_zero() -> None:
    """A missing figure must never become 0 (a ratio over it would be wrong), nor a 0 become missing."""
    values = decode(cube([22998, None, 0]), URL)["value"]
    assert values.dtype == np.float64
    assert values[0] == 22998.0 and math.isnan(values[1]) and values[2] == 0.0


@pytest.mark.parametrize(("status", "missing", "marks"), [
    ({"1": ".."}, [False, True, False], [None, "..", None]),  # SCB's object form
    ([None, "..", "p"], [False, True, False], [None, "..", "p"]),  # array form; "p" (preliminary) keeps its value
    ("..", [True, True, True], ["..", "..", ".."]),  # one string for every cell
    (["..."], [True, True, True], ["...", "...", "..."]),  # an array of one applies to every cell (JSON-stat)
    ({"0": ".", "2": "p"}, [True, False, False], [".", None, "p"]),
])
def test_missing_status_marks_make_the_value_missing(status: Any, missing: list[bool], marks: list[str | None]) -> None:
    """'..' and its kin mean 'not available' even when a number stands beside them; other marks keep the number."""
    cells = decode(cube([11624, 11357, 22981], status=status), URL)
    assert cells["value"].isna().tolist() == missing
    assert cells["value"][~cells["value"].isna()].tolist() == [v for v, m in zip([11624.0, 11357.0, 22981.0], missing)
                                                                if not m]
    assert [None if pd.isna(m) else m for m in cells["status"]] == marks


def test_sparse_values_and_an_index_given_as_a_list() -> None:
    """JSON-stat allows `value` as {position: value} and `category.index` as an array of codes."""
    sparse = decode(cube({"0": 22998, "2": 22981}), URL)["value"]
    assert sparse[0] == 22998.0 and math.isnan(sparse[1]) and sparse[2] == 22981.0
    assert decode(cube({"1": None}), URL)["value"].isna().all()
    listed = decode(cube([3, 2, 1], index=["2022", "2021", "2020"]), URL)
    assert listed[["Tid", "value"]].values.tolist() == [["2022", 3.0], ["2021", 2.0], ["2020", 1.0]]


@pytest.mark.parametrize("values", [[22998, 22981], [1, 2, 3, 4], []])
def test_a_value_array_of_the_wrong_length_is_transient(values: list[int]) -> None:
    """A cut-off or miscounted answer is worth asking again (TransientError), never decoded with shifted cells."""
    with pytest.raises(TransientError, match=f"holds {len(values)} values for 3 cells"):
        decode(cube(values), URL)


def test_a_short_value_array_over_http_is_asked_again(shared_scb: Path, client: Callable[..., ScbClient]) -> None:
    """Inside the retry loop: the miscounted answer is retried and the full recorded body is what comes back."""
    body = recorded(shared_scb, "TAB6471-data.json")
    short = {**body, "value": body["value"][:-1]}
    full = recorded_bytes(shared_scb, "TAB6471-data.json")
    with Replay([(r"/data\?", [json.dumps(short).encode(), full])]) as replay:
        cells, _ = client(replay.base_url).data("TAB6471", [("Region", ("01",)), ("Alder", ("0-9",)),
                                                            ("ContentsCode", ("000007SF",)), ("Tid", ("2026M01",))])
        asked = replay.log
    assert len(asked) == 2 and all(a.method == "GET" for a in asked)
    pd.testing.assert_frame_equal(cells, decode(body, URL))


@pytest.mark.parametrize("body", [
    [], "a string", None,
    {"type": "Parameter error", "title": "Too many cells selected", "status": 400},  # problem+json, not data
    {"class": "collection", "link": {"item": []}},
    {k: v for k, v in cube([1, 2, 3]).items() if k != "class"},
    {**cube([1, 2, 3]), "size": [1, 3, 1]},  # id and size disagree
    {**cube([1, 2, 3]), "size": [1, -3]},
    {**cube([1, 2, 3]), "value": "1,2,3"},
    cube([1, "x", 3]),
    cube([1, 2, 3], index={"2020": 0, "2021": 1, "2022": 5}),  # positions that do not match the size
    {**cube([1, 2, 3]), "dimension": {"Region": {"category": {"index": {"1981": 0}}}}},  # Tid's dimension missing
])
def test_bodies_that_are_not_a_dataset_are_bad_responses(body: Any) -> None:
    """A body of another shape can never be right: BadResponse (not retried, never data)."""
    with pytest.raises(BadResponse):
        decode(body, URL)


@pytest.mark.parametrize("body", [
    cube({"3": 1}), cube({"-1": 1}), cube({"x": 1}), cube({"0": "many"}),
    cube([1, 2, 3], status={"3": ".."}), cube([1, 2, 3], status={"-1": ".."}),
])
def test_sparse_positions_outside_the_cube_are_bad_responses(body: dict[str, Any]) -> None:
    """A sparse value or status at a position the cube does not have is a broken body: BadResponse, not an
    IndexError crashing the harvest, and never a '-1' silently landing on the last cell."""
    with pytest.raises(BadResponse):
        decode(body, URL)


def test_a_non_dataset_answer_over_http_fails_at_once(shared_scb: Path, client: Callable[..., ScbClient]) -> None:
    """A 200 JSON answer that is not json-stat2 (here /config's body) is refused after one request, not retried."""
    with Replay([(r"/data\?", [recorded_bytes(shared_scb, "config.json")])]) as replay:
        with pytest.raises(BadResponse, match="not a JSON-stat 2 dataset"):
            client(replay.base_url).data("TAB6471", [("ContentsCode", ("000007SF",)), ("Tid", ("2026M01",))])
        assert len(replay.log) == 1


# == 3. selection_query =========================================================================================
def test_selection_query_one_comma_list_per_variable_encoded() -> None:
    """Traps 1 and 2 and the bracket rule, in the exact string we send."""
    selection = [("Region", ("1981", "00")), ("Kon", ("1+2",)), ("Alder", None), ("Civilstand", ("ÄNKL", "G")),
                 ("Tid", ("2022", "TOP(3,1)")), ("Fodelseregion", ("tot20+",)), ("ContentsCode", ("a&b=c",))]
    query = selection_query(selection)
    assert query.isascii() and "+" not in query and " " not in query
    assert "valueCodes[Region]=1981,00&" in query and "valueCodes[Kon]=1%2B2&" in query
    assert "valueCodes[Civilstand]=%C3%84NKL,G&" in query and "tot20%2B" in query
    assert "Alder" not in query  # left out: eliminated
    assert parse_qsl(query) == [("valueCodes[Region]", "1981,00"), ("valueCodes[Kon]", "1+2"),
                                ("valueCodes[Civilstand]", "ÄNKL,G"), ("valueCodes[Tid]", "2022,[TOP(3,1)]"),
                                ("valueCodes[Fodelseregion]", "tot20+"), ("valueCodes[ContentsCode]", "a&b=c")]
    assert_one_list_per_variable([query])
    assert selection_query([("Kon", None)]) == ""


def test_the_strict_fake_reads_our_encodings_as_meant(scb_fake: FakeScb, client: Callable[..., ScbClient]) -> None:
    """%2B, UTF-8 percent-encoding and a bracketed TOP(3,1) reach the server as 1+2, ÄNKL and one expression."""
    scb = client(scb_fake.base_url)
    bas, _ = scb.data("TAB6260", [("Region", ("1981",)), ("Kon", ("1+2",)), ("Alder", ("16-64",)),
                                  ("Fodelseregion", ("tot",)), ("ContentsCode", ("000004YH",)), ("Tid", ("TOP(3,1)",))])
    assert bas["Kon"].tolist() == ["1+2"] * 3 and bas["Tid"].tolist() == ["2026M03", "2026M04", "2026M05"]
    widows, _ = scb.data("TAB638", [("Region", ("1981",)), ("Civilstand", ("ÄNKL",)), ("Alder", None), ("Kon", None),
                                    ("ContentsCode", ("BE0101N1",)), ("Tid", ("2022",))])
    assert widows[["Region", "Civilstand", "Tid"]].values.tolist() == [["1981", "ÄNKL", "2022"]]
    assert "Alder" not in widows and "Kon" not in widows  # eliminated, so absent from the answer
    log = scb_fake.log
    assert [e.status for e in log] == [200, 200]
    assert "=1%2B2&" in log[0].query and "=%C3%84NKL&" in log[1].query and "+" not in log[0].query + log[1].query
    sent = [dict(parse_qsl(e.query)) for e in log]  # decoded as ASP.NET decodes it
    assert (sent[0]["valueCodes[Kon]"], sent[0]["valueCodes[Tid]"]) == ("1+2", "[TOP(3,1)]")
    assert sent[1]["valueCodes[Civilstand]"] == "ÄNKL" and "valueCodes[Alder]" not in sent[1]
    assert_one_list_per_variable([e.query for e in log])


# == 4. the client against the fake SCB =========================================================================
def test_a_long_selection_goes_by_post_with_the_cells_of_short_gets(scb_fake: FakeScb,
                                                                    client: Callable[..., ScbClient]) -> None:
    """Over ~2 000 characters the selection is POSTed (a longer GET is cut at SCB's proxy); the answer must be
    exactly what the same selection asked for in short GETs gives, and what the fake itself holds."""
    meta = meta_of(scb_fake.data.path, "TAB6260")
    regions, months = meta.variable("Region").codes, meta.time_variable.codes

    def selection(part: tuple[str, ...]) -> list[tuple[str, tuple[str, ...] | None]]:
        return [("Region", part), ("Kon", ("1", "2", "1+2")), ("Alder", ("16-64",)), ("Fodelseregion", ("tot",)),
                ("ContentsCode", ("000004YH",)), ("Tid", months)]

    scb = client(scb_fake.base_url)
    query = selection_query(selection(regions))
    get_url = f"{scb.url('tables/TAB6260/data')}?lang={LANG}&outputFormat={FORMAT}&{query}"
    assert len(get_url) > MAX_GET_URL + 200
    posted, url = scb.data("TAB6260", selection(regions))
    post = scb_fake.log[-1]
    assert (post.method, post.status, post.cells) == ("POST", 200, 312 * 3 * 78)
    assert "valueCodes" not in post.query and url.endswith(f"/tables/TAB6260/data?{post.query}")
    sent = {e["variableCode"]: e["valueCodes"] for e in json.loads(post.body)["selection"]}
    assert {var: len(codes) for var, codes in sent.items()} == {
        "Region": 312, "Kon": 3, "Alder": 1, "Fodelseregion": 1, "ContentsCode": 1, "Tid": 78}
    assert sent["Kon"] == ["1", "2", "1+2"]  # JSON needs no %2B
    parts = [regions[i:i + 78] for i in range(0, 312, 78)]
    gets = [scb.data("TAB6260", selection(part))[0] for part in parts]
    assert [(e.method, e.status) for e in scb_fake.log[-4:]] == [("GET", 200)] * 4
    pd.testing.assert_frame_equal(posted, pd.concat(gets, ignore_index=True))
    held = scb_fake.data.values("TAB6260", {var: list(codes) for var, codes in selection(regions)})
    assert len(posted) == len(held) == 73_008
    assert posted["value"].isna().tolist() == [v is None for v in held]  # nulls stay missing, never 0
    assert posted["value"].dropna().tolist() == [float(v) for v in held if v is not None]
    assert_one_list_per_variable([e.query for e in scb_fake.log])


def test_limits_from_config_keep_the_client_under_the_call_quota(shared_scb: Path,
                                                                 client: Callable[..., ScbClient]) -> None:
    """The cell limit and the quota come from /config; a planned harvest (eight data calls) then never exceeds
    3 calls per second at the server, gets no 429, and its cells are the real population figures."""
    meta = meta_of(shared_scb, "TAB638")
    series = check_series(ScbSeries("TAB638", "BE0101N1"), meta, "T")
    regions = list(meta.variable("Region").codes[:30])
    periods, _ = series.periods(tuple(range(2013, 2023)))
    with FakeScb(ScbData.from_shared(shared_scb), max_cells=120, max_calls=3, time_window=1) as fake:
        scb = client(fake.base_url)
        limits = scb.limits()
        assert limits == ServerLimits(120, 3, 1.0)
        planned = plan_series(series, regions, list(periods), limits.max_cells)
        # Kon 1,2: 600 cells → 5 × (30 regions × 2 years × 2); Kon left out: 300 → 3 × (30 × 4, 4 and 2 years)
        assert [r.cells for r in planned] == [120] * 5 + [120, 120, 60]
        frames = [scb.data(r.table, r.selection)[0] for r in planned]
        log = fake.log
    assert len(log) == 9 and log[0].path.endswith("/config")
    assert [e.status for e in log] == [200] * 9 and [e.cells for e in log[1:]] == [r.cells for r in planned]
    starts = [e.t for e in log if not e.path.endswith("/config")]
    assert max(sum(1 for u in starts if t <= u < t + 1.0) for t in starts) <= 3
    assert log[-1].t - log[0].t >= 2.0  # nine calls at three a second had to wait twice
    assert_one_list_per_variable([e.query for e in log])
    real = population(shared_scb)
    got = {(c["Region"], c.get("Kon", "1+2"), c["Tid"]): c["value"] for f in frames for c in f.to_dict("records")}
    assert len(got) == 30 * 10 * 3
    assert got == {k: real[k] for k in got}


def test_too_many_cells_is_refused_once_not_retried(shared_scb: Path, client: Callable[..., ScbClient]) -> None:
    """Above maxDataCells SCB says 400 'Too many cells selected': a refusal with its title, asked only once."""
    with FakeScb(ScbData.from_shared(shared_scb), max_cells=10) as fake:
        with pytest.raises(RequestRefused) as refused:
            client(fake.base_url).data("TAB638", [("Region", ("00", "1981")), ("ContentsCode", ("BE0101N1",)),
                                                  ("Tid", ("2018", "2019", "2020", "2021", "2022", "2023"))])
        assert (refused.value.status, refused.value.title) == (400, "Too many cells selected")
        assert [(e.status, e.cells) for e in fake.log] == [(400, 0)]


def test_data_and_table_stamps_are_never_cached_but_metadata_is(scb_fake: FakeScb,
                                                                client: Callable[..., ScbClient]) -> None:
    """A revision must be seen: data and /tables/{id} go to the server every time; metadata is read once."""
    scb = client(scb_fake.base_url)
    selection = [("Region", ("1981",)), ("ContentsCode", ("BE0101N1",)), ("Tid", ("2022",))]
    first = [scb.data("TAB638", selection)[0], scb.metadata("TAB638"), scb.table("TAB638")]
    scb_fake.set_value("TAB638", {"Region": "1981", "ContentsCode": "BE0101N1", "Tid": "2022"}, 23000)
    scb_fake.set_updated("TAB638", "2026-11-20T07:00:00Z")
    again = [scb.data("TAB638", selection)[0], scb.metadata("TAB638"), scb.table("TAB638")]
    assert first[0]["value"].tolist() == [22981.0] and again[0]["value"].tolist() == [23000.0]
    assert again[2]["updated"] == "2026-11-20T07:00:00Z" and again[1] == first[1]
    paths = Counter(e.path for e in scb_fake.log)
    assert paths == {"/api/v2/tables/TAB638/data": 2, "/api/v2/tables/TAB638": 2, "/api/v2/tables/TAB638/metadata": 1}
    assert scb.stats.cached == 1
    fresh = scb.metadata("TAB638", updated="2026-11-20T07:00:00Z")  # the stamp moved: metadata asked again
    assert fresh.updated == "2026-11-20T07:00:00Z" and Counter(e.path for e in scb_fake.log)[
        "/api/v2/tables/TAB638/metadata"] == 2


# == 5. 429, 5xx and broken answers ============================================================================
def test_429_with_retry_after_is_waited_out_and_retried(scb_fake: FakeScb, client: Callable[..., ScbClient]) -> None:
    """With a 0.01 s backoff, a ≥ 1 s gap before the retry can only be Retry-After: 1 being honoured."""
    scb_fake.add_fault("status", match=r"/tables/TAB638\?", status=429, retry_after=1)
    entry = client(scb_fake.base_url).table("TAB638")
    assert entry["id"] == "TAB638"
    log = scb_fake.log
    assert [(e.status, e.fault) for e in log] == [(429, "status"), (200, None)]
    assert log[1].t - log[0].t >= 0.95


def test_the_servers_own_quota_is_waited_out(shared_scb: Path, client: Callable[..., ScbClient]) -> None:
    """Before /config is read the client allows 30 calls per 10 s; a server allowing 2 per second answers the
    third with 429 and Retry-After, and the client waits and gets its answer."""
    with FakeScb(ScbData.from_shared(shared_scb), max_calls=2, time_window=1) as fake:
        scb = client(fake.base_url)
        entries = [scb.table("TAB638")["id"] for _ in range(3)]
        log = fake.log
    assert entries == ["TAB638"] * 3
    assert [e.status for e in log] == [200, 200, 429, 200]
    assert log[3].t - log[2].t >= 0.95 and scb.stats.retries == 1


def test_server_errors_are_retried_to_the_same_answer(scb_fake: FakeScb, client: Callable[..., ScbClient]) -> None:
    """Two 503s and a 502, then the answer: the cells equal an undisturbed call's and the fake's own values."""
    scb = client(scb_fake.base_url)
    selection = [("Region", ("1981", "0180")), ("Kon", ("1+2",)), ("Alder", ("16-64",)), ("Fodelseregion", ("tot",)),
                 ("ContentsCode", ("000004YH", "000006II")), ("Tid", ("2022M07",))]
    scb_fake.add_fault("status", match="/data", times=2, status=503)
    scb_fake.add_fault("status", match="/data", times=1, status=502)
    retried, _ = scb.data("TAB6260", selection)
    plain, _ = scb.data("TAB6260", selection)
    assert [e.status for e in scb_fake.log] == [503, 503, 502, 200, 200]
    pd.testing.assert_frame_equal(retried, plain)
    expected = scb_fake.data.values("TAB6260", {"Region": ["0180", "1981"], "Kon": ["1+2"], "Alder": ["16-64"],
                                                "Fodelseregion": ["tot"], "ContentsCode": ["000004YH", "000006II"],
                                                "Tid": ["2022M07"]})
    assert retried["value"].tolist() == pytest.approx([np.nan if v is None else v for v in expected], nan_ok=True)


@pytest.mark.parametrize(("kind", "opts", "words"), [
    ("html", {}, "instead of JSON (a maintenance page?)"),
    ("truncate", {}, "truncated or invalid"),
    ("status", {"status": 200}, "answered text/plain"),  # a 200 that is not JSON at all
])
def test_broken_answers_fail_after_retries_and_are_never_data(scb_fake: FakeScb, client: Callable[..., ScbClient],
                                                             kind: str, opts: dict[str, Any], words: str) -> None:
    """A maintenance page, half a body or plain text with status 200 is retried, then a failure: never cells."""
    scb_fake.add_fault(kind, match="/data", times=None, **opts)
    with pytest.raises(UpstreamUnavailable, match=re.escape(words)):
        client(scb_fake.base_url, BRIEF).data("TAB638", [("Region", ("1981",)), ("ContentsCode", ("BE0101N1",)),
                                                         ("Tid", ("2022",))])
    log = scb_fake.log
    assert len(log) >= 2 and all((e.status, e.fault) == (200, kind) for e in log)


def test_a_truncated_metadata_answer_is_not_kept_in_the_cache(scb_fake: FakeScb,
                                                              client: Callable[..., ScbClient]) -> None:
    """Metadata is cached; the cut-off first answer must leave the cache, so the retry and later reads are whole."""
    scb_fake.add_fault("truncate", match="/metadata", times=1)
    scb = client(scb_fake.base_url)
    expected = meta_of(scb_fake.data.path, "TAB6260")
    assert scb.metadata("TAB6260") == expected
    assert scb.metadata("TAB6260") == expected
    assert [e.fault for e in scb_fake.log] == ["truncate", None] and scb.stats.cached == 1


# == 6. plan_series on the real metadata ========================================================================
@dataclass(frozen=True)
class Case:
    table: str
    series: ScbSeries
    years: range
    all_periods: bool = False  # every Tid code instead of one per year


CASES = {
    "TAB638 1968-2024": Case("TAB638", ScbSeries("TAB638", "BE0101N1"), range(1968, 2025)),
    "TAB6260 Julys": Case("TAB6260", ScbSeries("TAB6260", "000004YH", (("Alder", "16-64"), ("Fodelseregion", "tot")),
                                               7), range(2020, 2027)),
    "TAB6260 every month": Case("TAB6260", ScbSeries("TAB6260", "000006II", (("Alder", "16-64"),), 7),
                                range(2020, 2027), all_periods=True),
}


def planned(shared: Path, case: Case, max_cells: int) -> tuple[CheckedSeries, list[str], list[str], list[DataRequest]]:
    meta = meta_of(shared, case.table)
    series = check_series(case.series, meta, "T")
    regions = list(meta.variable("Region").codes)
    periods = list(meta.time_variable.codes) if case.all_periods else list(series.periods(tuple(case.years))[0])
    return series, regions, periods, plan_series(series, regions, periods, max_cells)


def kon_group(request: DataRequest) -> tuple[str, ...] | None:
    return dict(request.selection).get("Kon")


def least_grid(regions: int, periods: int, width: int, max_cells: int) -> int:
    """The fewest requests a plan of equal blocks can take: blocks of a regions × b periods (a·b·width cells at
    most) cover the series in ⌈regions / a⌉ · ⌈periods / b⌉ requests; every a and b is tried."""
    return min(math.ceil(regions / a) * math.ceil(periods / b) for b in range(1, periods + 1)
               for a in range(1, regions + 1) if a * b * width <= max_cells)


def even(regions: int, periods: int, width: int, max_cells: int) -> bool:
    """The series can be cut into blocks that all hold exactly max_cells (or it fits in one answer)."""
    return regions * periods * width <= max_cells or any(
        regions % a == 0 and periods % b == 0 and a * b * width == max_cells
        for a in range(1, regions + 1) for b in range(1, periods + 1))


@pytest.mark.parametrize("max_cells", [150_000, 10_000, 2_000, 1_872, 104, 97, 5])
@pytest.mark.parametrize("name", list(CASES))
def test_plan_asks_every_cell_once_under_the_limit_in_few_requests(shared_scb: Path, name: str,
                                                                   max_cells: int) -> None:
    """Every request fits maxDataCells, together they ask for each region × period × Kon exactly once, and per
    Kon group their number is the fewest any grid of blocks allows: the floor ⌈cells / max_cells⌉ when even."""
    series, regions, periods, requests = planned(shared_scb, CASES[name], max_cells)
    asked: Counter[tuple[str, str, str | None]] = Counter()
    for request in requests:
        codes = dict(request.selection)
        assert request.table == series.meta.id and request.cells == cells_in(request) <= max_cells
        assert codes["ContentsCode"] == (series.contents,) and all(codes[v] == (c,) for v, c in series.fixed)
        assert [v for v, _ in request.selection][0] == "Region" and request.selection[-1][0] == "Tid"
        kons = codes.get("Kon") or (None,)
        asked.update((r, p, k) for r in codes["Region"] for p in codes["Tid"] for k in kons)
    wanted = [(r, p, k) for r in regions for p in periods for g in series.kon.groups() for k in (g or (None,))]
    assert set(asked) == set(wanted) and set(asked.values()) == {1} and len(asked) == len(wanted)
    for group in series.kon.groups():
        width = len(group) if group else 1
        mine = [r for r in requests if kon_group(r) == group]
        floor = math.ceil(len(regions) * len(periods) * width / max_cells)  # no plan can do with fewer
        assert floor <= len(mine) == least_grid(len(regions), len(periods), width, max_cells)
        if even(len(regions), len(periods), width, max_cells):
            assert len(mine) == floor


def test_plan_hand_worked_counts(shared_scb: Path) -> None:
    """Three splits worked out by hand on the real tables, so the counts are not just the planner's own arithmetic."""
    # TAB638, 312 regions × 57 years, 10 000 cells: Kon 1,2 is 35 568 cells → ⌈3.56⌉ = 4 requests of 15, 15, 15
    # and 12 years (9 360 cells at most); Kon left out is 17 784 cells → 2 requests of 29 and 28 years.
    _, _, _, requests = planned(shared_scb, CASES["TAB638 1968-2024"], 10_000)
    assert [(kon_group(r), len(dict(r.selection)["Tid"]), r.cells) for r in requests] == [
        (("1", "2"), 15, 9360), (("1", "2"), 15, 9360), (("1", "2"), 15, 9360), (("1", "2"), 12, 7488),
        (None, 29, 9048), (None, 28, 8736)]
    # TAB6260 Julys 2020–2025, 312 regions × Kon 1, 2, 1+2, 2 000 cells: 5 616 cells → 3 requests of two Julys.
    _, _, _, requests = planned(shared_scb, CASES["TAB6260 Julys"], 2_000)
    assert [dict(r.selection)["Tid"] for r in requests] == [("2020M07", "2021M07"), ("2022M07", "2023M07"),
                                                            ("2024M07", "2025M07")]
    assert [r.cells for r in requests] == [1872] * 3
    # TAB638 2013–2022 with 104 cells, less than one year of all 312 regions: Kon 1,2 takes 52 regions a request
    # (6 per year, 60 in all = 6 240 / 104); Kon left out 104 regions (3 per year, 30 = 3 120 / 104). All full.
    meta = meta_of(shared_scb, "TAB638")
    series = check_series(ScbSeries("TAB638", "BE0101N1"), meta, "T")
    requests = plan_series(series, list(meta.variable("Region").codes), [str(y) for y in range(2013, 2023)], 104)
    assert Counter(kon_group(r) for r in requests) == {("1", "2"): 60, None: 30}
    assert {r.cells for r in requests} == {104}
    assert Counter(len(dict(r.selection)["Region"]) for r in requests) == {52: 60, 104: 30}


def test_plan_refuses_a_limit_below_one_cell_per_gender(shared_scb: Path) -> None:
    """Three Kon codes cannot fit in two cells: a clear error instead of an endless split."""
    series, regions, periods, _ = planned(shared_scb, CASES["TAB6260 Julys"], 150_000)
    with pytest.raises(ValueError, match="below one cell per gender"):
        plan_series(series, regions, periods, 2)
    assert plan_series(series, [], periods, 2) == [] and plan_series(series, regions, [], 2) == []
