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

import contextlib
import io
import json
import logging
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ingest import __version__, fx, storage
from ingest.cleaning import REASON_ORDER, clean_files
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
    "stage_week",
    "validate_values",
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
    chunks: list[list[int]] = field(default_factory=list)  # file indexes per chunk
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))

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
            files=[
                SourceFile(f["uri"], f["name"], f["size"], date.fromisoformat(f["scrape_date"])) for f in data["files"]
            ],
            chunk_files=int(data["chunk_files"]),
            chunks=[list(c) for c in data["chunks"]],
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
        raise IngestError(
            f"--week {week} is a {week:%A}; a market week starts on a Monday (did you mean {market_week_of(week)}?)"
        )
    try:
        dates, files = week_files(source, week)
    except FileNotFoundError as exc:
        raise IngestError(str(exc)) from exc
    if not dates:
        raise IngestError(f"no scrape_date=YYYY-MM-DD folder under {source} falls in the market week starting {week}")
    if not files:
        raise IngestError(f"the scrape folder(s) {', '.join(map(str, dates))} of week {week} hold no CSV file")
    per_chunk = max(1, chunk_files or settings.ingest_chunk_files)
    return WeekPlan(
        run_id=str(uuid.uuid4()),
        market_week=week,
        source_root=source,
        staging_root=settings.staging_root,
        scrape_dates=dates,
        files=files,
        chunk_files=per_chunk,
        chunks=balance_chunks([f.size for f in files], per_chunk),
    )


CHUNK_TARGET_BYTES = 24 << 20


def balance_chunks(sizes: list[int], max_files: int, target_bytes: int = CHUNK_TARGET_BYTES) -> list[list[int]]:
    """Split files into chunks of similar size: at most ``max_files`` files and about ``target_bytes`` each.

    Largest file first into the currently lightest chunk (LPT), so one site's big
    export does not make one chunk the straggler; files keep their order inside a chunk.
    """
    if not sizes:
        return []
    n_chunks = max(-(-len(sizes) // max_files), -(-sum(sizes) // target_bytes), 1)
    n_chunks = min(n_chunks, len(sizes))
    load = [0] * n_chunks
    members: list[list[int]] = [[] for _ in range(n_chunks)]
    for i in sorted(range(len(sizes)), key=lambda i: (-sizes[i], i)):
        candidates = [c for c in range(n_chunks) if len(members[c]) < max_files] or list(range(n_chunks))
        target = min(candidates, key=lambda c: (load[c], c))
        load[target] += sizes[i]
        members[target].append(i)
    return [sorted(m) for m in members if m]


# --------------------------------------------------------------------------- chunks


@contextmanager
def _arrow_sink(uri: str) -> Iterator[pa.NativeFile]:
    """A pyarrow output stream for ``uri``: a temporary local file renamed onto it, or (S3) a
    buffer uploaded as one object when the block succeeds."""
    if storage.is_s3(uri):
        buffer = pa.BufferOutputStream()
        yield buffer
        storage.write_bytes(uri, buffer.getvalue().to_pybytes())
        return
    with storage.local_writer(uri) as path, pa.OSFile(path, "wb") as sink:
        yield sink


def _write_parquet(uri: str, table: pa.Table) -> None:
    with _arrow_sink(uri) as sink:
        pq.write_table(table, sink, compression="lz4")  # about twice as fast to write as zstd


def _read_parquet(uri: str) -> pa.Table:
    return pq.read_table(io.BytesIO(storage.read_bytes(uri)))


def _write_ipc(uri: str, table: pa.Table) -> None:
    """Intermediate chunk files: Arrow IPC, far cheaper to write and read back than Parquet.

    On S3 they are lz4-compressed (fewer bytes to move); on a local disk they stay
    uncompressed, so that :func:`_read_ipc` maps them without a copy.
    """
    options = pa.ipc.IpcWriteOptions(compression="lz4" if storage.is_s3(uri) else None)
    with _arrow_sink(uri) as sink, pa.ipc.new_file(sink, table.schema, options=options) as writer:
        writer.write_table(table)


def _read_ipc(uri: str) -> pa.Table:
    if storage.is_s3(uri):
        return pa.ipc.open_file(pa.BufferReader(storage.read_bytes(uri))).read_all()
    return pa.ipc.open_file(pa.memory_map(uri)).read_all()  # zero-copy; stays valid after the file is removed


def _listings_schema() -> pa.Schema:
    types = {
        "market_week": pa.date32(),
        "scrape_date": pa.date32(),
        "scraped_at": pa.timestamp("us", tz="UTC"),
        "price_local": pa.float64(),
        "usd_per_unit": pa.float64(),
        "price_usd": pa.float64(),
        "is_outlier": pa.bool_(),
        "source_line": pa.int32(),
    }
    return pa.schema([(name, types.get(name, pa.string())) for name, _ in LISTING_COLUMNS])


def _quarantine_schema() -> pa.Schema:
    types = {"market_week": pa.date32(), "scrape_date": pa.date32(), "line": pa.int32()}
    return pa.schema([(name, types.get(name, pa.string())) for name, _ in QUARANTINE_COLUMNS])


def _with_run(table: pa.Table, run_id: str, schema: pa.Schema) -> pa.Table:
    """Add the run id (and is_outlier = false for listings) and order the columns as the warehouse does."""
    n = table.num_rows
    extra = {"ingest_run_id": pa.repeat(pa.scalar(run_id, pa.string()), n), "is_outlier": pa.array(np.zeros(n, bool))}
    columns = [table.column(f.name) if f.name in table.column_names else extra[f.name] for f in schema]
    return pa.Table.from_arrays(columns, schema=schema)


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
    del reads
    base = storage.join(plan.chunks_uri, f"chunk-{chunk_index:04d}")
    _write_ipc(base + ".listings.arrow", _with_run(cleaned.listings, plan.run_id, _listings_schema()))
    _write_ipc(base + ".quarantine.arrow", _with_run(cleaned.quarantine, plan.run_id, _quarantine_schema()))
    rows_read = sum(f["rows_read"] for f in cleaned.files if f["status"] == "loaded")
    row_quarantine = cleaned.quarantine.filter(pc.is_valid(cleaned.quarantine.column("line")))
    return {
        "chunk_index": chunk_index,
        "listings_uri": base + ".listings.arrow",
        "quarantine_uri": base + ".quarantine.arrow",
        "files": cleaned.files,
        "rows_read": rows_read,
        "rows_valid": cleaned.listings.num_rows,
        "rows_quarantined": row_quarantine.num_rows,
        "seconds": round(time.perf_counter() - started, 3),
    }


# --------------------------------------------------------------------------- merge


def latest_rows(listings: pa.Table) -> np.ndarray | None:
    """The rows dedup keeps: one per (source, listing_id), the latest scraped_at, then the lowest
    file, then the lowest line. None when every key is already unique.

    Hash-based: the keys are dictionary encoded and only the rows of keys seen more than
    once are ranked (numpy lexsort), so the cost is one pass over the keys.
    """
    if listings.num_rows == 0:
        return None
    key = pc.binary_join_element_wise(listings.column("source"), listings.column("listing_id"), "\x1f")
    codes = pc.dictionary_encode(key).combine_chunks().indices.to_numpy()
    repeated = np.bincount(codes)[codes] > 1
    if not repeated.any():
        return None
    positions = np.flatnonzero(repeated)
    scraped = pc.cast(listings.column("scraped_at"), pa.int64()).to_numpy()[positions]
    file_codes = pc.dictionary_encode(listings.column("source_file")).combine_chunks()
    names = file_codes.dictionary.to_pylist()
    rank = np.empty(len(names), dtype=np.int64)
    rank[sorted(range(len(names)), key=names.__getitem__)] = np.arange(len(names))
    files = rank[file_codes.indices.to_numpy()[positions]]
    lines = listings.column("source_line").to_numpy()[positions]
    group = codes[positions]
    best = np.lexsort((lines, files, -scraped, group))  # per key: latest, lowest file, lowest line
    first_of_group = np.r_[True, group[best][1:] != group[best][:-1]]
    keep = ~repeated
    keep[positions[best][first_of_group]] = True
    return keep


def dedup_listings(listings: pa.Table) -> pa.Table:
    """:func:`latest_rows` applied: the input order (chunk, file, line) is kept, so the result is deterministic."""
    keep = latest_rows(listings)
    return listings if keep is None else listings.filter(pa.array(keep))


def outlier_flags(listings: pa.Table, rows: np.ndarray | None = None) -> np.ndarray:
    """The metrics.md outlier rule over (brand, reference_number, market_week) groups.

    ``rows`` (a boolean mask) restricts the rule to those rows; the flags are returned for them only.
    """
    codes = []
    for name in ("brand", "reference_number", "market_week"):
        encoded = pc.dictionary_encode(listings.column(name)).combine_chunks()
        codes.append((encoded.indices.to_numpy().astype(np.int64), len(encoded.dictionary)))
    groups = np.zeros(listings.num_rows, dtype=np.int64)
    for values, cardinality in codes:
        groups = groups * cardinality + values
    prices = listings.column("price_usd").to_numpy()
    if rows is not None:
        groups, prices = groups[rows], prices[rows]
    return flag_outliers(groups, prices)


def merge_week(plan: WeekPlan | dict[str, Any], chunk_results: list[dict[str, Any]]) -> dict[str, Any]:
    """Combine the chunks: dedup per (source, listing_id), flag outliers, write the week's Parquet files."""
    merged, listings, quarantine = _merge(plan, chunk_results)
    stage_week(merged, listings, quarantine)
    return merged


def stage_week(merged: dict[str, Any], listings: pa.Table, quarantine: pa.Table) -> None:
    """Write the week's listings and quarantine Parquet files (the URIs of :func:`merge_week`'s result)."""
    _write_parquet(merged["listings_uri"], listings)
    _write_parquet(merged["quarantine_uri"], quarantine)


def _merge(
    plan: WeekPlan | dict[str, Any], chunk_results: list[dict[str, Any]]
) -> tuple[dict[str, Any], pa.Table, pa.Table]:
    """:func:`merge_week` without writing: the result and the week's listings and quarantine tables."""
    plan = WeekPlan.from_dict(plan)
    started = time.perf_counter()
    results = sorted(chunk_results, key=lambda r: r["chunk_index"])
    missing = set(plan.chunk_indexes) - {r["chunk_index"] for r in results}
    if missing:
        raise IngestError(f"chunks {sorted(missing)} of run {plan.run_id} have no result")
    listings = pa.concat_tables([_read_ipc(r["listings_uri"]) for r in results])
    quarantine = pa.concat_tables([_read_ipc(r["quarantine_uri"]) for r in results])
    rows_before = listings.num_rows
    keep = latest_rows(listings)
    with ThreadPoolExecutor(max_workers=1) as pool:  # both release the GIL: outliers || filter
        flags = pool.submit(outlier_flags, listings, keep)
        if keep is not None:
            listings = listings.filter(pa.array(keep))
        listings = listings.set_column(
            listings.schema.get_field_index("is_outlier"), "is_outlier", pa.array(flags.result())
        )
    duplicates = rows_before - listings.num_rows

    files = [f for r in results for f in r["files"]]
    rows_read = sum(r["rows_read"] for r in results)
    row_level = quarantine.filter(pc.is_valid(quarantine.column("line")))
    by_reason = dict.fromkeys(REASON_ORDER, 0)
    for item in pc.value_counts(row_level.column("reason")).to_pylist():
        by_reason[str(item["values"])] = int(item["counts"])
    for f in files:
        if f["status"] == "rejected":
            by_reason[f["reason"]] = by_reason.get(f["reason"], 0) + 1
    if rows_read != listings.num_rows + row_level.num_rows + duplicates:
        raise IngestError(
            f"reconciliation failed for week {plan.market_week}: read {rows_read} != loaded {listings.num_rows} "
            f"+ quarantined {row_level.num_rows} + duplicates {duplicates}"
        )

    listings_uri = storage.join(plan.week_uri, "listings.parquet")
    quarantine_uri = storage.join(plan.week_uri, "quarantine.parquet")
    quarantine = quarantine.cast(_quarantine_schema())
    return (
        {
            "market_week": plan.market_week.isoformat(),
            "listings_uri": listings_uri,
            "quarantine_uri": quarantine_uri,
            "files": files,
            "files_total": len(files),
            "files_loaded": sum(f["status"] == "loaded" for f in files),
            "files_empty": sum(f["status"] == "empty" for f in files),
            "files_rejected": sum(f["status"] == "rejected" for f in files),
            "rows_read": rows_read,
            "rows_loaded": listings.num_rows,
            "rows_quarantined": row_level.num_rows,
            "rows_duplicate": duplicates,
            "rows_outlier": int(pc.sum(listings.column("is_outlier")).as_py() or 0),
            "rows_in_rejected_files": sum(f["rows_read"] for f in files if f["status"] == "rejected"),
            "quarantined_by_reason": {k: v for k, v in by_reason.items() if v},
            "seconds": round(time.perf_counter() - started, 3),
        },
        listings,
        quarantine,
    )


# --------------------------------------------------------------------------- validate + load


def validate_week(
    plan: WeekPlan | dict[str, Any], merge_result: dict[str, Any], settings: Settings | None = None
) -> dict[str, Any]:
    """Validate the staged week with Great Expectations; raises ValidationFailed."""
    from ingest.validation import VALUE_COLUMNS

    parquet = pq.ParquetFile(io.BytesIO(storage.read_bytes(merge_result["listings_uri"])))
    return validate_values(plan, parquet.read(columns=list(VALUE_COLUMNS)), parquet.schema_arrow, settings)


def validate_values(
    plan: WeekPlan | dict[str, Any], values: pa.Table, schema: pa.Schema, settings: Settings | None = None
) -> dict[str, Any]:
    """Validate a week's value columns (``VALUE_COLUMNS``) and its full schema; raises ValidationFailed."""
    from ingest.validation import validate_listings, values_frame

    plan = WeekPlan.from_dict(plan)
    settings = settings or get_settings()
    frame = values_frame(values)
    return validate_listings(
        frame,
        schema,
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
    tables: tuple[pa.Table, pa.Table] | None = None,
    await_validation: Callable[[], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """COPY the staged week into the warehouse, replacing that week atomically, and close the ledger.

    ``validation`` is the passed report of :func:`validate_week`. Alternatively
    ``await_validation`` returns it (or raises) while the COPY is already under way;
    nothing is committed unless it passes. ``tables`` skips re-reading the staged files.
    """
    from ingest import loading

    plan = WeekPlan.from_dict(plan)
    settings = settings or get_settings()

    def gate(cur: Any) -> None:
        report = await_validation() if await_validation is not None else validation
        if not report or not report.get("success"):
            raise IngestError(f"week {plan.market_week} was not validated; refusing to load")
        if before_commit is not None:
            before_commit(cur)

    if await_validation is None and (not validation or not validation.get("success")):
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
        for key in (
            "files_total",
            "files_loaded",
            "files_empty",
            "files_rejected",
            "rows_read",
            "rows_loaded",
            "rows_quarantined",
            "rows_duplicate",
            "rows_outlier",
            "rows_in_rejected_files",
            "quarantined_by_reason",
        )
    }
    ledger.update(run_id=plan.run_id, staging_uri=plan.week_uri)
    try:
        if tables is not None:
            listings, quarantine = tables
        else:
            listings = _read_parquet(merge_result["listings_uri"])
            quarantine = _read_parquet(merge_result["quarantine_uri"])
        loading.replace_week(
            dsn,
            schema,
            plan.market_week,
            listings,
            quarantine,
            merge_result["files"],
            ledger,
            before_commit=gate,
        )
    except Exception as exc:
        loading.fail_run(dsn, schema, plan.run_id, f"{type(exc).__name__}: {exc}")
        raise
    try:
        storage.delete_tree(plan.chunks_uri)
    except Exception:  # noqa: BLE001 - leftover chunk files are harmless
        log.warning("could not remove %s", plan.chunks_uri)
    return {**ledger, "market_week": plan.market_week.isoformat(), "status": "succeeded"}


# --------------------------------------------------------------------------- the whole week in one process


def _adopt_environment(environ: dict[str, str]) -> None:
    """Pool initializer: take the parent's environment (forkserver children inherit a stale one)."""
    import os

    os.environ.clear()
    os.environ.update(environ)
    get_settings.cache_clear()
    storage.s3_client.cache_clear()


def _warm_validation(environ: dict[str, str]) -> None:
    """Validation process initializer: import Great Expectations in a background thread.

    The import runs at nice +10, in the idle moments of the chunks and the merge; the validation
    itself (this process's main thread, which waits for the import if it is not done) keeps the
    normal priority, so that the load's COMMIT does not wait for it (measured on a 1M-row week:
    the run 0.18 s shorter than with the whole process at nice +10).
    """
    _adopt_environment(environ)
    threading.Thread(target=_import_great_expectations, name="gx-import", daemon=True).start()


def _import_great_expectations() -> None:
    from ingest.validation import import_great_expectations
    from ingest.workers import collector_paused, lower_priority

    lower_priority()  # this thread's own
    # Importing Great Expectations creates objects by the hundred thousand and no garbage: with the
    # collector paused it cost 1.55 CPU-s instead of 1.9 (1.15 now that scipy.stats and altair
    # are deferred).
    with collector_paused(), contextlib.suppress(Exception):  # a broken install: the validation reports it
        import_great_expectations()


def _warm_rates() -> None:
    with contextlib.suppress(Exception):  # a missing or broken rates file is reported by the load
        fx.warm_default_rates()


def _stage_in_background(merged: dict[str, Any], listings: pa.Table, quarantine: pa.Table) -> None:
    from ingest.workers import lower_priority

    lower_priority()  # this thread's own; the load waits for the staging files only at its COMMIT
    stage_week(merged, listings, quarantine)


def _validate_in_worker(
    plan: dict[str, Any], values_path: str, schema: pa.Schema, settings: Settings
) -> dict[str, Any]:
    return validate_values(plan, _read_ipc(values_path), schema, settings)


class WeekRunner:
    """Runs whole weeks in this process, with worker pools kept across weeks (backfills).

    Chunks run in a process pool; validation runs in its own process, which imports
    Great Expectations while the last chunks are being cleaned.
    """

    def __init__(self, settings: Settings | None = None, workers: int = 2) -> None:
        import os

        from ingest.workers import worker_context

        self.settings = settings or get_settings()
        context = worker_context()
        environ = dict(os.environ)
        self._validator = ProcessPoolExecutor(
            max_workers=1, mp_context=context, initializer=_warm_validation, initargs=(environ,)
        )
        self._workers = max(1, workers)
        self._pool = ProcessPoolExecutor(
            max_workers=self._workers,
            mp_context=context,
            initializer=_adopt_environment,
            initargs=(environ,),
        )

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
        say(
            f"week {week}: {len(plan.files)} files in {n_chunks} chunks "
            f"(scrape dates {', '.join(map(str, plan.scrape_dates))})"
        )
        timings: dict[str, float] = {}
        futures = [self._pool.submit(process_chunk, plan_dict, i) for i in plan.chunk_indexes]
        # The load compares the ECB table with fx_rates: read it while this process waits.
        threading.Thread(target=_warm_rates, name="fx-warm", daemon=True).start()
        # Great Expectations takes ~1.2 CPU-s to import: start it once a chunk worker falls idle,
        # so that it takes a free core rather than one the chunks need.
        warm_at = max(1, n_chunks - self._workers + 1)
        results = []
        rows = files_done = 0
        for done, future in enumerate(futures, 1):
            result = future.result()
            if done == warm_at:
                self._validator.submit(time.sleep, 0)
            results.append(result)
            rows += result["rows_read"]
            files_done += len(result["files"])
            elapsed = time.perf_counter() - started
            say(
                f"  chunk {done}/{n_chunks}: files {files_done}/{len(plan.files)}, rows {rows:,} "
                f"({rows / max(elapsed, 1e-9):,.0f} rows/s)"
            )
        timings["chunks_s"] = time.perf_counter() - started
        t = time.perf_counter()
        merged, listings, quarantine = _merge(plan_dict, results)
        del results
        timings["merge_s"] = time.perf_counter() - t
        t = time.perf_counter()
        # Three things at once: the validation process (Great Expectations) reads the week's
        # value columns from a local Arrow file; a thread writes the staging Parquet files; the
        # COPY streams the tables to the server. The load commits only once the validation has
        # passed and the staging files are written.
        from ingest.validation import VALUE_COLUMNS

        with tempfile.TemporaryDirectory(prefix="ingest-validate-") as spill:
            values_path = str(Path(spill, "values.arrow"))
            _write_ipc(values_path, listings.select(list(VALUE_COLUMNS)))
            validation = self._validator.submit(
                _validate_in_worker, plan_dict, values_path, listings.schema, self.settings
            )
            with ThreadPoolExecutor(max_workers=1) as stager:
                staged = stager.submit(_stage_in_background, merged, listings, quarantine)

                def await_validation() -> dict[str, Any]:
                    waited = time.perf_counter()
                    staged.result()
                    report = validation.result()
                    timings["validate_wait_s"] = time.perf_counter() - waited
                    return report

                summary = load_week(
                    plan_dict,
                    merged,
                    None,
                    self.settings,
                    tables=(listings, quarantine),
                    await_validation=await_validation,
                )
        timings["validate_and_load_s"] = time.perf_counter() - t
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
