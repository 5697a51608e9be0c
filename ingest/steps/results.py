"""The typed results the weekly steps hand to each other, in one process or through Airflow's XCom.

Each is a dataclass with ``to_dict`` (JSON-able: dates as ISO text) and ``from_dict`` (which
also accepts an instance), so a task can return ``result.to_dict()`` and the next one take it.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import date, datetime
from functools import cache
from typing import Any, Self

from ingest import storage
from ingest.steps.calendar import market_week_of
from ingest.steps.schema import COUNTS


class Record:
    """to_dict / from_dict for the dataclasses below, driven by their field types."""

    def to_dict(self) -> dict[str, Any]:
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}  # type: ignore[arg-type]

    @classmethod
    def from_dict(cls, data: dict[str, Any] | Self) -> Self:
        if isinstance(data, cls):
            return data
        hints = _hints(cls)
        assert isinstance(data, dict)
        return cls(**{name: _revive(hints[name], value) for name, value in data.items() if name in hints})


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _plain(value: Any) -> Any:
    if isinstance(value, Record):
        return value.to_dict()
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _revive(kind: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(kind)
    if origin in (types.UnionType, typing.Union):
        kinds = [k for k in typing.get_args(kind) if k is not type(None)]
        return _revive(kinds[0], value)
    if origin is list:
        (item,) = typing.get_args(kind)
        return [_revive(item, v) for v in value]
    if isinstance(kind, type) and issubclass(kind, Record):
        return kind.from_dict(value)
    if kind is datetime and isinstance(value, str):
        return datetime.fromisoformat(value)
    if kind is date and isinstance(value, str):
        return date.fromisoformat(value[:10])
    return value


@dataclasses.dataclass(frozen=True)
class SourceFile(Record):
    """A raw file of one scrape folder."""

    uri: str
    name: str  # relative to the raw root, e.g. scrape_date=2026-11-21/chrono24-1.csv
    size: int
    scrape_date: date

    @property
    def market_week(self) -> date:
        return market_week_of(self.scrape_date)


@dataclasses.dataclass
class FileOutcome(Record):
    """What became of one object of the week's scrape folders (a row of the file ledger)."""

    source_file: str
    scrape_date: date
    status: str  # loaded | empty | rejected | ignored
    rows_read: int
    reason: str | None = None
    detail: str | None = None


@dataclasses.dataclass
class WeekPlan(Record):
    """Which files of a market week to read, in which chunks, for one run."""

    run_id: str
    market_week: date
    source_root: str
    staging_root: str
    scrape_dates: list[date]
    files: list[SourceFile]
    chunk_files: int
    chunks: list[list[int]] = dataclasses.field(default_factory=list)  # file indexes per chunk
    ignored: list[FileOutcome] = dataclasses.field(default_factory=list)  # objects that are not raw files
    started_at: datetime = dataclasses.field(default_factory=lambda: datetime.now().astimezone())

    @property
    def chunk_indexes(self) -> list[int]:
        return list(range(len(self.chunks)))

    def chunk(self, index: int) -> list[SourceFile]:
        return [self.files[i] for i in self.chunks[index]]

    @property
    def week_uri(self) -> str:
        return storage.join(self.staging_root, f"market_week={self.market_week.isoformat()}")

    @property
    def chunks_uri(self) -> str:
        return storage.join(self.week_uri, "_chunks", self.run_id)


@dataclasses.dataclass
class ChunkResult(Record):
    """One chunk read and cleaned: where its rows went, and what became of its files."""

    chunk_index: int
    listings_uri: str
    quarantine_uri: str
    files: list[FileOutcome]
    rows_read: int
    rows_valid: int
    rows_quarantined: int
    seconds: float


@dataclasses.dataclass
class MergeResult(Record):
    """The week after dedup and outliers: its staged files, its file outcomes, its counts."""

    market_week: date
    listings_uri: str
    quarantine_uri: str
    files: list[FileOutcome]
    counts: dict[str, int]  # one entry per ledger count (ingest.steps.schema.COUNTS)
    quarantined_by_reason: dict[str, int]
    seconds: float

    def count(self, name: str) -> int:
        return int(self.counts.get(name, 0))


@dataclasses.dataclass
class ValidationReport(Record):
    """The Great Expectations suite's verdict on a week."""

    success: bool
    evaluated: int
    rows: int
    failed: list[dict[str, Any]] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class LoadResult(Record):
    """A loaded week: the run's ledger row as it was committed."""

    run_id: str
    market_week: date
    status: str
    counts: dict[str, int]
    quarantined_by_reason: dict[str, int]
    staging_uri: str
    files: list[FileOutcome]
    timings: dict[str, float] = dataclasses.field(default_factory=dict)

    def count(self, name: str) -> int:
        return int(self.counts.get(name, 0))

    @property
    def rejected_files(self) -> list[FileOutcome]:
        return [f for f in self.files if f.status == "rejected"]


def empty_counts() -> dict[str, int]:
    return {c.name: 0 for c in COUNTS}
