"""Documents as of a date: the values the dataset held then, rebuilt from `revisions` (`store.values_as_of`)."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from harvester import schema, store
from harvester.exitcodes import ExitCode
from harvester.report import ReportError, write_report

from .conftest import write_config
from .test_report import build_dataset, config

TODAY = dt.date(2026, 12, 1)


def _dataset(root: Path) -> None:
    """test_report's dataset (every value fetched 2026-11-22, when N35001 Sala 2022 went 731 → 793.48), with
    a first harvest on 2026-11-01."""
    build_dataset(root)
    started = dt.datetime(2026, 11, 1, 3, tzinfo=dt.timezone.utc)
    run = {name: None for name in schema.RUNS.names}
    run.update(run_id="20261101T030000Z-1", command="run", started_at=started, finished_at=started,
               outcome="success")
    pq.write_table(pa.Table.from_pylist([run], schema=schema.RUNS), root / "runs.parquet")


def test_a_revised_value_shows_its_earlier_figure_and_later_values_are_absent(tmp_path):
    _dataset(tmp_path)
    before = store.values_as_of(tmp_path, dt.date(2026, 11, 21), today=TODAY)
    assert before[["kpi", "municipality_id", "period", "gender", "value"]].values.tolist() == [
        ["N35001", "1981", 2022, "T", 731.0]]
    assert before["fetched_at"].isna().all()  # set before any recorded revision: when is not known
    assert list(before.columns) == schema.VALUES.names
    on_the_day = store.values_as_of(tmp_path, dt.date(2026, 11, 22), today=TODAY)
    pd.testing.assert_frame_equal(on_the_day.reset_index(drop=True),
                                  store.read_values(tmp_path).sort_values(["kpi", "municipality_id", "period", "gender"])
                                  .reset_index(drop=True))


def test_a_removed_value_comes_back_as_it_was(tmp_path):
    _dataset(tmp_path)
    path = tmp_path / "values/N33817.parquet"
    rows = [r for r in pq.read_table(path).to_pylist() if not (r["municipality_id"] == "0686" and r["gender"] == "K")]
    pq.write_table(pa.Table.from_pylist(rows, schema=schema.VALUES), path)
    revisions = pq.read_table(tmp_path / "revisions.parquet").to_pylist()
    revisions.append({"kpi": "N33817", "municipality_id": "0686", "period": 2022, "gender": "K", "old_value": 9.0,
                      "new_value": None, "change": "removed",
                      "detected_at": dt.datetime(2026, 11, 25, tzinfo=dt.timezone.utc), "run_id": "r2"})
    pq.write_table(pa.Table.from_pylist(revisions, schema=schema.REVISIONS), tmp_path / "revisions.parquet")
    back = store.values_as_of(tmp_path, dt.date(2026, 11, 23), ["N33817"], today=TODAY)
    row = back[(back["municipality_id"] == "0686") & (back["gender"] == "K")]
    assert row[["value", "count", "source"]].values.tolist() == [[9.0, 1, "kolada"]]
    assert len(back) == len(rows) + 1


@pytest.mark.parametrize("day, words", [(dt.date(2026, 12, 2), "in the future (today is 2026-12-01)"),
                                        (dt.date(2026, 10, 31), "the first it can reproduce is 2026-11-01")])
def test_a_date_the_dataset_cannot_answer_is_refused(tmp_path, day, words):
    _dataset(tmp_path)
    with pytest.raises(store.AsOfError, match=re.escape(words)):
        store.values_as_of(tmp_path, day, today=TODAY)
    with pytest.raises(ReportError, match=re.escape(words)):
        write_report(config(), tmp_path, today=TODAY, as_of=day)
    assert not (tmp_path / "report.docx").exists()


def test_the_documents_as_of_a_date_show_that_days_figure_and_say_so(tmp_path):
    _dataset(tmp_path)
    write_report(config(indicators=1), tmp_path, today=TODAY, as_of=dt.date(2026, 11, 21))
    md = (tmp_path / "tables/missbruk.md").read_text(encoding="utf-8")
    assert "| 2022 | 731 |" in md  # the figure of that day, not today's 793,48
    assert "tidigare 731, nu 793,48" in md  # and the footnote says it was revised since
    assert "Värden enligt datasetet den 2026-11-21." in md
    assert "Värden enligt datasetet den 2026-11-21." in (tmp_path / "tables/overview.md").read_text(encoding="utf-8")
    assert "Värden enligt datasetet den 2026-11-21." in (tmp_path / "report.html").read_text(encoding="utf-8")
    write_report(config(indicators=1), tmp_path, today=TODAY)
    md = (tmp_path / "tables/missbruk.md").read_text(encoding="utf-8")
    assert "Värden enligt datasetet" not in md and "793" in md


def test_as_of_on_the_command_line(small_fake, harvester, tmp_path):
    cfg = write_config(tmp_path / "kpis.toml", kpis=("N35001",))
    out = tmp_path / "out"
    assert harvester("run", "--config", str(cfg), "--api-url", small_fake.base_url, "--output", str(out)).code == 0
    small_fake.data.set_value("N35001", "0484", 2022, "T", 4321.0)
    assert harvester("fetch", "--config", str(cfg), "--api-url", small_fake.base_url, "--output", str(out)).code == 0
    today = dt.datetime.now(dt.timezone.utc).date()
    done = harvester("compare", "--config", str(cfg), "--output", str(out), "--as-of", today.isoformat())
    assert done.code == ExitCode.OK, done.err
    assert f"Värden enligt datasetet den {today:%Y-%m-%d}." in (out / "tables/n35001.md").read_text(encoding="utf-8")
    for day, words in ((today + dt.timedelta(days=1)).isoformat(), "in the future"), \
                      ("2001-01-01", f"the first it can reproduce is {today:%Y-%m-%d}"), \
                      ("2024-13-01", "is not a date like"):
        refused = harvester("compare", "--config", str(cfg), "--output", str(out), "--as-of", day)
        assert refused.code == ExitCode.CONFIG and words in refused.err, refused.err
        assert len(refused.err.strip().splitlines()) == 1 or "usage:" in refused.err
