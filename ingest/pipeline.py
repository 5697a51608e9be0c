"""The weekly ingest, as steps that run in one process (CLI) or as Airflow tasks.

    plan_week -> process_chunk (one per chunk of files, in parallel)
              -> merge_week (dedup + outliers over the whole week; staging Parquet)
              -> validate_week (Great Expectations)
              -> load_week (COPY, atomic replace, ledger)

Every step takes and returns JSON-serialisable values (plans and results are
dicts on the way through XCom), and every step is idempotent: each run reads
and writes its own week's partition of the staging area and the warehouse.
"""

from __future__ import annotations

import io
import json
import logging
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ingest import __version__, storage
from ingest.cleaning import LISTING_FIELDS, QUARANTINE_FIELDS, REASON_ORDER, clean_files
from ingest.outliers import flag_outliers
from ingest.reading import SourceFile, market_week_of, read_file, scrape_folders, week_files
from ingest.settings import Settings, get_settings
from ingest.warehouse import LISTING_COLUMNS, QUARANTINE_COLUMNS

log = logging.getLogger(__name__)

__all__ = [
    "IngestError",
    "WeekPlan",
    "WeekRunner",
    "discover_weeks",
    "load_week",
    "market_week_of",
    "merge_week",
    "plan_week",
    "process_chunk",
    "run_week",
    "validate_week",
]


class IngestError(Exception):
    """The week could not be loaded; the message is the one-line reason."""


@dataclass
class WeekPlan:
    run_id: str
    market_week: date
    source_root: str
    staging_root: str
    scrape_dates: list[date]
    files: list[SourceFile]
    chunk_files: int
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def chunk_indexes(self) -> list[int]:
        return list(range((len(self.files) + self.chunk_files - 1) // self.chunk_files))

    def chunk(self, index: int) -> list[SourceFile]:
        return self.files[index * self.chunk_files : (index + 1) * self.chunk_files]

    @property
    def week_uri(self) -> str:
        return storage.join(self.staging_root, f"market_week={self.market_week.isoformat()}")

    @property
    def chunks_uri(self) -> str:
        return storage.join(self.week_uri, "_chunks", self.run_id)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["market_week"] = self.market_week.isoformat()
        out["scrape_dates"] = [d.isoformat() for d in self.scrape_dates]
        out["started_at"] = self.started_at.isoformat()
        out["files"] = [{**asdict(f), "scrape_date": f.scrape_date.isoformat()} for f in self.files]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any] | WeekPlan) -> WeekPlan:
        if isinstance(data, WeekPlan):
            return data
        return cls(
            run_id=data["run_id"],
            market_week=date.fromisoformat(data["market_week"]),
            source_root=data["source_root"],
            staging_root=data["staging_root"],
            scrape_dates=[date.fromisoformat(d) for d in data["scrape_dates"]],
            files=[SourceFile(f["uri"], f["name"], f["size"], date.fromisoformat(f["scrape_date"]))
                   for f in data["files"]],
            chunk_files=int(data["chunk_files"]),
            started_at=datetime.fromisoformat(data["started_at"]),
        )


def discover_weeks(source: str) -> list[date]:
    """Every market week that has at least one scrape folder under ``source``."""
    return sorted({market_week_of(d) for d, _ in scrape_folders(source)})


def plan_week(
    source: str,
    week: date,
    settings: Settings | None = None,
    chunk_files: int | None = None,
) -> WeekPlan:
    """List the week's files and split them into chunks. ``week`` must be a Monday."""
    settings = settings or get_settings()
    if week.weekday() != 0:
        raise IngestError(f"--week {week} is a {week:%A}; a market week starts on a Monday "
                          f"(did you mean {market_week_of(week)}?)")
    try:
        dates, files = week_files(source, week)
    except FileNotFoundError as exc:
        raise IngestError(str(exc)) from exc
    if not dates:
        raise IngestError(f"no scrape_date=YYYY-MM-DD folder under {source} falls in the market week "
                          f"starting {week}")
    if not files:
        raise IngestError(f"the scrape folder(s) {', '.join(map(str, dates))} of week {week} hold no CSV file")
    return WeekPlan(
        run_id=str(uuid.uuid4()),
        market_week=week,
        source_root=source,
        staging_root=settings.staging_root,
        scrape_dates=dates,
        files=files,
        chunk_files=max(1, chunk_files or settings.ingest_chunk_files),
    )


# --------------------------------------------------------------------------- chunks

def _write_parquet(uri: str, table: pa.Table) -> None:
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd", compression_level=1)
    storage.write_bytes(uri, buffer.getvalue())


def _read_parquet(uri: str) -> pa.Table:
    return pq.read_table(io.BytesIO(storage.read_bytes(uri)))


def _listings_schema() -> pa.Schema:
    types = {
        "market_week": pa.date32(), "scrape_date": pa.date32(), "scraped_at": pa.timestamp("us", tz="UTC"),
        "price_local": pa.float64(), "usd_per_unit": pa.float64(), "price_usd": pa.float64(),
        "is_outlier": pa.bool_(), "source_line": pa.int32(),
    }
    return pa.schema([(name, types.get(name, pa.string())) for name, _ in LISTING_COLUMNS])


def _quarantine_schema() -> pa.Schema:
    types = {"market_week": pa.date32(), "scrape_date": pa.date32(), "line": pa.int32()}
    return pa.schema([(name, types.get(name, pa.string())) for name, _ in QUARANTINE_COLUMNS])


def process_chunk(plan: WeekPlan | dict[str, Any], chunk_index: int) -> dict[str, Any]:
    """Read and clean one chunk of the week's files; write its rows to the staging area."""
    plan = WeekPlan.from_dict(plan)
    started = time.perf_counter()
    files = plan.chunk(chunk_index)
    if not files:
        raise IngestError(f"chunk {chunk_index} does not exist in run {plan.run_id}")
    with ThreadPoolExecutor(max_workers=4) as pool:  # overlap S3/disk reads
        reads = list(pool.map(read_file, files))
    cleaned = clean_files(reads)
    base = storage.join(plan.chunks_uri, f"chunk-{chunk_index:04d}")
    listings = cleaned.listings.assign(is_outlier=False, ingest_run_id=plan.run_id)
    _write_parquet(base + ".listings.parquet",
                   pa.Table.from_pandas(listings[[n for n, _ in LISTING_COLUMNS]], schema=_listings_schema(),
                                        preserve_index=False))
    quarantine = cleaned.quarantine.assign(ingest_run_id=plan.run_id)
    _write_parquet(base + ".quarantine.parquet",
                   pa.Table.from_pandas(quarantine[[n for n, _ in QUARANTINE_COLUMNS]],
                                        schema=_quarantine_schema(), preserve_index=False))
    rows_read = sum(f["rows_read"] for f in cleaned.files if f["status"] == "loaded")
    row_quarantine = cleaned.quarantine[cleaned.quarantine["line"].notna()]
    return {
        "chunk_index": chunk_index,
        "listings_uri": base + ".listings.parquet",
        "quarantine_uri": base + ".quarantine.parquet",
        "files": cleaned.files,
        "rows_read": rows_read,
        "rows_valid": len(cleaned.listings),
        "rows_quarantined": len(row_quarantine),
        "seconds": round(time.perf_counter() - started, 3),
    }


# --------------------------------------------------------------------------- merge

def merge_week(plan: WeekPlan | dict[str, Any], chunk_results: list[dict[str, Any]]) -> dict[str, Any]:
    """Combine the chunks: dedup per (source, listing_id), flag outliers, write the week's Parquet files."""
    plan = WeekPlan.from_dict(plan)
    started = time.perf_counter()
    results = sorted(chunk_results, key=lambda r: r["chunk_index"])
    missing = set(plan.chunk_indexes) - {r["chunk_index"] for r in results}
    if missing:
        raise IngestError(f"chunks {sorted(missing)} of run {plan.run_id} have no result")
    listings = pa.concat_tables([_read_parquet(r["listings_uri"]) for r in results]).to_pandas()
    quarantine = pa.concat_tables([_read_parquet(r["quarantine_uri"]) for r in results])

    # Dedup: keep the latest scraped_at, then the lowest file, then the lowest line.
    rows_before = len(listings)
    if rows_before:
        order = listings.sort_values(
            ["source", "listing_id", "scraped_at", "source_file", "source_line"],
            ascending=[True, True, False, True, True],
            kind="stable",
        )
        keep = order[~order.duplicated(["source", "listing_id"], keep="first")]
        listings = keep.sort_values(["source", "listing_id"], kind="stable").reset_index(drop=True)
    duplicates = rows_before - len(listings)
    listings["is_outlier"] = flag_outliers(listings)

    files = [f for r in results for f in r["files"]]
    rows_read = sum(r["rows_read"] for r in results)
    row_level = quarantine.filter(pa.compute.is_valid(quarantine.column("line")))
    by_reason = {code: 0 for code in REASON_ORDER}
    for code, count in pd.Series(row_level.column("reason").to_pylist()).value_counts().items():
        by_reason[str(code)] = int(count)
    for f in files:
        if f["status"] == "rejected":
            by_reason[f["reason"]] = by_reason.get(f["reason"], 0) + 1
    if rows_read != len(listings) + row_level.num_rows + duplicates:
        raise IngestError(
            f"reconciliation failed for week {plan.market_week}: read {rows_read} != loaded {len(listings)} "
            f"+ quarantined {row_level.num_rows} + duplicates {duplicates}"
        )

    listings_uri = storage.join(plan.week_uri, "listings.parquet")
    quarantine_uri = storage.join(plan.week_uri, "quarantine.parquet")
    _write_parquet(listings_uri, pa.Table.from_pandas(listings[[n for n, _ in LISTING_COLUMNS]],
                                                      schema=_listings_schema(), preserve_index=False))
    _write_parquet(quarantine_uri, quarantine.cast(_quarantine_schema()))
    return {
        "market_week": plan.market_week.isoformat(),
        "listings_uri": listings_uri,
        "quarantine_uri": quarantine_uri,
        "files": files,
        "files_total": len(files),
        "files_loaded": sum(f["status"] == "loaded" for f in files),
        "files_empty": sum(f["status"] == "empty" for f in files),
        "files_rejected": sum(f["status"] == "rejected" for f in files),
        "rows_read": rows_read,
        "rows_loaded": len(listings),
        "rows_quarantined": row_level.num_rows,
        "rows_duplicate": duplicates,
        "rows_outlier": int(listings["is_outlier"].sum()),
        "rows_in_rejected_files": sum(f["rows_read"] for f in files if f["status"] == "rejected"),
        "quarantined_by_reason": {k: v for k, v in by_reason.items() if v},
        "seconds": round(time.perf_counter() - started, 3),
    }


# --------------------------------------------------------------------------- validate + load

def validate_week(
    plan: WeekPlan | dict[str, Any], merge_result: dict[str, Any], settings: Settings | None = None
) -> dict[str, Any]:
    """Validate the staged week with Great Expectations; raises ValidationFailed."""
    from ingest.validation import validate_listings

    plan = WeekPlan.from_dict(plan)
    settings = settings or get_settings()
    frame = _read_parquet(merge_result["listings_uri"]).to_pandas()
    return validate_listings(
        frame,
        [n for n, _ in LISTING_COLUMNS],
        plan.market_week.isoformat(),
        settings.ingest_min_rows,
        settings.ingest_max_rows,
    )


def load_week(
    plan: WeekPlan | dict[str, Any],
    merge_result: dict[str, Any],
    validation: dict[str, Any] | None,
    settings: Settings | None = None,
    before_commit: Callable[[Any], None] | None = None,
) -> dict[str, Any]:
    """COPY the staged week into the warehouse, replacing that week atomically, and close the ledger."""
    from ingest import loading

    plan = WeekPlan.from_dict(plan)
    settings = settings or get_settings()
    if not validation or not validation.get("success"):
        raise IngestError(f"week {plan.market_week} was not validated; refusing to load")
    dsn = settings.warehouse_dsn()
    schema = settings.raw_schema
    run = {
        "run_id": plan.run_id,
        "market_week": plan.market_week,
        "source_root": plan.source_root,
        "scrape_dates": plan.scrape_dates,
        "started_at": plan.started_at,
        "code_version": __version__,
    }
    loading.start_run(dsn, schema, run)
    ledger = {
        key: merge_result[key]
        for key in ("files_total", "files_loaded", "files_empty", "files_rejected", "rows_read", "rows_loaded",
                    "rows_quarantined", "rows_duplicate", "rows_outlier", "rows_in_rejected_files",
                    "quarantined_by_reason")
    }
    ledger.update(run_id=plan.run_id, staging_uri=plan.week_uri)
    try:
        listings = _read_parquet(merge_result["listings_uri"])
        quarantine = _read_parquet(merge_result["quarantine_uri"])
        loading.replace_week(dsn, schema, plan.market_week, listings, quarantine, merge_result["files"], ledger,
                             before_commit=before_commit)
    except Exception as exc:
        loading.fail_run(dsn, schema, plan.run_id, f"{type(exc).__name__}: {exc}")
        raise
    try:
        storage.delete_tree(plan.chunks_uri)
    except Exception:  # noqa: BLE001 - leftover chunk files are harmless
        log.warning("could not remove %s", plan.chunks_uri)
    return {**ledger, "market_week": plan.market_week.isoformat(), "status": "succeeded"}


# --------------------------------------------------------------------------- the whole week in one process

def _warm_validation() -> None:
    import great_expectations  # noqa: F401 - imported early so validation does not wait for it


def _validate_in_worker(plan: dict[str, Any], merge_result: dict[str, Any], settings: Settings) -> dict[str, Any]:
    return validate_week(plan, merge_result, settings)


class WeekRunner:
    """Runs whole weeks in this process, with worker pools kept across weeks (backfills).

    Chunks run in a process pool; validation runs in its own process that imports
    Great Expectations while the chunks are being cleaned.
    """

    def __init__(self, settings: Settings | None = None, workers: int = 2) -> None:
        import multiprocessing as mp

        self.settings = settings or get_settings()
        context = mp.get_context("forkserver")
        self._validator = ProcessPoolExecutor(max_workers=1, mp_context=context, initializer=_warm_validation)
        self._warm: Future = self._validator.submit(time.sleep, 0)
        self._pool = ProcessPoolExecutor(max_workers=max(1, workers), mp_context=context)

    def __enter__(self) -> WeekRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._pool.shutdown(cancel_futures=True)
        self._validator.shutdown(cancel_futures=True)

    def run(self, source: str, week: date, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
        """Ingest one market week end to end. Returns the ledger summary."""
        say = progress or (lambda _msg: None)
        started = time.perf_counter()
        plan = plan_week(source, week, self.settings)
        plan_dict = plan.to_dict()
        n_chunks = len(plan.chunk_indexes)
        say(f"week {week}: {len(plan.files)} files in {n_chunks} chunks "
            f"(scrape dates {', '.join(map(str, plan.scrape_dates))})")
        timings: dict[str, float] = {}
        futures = [self._pool.submit(process_chunk, plan_dict, i) for i in plan.chunk_indexes]
        results = []
        rows = files_done = 0
        for done, future in enumerate(futures, 1):
            result = future.result()
            results.append(result)
            rows += result["rows_read"]
            files_done += len(result["files"])
            elapsed = time.perf_counter() - started
            say(f"  chunk {done}/{n_chunks}: files {files_done}/{len(plan.files)}, rows {rows:,} "
                f"({rows / max(elapsed, 1e-9):,.0f} rows/s)")
        timings["chunks_s"] = time.perf_counter() - started
        t = time.perf_counter()
        merged = merge_week(plan_dict, results)
        timings["merge_s"] = time.perf_counter() - t
        t = time.perf_counter()
        self._warm.result()
        validation = self._validator.submit(_validate_in_worker, plan_dict, merged, self.settings).result()
        timings["validate_s"] = time.perf_counter() - t
        t = time.perf_counter()
        summary = load_week(plan_dict, merged, validation, self.settings)
        timings["load_s"] = time.perf_counter() - t
        timings["total_s"] = time.perf_counter() - started
        summary["timings"] = {k: round(v, 2) for k, v in timings.items()}
        summary["rows_per_second"] = round(summary["rows_read"] / max(timings["total_s"], 1e-9))
        summary["run_id"] = plan.run_id
        summary["staging_uri"] = plan.week_uri
        summary["rejected_files"] = [
            {"file": f["source_file"], "reason": f["reason"], "detail": f["detail"]}
            for f in merged["files"]
            if f["status"] == "rejected"
        ]
        return summary


def run_week(
    source: str,
    week: date,
    settings: Settings | None = None,
    progress: Callable[[str], None] | None = None,
    workers: int = 2,
) -> dict[str, Any]:
    """Ingest one market week end to end in this process (the CLI path). Returns the ledger summary."""
    with WeekRunner(settings, workers) as runner:
        return runner.run(source, week, progress)


def to_json(value: Any) -> str:
    return json.dumps(value, default=str, indent=2)

