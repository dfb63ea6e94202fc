"""The HTTP cache: a disposable SQLite file that must never stop a run.

requests-cache keeps answers in SQLite. The file is an optimisation, not data, so a corrupt,
truncated or unopenable file is moved aside and a new one made, and when even that fails (no
writable cache folder, a full disk) the run goes on without a cache. requests-cache retries a
write lock for ever, which on a full disk never succeeds and would hang the nightly job while it
holds the run lock; the dictionary class below gives up after a few seconds instead.
"""
from __future__ import annotations

import logging
import sqlite3
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, Iterator

import requests
import requests_cache
from requests_cache.backends.sqlite import SQLiteCache, SQLiteDict

log = logging.getLogger(__name__)

WRITE_LOCK_SECONDS = 3.0
CACHE_ERRORS = (sqlite3.Error, OSError)
CACHE_FILE = "http-cache.sqlite"
# The name the file had while it held Kolada's answers only: users' warm caches live under it.
PREVIOUS_CACHE_FILES = ("kolada-http.sqlite",)
SQLITE_SIDECARS = ("", "-wal", "-shm", "-journal")


class BoundedSQLiteDict(SQLiteDict):
    """requests-cache's SQLite table, but a write lock that cannot be had within seconds is an error."""

    @contextmanager
    def _acquire_sqlite_lock(self) -> Iterator[None]:
        with self._lock:
            deadline = time.monotonic() + WRITE_LOCK_SECONDS
            while True:
                try:
                    self._connection.execute("BEGIN IMMEDIATE")
                    self._active_transaction = True
                    break
                except sqlite3.OperationalError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.01)
            try:
                yield
                self._connection.commit()
            except sqlite3.OperationalError:
                self._connection.rollback()
                raise
            finally:
                self._active_transaction = False


def _bounded(backend: SQLiteCache) -> SQLiteCache:
    for table in (backend.responses, backend.redirects):
        if type(table) is SQLiteDict:
            table.__class__ = BoundedSQLiteDict
    return backend


def _healthy(path: Path) -> None:
    """Raise sqlite3.DatabaseError for a file SQLite cannot read as a database."""
    if not path.exists():
        return
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        row = con.execute("PRAGMA quick_check").fetchone()
    finally:
        con.close()
    if not row or row[0] != "ok":
        raise sqlite3.DatabaseError(f"integrity check failed: {row[0] if row else 'no answer'}")


def _open(path: Path, expire_after: timedelta, urls_expire_after: dict[str, timedelta],
          filter_fn: Any) -> requests_cache.CachedSession:
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder, not a cache file")
    path.parent.mkdir(parents=True, exist_ok=True)
    _healthy(path)
    backend = _bounded(SQLiteCache(str(path)))
    session = requests_cache.CachedSession(backend=backend, expire_after=expire_after,
                                           urls_expire_after=urls_expire_after, allowable_codes=(200,),
                                           filter_fn=filter_fn, stale_if_error=False)
    session.cache.delete(expired=True, vacuum=False)  # a nightly job must not grow its cache for ever
    _compact(path, backend)
    return session


def _compact(path: Path, backend: SQLiteCache) -> None:
    """VACUUM only a file that is mostly free pages. SQLite reuses the pages of deleted answers, so without it
    the file stays as large as the largest harvest's answers; rewriting a 75 MB cache every night (0.5 s,
    twice with two sources) bought nothing."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        free, pages = (con.execute(f"PRAGMA {pragma}").fetchone()[0] for pragma in ("freelist_count", "page_count"))
    finally:
        con.close()
    if free * 2 > pages:
        backend.responses.vacuum()


def _corrupt(exc: BaseException) -> bool:
    """A file SQLite cannot read (not a full disk or a locked file, which a new file would not mend)."""
    return isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError)


def adopt_previous_name(path: Path) -> None:
    """Rename a cache left under an earlier name beside `path`, once, so an upgrade keeps a warm cache.

    Only for our own file name: a cache the user named is theirs. The SQLite side files move with it, or
    a half-written journal would be read against the wrong database. A rename that fails costs only
    warm answers, so it is logged and the run goes on with a new file.
    """
    if path.name != CACHE_FILE or path.exists():
        return
    for name in PREVIOUS_CACHE_FILES:
        old = path.with_name(name)
        if not old.is_file():
            continue
        try:
            for suffix in SQLITE_SIDECARS:
                side = old.with_name(old.name + suffix)
                if side.exists():
                    side.replace(path.with_name(path.name + suffix))
            log.info("renamed the HTTP cache %s to %s", old, path)
        except OSError as exc:
            log.warning("could not rename the HTTP cache %s to %s (%s); starting a new one", old, path, exc)
        return


def cached_session(path: Path, *, expire_after: timedelta, urls_expire_after: dict[str, timedelta],
                   filter_fn: Any) -> requests.Session:
    """A caching session on `path`, a fresh file if the old one is broken, or a plain session as a last resort."""
    adopt_previous_name(path)
    try:
        return _open(path, expire_after, urls_expire_after, filter_fn)
    except CACHE_ERRORS as exc:
        problem: BaseException = exc
        if _corrupt(exc):
            aside = path.with_name(f"{path.name}.broken-{time.strftime('%Y%m%dT%H%M%S')}")
            try:
                path.replace(aside)
                log.warning("the HTTP cache %s was unreadable (%s); moved it to %s and started a new one",
                            path, exc, aside)
                return _open(path, expire_after, urls_expire_after, filter_fn)
            except CACHE_ERRORS as again:
                problem = again
        log.warning("cannot use the HTTP cache %s (%s); running without it", path, problem)
    return requests.Session()
