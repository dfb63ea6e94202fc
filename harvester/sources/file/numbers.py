"""Numbers as plan authors type them: "1 234,5" (Swedish), "1234.5", "−3", or a number Excel stored.

A figure that cannot be read exactly is refused rather than guessed: "1.234,5" (a thousands point
and a decimal comma) and "1,234.5" mix conventions; "12 34" is no thousands grouping. Empty cells
and the statistics offices' "..", "-" and "–" mean "no value".
"""
from __future__ import annotations

import math
import re

NO_VALUE = frozenset({"", "..", ".", "-", "–", "—", "x"})
_SPACES = re.compile(r"[ \u00a0\u202f\u2009]")
_PLAIN = re.compile(r"^[+-]?(\d+([.,]\d+)?|[.,]\d+)$")
_GROUPED = re.compile(r"^[+-]?\d{1,3}([ \u00a0\u202f\u2009]\d{3})+([.,]\d+)?$")


class NotANumber(ValueError):
    """The text is not a number we can read; the message says what was expected."""


def parse_number(cell: object) -> float | None:
    """The value of a cell; None for no value. Raises NotANumber for anything else."""
    if cell is None:
        return None
    if isinstance(cell, bool):
        raise NotANumber(f"{cell!r} is not a number")
    if isinstance(cell, (int, float)):
        if isinstance(cell, float) and math.isnan(cell):
            return None
        if not math.isfinite(cell):
            raise NotANumber(f"{cell!r} is not a finite number")
        return float(cell)
    text = str(cell).strip().replace("\u2212", "-")
    if text.casefold() in NO_VALUE:
        return None
    if not (_PLAIN.match(text) or _GROUPED.match(text)):
        raise NotANumber(f"{str(cell).strip()!r} is not a number (write it as 1 234,5 or 1234.5; "
                         f"leave the cell empty for no value)")
    return float(_SPACES.sub("", text).replace(",", "."))
