"""Reading a config file safely: a path that is not a small regular file is refused before it is read.

`--config /dev/zero` once read without end and a FIFO waited for a writer for ever; a config is a few
kilobytes of TOML, so anything above MAX_CONFIG_BYTES is a mistake, not a plan.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

MAX_CONFIG_BYTES = 1_000_000


def read_config_text(path: Path) -> str:
    """The file's text (a BOM from Windows Notepad dropped); OSError, UnicodeDecodeError or ValueError (with
    what is allowed) otherwise. Opened without blocking, so a FIFO cannot hold the run."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ValueError("not a regular file (a config is a .toml file, not a device, folder or pipe)")
        if info.st_size > MAX_CONFIG_BYTES:
            raise ValueError(f"{info.st_size} bytes; a config may hold at most {MAX_CONFIG_BYTES // 1_000_000} MB")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            raw = fh.read(MAX_CONFIG_BYTES + 1)
    finally:
        os.close(fd)
    if len(raw) > MAX_CONFIG_BYTES:
        raise ValueError(f"more than {MAX_CONFIG_BYTES // 1_000_000} MB; a config is a few kilobytes of TOML")
    return raw.decode("utf-8-sig")
