"""DAG integrity: every DAG file imports, and the DAGs are wired as documented.

Parsing needs no database and no network (conventions: nothing at parse time);
the transform DAG renders from ``dbt_project/target/manifest.json``. Parse times
are printed (``pytest -s``), not asserted: a timed assertion would be flaky on a
loaded CI machine. ``scripts/airflow_e2e.py --bench`` measures them in a fresh
interpreter.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from ingest.orchestration.dags import (
    INGEST_DAG_ID,
    LISTINGS_ASSET_NAME,
    LISTINGS_ASSET_URI,
    TRANSFORM_DAG_ID,
    alert_on_failure,
    transform_from_week,
    week_to_process,
)
from ingest.settings import POOL_SETTINGS

REPO = Path(__file__).resolve().parents[2]
DAGS = REPO / "airflow" / "dags"

MODES = ["local", "watcher"]


@pytest.fixture(scope="module", params=MODES)
def parsed(request: pytest.FixtureRequest, dbt_manifest: Path, dag_parser) -> tuple[str, dict, dict[str, float]]:
    dags, errors, seconds = dag_parser(request.param)
    assert not errors, f"import errors: {errors}"
    print(f"\n[{request.param}] DagBag parse seconds (in-process, warm imports): {seconds}")
    return request.param, dags, seconds


def test_both_dags_present(parsed):
    _, dags, _ = parsed
    assert {INGEST_DAG_ID, TRANSFORM_DAG_ID} <= set(dags)


def test_common_conventions(parsed):
    _, dags, _ = parsed
    for dag in (dags[INGEST_DAG_ID], dags[TRANSFORM_DAG_ID]):
        assert dag.catchup is False
        assert dag.max_active_runs == 1
        assert "watch-market" in dag.tags and len(dag.tags) >= 2
        assert dag.doc_md and len(dag.doc_md) > 200
        assert dag.start_date.tzinfo is not None and dag.start_date.utcoffset() == timedelta(0)
        assert dag.default_args["on_failure_callback"] is alert_on_failure
        assert dag.default_args["retries"] >= 2
        assert dag.default_args["retry_exponential_backoff"] is True
        assert dag.default_args["max_retry_delay"] <= timedelta(hours=1)
        assert dag.owner == "data-platform"


def test_ingest_dag(parsed):
    _, dags, _ = parsed
    dag = dags[INGEST_DAG_ID]
    assert dag.timetable.expression == "0 0 * * 0"  # Sunday 00:00 ...
    assert str(dag.timetable.timezone) in {"UTC", "Timezone('UTC')"}  # ... UTC
    assert dag.default_args["retries"] == 3
    assert "week" in dag.params
    tasks = {t.task_id: t for t in dag.tasks}
    assert set(tasks) == {
        "scrape_markers",
        "wait_for_scrape",
        "plan",
        "chunks.process_chunk",
        "merge",
        "validate",
        "load",
    }
    folders = tasks["scrape_markers"]
    assert type(folders).__name__ == "ScrapeFolderSensor" and folders.deferrable is True
    assert folders.retries == 0 and folders.timeout == 24 * 3600  # no scrape folder: fails at once (manual runs)
    sensor = tasks["wait_for_scrape"]
    assert type(sensor).__name__ == "ScrapeMarkerSensor"  # RAW_ROOT is a local folder here
    assert sensor.deferrable is True and sensor.retries == 0
    assert sensor.timeout == 24 * 3600 and sensor.poke_interval == 180
    assert sensor.upstream_task_ids == {"scrape_markers"}
    assert tasks["plan"].upstream_task_ids == {"wait_for_scrape"}
    chunk = tasks["chunks.process_chunk"]
    assert chunk.pool == "ingest_chunks_pool"
    assert "MappedOperator" in type(chunk).__name__  # .expand()ed over the chunk indexes
    assert chunk.upstream_task_ids == {"plan"}
    assert tasks["merge"].upstream_task_ids >= {"chunks.process_chunk", "plan"}
    assert tasks["validate"].retries == 0
    assert tasks["load"].upstream_task_ids >= {"merge", "validate"}
    outlets = [getattr(o, "name", None) for o in tasks["load"].outlets]
    assert outlets == [LISTINGS_ASSET_NAME]
    assert all(t.on_failure_callback for t in tasks.values())


def test_transform_dag_is_scheduled_on_the_asset(parsed):
    _, dags, _ = parsed
    dag = dags[TRANSFORM_DAG_ID]
    assert type(dag.timetable).__name__ == "AssetTriggeredTimetable"
    condition = dag.timetable.asset_condition
    names = {asset.name for asset in getattr(condition, "objects", [condition])}
    assert names == {LISTINGS_ASSET_NAME}
    assert "from_week" in dag.params
    resolve = dag.get_task("resolve_week")
    roots = {t.task_id for t in dag.roots}
    assert roots == {"resolve_week"}, "every dbt task waits for the week to be resolved"
    assert resolve.downstream_task_ids
    export = dag.get_task("export_marts")
    assert {t.task_id for t in dag.leaves} == {"export_marts", "publish_report"}, "both wait for every dbt task"
    dbt_tasks = {t.task_id for t in dag.tasks if t.task_id.startswith("dbt.")}
    assert dbt_tasks & export.upstream_task_ids and "resolve_week" in export.upstream_task_ids


def test_report_is_published_after_every_dbt_task(parsed):
    """The report waits for every model and test: a failing dbt test leaves it upstream_failed."""
    _, dags, _ = parsed
    dag = dags[TRANSFORM_DAG_ID]
    report = dag.get_task("publish_report")
    assert report.trigger_rule == "all_success"
    ancestors = set(report.get_flat_relative_ids(upstream=True))
    dbt_tasks = {t.task_id for t in dag.tasks if t.task_id.startswith("dbt.")}
    assert dbt_tasks and dbt_tasks <= ancestors
    assert report.upstream_task_ids <= dbt_tasks
    assert report.on_failure_callback


def _manifest_models(manifest_path: Path) -> tuple[dict[str, dict], dict[str, list[str]]]:
    manifest = json.loads(manifest_path.read_text())
    project = manifest["metadata"]["project_name"]
    models = {
        node["name"]: node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        and node["package_name"] == project
        and node["config"].get("materialized") != "ephemeral"
    }
    tests_of: dict[str, list[str]] = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] == "test":
            for parent in node["depends_on"]["nodes"]:
                if parent.startswith("model."):
                    tests_of.setdefault(parent.split(".")[-1], []).append(node["name"])
    return models, tests_of


def _run_task_id(task_ids: set[str], model: str) -> str | None:
    """Cosmos renders a model with tests as a group ``<model>.run`` + ``<model>.test``, else ``<model>_run``."""
    for candidate in (f"dbt.{model}.run", f"dbt.{model}_run"):
        if candidate in task_ids:
            return candidate
    return None


def test_every_dbt_model_is_a_task_with_its_tests_after_it(parsed, dbt_manifest):
    mode, dags, _ = parsed
    dag = dags[TRANSFORM_DAG_ID]
    models, tests_of = _manifest_models(dbt_manifest)
    assert models, "the dbt project has no models"
    task_ids = {t.task_id for t in dag.tasks}
    missing = [m for m in models if _run_task_id(task_ids, m) is None]
    assert not missing, f"models without a task: {missing}"
    for name in models:
        run_task = dag.get_task(_run_task_id(task_ids, name))
        if tests_of.get(name):
            test_id = f"dbt.{name}.test"
            assert test_id in task_ids, f"{name} has tests but no test task"
            assert test_id in run_task.downstream_task_ids
            test_task = dag.get_task(test_id)
            assert test_task.retries == 0, "a failed data test must fail at once"
            assert "Test" in type(test_task).__name__
            gate = test_task
        else:
            gate = run_task
        # every model that refs this one waits for this model's tests
        for child in models.values():
            parents = {p.split(".")[-1] for p in child["depends_on"]["nodes"] if p.startswith("model.")}
            if name in parents:
                assert _run_task_id(task_ids, child["name"]) in gate.downstream_task_ids, (
                    f"{child['name']} does not wait for {gate.task_id}"
                )
    if mode == "watcher":
        assert "dbt.dbt_producer_watcher" in task_ids


def test_multi_parent_tests_run_after_all_their_parents_and_gate_their_children(parsed, dbt_manifest):
    """local: a test on several models is its own task (detached); it must wait for every parent,
    never retry, and stop the children of its parents (where no cycle). watcher: such a test is
    reported by each parent's test task (Cosmos aggregates per parent), so nothing is detached."""
    mode, dags, _ = parsed
    dag = dags[TRANSFORM_DAG_ID]
    detached = [t for t in dag.tasks if t.task_id.endswith("_test") and "Test" in type(t).__name__]
    manifest = json.loads(dbt_manifest.read_text())
    multi_parent = [
        n["name"]
        for n in manifest["nodes"].values()
        if n["resource_type"] == "test" and len([p for p in n["depends_on"]["nodes"] if p.startswith("model.")]) > 1
    ]
    if mode == "watcher":
        assert detached == []
        return
    assert len(detached) == len(multi_parent)
    for test in detached:
        assert len(test.upstream_task_ids) >= 2, test.task_id
        assert test.retries == 0
        ancestors = set(test.get_flat_relative_ids(upstream=True))
        for parent in test.upstream_list:
            for child in parent.downstream_list:
                if child is test or "Test" in type(child).__name__:
                    continue
                assert child.task_id in test.downstream_task_ids or child.task_id in ancestors, (
                    f"{child.task_id} is not gated by {test.task_id}"
                )


def test_pools_from_dbt_meta_are_honoured(parsed, dbt_manifest):
    _, dags, _ = parsed
    dag = dags[TRANSFORM_DAG_ID]
    models, _ = _manifest_models(dbt_manifest)
    expected = {
        name: node["config"].get("meta", {}).get("cosmos", {}).get("operator_kwargs", {}).get("pool")
        for name, node in models.items()
    }
    pooled = {name: pool for name, pool in expected.items() if pool}
    assert pooled, "no model sets meta.cosmos.operator_kwargs.pool in dbt_project.yml"
    assert set(pooled.values()) <= set(POOL_SETTINGS), "a dbt pool is not one of the configured pools"
    task_ids = {t.task_id for t in dag.tasks}
    for name, pool in pooled.items():
        assert dag.get_task(_run_task_id(task_ids, name)).pool == pool
        if f"dbt.{name}.test" in task_ids:
            assert dag.get_task(f"dbt.{name}.test").pool == pool


def test_dag_files_do_no_work_at_parse_time():
    """No database or network at parse time: the DAG files import with a DSN nobody listens on."""
    code = (
        "import time, json; t = time.perf_counter()\n"
        "from airflow.dag_processing.dagbag import DagBag\n"
        f"bag = DagBag(dag_folder={str(DAGS)!r})\n"
        "print('RESULT ' + json.dumps({'errors': {k: str(v)[-300:] for k, v in bag.import_errors.items()},"
        " 'dags': sorted(bag.dags)}))\n"
    )
    env = {
        **os.environ,
        "WAREHOUSE_DSN": "postgresql://nobody:x@127.0.0.1:9/none",
        "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9",
        "RAW_ROOT": "s3://nowhere/raw",
    }
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=REPO, timeout=300, check=False
    )
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
    assert line, proc.stderr[-3000:]
    result = json.loads(line[7:])
    assert result["errors"] == {}
    assert result["dags"] == sorted([INGEST_DAG_ID, TRANSFORM_DAG_ID])


def test_parse_time_per_file_is_printed():
    """Each file in a fresh interpreter that already imported airflow (as the dag-processor has)."""
    code = (
        "import sys, time\nimport airflow, airflow.sdk\n"
        "from airflow.dag_processing.dagbag import DagBag\n"
        "t = time.perf_counter(); bag = DagBag(dag_folder=sys.argv[1]); dt = time.perf_counter() - t\n"
        "assert not bag.import_errors, bag.import_errors\nprint(f'SECONDS {dt:.2f}')\n"
    )
    for path in sorted(DAGS.glob("*.py")):
        proc = subprocess.run(
            [sys.executable, "-c", code, str(path)], capture_output=True, text=True, cwd=REPO, timeout=300, check=False
        )
        line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("SECONDS ")), None)
        assert line, proc.stderr[-3000:]
        print(f"\nparse time of {path.name}: {line.split()[1]} s (target < 2 s)")


# ---------------------------------------------------------------------------- helpers of the DAGs


def test_week_of_a_scheduled_run_is_the_week_just_finishing():
    sunday_run = datetime(2024, 6, 9, 0, 0, tzinfo=UTC)
    assert week_to_process({"logical_date": sunday_run, "params": {"week": None}}) == date(2024, 6, 3)
    assert week_to_process({"logical_date": sunday_run, "params": {"week": "2024-05-15"}}) == date(2024, 5, 13)
    run = SimpleNamespace(logical_date=None, run_after=datetime(2024, 6, 5, 12, tzinfo=sunday_run.tzinfo))
    assert week_to_process({"logical_date": None, "dag_run": run, "params": {}}) == date(2024, 6, 3)


def test_transform_week_comes_from_the_asset_events():
    from airflow.sdk import Asset

    asset = Asset(name=LISTINGS_ASSET_NAME, uri=LISTINGS_ASSET_URI)
    events = {
        asset: [
            SimpleNamespace(extra={"market_week": "2024-06-10"}),
            SimpleNamespace(extra={"market_week": "2024-06-03"}),
        ]
    }
    sunday = datetime(2024, 6, 23, tzinfo=UTC)
    ctx = {"triggering_asset_events": events, "logical_date": sunday, "params": {}}
    assert transform_from_week(ctx) == date(2024, 6, 3)
    assert transform_from_week({**ctx, "params": {"from_week": "2024-01-03"}}) == date(2024, 1, 1)
    assert transform_from_week({"triggering_asset_events": {}, "logical_date": sunday, "params": {}}) == date(
        2024, 6, 17
    )


def test_failure_callback_logs_one_alert_line(caplog):
    ti = SimpleNamespace(dag_id=INGEST_DAG_ID, task_id="load", map_index=-1, try_number=2, run_id="r1")
    run = SimpleNamespace(run_id="scheduled__2024-06-09", dag_id=INGEST_DAG_ID)
    context = {
        "task_instance": ti,
        "dag_run": run,
        "params": {"week": "2024-06-05"},
        "logical_date": datetime(2024, 6, 9, tzinfo=UTC),
        "exception": RuntimeError("COPY failed:\n connection reset"),
    }
    with caplog.at_level(logging.ERROR, logger="watch_market.alerts"):
        alert_on_failure(context)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("ALERT")]
    assert len(lines) == 1
    line = lines[0]
    for part in (
        f"dag={INGEST_DAG_ID}",
        "task=load",
        "run=scheduled__2024-06-09",
        "week=2024-06-03",
        "try=2",
        "exception=RuntimeError: COPY failed: connection reset",
    ):
        assert part in line
    alert_on_failure({})  # never raises, whatever the context
