"""Counts in log lines and messages: "1 batch", "2 batches" (a log that says "1 batches" looks broken)."""
from __future__ import annotations

PLURALS = {"batch": "batches", "series": "series", "was": "were"}


def counted(n: int, noun: str) -> str:
    """`n` and the noun in the form its number needs; English nouns, as the logs are English."""
    return f"{n} {noun if n == 1 else PLURALS.get(noun, noun + 's')}"
