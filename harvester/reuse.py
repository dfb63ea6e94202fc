"""What a compare may keep from the previous one: the record beside the documents, and the rules that read it.

A nightly run that finds nothing new must not rewrite the same bytes every night (a file's mtime is
what a plan author's sync client and a backup look at, and rendering is most of the run). So compare
hashes its inputs, keeps that hash in `RECORD` with the hash of every file it wrote, and:

- skips the whole compare when the inputs hash as before and every file is on disk as written;
- when the inputs are the same but some files are missing or edited, renders and writes those only;
- when the inputs changed, writes only the files whose bytes changed (an indicator whose values did
  not move keeps its table and chart);
- with `force`, writes everything;
- a record that is absent, unreadable or from another harvester version counts as no record: a full
  rebuild, never a crash and never a stale document.

The record also lists what compare wrote, so files of indicators dropped from the config are removed.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from . import __version__, store
from .config import Config, SourceSettings
from .outputfiles import remove_inside

RECORD = ".compare-files.json"
FORMAT = 2  # format 1 was a bare list of the files written, without hashes
DATASET_TABLES = ("kpis", "municipalities", "groups", "series", "revisions")  # what compare reads beside values/


@dataclass(frozen=True)
class Record:
    """The previous compare as `RECORD` holds it."""

    inputs: str  # hash of everything the documents were made from ("" when unknown: nothing matches it)
    files: dict[str, str]  # relative path -> sha256 of the bytes written
    notes: tuple[str, ...] = ()


def _file_hash(path: Path) -> str | None:
    try:
        with open(path, "rb") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest()
    except OSError:
        return None


def inputs_key(config: Config, root: Path, *, years: Iterable[int], revised_since: object = None,
               as_of: object = None) -> str:
    """One hash of what the documents show: the config as loaded (without the [source] settings, which only
    say how to fetch), the dataset files compare reads, the years, the options and the harvester version.

    Every values file counts, not only the config's series: computed comparison sets read their recipe's
    KPIs too, and a dataset belongs to one config, so the others do not change.
    """
    digest = hashlib.sha256()
    effective = replace(config, source=SourceSettings())
    for part in (__version__, repr(effective), repr(tuple(years)), repr(revised_since), repr(as_of)):
        digest.update(part.encode("utf-8") + b"\0")
    paths = [store.values_path(root, kpi) for kpi in store.stored_kpis(root)]
    paths += [store.table_path(root, name) for name in DATASET_TABLES]
    for path in paths:
        digest.update(f"{path.relative_to(root)}={_file_hash(path)}\0".encode("utf-8"))
    return digest.hexdigest()


def read_record(root: Path) -> Record:
    """The previous compare's record; an empty one (matching nothing) when absent, corrupt or of another version."""
    try:
        data = json.loads((Path(root) / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):  # a tampered record may be anything
        return Record("", {})
    if isinstance(data, list):  # format 1: only which files to remove when their indicator goes
        return Record("", {str(p): "" for p in data if isinstance(p, str)})
    if not isinstance(data, dict):
        return Record("", {})
    files = data.get("files")
    files = {str(k): str(v) for k, v in files.items()} if isinstance(files, dict) else {}
    notes = data.get("notes")
    if data.get("format") != FORMAT or data.get("version") != __version__ or not isinstance(notes, list):
        return Record("", files)  # still says which files to remove; matches no inputs
    return Record(str(data.get("inputs") or ""), files, tuple(map(str, notes)))


def damaged(root: Path, record: Record) -> list[str]:
    """The recorded files that are missing or no longer hold the bytes written (edited by hand, torn)."""
    return [relpath for relpath, sha in record.files.items() if _file_hash(Path(root) / relpath) != sha]


def unchanged(root: Path, record: Record, key: str) -> bool:
    """Whether the previous compare's files stand as they are: same inputs, every file on disk as written."""
    return bool(record.inputs) and record.inputs == key and bool(record.files) and not damaged(root, record)


def to_write(root: Path, record: Record, key: str, staged: Mapping[str, Path], force: bool = False) -> set[str]:
    """Which staged files replace what is on disk.

    Same inputs: only the files missing or edited since (the others stay as written, even where a
    rerun today would differ, e.g. in the date a report says it was compiled). Other inputs: every
    file whose bytes differ from what is on disk. `force`: all.
    """
    if force:
        return set(staged)
    if record.inputs and record.inputs == key:
        spoilt = set(damaged(root, record))
        return {r for r in staged if r in spoilt or r not in record.files}
    return {r for r, tmp in staged.items() if _file_hash(tmp) != _file_hash(Path(root) / r)}


def write_record(root: Path, key: str, relpaths: Iterable[str], notes: Iterable[str]) -> list[str]:
    """Record what compare left on disk, and remove what the previous compare wrote and this one did not
    (files of indicators dropped from the config). Returns the removed files."""
    root = Path(root)
    before = read_record(root).files
    now = sorted(set(relpaths))
    stale = remove_inside(root, set(before) - set(now))  # a tampered record may name ../../anything
    data = {"format": FORMAT, "version": __version__, "inputs": key,
            "files": {r: _file_hash(root / r) or "" for r in now}, "notes": list(notes)}
    store.write_atomically(root / RECORD, json.dumps(data, indent=1, ensure_ascii=False).encode("utf-8"))
    return stale
