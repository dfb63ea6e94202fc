"""Arrow schemas of the dataset (docs/schema.md is the prose version of this file).

One place defines the column types so the writer, the readers and the tests cannot drift apart.
"""
from __future__ import annotations

import pandas as pd
import pyarrow as pa

SCHEMA_VERSION = 5  # 2: `source` in values (Kolada and SCB side by side); 3: the `series` table; 4: own files in it;
# 5: `distance` and `recipe` in groups (computed similar sets)
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
    ("source", pa.string()),
])

# Rows as a source delivers them, before the merge: the stored columns without our own
# `fetched_at`, plus the source's deletion flag.
ROWS = pa.schema([f for f in VALUES if f.name != "fetched_at"] + [pa.field("isdeleted", pa.bool_())])

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
    ("distance", pa.float64()),  # computed sets only (docs/similar.md): the member's distance to the home
    ("recipe", pa.string()),  # computed sets only: the recipe as JSON; null for Kolada's groups
])

# What each non-Kolada series id stands for, SCB's and own files' (Kolada's KPIs are described in `kpis`).
SERIES = pa.schema([
    ("kpi", pa.string()),
    ("source", pa.string()),
    ("title", pa.string()),
    ("table_id", pa.string()),
    ("selection", pa.string()),  # JSON: {"ContentsCode": …, variable: code, …} in the table's spelling
    ("month", pa.int32()),
    ("unit", pa.string()),
    ("decimals", pa.int32()),
    ("table_updated", pa.string()),  # the table's own `updated` stamp when last read
    ("first_period", pa.string()),
    ("last_period", pa.string()),
    ("sha256", pa.string()),  # own figures: the file's content when last read, and its modification time
    ("modified_at", UTC_TS),
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
    "series": SERIES,
    "revisions": REVISIONS,
    "runs": RUNS,
}


def to_arrow(frame: pd.DataFrame, target: pa.Schema) -> pa.Table:
    """A DataFrame as a table of exactly the documented schema (no pandas index or metadata)."""
    table = pa.Table.from_pandas(frame[target.names], schema=target, preserve_index=False)
    return table.replace_schema_metadata(None)
