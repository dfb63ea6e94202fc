"""A source is a folder: the rooms above `sources/` read the registry and import no concrete source.

Checked on the code's own imports (ast), so a shortcut such as `from .sources.scb.client import …`
in harvest.py fails here, and so does a source importing a room above it.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from harvester.config import KNOWN_KEYS, load_config
from harvester.sources import DataSource
from harvester.sources.registry import BY_NAME, SOURCES

PACKAGE = Path(__file__).resolve().parent.parent / "harvester"
# The rooms issue 17 names, and render's every module; resolve and similar_* are Kolada's as the catalogue.
ROOMS = ["harvest.py", "config.py", "cli.py", "report.py", "status.py", *[f"render/{p.name}" for p in
                                                                         sorted((PACKAGE / "render").glob("*.py"))]]
ABOVE = {"config", "harvest", "cli", "report", "status", "resolve", "render", "compare", "similar_sets",
         "similar_run", "similar_cli"}


def imported(path: Path) -> set[str]:
    """Every module `path` imports, as a dotted name relative to the `harvester` package."""
    here = path.relative_to(PACKAGE).with_suffix("").parts[:-1]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = list(here[:len(here) - node.level + 1]) if node.level else []
            module = [*base, *(node.module.split(".") if node.module else [])]
            if not node.level and module[:1] == ["harvester"]:
                module = module[1:]
            names.add(".".join(module))
            names.update(".".join([*module, alias.name]) for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name.removeprefix("harvester.") for a in node.names if a.name.startswith("harvester."))
    return names


@pytest.mark.parametrize("room", ROOMS)
def test_rooms_above_sources_import_no_concrete_source(room: str) -> None:
    concrete = {f"sources.{s.name}" for s in SOURCES}
    wrong = sorted(n for n in imported(PACKAGE / room) if any(n == c or n.startswith(c + ".") for c in concrete))
    assert not wrong, f"{room} imports {wrong}; read harvester.sources.registry instead"


@pytest.mark.parametrize("source", [s.name for s in SOURCES])
def test_a_source_imports_only_downward(source: str) -> None:
    for path in sorted((PACKAGE / "sources" / source).glob("*.py")):
        up = sorted(n for n in imported(path) if n.split(".")[0] in ABOVE)
        assert not up, f"{path.relative_to(PACKAGE)} imports {up}, a room above the sources"
        others = sorted(n for n in imported(path) for other in BY_NAME if other != source
                        and n.startswith(f"sources.{other}"))
        assert not others, f"{path.relative_to(PACKAGE)} imports another source: {others}"


def test_every_registered_source_says_all_the_protocol_asks() -> None:
    members = [name for name in DataSource.__annotations__] + ["parse", "prepare", "cite", "note"]
    for source in SOURCES:
        missing = [m for m in members if not hasattr(source, m)]
        assert not missing, f"{source.name} lacks {missing}"
    assert len(BY_NAME) == len(SOURCES)
    owned = [key for s in SOURCES for key in s.indicator_keys if key != "month"]  # month: SCB's and a file's
    assert len(owned) == len(set(owned)), "two sources claim the same indicator key"


def test_the_config_takes_its_source_keys_and_sections_from_the_registry(tmp_path: Path) -> None:
    for source in SOURCES:
        assert set(source.indicator_keys) <= KNOWN_KEYS["indicator"]
        if source.network is not None and source.network.section != "source":
            assert KNOWN_KEYS[source.network.section] == {"api_url"}
    config = tmp_path / "k.toml"
    config.write_text('[home]\nmunicipality = "0484"\n\n[[indicator]]\nid = "x"\nlabel = "X"\nsource = "sbc"\n',
                      encoding="utf-8")
    with pytest.raises(Exception, match=r"k.toml:7: indicator 'x': source 'sbc' is not one of kolada, scb, file "
                                        r"\(did you mean 'scb'\?\)"):
        load_config(config)
