"""The weekly ingest DAG: one market week of scraped listings into PostgreSQL (see the DAG doc)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import Asset, Param, TaskGroup, dag, task

from ingest.orchestration.dags import INGEST_DAG_ID, LISTINGS_ASSET_NAME, LISTINGS_ASSET_URI, alert_on_failure
from ingest.orchestration.scrape_signal import scrape_folder_sensor, scrape_sensor
from ingest.settings import get_settings

LISTINGS = Asset(name=LISTINGS_ASSET_NAME, uri=LISTINGS_ASSET_URI, group="watch_market")
settings = get_settings()  # environment only: the raw root's kind picks the sensor


@dag(
    dag_id=INGEST_DAG_ID,
    schedule="0 0 * * 0",
    start_date=pendulum.datetime(2024, 1, 7, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={
        "owner": "data-platform",
        "retries": 3,
        "retry_delay": timedelta(minutes=1),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=15),
        "execution_timeout": timedelta(hours=2),
        "on_failure_callback": alert_on_failure,
    },
    params={
        "week": Param(
            None,
            type=["null", "string"],
            description="Market week to load (any YYYY-MM-DD in it); empty: the run's logical week.",
        ),
    },
    tags=["watch-market", "ingest"],
)
def watch_ingest() -> None:
    """
    ### watch_ingest — load one market week of scraped listings

    Runs every **Sunday 00:00 UTC** and ingests the market week (Monday–Sunday, ISO)
    that contains the run's logical date: with Airflow 3's cron timetable the
    logical date of the Sunday run *is* that Sunday, so the week just finishing.
    Trigger it manually with the `week` param (any `YYYY-MM-DD` in the week) to
    (re)load another week; a rerun replaces that week.

    1. **scrape_markers** — the week's `scrape_date=…` folders under `RAW_ROOT`.
       A manual or backfill run for a week with none fails at once, without
       retries; the scheduled run waits (deferred) for the week's first folder,
       as a scrape finishing on Sunday may start writing after 00:00.
    2. **wait_for_scrape** — a deferrable sensor (the triggerer checks every
       `SCRAPE_POKE_INTERVAL` seconds) waits until every one of those folders has
       its `_SUCCESS` marker, the scraper's last write. After
       `SCRAPE_WAIT_TIMEOUT` seconds (default 24 h) it fails, and the `ALERT`
       line names the week and the folders it waited for.
    3. **plan** — list the `scrape_date=…` folders of the week under `RAW_ROOT`
       (folder or `s3://…`) and split their files into chunks.
    4. **chunks.process_chunk** — one mapped task per chunk (pool
       `ingest_chunks_pool`): read, parse, clean, convert prices to USD, write a
       chunk parquet to `STAGING_ROOT`.
    5. **merge** — de-duplicate and flag outliers across chunks; write the week's
       `listings.parquet` and `quarantine.parquet`.
    6. **validate** — Great Expectations suite on the merged week; a failed
       expectation fails the run (no retries: the data will not change).
    7. **load** — atomically replace the week in PostgreSQL, record the run in the
       ledger, and update the Asset `watch_market_listings_week` with
       `extra={"market_week": …}`, which triggers `watch_transform`.

    Failures log one `ALERT …` line (dag, task, run, week, exception).
    All logic lives in `ingest.steps.week`; this file only wires it.
    """

    @task
    def plan(**context: Any) -> list[int]:
        """Which files of the week to read, in which chunks.

        Returns the chunk indexes (what the chunk tasks are mapped over); the plan
        itself goes to XCom under the key ``plan`` for the later tasks.
        """
        from ingest.orchestration.dags import week_to_process
        from ingest.settings import get_settings
        from ingest.steps.week import plan_week

        settings = get_settings()
        week_plan = plan_week(settings.raw_root, week_to_process(context), settings)
        context["ti"].xcom_push(key="plan", value=week_plan.to_dict())
        return list(week_plan.chunk_indexes)

    @task(pool="ingest_chunks_pool")
    def process_chunk(plan: dict[str, Any], chunk_index: int) -> dict[str, Any]:
        """Read and clean one chunk of files into the staging area."""
        from ingest.steps.results import WeekPlan
        from ingest.steps.week import process_chunk as run_chunk

        return run_chunk(WeekPlan.from_dict(plan), chunk_index).to_dict()

    @task
    def merge(plan: dict[str, Any], chunk_results: list[dict[str, Any]]) -> dict[str, Any]:
        """De-duplicate and flag outliers across the week's chunks; write the week's Parquet."""
        from ingest.steps.results import ChunkResult, WeekPlan
        from ingest.steps.week import merge_week

        chunks = [ChunkResult.from_dict(r) for r in chunk_results]
        return merge_week(WeekPlan.from_dict(plan), chunks).to_dict()

    @task(retries=0)
    def validate(plan: dict[str, Any], merged: dict[str, Any]) -> dict[str, Any]:
        """Great Expectations on the merged week; failures are final (no retry)."""
        from airflow.sdk.exceptions import AirflowFailException

        from ingest.settings import get_settings
        from ingest.steps.results import MergeResult, WeekPlan
        from ingest.steps.validation import ValidationFailed
        from ingest.steps.week import validate_week

        try:
            report = validate_week(WeekPlan.from_dict(plan), MergeResult.from_dict(merged), get_settings())
        except ValidationFailed as exc:
            raise AirflowFailException(f"validation failed: {exc}") from exc
        return report.to_dict()

    @task(outlets=[LISTINGS])
    def load(
        plan: dict[str, Any], merged: dict[str, Any], validation: dict[str, Any], **context: Any
    ) -> dict[str, Any]:
        """Replace the week in PostgreSQL, record the ledger row, announce the new week."""
        from ingest.settings import get_settings
        from ingest.steps.results import MergeResult, ValidationReport, WeekPlan
        from ingest.steps.week import load_week

        result = load_week(
            WeekPlan.from_dict(plan),
            MergeResult.from_dict(merged),
            ValidationReport.from_dict(validation),
            get_settings(),
        )
        context["outlet_events"][LISTINGS].extra = {
            "market_week": result.market_week.isoformat(),
            "rows_loaded": result.count("rows_loaded"),
        }
        return result.to_dict()

    markers = scrape_folder_sensor("scrape_markers", settings)
    chunk_indexes = plan()
    scrape_sensor("wait_for_scrape", markers.output, settings) >> chunk_indexes
    week_plan = chunk_indexes["plan"]  # the XCom the plan task pushed under the key "plan"
    with TaskGroup(group_id="chunks", tooltip="one mapped task per chunk of files"):
        chunk_results = process_chunk.partial(plan=week_plan).expand(chunk_index=chunk_indexes)
    merged = merge(week_plan, chunk_results)
    validated = validate(week_plan, merged)
    load(week_plan, merged, validated)


watch_ingest()
