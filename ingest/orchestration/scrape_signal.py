"""The scraper's signal for watch_ingest: which ``_SUCCESS`` markers a run waits for, and the sensor that waits.

Rule (the one the DAG documents): a run waits for the marker of *every* scrape folder of its
market week that exists when the run starts; a week with no scrape folder at all fails at once,
without retries (the scraper has not started it, or the week was mistyped). ``s3://`` roots use
the amazon provider's ``S3KeySensor``; local roots :class:`ScrapeMarkerSensor`, whose trigger
(:class:`ScrapeMarkerTrigger`) the triggerer imports from this module. Both defer between checks,
so a waiting run holds no worker slot.
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


def marker_folders(task: Any) -> list[str]:
    """The scrape folders a marker sensor task waits on (for the ALERT line); [] for any other task."""
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
