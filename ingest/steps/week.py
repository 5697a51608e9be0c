"""The weekly ingest as steps: the one path of a week, whether the CLI or Airflow schedules it.

    plan_week -> process_chunk (one per chunk of files, in parallel)
              -> merge_chunks (dedup + outliers over the whole week) -> stage_week (Parquet)
              -> validate_week (Great Expectations)
              -> load_week (COPY, atomic replace, ledger)

Steps take and return the typed results of :mod:`ingest.steps.results`. Every step is
idempotent: each run reads and writes its own week's part of the staging area and the warehouse.
The CLI's runner (:mod:`ingest.runner.local`) only schedules these steps differently: it keeps the
merged week in memory and lets the COPY start while the validation runs.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingest import __version__, storage
from ingest.settings import Settings
from ingest.steps import staging
from ingest.steps.calendar import market_week_of
from ingest.steps.cleaning import REASON_ORDER, clean_files
from ingest.steps.dedup import latest_rows
from ingest.steps.outliers import table_outlier_flags
from ingest.steps.reading import read_file, scrape_folders, week_files
from ingest.steps.results import (
    ChunkResult,
    FileOutcome,
    LoadResult,
    MergeResult,
    ValidationReport,
    WeekPlan,
    empty_counts,
)
from ingest.steps.schema import LISTINGS, QUARANTINE

log = logging.getLogger(__name__)

__all__ = [
    "IngestError",
    "discover_weeks",
    "load_week",
    "merge_chunks",
    "merge_week",
    "plan_week",
    "process_chunk",
    "stage_week",
    "validate_values",
    "validate_week",
]

#: A validation, or a function that returns it once it is known (the load waits for it before COMMIT).
Validation = ValidationReport | Callable[[], ValidationReport]


class IngestError(Exception):
    """The week could not be loaded; the message is the one-line reason."""


# --------------------------------------------------------------------------- plan


def discover_weeks(source: str) -> list[date]:
    """Every market week that has at least one scrape folder under ``source``."""
    return sorted({market_week_of(d) for d, _ in scrape_folders(source)})


def plan_week(source: str, week: date, settings: Settings, chunk_files: int | None = None) -> WeekPlan:
    """List the week's files and split them into chunks. ``week`` must be a Monday."""
    if week != market_week_of(week):
        raise IngestError(
            f"--week {week} is a {week:%A}; a market week starts on a Monday (did you mean {market_week_of(week)}?)"
        )
    try:
        dates, files, ignored = week_files(source, week)
    except FileNotFoundError as exc:
        raise IngestError(str(exc)) from exc
    if not dates:
        raise IngestError(f"no scrape_date=YYYY-MM-DD folder under {source} falls in the market week starting {week}")
    per_chunk = max(1, chunk_files or settings.ingest_chunk_files)
    plan = WeekPlan(
        run_id=str(uuid.uuid4()),
        market_week=week,
        source_root=source,
        staging_root=settings.staging_root,
        scrape_dates=dates,
        files=files,
        chunk_files=per_chunk,
        chunks=balance_chunks([f.size for f in files], per_chunk),
        ignored=ignored,
    )
    if not files:
        message = f"the scrape folder(s) {', '.join(map(str, dates))} of week {week} hold no raw file (*.csv, *.csv.gz)"
        if not ignored:
            raise IngestError(message)
        # Objects that are not raw files still leave their trace: the run, failed, and its file ledger.
        counts = empty_counts()
        counts.update(files_total=len(ignored), files_ignored=len(ignored))
        merged = MergeResult(week, "", "", list(ignored), counts, {}, 0.0)
        record_unloadable(plan, merged, settings, QUARANTINE.arrow_schema.empty_table())
        raise IngestError(
            f"{message}; {len(ignored)} other object(s) ignored, e.g. {ignored[0].source_file} "
            f"(recorded under run {plan.run_id})"
        )
    return plan


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


def _with_run(table: pa.Table, run_id: str, schema: pa.Schema) -> pa.Table:
    """Add the run id (and is_outlier = false for listings) and order the columns as the warehouse does."""
    n = table.num_rows
    extra = {"ingest_run_id": pa.repeat(pa.scalar(run_id, pa.string()), n), "is_outlier": pa.array(np.zeros(n, bool))}
    columns = [table.column(f.name) if f.name in table.column_names else extra[f.name] for f in schema]
    return pa.Table.from_arrays(columns, schema=schema)


def process_chunk(plan: WeekPlan, chunk_index: int) -> ChunkResult:
    """Read and clean one chunk of the week's files; write its rows to the staging area."""
    started = time.perf_counter()
    files = plan.chunk(chunk_index)
    if not files:
        raise IngestError(f"chunk {chunk_index} does not exist in run {plan.run_id}")
    with ThreadPoolExecutor(max_workers=4) as pool:  # overlap S3/disk reads
        reads = list(pool.map(read_file, files))
    cleaned = clean_files(reads)
    del reads
    base = storage.join(plan.chunks_uri, f"chunk-{chunk_index:04d}")
    listings_uri, quarantine_uri = base + ".listings.arrow", base + ".quarantine.arrow"
    staging.write_ipc(listings_uri, _with_run(cleaned.listings, plan.run_id, LISTINGS.arrow_schema))
    staging.write_ipc(quarantine_uri, _with_run(cleaned.quarantine, plan.run_id, QUARANTINE.arrow_schema))
    row_quarantine = cleaned.quarantine.filter(pc.is_valid(cleaned.quarantine.column("line")))
    return ChunkResult(
        chunk_index=chunk_index,
        listings_uri=listings_uri,
        quarantine_uri=quarantine_uri,
        files=cleaned.files,
        rows_read=sum(f.rows_read for f in cleaned.files if f.status == "loaded"),
        rows_valid=cleaned.listings.num_rows,
        rows_quarantined=row_quarantine.num_rows,
        seconds=round(time.perf_counter() - started, 3),
    )


# --------------------------------------------------------------------------- merge


def merge_week(plan: WeekPlan, chunk_results: list[ChunkResult]) -> MergeResult:
    """Combine the chunks (dedup, outliers) and write the week's staging Parquet files."""
    merged, listings, quarantine = merge_chunks(plan, chunk_results)
    stage_week(merged, listings, quarantine)
    return merged


def stage_week(merged: MergeResult, listings: pa.Table, quarantine: pa.Table) -> None:
    """Write the week's listings and quarantine Parquet files (the URIs of ``merged``)."""
    staging.write_parquet(merged.listings_uri, listings)
    staging.write_parquet(merged.quarantine_uri, quarantine)


def merge_chunks(plan: WeekPlan, chunk_results: list[ChunkResult]) -> tuple[MergeResult, pa.Table, pa.Table]:
    """Dedup per (source, listing_id) and flag outliers across the chunks; nothing written.

    Returns the result and the week's listings and quarantine tables. Raises :class:`IngestError`
    when a chunk is missing or the rows do not reconcile (read = loaded + quarantined + duplicates).
    """
    started = time.perf_counter()
    results = sorted(chunk_results, key=lambda r: r.chunk_index)
    missing = set(plan.chunk_indexes) - {r.chunk_index for r in results}
    if missing:
        raise IngestError(f"chunks {sorted(missing)} of run {plan.run_id} have no result")
    listings = pa.concat_tables([staging.read_ipc(r.listings_uri) for r in results])
    quarantine = pa.concat_tables([staging.read_ipc(r.quarantine_uri) for r in results])
    rows_before = listings.num_rows
    keep = latest_rows(listings)
    with ThreadPoolExecutor(max_workers=1) as pool:  # both release the GIL: outliers || filter
        flags = pool.submit(table_outlier_flags, listings, keep)
        if keep is not None:
            listings = listings.filter(pa.array(keep))
        listings = listings.set_column(
            listings.schema.get_field_index("is_outlier"), "is_outlier", pa.array(flags.result())
        )
    duplicates = rows_before - listings.num_rows

    files: list[FileOutcome] = [f for r in results for f in r.files] + list(plan.ignored)
    rows_read = sum(r.rows_read for r in results)
    row_level = quarantine.filter(pc.is_valid(quarantine.column("line")))
    by_reason = dict.fromkeys(REASON_ORDER, 0)
    for item in pc.value_counts(row_level.column("reason")).to_pylist():
        by_reason[str(item["values"])] = int(item["counts"])
    for f in files:
        if f.status == "rejected" and f.reason:
            by_reason[f.reason] = by_reason.get(f.reason, 0) + 1
    if rows_read != listings.num_rows + row_level.num_rows + duplicates:
        raise IngestError(
            f"reconciliation failed for week {plan.market_week}: read {rows_read} != loaded {listings.num_rows} "
            f"+ quarantined {row_level.num_rows} + duplicates {duplicates}"
        )
    counts = empty_counts()
    counts.update(
        files_total=len(files),
        files_loaded=sum(f.status == "loaded" for f in files),
        files_empty=sum(f.status == "empty" for f in files),
        files_rejected=sum(f.status == "rejected" for f in files),
        files_ignored=sum(f.status == "ignored" for f in files),
        rows_read=rows_read,
        rows_loaded=listings.num_rows,
        rows_quarantined=row_level.num_rows,
        rows_duplicate=duplicates,
        rows_outlier=int(pc.sum(listings.column("is_outlier")).as_py() or 0),
        rows_in_rejected_files=sum(f.rows_read for f in files if f.status == "rejected"),
    )
    merged = MergeResult(
        market_week=plan.market_week,
        listings_uri=storage.join(plan.week_uri, "listings.parquet"),
        quarantine_uri=storage.join(plan.week_uri, "quarantine.parquet"),
        files=files,
        counts=counts,
        quarantined_by_reason={k: v for k, v in by_reason.items() if v},
        seconds=round(time.perf_counter() - started, 3),
    )
    return merged, listings, quarantine.cast(QUARANTINE.arrow_schema)


# --------------------------------------------------------------------------- validate


def validate_week(plan: WeekPlan, merged: MergeResult, settings: Settings) -> ValidationReport:
    """Validate the staged week with Great Expectations; raises ``ValidationFailed``.

    A week without a loadable row is not validated: its rejections are recorded and
    :class:`IngestError` says why in one line.
    """
    from ingest.steps.validation import VALUE_COLUMNS

    if merged.count("rows_loaded") == 0:
        raise record_unloadable(plan, merged, settings)

    values = staging.read_parquet(merged.listings_uri, columns=list(VALUE_COLUMNS))
    return validate_values(plan, values, staging.parquet_schema(merged.listings_uri), settings)


def validate_values(plan: WeekPlan, values: pa.Table, schema: pa.Schema, settings: Settings) -> ValidationReport:
    """Validate a week's value columns (``VALUE_COLUMNS``) and its full schema; raises ``ValidationFailed``."""
    from ingest.steps.validation import validate_listings, values_frame

    return validate_listings(
        values_frame(values),
        schema,
        LISTINGS.names,
        plan.market_week.isoformat(),
        settings.ingest_min_rows,
        settings.ingest_max_rows,
    )


# --------------------------------------------------------------------------- load


def run_row(plan: WeekPlan) -> dict[str, object]:
    """The run's ledger row as it starts (``running``): the plan, this process and its machine."""
    return {
        "run_id": plan.run_id,
        "market_week": plan.market_week,
        "source_root": plan.source_root,
        "scrape_dates": plan.scrape_dates,
        "started_at": plan.started_at,
        "code_version": __version__,
        "pid": os.getpid(),
        "host": socket.gethostname(),
    }


def _ledger(plan: WeekPlan, merged: MergeResult) -> dict[str, object]:
    return {
        **merged.counts,
        "quarantined_by_reason": merged.quarantined_by_reason,
        "run_id": plan.run_id,
        "staging_uri": plan.week_uri,
    }


def unloadable_message(plan: WeekPlan, merged: MergeResult) -> str:
    """The one-line reason of a week in which no row is loadable."""
    rejected = [f for f in merged.files if f.status == "rejected"]
    shown = "; ".join(f"{f.source_file}: {f.reason}" for f in rejected[:3])
    more = f"; and {len(rejected) - 3} more" if len(rejected) > 3 else ""
    parts = [f"{merged.count('files_total')} object(s)"]
    if rejected:
        parts.append(f"{len(rejected)} file(s) rejected ({shown}{more})")
    for name, label in (("files_empty", "empty"), ("files_ignored", "ignored")):
        if merged.count(name):
            parts.append(f"{merged.count(name)} {label}")
    row_reasons = {k: v for k, v in merged.quarantined_by_reason.items() if k in REASON_ORDER}
    if merged.count("rows_quarantined"):
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(row_reasons.items()))
        parts.append(f"{merged.count('rows_quarantined')} row(s) quarantined ({reasons})")
    return (
        f"week {plan.market_week} has no loadable row: {', '.join(parts)}; nothing replaced, "
        f"the rejections are recorded under run {plan.run_id}"
    )


def record_unloadable(
    plan: WeekPlan, merged: MergeResult, settings: Settings, quarantine: pa.Table | None = None
) -> IngestError:
    """Record a week without a loadable row (run failed, file ledger, quarantine); the error to raise."""
    from ingest.warehouse import load
    from ingest.warehouse.connection import ensure_warehouse

    message = unloadable_message(plan, merged)
    if quarantine is None:
        try:
            quarantine = staging.read_parquet(merged.quarantine_uri)
        except Exception:  # noqa: BLE001 - not staged: the file ledger still says what was rejected
            quarantine = QUARANTINE.arrow_schema.empty_table()
    dsn = ensure_warehouse(settings)
    with load.RunLedger(dsn, settings.raw_schema, run_row(plan)):
        load.record_unloadable_run(
            dsn, settings.raw_schema, _ledger(plan, merged), [f.to_dict() for f in merged.files], quarantine, message
        )
    try:
        storage.delete_tree(plan.chunks_uri)
    except Exception:  # noqa: BLE001 - leftover chunk files are harmless
        log.warning("could not remove %s", plan.chunks_uri)
    return IngestError(message)


def load_week(
    plan: WeekPlan,
    merged: MergeResult,
    validation: Validation,
    settings: Settings,
    tables: tuple[pa.Table, pa.Table] | None = None,
) -> LoadResult:
    """COPY the week into the warehouse, replacing that week atomically, and close the run's ledger.

    ``validation`` is the week's passed report, or a function returning it: the load then waits for
    it inside the transaction, after the COPY, and commits only if it passed. ``tables`` (the merged
    listings and quarantine) spares reading the staged files back. A week without a loadable row
    loads nothing: its rejections are recorded and :class:`IngestError` says why in one line.
    """
    from ingest.warehouse import load
    from ingest.warehouse.connection import ensure_warehouse

    def gate(_cur: object) -> None:
        report = validation() if callable(validation) else validation
        if not report.success:
            raise IngestError(f"week {plan.market_week} was not validated; refusing to load")

    if merged.count("rows_loaded") == 0:
        raise record_unloadable(plan, merged, settings, tables[1] if tables is not None else None)
    if isinstance(validation, ValidationReport):
        gate(None)
    dsn = ensure_warehouse(settings)
    schema = settings.raw_schema
    ledger = _ledger(plan, merged)
    with load.RunLedger(dsn, schema, run_row(plan)) as run:
        try:
            if tables is not None:
                listings, quarantine = tables
            else:
                listings = staging.read_parquet(merged.listings_uri)
                quarantine = staging.read_parquet(merged.quarantine_uri)
            load.replace_week(
                dsn,
                schema,
                plan.market_week,
                listings,
                quarantine,
                [f.to_dict() for f in merged.files],
                ledger,
                before_commit=gate,
                lock_timeout_s=settings.lock_timeout_s,
            )
        except BaseException as exc:
            run.fail(f"{type(exc).__name__}: {exc}")
            raise
    try:
        storage.delete_tree(plan.chunks_uri)
    except Exception:  # noqa: BLE001 - leftover chunk files are harmless
        log.warning("could not remove %s", plan.chunks_uri)
    return LoadResult(
        run_id=plan.run_id,
        market_week=plan.market_week,
        status="succeeded",
        counts=dict(merged.counts),
        quarantined_by_reason=dict(merged.quarantined_by_reason),
        staging_uri=plan.week_uri,
        files=list(merged.files),
    )
