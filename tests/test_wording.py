"""Counts in messages read as English: "1 batch", "2 batches"."""
from harvester.wording import counted


def test_counted_uses_the_singular_for_one_only() -> None:
    assert counted(1, "batch") == "1 batch" and counted(2, "batch") == "2 batches"
    assert counted(1, "request") == "1 request" and counted(0, "request") == "0 requests"
    assert counted(3, "series") == "3 series"
