"""What the DAG files call: shared names, which week a run works on, alerts, dbt test gates, the report.

The DAGs in ``airflow/dags/`` stay thin and call into this module and :mod:`ingest.steps.week`.
Nothing here imports Airflow at module level (the DAG files import this module while Airflow
parses them).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from ingest.steps.calendar import market_week_of

alert_log = logging.getLogger("watch_market.alerts")

INGEST_DAG_ID = "watch_ingest"
TRANSFORM_DAG_ID = "watch_transform"
#: The Asset the ingest DAG's load task updates once per loaded week; its event's
#: ``extra`` carries ``market_week`` (ISO date of the Monday) and ``rows_loaded``.
LISTINGS_ASSET_NAME = "watch_market_listings_week"
LISTINGS_ASSET_URI = "x-watch-market://warehouse/raw/listings"  # x-: no provider URI normaliser


# --------------------------------------------------------------------------------------------
# Which week a run works on
# --------------------------------------------------------------------------------------------


def parse_week(value: Any) -> date | None:
    """A week given as a date, datetime or ``YYYY-MM-DD`` string -> its Monday; ``None``/'' -> ``None``."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        return market_week_of(value.date())
    if isinstance(value, date):
        return market_week_of(value)
    try:
        return market_week_of(date.fromisoformat(str(value).strip()[:10]))
    except ValueError as exc:
        raise ValueError(f"a week must be given as YYYY-MM-DD, got {value!r}") from exc


def _run_date(context: Mapping[str, Any]) -> date:
    """The UTC date a run stands for: its logical date, else (Airflow 3 manual runs) ``run_after``."""
    for candidate in (
        context.get("logical_date"),
        getattr(context.get("dag_run"), "logical_date", None),
        getattr(context.get("dag_run"), "run_after", None),
    ):
        if candidate is not None:
            if isinstance(candidate, datetime):
                if candidate.tzinfo is not None:
                    candidate = candidate.astimezone(UTC)
                return candidate.date()
            return candidate
    return datetime.now(UTC).date()


def week_to_process(context: Mapping[str, Any], param: str = "week") -> date:
    """The market week (its Monday) a DAG run processes.

    The ``param`` DAG param (``week``) wins when set (manual runs and backfills, any
    date in the week). Otherwise it is the ISO week containing the run's logical
    date: with Airflow 3's cron timetable the scheduled Sunday 00:00 UTC run's
    logical date *is* that Sunday, so the week Mon-Sun that is just finishing.
    """
    params = context.get("params") or {}
    override = parse_week(params.get(param)) if hasattr(params, "get") else None
    return override or market_week_of(_run_date(context))


def week_from_asset_events(context: Mapping[str, Any], asset_name: str = LISTINGS_ASSET_NAME) -> date | None:
    """The earliest ``market_week`` in the asset events that triggered this run (``None`` without any).

    Several ingest runs may be folded into one transform run; transforming from the
    earliest of their weeks covers them all.
    """
    events = context.get("triggering_asset_events") or {}
    weeks: list[date] = []
    try:
        items = list(events.items())
    except AttributeError:
        return None
    for key, asset_events in items:
        name = getattr(key, "name", None) or str(key)
        if asset_name not in name and LISTINGS_ASSET_URI not in str(getattr(key, "uri", key)):
            continue
        for event in asset_events or []:
            extra = getattr(event, "extra", None) or {}
            week = parse_week(extra.get("market_week")) if isinstance(extra, Mapping) else None
            if week:
                weeks.append(week)
    return min(weeks) if weeks else None


def transform_from_week(context: Mapping[str, Any]) -> date:
    """The ``from_week`` dbt var of a transform run: ``from_week`` param, asset event, logical week."""
    params = context.get("params") or {}
    override = parse_week(params.get("from_week")) if hasattr(params, "get") else None
    return override or week_from_asset_events(context) or market_week_of(_run_date(context))


# --------------------------------------------------------------------------------------------
# Alerting
# --------------------------------------------------------------------------------------------


def _safe(fn: Any, default: Any = None) -> Any:
    try:
        return fn()
    except Exception:  # noqa: BLE001 - an alert must never fail on missing context
        return default


def alert_on_failure(context: Mapping[str, Any]) -> None:
    """Task failure callback: log one greppable ``ALERT`` line (dag, task, run, week, exception).

    A scrape sensor's line also names the scrape folders it waited on (``folder=``).

    Wire a pager/Slack/e-mail notifier here; the line is the contract for log-based alerting.
    """
    ti = context.get("task_instance") or context.get("ti")
    dag_run = context.get("dag_run")
    dag_id = _safe(lambda: ti.dag_id) or _safe(lambda: dag_run.dag_id) or "?"
    task_id = _safe(lambda: ti.task_id) or "?"
    map_index = _safe(lambda: ti.map_index, -1)
    if map_index not in (None, -1):
        task_id = f"{task_id}[{map_index}]"
    run_id = _safe(lambda: dag_run.run_id) or _safe(lambda: ti.run_id) or "?"
    try_number = _safe(lambda: ti.try_number, "?")
    week = None
    if dag_id == TRANSFORM_DAG_ID:
        week = _safe(lambda: transform_from_week(context))
    else:
        week = _safe(lambda: week_to_process(context))
    folders = _safe(lambda: _marker_folders(context.get("task")), [])
    exception = context.get("exception")
    reason = " ".join(f"{type(exception).__name__}: {exception}".split()) if exception else "unknown"
    if len(reason) > 500:
        reason = reason[:497] + "..."
    alert_log.error(
        "ALERT pipeline task failed: dag=%s task=%s run=%s week=%s try=%s%s exception=%s",
        dag_id,
        task_id,
        run_id,
        week.isoformat() if week else "?",
        try_number,
        f" folder={','.join(folders)}" if folders else "",
        reason,
    )


def _marker_folders(task: Any) -> list[str]:
    """The scrape folders a sensor task waited on ([] for other tasks); imported late (it imports Airflow)."""
    if task is None or not any(hasattr(task, name) for name in ("markers", "bucket_key", "raw_root")):
        return []
    from ingest.orchestration.scrape_signal import marker_folders

    return marker_folders(task)


# --------------------------------------------------------------------------------------------
# Cosmos: the dbt tasks
# --------------------------------------------------------------------------------------------


def dbt_executable() -> str:
    """The ``dbt`` of this environment (beside the running Python), else the one on PATH."""
    import shutil
    import sys
    from pathlib import Path

    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else shutil.which("dbt") or "dbt"


def is_dbt_test_task(task: Any) -> bool:
    """A Cosmos task that runs (or watches) dbt tests."""
    return "Test" in type(task).__name__ and type(task).__module__.startswith("cosmos.")


def gate_dbt_tests(task_group: Any) -> list[str]:
    """Make every dbt test task a gate, in the Cosmos task group of the transform DAG.

    - Test tasks do not retry: a failed data test fails at once (it will not fix itself).
    - A test with several parents (rendered by Cosmos as its own "detached" task, a leaf)
      is made upstream of the models that build on any of its parents, unless that would
      make a cycle (a model that itself feeds another of the test's parents). So a failing
      multi-parent test also stops what is built on the data it rejected.

    Returns the test task ids.
    """
    tasks = _walk(task_group)
    ids = []
    for task in tasks:
        if is_dbt_test_task(task):
            task.retries = 0
            ids.append(task.task_id)
    for task in tasks:
        if not is_dbt_test_task(task) or task.downstream_list or len(task.upstream_list) < 2:
            continue
        ancestors = set(task.get_flat_relative_ids(upstream=True))
        for parent in list(task.upstream_list):
            for child in list(parent.downstream_list):
                if child is task or is_dbt_test_task(child) or child.task_id in ancestors:
                    continue
                task >> child
    return ids


def _walk(task_group: Any) -> list[Any]:
    out: list[Any] = []
    for child in task_group.children.values():
        if hasattr(child, "children"):
            out.extend(_walk(child))
        else:
            out.append(child)
    return out


# --------------------------------------------------------------------------------------------
# The market report
# --------------------------------------------------------------------------------------------


def publish_market_report() -> dict[str, Any]:
    """Build the market report of the latest market week and publish it to ``REPORT_ROOT``.

    The transform DAG runs it after its dbt task group, so only metrics that passed their
    tests reach the report.
    """
    from ingest.report.site import publish_report
    from ingest.settings import get_settings

    result = publish_report(get_settings())
    logging.getLogger(__name__).info("market report of %s published: %s", result.week, result.home)
    return result.to_dict()
