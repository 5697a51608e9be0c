"""The local runner: whole weeks in this process (``ingest run``, backfills), scheduling the same steps.

Chunks run in a process pool; the validation runs in its own process, which imports Great
Expectations while the last chunks are being cleaned. The runner keeps the merged week in
memory and overlaps three things: the validation, the staging Parquet, and the COPY, which
commits only once the validation has passed and the staging files are written.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pyarrow as pa

from ingest import storage
from ingest.settings import Settings, get_settings
from ingest.steps import fx, staging
from ingest.steps.results import LoadResult, MergeResult, ValidationReport, WeekPlan
from ingest.steps.week import load_week, merge_chunks, plan_week, process_chunk, stage_week, validate_values


def _adopt_environment(environ: dict[str, str]) -> None:
    """Pool initializer: take the parent's environment (forkserver children inherit a stale one)."""
    os.environ.clear()
    os.environ.update(environ)
    get_settings.cache_clear()
    storage.s3_client.cache_clear()


def _warm_validation(environ: dict[str, str]) -> None:
    """Validation process initializer: import Great Expectations in a background thread.

    The import runs at a lower priority, in the idle moments of the chunks and the merge; the
    validation itself (this process's main thread, which waits for the import if it is not done)
    keeps the normal priority, so that the load's COMMIT does not wait for it.
    """
    _adopt_environment(environ)
    threading.Thread(target=_import_great_expectations, name="gx-import", daemon=True).start()


def _import_great_expectations() -> None:
    from ingest.runner.tuning import collector_paused, lower_priority
    from ingest.steps.validation import import_great_expectations

    lower_priority()  # this thread's own
    with collector_paused(), contextlib.suppress(Exception):  # a broken install: the validation reports it
        import_great_expectations()


def _warm_rates() -> None:
    with contextlib.suppress(Exception):  # a missing or broken rates file is reported by the load
        fx.warm_default_rates()


def _stage_in_background(merged: MergeResult, listings: pa.Table, quarantine: pa.Table) -> None:
    from ingest.runner.tuning import lower_priority

    lower_priority()  # this thread's own; the load waits for the staging files only at its COMMIT
    stage_week(merged, listings, quarantine)


def _validate_in_worker(plan: WeekPlan, values_path: str, schema: pa.Schema, settings: Settings) -> ValidationReport:
    return validate_values(plan, staging.read_ipc(values_path), schema, settings)


class WeekRunner:
    """Runs whole weeks in this process, with worker pools kept across weeks (backfills)."""

    def __init__(self, settings: Settings | None = None, workers: int = 2) -> None:
        from ingest.runner.tuning import worker_context

        self.settings = settings or get_settings()
        context = worker_context()
        environ = dict(os.environ)
        self._validator = ProcessPoolExecutor(
            max_workers=1, mp_context=context, initializer=_warm_validation, initargs=(environ,)
        )
        self._workers = max(1, workers)
        self._pool = ProcessPoolExecutor(
            max_workers=self._workers, mp_context=context, initializer=_adopt_environment, initargs=(environ,)
        )

    def __enter__(self) -> WeekRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._pool.shutdown(cancel_futures=True)
        self._validator.shutdown(cancel_futures=True)

    def run(self, source: str, week: date, progress: Callable[[str], None] | None = None) -> LoadResult:
        """Ingest one market week end to end. Returns the committed ledger."""
        say = progress or (lambda _msg: None)
        started = time.perf_counter()
        plan = plan_week(source, week, self.settings)
        n_chunks = len(plan.chunk_indexes)
        say(
            f"week {week}: {len(plan.files)} files in {n_chunks} chunks "
            f"(scrape dates {', '.join(map(str, plan.scrape_dates))})"
        )
        timings: dict[str, float] = {}
        futures = [self._pool.submit(process_chunk, plan, i) for i in plan.chunk_indexes]
        # The load compares the ECB table with fx_rates: read it while this process waits.
        threading.Thread(target=_warm_rates, name="fx-warm", daemon=True).start()
        # Great Expectations takes a CPU-second to import: start it once a chunk worker falls
        # idle, so that it takes a free core rather than one the chunks need.
        warm_at = max(1, n_chunks - self._workers + 1)
        results = []
        rows = files_done = 0
        for done, future in enumerate(futures, 1):
            result = future.result()
            if done == warm_at:
                self._validator.submit(time.sleep, 0)
            results.append(result)
            rows += result.rows_read
            files_done += len(result.files)
            elapsed = time.perf_counter() - started
            say(
                f"  chunk {done}/{n_chunks}: files {files_done}/{len(plan.files)}, rows {rows:,} "
                f"({rows / max(elapsed, 1e-9):,.0f} rows/s)"
            )
        timings["chunks_s"] = time.perf_counter() - started
        t = time.perf_counter()
        merged, listings, quarantine = merge_chunks(plan, results)
        del results
        timings["merge_s"] = time.perf_counter() - t
        t = time.perf_counter()
        from ingest.steps.validation import VALUE_COLUMNS

        with tempfile.TemporaryDirectory(prefix="ingest-validate-") as spill:
            values_path = str(Path(spill, "values.arrow"))
            staging.write_ipc(values_path, listings.select(list(VALUE_COLUMNS)))
            validation: Future[ValidationReport] = self._validator.submit(
                _validate_in_worker, plan, values_path, listings.schema, self.settings
            )
            with ThreadPoolExecutor(max_workers=1) as stager:
                staged = stager.submit(_stage_in_background, merged, listings, quarantine)

                def await_validation() -> ValidationReport:
                    waited = time.perf_counter()
                    staged.result()
                    report = validation.result()
                    timings["validate_wait_s"] = time.perf_counter() - waited
                    return report

                result = load_week(plan, merged, await_validation, self.settings, tables=(listings, quarantine))
        timings["validate_and_load_s"] = time.perf_counter() - t
        timings["total_s"] = time.perf_counter() - started
        result.timings = {k: round(v, 2) for k, v in timings.items()}
        return result


def run_week(
    source: str,
    week: date,
    settings: Settings | None = None,
    progress: Callable[[str], None] | None = None,
    workers: int = 2,
) -> LoadResult:
    """Ingest one market week end to end in this process (the CLI path). Returns the committed ledger."""
    with WeekRunner(settings, workers) as runner:
        return runner.run(source, week, progress)
