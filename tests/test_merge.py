"""merge_values: the rules that keep stored series trustworthy, checked row by row."""
from __future__ import annotations

import math

import pandas as pd

from harvester import schema
from harvester.merge import conflicting, merge_values
from harvester.schema import to_arrow

T0 = pd.Timestamp("2026-01-01T03:00:00", tz="UTC")
T1 = pd.Timestamp("2026-02-01T03:00:00", tz="UTC")


def stored(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["municipality_id", "period", "gender", "value"])
    frame.insert(0, "kpi", "N1")
    frame["count"] = frame["value"].notna().astype("int32")
    frame["status"] = ""
    frame["fetched_at"] = T0
    frame["source"] = "kolada"
    return to_arrow(frame, schema.VALUES).to_pandas()


def incoming(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["municipality_id", "period", "gender", "value", "isdeleted"])
    frame.insert(0, "kpi", "N1")
    frame["count"] = frame["value"].notna().astype("int32")
    frame["status"] = ""
    frame["source"] = "kolada"
    return frame


def test_unchanged_rows_keep_fetched_at_and_nothing_is_touched() -> None:
    old = stored([("0484", 2022, "T", 1837.12), ("0484", 2021, "T", None)])
    result = merge_values(old, incoming([("0484", 2022, "T", 1837.12, False), ("0484", 2021, "T", None, False)]), T1, "r")
    assert not result.touched
    assert (result.values["fetched_at"] == T0).all()
    assert result.revisions.empty


def test_changed_value_is_revised_and_restamped() -> None:
    old = stored([("0484", 2022, "T", 1731.0), ("0180", 2022, "T", 900.0)])
    result = merge_values(old, incoming([("0484", 2022, "T", 1837.12, False)]), T1, "run-2")
    assert (result.added, result.changed, result.removed) == (0, 1, 0)
    row = result.values[result.values["municipality_id"] == "0484"].iloc[0]
    assert row["value"] == 1837.12 and row["fetched_at"] == T1
    kept = result.values[result.values["municipality_id"] == "0180"].iloc[0]
    assert kept["value"] == 900.0 and kept["fetched_at"] == T0  # absent from the answer: kept
    rev = result.revisions.iloc[0]
    assert (rev["old_value"], rev["new_value"], rev["change"], rev["run_id"]) == (1731.0, 1837.12, "changed", "run-2")
    assert rev["detected_at"] == T1


def test_added_rows_and_null_becoming_a_value() -> None:
    old = stored([("0484", 2022, "T", None)])
    result = merge_values(old, incoming([("0484", 2022, "T", 5.0, False), ("0484", 2023, "T", 6.0, False)]), T1, "r")
    assert (result.added, result.changed, result.removed) == (1, 1, 0)
    assert math.isnan(result.revisions.iloc[0]["old_value"]) and result.revisions.iloc[0]["new_value"] == 5.0
    assert list(result.values["period"]) == [2022, 2023]


def test_isdeleted_removes_and_records() -> None:
    old = stored([("0484", 2022, "T", 10.0), ("0484", 2022, "K", 11.0)])
    result = merge_values(old, incoming([("0484", 2022, "K", None, True), ("0999", 2022, "T", None, True)]), T1, "r")
    assert (result.added, result.changed, result.removed) == (0, 0, 1)
    assert list(result.values["gender"]) == ["T"]
    rev = result.revisions.iloc[0]
    assert rev["change"] == "removed" and rev["old_value"] == 11.0 and math.isnan(rev["new_value"])


def test_empty_answer_changes_nothing() -> None:
    old = stored([("0484", 2022, "T", 10.0)])
    result = merge_values(old, incoming([]), T1, "r")
    assert not result.touched and len(result.values) == 1


def test_genders_are_separate_keys_and_output_is_sorted() -> None:
    result = merge_values(stored([]), incoming([("1981", 2022, "T", 3.0, False), ("0484", 2022, "M", 2.0, False),
                                                ("0484", 2022, "K", 1.0, False)]), T1, "r")
    assert list(zip(result.values["municipality_id"], result.values["gender"])) == [("0484", "K"), ("0484", "M"), ("1981", "T")]
    assert to_arrow(result.values, schema.VALUES).schema.equals(schema.VALUES)
    assert (result.added, result.changed, result.removed) == (3, 0, 0) and (result.values["fetched_at"] == T1).all()


def test_first_harvest_ignores_tombstones_of_values_never_stored() -> None:
    result = merge_values(stored([]), incoming([("0484", 2022, "T", 1.0, False), ("0484", 2021, "T", None, True)]), T1, "r")
    assert list(result.values["period"]) == [2022] and result.added == 1 and result.revisions.empty


def test_rows_that_share_a_key_but_not_a_value_are_conflicting_and_identical_repeats_are_not() -> None:
    rows = pd.DataFrame({"kpi": ["N1"] * 4, "municipality_id": ["0484", "0484", "0180", "0180"],
                         "period": [2020] * 4, "gender": ["T"] * 4, "value": [1.0, 2.0, 5.0, 5.0]})
    clash = conflicting(rows)
    assert list(clash["municipality_id"]) == ["0484", "0484"] and list(clash["value"]) == [1.0, 2.0]
    assert conflicting(rows.iloc[2:]).empty
