"""The Kolada client on its own, against the fake: politeness, cache, identity, paging rules."""
from __future__ import annotations

from pathlib import Path

import pytest

from harvester import __version__
from harvester.sources.kolada.client import KoladaClient
from harvester.errors import RequestRefused


def busiest_second(times: list[float]) -> int:
    """The most requests that started within any window of one second."""
    times = sorted(times)
    return max((sum(1 for u in times[i:] if u - t < 1.0) for i, t in enumerate(times)), default=0)


def test_at_most_five_requests_in_any_second(small_fake, tmp_path: Path) -> None:
    small_fake.per_page_cap = 1  # six municipalities: six pages, then the KPI pages
    with KoladaClient(small_fake.base_url, cache_path=None, rate=5) as client:
        assert len(client.get_all("municipality")) == 6
        assert len(client.get_all("kpi")) == 2
    starts = [r.t for r in small_fake.log]
    assert len(starts) == 8
    assert busiest_second(starts) <= 5
    assert max(starts) - min(starts) >= 1.0  # the sixth request had to wait


def test_cache_answers_repeated_metadata_and_refresh_bypasses_it(small_fake, tmp_path: Path) -> None:
    cache = tmp_path / "cache.sqlite"
    with KoladaClient(small_fake.base_url, cache_path=cache, rate=100) as client:
        first = client.municipalities()
        assert client.municipalities() == first
        assert (client.stats.network, client.stats.cached) == (1, 1)
    with KoladaClient(small_fake.base_url, cache_path=cache, rate=100, refresh=True) as client:
        client.municipalities()
        assert client.stats.network == 1
    assert len(small_fake.log) == 2


def test_user_agent_names_the_tool_and_version(small_fake) -> None:
    with KoladaClient(small_fake.base_url) as client:
        agent = client.session.headers["User-Agent"]
    assert agent.startswith(f"harvester/{__version__} ")


def test_next_url_on_another_host_is_followed_on_ours(small_fake) -> None:
    with KoladaClient(small_fake.base_url) as client:
        rebased = client._same_origin("https://api.kolada.se/v3/kpi?page=2&per_page=1", client.url("kpi"))
    assert rebased == f"{small_fake.root}/v3/kpi?page=2&per_page=1"


def test_26_ids_are_chunked_for_metadata(small_fake) -> None:
    ids = [f"N{i:05d}" for i in range(26)] + ["N35001"]
    with KoladaClient(small_fake.base_url, rate=100) as client:
        assert [k["id"] for k in client.kpis(ids)] == ["N35001"]
    assert len(small_fake.log) == 2 and all(r.status == 200 for r in small_fake.log)


def test_a_v2_url_is_refused_with_a_hint(small_fake) -> None:
    with KoladaClient(small_fake.root + "/v2", rate=100) as client, pytest.raises(RequestRefused, match="HTTP 410"):
        client.municipalities()
