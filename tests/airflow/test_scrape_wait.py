"""watch_ingest on the scraper's signal, run for real (``airflow dags test``, triggers run in line).

A week whose scrape folder has no ``_SUCCESS`` yet: the sensor defers, the trigger waits, the
marker is written while it waits, and the run then loads the week. A week with no scrape folder
at all: the run fails in its first task, once, with no retry and an ``ALERT`` line.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from ingest.orchestration.dags import INGEST_DAG_ID

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "ingest"))
from raw_week import GOOD_ROWS, WEEK, write_week  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]


@pytest.fixture(scope="module")
def raw_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_week(tmp_path_factory.mktemp("raw"))  # scrape_date=2026-11-21, no marker


@pytest.fixture(scope="module")
def airflow_run_env(raw_root: Path, warehouse_env: str, server_dsn: str, dbt_manifest: Path) -> Iterator[dict]:
    """The Airflow environment on a fresh metadata database, RAW_ROOT the unfinished scrape."""
    from ingest.orchestration.airflow_home import airflow_env, setup_airflow
    from ingest.settings import load_settings

    name = f"airflow_scrape_{os.getpid()}"
    admin = server_dsn.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')
        conn.execute(f'create database "{name}"')
    saved = {k: os.environ.get(k) for k in ("RAW_ROOT", "AIRFLOW_HOME")}
    os.environ["RAW_ROOT"] = str(raw_root)
    os.environ["AIRFLOW_HOME"] = str(raw_root.parent / "airflow-home")
    try:
        settings = load_settings()
        env = airflow_env(settings, metadata_dsn=server_dsn.rsplit("/", 1)[0] + f"/{name}")
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__")}, **env}
        env["SCRAPE_POKE_INTERVAL"] = "1"
        setup_airflow(settings, env=env, parse_dbt=False)
        yield env
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')


def _dags_test(env: dict, run_date: str, on_line=None) -> tuple[int, str]:
    from ingest.orchestration.airflow_home import airflow_bin

    proc = subprocess.Popen(
        [airflow_bin(), "dags", "test", INGEST_DAG_ID, run_date],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        if on_line is not None:
            on_line(line)
    return proc.wait(timeout=900), "".join(lines)


def _task_instances(env: dict) -> dict[str, tuple[str, int]]:
    dsn = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].replace("postgresql+psycopg2://", "postgresql://")
    with psycopg.connect(dsn) as conn:
        run_id = conn.execute(
            "select run_id from dag_run where dag_id = %s order by id desc limit 1", (INGEST_DAG_ID,)
        ).fetchone()[0]
        rows = conn.execute(
            "select task_id, state, try_number from task_instance where dag_id = %s and run_id = %s",
            (INGEST_DAG_ID, run_id),
        ).fetchall()
    return {task: (state, tries) for task, state, tries in rows}


def test_the_run_waits_for_the_marker_then_loads(airflow_run_env: dict, raw_root: Path, warehouse_env: str):
    marker = raw_root / "scrape_date=2026-11-21" / "_SUCCESS"
    written = threading.Event()

    def scraper_finishes_while_the_trigger_waits(line: str) -> None:
        if "waiting for 1 of 1 _SUCCESS marker(s)" in line and not written.is_set():
            marker.write_bytes(b"")
            written.set()

    code, output = _dags_test(airflow_run_env, "2026-11-22", scraper_finishes_while_the_trigger_waits)
    assert code == 0, output[-4000:]
    assert written.is_set(), output[-4000:]  # the trigger ran and waited before the marker existed
    assert "[DAG TEST] running trigger in line" in output
    states = _task_instances(airflow_run_env)
    assert states["wait_for_scrape"][0] == "success" and states["load"][0] == "success", states
    with psycopg.connect(warehouse_env) as conn:
        loaded = conn.execute("select count(*) from raw.listings where market_week = %s", (WEEK,)).fetchone()[0]
    assert loaded == len(GOOD_ROWS) + 2  # as the CLI loads the same folder (tests/ingest/test_s3.py)

    # the task logs of the run, where the UI reads them (dags test only prints them)
    from ingest.orchestration.airflow_home import write_test_run_logs

    written = write_test_run_logs(output, INGEST_DAG_ID, airflow_run_env)
    assert {p.parts[-2] for p in written} >= {"task_id=wait_for_scrape", "task_id=load", "map_index=0"}
    ui_log = subprocess.run(
        [sys.executable, "-c", READ_LOG_AS_THE_UI_DOES, "wait_for_scrape"],
        env=airflow_run_env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout
    assert "waiting for 1 of 1 _SUCCESS marker(s)" in ui_log
    assert "every scrape folder is complete" in ui_log
    assert "Log file not found" not in ui_log and "Could not read served logs" not in ui_log


#: What the API server does for the UI's log view: Airflow's task log reader on the task instance.
READ_LOG_AS_THE_UI_DOES = """
import sys
from airflow.models.taskinstance import TaskInstance
from airflow.utils.log.log_reader import TaskLogReader
from airflow.utils.session import create_session

with create_session() as session:
    ti = (
        session.query(TaskInstance)
        .filter_by(dag_id="watch_ingest", task_id=sys.argv[1])
        .order_by(TaskInstance.start_date.desc())
        .first()
    )
    print("".join(TaskLogReader().read_log_stream(ti, ti.try_number, {})))
"""


def test_a_week_without_scrape_folder_fails_at_once(airflow_run_env: dict):
    code, output = _dags_test(airflow_run_env, "2026-11-08")  # the week of 2026-11-02: no folder
    assert code != 0
    states = _task_instances(airflow_run_env)
    assert states["scrape_markers"] == ("failed", 1), states  # one try, no retry
    assert all(state != "success" for state, _ in states.values())
    assert "no scrape_date=YYYY-MM-DD folder of the market week 2026-11-02" in output
    assert "ALERT pipeline task failed: dag=watch_ingest task=scrape_markers" in output
    assert "week=2026-11-02" in output
    assert "up_for_retry" not in output
