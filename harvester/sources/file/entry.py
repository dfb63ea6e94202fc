"""The author's own files as the registry lists them: `source = "file"` and `path` (with `sheet`,
`series`, `month`) in an indicator; no network, so no URL and no client."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import Citation, IndicatorKeys, Wanted
from .source import FileSource, file_note
from .spec import KEYS, SOURCE, FileSeries, file_series


class OwnFiles:
    name = SOURCE
    label = "egen statistik"
    cited_as = "egen statistik"
    noun: str | None = None  # the author's own values: no word of a publisher's
    needs = 'id, label, source = "file" and path for own figures'
    indicator_words = "a file indicator"
    commands = None
    indicator_keys = KEYS
    network = None

    def parse(self, indicator: IndicatorKeys) -> FileSeries:
        return file_series(dict(indicator.raw), indicator.name, indicator.indicator_id, indicator.label,
                           indicator.config_path, indicator.line_of("path"))

    def prepare(self, wanted: Wanted, client: Any) -> FileSource:
        """The files are read and checked when the harvest plans, before any source fetches."""
        return FileSource([w.spec for w in wanted.series], wanted.municipalities)

    def cite(self, spec: FileSeries, described: Mapping[str, Any] | None, years: list[int]) -> Citation:
        return Citation(f"fil {spec.path}")

    def note(self, described: Mapping[str, Any]) -> str:
        return file_note(described)


ENTRY = OwnFiles()
