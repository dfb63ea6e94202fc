"""Hostile round three (issue 18), inputs: what used to end in exit 1 and a traceback now gets a documented code.

Config paths and URLs are exit 2 with one line before anything is created; a damaged dataset file is exit 7
naming the file; leftovers a run of ours never writes (a garbage COMMIT.json, a lock or cursors of another
shape) are set aside with a warning; streams that are closed or cannot take Unicode fail nothing. The CLI runs
in a child process where the case is about the process (stdio, a FIFO, /dev/zero), else in-process.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from harvester import store
from harvester.exitcodes import ExitCode
from tests.conftest import REPO, run_cli_subprocess, snapshot, write_config
from tests.fake_kolada import FakeKolada

NOWHERE = ("--api-url", "http://127.0.0.1:9/v3")  # should a check fail to refuse first: never a public host
BAD_URLS = {
    "open-ipv6": "http://[::1/v3",
    "300-char-label": "http://" + "a" * 300 + ".se/v3",
    "port-99999": "http://127.0.0.1:99999/v3",
    "port-abc": "http://127.0.0.1:abc/v3",
    "space-in-host": "http://kolada example.se/v3",
}


@pytest.mark.parametrize("case", BAD_URLS)
def test_a_url_that_cannot_be_asked_is_a_config_error_and_leaves_no_output(case: str, harvester, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    result = harvester("fetch", "--config", str(write_config(tmp_path / "c.toml")), "--api-url", BAD_URLS[case],
                       "--output", str(out))
    assert result.code == ExitCode.CONFIG, result.err
    assert "is not an API URL" in result.err and len(result.err.strip().splitlines()) == 1
    assert not out.exists()


def test_a_bad_url_in_the_config_names_file_and_line(harvester, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = write_config(tmp_path / "c.toml")
    config.write_text(config.read_text("utf-8").replace("[source]\n", '[source]\napi_url = "http://h:99999/v3"\n'))
    result = harvester("fetch", "--config", str(config), "--output", str(tmp_path / "out"), *NOWHERE)
    assert result.code == ExitCode.CONFIG and f"{config}:2" in result.err, result.err


def test_toml_nested_20000_deep_is_one_line_exit_2(harvester, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = write_config(tmp_path / "c.toml")
    config.write_text("x = " + "[" * 20_000 + "]" * 20_000 + "\n" + config.read_text("utf-8"))
    result = harvester("fetch", "--config", str(config), "--output", str(tmp_path / "out"), *NOWHERE)
    assert result.code == ExitCode.CONFIG and "nested too deeply" in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_a_config_larger_than_1_mb_is_refused(harvester, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = write_config(tmp_path / "c.toml")
    config.write_text(config.read_text("utf-8") + "# " + "x" * 1_100_000 + "\n")
    result = harvester("fetch", "--config", str(config), "--output", str(tmp_path / "out"), *NOWHERE)
    assert result.code == ExitCode.CONFIG and "at most 1 MB" in result.err, result.err


@pytest.mark.parametrize("kind", ["dev-zero", "fifo", "folder"])
def test_a_config_path_that_is_not_a_regular_file_is_refused_at_once(kind: str, tmp_path: Path) -> None:
    path = {"dev-zero": Path("/dev/zero"), "fifo": tmp_path / "fifo", "folder": tmp_path}[kind]
    if kind == "fifo":
        os.mkfifo(path)
    result = run_cli_subprocess(["fetch", "--config", str(path), "--output", str(tmp_path / "out"), *NOWHERE],
                                timeout=30)
    assert result.returncode == ExitCode.CONFIG, result.stderr
    assert "not a regular file" in result.stderr or "Is a directory" in result.stderr


def test_ascii_stdout_and_a_closed_stderr_fail_nothing(small_fake: FakeKolada, tmp_path: Path) -> None:
    env = {"PYTHONIOENCODING": "ascii", "XDG_CACHE_HOME": str(tmp_path)}
    found = run_cli_subprocess(["kpi", "search", "missbruk", "--api-url", small_fake.base_url], env=env, timeout=60)
    assert found.returncode == ExitCode.OK, found.stderr
    assert "missbruksv\\xe5rd" in found.stdout  # "vård", escaped rather than a UnicodeEncodeError
    command = f'"{sys.executable}" -m harvester fetch --config {tmp_path}/none.toml {" ".join(NOWHERE)} 2>&-'
    closed = subprocess.run(command, shell=True, cwd=REPO, timeout=60, env={**os.environ, **env})
    assert closed.returncode == ExitCode.CONFIG


# -- the dataset's own files ----------------------------------------------------------------------------------------
@pytest.fixture
def fetched(small_fake: FakeKolada, harvester, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A dataset from one successful fetch, and a function running fetch on it again."""
    config, out = write_config(tmp_path / "c.toml"), tmp_path / "out"

    def fetch():  # type: ignore[no-untyped-def]
        return harvester("fetch", "--config", str(config), "--api-url", small_fake.base_url, "--output", str(out))
    assert fetch().code == ExitCode.OK
    return out, fetch


def _other_schema(path: Path) -> None:
    pq.write_table(pa.table({"x": [1]}), path)


DAMAGE = {
    "truncated-runs": ("runs.parquet", lambda p: p.write_bytes(p.read_bytes()[:40])),
    "truncated-kpis": ("kpis.parquet", lambda p: p.write_bytes(p.read_bytes()[:40])),
    "empty-municipalities": ("municipalities.parquet", lambda p: p.write_bytes(b"")),
    "truncated-values": ("values", lambda p: p.write_bytes(p.read_bytes()[:-30])),
    "values-other-schema": ("values", _other_schema),
}


@pytest.mark.parametrize("case", DAMAGE)
def test_a_damaged_dataset_file_is_exit_7_naming_it_and_nothing_changes(case: str, fetched) -> None:  # type: ignore[no-untyped-def]
    out, fetch = fetched
    name, damage = DAMAGE[case]
    path = next((out / "values").rglob("*.parquet")) if name == "values" else out / name
    damage(path)
    before = snapshot(out)
    result = fetch()
    assert result.code == ExitCode.OUTPUT, result.err
    assert "is damaged" in result.err and path.name in result.err
    assert snapshot(out) == before


@pytest.mark.parametrize("content", [b'{"pid":"x"}', b'{"pid":1e20}', b"[1]", b"\xff\xfe"], ids=["pid-x", "pid-1e20", "list", "bytes"])
def test_a_lock_file_of_another_shape_is_taken_over(content: bytes, fetched) -> None:  # type: ignore[no-untyped-def]
    out, fetch = fetched
    (out / store.LOCK_FILE).write_bytes(content)
    assert fetch().code in (ExitCode.OK, ExitCode.UNCHANGED)


def test_cursors_of_the_wrong_shape_mean_a_full_fetch(fetched) -> None:  # type: ignore[no-untyped-def]
    out, fetch = fetched
    (out / store.CURSORS).write_text('{"N35001": [1, 2]}')
    result = fetch()
    assert result.code in (ExitCode.OK, ExitCode.UNCHANGED) and "fetched in full" in result.err


@pytest.mark.parametrize("manifest", [b"garbage", b'{"a": 1}', b'["../../victim.txt"]'], ids=["garbage", "object", "escape"])
def test_a_garbage_commit_manifest_is_discarded_with_a_warning(manifest: bytes, fetched, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out, fetch = fetched
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    staged = out / store.STAGING / "20260101T000000-1"
    staged.mkdir(parents=True)
    (staged / store.MANIFEST).write_bytes(manifest)
    result = fetch()
    assert result.code in (ExitCode.OK, ExitCode.UNCHANGED), result.err
    assert "cannot be rolled forward" in result.err
    assert not staged.exists() and victim.read_text() == "keep me"


# -- 3: a new HTTP cache file on a full disk -------------------------------------------------------------------------
@pytest.fixture
def full_disk(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A 64 KB tmpfs filled to the last byte (RLIMIT_FSIZE lets a new cache's first pages through, so it
    cannot stand in). Mounting needs CAP_SYS_ADMIN: without it the test is skipped, saying so."""
    where = tmp_path / "full"
    where.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(where)], capture_output=True).returncode:
        pytest.skip("cannot mount a small tmpfs here (needs root or CAP_SYS_ADMIN); the full-disk cache case is untested")
    try:
        with open(where / "fill", "wb", buffering=0) as fh:
            try:
                while True:
                    fh.write(b"\0" * 4096)
            except OSError:  # ENOSPC: full
                pass
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_a_new_cache_file_on_a_full_disk_neither_hangs_nor_stops_the_run(full_disk: Path, small_fake: FakeKolada,
                                                                         tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.toml")
    result = run_cli_subprocess(["fetch", "--config", str(config), "--api-url", small_fake.base_url, "--output",
                                 str(tmp_path / "out"), "--cache", str(full_disk / "cache.sqlite")], timeout=60)
    assert result.returncode == ExitCode.OK, result.stderr
    assert "running without it" in result.stderr
