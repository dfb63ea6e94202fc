"""What compare may remove from an output folder, and only that.

Compare removes what the previous compare wrote and this one did not (the record in
`reuse.RECORD`), and the temporary files a killed compare left behind. Both lists come from the
disk, so both are treated as claims: a tampered record once listed `../../victim.txt` and compare
deleted a file outside the output folder. Here a path is removed only when it is a plain relative
path that stays inside the folder; and a temporary file only when it has our temporary-name shape
and its writer's process is gone (30 killed compares once left 64 of them that nobody removed).
"""
from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

log = logging.getLogger(__name__)

_TEMPORARY = re.compile(r"^\..+\.(\d{1,10})\.tmp$")


def temporary_name(target: Path) -> Path:
    """The name an output is written under before it is moved into place: `.<name>.<pid>.tmp` beside it."""
    return target.with_name(f".{target.name}.{os.getpid()}.tmp")


def inside(root: Path, relpath: object) -> Path | None:
    """`root / relpath` when `relpath` is a relative path that stays inside `root`, else None."""
    if not isinstance(relpath, str) or not relpath or "\x00" in relpath or "\\" in relpath:
        return None
    parts = PurePosixPath(relpath)
    if parts.is_absolute() or ".." in parts.parts:
        return None
    path = root / relpath
    try:
        resolved_root = root.resolve()
        path.parent.resolve().relative_to(resolved_root)  # a symlinked folder may not lead out either
    except (OSError, ValueError):
        return None
    return path


def remove_inside(root: Path, relpaths: Iterable[str]) -> list[str]:
    """Remove each of `relpaths` that lies inside `root`; refuse (with a WARNING) any that does not."""
    removed = []
    for relpath in sorted(relpaths):
        path = inside(root, relpath)
        if path is None:
            log.warning("not removing %r listed in the output folder's record: it is not a path inside %s",
                        relpath[:200], root)
            continue
        if path.is_file() or path.is_symlink():
            path.unlink(missing_ok=True)
        removed.append(relpath)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):  # gone, or a number no process can have
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def sweep_temporaries(root: Path, folders: Iterable[Path]) -> list[Path]:
    """Remove our temporary files in `folders` (inside `root`) whose writing process is no longer running."""
    swept = []
    for folder in {root, *folders}:
        try:
            entries = list(folder.iterdir())
        except OSError:
            continue
        for path in entries:
            match = _TEMPORARY.match(path.name)
            if match and int(match.group(1)) != os.getpid() and not _alive(int(match.group(1))) and path.is_file():
                path.unlink(missing_ok=True)
                swept.append(path)
    if swept:
        log.info("removed %d temporary file(s) left by an interrupted compare", len(swept))
    return swept
