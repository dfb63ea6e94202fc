"""Standard streams that cannot fail a run: a closed stderr, or one that cannot take Unicode.

Under `2>&-` Python sets sys.stderr to None (every command then failed on `None.isatty()`), and under
`PYTHONIOENCODING=ascii` or the C locale printing "Eskilstuna – Södermanland" raised
UnicodeEncodeError. Output is for people and logs, so a character the stream cannot take is written as
an escape instead, and a closed stream writes to /dev/null.
"""
from __future__ import annotations

import io
import os
import sys


def robust_stdio() -> None:
    """Make sys.stdout and sys.stderr safe to print and log to, whatever the caller gave us."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is None:
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115 - lives as long as the process
        elif isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")
