"""The scraper's signal for watch_ingest: which ``_SUCCESS`` markers a run waits for, and the sensors that wait.

Rule (the one the DAG documents): a run waits for the marker of *every* scrape folder of its
market week. A manual or backfill run for a week with no scrape folder fails at once, without
retries (the week was mistyped, or its scrape never ran); the scheduled Sunday run instead waits
for the week's first folder, since a scrape that finishes on Sunday may not have begun writing
at 00:00. :class:`ScrapeFolderSensor` finds the folders (and returns their markers); then the
amazon provider's ``S3KeySensor`` (``s3://`` roots) or :class:`ScrapeMarkerSensor` (local
folders) waits for the markers. All of them defer between checks, so a waiting run holds no
worker slot; their triggers live in this module, which the triggerer imports.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Sequence
from datetime import date, timedelta
from typing import Any

from airflow.sdk import BaseSensorOperator
from airflow.triggers.base import BaseTrigger, TriggerEvent

from ingest import storage
from ingest.settings import Settings
from ingest.steps.reading import week_markers


class NoScrapeFolder(Exception):
    """The market week has no scrape folder under the raw root."""


def markers_to_wait_for(raw_root: str, week: date) -> list[str]:
    """The ``_SUCCESS`` URIs of the week's scrape folders; :class:`NoScrapeFolder` when there is none."""
    try:
        markers = week_markers(raw_root, week)
    except FileNotFoundError as exc:
        raise NoScrapeFolder(f"no scrape folder for the market week {week}: {exc}") from exc
    if not markers:
        raise NoScrapeFolder(
            f"no scrape_date=YYYY-MM-DD folder of the market week {week} (Monday to Sunday) under {raw_root}"
        )
    return markers


def is_scheduled_run(context: Any) -> bool:
    """The run is one the scheduler made from the DAG's timetable (not manual, not a backfill)."""
    run_type = getattr(context.get("dag_run"), "run_type", None)
    return str(getattr(run_type, "value", run_type)).lower() == "scheduled"


def marker_folders(task: Any) -> list[str]:
    """The scrape folders a scrape sensor waits on (for the ALERT line); [] for any other task.

    The folder sensor waits for a folder that does not exist yet: it names the raw root.
    """
    if isinstance(task, ScrapeFolderSensor):
        return [task.raw_root]
    keys = getattr(task, "markers", None) or getattr(task, "bucket_key", None)
    if isinstance(keys, str):
        keys = [keys]
    if not isinstance(keys, list | tuple):
        return []
    return [str(k).rsplit("/", 1)[0] for k in keys if str(k).endswith("/_SUCCESS")]


class ScrapeMarkerTrigger(BaseTrigger):
    """Fires once every marker file exists (local paths), checking every ``poke_interval`` seconds."""

    def __init__(self, markers: Sequence[str], poke_interval: float) -> None:
        super().__init__()
        self.markers = list(markers)
        self.poke_interval = poke_interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "markers": self.markers,
                "poke_interval": self.poke_interval,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        while True:
            missing = await asyncio.to_thread(_missing, self.markers)
            if not missing:
                yield TriggerEvent({"status": "found", "markers": self.markers})
                return
            self.log.info("waiting for %d of %d _SUCCESS marker(s): %s", len(missing), len(self.markers), missing)
            await asyncio.sleep(self.poke_interval)


def _missing(markers: Sequence[str]) -> list[str]:
    return [m for m in markers if not os.path.isfile(m)]


class ScrapeMarkerSensor(BaseSensorOperator):
    """Waits until every ``markers`` file (local paths) exists; deferrable (the triggerer waits)."""

    template_fields: Sequence[str] = ("markers",)

    def __init__(self, *, markers: Any, deferrable: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.markers = markers
        self.deferrable = deferrable

    def poke(self, context: Any) -> bool:
        missing = _missing(self.markers)
        if missing:
            self.log.info("no _SUCCESS yet in %s", ", ".join(m.rsplit("/", 1)[0] for m in missing))
        return not missing

    def execute(self, context: Any) -> None:
        if not self.deferrable:
            super().execute(context)
        elif not self.poke(context):
            self.defer(
                trigger=ScrapeMarkerTrigger(self.markers, self.poke_interval),
                method_name="execute_complete",
                timeout=timedelta(seconds=self.timeout),
            )

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> None:
        self.log.info("every scrape folder is complete: %s", ", ".join((event or {}).get("markers", self.markers)))


class ScrapeFolderTrigger(BaseTrigger):
    """Fires once the market week has a scrape folder under ``raw_root`` (a folder or ``s3://``)."""

    def __init__(self, raw_root: str, week: str, poke_interval: float) -> None:
        super().__init__()
        self.raw_root = raw_root
        self.week = week
        self.poke_interval = poke_interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {"raw_root": self.raw_root, "week": self.week, "poke_interval": self.poke_interval},
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        week = date.fromisoformat(self.week)
        while True:
            try:
                markers = await asyncio.to_thread(week_markers, self.raw_root, week)
            except FileNotFoundError:
                markers = []  # the raw root itself does not exist yet
            if markers:
                yield TriggerEvent({"status": "found", "markers": markers})
                return
            self.log.info("no scrape folder of the week %s under %s yet", self.week, self.raw_root)
            await asyncio.sleep(self.poke_interval)


class ScrapeFolderSensor(BaseSensorOperator):
    """The week's scrape folders: returns their ``_SUCCESS`` URIs (the XCom the marker sensor waits on).

    No folder: a scheduled run defers until the first one appears; any other run fails at once
    (``AirflowFailException``: no retry).
    """

    def __init__(self, *, raw_root: str, deferrable: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.raw_root = raw_root
        self.deferrable = deferrable

    def _week(self, context: Any) -> date:
        from ingest.orchestration.dags import week_to_process

        return week_to_process(context)

    def poke(self, context: Any) -> bool:
        try:
            markers_to_wait_for(self.raw_root, self._week(context))
        except NoScrapeFolder:
            return False
        return True

    def execute(self, context: Any) -> list[str]:
        from airflow.sdk.exceptions import AirflowFailException

        week = self._week(context)
        try:
            return markers_to_wait_for(self.raw_root, week)
        except NoScrapeFolder as exc:
            if not is_scheduled_run(context):
                raise AirflowFailException(str(exc)) from exc
            self.log.info("%s; the scheduled run waits for it", exc)
        if not self.deferrable:
            super().execute(context)
            return markers_to_wait_for(self.raw_root, week)
        self.defer(
            trigger=ScrapeFolderTrigger(self.raw_root, week.isoformat(), self.poke_interval),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout),
        )

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> list[str]:
        # listed again: a second folder of the week may have appeared since the trigger fired
        return markers_to_wait_for(self.raw_root, self._week(context))


def scrape_folder_sensor(task_id: str, settings: Settings) -> ScrapeFolderSensor:
    """watch_ingest's first task: the week's scrape folders (see :class:`ScrapeFolderSensor`)."""
    return ScrapeFolderSensor(
        task_id=task_id,
        raw_root=settings.raw_root,
        poke_interval=settings.scrape_poke_interval_s,
        timeout=settings.scrape_wait_timeout_s,
        retries=0,
    )


def scrape_sensor(task_id: str, markers: Any, settings: Settings) -> BaseSensorOperator:
    """The deferrable sensor of watch_ingest for the raw root's kind (``markers``: an XCom of URIs)."""
    common: dict[str, Any] = {
        "task_id": task_id,
        "deferrable": True,
        "poke_interval": settings.scrape_poke_interval_s,
        "timeout": settings.scrape_wait_timeout_s,
        "retries": 0,  # a timed-out wait is the alert; retrying would double the wait
    }
    if storage.is_s3(settings.raw_root):
        from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor

        return S3KeySensor(bucket_key=markers, aws_conn_id=settings.aws_conn_id or "aws_default", **common)
    return ScrapeMarkerSensor(markers=markers, **common)
