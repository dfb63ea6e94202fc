"""Arrow schemas of the dataset (docs/schema.md is the prose version of this file).

One place defines the column types so the writer, the readers and the tests cannot drift apart.
"""
from __future__ import annotations

import pyarrow as pa

SCHEMA_VERSION = 1
UTC_TS = pa.timestamp("us", tz="UTC")
KEY = ["kpi", "municipality_id", "period", "gender"]

VALUES = pa.schema([
    ("kpi", pa.string()),
    ("municipality_id", pa.string()),
    ("period", pa.int32()),
    ("gender", pa.string()),
    ("value", pa.float64()),
    ("count", pa.int32()),
    ("status", pa.string()),
    ("fetched_at", UTC_TS),
])

KPIS = pa.schema([
    ("id", pa.string()),
    ("title", pa.string()),
    ("description", pa.string()),
    ("is_divided_by_gender", pa.bool_()),
    ("municipality_type", pa.string()),
    ("auspice", pa.string()),
    ("operating_area", pa.string()),
    ("perspective", pa.string()),
    ("prel_publication_date", pa.date32()),
    ("publication_date", pa.date32()),
    ("publ_period", pa.string()),
    ("has_ou_data", pa.bool_()),
])

MUNICIPALITIES = pa.schema([
    ("id", pa.string()),
    ("title", pa.string()),
    ("type", pa.string()),
])

GROUPS = pa.schema([
    ("group_id", pa.string()),
    ("title", pa.string()),
    ("member_id", pa.string()),
    ("member_title", pa.string()),
    ("read_at", UTC_TS),
])

REVISIONS = pa.schema([
    ("kpi", pa.string()),
    ("municipality_id", pa.string()),
    ("period", pa.int32()),
    ("gender", pa.string()),
    ("old_value", pa.float64()),
    ("new_value", pa.float64()),
    ("change", pa.string()),
    ("detected_at", UTC_TS),
    ("run_id", pa.string()),
])

RUNS = pa.schema([
    ("run_id", pa.string()),
    ("command", pa.string()),
    ("started_at", UTC_TS),
    ("finished_at", UTC_TS),
    ("api_url", pa.string()),
    ("config", pa.string()),
    ("requests", pa.int64()),
    ("cached", pa.int64()),
    ("rows_added", pa.int64()),
    ("rows_changed", pa.int64()),
    ("rows_removed", pa.int64()),
    ("outcome", pa.string()),
    ("message", pa.string()),
    ("harvester_version", pa.string()),
    ("schema_version", pa.int32()),
])

TABLES: dict[str, pa.Schema] = {
    "kpis": KPIS,
    "municipalities": MUNICIPALITIES,
    "groups": GROUPS,
    "revisions": REVISIONS,
    "runs": RUNS,
}
