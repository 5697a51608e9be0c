"""``make demo``: the main job, end to end, on the embedded default.

1. simulate a year of weekly scrapes into RAW_ROOT (skipped when already there);
2. backfill every week but the last with the in-process ingest (fast path);
3. build the dbt history (``dbt build``: models and tests);
4. run this week through Airflow: ``airflow dags test`` of the ingest DAG, then
   of the Cosmos-rendered transform DAG (each model with its tests after it);
5. print the market summary and where to look next.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date, timedelta

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


def ensure_simulated(settings: Settings, weeks: int, rows: int, seed: int) -> dict:
    from ingest.devtools.simulate import simulate

    manifest = _simulated_manifest(settings.raw_root)
    if manifest and (manifest.get("n_weeks"), manifest.get("rows_per_week"), manifest.get("seed")) == (
        weeks,
        rows,
        seed,
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


SCHEMA_CHANGED = "schemas on this incremental model are out of sync"


def build_history(settings: Settings) -> None:
    """``dbt build`` of the loaded weeks. The incremental models refuse a table whose columns no
    longer match the model (``on_schema_change: fail``): a warehouse built by an earlier version
    of the project is then rebuilt in full, once, rather than patched column by column."""
    from ingest.orchestration.dbt import run_dbt

    try:
        run_dbt(["build", "--quiet"], settings)
    except RuntimeError as error:
        if SCHEMA_CHANGED not in str(error):
            raise
        _say("      a model's columns changed since the last build: rebuilding every model in full ...")
        run_dbt(["build", "--quiet", "--full-refresh"], settings)


def run_airflow_week(settings: Settings, week: date) -> None:
    from ingest.orchestration.airflow_home import airflow_env, run_airflow, setup_airflow
    from ingest.orchestration.dags import INGEST_DAG_ID, TRANSFORM_DAG_ID

    env = airflow_env(settings)
    started = time.perf_counter()
    _say("[4/5] this week through Airflow: db migrate, pools, connections, dbt manifest ...")
    setup_airflow(settings, env=env)
    run_date = (week + timedelta(days=6)).isoformat()  # the Sunday 00:00 run of that ISO week
    for dag_id in (INGEST_DAG_ID, TRANSFORM_DAG_ID):
        t = time.perf_counter()
        _say(f"      airflow dags test {dag_id} {run_date}")
        proc = run_airflow(["dags", "test", dag_id, run_date], settings, env=env, check=False, capture=True)
        log = settings.airflow_home / f"demo-{dag_id}.log"
        log.write_text(proc.stdout + proc.stderr)
        if proc.returncode != 0 or "state=failed" in proc.stdout + proc.stderr:
            tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-30:])
            raise SystemExit(f"{dag_id} failed (full log: {log}):\n{tail}")
        _say(f"      {dag_id} succeeded in {time.perf_counter() - t:.0f} s (log: {log})")
    _say(f"      Airflow part took {time.perf_counter() - started:.0f} s")


def main(argv: list[str] | None = None) -> int:
    from ingest.orchestration.dbt import run_dbt
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
    build_history(settings)
    _say(f"      done in {time.perf_counter() - t:.0f} s")

    if args.skip_airflow:
        from ingest.runner.local import run_week

        _say(f"[4/5] this week ({this_week}) with the CLI ingest and dbt (--skip-airflow)")
        run_week(settings.raw_root, this_week, settings)
        run_dbt(["build", "--quiet", "--vars", json.dumps({"from_week": this_week.isoformat()})], settings)
    else:
        run_airflow_week(settings, this_week)

    _say("[5/5] market summary")
    print_market_summary(settings)
    _say(f"demo finished in {time.perf_counter() - started:.0f} s. Where to look next:")
    _say("  - Airflow UI:       uv run ingest airflow standalone   (or `make airflow-e2e` for the Celery stack)")
    _say("  - dbt docs site:    make docs-serve                     (http://127.0.0.1:8081)")
    _say("  - the warehouse:    uv run ingest db psql               (schemas raw, analytics_*)")
    _say("  - rerun one week:   uv run ingest run --week " + this_week.isoformat())
    return 0


if __name__ == "__main__":
    sys.exit(main())
