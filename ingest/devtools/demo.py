"""``make demo``: the main job, end to end, on the embedded default.

1. simulate a year of weekly scrapes into RAW_ROOT (skipped when already there);
2. backfill every week but the last with the in-process ingest (fast path);
3. build the dbt history (``dbt build``: models and tests);
4. run this week through Airflow: ``airflow dags test`` of the ingest DAG, then
   of the Cosmos-rendered transform DAG (each model with its tests after it, then the
   Parquet export and the market report), their task logs written where the Airflow UI reads them;
5. print the market summary, build the market report (a static site in REPORT_ROOT) and say
   where to look next (the Airflow UI and its login).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from datetime import date
from typing import Any

import psycopg

from ingest import storage
from ingest.settings import Settings, get_settings
from ingest.warehouse.connection import ensure_warehouse


def _say(message: str) -> None:
    print(message, flush=True)


def _simulated_manifest(raw_root: str) -> dict | None:
    uri = storage.join(raw_root, "_simulator", "manifest.json")
    if not storage.exists(uri):
        return None
    return json.loads(storage.read_bytes(uri))


def _complete(raw_root: str, manifest: dict) -> bool:
    """Every simulated scrape folder carries its ``_SUCCESS`` (older simulations wrote none)."""
    from ingest.steps.reading import SUCCESS_MARKER

    return all(storage.exists(storage.join(raw_root, w["folder"], SUCCESS_MARKER)) for w in manifest["weeks"])


def ensure_simulated(settings: Settings, weeks: int, rows: int, seed: int) -> dict:
    from ingest.devtools.simulate import simulate

    manifest = _simulated_manifest(settings.raw_root)
    if (
        manifest
        and (manifest.get("n_weeks"), manifest.get("rows_per_week"), manifest.get("seed"))
        == (
            weeks,
            rows,
            seed,
        )
        and _complete(settings.raw_root, manifest)
    ):
        _say(f"[1/5] simulated scrapes already in {settings.raw_root} (seed {seed}); reusing them")
        return manifest
    if manifest:  # a simulation with other parameters: start from an empty raw root
        storage.delete_tree(settings.raw_root)
    started = time.perf_counter()
    _say(f"[1/5] simulating {weeks} weekly scrapes x {rows:,} rows into {settings.raw_root} ...")
    manifest = simulate(settings.raw_root, weeks=weeks, rows_per_week=rows, seed=seed)
    _say(f"      done in {time.perf_counter() - started:.1f} s")
    return manifest


def loaded_weeks(settings: Settings) -> set[date]:
    """Weeks whose latest ingest run from this raw root succeeded."""
    with psycopg.connect(ensure_warehouse(settings)) as conn:
        exists = conn.execute("select to_regclass(%s)", (f"{settings.raw_schema}.ingest_runs",)).fetchone()[0]
        if not exists:
            return set()
        rows = conn.execute(
            f"""select distinct on (market_week) market_week, status
                from {settings.raw_schema}.ingest_runs where source_root = %s
                order by market_week, started_at desc""",
            (settings.raw_root,),
        ).fetchall()
    return {week for week, status in rows if status == "succeeded"}


def backfill(settings: Settings, weeks: list[date]) -> None:
    from ingest.runner.local import WeekRunner

    done = loaded_weeks(settings)
    todo = [w for w in weeks if w not in done]
    _say(
        f"[2/5] backfilling {len(todo)} of {len(weeks)} history weeks with the in-process ingest "
        f"({len(weeks) - len(todo)} already loaded)"
    )
    started = time.perf_counter()
    rows = 0
    with WeekRunner(settings) as runner:
        for i, week in enumerate(todo, 1):
            summary = runner.run(settings.raw_root, week)
            rows += summary.count("rows_loaded")
            if i == len(todo) or i % 10 == 0:
                _say(f"      {i}/{len(todo)} weeks, {rows:,} listings loaded, {time.perf_counter() - started:.0f} s")


def _warnings_note(warnings: list[str]) -> str:
    """``", N dbt warning(s):"`` and the warning lines, indented; nothing without warnings."""
    if not warnings:
        return ""
    return f", {len(warnings)} dbt warning(s):\n" + "\n".join(f"        WARN {w}" for w in warnings)


#: dbt's summary line of a node that ended ``warn``, as the Airflow tasks log it (plain or in JSON)
_DBT_WARNING_LINE = re.compile(r"Warning in (?:test|model|seed|snapshot) ([\w.]+ \([^)]*\))")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def airflow_dbt_warnings(log_text: str) -> list[str]:
    """``<name> (<path>)`` of dbt's "Warning in test ..." lines of an Airflow run's log, each once, in order."""
    found: list[str] = []
    for match in _DBT_WARNING_LINE.finditer(_ANSI.sub("", log_text)):
        if match.group(1) not in found:
            found.append(match.group(1))
    return found


SCHEMA_CHANGED = "schemas on this incremental model are out of sync"


def build_history(settings: Settings) -> Any:
    """``dbt build`` of the loaded weeks. The incremental models refuse a table whose columns no
    longer match the model (``on_schema_change: fail``): a warehouse built by an earlier version
    of the project is then rebuilt in full, once, rather than patched column by column."""
    from ingest.orchestration.dbt import run_dbt

    try:
        return run_dbt(["build", "--quiet"], settings)
    except RuntimeError as error:
        if SCHEMA_CHANGED not in str(error):
            raise
        _say("      a model's columns changed since the last build: rebuilding every model in full ...")
        return run_dbt(["build", "--quiet", "--full-refresh"], settings)


def run_airflow_week(settings: Settings, week: date) -> None:
    from ingest.orchestration.airflow_home import airflow_env, run_airflow, setup_airflow, write_test_run_logs
    from ingest.orchestration.dags import INGEST_DAG_ID, TRANSFORM_DAG_ID

    env = airflow_env(settings)
    started = time.perf_counter()
    _say("[4/5] this week through Airflow: db migrate, pools, connections, dbt manifest ...")
    setup_airflow(settings, env=env)
    # The week goes in as the runs' params, the logical date is now: a run dated at a past Sunday
    # would start "then" and show days of duration in the UI.
    runs = ((INGEST_DAG_ID, {"week": week.isoformat()}), (TRANSFORM_DAG_ID, {"from_week": week.isoformat()}))
    for dag_id, conf in runs:
        t = time.perf_counter()
        _say(f"      airflow dags test {dag_id} --conf '{json.dumps(conf)}'")
        proc = run_airflow(
            ["dags", "test", dag_id, "--conf", json.dumps(conf)], settings, env=env, check=False, capture=True
        )
        output = proc.stdout + proc.stderr
        log = settings.airflow_home / f"demo-{dag_id}.log"
        log.write_text(output)
        write_test_run_logs(output, dag_id, env)  # the task logs, where the UI reads them
        if proc.returncode != 0 or "state=failed" in output:
            tail = "\n".join(output.splitlines()[-30:])
            raise SystemExit(f"{dag_id} failed (full log: {log}):\n{tail}")
        warnings = airflow_dbt_warnings(output) if dag_id == TRANSFORM_DAG_ID else []
        _say(f"      {dag_id} succeeded in {time.perf_counter() - t:.0f} s (log: {log}){_warnings_note(warnings)}")
    _say(f"      Airflow part took {time.perf_counter() - started:.0f} s")


def main(argv: list[str] | None = None) -> int:
    from ingest.orchestration.dbt import dbt_warnings, run_dbt
    from ingest.report.site import publish_report
    from ingest.report.summary import print_market_summary
    from ingest.steps.week import discover_weeks

    parser = argparse.ArgumentParser(prog="python -m ingest.devtools.demo", description=__doc__)
    parser.add_argument("--weeks", type=int, default=53, help="a year of history plus this week")
    parser.add_argument("--rows-per-week", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--skip-airflow", action="store_true", help="ingest this week with the CLI path instead")
    args = parser.parse_args(argv)

    settings = get_settings()
    started = time.perf_counter()
    _say(f"warehouse: {ensure_warehouse(settings)}" + ("  (embedded)" if settings.uses_embedded else ""))
    ensure_simulated(settings, args.weeks, args.rows_per_week, args.seed)
    weeks = discover_weeks(settings.raw_root)
    history, this_week = weeks[:-1], weeks[-1]
    backfill(settings, history)

    t = time.perf_counter()
    _say("[3/5] dbt build of the history (models + tests) ...")
    result = build_history(settings)
    _say(f"      done in {time.perf_counter() - t:.0f} s{_warnings_note(dbt_warnings(result.result))}")

    if args.skip_airflow:
        from ingest.runner.local import run_week

        _say(f"[4/5] this week ({this_week}) with the CLI ingest and dbt (--skip-airflow)")
        run_week(settings.raw_root, this_week, settings)
        run_dbt(["build", "--quiet", "--vars", json.dumps({"from_week": this_week.isoformat()})], settings)
    else:
        run_airflow_week(settings, this_week)

    _say("[5/5] market summary")
    print_market_summary(settings)
    report = publish_report(settings)  # the transform DAG published it too: this also covers --skip-airflow
    seconds = report.load_s + report.render_s + report.write_s
    _say(f"market report: {report.n_pages:,} pages of the week of {report.week} built in {seconds:.1f} s")
    _say(f"demo finished in {time.perf_counter() - started:.0f} s. Where to look next:")
    if not args.skip_airflow:
        from ingest.orchestration.airflow_home import ADMIN_USER, DEFAULT_API_PORT, admin_password
        from ingest.orchestration.dags import INGEST_DAG_ID, TRANSFORM_DAG_ID

        _say(
            f"  - Airflow UI:       uv run ingest airflow standalone, then http://127.0.0.1:{DEFAULT_API_PORT}"
            f"  (user {ADMIN_USER}, password {admin_password(settings)})"
        )
        _say(
            "                      the demo's runs are there; the DAGs start paused: unpause them with the toggle,"
            f" or uv run ingest airflow dags unpause {INGEST_DAG_ID} (and {TRANSFORM_DAG_ID})"
        )
    _say(
        f"  - marts as Parquet: {settings.export_root}/<mart>/market_week=YYYY-MM-DD/"
        "  (every week: uv run ingest export --all)"
    )
    _say("  - dbt docs site:    make docs-serve                     (http://127.0.0.1:8081)")
    _say(
        f"  - the warehouse:    uv run ingest db psql               (schemas {settings.raw_schema},"
        f" {settings.dbt_schema}: the marts)"
    )
    _say("  - rerun one week:   uv run ingest run --week " + this_week.isoformat())
    _say(f"  - market report:    {report.home}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
