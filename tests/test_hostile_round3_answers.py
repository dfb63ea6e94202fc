"""Hostile round three (issue 18), answers: bodies that are JSON but not data, and heads that trickle.

Each case is served by a real loopback server (`Canned`: fixed bytes per path) to the real clients
(requests + requests-cache + tenacity). "Never cached" is checked on the wire: asking again reaches the
server again, because the refused answer left the HTTP cache.
"""
from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from harvester.errors import BadResponse, UpstreamUnavailable
from harvester.sources.kolada.client import KoladaClient
from harvester.sources.kolada.items import rows_from_items
from harvester.sources.scb.client import ScbClient
from harvester.transport import Limits
from tests.fake_http import FakeHttpServer, TrackedHandler

BRIEF = Limits(timeout=5, deadline=10, max_retry_seconds=0.3, backoff=0.01)
JSON_TYPE = "application/json; charset=utf-8"


class _CannedHandler(TrackedHandler):
    def do_GET(self) -> None:
        canned: Canned = self.server.fake  # type: ignore[assignment]
        canned._record(self.path)  # noqa: SLF001 - the shared fake base's log
        body = canned.body_for(self.path)
        if canned.trickle_head:
            self.send_response(200)
            self.send_header("Content-Type", JSON_TYPE)
            self.send_header("Content-Length", str(len(body)))
            self._headers_buffer.append(b"\r\n")  # type: ignore[attr-defined]
            head = b"".join(self._headers_buffer)  # type: ignore[attr-defined]
            self._headers_buffer = []  # type: ignore[attr-defined]
            for i in range(len(head)):
                self.wfile.write(head[i:i + 1])
                self.wfile.flush()
                if not canned._pause(0.2):  # noqa: SLF001
                    return
            self.wfile.write(body)
            return
        self._send_bytes(200, JSON_TYPE, {}, body, None)


class Canned(FakeHttpServer[str]):
    """Answers a path matching a route's regex with that route's bytes; `trickle_head` sends the head slowly."""

    def __init__(self, routes: dict[str, bytes], trickle_head: bool = False) -> None:
        super().__init__(_CannedHandler, "127.0.0.1", 0)
        self.routes = [(re.compile(k), v) for k, v in routes.items()]
        self.trickle_head = trickle_head

    def body_for(self, path: str) -> bytes:
        return next((body for pattern, body in self.routes if pattern.search(path)), b'{"values": [], "count": 0}')

    def asked(self, pattern: str) -> int:
        return sum(1 for p in self.log if re.search(pattern, p))


@pytest.fixture
def kolada(tmp_path: Path) -> Iterator[Callable[[str], KoladaClient]]:
    made: list[KoladaClient] = []

    def make(url: str, limits: Limits = BRIEF) -> KoladaClient:
        made.append(KoladaClient(url, cache_path=tmp_path / f"k{len(made)}.sqlite", rate=1000, limits=limits))
        return made[-1]
    yield make
    for c in made:
        c.close()


@pytest.fixture
def scb(tmp_path: Path) -> Iterator[Callable[[str], ScbClient]]:
    made: list[ScbClient] = []

    def make(url: str) -> ScbClient:
        made.append(ScbClient(url, cache_path=tmp_path / f"s{len(made)}.sqlite", limits=BRIEF))
        return made[-1]
    yield make
    for c in made:
        c.close()


def page(values: list[Any]) -> bytes:
    return json.dumps({"values": values, "count": len(values), "next_url": None}).encode()


def item(**entry: Any) -> dict[str, Any]:
    return {"kpi": "N00945", "municipality": "0484", "period": 2022,
            "values": [{"gender": "T", "value": 1.5, "count": 1, "status": None, "isdeleted": False, **entry}]}


GOOD_KPI = {"id": "N00945", "title": "Invånare"}
# -- 1, 8, 12 (400 digits), 13, 25: JSON that parses but cannot be stored, refused by the parser ----------------
NOT_STORABLE = {
    "1e999": (b'{"values": [{"id": "N1", "title": "t", "x": 1e999}], "count": 1}', "too large to be finite"),
    "-1e999": (b'{"values": [{"id": "N1", "title": "t", "x": -1e999}], "count": 1}', "too large to be finite"),
    "400-digit": (b'{"values": [{"id": "N1", "title": "t", "x": ' + b"9" * 400 + b"}], \"count\": 1}", "out of range"),
    "duplicate-key": (b'{"values": [{"id": "N1", "title": "t", "title": "u"}], "count": 1}', "appears twice"),
    "deep": (b'{"values": ' + b"[" * 100_000 + b"]" * 100_000 + b', "count": 1}', "nested too deeply"),
    "lone-surrogate": (b'{"values": [{"id": "N1", "title": "a\\ud800b"}], "count": 1}', "lone surrogate"),
}


@pytest.mark.parametrize("case", NOT_STORABLE)
def test_json_that_cannot_be_stored_is_refused_and_never_cached(case: str, kolada: Callable[..., KoladaClient]) -> None:
    body, reason = NOT_STORABLE[case]
    with Canned({r"/kpi": body}) as server:
        client = kolada(server.root)
        for _ in range(2):
            with pytest.raises(UpstreamUnavailable, match=reason):
                client.kpis()
        assert server.asked(r"/kpi") >= 4  # retried, and the second call asked again: nothing was cached


def test_a_surrogate_pair_is_a_character_not_a_lone_surrogate(kolada: Callable[..., KoladaClient]) -> None:
    with Canned({r"/kpi": b'{"values": [{"id": "N1", "title": "\\ud83d\\ude00"}], "count": 1}'}) as server:
        assert kolada(server.root).kpis()[0]["title"] == "\U0001F600"


# -- 7-12: data items typed per field, refused inside validation ---------------------------------------------------
BAD_ITEMS = {
    "isdeleted-string": [item(isdeleted="false")],
    "boolean-value": [item(value=True)],
    "string-value": [item(value="12")],
    "gender-1": [item(gender=1)],
    "count-huge": [item(count=99_999_999_999)],
    "count-many": [item(count="many")],
    "status-7": [item(status=7)],
    "status-list": [item(status=["x"])],
    "kpi-number": [{**item(), "kpi": 35001}],
    "conflicting-items": [item(value=1.0), item(value=2.0)],
    "two-values-one-gender": [{**item(), "values": item()["values"] * 2}],
}


@pytest.mark.parametrize("case", BAD_ITEMS)
def test_a_mistyped_or_conflicting_data_item_is_refused_and_forgotten(case: str, kolada: Callable[..., KoladaClient]) -> None:
    with Canned({r"/data/": page(BAD_ITEMS[case])}) as server:
        client = kolada(server.root)
        for _ in range(2):
            with pytest.raises(BadResponse, match="data item with"):
                list(client.pages("data/kpi/N00945", shape=rows_from_items))
        assert server.asked(r"/data/") == 2  # not retried (it can never be right), and not kept in the cache


def test_a_well_typed_item_still_becomes_rows(kolada: Callable[..., KoladaClient]) -> None:
    with Canned({r"/data/": page([item(), {**item(isdeleted=True, value=None), "period": 2023}])}) as server:
        [table] = list(kolada(server.root).pages("data/kpi/N00945", shape=rows_from_items))
    assert table.column("isdeleted").to_pylist() == [False, True]
    assert table.column("value").to_pylist() == [1.5, None]


# -- 4: unusable catalogue answers leave the cache -------------------------------------------------------------------
@pytest.mark.parametrize("path, body, call", [
    ("/municipality", page([]), "municipalities"),
    ("/kpi", page([GOOD_KPI, "N00946"]), "kpis"),
    ("/municipality", page([["0484", "Eskilstuna"]]), "municipalities"),
    ("/municipality_groups", page([{"id": 5, "title": "x"}]), "municipality_groups"),
], ids=["empty-municipalities", "kpi-string-item", "municipality-list-item", "group-numeric-id"])
def test_an_unusable_catalogue_is_refused_and_asked_again_next_time(path: str, body: bytes, call: str,
                                                                    kolada: Callable[..., KoladaClient]) -> None:
    with Canned({path: body}) as server:
        client = kolada(server.root)
        for _ in range(2):
            with pytest.raises(BadResponse, match="Kolada's"):
                getattr(client, call)()
        assert server.asked(path) == 2


# -- 2: a head trickled one byte at a time ends at the deadline -----------------------------------------------------
def test_headers_trickled_one_byte_at_a_time_end_at_the_deadline(kolada: Callable[..., KoladaClient]) -> None:
    with Canned({r"/kpi": page([GOOD_KPI])}, trickle_head=True) as server:
        client = kolada(server.root, Limits(timeout=5, deadline=1.5, max_retry_seconds=0.5, backoff=0.01))
        started = time.monotonic()
        with pytest.raises(UpstreamUnavailable, match="no headers after 1.5 s"):
            client.kpis()
    assert time.monotonic() - started < 6  # two attempts of 1.5 s, not the minutes a trickle of 90 bytes takes


# -- SCB: 5, 7, 11, 14, 15 and 4 (metadata) --------------------------------------------------------------------------
def config(**change: Any) -> bytes:
    return json.dumps({"apiVersion": "2.0.0", "maxDataCells": 150_000, "maxCallsPerTimeWindow": 30,
                       "timeWindow": 10, **change}).encode()


@pytest.mark.parametrize("change, expected, named", [
    ({"maxCallsPerTimeWindow": 1, "timeWindow": 3600}, (150_000, 1, 60.0), "timeWindow = 3600"),
    ({"maxDataCells": 1}, (100, 30, 10.0), "maxDataCells = 1"),
    ({"maxCallsPerTimeWindow": 10**12}, (150_000, 1000, 10.0), "maxCallsPerTimeWindow = 1000000000000"),
], ids=["an-hour-per-call", "one-cell", "huge-quota"])
def test_scb_config_is_clamped_with_a_warning_naming_the_server_value(change: dict[str, Any], expected: tuple[Any, ...],
                                                                      named: str, scb: Callable[[str], ScbClient],
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING), Canned({r"/config": config(**change)}) as server:
        limits = scb(f"{server.root}/api/v2").limits()
    assert (limits.max_cells, limits.calls, limits.window) == expected
    assert any(named in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)


def test_scb_config_with_an_infinite_window_is_not_json_we_accept(scb: Callable[[str], ScbClient]) -> None:
    with Canned({r"/config": config().replace(b'"timeWindow": 10', b'"timeWindow": 1e999')}) as server:
        with pytest.raises(UpstreamUnavailable, match="too large to be finite"):
            scb(f"{server.root}/api/v2").limits()


def dataset(value: Any, size: list[int] | None = None) -> bytes:
    size = size or [2]
    return json.dumps({"class": "dataset", "id": ["Tid"], "size": size, "value": value,
                       "dimension": {"Tid": {"category": {"index": {"2022": 0, "2023": 1}}}}}).encode()


@pytest.mark.parametrize("body, reason", [
    (dataset([True, 1.0]), "not a number"),
    (dataset(["12", 1.0]), "not a number"),
    (dataset({"0": False}), "not a number"),
    (dataset({}, [2**40]), "more than the"),
], ids=["boolean", "string", "sparse-boolean", "sparse-huge-size"])
def test_scb_values_that_are_not_numbers_are_refused(body: bytes, reason: str, scb: Callable[[str], ScbClient]) -> None:
    with Canned({r"/data": body}) as server:
        started = time.monotonic()
        with pytest.raises(BadResponse, match=reason):
            scb(f"{server.root}/api/v2").data("TAB1", [("Tid", ["2022", "2023"])])
    assert time.monotonic() - started < 3  # a 2**40-cell claim is refused before anything is allocated


def metadata(label: Any = "Folkmängd", decimals: Any = 0) -> bytes:
    return json.dumps({
        "class": "dataset", "label": label, "updated": "2025-02-21T07:00:00Z", "id": ["ContentsCode", "Tid"],
        "size": [1, 2], "role": {"time": ["Tid"]}, "value": [],
        "dimension": {"ContentsCode": {"label": "tabellinnehåll", "category": {
            "index": {"BE0101N1": 0}, "label": {"BE0101N1": "Folkmängd"},
            "unit": {"BE0101N1": {"base": "antal", "decimals": decimals}}}},
            "Tid": {"label": "år", "category": {"index": {"2022": 0, "2023": 1}, "label": {"2022": "2022", "2023": "2023"}}}},
    }).encode()


@pytest.mark.parametrize("body, reason", [
    (metadata(label=["Folkmängd"]), "is not text"),
    (metadata().replace(b"Folkm\\u00e4ngd", b"Folkm\\udc00ngd"), "lone surrogate"),
], ids=["list-label", "lone-surrogate"])
def test_scb_metadata_of_the_wrong_shape_is_refused_and_forgotten(body: bytes, reason: str,
                                                                  scb: Callable[[str], ScbClient]) -> None:
    with Canned({r"/metadata": body}) as server:
        client = scb(f"{server.root}/api/v2")
        for _ in range(2):
            with pytest.raises((BadResponse, UpstreamUnavailable), match=reason):
                client.metadata("TAB1")
        assert server.asked(r"/metadata") >= 2


def test_scb_unit_with_a_billion_decimals_is_read_as_unknown_decimals(scb: Callable[[str], ScbClient]) -> None:
    with Canned({r"/metadata": metadata(decimals=10**9)}) as server:
        meta = scb(f"{server.root}/api/v2").metadata("TAB1")
    assert meta.units["BE0101N1"].decimals is None
