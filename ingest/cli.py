"""The ``ingest`` command: a thin layer over the package.

ingest simulate --out DEST --weeks N --rows-per-week R --seed S [--end-date D]
ingest run --source SRC --week YYYY-MM-DD      (one market week; rerun replaces it)
ingest run --source SRC --all                  (every scrape folder: backfill)
ingest dbt ARGS...                             (dbt against the configured warehouse)
ingest summary                                 (the market summary from the marts)
ingest db start|stop|dsn|env|psql              (the embedded PostgreSQL)
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

from ingest.settings import get_settings


def _eprint(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _week(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from exc


def _print_summary(summary: dict) -> None:
    t = summary.get("timings", {})
    reasons = summary.get("quarantined_by_reason", {})
    print(f"week {summary['market_week']}  run {summary.get('run_id', '')}  {summary['status']}")
    print(
        f"  files    {summary['files_total']:>10,}  loaded {summary['files_loaded']}, "
        f"empty {summary['files_empty']}, rejected {summary['files_rejected']}"
    )
    print(f"  rows     {summary['rows_read']:>10,}  read (in accepted files)")
    print(f"  loaded   {summary['rows_loaded']:>10,}  ({summary['rows_outlier']:,} flagged as outliers)")
    print(f"  quarant. {summary['rows_quarantined']:>10,}")
    print(f"  dupes    {summary['rows_duplicate']:>10,}  removed by dedup")
    print(
        f"  check    read = loaded + quarantined + duplicates: "
        f"{summary['rows_read']:,} = {summary['rows_loaded']:,} + {summary['rows_quarantined']:,} + "
        f"{summary['rows_duplicate']:,}"
    )
    if reasons:
        print("  quarantine by reason: " + ", ".join(f"{k} {v:,}" for k, v in sorted(reasons.items())))
    for f in summary.get("rejected_files", []):
        print(f"  rejected file {f['file']}: {f['reason']} ({f['detail']})")
    if t:
        print(
            f"  time     {t.get('total_s', 0):.1f} s (read+clean {t.get('chunks_s', 0):.1f}, dedup+outliers+"
            f"staging {t.get('merge_s', 0):.1f}, validate || COPY {t.get('validate_and_load_s', 0):.1f})"
            f"  {summary.get('rows_per_second', 0):,} rows/s"
        )
    print(f"  staging  {summary.get('staging_uri', '')}")


def cmd_run(args: argparse.Namespace) -> int:
    from ingest.pipeline import IngestError, WeekRunner, discover_weeks
    from ingest.validation import ValidationFailed

    settings = get_settings()
    source = args.source or settings.raw_root
    try:
        weeks = discover_weeks(source) if args.all else [args.week]
    except FileNotFoundError as exc:
        _eprint(f"ingest run: {exc}")
        return 2
    if not weeks:
        _eprint(f"ingest run: no scrape_date=YYYY-MM-DD folders under {source}")
        return 2
    failures = 0
    started = time.perf_counter()
    runner = WeekRunner(settings, workers=args.workers)
    for week in weeks:
        try:
            summary = runner.run(source, week, progress=None if args.quiet else _eprint)
        except ValidationFailed as exc:
            _eprint(f"ingest run: week {week} not loaded: {str(exc).splitlines()[0]}")
            _eprint(str(exc))
            failures += 1
            continue
        except IngestError as exc:
            _eprint(f"ingest run: week {week} not loaded: {exc}")
            failures += 1
            continue
        _print_summary(summary)
    runner.close()
    if len(weeks) > 1:
        print(f"{len(weeks) - failures}/{len(weeks)} weeks loaded in {time.perf_counter() - started:.1f} s")
    return 1 if failures else 0


def cmd_dbt(args: argparse.Namespace) -> int:
    from dbt.cli.main import dbtRunner

    from ingest.dbt import dbt_environment

    settings = get_settings()
    with dbt_environment(settings) as env:
        argv = list(args.dbt_args)
        if "--project-dir" not in argv:
            argv += ["--project-dir", env["DBT_PROJECT_DIR"]]
        if "--profiles-dir" not in argv:
            argv += ["--profiles-dir", env["DBT_PROFILES_DIR"]]
        result = dbtRunner().invoke(argv)
    return 0 if result.success else 1


def cmd_summary(args: argparse.Namespace) -> int:
    from ingest.summary import print_market_summary

    return print_market_summary(get_settings(), limit=args.limit)


def cmd_db(args: argparse.Namespace) -> int:
    from ingest.dbt import dbt_env
    from ingest.embedded import psql_path, stop_embedded_server

    settings = get_settings()
    if args.action == "stop":
        if not settings.uses_embedded:
            _eprint("WAREHOUSE_DSN is set: there is no embedded server to stop")
            return 0
        stopped = stop_embedded_server(settings.embedded_pgdata)
        print("embedded PostgreSQL stopped" if stopped else "embedded PostgreSQL was not running")
        return 0
    dsn = settings.warehouse_dsn()
    if args.action in {"start", "dsn"}:
        print(dsn)
    elif args.action == "env":
        for key, value in dbt_env(settings).items():
            print(f"export {key}={value}")
        print(f"export WAREHOUSE_DSN={dsn}")
    elif args.action == "psql":
        os.execv(str(psql_path()), [str(psql_path()), dsn])
    return 0


def cmd_airflow(args: argparse.Namespace) -> int:
    from ingest import orchestration

    entry = {
        "airflow-setup": orchestration.main_airflow_setup,
        "airflow": orchestration.main_airflow,
        "airflow-env": orchestration.main_airflow_env,
    }[args.command]
    return entry(list(args.rest))


def build_parser() -> argparse.ArgumentParser:
    from ingest.simulate import add_simulate_arguments, run_simulate_command

    parser = argparse.ArgumentParser(prog="ingest", description="Watch-market ingest and tooling.")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    sim = sub.add_parser("simulate", help="write simulated weekly scrape folders (local or s3://)")
    add_simulate_arguments(sim)
    sim.set_defaults(func=run_simulate_command)

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

    db = sub.add_parser("db", help="the embedded PostgreSQL: start, stop, dsn, env (dbt exports), psql")
    db.add_argument("action", choices=["start", "stop", "dsn", "env", "psql"])
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
    if argv and argv[0] in PASSTHROUGH:  # their own parsers take every remaining argument, flags included
        return cmd_airflow(argparse.Namespace(command=argv[0], rest=argv[1:]))
    if argv[:1] == ["run"] and "-h" not in argv and "--help" not in argv:
        from ingest.workers import start_worker_server, tune_process

        tune_process()  # before anything allocates, and inherited by the workers' server
        start_worker_server()  # the workers' server imports the cleaning code while this process imports its own
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if args.verbose:
            raise
        _eprint(f"ingest {args.command}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
        return 1
    finally:
        if as_program and args.command == "run":
            # The process exits next. Frozen, its objects are spared the interpreter's final
            # garbage-collection pass over all of them (0.1 s after a run); the pools, connections
            # and temporary files are closed already.
            gc.freeze()


if __name__ == "__main__":
    raise SystemExit(main())
