"""Harvest Kolada, SCB and the author's own series into Parquet and build benchmark tables for municipal plans.

Command line: parse arguments, set up logging, wire the rooms together, map outcomes to exit codes.

Written for two audiences: a person at a terminal (progress bar, readable lines) and a cron job
(no bar, one timestamped line per step, silence with --quiet unless something is wrong, and an
exit code that says what happened).
"""
from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, ContextManager

from . import __version__, httpcache, store
from .config import Config, ConfigError, SourceSettings, choose_url, load_config
from .coverage import warn_empty
from .errors import SourceError, Unreachable, UpstreamUnavailable
from .exitcodes import ExitCode
from .lock import LockHeld, run_lock
from .signals import stop_cleanly_on_signals
from .names import NotFound
from .sources import DataSource
from .sources.registry import CATALOGUE, NETWORKED, SOURCES
from .stdio import robust_stdio
from .transport import Limits
from .wording import counted

if TYPE_CHECKING:
    from .harvest import HarvestResult

log = logging.getLogger("harvester")


def default_cache_path() -> Path:
    """HTTP cache outside the dataset: it is not data, and a bad config must leave no trace in output/."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "harvester" / httpcache.CACHE_FILE


def setup_logging(quiet: bool, verbose: bool) -> None:
    level = logging.WARNING if quiet else (logging.DEBUG if verbose else logging.INFO)
    handler = logging.StreamHandler(sys.stderr)
    if sys.stderr.isatty():
        handler.setFormatter(logging.Formatter("%(levelname)s %(message)s" if verbose else "%(message)s"))
    else:  # cron mail and journald: one self-contained line per event
        fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%dT%H:%M:%S%z")
        handler.setFormatter(fmt)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("urllib3", "requests_cache", "matplotlib", "PIL", "fontTools"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


INTERACTIVE_RETRY_SECONDS = 10.0  # a person waiting at a prompt: give up well within 15 s


def _limits(config: Config | None, source: SourceSettings) -> Limits:
    retry = source.max_retry_seconds if config else min(source.max_retry_seconds, INTERACTIVE_RETRY_SECONDS)
    return Limits(timeout=source.timeout, deadline=source.deadline, max_bytes=source.max_response_bytes,
                  max_retry_seconds=retry, backoff=source.backoff)


def _cache(config: Config | None, args: argparse.Namespace) -> Path | None:
    """One HTTP cache file for every source (their URLs never collide)."""
    source = config.source if config else SourceSettings()
    return None if args.no_cache else Path(args.cache or source.cache or default_cache_path())


def _url_option(kind: DataSource) -> str:
    """The attribute argparse gives the source's `--…-api-url` option."""
    assert kind.network is not None
    return kind.network.option.lstrip("-").replace("-", "_")


def _given_urls(args: argparse.Namespace) -> dict[str, str | None]:
    return {kind.name: getattr(args, _url_option(kind), None) for kind in NETWORKED}


def _connect(kind: DataSource, config: Config | None, args: argparse.Namespace,
             lookup: SourceSettings | None = None) -> ContextManager[Any]:
    """The client of `kind` for a command; without a config (the lookups) an interactive one that gives up soon."""
    assert kind.network is not None
    source = config.source if config else (lookup or SourceSettings())
    url = choose_url(kind.network.option, getattr(args, _url_option(kind), None), kind.network.env,
                     source.urls[kind.name])
    return kind.network.connect(url, cache_path=_cache(config, args), refresh=getattr(args, "refresh", False),
                                rate=source.rate, limits=_limits(config, source))


OUTPUT_ROOT = Path("output")


def output_root(args: argparse.Namespace) -> Path:
    """`--output`, else `output/<config stem>/`: each config its own dataset and documents, never mixed."""
    if args.output:
        return Path(args.output)
    config = getattr(args, "config", None)
    return OUTPUT_ROOT / Path(config).stem if config else OUTPUT_ROOT


def _prepare_output(root: Path) -> bool:
    """Create the output root if needed; return whether it was created (to undo it on a config error)."""
    existed = root.exists()
    root.mkdir(parents=True, exist_ok=True)
    if not os.access(root, os.W_OK):
        raise PermissionError(f"[Errno 13] Permission denied: '{root}'")
    return not existed


def _undo_output(root: Path, created: bool) -> None:
    """After a config error or a failed start, leave the disk as it was: a folder this run made, and that holds
    no data (only its lock, a `runs` row of the failure), is removed again, all of it this run's."""
    if created:
        shutil.rmtree(root, ignore_errors=True)


def cmd_fetch(args: argparse.Namespace, *, compare_after: bool = False) -> int:
    from .harvest import harvest

    config = load_config(args.config).with_urls(_given_urls(args))
    root = output_root(args)
    created = _prepare_output(root)
    try:
        with run_lock(root):  # one lock from the fetch through the compare: no other run gets in between
            for line in store.recover(root):
                log.warning("%s", line)
            show = sys.stderr.isatty() and not args.quiet
            with ExitStack() as stack:
                clients = {kind.name: stack.enter_context(_connect(kind, config, args)) for kind in NETWORKED}
                result = harvest(config, root, clients, refresh=args.refresh,
                                 accept_removals=args.accept_removals, show_progress=show,
                                 command="run" if compare_after else "fetch")
            code = _report_harvest(result)
            warn_empty(root, config)
            if compare_after and code in (ExitCode.OK, ExitCode.UNCHANGED, ExitCode.PARTIAL):
                compare_code = _compare(config, root, args, harvested=result.outcome != "failed")
                if compare_code != ExitCode.OK:
                    return compare_code
    except (ConfigError, OSError):
        _undo_output(root, created)
        raise
    if result.outcome == "failed":  # nobody listening, a name that does not resolve: a fresh folder stays unmade
        _undo_output(root, created)
    return code


def _report_harvest(result: HarvestResult) -> int:
    """One line for the run; a failed or partial run says its first problem in that same line (cron mail)."""
    summary = (f"fetch {result.outcome} in {result.seconds:.1f} s: {counted(result.added, 'row')} added, "
               f"{result.changed} changed, {result.removed} removed; {counted(result.requests, 'request')}, "
               f"{result.cached} from cache")
    if result.outcome in ("failed", "partial"):
        more = len(result.failures) - 1
        log.error("%s. %s%s", summary, result.failures[0],
                  f" (and {more} more problem{'s' * (more > 1)}: `harvester status`)" if more > 0 else "")
        return ExitCode.UPSTREAM if result.outcome == "failed" else ExitCode.PARTIAL
    log.info("%s", summary)
    return ExitCode.OK if result.outcome == "success" else ExitCode.UNCHANGED


def _compare(config: Config, root: Path, args: argparse.Namespace, harvested: bool = False) -> int:
    from .report import ReportError, write_report

    try:
        report = write_report(config, root, revised_since=args.revised_since or config.revised_since,
                              force=args.force, as_of=args.as_of or config.as_of)
    except ReportError as exc:
        return _fail(ExitCode.CONFIG, str(exc))
    except OSError as exc:
        done = "the harvest was committed, but " if harvested else ""
        return _fail(ExitCode.OUTPUT, f"{done}the tables and documents could not be written ({exc}); "
                                      "the previous ones are kept")
    for note in report.notes:  # the tables say so too; not worth a nightly cron mail
        log.info("compare: %s", note)
    if report.files:
        log.info("compare: wrote %d files under %s (report.docx, report.html, tables/, charts/, benchmark.csv)%s",
                 len(report.files), root, f"; {report.kept} unchanged kept as they were" if report.kept else "")
    else:
        log.info("compare: nothing changed since the last compare; the %d files under %s are kept as they were "
                 "(--force rewrites them)", report.kept, root)
    if report.removed:
        log.info("compare: removed %d files of indicators no longer in the config: %s", len(report.removed),
                 ", ".join(report.removed))
    return ExitCode.OK


def cmd_compare(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    root = output_root(args)
    if not root.is_dir():
        raise ConfigError(f"{root}: no dataset here yet; run `harvester fetch --config {args.config}` first")
    with run_lock(root):
        return _compare(config, root, args)


def cmd_run(args: argparse.Namespace) -> int:
    return cmd_fetch(args, compare_after=True)


def cmd_status(args: argparse.Namespace) -> int:
    from .status import print_status

    config = load_config(args.config) if args.config else None
    print_status(output_root(args), config, sys.stdout)
    return ExitCode.OK


def cmd_changes(args: argparse.Namespace) -> int:
    from .status import print_changes

    print_changes(output_root(args), args.since, sys.stdout, csv=args.csv)
    return ExitCode.OK


def _kpi_line(kpi: dict) -> str:  # type: ignore[type-arg]
    return (f"{kpi['id']}  {kpi.get('title', '')}  [{kpi.get('operating_area') or '–'}; "
            f"latest {kpi.get('publ_period') or '–'}; {kpi.get('municipality_type')}]")


def _municipality_line(m: dict) -> str:  # type: ignore[type-arg]
    return f"{m['id']}  {m.get('title', '')}  ({'kommun' if m.get('type') == 'K' else 'region/riket'})"


SEARCHES = {"kpi": ("kpis", _kpi_line, "KPI"), "municipality": ("municipalities", _municipality_line, "municipality")}


def _lookup_source(args: argparse.Namespace) -> SourceSettings:
    """A lookup's `--config`: its source URLs and settings (a lookup still gives up soon, as at a prompt)."""
    return load_config(args.config).source if getattr(args, "config", None) else SourceSettings()


def cmd_search(args: argparse.Namespace) -> int:
    """`harvester kpi search …` and `harvester municipality search …`: by id, or by title words with å/ä/ö folded."""
    from .names import lookup

    method, line, what = SEARCHES[args.command]
    words = " ".join(args.words)
    with _connect(CATALOGUE, None, args, _lookup_source(args)) as client:
        found = lookup(words, getattr(client, method)())
    return _print_found([line(item) for item in found], f"no {what} has the id or a title containing {words!r}")


def _print_found(lines: list[str], nothing: str) -> int:
    """A search's hits on stdout; none is exit 2 with a line on stderr (a script can tell)."""
    for line in lines:
        print(line)
    if not lines:
        print(nothing, file=sys.stderr)
        return ExitCode.CONFIG
    return ExitCode.OK


def cmd_groups(args: argparse.Namespace) -> int:
    from .names import match_municipality
    from .resolve import groups_for

    with _connect(CATALOGUE, None, args, _lookup_source(args)) as client:
        municipalities = client.municipalities()
        home = match_municipality(args.municipality, municipalities)
        title = next(str(m["title"]) for m in municipalities if str(m["id"]) == home)
        groups = groups_for(client.municipality_groups(), home, title)
    for g in groups:
        print(f"{g['id']}  {g['title']}  ({len(g.get('members', []))} members)")
    return ExitCode.OK


def cmd_similar(args: argparse.Namespace) -> int:
    """`harvester similar HOME`: the computed similar kommuner, fetched through the dataset like `fetch`."""
    from .similar_cli import recipe_of, run_similar

    config = load_config(args.config).with_urls(_given_urls(args)) if args.config else None
    recipe, where = recipe_of(args, config)  # a bad recipe costs nothing: checked before any request or file
    root = Path(args.output) if args.output else output_root(args) if config else OUTPUT_ROOT / "similar"
    created = _prepare_output(root)
    try:
        with run_lock(root), _connect(CATALOGUE, config, args) as client:
            return run_similar(args, client, root, recipe, where, config)
    except (ConfigError, NotFound, OSError):
        _undo_output(root, created)
        raise


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-01-31") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="harvester", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"harvester {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors (for cron)")
    common.add_argument("-v", "--verbose", action="store_true", help="log every request")
    nets = {kind.name: _url_parser(kind) for kind in NETWORKED}  # each command lists only the sources it asks
    every_net, catalogue_net = list(nets.values()), nets[CATALOGUE.name]
    net = argparse.ArgumentParser(add_help=False)
    net.add_argument("--cache", help=f"HTTP cache file (default {default_cache_path()})")
    net.add_argument("--no-cache", action="store_true", help="do not read or write the HTTP cache")
    lookup_cfg = argparse.ArgumentParser(add_help=False)
    lookup_cfg.add_argument("--config", help="ask the sources this config names (" + ", ".join(
        f"[{kind.network.section}] api_url" for kind in NETWORKED if kind.network) + ")")
    out = argparse.ArgumentParser(add_help=False)
    out.add_argument("--output", help=f"dataset root (default: {OUTPUT_ROOT}/<config file name without .toml>, "
                                      f"so two configs never share one; {OUTPUT_ROOT} without a config)")
    cfg = argparse.ArgumentParser(add_help=False)
    cfg.add_argument("--config", required=True, help="the TOML config, e.g. config/kpis.toml")
    fetch_opts = argparse.ArgumentParser(add_help=False)
    fetch_opts.add_argument("--refresh", action="store_true", help="fetch everything again, ignoring cursors and cache")
    fetch_opts.add_argument("--accept-removals", action="store_true",
                            help="store answers that remove or empty many stored values (held back as suspicious "
                                 "otherwise; look at them first)")
    cmp_opts = argparse.ArgumentParser(add_help=False)
    cmp_opts.add_argument("--revised-since", type=_date,
                          help="footnote values Kolada revised on or after this date (default: [report] revised_since)")
    cmp_opts.add_argument("--as-of", type=_date, metavar="DATE",
                          help="documents from the values the dataset held at the end of DATE (UTC), as a plan "
                               "written then quoted them (default: [report] as_of)")
    cmp_opts.add_argument("--force", action="store_true",
                          help="rewrite every table, chart and document, even those whose inputs did not change")

    commands: list[tuple[str, Callable[[argparse.Namespace], int], list[argparse.ArgumentParser], str]] = [
        ("fetch", cmd_fetch, [common, cfg, *every_net, net, out, fetch_opts],
         "harvest the configured KPIs into the dataset"),
        ("compare", cmd_compare, [common, cfg, out, cmp_opts], "benchmark tables and charts from the dataset"),
        ("run", cmd_run, [common, cfg, *every_net, net, out, fetch_opts, cmp_opts],
         "fetch, then compare (the nightly job)"),
        ("status", cmd_status, [common, out], "last run, dataset size, newest periods, next publications"),
        ("changes", cmd_changes, [common, out], "values Kolada revised or withdrew"),
        ("groups", cmd_groups, [common, lookup_cfg, catalogue_net, net], "the comparison groups a municipality belongs to"),
    ]
    for name, func, parents, help_text in commands:
        p = sub.add_parser(name, parents=parents, help=help_text, description=help_text)
        p.set_defaults(func=func)
        if name == "status":
            p.add_argument("--config", help="show newest periods per indicator of this config (and read its dataset)")
        if name == "changes":
            p.add_argument("--config", help="the config whose dataset to read (for the default --output)")
            p.add_argument("--since", type=_date, help="only changes detected on or after this date")
            p.add_argument("--csv", action="store_true", help="machine-readable output")
        if name == "groups":
            p.add_argument("municipality", help="id or name, e.g. 0484 or Eskilstuna")
    for name, help_text in (("kpi", "search KPIs by id or title words"), ("municipality", "search municipalities by id or name")):
        p = sub.add_parser(name, help=help_text)
        inner = p.add_subparsers(dest="action", required=True, metavar="ACTION")
        s = inner.add_parser("search", parents=[common, lookup_cfg, catalogue_net, net], help=help_text,
                             description=f"{help_text}: an id, or words of the title (case and å/ä/ö do not matter)")
        s.add_argument("words", nargs="+", help="an id (N35001, 0484) or words of the title, e.g. missbruk vuxna")
        s.set_defaults(func=cmd_search)
    from .similar_cli import add_similar_parser

    add_similar_parser(sub, [common, catalogue_net, net, out], cmd_similar)
    for kind in SOURCES:  # a source's own lookups (`harvester scb search`), with the options they need
        if kind.commands is not None:
            kind.commands(sub, [common, lookup_cfg, *([nets[kind.name]] if kind.name in nets else []), net],
                          lambda args, kind=kind: _connect(kind, None, args, _lookup_source(args)), _print_found)
    return parser


def _url_parser(kind: DataSource) -> argparse.ArgumentParser:
    """The `--…-api-url` option of one networked source, with the precedence `choose_url` keeps."""
    assert kind.network is not None
    net = kind.network
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument(net.option, help=f"{net.what} base URL; wins over {net.env}, which wins over "
                                         f"[{net.section}] api_url (default {net.default})")
    return parser


def _refuse_extras(parser: argparse.ArgumentParser, args: argparse.Namespace, extra: list[str]) -> None:
    """An unknown option is refused by the command it was given to, naming the options that command takes."""
    for name in (args.command, getattr(args, "action", None)):
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs or name not in subs[0].choices:
            break
        parser = subs[0].choices[name]
    options = sorted(o for a in parser._actions for o in a.option_strings if o.startswith("--"))
    parser.error(f"unrecognized arguments: {' '.join(extra)}; `{parser.prog}` takes {', '.join(options)}")


def main(argv: Sequence[str] | None = None) -> int:
    robust_stdio()
    stop_cleanly_on_signals()
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        _refuse_extras(parser, args, extra)
    setup_logging(args.quiet, args.verbose)
    try:
        return int(args.func(args))
    except ConfigError as exc:
        return _fail(ExitCode.CONFIG, str(exc))
    except NotFound as exc:  # the search commands
        return _fail(ExitCode.CONFIG, str(exc.args[0] if exc.args else exc))
    except LockHeld as exc:
        return _fail(ExitCode.LOCKED, str(exc))
    except Unreachable as exc:
        return _fail(ExitCode.UPSTREAM, str(exc))
    except UpstreamUnavailable as exc:
        return _fail(ExitCode.UPSTREAM, f"the source is unavailable: {exc}")
    except SourceError as exc:
        return _fail(ExitCode.UPSTREAM, str(exc))
    except BrokenPipeError:  # `harvester changes | head`: the reader had enough, which is no error
        _silence_stdout()
        return ExitCode.OK
    except store.CorruptDataset as exc:
        return _fail(ExitCode.OUTPUT, str(exc))
    except store.CommitIncomplete as exc:
        return _fail(ExitCode.OUTPUT, f"cannot write the output: {exc}")
    except OSError as exc:
        return _fail(ExitCode.OUTPUT, f"cannot write the output ({exc}); nothing was committed, the previous "
                                      "dataset is unchanged")
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM/SIGHUP as `signals.Stopped`
        return _fail(getattr(exc, "code", ExitCode.INTERRUPTED), f"{exc or 'interrupted'}; the previous dataset is "
                     "unchanged")
    except Exception:  # a bug: say so, with everything needed to fix it
        log.exception("unexpected error: this is a bug in harvester %s; please report it with this log", __version__)
        return ExitCode.INTERNAL


def _silence_stdout() -> None:
    """After a closed pipe, point stdout at /dev/null so Python's exit-time flush cannot complain."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def _fail(code: int, message: str) -> int:
    print(f"harvester: error: {message}", file=sys.stderr)
    return int(code)


if __name__ == "__main__":
    sys.exit(main())
