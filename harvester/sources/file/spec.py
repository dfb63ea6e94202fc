"""What an indicator says about its file, checked on load, and the series id its values are stored under.

A file indicator is
`source = "file"`, `path` (relative to the config file), and optionally `sheet` (xlsx), `series`
(the value of the file's `series` column to read) and `month` (which month of a monthly file
stands for the year, as for SCB).
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import SpecError

SOURCE = "file"
PREFIX = "file_"
KEYS = ("path", "sheet", "series", "month")  # the indicator keys this source adds
EXTENSIONS = (".csv", ".xlsx")
EXAMPLE = 'source = "file", path = "egen-statistik.xlsx"'


@dataclass(frozen=True)
class FileSeries:
    """One series read from a local file, for one indicator. `path` as the config writes it, `location`
    where it is read, `written` the config's file:line of `path` (for a file that is missing)."""

    indicator_id: str
    label: str
    path: str
    location: Path
    written: str
    sheet: str | None = None
    series: str | None = None
    month: int | None = None

    @property
    def id(self) -> str:
        """`file_<indicator id>`: unique per config, safe as a file name, never a Kolada (N…, U…) or SCB id."""
        return PREFIX + self.indicator_id

    @property
    def reference(self) -> str:
        return f"egen statistik, {self.path}"

    @property
    def described(self) -> dict[str, Any]:
        """What the series is, as the cursor and the `series` table remember it (a change means a re-read)."""
        return {"path": self.path, "sheet": self.sheet, "series": self.series, "month": self.month}


def file_series(raw: dict[str, Any], name: str, indicator_id: str, label: str, config_path: Path,
                written: str) -> FileSeries:
    """The file keys of one [[indicator]] with `source = "file"`; SpecError on the first wrong key."""
    for key in ("kpi", "table", "contents", "select"):
        if key in raw:
            raise SpecError(f"{name}: a file indicator reads its values from path, not {key}; remove {key}", key)
    path = raw.get("path")
    if not isinstance(path, str) or not path.strip():
        raise SpecError(f"{name}: a file indicator needs path = the CSV or Excel file (relative to the config), "
                        f"e.g. {EXAMPLE}", "path" if "path" in raw else "source")
    path = path.strip()
    suffix = Path(path).suffix.lower()
    if suffix not in EXTENSIONS:
        hint = " (save it as .xlsx in Excel)" if suffix in (".xls", ".ods", ".xlsm") else ""
        raise SpecError(f"{name}: path {path!r} must be a .csv or .xlsx file{hint}", "path")
    texts = {}
    for key in ("sheet", "series"):
        value = raw.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise SpecError(f"{name}: {key} must be a non-empty text in quotes, got {value!r}", key)
        texts[key] = value.strip() if isinstance(value, str) else None
    if texts["sheet"] and suffix != ".xlsx":
        raise SpecError(f"{name}: sheet names a sheet of an .xlsx file; {path!r} is a CSV file, remove sheet", "sheet")
    month = raw.get("month")
    if month is not None and (isinstance(month, bool) or not isinstance(month, int) or not 1 <= month <= 12):
        raise SpecError(f"{name}: month must be a whole number from 1 to 12, got {month!r}", "month")
    return FileSeries(indicator_id=indicator_id, label=label, path=path, location=config_path.parent / path,
                      written=written, sheet=texts["sheet"], series=texts["series"], month=month)


def near(word: str, choices: list[str]) -> str:
    """'; did you mean …?' for a mistyped column, sheet or series."""
    close = difflib.get_close_matches(word, choices, n=3, cutoff=0.5)
    return f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
