"""The Kolada client on its own, against the fake: politeness, cache, identity, paging rules."""
from __future__ import annotations

import sqlite3
import time
from datetime import timedelta
from pathlib import Path

import pytest

from harvester import __version__
from harvester.httpcache import CACHE_FILE, cached_session
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
        rebased = client.transport.same_origin("https://api.kolada.se/v3/kpi?page=2&per_page=1", client.url("kpi"))
    assert rebased == f"{small_fake.root}/v3/kpi?page=2&per_page=1"


def test_26_ids_are_chunked_for_metadata(small_fake) -> None:
    ids = [f"N{i:05d}" for i in range(26)] + ["N35001"]
    with KoladaClient(small_fake.base_url, rate=100) as client:
        assert [k["id"] for k in client.kpis(ids)] == ["N35001"]
    assert len(small_fake.log) == 2 and all(r.status == 200 for r in small_fake.log)


def test_a_v2_url_is_refused_with_a_hint(small_fake) -> None:
    with KoladaClient(small_fake.root + "/v2", rate=100) as client, pytest.raises(RequestRefused, match="HTTP 410"):
        client.municipalities()


# --- the HTTP cache is disposable (issue 9) ----------------------------------------------------------

def test_a_corrupt_cache_file_is_moved_aside_and_replaced(small_fake, tmp_path: Path, caplog) -> None:
    cache = tmp_path / "cache.sqlite"
    cache.write_bytes(b"this is not a database" * 100)
    with KoladaClient(small_fake.base_url, cache_path=cache, rate=100) as client:
        assert len(client.municipalities()) == 6
        assert client.transport.cached
    assert "was unreadable" in caplog.text
    assert list(tmp_path.glob("cache.sqlite.broken-*"))


def test_a_cache_under_the_old_name_is_renamed_once_and_stays_warm(small_fake, tmp_path: Path) -> None:
    """Upgrading must not throw away a warm cache: the file once named for Kolada now holds SCB's answers too."""
    old, new = tmp_path / "kolada-http.sqlite", tmp_path / CACHE_FILE
    with KoladaClient(small_fake.base_url, cache_path=old, rate=100) as client:
        client.municipalities()
    asked = len(small_fake.log)
    with KoladaClient(small_fake.base_url, cache_path=new, rate=100) as client:
        assert len(client.municipalities()) == 6
        assert (client.stats.network, client.stats.cached) == (0, 1)
    assert len(small_fake.log) == asked and new.is_file() and not old.exists()
    old.write_bytes(b"a later stray file under the old name is left alone")
    with KoladaClient(small_fake.base_url, cache_path=new, rate=100) as client:
        client.municipalities()
    assert old.read_bytes().startswith(b"a later stray")


def test_a_cache_the_user_named_is_never_renamed(small_fake, tmp_path: Path) -> None:
    old = tmp_path / "kolada-http.sqlite"
    with KoladaClient(small_fake.base_url, cache_path=old, rate=100) as client:
        client.municipalities()
    with KoladaClient(small_fake.base_url, cache_path=tmp_path / "mine.sqlite", rate=100) as client:
        client.municipalities()
    assert old.is_file() and (tmp_path / "mine.sqlite").is_file()


def test_a_cache_that_cannot_be_opened_means_a_run_without_cache(small_fake, tmp_path: Path, caplog) -> None:
    folder = tmp_path / "a-folder"
    folder.mkdir()
    with KoladaClient(small_fake.base_url, cache_path=folder, rate=100) as client:
        assert len(client.municipalities()) == 6
        assert not client.transport.cached
    assert "running without it" in caplog.text


def test_a_cache_on_a_full_disk_neither_hangs_nor_crashes(small_fake, tmp_path: Path) -> None:
    """RLIMIT_FSIZE makes every write past a few kB fail, as ENOSPC does: the run must end, and well."""
    from tests.conftest import run_cli_subprocess, write_config
    from tests.test_operations import _limit_file_size

    config = write_config(tmp_path / "kpis.toml")
    out = tmp_path / "out"
    out.mkdir()
    (out / "placeholder").write_text("")
    result = run_cli_subprocess(["kpi", "search", "missbruk", "--api-url", small_fake.base_url,
                                 "--cache", str(tmp_path / "c.sqlite")], timeout=60, preexec_fn=_limit_file_size)
    assert result.returncode == 0, result.stderr
    assert "N35001" in result.stdout
    assert "Traceback" not in result.stderr
    assert config.exists()


# --- wrong URLs and no network (issue 8) ---------------------------------------------------------------

def test_nobody_listening_fails_fast_and_says_what_to_do(harvester, tmp_path: Path) -> None:
    import socket

    with socket.socket() as probe:  # a port that was free a moment ago: connections are refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v3"
    from tests.conftest import write_config

    config = write_config(tmp_path / "kpis.toml", retry_seconds=300)
    for args in (("kpi", "search", "missbruk", "--api-url", url),
                 ("fetch", "--config", str(config), "--api-url", url, "--output", str(tmp_path / "out"))):
        clock = time.monotonic()
        result = harvester(*args)
        assert time.monotonic() - clock < 15
        assert result.code == 4
        assert url in result.err and "--api-url" in result.err and "tests.fake_kolada" in result.err


def test_an_api_url_without_scheme_or_host_is_refused_before_any_request(small_fake, harvester, tmp_path: Path,
                                                                        monkeypatch) -> None:
    from tests.conftest import write_config

    config = write_config(tmp_path / "kpis.toml")
    result = harvester("fetch", "--config", str(config), "--api-url", "127.0.0.1:8765/v3", "--output", str(tmp_path / "o"))
    assert result.code == 2 and "--api-url: '127.0.0.1:8765/v3' is not an API URL" in result.err
    monkeypatch.setenv("KOLADA_API_URL", "http:///v3")
    result = harvester("kpi", "search", "missbruk")
    assert result.code == 2 and "KOLADA_API_URL" in result.err
    assert small_fake.log == [] and not (tmp_path / "o").exists()


def test_a_404_on_the_api_root_asks_for_v3(small_fake, harvester) -> None:
    result = harvester("kpi", "search", "missbruk", "--api-url", small_fake.root)
    assert result.code == 4 and "missing /v3?" in result.err


def test_the_cache_drops_expired_answers_on_opening_and_rewrites_the_file_only_when_mostly_free(tmp_path: Path) -> None:
    """A nightly job must not grow its cache for ever, nor spend half a second rewriting 75 MB every night."""
    path = tmp_path / "http.sqlite"

    def rows_and_pages() -> tuple[int, int]:
        con = sqlite3.connect(path)
        try:
            return (con.execute("SELECT count(*) FROM responses").fetchone()[0],
                    con.execute("PRAGMA page_count").fetchone()[0])
        finally:
            con.close()

    def fill(n: int, seconds: float) -> None:
        con = sqlite3.connect(path)
        with con:
            con.executemany("INSERT INTO responses (key, value, expires) VALUES (?, ?, ?)",
                            [(f"k{seconds}-{i}", b"x" * 4000, int(time.time() + seconds)) for i in range(n)])
        con.close()

    rules = {"expire_after": timedelta(hours=1), "urls_expire_after": {}, "filter_fn": None}
    cached_session(path, **rules).close()  # creates the tables
    fill(300, -60)  # expired a minute ago
    fill(300, 3600)  # still fresh
    cached_session(path, **rules).close()
    rows, pages = rows_and_pages()
    assert rows == 300 and pages > 450  # the expired half is gone, its pages kept for reuse: no rewrite
    con = sqlite3.connect(path)
    with con:
        con.execute("UPDATE responses SET expires = ?", (int(time.time()) - 60,))
    con.close()
    cached_session(path, **rules).close()  # now nearly every page is free: the file is compacted
    rows, pages = rows_and_pages()
    assert rows == 0 and pages < 50
