"""What counts as JSON from a source: the standard's syntax, and only values we can store.

`json.loads` alone accepts too much: `1e999` becomes inf without ever calling `parse_constant`,
a 400-digit integer overflows the first `float()` downstream, a repeated key silently keeps the
last value (261 values once became 0 that way), `\\ud800` decodes to a lone surrogate that no
Parquet or Word file can hold, and 100 000 nested brackets raise RecursionError. Each of those is
refused here as a ValueError, so the transport treats it like a truncated body: retried, never
cached, never stored.
"""
from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_INT = 2**63  # beyond int64 no column of ours can hold it
# A \uD800–\uDBFF escape not followed by a low one, or a \uDC00–\uDFFF escape not preceded by a high one.
_LONE_SURROGATE = re.compile(rb"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
                             rb"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}")


def _constant(name: str) -> float:
    raise ValueError(f"the non-JSON literal {name}")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:40]} is too large to be finite")
    return value


def _int(text: str) -> int:
    if len(text) > 20 or abs(value := int(text)) >= MAX_INT:
        raise ValueError(f"the integer {text[:40]}{'…' if len(text) > 40 else ''} is out of range")
    return value


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        repeated = next(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
        raise ValueError(f"the key {repeated!r} appears twice in one object")
    return result


def strict_json(content: bytes | str) -> Any:
    """Parse JSON as the standard defines it, refusing what we could not store (see the module docstring)."""
    raw = content.encode("utf-8", "surrogatepass") if isinstance(content, str) else content
    if b"\\u" in raw and (lone := _LONE_SURROGATE.search(raw)):
        raise ValueError(f"a lone surrogate {lone.group().decode()} (not a character)")
    try:
        return json.loads(content, parse_constant=_constant, parse_float=_float, parse_int=_int,
                          object_pairs_hook=_object)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
