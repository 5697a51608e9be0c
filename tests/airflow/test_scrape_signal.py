"""The scraper's signal: which markers a run waits for, the deferrable sensor and trigger, the S3 sensor,
the ALERT of a timed-out wait and the CLI's warning on an unfinished folder."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from ingest.orchestration.dags import INGEST_DAG_ID, alert_on_failure

REPO = Path(__file__).resolve().parents[2]
WEEK = date(2026, 11, 16)


def _folders(root: Path, *days: str, marked: tuple[str, ...] = ()) -> Path:
    for day in days:
        folder = root / f"scrape_date={day}"
        folder.mkdir(parents=True)
        (folder / "a.csv").write_text("listing_id\n1\n")
        if day in marked:
            (folder / "_SUCCESS").write_bytes(b"")
    return root


def test_markers_are_every_folder_of_the_week(tmp_path: Path) -> None:
    from ingest.orchestration.scrape_signal import NoScrapeFolder, markers_to_wait_for

    root = _folders(tmp_path, "2026-11-17", "2026-11-22", "2026-11-23", marked=("2026-11-17",))
    assert markers_to_wait_for(str(root), WEEK) == [
        str(root / "scrape_date=2026-11-17" / "_SUCCESS"),
        str(root / "scrape_date=2026-11-22" / "_SUCCESS"),
    ]  # Tuesday and Sunday of the week, marked or not; the next Monday belongs to the next week
    with pytest.raises(NoScrapeFolder, match="market week 2026-11-09"):
        markers_to_wait_for(str(root), date(2026, 11, 9))


def test_local_sensor_defers_and_its_trigger_fires_when_the_marker_appears(tmp_path: Path) -> None:
    from airflow.sdk.exceptions import TaskDeferred
    from airflow.sdk.module_loading import import_string

    from ingest.orchestration.scrape_signal import ScrapeMarkerSensor

    root = _folders(tmp_path, "2026-11-17", "2026-11-21", marked=("2026-11-17",))
    markers = [str(root / f"scrape_date={d}" / "_SUCCESS") for d in ("2026-11-17", "2026-11-21")]
    sensor = ScrapeMarkerSensor(task_id="wait_for_scrape", markers=markers, poke_interval=0.05, timeout=3600)
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute({})
    assert deferred.value.method_name == "execute_complete"
    assert deferred.value.timeout.total_seconds() == 3600
    # what the triggerer does: rebuild the trigger from its serialised form, then run it
    classpath, kwargs = deferred.value.trigger.serialize()
    assert classpath == "ingest.orchestration.scrape_signal.ScrapeMarkerTrigger"
    trigger = import_string(classpath)(**kwargs)

    def scraper_finishes() -> None:
        time.sleep(0.5)
        Path(markers[1]).write_bytes(b"")

    async def first_event():
        async for event in trigger.run():
            return event

    writer = threading.Thread(target=scraper_finishes)
    started = time.monotonic()
    writer.start()
    event = asyncio.run(asyncio.wait_for(first_event(), timeout=30))
    writer.join()
    assert time.monotonic() - started >= 0.5  # it waited for the marker
    assert event.payload == {"status": "found", "markers": markers}
    sensor.execute_complete({}, event.payload)
    sensor.execute({})  # every marker there now: completes at once, no deferral


def test_no_folder_fails_a_manual_run_at_once_and_defers_a_scheduled_one(tmp_path: Path) -> None:
    from airflow.sdk.exceptions import AirflowFailException, TaskDeferred
    from airflow.sdk.module_loading import import_string

    from ingest.orchestration.scrape_signal import ScrapeFolderSensor

    sensor = ScrapeFolderSensor(task_id="scrape_markers", raw_root=str(tmp_path), poke_interval=0.05, timeout=600)
    sunday = datetime(2026, 11, 22, tzinfo=UTC)

    def context(run_type: str) -> dict:
        return {"logical_date": sunday, "params": {}, "dag_run": SimpleNamespace(run_type=run_type)}

    for run_type in ("manual", "backfill"):
        with pytest.raises(AirflowFailException, match="market week 2026-11-16"):
            sensor.execute(context(run_type))
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute(context("scheduled"))
    assert deferred.value.timeout.total_seconds() == 600
    classpath, kwargs = deferred.value.trigger.serialize()
    assert classpath == "ingest.orchestration.scrape_signal.ScrapeFolderTrigger"
    trigger = import_string(classpath)(**kwargs)

    def scraper_starts() -> None:
        time.sleep(0.5)
        _folders(tmp_path, "2026-11-22")  # the Sunday's scrape appears after the run started

    async def first_event():
        async for event in trigger.run():
            return event

    writer = threading.Thread(target=scraper_starts)
    writer.start()
    event = asyncio.run(asyncio.wait_for(first_event(), timeout=30))
    writer.join()
    marker = str(tmp_path / "scrape_date=2026-11-22" / "_SUCCESS")
    assert event.payload == {"status": "found", "markers": [marker]}
    assert sensor.execute_complete(context("scheduled"), event.payload) == [marker]
    assert sensor.execute(context("manual")) == [marker]  # the folder is there now: no wait


def test_s3_roots_get_the_amazon_sensor(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

    from ingest.orchestration.scrape_signal import scrape_sensor
    from ingest.settings import load_settings

    monkeypatch.setenv("RAW_ROOT", "s3://watch-raw/raw")
    monkeypatch.setenv("SCRAPE_WAIT_TIMEOUT", "7200")
    monkeypatch.setenv("SCRAPE_POKE_INTERVAL", "60")
    markers = ["s3://watch-raw/raw/scrape_date=2026-11-21/_SUCCESS"]
    sensor = scrape_sensor("wait_for_scrape", markers, load_settings())
    assert isinstance(sensor, S3KeySensor)
    assert sensor.deferrable is True and sensor.bucket_key == markers
    assert (sensor.timeout, sensor.poke_interval, sensor.retries) == (7200, 60, 0)


def test_a_timed_out_wait_for_the_folder_alerts_with_the_raw_root(caplog: pytest.LogCaptureFixture) -> None:
    from airflow.sdk.exceptions import AirflowSensorTimeout

    from ingest.orchestration.scrape_signal import ScrapeFolderSensor

    context = {
        "task": ScrapeFolderSensor(task_id="scrape_markers", raw_root="s3://watch-raw/raw"),
        "task_instance": SimpleNamespace(dag_id=INGEST_DAG_ID, task_id="scrape_markers", map_index=-1, try_number=1),
        "dag_run": SimpleNamespace(run_id="scheduled__2026-11-22", dag_id=INGEST_DAG_ID),
        "params": {"week": None},
        "logical_date": datetime(2026, 11, 22, tzinfo=UTC),
        "exception": AirflowSensorTimeout("Sensor has timed out"),
    }
    with caplog.at_level(logging.ERROR, logger="watch_market.alerts"):
        alert_on_failure(context)
    (line,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("ALERT")]
    assert "task=scrape_markers" in line and "week=2026-11-16" in line and "folder=s3://watch-raw/raw " in line


def test_a_timed_out_wait_alerts_with_the_week_and_the_folders(caplog: pytest.LogCaptureFixture) -> None:
    from airflow.sdk.exceptions import AirflowSensorTimeout

    from ingest.orchestration.scrape_signal import ScrapeMarkerSensor

    markers = ["/raw/scrape_date=2026-11-17/_SUCCESS", "/raw/scrape_date=2026-11-21/_SUCCESS"]
    sensor = ScrapeMarkerSensor(task_id="wait_for_scrape", markers=markers)
    context = {
        "task": sensor,
        "task_instance": SimpleNamespace(dag_id=INGEST_DAG_ID, task_id="wait_for_scrape", map_index=-1, try_number=1),
        "dag_run": SimpleNamespace(run_id="scheduled__2026-11-22", dag_id=INGEST_DAG_ID),
        "params": {"week": None},
        "logical_date": datetime(2026, 11, 22, tzinfo=UTC),
        "exception": AirflowSensorTimeout("Sensor has timed out"),
    }
    with caplog.at_level(logging.ERROR, logger="watch_market.alerts"):
        alert_on_failure(context)
    (line,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("ALERT")]
    assert "task=wait_for_scrape" in line and "week=2026-11-16" in line
    assert "folder=/raw/scrape_date=2026-11-17,/raw/scrape_date=2026-11-21" in line
    assert "exception=AirflowSensorTimeout: Sensor has timed out" in line


def test_ingest_run_warns_once_per_folder_without_marker(warehouse_env: str, tmp_path: Path) -> None:
    sys.path.insert(0, str(REPO / "tests" / "ingest"))
    from raw_week import write_week

    raw = write_week(tmp_path / "raw")  # one folder, scrape_date=2026-11-21, no marker
    cli = [sys.executable, "-m", "ingest.cli", "run", "--source", str(raw), "--week", WEEK.isoformat(), "--quiet"]
    env = {**os.environ, "WAREHOUSE_DSN": warehouse_env}
    unmarked = subprocess.run(cli, capture_output=True, text=True, timeout=300, env=env, check=False)
    assert unmarked.returncode == 0, unmarked.stderr  # still loads
    warnings = [ln for ln in unmarked.stderr.splitlines() if "warning" in ln]
    assert warnings == [
        f"ingest run: warning: {raw}/scrape_date=2026-11-21 has no _SUCCESS marker "
        "(the scrape may be unfinished); loading it"
    ]
    (raw / "scrape_date=2026-11-21" / "_SUCCESS").write_bytes(b"")
    marked = subprocess.run(cli, capture_output=True, text=True, timeout=300, env=env, check=False)
    assert marked.returncode == 0 and "warning" not in marked.stderr
