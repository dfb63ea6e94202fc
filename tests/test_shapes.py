"""The real recorded bodies in ../shared/kolada parse through our client's code, and the fake serves
bodies of exactly that shape; the stored dataset opens in the readers analysts use."""
from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pytest
import requests

from harvester import schema, store
from harvester.resolve import groups_table
from harvester.sources.kolada.catalogue import kpis_table, municipalities_table
from harvester.sources.kolada.client import check_envelope
from harvester.sources.kolada.items import rows_from_items
from tests.conftest import REPO

CATALOGUES = {"kpi": "kpi.json", "municipality": "municipality.json", "municipality_groups": "municipality_groups.json"}


def recorded(shared: Path, name: str) -> list[dict]:
    return json.loads((shared / "catalog" / CATALOGUES[name]).read_text(encoding="utf-8"))


def readme_examples(shared: Path) -> list[dict]:
    """The JSON objects quoted in the API contract (envelope, KPI, group, data item)."""
    text = (shared / "README.md").read_text(encoding="utf-8")
    found = []
    for block in re.findall(r"```json\n(.*?)\n```", text, flags=re.S):
        try:
            found.append(json.loads(block))
        except ValueError:
            continue  # examples abbreviated with "…"
    return found


def test_recorded_catalogues_parse_into_the_documented_tables(shared_kolada) -> None:
    kpis = recorded(shared_kolada, "kpi")
    values, next_url = check_envelope({"values": kpis, "count": len(kpis), "next_url": None}, "recorded")
    assert len(values) == 6099 and next_url is None
    table = kpis_table(schema.KPIS.empty_table().to_pandas(), {k["id"]: k for k in kpis})
    assert table.schema.equals(schema.KPIS) and table.num_rows == 6099
    n35001 = table.filter(pa.compute.equal(table["id"], "N35001")).to_pylist()[0]
    assert n35001["title"] == "Kostnad missbruksvård vuxna, kr/inv" and n35001["publ_period"]

    municipalities = municipalities_table(recorded(shared_kolada, "municipality"))
    assert municipalities.num_rows == 312 and municipalities.schema.equals(schema.MUNICIPALITIES)
    groups = recorded(shared_kolada, "municipality_groups")
    g = [x for x in groups if x["id"] == "G36628"]
    stored = groups_table(schema.GROUPS.empty_table().to_pandas(), g, pd.Timestamp("2026-03-15", tz="UTC"))
    assert stored.num_rows == 7 and set(stored["title"].to_pylist()) == {"Liknande kommuner IFO, Sala, 2024"}


def test_readme_examples_parse(shared_kolada) -> None:
    examples = readme_examples(shared_kolada)
    items = [e for e in examples if isinstance(e, dict) and {"kpi", "period", "municipality"} <= set(e)]
    assert items, "the README's data item example was not found"
    rows = rows_from_items(items, "readme").to_pylist()
    assert rows[0] == {"kpi": "N35001", "municipality_id": "1981", "period": 2022, "gender": "T",
                       "value": 793.481572, "count": 1, "status": "", "source": "kolada", "isdeleted": False}


def test_fake_serves_the_recorded_shapes(real_fake, shared_kolada) -> None:
    for name, ident in (("kpi", "N35001"), ("municipality", "1981"), ("municipality_groups", "G36628")):
        body = requests.get(f"{real_fake.base_url}/{name}/{ident}", timeout=10).json()
        assert list(body) == ["values", "count", "next_url", "previous_url"]
        [served] = body["values"]
        [original] = [o for o in recorded(shared_kolada, name) if o["id"] == ident]
        assert served == original and list(served) == list(original)  # same keys, same order
    data = requests.get(f"{real_fake.base_url}/data/kpi/N35001/municipality/1981/year/2022", timeout=10).json()
    assert list(data["values"][0]) == ["values", "kpi", "period", "municipality"]
    assert list(data["values"][0]["values"][0]) == ["gender", "count", "status", "value", "isdeleted"]


def test_dataset_opens_in_pandas_and_duckdb(real_fake, harvester, tmp_path) -> None:
    out = tmp_path / "out"
    assert harvester("fetch", "--config", str(REPO / "config" / "kpis.toml"), "--api-url", real_fake.base_url,
                     "--output", str(out)).code == 0
    frame = pd.read_parquet(out / "values")
    assert list(frame.columns) == schema.VALUES.names and len(frame) == len(store.read_values(out))
    con = duckdb.connect()
    glob = str(out / "values" / "**" / "*.parquet")
    value = con.execute(f"SELECT value FROM read_parquet('{glob}') WHERE kpi = 'N35001' AND municipality_id = '0484' "
                        "AND period = 2022 AND gender = 'T'").fetchone()[0]
    assert round(value, 2) == 1837.12
    columns = [row[0] for row in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{glob}')").fetchall()]
    assert columns == schema.VALUES.names
    for name in ("kpis", "municipalities", "groups", "runs"):
        assert len(pd.read_parquet(out / f"{name}.parquet")) > 0


@pytest.mark.parametrize("bad", [
    {"count": 0},                                      # no values list
    {"values": [], "count": 0, "next_url": 17},        # next_url of the wrong type
])
def test_bodies_that_are_not_the_envelope_are_refused(bad) -> None:
    from harvester.errors import BadResponse

    with pytest.raises(BadResponse):
        check_envelope(bad, "http://127.0.0.1/x")
