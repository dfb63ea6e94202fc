"""The command line as a person meets it: bad input, searches, status, changes, compare, run."""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from harvester import store
from harvester.exitcodes import ExitCode
from harvester.status import publication_note
from tests.conftest import REPO, SMALL_GROUPS, SMALL_MUNICIPALITIES, small_values, snapshot, write_config
from tests.fake_kolada import FakeKolada, KoladaData


def fetch(harvester, fake, config: Path, out: Path, *extra: str):  # type: ignore[no-untyped-def]
    return harvester("fetch", "--config", str(config), "--api-url", fake.base_url, "--output", str(out), *extra)


# --- bad input: one clear line, non-zero exit, nothing written ---------------------------------------

@pytest.mark.parametrize("edit,expected", [
    ({"kpis": ("N35001", "N99999")}, "KPI N99999 is not in Kolada's catalogue (closest:"),
    ({"home": "Eskilstna"}, "no municipality is called 'Eskilstna' in Kolada; did you mean Eskilstuna (0484)?"),
    ({"groups": ("G1", "G999999")}, "G999999 is not a Kolada municipality group. Groups for Eskilstuna: G1 Liknande kommuner IFO, Eskilstuna, 2024"),
    ({"extra": ("Upsala",)}, "did you mean Uppsala (0380), Sala (1981)?"),
])
def test_names_kolada_does_not_know(small_fake, harvester, tmp_path, edit, expected) -> None:
    config = write_config(tmp_path / "kpis.toml", **edit)
    out = tmp_path / "out"
    result = fetch(harvester, small_fake, config, out)
    assert result.code == ExitCode.CONFIG
    assert expected in result.err
    assert result.err.count("harvester: error:") == 1 and f"{config}:" in result.err  # names the file and line
    assert not out.exists()  # nothing written, not even the folder


def test_wrong_kpi_suggests_by_the_indicator_label(small_fake, harvester, tmp_path) -> None:
    config = write_config(tmp_path / "kpis.toml", kpis=("N35009",))
    text = config.read_text().replace('label = "Indikator N35009"', 'label = "Kostnad missbruksvård vuxna, kr/inv"')
    config.write_text(text)
    result = fetch(harvester, small_fake, config, tmp_path / "out")
    assert result.code == ExitCode.CONFIG
    assert "closest: N35001 Kostnad missbruksvård vuxna, kr/inv" in result.err
    assert f"{config}:21:" in result.err


def test_bad_config_on_an_existing_dataset_changes_no_byte(small_fake, harvester, tmp_path) -> None:
    out = tmp_path / "out"
    assert fetch(harvester, small_fake, write_config(tmp_path / "good.toml"), out).code == ExitCode.OK
    before = snapshot(out)
    bad = write_config(tmp_path / "bad.toml", kpis=("N99999",))
    assert fetch(harvester, small_fake, bad, out).code == ExitCode.CONFIG
    assert snapshot(out) == before


@pytest.mark.parametrize("old,new,expected", [
    ("from = 2015", "from = 2022\nto = 2015", "from = 2022 is after to = 2015; swap them"),
    ('direction = "lower"', 'direction = "down"', "direction 'down' is not one of lower, higher, none"),
    ("[years]", "[years", "TOML syntax error"),
])
def test_broken_config_fails_before_any_request(small_fake, harvester, tmp_path, old, new, expected) -> None:
    config = write_config(tmp_path / "kpis.toml")
    config.write_text(config.read_text().replace(old, new, 1))
    result = fetch(harvester, small_fake, config, tmp_path / "out")
    assert result.code == ExitCode.CONFIG and expected in result.err
    assert f"{config}:" in result.err
    assert small_fake.log == [] and not (tmp_path / "out").exists()


def test_kpi_kolada_no_longer_publishes(harvester, tmp_path) -> None:
    out = tmp_path / "out"
    config = write_config(tmp_path / "kpis.toml", kpis=("N35001", "N33817"))
    from tests.conftest import SMALL_KPIS

    with FakeKolada(KoladaData.from_frames(SMALL_KPIS, SMALL_MUNICIPALITIES, SMALL_GROUPS, small_values())) as fake:
        assert fetch(harvester, fake, config, out).code == ExitCode.OK
    before = store.read_values(out, ["N35001"])
    retired = KoladaData.from_frames(SMALL_KPIS[1:], SMALL_MUNICIPALITIES, SMALL_GROUPS, small_values())
    with FakeKolada(retired) as fake:
        result = fetch(harvester, fake, config, out, "--no-cache")
    assert result.code == ExitCode.PARTIAL
    assert "N35001 is no longer published by Kolada; stored values kept" in result.err
    assert store.read_values(out, ["N35001"]).equals(before)


# --- searches -------------------------------------------------------------------------------------

def test_kpi_and_municipality_search_and_groups(real_fake, harvester) -> None:
    kpi = harvester("kpi", "search", "missbruksvård vuxna", "--api-url", real_fake.base_url)
    assert kpi.code == 0 and "N35001  Kostnad missbruksvård vuxna, kr/inv" in kpi.out
    town = harvester("municipality", "search", "Sala", "--api-url", real_fake.base_url)
    assert town.code == 0 and "1981  Sala  (kommun)" in town.out
    groups = harvester("groups", "Eskilstuna", "--api-url", real_fake.base_url)
    lines = groups.out.splitlines()
    assert groups.code == 0 and lines[0].startswith("G") and "Liknande kommuner" in lines[0]
    own = [line for line in lines if line.startswith("G36484  Liknande kommuner IFO, Eskilstuna, 2024")]
    assert own and lines.index(own[0]) < 30  # its own peer groups come first, though it is not their member
    assert any(line.startswith("G92790  Större stad") for line in lines)
    missing = harvester("kpi", "search", "zzzz nothing", "--api-url", real_fake.base_url)
    assert missing.code == ExitCode.CONFIG and "no KPI has the id or a title containing" in missing.err
    wrong = harvester("groups", "Eskilstna", "--api-url", real_fake.base_url)
    assert wrong.code == ExitCode.CONFIG and "did you mean Eskilstuna (0484)" in wrong.err


# --- status and changes ---------------------------------------------------------------------------

def test_publication_note_says_late_or_not_due() -> None:
    today = date(2026, 11, 22)
    assert publication_note(2022, "2025", date(2026, 3, 31), date(2026, 8, 28), today) == \
        "2025 published 2026-08-28; not in the dataset (newest stored 2022): run fetch"
    assert publication_note(2022, "2025", date(2026, 3, 31), date(2026, 8, 28), today, fetched=date(2026, 11, 1)) == \
        "2025 due 2026-08-28 by Kolada's calendar; no value for this municipality yet (newest 2022)"
    assert publication_note(2025, "2025", date(2026, 3, 31), date(2026, 8, 28), today) == "2025 published 2026-08-28"
    assert publication_note(2024, "2025", date(2026, 3, 31), date(2026, 12, 1), today) == \
        "2025 preliminary since 2026-03-31, final due 2026-12-01; not in the dataset (newest stored 2024): run fetch"
    assert publication_note(2025, "2026", None, date(2027, 2, 24), today) == "2026 due 2027-02-24; newest stored 2025"
    assert publication_note(None, None, None, None, today) == "no publication calendar in Kolada"


def test_status_and_changes(small_fake, harvester, tmp_path) -> None:
    out = tmp_path / "out"
    config = write_config(tmp_path / "kpis.toml", kpis=("N35001", "N33817"))
    assert harvester("status", "--output", str(out)).out.startswith(f"{out}: no harvest has run here yet")
    assert fetch(harvester, small_fake, config, out).code == ExitCode.OK
    small_fake.data.set_value("N35001", "0484", 2022, "T", 4242.0)
    assert fetch(harvester, small_fake, config, out).code == ExitCode.OK

    status = harvester("status", "--output", str(out), "--config", str(config))
    assert status.code == 0
    assert "last run" in status.out and ": success" in status.out
    assert "Parquet files" in status.out and "value rows" in status.out
    assert "N35001   2022" in status.out  # newest period for the home municipality
    assert "2025 due 2026-08-28 by Kolada's calendar; no value for this municipality yet (newest 2022)" \
        in status.out

    changes = harvester("changes", "--output", str(out))
    assert changes.code == 0
    assert "N35001 0484 Eskilstuna 2022 T: 1303 → 4242" in changes.out
    as_csv = harvester("changes", "--output", str(out), "--csv")
    assert as_csv.out.splitlines()[0].startswith("detected_at,kpi,municipality_id")
    later = harvester("changes", "--output", str(out), "--since", "2099-01-01")
    assert "no revisions recorded since 2099-01-01" in later.out
    bad_date = harvester("changes", "--output", str(out), "--since", "yesterday")
    assert bad_date.code == 2 and "is not a date like" in bad_date.err


# --- compare and run ------------------------------------------------------------------------------

def test_compare_needs_a_dataset_first(harvester, tmp_path) -> None:
    result = harvester("compare", "--config", str(write_config(tmp_path / "k.toml")), "--output", str(tmp_path / "none"))
    assert result.code == ExitCode.CONFIG and "run `harvester fetch" in result.err


def test_sala_benchmark_on_real_data(real_fake, shared_kolada, harvester, tmp_path) -> None:
    """Issue 3: Sala, N35001, group G36628, 2022: home 793.48, the members' median, the right rank."""
    config = write_config(tmp_path / "sala.toml", home="1981", groups=("G36628",), kpis=("N35001",))
    out = tmp_path / "out"
    result = harvester("run", "--config", str(config), "--api-url", real_fake.base_url, "--output", str(out))
    assert result.code == ExitCode.OK, result.err

    groups = json.loads((shared_kolada / "catalog" / "municipality_groups.json").read_text(encoding="utf-8"))
    members = [m["member_id"] for g in groups if g["id"] == "G36628" for m in g["members"]]
    source = pq.read_table(shared_kolada / "values.parquet", filters=[("kpi", "=", "N35001"), ("period", "=", 2022),
                                                                      ("gender", "=", "T")]).to_pandas()
    member_values = source[source.municipality.isin(members)]["value"].dropna()
    bench = pd.read_parquet(out / "benchmark.parquet")
    row = bench[(bench.kpi == "N35001") & (bench.period == 2022)].iloc[0]
    assert round(row.home_value, 2) == 793.48
    assert row.peer_median == pytest.approx(member_values.median())
    assert row.peer_n == len(member_values) == 7
    assert row["rank"] == 1 + int((member_values < 793.481572).sum()) and row.rank_of == 8
    assert round(row.riket, 2) == 828.33
    for name in ("tables/n35001.md", "tables/n35001.html", "tables/benchmark.xlsx", "charts/n35001.png",
                 "benchmark.csv", "peers.parquet"):
        assert (out / name).stat().st_size > 0, name
    assert "793" in (out / "tables" / "n35001.md").read_text(encoding="utf-8")


def test_shipped_config_end_to_end_is_quiet_under_cron(real_fake, harvester, tmp_path) -> None:
    out = tmp_path / "out"
    args = ("run", "--config", str(REPO / "config" / "kpis.toml"), "--api-url", real_fake.base_url,
            "--output", str(out), "--quiet")
    first = harvester(*args)
    assert first.code == ExitCode.OK
    assert first.err == ""  # every shipped indicator has values for Eskilstuna: nothing for cron mail
    second = harvester(*args)
    assert second.code == ExitCode.UNCHANGED and second.err == "" and second.out == ""
    assert (out / "tables" / "missbruk-kostnad.html").exists() and (out / "charts" / "missbruk-kostnad.png").exists()


def test_group_membership_change_adds_a_vintage_and_fetches_the_new_peer(harvester, tmp_path) -> None:
    from tests.conftest import SMALL_KPIS

    out = tmp_path / "out"
    config = write_config(tmp_path / "kpis.toml", kpis=("N35001",))
    with FakeKolada(KoladaData.from_frames(SMALL_KPIS, SMALL_MUNICIPALITIES, SMALL_GROUPS, small_values())) as fake:
        assert fetch(harvester, fake, config, out).code == ExitCode.OK
    assert "2081" not in set(store.read_values(out)["municipality_id"])
    new_members = [*SMALL_GROUPS[0]["members"][1:], {"member_id": "2081", "member_title": "Borlänge"}]
    renewed = [{**SMALL_GROUPS[0], "title": "Liknande kommuner IFO, Eskilstuna, 2025", "members": new_members}]
    with FakeKolada(KoladaData.from_frames(SMALL_KPIS, SMALL_MUNICIPALITIES, renewed, small_values())) as fake:
        assert fetch(harvester, fake, config, out, "--no-cache").code == ExitCode.OK
        data_queries = [r.query for r in fake.log if r.path.startswith("/v3/data/")]
    assert data_queries and all("from_date" not in q for q in data_queries)  # more areas: full fetch
    groups = store.read_table(out, "groups")
    assert groups["read_at"].nunique() == 2
    latest = groups[groups["read_at"] == groups["read_at"].max()]
    assert set(latest["member_id"]) == {"0380", "1981", "2081"}
    assert set(latest["title"]) == {"Liknande kommuner IFO, Eskilstuna, 2025"}
    assert "2081" in set(store.read_values(out)["municipality_id"])
    assert harvester("compare", "--config", str(config), "--output", str(out)).code == ExitCode.OK
    peers = pd.read_parquet(out / "peers.parquet")
    assert set(peers.loc[peers["role"] == "peer", "municipality_id"]) == {"0380", "1981", "2081"}  # latest vintage


def test_revised_value_is_footnoted_in_the_tables(small_fake, harvester, tmp_path) -> None:
    out = tmp_path / "out"
    config = write_config(tmp_path / "kpis.toml", kpis=("N35001",))
    config.write_text(config.read_text().replace("[years]", "[report]\nrevised_since = 2024-01-01\n\n[years]"))
    assert fetch(harvester, small_fake, config, out).code == ExitCode.OK
    small_fake.data.set_value("N35001", "0484", 2022, "T", 4242.0)
    assert harvester("run", "--config", str(config), "--api-url", small_fake.base_url, "--output", str(out)).code == 0
    table = (out / "tables" / "n35001.md").read_text(encoding="utf-8")
    assert "Värdet för Eskilstuna 2022 har reviderats av Kolada (tidigare 1\u00a0303, nu 4\u00a0242" in table
    later = harvester("compare", "--config", str(config), "--output", str(out), "--revised-since", "2099-01-01")
    assert later.code == 0 and "reviderats" not in (out / "tables" / "n35001.md").read_text(encoding="utf-8")


def test_each_config_gets_its_own_output_folder(small_fake, harvester, tmp_path, monkeypatch) -> None:
    """Issue 7: two configs run without --output never mix their tables."""
    monkeypatch.chdir(tmp_path)
    first = write_config(tmp_path / "vp2024.toml", kpis=("N35001",))
    second = write_config(tmp_path / "namndplan.toml", kpis=("N33817",))
    for config in (first, second):
        assert harvester("run", "--config", str(config), "--api-url", small_fake.base_url).code == ExitCode.OK
    assert (tmp_path / "output/vp2024/tables/n35001.md").exists()
    assert (tmp_path / "output/namndplan/tables/n33817.md").exists()
    assert not (tmp_path / "output/vp2024/tables/n33817.md").exists()
    status = harvester("status", "--config", str(first))
    assert status.code == 0 and "N35001" in status.out


def test_documents_that_cannot_be_written_keep_the_previous_ones(small_fake, harvester, tmp_path) -> None:
    """Issue 7: exit 7 and the old report stays whole when the disk is full during compare."""
    import resource
    import signal

    from tests.conftest import run_cli_subprocess

    config = write_config(tmp_path / "kpis.toml", kpis=("N35001", "N33817"))
    out = tmp_path / "out"
    assert harvester("run", "--config", str(config), "--api-url", small_fake.base_url, "--output", str(out)).code == 0
    before = snapshot(out)

    def small_files() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))  # the tables fit, the charts and reports do not

    # --force: with nothing new, compare would keep the documents and write nothing at all
    result = run_cli_subprocess(["compare", "--config", str(config), "--output", str(out), "--force"],
                                preexec_fn=small_files)
    assert result.returncode == ExitCode.OUTPUT, result.stderr
    assert "could not be written" in result.stderr and "previous ones are kept" in result.stderr
    assert snapshot(out) == before
    # Issue 9.10: after a fetch that did commit, the message must not claim the dataset is unchanged.
    small_fake.data.set_value("N35001", "0484", 2022, "T", 4321.0)
    result = run_cli_subprocess(["run", "--config", str(config), "--api-url", small_fake.base_url, "--output", str(out),
                                 "--no-cache"], preexec_fn=small_files)
    assert result.returncode == ExitCode.OUTPUT, result.stderr
    assert "the harvest was committed, but the tables and documents could not be written" in result.stderr
    assert "unchanged" not in result.stderr
    assert 4321.0 in store.read_values(out, ["N35001"])["value"].tolist()


def test_gender_a_kpi_does_not_have_is_refused_at_its_line(small_fake, harvester, tmp_path) -> None:
    config = write_config(tmp_path / "kpis.toml", kpis=("N35001",))  # N35001: is_divided_by_gender false
    config.write_text(config.read_text() + 'gender = "K"\n')
    out = tmp_path / "out"
    result = fetch(harvester, small_fake, config, out)
    assert result.code == ExitCode.CONFIG
    line = config.read_text().splitlines().index('gender = "K"') + 1
    assert f"{config}:{line}: indicator 'n35001': KPI N35001" in result.err
    assert "not divided by gender" in result.err and 'gender = "T"' in result.err
    assert not out.exists()
    divided = write_config(tmp_path / "k.toml", kpis=("N33817",))  # divided by gender: K is fine
    divided.write_text(divided.read_text() + 'gender = "K"\n')
    assert fetch(harvester, small_fake, divided, out).code == ExitCode.OK


def test_an_indicator_without_any_home_value_warns_under_quiet_and_in_status(harvester, tmp_path) -> None:
    from tests.conftest import SMALL_KPIS

    values = small_values()
    values = values[~((values["kpi"] == "N33817") & (values["municipality"] == "0484"))]  # the peers keep theirs
    out, config = tmp_path / "out", write_config(tmp_path / "kpis.toml", kpis=("N35001", "N33817"))
    with FakeKolada(KoladaData.from_frames(SMALL_KPIS, SMALL_MUNICIPALITIES, SMALL_GROUPS, values)) as fake:
        runs = [fetch(harvester, fake, config, out, "--quiet") for _ in range(2)]  # cold, then incremental
    warning = "indicator 'n33817' (N33817, gender T) has no value at all for Eskilstuna"
    for run in runs:
        assert run.code in (ExitCode.OK, ExitCode.UNCHANGED)
        assert warning in run.err and "WARNING" in run.err and "n35001" not in run.err
    status = harvester("status", "--output", str(out), "--config", str(config))
    assert f"empty: {warning}" in status.out and "empty: indicator 'n35001'" not in status.out


def test_lookups_fold_case_and_diacritics_find_ids_and_take_a_config(real_fake, harvester, tmp_path) -> None:
    town = harvester("municipality", "search", "ostersund", "--api-url", real_fake.base_url)
    assert town.code == 0 and "2380  Östersund  (kommun)" in town.out
    by_id = harvester("kpi", "search", "n35001", "--api-url", real_fake.base_url)
    lines = by_id.out.splitlines()
    assert by_id.code == 0 and len(lines) == 1 and lines[0].startswith("N35001  Kostnad missbruksvård vuxna, kr/inv  [")
    config = tmp_path / "k.toml"
    config.write_text(REPO.joinpath("config", "kpis.toml").read_text(encoding="utf-8").replace(
        "https://api.kolada.se/v3", real_fake.base_url), encoding="utf-8")
    from_config = harvester("kpi", "search", "missbruksvard vuxna", "--config", str(config))
    assert from_config.code == 0 and "N35001  Kostnad missbruksvård vuxna" in from_config.out
    wrong = harvester("scb", "search", "folkmängd", "--api-url", real_fake.base_url)
    assert wrong.code == 2 and "`harvester scb search` takes" in wrong.err and "--scb-api-url" in wrong.err


def test_plain_status_outside_a_dataset_says_which_to_ask_for(small_fake, harvester, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config").mkdir()
    config = write_config(tmp_path / "config" / "kpis.toml")
    assert fetch(harvester, small_fake, config, tmp_path / "output" / "kpis").code == ExitCode.OK
    status = harvester("status")
    assert status.out.startswith("output: no harvest has run here yet")
    assert "harvester status --config config/kpis.toml" in status.out
