"""The weekly ingest DAG: one market week of scraped listings into PostgreSQL (see the DAG doc)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import Asset, Param, TaskGroup, dag, task

from ingest.orchestration import INGEST_DAG_ID, LISTINGS_ASSET_NAME, LISTINGS_ASSET_URI, alert_on_failure

LISTINGS = Asset(name=LISTINGS_ASSET_NAME, uri=LISTINGS_ASSET_URI, group="watch_market")


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

    1. **plan** — list the `scrape_date=…` folders of the week under `RAW_ROOT`
       (folder or `s3://…`) and split their files into chunks.
    2. **chunks.process_chunk** — one mapped task per chunk (pool
       `ingest_chunks_pool`): read, parse, clean, convert prices to USD, write a
       chunk parquet to `STAGING_ROOT`.
    3. **merge** — de-duplicate and flag outliers across chunks; write the week's
       `listings.parquet` and `quarantine.parquet`.
    4. **validate** — Great Expectations suite on the merged week; a failed
       expectation fails the run (no retries: the data will not change).
    5. **load** — atomically replace the week in PostgreSQL, record the run in the
       ledger, and update the Asset `watch_market_listings_week` with
       `extra={"market_week": …}`, which triggers `watch_transform`.

    Failures log one `ALERT …` line (dag, task, run, week, exception).
    All logic lives in `ingest.pipeline`; this file only wires it.
    """

    @task
    def plan(**context: Any) -> list[int]:
        """Which files of the week to read, in which chunks.

        Returns the chunk indexes (what the chunk tasks are mapped over); the plan
        itself goes to XCom under the key ``plan`` for the later tasks.
        """
        from ingest.orchestration import week_to_process
        from ingest.pipeline import plan_week
        from ingest.settings import get_settings

        week_plan = plan_week(get_settings().raw_root, week_to_process(context))
        context["ti"].xcom_push(key="plan", value=week_plan.to_dict())
        return list(week_plan.chunk_indexes)

    @task(pool="ingest_chunks_pool")
    def process_chunk(plan: dict[str, Any], chunk_index: int) -> dict[str, Any]:
        """Read and clean one chunk of files into a staging parquet."""
        from ingest.pipeline import process_chunk as run_chunk

        return run_chunk(plan, chunk_index)

    @task
    def merge(plan: dict[str, Any], chunk_results: list[dict[str, Any]]) -> dict[str, Any]:
        """De-duplicate and flag outliers across the week's chunks."""
        from ingest.pipeline import WeekPlan, merge_week

        return merge_week(WeekPlan.from_dict(plan), list(chunk_results))

    @task(retries=0)
    def validate(plan: dict[str, Any], merge_result: dict[str, Any]) -> dict[str, Any]:
        """Great Expectations on the merged week; failures are final (no retry)."""
        from airflow.sdk.exceptions import AirflowFailException

        from ingest.pipeline import WeekPlan, validate_week
        from ingest.validation import ValidationFailed

        try:
            return validate_week(WeekPlan.from_dict(plan), merge_result)
        except ValidationFailed as exc:
            raise AirflowFailException(f"validation failed: {exc}") from exc

    @task(outlets=[LISTINGS])
    def load(
        plan: dict[str, Any], merge_result: dict[str, Any], validation: dict[str, Any], **context: Any
    ) -> dict[str, Any]:
        """Replace the week in PostgreSQL, record the ledger row, announce the new week."""
        from ingest.pipeline import WeekPlan, load_week

        summary = load_week(WeekPlan.from_dict(plan), merge_result, validation)
        context["outlet_events"][LISTINGS].extra = {
            "market_week": str(summary["market_week"]),
            "rows_loaded": int(summary.get("rows_loaded") or 0),
        }
        return summary

    chunk_indexes = plan()
    week_plan = chunk_indexes["plan"]  # the XCom the plan task pushed under the key "plan"
    with TaskGroup(group_id="chunks", tooltip="one mapped task per chunk of files"):
        chunk_results = process_chunk.partial(plan=week_plan).expand(chunk_index=chunk_indexes)
    merged = merge(week_plan, chunk_results)
    validated = validate(week_plan, merged)
    load(week_plan, merged, validated)


watch_ingest()
