"""A failing error-severity dbt test stops everything downstream of it.

In a scratch copy of the dbt project, a deliberately failing singular test is
attached to the upstream model with the most descendants. The transform DAG then
runs with ``airflow dags test`` (in-process execution, no Celery) against a
small simulated week loaded into a fresh warehouse, in each Cosmos execution
mode. Expected: the model itself builds, its test task fails (with an ``ALERT``
line), every task downstream of it ends ``upstream_failed``, and the run fails.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ingest.orchestration.dags import TRANSFORM_DAG_ID

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

FAILING_TEST = """-- Deliberately failing (tests/airflow/test_failing_test_gates.py): returns one row, always.
-- depends_on: {{{{ ref('{model}') }}}}
select 1 as deliberately_failing
"""


def _most_depended_on_model(manifest: dict[str, Any]) -> str:
    project = manifest["metadata"]["project_name"]
    models = {
        uid: n for uid, n in manifest["nodes"].items() if n["resource_type"] == "model" and n["package_name"] == project
    }
    children: dict[str, set[str]] = {uid: set() for uid in models}
    for uid, node in models.items():
        for parent in node["depends_on"]["nodes"]:
            if parent in children:
                children[parent].add(uid)

    def descendants(uid: str) -> set[str]:
        out: set[str] = set()
        todo = [uid]
        while todo:
            for child in children[todo.pop()]:
                if child not in out:
                    out.add(child)
                    todo.append(child)
        return out

    return models[max(models, key=lambda uid: (len(descendants(uid)), uid))]["name"]


@pytest.fixture(scope="module")
def scratch_home(tmp_path_factory: pytest.TempPathFactory, dbt_manifest: Path) -> tuple[Path, str]:
    """A copy of the repository's dbt project with the failing test; returns (home, model)."""
    home = tmp_path_factory.mktemp("scratch-home")
    shutil.copytree(
        REPO / "dbt_project",
        home / "dbt_project",
        ignore=shutil.ignore_patterns("target", "logs", "dbt_packages", ".user.yml"),
    )
    model = _most_depended_on_model(json.loads(dbt_manifest.read_text()))
    tests_dir = home / "dbt_project" / "tests"
    tests_dir.mkdir(exist_ok=True)
    (tests_dir / "zz_deliberately_failing.sql").write_text(FAILING_TEST.format(model=model))
    return home, model


@pytest.fixture(scope="module")
def loaded_week(warehouse_env: str, tmp_path_factory: pytest.TempPathFactory) -> date:
    """Two small simulated weeks, ingested into the fresh warehouse; returns the last week."""
    from ingest.devtools.simulate import simulate
    from ingest.runner.local import run_week
    from ingest.settings import get_settings
    from ingest.steps.week import discover_weeks

    raw = tmp_path_factory.mktemp("raw")
    simulate(str(raw), weeks=2, rows_per_week=3000, seed=5)
    weeks = discover_weeks(str(raw))
    for week in weeks:
        run_week(str(raw), week, get_settings())
    return weeks[-1]


@pytest.fixture(scope="module")
def airflow_run_env(scratch_home, loaded_week, warehouse_env: str, server_dsn: str) -> Iterator[dict[str, str]]:
    """The Airflow environment on a fresh metadata database, pointing at the scratch project."""
    from ingest.orchestration.airflow_home import airflow_env, setup_airflow
    from ingest.orchestration.dbt import ensure_manifest
    from ingest.settings import load_settings

    home, _ = scratch_home
    name = f"airflow_gate_{os.getpid()}"
    admin = server_dsn.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')
        conn.execute(f'create database "{name}"')
    saved = {k: os.environ.get(k) for k in ("WATCH_HOME", "AIRFLOW_HOME", "COSMOS_EXECUTION_MODE")}
    os.environ["WATCH_HOME"] = str(home)
    os.environ["AIRFLOW_HOME"] = str(home / "airflow-home")
    try:
        settings = load_settings()
        ensure_manifest(settings)
        env = airflow_env(settings, metadata_dsn=server_dsn.rsplit("/", 1)[0] + f"/{name}")
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__")}, **env}
        setup = setup_airflow(settings, env=env)
        assert set(setup["pools"]) >= {"ingest_chunks_pool", "brand_metrics_pool"}
        assert settings.warehouse_conn_id in setup["connections"]
        yield env
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')


def _task_states(env: dict[str, str], run_id: str) -> dict[str, str | None]:
    dsn = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].replace("postgresql+psycopg2://", "postgresql://")
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "select task_id, state from task_instance where dag_id = %s and run_id = %s", (TRANSFORM_DAG_ID, run_id)
        ).fetchall()
    return dict(rows)


def _latest_run(env: dict[str, str]) -> tuple[str, str]:
    dsn = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].replace("postgresql+psycopg2://", "postgresql://")
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "select run_id, state from dag_run where dag_id = %s order by id desc limit 1", (TRANSFORM_DAG_ID,)
        ).fetchone()
    assert row, "no transform run recorded"
    return row[0], row[1]


@pytest.mark.parametrize("mode", ["local", "watcher"])
def test_failing_test_stops_everything_downstream(mode, scratch_home, loaded_week, airflow_run_env, dag_parser):
    from ingest.orchestration.airflow_home import airflow_bin
    from ingest.settings import get_settings

    home, model = scratch_home
    env = {**airflow_run_env, "COSMOS_EXECUTION_MODE": mode}
    # a different logical date per mode: each `dags test` makes its own run
    run_date = loaded_week + timedelta(days=6 if mode == "local" else -1)
    proc = subprocess.run(
        [airflow_bin(), "dags", "test", TRANSFORM_DAG_ID, run_date.isoformat()],
        env=env,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=1500,
        check=False,
    )
    output = proc.stdout + proc.stderr
    (home / f"dags-test-{mode}.log").write_text(output)

    run_id, run_state = _latest_run(env)
    states = _task_states(env, run_id)
    test_id, run_task_id = f"dbt.{model}.test", f"dbt.{model}.run"
    assert states.get(run_task_id) == "success", f"{run_task_id}: {states.get(run_task_id)}\n{output[-3000:]}"
    assert states.get(test_id) == "failed", f"{test_id}: {states.get(test_id)}\n{output[-3000:]}"
    assert run_state == "failed"
    assert f"task={test_id}" in output and "ALERT pipeline task failed" in output
    failed_tests = set(re.findall(r"(?:Failure|Error) in test (\w+)", output))
    assert failed_tests == {"zz_deliberately_failing"}, f"dbt tests that failed: {failed_tests}"

    # what is downstream of the failing test task, from the DAG as rendered for the scratch project
    saved = os.environ.get("WATCH_HOME")
    os.environ["WATCH_HOME"] = str(home)
    get_settings.cache_clear()
    try:
        dags, errors, _ = dag_parser(mode)
    finally:
        os.environ["WATCH_HOME"] = saved or ""
        if saved is None:
            os.environ.pop("WATCH_HOME")
        get_settings.cache_clear()
    assert not errors
    dag = dags[TRANSFORM_DAG_ID]
    downstream = dag.get_task(test_id).get_flat_relative_ids(upstream=False)
    assert downstream, f"nothing is downstream of {test_id}"
    not_gated = {t: states.get(t) for t in downstream if states.get(t) != "upstream_failed"}
    assert not not_gated, f"tasks downstream of the failing test that did not end upstream_failed: {not_gated}"
    assert states.get("publish_report") == "upstream_failed", "the market report was built on failed metrics"
    print(f"\n[{mode}] {test_id} failed; {len(downstream)} downstream tasks upstream_failed")
