"""Every error the README shows is one a real run prints (issue 8.11)."""
from __future__ import annotations

import re

from tests.conftest import REPO


def readme_errors() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line.startswith("harvester: error: config/kpis.toml:")]


def test_readme_error_examples_are_what_harvester_prints(real_fake, tmp_path, monkeypatch) -> None:
    from harvester.cli import main

    shipped = (REPO / "config" / "kpis.toml").read_text(encoding="utf-8")
    examples = readme_errors()
    assert len(examples) == 2
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config").mkdir()
    for line in examples:
        kpi = re.search(r"KPI (\w+) is not in", line)
        town = re.search(r"no municipality is called '([^']+)'", line)
        assert kpi or town, line
        edited = (shipped.replace('kpi = "N35001"', f'kpi = "{kpi.group(1)}"') if kpi
                  else shipped.replace('municipality = "0484"', f'municipality = "{town.group(1)}"'))
        (tmp_path / "config" / "kpis.toml").write_text(edited, encoding="utf-8")
        import contextlib
        import io

        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            code = main(["fetch", "--config", "config/kpis.toml", "--api-url", real_fake.base_url, "--output", "out",
                         "--no-cache"])
        printed = err.getvalue().strip().splitlines()[-1]
        assert code == 2
        assert printed.startswith(line.rstrip("…")), (printed, line)


def test_readme_scb_error_example_is_what_harvester_prints(real_fake, tmp_path, monkeypatch) -> None:
    import contextlib
    import io

    from harvester.cli import main
    from tests.fake_scb.data import ScbData
    from tests.fake_scb.server import FakeScb

    text = (REPO / "README.md").read_text(encoding="utf-8")
    prefix = "harvester: error: config/examples/arbetsmarknad.toml:"
    examples = [line for line in text.splitlines() if line.startswith(prefix)]
    assert len(examples) == 1
    wrong = re.search(r"no code '([^']+)' in Alder", examples[0]).group(1)
    shipped = (REPO / "config" / "examples" / "arbetsmarknad.toml").read_text(encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config" / "examples").mkdir(parents=True)
    (tmp_path / "config" / "examples" / "arbetsmarknad.toml").write_text(
        shipped.replace('Alder = "16-64"', f'Alder = "{wrong}"', 1), encoding="utf-8")
    err = io.StringIO()
    with FakeScb(ScbData.from_shared()) as scb, contextlib.redirect_stderr(err):
        code = main(["fetch", "--config", "config/examples/arbetsmarknad.toml", "--api-url", real_fake.base_url,
                     "--scb-api-url", scb.base_url, "--output", "out", "--no-cache"])
    assert code == 2
    assert err.getvalue().strip().splitlines()[-1].startswith(examples[0].rstrip("…"))
