"""Load and validate `config/kpis.toml`.

A plan author edits this file by hand, so every error names the file, the line and the key, says
what is allowed, and suggests the nearest valid word. Nothing here talks to a source: names of
municipalities, KPI ids and tables are checked against the sources later, before anything is fetched.
What each source adds to an indicator (`kpi`; `table`, `contents`; `path`) is parsed by the source
itself (`sources.registry`); this module owns the keys every indicator shares.
"""
from __future__ import annotations

import datetime as dt
import difflib
import math
import os
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from . import comparisons
from .comparisons import DEFAULT as DEFAULT_COMPARISON, ComparisonSpec
from .configfile import read_config_text
from .errors import ConfigError
from .names import GENDERS
from .similar_spec import parse_similar
from .sources import IndicatorKeys, SeriesSpec, SpecError
from .sources.registry import BY_NAME, CATALOGUE, DEFAULT, NAMES, NETWORKED
from .urlcheck import url_problem

DIRECTIONS = ("lower", "higher", "none")
SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
EARLIEST_YEAR = 1950  # plausibility only: each source knows where its own series start
# Comparison members computed from data, each a key of a comparison table with its parser (comparisons.py).
MEMBER_KINDS: dict[str, comparisons.MemberParser] = {"similar": parse_similar}

# An indicator's own keys; `fill` names another indicator whose values stand in for years this one lacks.
INDICATOR_KEYS = {"id", "label", "direction", "target", "gender", "unit", "decimals", "source", "ratio", "comparison",
                  "rank", "number", "fill"}
SOURCE_KEYS = {key for s in BY_NAME.values() for key in s.indicator_keys}  # what the sources add
OWN_SECTIONS = {s.network.section for s in NETWORKED if s.network and s.network.section != "source"}
KNOWN_KEYS: dict[str, set[str]] = {
    "": {"source", "home", "comparison", "comparisons", "years", "report", "indicator"},
    "source": {"api_url", "cache", "rate", "timeout", "deadline", "max_response_mb", "max_retry_seconds", "backoff",
               *(section.split(".", 1)[1] for section in OWN_SECTIONS)},
    **{section: {"api_url"} for section in OWN_SECTIONS},
    "home": {"municipality"},
    "comparison": comparisons.set_keys(MEMBER_KINDS),
    "years": {"from", "to"},
    "report": {"revised_since", "years", "as_of"},
    "indicator": INDICATOR_KEYS | SOURCE_KEYS,
    "target": {"value", "year", "text"},
    "ratio": {"numerator", "denominator", "scale"},
}


def checked_url(url: str, origin: str) -> str:
    """`url` without a trailing slash if it is an http(s) URL with a host; else a ConfigError naming `origin`."""
    problem = url_problem(url.strip())
    if problem:
        raise ConfigError(f"{origin}: {url!r} is not an API URL ({problem}; e.g. {CATALOGUE.network.default})")
    return url.strip().rstrip("/")


def choose_url(option: str, given: str | None, env_var: str, configured: str) -> str:
    """The API URL a run uses: the command line, then the environment, then the config file (or its default).

    The one place this precedence lives; `--help` and the README say the same.
    """
    for origin, url in ((option, given), (env_var, os.environ.get(env_var))):
        if url:
            return checked_url(url, origin)
    return configured


@dataclass(frozen=True)
class Target:
    value: float
    year: int


@dataclass(frozen=True)
class TextTarget:
    """A target in the plan's words ("Minska med 1 procentenhet"): printed as written, judged by direction."""

    text: str


@dataclass(frozen=True)
class MedianTarget:
    """`target = "median"`: "i nivå med jämförbara kommuner", the gap is to the set's median of each year."""


MEDIAN_TARGET = "median"
AnyTarget = Target | TextTarget | MedianTarget
OVERVIEW_YEARS = (2, 3)  # how many shared year columns `[report] years` may name, as plans use


@dataclass(frozen=True)
class Ratio:
    """numerator / denominator × scale, per municipality and year, of two other indicators' values."""

    numerator: str
    denominator: str
    scale: float = 1.0


@dataclass(frozen=True)
class Indicator:
    """One plan indicator. `series_id` is the id of the series it reads, stored in the dataset's `kpi` column
    (its name kept for analysts): `series.id` of its source's spec, or for a ratio `ratio_<id>`, computed at
    compare time and never stored."""

    id: str
    label: str
    series_id: str
    direction: str = "none"
    target: AnyTarget | None = None
    gender: str = "T"
    unit: str | None = None
    decimals: int | None = None
    source: str = DEFAULT.name  # a name in `sources.registry`, or "ratio"
    series: SeriesSpec | None = None  # what its source parsed from the indicator's keys
    ratio: Ratio | None = None
    comparison: str = DEFAULT_COMPARISON  # the key of the comparison set it is compared with
    rank: bool = False  # `rank = true`: rank a count that grows with population all the same
    fill: str | None = None  # another indicator whose values stand in for years this one lacks
    number: str | None = None  # the plan's own number ("3 b"), shown before the label

    @property
    def reference(self) -> str:
        """How tables cite the figure: as its source names the series (the KPI id, the SCB table and
        contents code, the file), or "kvot"."""
        if self.series is not None:
            return self.series.reference
        return "kvot" if self.ratio is not None else self.series_id


# [source] numbers: (default, lowest, highest allowed). `deadline` bounds one whole request,
# `max_response_mb` one answer's size, `backoff` the first wait before a retry (it doubles up to 30 s).
SOURCE_NUMBERS: dict[str, tuple[float, float, float]] = {
    "rate": (5.0, 0.1, 1000.0),
    "timeout": (60.0, 1.0, 3600.0),
    "deadline": (300.0, 1.0, 86_400.0),
    "max_response_mb": (64.0, 1.0, 4096.0),
    "max_retry_seconds": (300.0, 0.0, 86_400.0),
    "backoff": (0.5, 0.001, 60.0),
}
MAX_INDICATOR_ID = 64  # it names files; every file system takes this much


def _default_urls() -> dict[str, str]:
    return {s.name: s.network.default for s in NETWORKED if s.network}


@dataclass(frozen=True)
class SourceSettings:
    """[source] and its per-source tables; the numbers apply to every networked source."""

    urls: dict[str, str] = field(default_factory=_default_urls)  # source name → API URL
    cache: Path | None = None
    rate: float = SOURCE_NUMBERS["rate"][0]
    timeout: float = SOURCE_NUMBERS["timeout"][0]
    deadline: float = SOURCE_NUMBERS["deadline"][0]
    max_response_mb: float = SOURCE_NUMBERS["max_response_mb"][0]
    max_retry_seconds: float = SOURCE_NUMBERS["max_retry_seconds"][0]
    backoff: float = SOURCE_NUMBERS["backoff"][0]

    @property
    def max_response_bytes(self) -> int:
        return int(self.max_response_mb * 1_000_000)


@dataclass(frozen=True)
class Config:
    path: Path
    home: str
    groups: tuple[str, ...] = ()
    municipalities: tuple[str, ...] = ()
    riket: bool = True
    year_from: int = 2015
    year_to: int | None = None
    indicators: tuple[Indicator, ...] = ()
    source: SourceSettings = field(default_factory=SourceSettings)
    revised_since: dt.date | None = None
    comparisons: tuple[ComparisonSpec, ...] = ()  # every set, the default (`[comparison]`) first
    report_years: tuple[int, ...] = ()  # `[report] years`: the overview's shared year columns
    as_of: dt.date | None = None  # `[report] as_of`: documents from the values the dataset held that day

    @property
    def comparison_sets(self) -> dict[str, ComparisonSpec]:
        """Every comparison set by key; a Config built without them has the default from its fields."""
        sets = {spec.key: spec for spec in self.comparisons}
        return sets or {DEFAULT_COMPARISON: ComparisonSpec(groups=self.groups, municipalities=self.municipalities,
                                                           riket=self.riket)}

    def comparison_of(self, indicator: Indicator) -> ComparisonSpec:
        return self.comparison_sets[indicator.comparison]

    @property
    def used_comparisons(self) -> list[ComparisonSpec]:
        """The sets some indicator is compared with, in config order: what a fetch must cover."""
        used = {ind.comparison for ind in self.indicators}
        return [spec for key, spec in self.comparison_sets.items() if key in used]

    @property
    def kpis(self) -> list[str]:
        """Distinct ids of the catalogue's own series (Kolada's KPIs) in the order the indicators name them."""
        return list(dict.fromkeys(ind.series_id for ind in self.indicators if ind.source == CATALOGUE.name))

    def indicators_of(self, source: str) -> list[Indicator]:
        return [ind for ind in self.indicators if ind.source == source]

    @property
    def series(self) -> list[str]:
        """Every stored series the indicators read (Kolada KPIs and SCB series; ratios are computed)."""
        return list(dict.fromkeys(ind.series_id for ind in self.indicators if ind.ratio is None))

    def indicator(self, indicator_id: str) -> Indicator:
        return next(ind for ind in self.indicators if ind.id == indicator_id)

    def with_urls(self, given: dict[str, str | None]) -> "Config":
        """This config with the URLs the command line (`given`, by source name) or the environment may
        override (`choose_url`)."""
        urls = {s.name: choose_url(s.network.option, given.get(s.name), s.network.env, self.source.urls[s.name])
                for s in NETWORKED if s.network}
        return replace(self, source=replace(self.source, urls=urls))

    def years(self, today: dt.date) -> tuple[int, ...]:
        """The configured years; without `to`, up to this year, so new publications are never missed."""
        return tuple(range(self.year_from, (self.year_to or today.year) + 1))


class _Locator:
    """Find the line of a key in the raw TOML text, since tomllib keeps no positions."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()

    def line_of(self, table: str, key: str | None = None, index: int = 0) -> int | None:
        header = re.compile(r"^\s*\[\[?\s*" + re.escape(table) + r"\s*\]\]?\s*(#.*)?$") if table else None
        if header is None and key is not None:  # a top-level name may be a section: its own header line
            section = re.compile(r"^\s*\[\[?\s*" + re.escape(key) + r"\s*[\].]")
            found = next((no for no, line in enumerate(self.lines) if section.match(line)), None)
            if found is not None:
                return found + 1
        start, seen = (0 if header is None else None), -1
        for no, line in enumerate(self.lines):
            if header is not None and start is None and header.match(line):
                seen += 1
                if seen == index:
                    start = no
                    if key is None:
                        return no + 1
                continue
            if start is None:
                continue
            if no > start and re.match(r"^\s*\[", line):
                break
            if key is not None and re.match(r"^\s*" + re.escape(key) + r"\s*=", line):
                return no + 1
        if key is not None and start is not None:
            return start + 1
        return None


def _near(word: str, choices: list[str] | tuple[str, ...] | set[str]) -> str:
    close = difflib.get_close_matches(str(word), sorted(choices), n=3, cutoff=0.5)
    return f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""


class _Validator:
    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.where = _Locator(text)

    def fail(self, message: str, table: str = "", key: str | None = None, index: int = 0) -> ConfigError:
        line = self.where.line_of(table, key, index) if (table or key) else None
        place = f"{self.path}:{line}" if line else str(self.path)
        return ConfigError(f"{place}: {message}")

    def check_keys(self, data: dict[str, Any], kind: str, table: str, index: int = 0, label: str = "") -> None:
        allowed = KNOWN_KEYS[kind]
        for key in data:
            if key not in allowed:
                what = (f"unknown section [{f'{table}.' if table else ''}{key}]" if isinstance(data[key], dict)
                        else f"unknown key {key!r} in {label or '[' + (table or 'top level') + ']'}")
                raise self.fail(f"{what}{_near(key, allowed)}; allowed: {', '.join(sorted(allowed))}",
                                table, key, index)

    def table(self, data: dict[str, Any], name: str, key: str | None = None) -> dict[str, Any]:
        value = data.get(key or name, {})
        if not isinstance(value, dict):
            raise self.fail(f"[{name}] must be a table, e.g. [{name}] on a line of its own", "", key or name)
        self.check_keys(value, name, name)
        return value

    def string(self, value: Any, what: str, table: str, key: str, index: int = 0) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"{what} must be a non-empty text in quotes, got {value!r}", table, key, index)
        return value.strip()

    def year(self, value: Any, what: str, key: str) -> int:
        last = dt.date.today().year + 1
        if isinstance(value, bool) or not isinstance(value, int) or not EARLIEST_YEAR <= value <= last:
            raise self.fail(f"{what} must be a year between {EARLIEST_YEAR} and {last}, got {value!r}", "years", key)
        return value


def _nearby_configs(path: Path) -> str:
    """A '; did you mean …' tail naming the configs that exist beside the mistyped path or under config/."""
    seen = {p for folder in (path.parent, Path("config")) if folder.is_dir() for p in folder.rglob("*.toml")}
    names = sorted(str(p) for p in seen)
    close = difflib.get_close_matches(str(path), names, n=3, cutoff=0.5) or names[:5]
    return f"; did you mean {', '.join(close)}?" if close else ""


def load_config(path: str | Path) -> Config:
    """Read and validate a config file; raise ConfigError with file:line on the first problem."""
    path = Path(path)
    try:
        text = read_config_text(path)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file{_nearby_configs(path)}") from None
    except (OSError, ValueError) as exc:  # UnicodeDecodeError is a ValueError
        raise ConfigError(f"{path}: cannot read config file ({exc})") from None
    try:
        data = tomllib.loads(text)
    except RecursionError:
        raise ConfigError(f"{path}: TOML nested too deeply (arrays or tables inside each other hundreds of "
                          "levels deep); a config needs two or three levels") from None
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        place = f"{path}:{match.group(1)}" if match else str(path)
        raise ConfigError(f"{place}: TOML syntax error: {exc}") from None
    return parse_config(data, path, text)


def parse_config(data: dict[str, Any], path: Path, text: str = "") -> Config:
    """Validate an already parsed TOML document (split out so tests can feed dicts)."""
    v = _Validator(path, text)
    v.check_keys(data, "", "", label="the top level")
    source = _parse_source(v, v.table(data, "source"))

    home_t = v.table(data, "home")
    if "municipality" not in home_t:
        raise v.fail('[home] needs municipality = "<id or name>", e.g. municipality = "0484"', "home")
    home = v.string(home_t["municipality"], "[home] municipality", "home", "municipality")

    sets = comparisons.parse_sets(v, data.get("comparison", {}), data.get("comparisons", {}), MEMBER_KINDS)
    default = sets[DEFAULT_COMPARISON]

    years = v.table(data, "years")
    year_from = v.year(years.get("from", 2015), "[years] from", "from")
    year_to = v.year(years["to"], "[years] to", "to") if "to" in years else None
    if year_to is not None and year_to < year_from:
        raise v.fail(f"[years] from = {year_from} is after to = {year_to}; swap them", "years", "to")

    report = v.table(data, "report")
    revised_since, as_of = (_report_date(v, report, key) for key in ("revised_since", "as_of"))
    report_years = _report_years(v, report.get("years"))

    raw_inds = data.get("indicator", [])
    if not isinstance(raw_inds, list) or not raw_inds:
        raise v.fail(f"the config needs at least one [[indicator]] table ({NEEDED})", "")
    indicators = tuple(_parse_indicator(v, raw, i, sets) for i, raw in enumerate(raw_inds))
    seen: dict[str, int] = {}
    for i, ind in enumerate(indicators):
        if ind.id in seen:
            raise v.fail(f"indicator id {ind.id!r} is used twice; ids name output files and must be unique",
                         "indicator", "id", i)
        seen[ind.id] = i
    _check_ratios(v, indicators)
    _check_fills(v, indicators)
    return Config(path=path, home=home, groups=default.groups, municipalities=default.municipalities,
                  riket=default.riket, year_from=year_from, year_to=year_to, indicators=indicators, source=source,
                  revised_since=revised_since, comparisons=tuple(sets.values()), report_years=report_years,
                  as_of=as_of)


def _report_date(v: _Validator, report: dict[str, Any], key: str) -> dt.date | None:
    """A date of [report] (`revised_since`, `as_of`): TOML's own date, so 2024-13-01 cannot slip through as text."""
    value = report.get(key)
    if value is not None and (not isinstance(value, dt.date) or isinstance(value, dt.datetime)):
        raise v.fail(f"[report] {key} must be a date without quotes, e.g. {key} = 2024-01-01; got {value!r}",
                     "report", key)
    return value


def _report_years(v: _Validator, raw: Any) -> tuple[int, ...]:
    if raw is None:
        return ()
    last = dt.date.today().year + 1
    if (not isinstance(raw, list) or len(raw) not in OVERVIEW_YEARS or len(set(raw)) != len(raw)
            or not all(isinstance(y, int) and not isinstance(y, bool) and EARLIEST_YEAR <= y <= last for y in raw)):
        raise v.fail(f"[report] years must list {' or '.join(map(str, OVERVIEW_YEARS))} different years, "
                     f"e.g. years = [2022, 2023]; got {raw!r}", "report", "years")
    return tuple(sorted(raw))


def _parse_source(v: _Validator, src: dict[str, Any]) -> SourceSettings:
    urls = {}
    for s in NETWORKED:
        assert s.network is not None
        section = s.network.section
        table = src if section == "source" else v.table(src, section, section.split(".", 1)[1])
        url = table.get("api_url", s.network.default)
        try:
            urls[s.name] = checked_url(url if isinstance(url, str) else repr(url), f"[{section}] api_url")
        except ConfigError as exc:
            raise v.fail(str(exc), section, "api_url") from None
    cache = src.get("cache")
    if cache is not None and (not isinstance(cache, str) or not cache.strip()):
        raise v.fail("[source] cache must be a file path in quotes", "source", "cache")
    if cache is not None and Path(cache).is_dir():
        raise v.fail(f"[source] cache {cache!r} is a folder; name a file in it, e.g. \"{Path(cache) / 'http-cache.sqlite'}\"",
                     "source", "cache")
    numbers = {}
    for key, (default, low, high) in SOURCE_NUMBERS.items():
        numbers[key] = _number(v, src.get(key, default), f"[source] {key}", low, high, "source", key)
    return SourceSettings(urls=urls, cache=Path(cache) if cache else None, **numbers)


def _number(v: _Validator, value: Any, what: str, low: float, high: float, table: str, key: str,
            index: int = 0) -> float:
    """A finite number within [low, high]; TOML's nan and inf are numbers to tomllib, not to us."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not low <= value <= high:
        raise v.fail(f"{what} must be a number from {low:g} to {high:g}, got {value!r}", table, key, index)
    return float(value)


NEEDED = f"needed: {'; '.join(s.needs for s in BY_NAME.values())}; or id, label and ratio"


def _parse_indicator(v: _Validator, raw: Any, i: int, sets: dict[str, ComparisonSpec]) -> Indicator:
    if not isinstance(raw, dict):
        raise v.fail("each [[indicator]] must be a table", "indicator", None, i)
    name = f"[[indicator]] number {i + 1}"
    v.check_keys(raw, "indicator", "indicator", i, label=name)
    for key in ("id", "label"):
        if key not in raw:
            raise v.fail(f"{name} has no {key} ({NEEDED})", "indicator", None, i)
    ind_id = v.string(raw["id"], f"{name} id", "indicator", "id", i)
    if len(ind_id) > MAX_INDICATOR_ID:
        raise v.fail(f"indicator id {ind_id[:20]!r}… is {len(ind_id)} characters long; at most {MAX_INDICATOR_ID} "
                     "(it names files)", "indicator", "id", i)
    if not SLUG.match(ind_id):
        raise v.fail(f"indicator id {ind_id!r} must be lower-case letters, digits, '-' or '_' (it names files), "
                     f"e.g. \"missbruk-kostnad\"", "indicator", "id", i)
    name = f"indicator {ind_id!r}"
    label = v.string(raw["label"], f"{name} label", "indicator", "label", i)
    direction = raw.get("direction", "none")
    if direction not in DIRECTIONS:
        raise v.fail(f"{name}: direction {direction!r} is not one of {', '.join(DIRECTIONS)}{_near(direction, DIRECTIONS)}",
                     "indicator", "direction", i)
    gender = raw.get("gender", "T")
    if gender not in GENDERS:
        raise v.fail(f"{name}: gender {gender!r} must be T (total), K (women) or M (men)", "indicator", "gender", i)
    unit = raw.get("unit")
    if unit is not None:
        unit = v.string(unit, f"{name} unit", "indicator", "unit", i)
    decimals = raw.get("decimals")
    if decimals is not None and (isinstance(decimals, bool) or not isinstance(decimals, int) or not 0 <= decimals <= 6):
        raise v.fail(f"{name}: decimals must be a whole number from 0 to 6, got {decimals!r}", "indicator", "decimals", i)
    number = raw.get("number")
    if number is not None and not (isinstance(number, str) and number.strip()):
        raise v.fail(f'{name}: number is the plan\'s own number in quotes, e.g. number = "3 b", got {number!r}',
                     "indicator", "number", i)
    fill = raw.get("fill")
    if fill is not None:
        fill = v.string(fill, f"{name} fill", "indicator", "fill", i)
    rank = raw.get("rank", False)
    if not isinstance(rank, bool):
        raise v.fail(f"{name}: rank must be true or false, got {rank!r}", "indicator", "rank", i)
    if rank and direction == "none":
        raise v.fail(f'{name}: rank = true needs direction = "lower" or "higher" (which way is better)',
                     "indicator", "rank", i)
    common = dict(id=ind_id, label=label, direction=direction, target=_parse_target(v, raw.get("target"), name, i),
                  gender=gender, unit=unit, decimals=decimals, rank=rank,
                  comparison=comparisons.chosen(v, sets, raw.get("comparison"), name, i), fill=fill,
                  number=number.strip() if number else None)
    if "ratio" in raw:
        return Indicator(series_id=f"ratio_{ind_id}", source="ratio", ratio=_parse_ratio(v, raw, name, i), **common)
    source = raw.get("source", DEFAULT.name)
    if source not in NAMES:
        raise v.fail(f"{name}: source {source!r} is not one of {', '.join(NAMES)}{_near(str(source), NAMES)}",
                     "indicator", "source", i)
    kind = BY_NAME[source]
    keys = IndicatorKeys(raw=raw, name=name, indicator_id=ind_id, label=label, config_path=v.path,
                         line_of=lambda key: f"{v.path}:{v.where.line_of('indicator', key, i)}")
    try:
        series = kind.parse(keys)
    except SpecError as exc:
        raise v.fail(f"{exc} ({NEEDED})" if not exc.key else str(exc), "indicator", exc.key or None, i) from None
    for key in raw:
        owner = next((s for s in BY_NAME.values() if key in s.indicator_keys and key not in kind.indicator_keys), None)
        if owner is not None:
            mine = " and ".join(k for k in kind.indicator_keys if k in raw)
            raise v.fail(f'{name}: {key} belongs to {owner.indicator_words}; add source = "{owner.name}"'
                         f"{f' (and remove {mine})' if mine else ''} or remove {key}", "indicator", key, i)
    return Indicator(series_id=series.id, source=source, series=series, **common)


def _parse_ratio(v: _Validator, raw: dict[str, Any], name: str, i: int) -> Ratio:
    example = 'ratio = { numerator = "arbetslosa", denominator = "befolkning-16-64", scale = 1000 }'
    for key in ("source", "fill", *sorted(SOURCE_KEYS)):
        if key in raw:
            raise v.fail(f"{name}: a ratio is computed from two other indicators; remove {key}",
                         "indicator", key, i)
    ratio = raw["ratio"]
    if not isinstance(ratio, dict):
        raise v.fail(f"{name}: ratio must be written as {example}", "indicator", "ratio", i)
    v.check_keys(ratio, "ratio", "indicator", i, label=f"{name} ratio")
    parts = []
    for key in ("numerator", "denominator"):
        if not isinstance(ratio.get(key), str) or not ratio[key].strip():
            raise v.fail(f"{name}: ratio needs {key} = the id of another indicator, e.g. {example}",
                         "indicator", "ratio", i)
        parts.append(ratio[key].strip())
    scale = _number(v, ratio.get("scale", 1), f"{name} ratio scale", 1e-9, 1e12, "indicator", "ratio", i)
    return Ratio(numerator=parts[0], denominator=parts[1], scale=scale)


def _source_part(v: _Validator, by_id: dict[str, Indicator], ind: Indicator, key: str, named: str,
                 i: int) -> Indicator:
    """The other indicator `key` (ratio, fill) names: one of this config, not itself, read from a source."""
    other = by_id.get(named)
    if other is None or other is ind:
        raise v.fail(f"indicator {ind.id!r}: {key} names {named!r}, which is not another indicator of this "
                     f"config{_near(named, [k for k in by_id if k != ind.id])}", "indicator", key, i)
    if other.ratio is not None:
        raise v.fail(f"indicator {ind.id!r}: {key} names {named!r}, which is a ratio itself; name indicators "
                     f"read from a source ({', '.join(s.label for s in BY_NAME.values())})", "indicator", key, i)
    return other


def _check_ratios(v: _Validator, indicators: tuple[Indicator, ...]) -> None:
    """A ratio names two other indicators that are read from a source (not ratios themselves)."""
    by_id = {ind.id: ind for ind in indicators}
    for i, ind in enumerate(indicators):
        if ind.ratio is None:
            continue
        for part in (ind.ratio.numerator, ind.ratio.denominator):
            _source_part(v, by_id, ind, "ratio", part, i)


def _check_fills(v: _Validator, indicators: tuple[Indicator, ...]) -> None:
    """`fill` names another indicator read from a source, and following fills never comes back round."""
    by_id = {ind.id: ind for ind in indicators}
    for i, ind in enumerate(indicators):
        if ind.fill is None:
            continue
        other: Indicator | None = _source_part(v, by_id, ind, "fill", ind.fill, i)
        chain = [ind.id]
        while other is not None:
            if other.id in chain:
                raise v.fail(f"indicator {ind.id!r}: fill goes round in a circle ({' → '.join([*chain, other.id])}); "
                             "one of them must not fill from the other", "indicator", "fill", i)
            chain.append(other.id)
            other = by_id.get(other.fill) if other.fill else None


def _parse_target(v: _Validator, raw: Any, name: str, i: int) -> AnyTarget | None:
    if raw is None:
        return None
    example = "target = { value = 1250, year = 2027 }"
    forms = (f'{example}, target = {{ text = "Minska med 1 procentenhet" }} or target = "{MEDIAN_TARGET}" '
             "(i nivå med jämförbara kommuner)")
    if raw == MEDIAN_TARGET:
        return MedianTarget()
    if not isinstance(raw, dict):
        raise v.fail(f"{name}: target must be written as {forms}; got {raw!r}", "indicator", "target", i)
    v.check_keys(raw, "target", "indicator", i, label=f"{name} target")
    if "text" in raw:
        if set(raw) != {"text"} or not isinstance(raw["text"], str) or not raw["text"].strip():
            raise v.fail(f'{name}: a target in words is written alone, e.g. target = {{ text = "Minska" }}',
                         "indicator", "target", i)
        return TextTarget(raw["text"].strip())
    value, year = raw.get("value"), raw.get("year")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise v.fail(f"{name}: target value must be a number, e.g. {example}", "indicator", "target", i)
    if isinstance(year, bool) or not isinstance(year, int) or not EARLIEST_YEAR <= year <= 2100:
        raise v.fail(f"{name}: target year must be a year, e.g. {example}", "indicator", "target", i)
    return Target(value=float(value), year=year)


def place(config: Config, key: str, value: str) -> str:
    """`file:line` of the line that sets `key` to `value`, for problems found after loading (e.g. by Kolada)."""
    try:
        lines = config.path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return str(config.path)
    pattern = re.compile(r"^\s*" + re.escape(key) + r"\s*=.*" + re.escape(value))
    for no, line in enumerate(lines, start=1):
        if pattern.search(line):
            return f"{config.path}:{no}"
    return str(config.path)


def indicator_place(config: Config, indicator_id: str, key: str) -> str:
    """`file:line` of `key` in the [[indicator]] with this id (or of its header), for problems found later."""
    index = next(i for i, ind in enumerate(config.indicators) if ind.id == indicator_id)
    try:
        text = config.path.read_text(encoding="utf-8-sig")
    except OSError:
        return str(config.path)
    line = _Locator(text).line_of("indicator", key, index)
    return f"{config.path}:{line}" if line else str(config.path)

