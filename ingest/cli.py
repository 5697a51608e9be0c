"""The ``ingest`` command: a thin layer over the package.

ingest simulate --out DEST --weeks N --rows-per-week R --seed S [--end-date D]
ingest run --source SRC --week YYYY-MM-DD      (one market week; rerun replaces it)
ingest run --source SRC --all                  (every scrape folder: backfill)
ingest dbt ARGS...                             (dbt against the configured warehouse)
ingest summary                                 (the market summary from the marts)
ingest export --weeks W [W ...] | --from-week W | --all   (the marts' weeks as Parquet to EXPORT_ROOT)
ingest report [--out DEST] [--week YYYY-MM-DD]  (the market report: a static site, folder or s3://)
ingest db start|stop|dsn|env|psql              (the checkout's embedded PostgreSQL)
ingest airflow-setup | airflow ARGS | airflow-env  (Airflow on this machine)
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import sys
import time
from datetime import date
from typing import TYPE_CHECKING

from ingest.settings import Settings, SettingsError, get_settings

if TYPE_CHECKING:
    from ingest.steps.results import LoadResult


def _eprint(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _one_line(exc: BaseException) -> str:
    """The failure as one line, with the fix where the project knows it (S3 settings)."""
    from ingest.storage import explain_s3_failure

    text = explain_s3_failure(exc) or " ".join(str(exc).split())
    return text[:500] if text else type(exc).__name__


def _week(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from exc


def print_run_summary(result: LoadResult) -> None:
    """The run's ledger as a person reads it: the counts of the ledger definition, then the details."""
    from ingest.steps.schema import COUNTS

    counts, t = result.counts, result.timings
    print(f"week {result.market_week}  run {result.run_id}  {result.status}")
    files = [c for c in COUNTS if c.name.startswith("files_") and c.name != "files_total"]
    print(
        f"  files    {counts['files_total']:>10,}  "
        + ", ".join(f"{c.label} {counts[c.name]:,}" for c in files if counts[c.name] or c.name == "files_loaded")
    )
    for column in COUNTS:
        if column.name.startswith("rows_") and (counts[column.name] or column.name in ("rows_read", "rows_loaded")):
            print(f"  {column.label:<18} {counts[column.name]:>10,}  {column.doc}")
    print(
        f"  check    read = loaded + quarantined + duplicates: {counts['rows_read']:,} = {counts['rows_loaded']:,} "
        f"+ {counts['rows_quarantined']:,} + {counts['rows_duplicate']:,}"
    )
    if result.quarantined_by_reason:
        reasons = ", ".join(f"{k} {v:,}" for k, v in sorted(result.quarantined_by_reason.items()))
        print(f"  quarantine by reason: {reasons}")
    for f in result.rejected_files:
        print(f"  rejected file {f.source_file}: {f.reason} ({f.detail})")
    if t:
        rate = counts["rows_read"] / max(t.get("total_s", 0), 1e-9)
        print(
            f"  time     {t.get('total_s', 0):.1f} s (read+clean {t.get('chunks_s', 0):.1f}, dedup+outliers "
            f"{t.get('merge_s', 0):.1f}, validate || staging || COPY {t.get('validate_and_load_s', 0):.1f})"
            f"  {rate:,.0f} rows/s"
        )
    print(f"  staging  {result.staging_uri}")


def warn_unfinished(source: str, week: date) -> None:
    """One warning line per scrape folder of the week without its ``_SUCCESS`` marker (it still loads)."""
    from ingest.steps.reading import SUCCESS_MARKER, unfinished_folders

    try:
        folders = unfinished_folders(source, week)
    except FileNotFoundError:
        return  # the run itself reports the missing source
    for folder in folders:
        _eprint(
            f"ingest run: warning: {folder} has no {SUCCESS_MARKER} marker (the scrape may be unfinished); loading it"
        )


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from ingest.runner.local import RunInterrupted, WeekRunner, interrupts_as_exceptions
    from ingest.steps.validation import ValidationFailed
    from ingest.steps.week import IngestError, discover_weeks
    from ingest.warehouse.connection import check_reachable, ensure_warehouse
    from ingest.warehouse.load import WeekLocked

    source = args.source or settings.raw_root
    try:
        weeks = discover_weeks(source) if args.all else [args.week]
    except FileNotFoundError as exc:
        _eprint(f"ingest run: {exc}")
        return 2
    if not weeks:
        _eprint(f"ingest run: no scrape_date=YYYY-MM-DD folders under {source}")
        return 2
    check_reachable(ensure_warehouse(settings))  # before any file is read
    failures = 0
    started = time.perf_counter()
    week = weeks[0]
    try:
        with interrupts_as_exceptions(), WeekRunner(settings, workers=args.workers) as runner:
            for week in weeks:
                warn_unfinished(source, week)
                try:
                    result = runner.run(source, week, progress=None if args.quiet else _eprint)
                except (ValidationFailed, IngestError, WeekLocked) as exc:
                    _eprint(f"ingest run: week {week} not loaded: {str(exc).splitlines()[0]}")
                    if isinstance(exc, ValidationFailed):
                        _eprint(str(exc))
                    failures += 1
                    continue
                print_run_summary(result)
    except RunInterrupted as exc:
        _eprint(f"ingest run: week {week} not loaded: {exc}; its workers are stopped and its ledger row is failed")
        return 128 + exc.signum
    if len(weeks) > 1:
        print(f"{len(weeks) - failures}/{len(weeks)} weeks loaded in {time.perf_counter() - started:.1f} s")
    return 1 if failures else 0


def cmd_dbt(args: argparse.Namespace, settings: Settings) -> int:
    from dbt.cli.main import dbtRunner

    from ingest.orchestration.dbt import SINGULAR_TEST_HINT, dbt_environment, failed_singular_tests

    with dbt_environment(settings) as env:
        argv = list(args.dbt_args)
        if "--project-dir" not in argv:
            argv += ["--project-dir", env["DBT_PROJECT_DIR"]]
        if "--profiles-dir" not in argv:
            argv += ["--profiles-dir", env["DBT_PROFILES_DIR"]]
        result = dbtRunner().invoke(argv)
    if not result.success and failed_singular_tests(result.result):
        _eprint(SINGULAR_TEST_HINT)
    return 0 if result.success else 1


def cmd_summary(args: argparse.Namespace, settings: Settings) -> int:
    from ingest.report.summary import print_market_summary

    return print_market_summary(settings, limit=args.limit)


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    from ingest.report.data import ReportError
    from ingest.report.site import publish_report

    try:
        result = publish_report(settings, out=args.out, week=args.week)
    except ReportError as exc:
        _eprint(f"ingest report: {exc}")
        return 1
    print(
        f"market report of the week of {result.week}: {result.n_pages:,} pages ({result.n_brands} brands, "
        f"{result.n_references:,} references), {result.bytes_written / 1e6:.1f} MB in "
        f"{result.load_s + result.render_s + result.write_s:.1f} s (read {result.load_s:.1f}, "
        f"pages {result.render_s:.1f}, write {result.write_s:.1f})"
    )
    print(f"home page: {result.home}")
    return 0


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    import dataclasses

    from ingest.steps.calendar import market_week_of
    from ingest.warehouse.connection import ensure_warehouse
    from ingest.warehouse.export import export_marts

    if args.to:
        settings = dataclasses.replace(settings, export_root=args.to)
    weeks = sorted({market_week_of(w) for w in args.weeks}) if args.weeks else None
    from_week = market_week_of(args.from_week) if args.from_week else None
    result = export_marts(
        settings, weeks, from_week=from_week, marts=args.marts, dsn=ensure_warehouse(settings), run="cli"
    )
    if not result.weeks:
        _eprint(f"ingest export: no mart is built ({', '.join(result.missing)}): run `uv run ingest dbt build`")
        return 1
    for mart, mart_weeks in result.weeks.items():
        print(f"  {mart:<40} {len(mart_weeks):>4} weeks {sum(mart_weeks.values()):>10,} rows")
    if result.missing:
        print(f"  not built (skipped): {', '.join(result.missing)}")
    exported = sum(len(w) for w in result.weeks.values())
    print(f"exported {exported} mart weeks ({result.rows:,} rows) to {result.export_root} (export {result.export_id})")
    return 0


def cmd_db(args: argparse.Namespace, settings: Settings) -> int:
    from ingest.orchestration.dbt import dbt_env, dsn_parts
    from ingest.warehouse.connection import ensure_warehouse, warehouse_dsn
    from ingest.warehouse.embedded import psql_path, stop_embedded_server

    if args.action == "stop":
        if not settings.uses_embedded:
            _eprint("WAREHOUSE_DSN is set: there is no embedded server to stop")
            return 0
        stopped = stop_embedded_server(settings.embedded_pgdata)
        print("embedded PostgreSQL stopped" if stopped else "embedded PostgreSQL was not running")
        return 0
    # dsn, env: where it is (the checkout's recorded port), without starting it
    dsn = ensure_warehouse(settings) if args.action in {"start", "psql"} else warehouse_dsn(settings)
    if args.action in {"start", "dsn"}:
        print(dsn)
    elif args.action == "env":
        parts = dsn_parts(dsn)
        for key, value in dbt_env(settings, dsn).items():
            print(f"export {key}={value}")
        print(f"export WAREHOUSE_DSN={dsn}")
        pg = {"PGHOST": parts["host"], "PGPORT": parts["port"], "PGUSER": parts["user"], "PGDATABASE": parts["dbname"]}
        for key, value in pg.items():
            print(f"export {key}={value}")
    elif args.action == "psql":
        os.execv(str(psql_path()), [str(psql_path()), dsn, *args.psql_args])
    return 0


def cmd_airflow(args: argparse.Namespace, settings: Settings | None = None) -> int:
    from ingest.orchestration import airflow_home

    entry = {
        "airflow-setup": airflow_home.main_airflow_setup,
        "airflow": airflow_home.main_airflow,
        "airflow-env": airflow_home.main_airflow_env,
    }[args.command]
    return entry(list(args.rest))


def build_parser() -> argparse.ArgumentParser:
    from ingest.devtools.simulate import add_simulate_arguments, run_simulate_command

    parser = argparse.ArgumentParser(prog="ingest", description="Watch-market ingest and tooling.")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    sim = sub.add_parser("simulate", help="write simulated weekly scrape folders (local or s3://)")
    add_simulate_arguments(sim)
    sim.set_defaults(func=lambda args, _settings: run_simulate_command(args))

    run = sub.add_parser("run", help="ingest a market week (or --all) into the warehouse")
    run.add_argument("--source", help="raw root: a folder or s3://bucket/prefix (default: RAW_ROOT)")
    which = run.add_mutually_exclusive_group(required=True)
    which.add_argument("--week", type=_week, help="the Monday of the market week to (re)load")
    which.add_argument("--all", action="store_true", help="every scrape folder under the source (backfill)")
    run.add_argument("--workers", type=int, default=2, help="parallel chunk workers (default 2)")
    run.add_argument("--quiet", action="store_true", help="no progress lines")
    run.set_defaults(func=cmd_run)

    dbt = sub.add_parser("dbt", help="run dbt against the configured warehouse (e.g. ingest dbt build)")
    dbt.add_argument("dbt_args", nargs=argparse.REMAINDER)
    dbt.set_defaults(func=cmd_dbt)

    summary = sub.add_parser("summary", help="print the market summary from the marts")
    summary.add_argument("--limit", type=int, default=5)
    summary.set_defaults(func=cmd_summary)

    report = sub.add_parser("report", help="build the market report (a static site) from the marts")
    report.add_argument("--out", help="where to write it: a folder or s3://bucket/prefix (default: REPORT_ROOT)")
    report.add_argument("--week", type=_week, help="the market week to report (default: the latest)")
    report.set_defaults(func=cmd_report)

    export = sub.add_parser("export", help="publish the marts' weeks as Parquet to EXPORT_ROOT (folder or s3://)")
    weeks = export.add_mutually_exclusive_group(required=True)
    weeks.add_argument("--weeks", nargs="+", type=_week, metavar="YYYY-MM-DD", help="these market weeks")
    weeks.add_argument("--from-week", type=_week, metavar="YYYY-MM-DD", help="every week from this one on")
    weeks.add_argument("--all", action="store_true", help="every week the marts hold")
    export.add_argument("--marts", nargs="+", metavar="MART", help="only these marts (default: every mart)")
    export.add_argument("--to", metavar="ROOT", help="export root (default: EXPORT_ROOT)")
    export.set_defaults(func=cmd_export)

    db = sub.add_parser("db", help="the checkout's embedded PostgreSQL: start, stop, dsn, env (exports), psql")
    db.add_argument("action", choices=["start", "stop", "dsn", "env", "psql"])
    db.add_argument("psql_args", nargs=argparse.REMAINDER, help="for psql: arguments passed on to psql")
    db.set_defaults(func=cmd_db)

    for name, text in (
        ("airflow-setup", "migrate the Airflow metadata DB, create pools and connections, parse dbt"),
        ("airflow", "run the airflow CLI with this project's Airflow environment (e.g. airflow dags list)"),
        ("airflow-env", "print export lines of this project's Airflow environment"),
    ):
        command = sub.add_parser(name, help=text, add_help=name != "airflow")
        command.add_argument("rest", nargs=argparse.REMAINDER)
        command.set_defaults(func=cmd_airflow)
    return parser


PASSTHROUGH = ("airflow-setup", "airflow", "airflow-env")


def main(argv: list[str] | None = None) -> int:
    as_program = argv is None  # the console script and ``python -m ingest.cli``
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        settings = get_settings()
    except SettingsError as exc:
        _eprint(f"ingest: {exc}")
        return 2
    if argv and argv[0] in PASSTHROUGH:  # their own parsers take every remaining argument, flags included
        return cmd_airflow(argparse.Namespace(command=argv[0], rest=argv[1:]))
    if argv[:1] == ["run"] and "-h" not in argv and "--help" not in argv:
        from ingest.runner.tuning import start_worker_server, tune_process

        tune_process()  # before anything allocates, and inherited by the workers' server
        start_worker_server()  # the workers' server imports the cleaning code while this process imports its own
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    code = 1
    try:
        code = int(args.func(args, settings) or 0)
        return code
    except KeyboardInterrupt:
        code = 130
        return code
    except Exception as exc:
        if args.verbose:
            raise
        _eprint(f"ingest {args.command}: {_one_line(exc)}")
        return 1
    finally:
        from ingest.runner.tuning import stop_worker_server, trick_enabled

        if as_program and args.command == "run":
            stop_worker_server(after_failure=code != 0)  # the pools are closed: the servers go too
        if as_program and args.command == "run" and trick_enabled("gc"):
            # The process exits next. Frozen, its objects are spared the interpreter's final
            # garbage-collection pass over all of them; the pools, connections and temporary
            # files are closed already.
            gc.freeze()


if __name__ == "__main__":
    raise SystemExit(main())
