"""The dbt transform DAG: every dbt model as a Cosmos task, tests after each (see the DAG doc)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import airflow  # noqa: F401 - must be imported before cosmos.constants (circular import otherwise)
import pendulum
from airflow.sdk import Asset, Param, dag, task
from cosmos.airflow.task_group import DbtTaskGroup
from cosmos.config import ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import ExecutionMode, InvocationMode, LoadMode, TestBehavior, TestIndirectSelection
from cosmos.profiles.postgres.user_pass import PostgresUserPasswordProfileMapping

from ingest.orchestration.dags import (
    LISTINGS_ASSET_NAME,
    LISTINGS_ASSET_URI,
    TRANSFORM_DAG_ID,
    alert_on_failure,
    dbt_executable,
    gate_dbt_tests,
)
from ingest.orchestration.dbt import dbt_manifest_path
from ingest.settings import get_settings

LISTINGS = Asset(name=LISTINGS_ASSET_NAME, uri=LISTINGS_ASSET_URI, group="watch_market")

settings = get_settings()  # environment only: no database, no network
WATCHER = settings.cosmos_execution_mode == "watcher"

operator_args: dict[str, Any] = {
    "install_deps": False,
    "vars": {"from_week": "{{ ti.xcom_pull(task_ids='resolve_week') }}"},
    "env": {"WAREHOUSE_RAW_SCHEMA": settings.raw_schema, "DBT_SCHEMA": settings.dbt_schema},
    "append_env": True,
}
if WATCHER:
    operator_args.update(
        {"deferrable": True}
        if settings.cosmos_watcher_deferrable
        # no triggerer (`airflow dags test`): sensors poke and give their slot back between pokes
        else {"deferrable": False, "mode": "reschedule", "poke_interval": 2}
    )


def project_config() -> ProjectConfig:
    """The dbt project, rendered from the manifest that ``ingest airflow-setup`` (dbt parse) writes."""
    manifest = dbt_manifest_path(settings)
    if not manifest.exists():
        raise FileNotFoundError(f"no dbt manifest at {manifest}: run `uv run ingest airflow-setup` (it runs dbt parse)")
    config = ProjectConfig(dbt_project_path=settings.dbt_project_dir, manifest_path=manifest, install_dbt_deps=False)
    # Cosmos wraps the path in an ObjectStoragePath, whose first open() loads every Airflow
    # plugin (~0.6 s of each parse); a local manifest needs no object storage.
    config.manifest_path = manifest
    return config


@dag(
    dag_id=TRANSFORM_DAG_ID,
    schedule=[LISTINGS],
    start_date=pendulum.datetime(2024, 1, 7, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={
        "owner": "data-platform",
        "retries": 2,
        "retry_delay": timedelta(seconds=30),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=10),
        "execution_timeout": timedelta(hours=1),
        "on_failure_callback": alert_on_failure,
    },
    params={
        "from_week": Param(
            None,
            type=["null", "string"],
            description="Recompute the metrics from this market week on (YYYY-MM-DD); "
            "empty: the week of the triggering ingest.",
        ),
    },
    tags=["watch-market", "dbt", "transform"],
)
def watch_transform() -> None:
    """
    ### watch_transform — dbt metrics for the newly loaded week

    Scheduled on the Asset `watch_market_listings_week`: runs after every
    successful `watch_ingest` load. **resolve_week** takes the `market_week`
    from the triggering asset event (the earliest one when several loads are
    folded into one run; the `from_week` param or the run's logical week when
    there is none) and passes it to dbt as the var `from_week`, so the
    incremental marts recompute from that week on (with their look-back).

    **dbt** is the project in `dbt_project/`, rendered by Cosmos from
    `target/manifest.json`: one task per model with its tests right after it
    (`TestBehavior.AFTER_EACH`), so a failing error-severity test fails its
    task and every model downstream ends `upstream_failed` — bad metrics are
    never built on bad inputs. Test tasks do not retry (a failed data test
    does not fix itself). Mart tasks run in the pools set in
    `dbt_project.yml` (`meta.cosmos.operator_kwargs.pool`).

    **export_marts** runs once every dbt task succeeded: each mart's weeks from
    `from_week` on are published as Parquet to
    `EXPORT_ROOT/<mart>/market_week=YYYY-MM-DD/`, each week replaced whole (see
    `ingest.warehouse.export`), with a manifest per export under
    `EXPORT_ROOT/_exports/`.

    Execution mode (`COSMOS_EXECUTION_MODE`): `watcher` runs one `dbt build`
    in the producer task and the model/test tasks watch its results; `local`
    runs one dbt command per task. Both use dbt in-process (dbtRunner).

    **publish_report** runs after the whole dbt task group succeeded (a failed
    model or test leaves it `upstream_failed`): it builds the market report, a
    static site of the latest market week, and publishes it to `REPORT_ROOT`
    (a folder, or `s3://` in production).
    """

    @task
    def resolve_week(**context: Any) -> str:
        """The market week dbt transforms from (``from_week``)."""
        from ingest.orchestration.dags import transform_from_week

        return transform_from_week(context).isoformat()

    dbt = DbtTaskGroup(
        group_id="dbt",
        project_config=project_config(),
        profile_config=ProfileConfig(
            profile_name="watch_market",
            target_name=settings.dbt_target,
            profile_mapping=PostgresUserPasswordProfileMapping(
                conn_id=settings.warehouse_conn_id,
                profile_args={"schema": settings.dbt_schema, "threads": settings.dbt_threads},
            ),
        ),
        execution_config=ExecutionConfig(
            execution_mode=ExecutionMode.WATCHER if WATCHER else ExecutionMode.LOCAL,
            # local: dbt in-process in every task (no per-task dbt start-up). watcher: the one
            # producer runs dbt as a subprocess, whose info-level JSON log Cosmos reads line by
            # line; in-process, Cosmos' callback serialises every dbt event (debug ones too) inside
            # dbt's threads, which more than doubled the build time.
            invocation_mode=InvocationMode.SUBPROCESS if WATCHER else InvocationMode.DBT_RUNNER,
            dbt_executable_path=dbt_executable(),
            # `dbt test --select <model>` runs only the tests on that model alone
            test_indirect_selection=TestIndirectSelection.CAUTIOUS,
            # the watcher producer is never re-run on retry (Cosmos skips it): fail fast instead
            setup_operator_args={"retries": 0},
        ),
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST,
            test_behavior=TestBehavior.AFTER_EACH,
            # local: a test on several models (e.g. a mart checked against the listings) becomes its
            # own task, downstream of all of them. watcher: each parent's test task already waits for
            # and reports such tests (Cosmos aggregates them per parent), and Cosmos 1.15 cannot watch
            # a detached test (it hangs, or reports it skipped), so they stay with their parents.
            should_detach_multiple_parents_tests=not WATCHER,
            invocation_mode=InvocationMode.DBT_RUNNER,
        ),
        operator_args=operator_args,
    )
    gate_dbt_tests(dbt)

    @task
    def export_marts(from_week: str, **context: Any) -> dict[str, Any]:
        """Publish every mart's rebuilt weeks (``from_week`` on) as Parquet under ``EXPORT_ROOT``."""
        from datetime import date

        from ingest.warehouse.export import export_marts as export

        return export(get_settings(), from_week=date.fromisoformat(from_week), run=context["run_id"]).to_dict()

    @task
    def publish_report() -> dict[str, Any]:
        """The market report of the latest week, published to REPORT_ROOT."""
        from ingest.orchestration.dags import publish_market_report

        return publish_market_report()

    week = resolve_week()
    week >> dbt >> [export_marts(week), publish_report()]


watch_transform()
