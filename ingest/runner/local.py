"""The local runner: whole weeks in this process (``ingest run``, backfills), scheduling the same steps.

Chunks run in a process pool; the validation runs in its own process, which imports Great
Expectations while the last chunks are being cleaned. The runner keeps the merged week in
memory and overlaps three things: the validation, the staging Parquet, and the COPY, which
commits only once the validation has passed and the staging files are written.

A run's ledger row is written ``running`` before any file is read, and marked ``failed`` with the
reason if the run fails or is interrupted (SIGTERM, SIGINT: :func:`interrupts_as_exceptions`).
On any failure the worker processes are killed at once: no worker outlives its run, and the
process never waits on a pool at exit.
"""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pyarrow as pa

from ingest import storage
from ingest.settings import Settings, get_settings
from ingest.steps import fx, staging
from ingest.steps.results import LoadResult, MergeResult, ValidationReport, WeekPlan
from ingest.steps.week import (
    load_week,
    merge_chunks,
    plan_week,
    process_chunk,
    run_row,
    stage_week,
    validate_values,
)
from ingest.warehouse import load
from ingest.warehouse.connection import ensure_warehouse


class RunInterrupted(BaseException):
    """The run received SIGTERM or SIGINT. A BaseException, so that no ``except Exception`` on the
    way out swallows it."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(f"interrupted by {signal.Signals(signum).name}")


_shield = threading.local()


@contextlib.contextmanager
def interrupts_as_exceptions() -> Iterator[None]:
    """SIGTERM and SIGINT raise :class:`RunInterrupted` in the main thread while the block runs.

    The first signal interrupts; later ones are ignored while the run cleans up (it kills its
    workers and marks its ledger row, each bounded), so a second Ctrl-C cannot cut that short.
    Inside :func:`_uninterrupted` the interrupt waits for the end of that block. Outside the main
    thread this does nothing (signals are delivered to the main thread only).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    signums = (signal.SIGTERM, signal.SIGINT)
    previous = {signum: signal.getsignal(signum) for signum in signums}

    def interrupt(signum: int, _frame: object) -> None:
        for other in signums:
            signal.signal(other, signal.SIG_IGN)
        if getattr(_shield, "depth", 0):
            _shield.pending = signum
            return
        raise RunInterrupted(signum)

    for signum in signums:
        signal.signal(signum, interrupt)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextlib.contextmanager
def _uninterrupted() -> Iterator[None]:
    """A block a signal must not cut in two: handing work to a pool, which may be starting a
    worker (a half-sent start leaves the new process a truncated message, and a traceback)."""
    _shield.depth = getattr(_shield, "depth", 0) + 1
    try:
        yield
    finally:
        _shield.depth -= 1
        pending = getattr(_shield, "pending", None)
        if pending is not None and not _shield.depth:
            _shield.pending = None
            raise RunInterrupted(pending)


def _adopt_environment(environ: dict[str, str], run_pid: int) -> None:
    """Pool initializer: take the parent's environment (forkserver children inherit a stale one),
    and end with the run's process (see :func:`ingest.runner.tuning.tie_worker_to_run`)."""
    from ingest.runner.tuning import tie_worker_to_run

    tie_worker_to_run(run_pid)
    os.environ.clear()
    os.environ.update(environ)
    get_settings.cache_clear()
    storage.s3_client.cache_clear()


def _warm_validation(environ: dict[str, str], run_pid: int) -> None:
    """Validation process initializer: import Great Expectations in a background thread.

    The import runs at a lower priority, in the idle moments of the chunks and the merge; the
    validation itself (this process's main thread, which waits for the import if it is not done)
    keeps the normal priority, so that the load's COMMIT does not wait for it.
    """
    _adopt_environment(environ, run_pid)
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
        self.settings = settings or get_settings()
        self._workers = max(1, workers)
        self._pool: ProcessPoolExecutor | None = None
        self._validator: ProcessPoolExecutor | None = None
        self._start_pools()

    def _start_pools(self) -> tuple[ProcessPoolExecutor, ProcessPoolExecutor]:
        """The chunk workers and the validation process (started again after a failed run)."""
        if self._pool is None or self._validator is None:
            from ingest.runner.tuning import worker_context

            context = worker_context()
            environ = dict(os.environ)
            self._validator = ProcessPoolExecutor(
                max_workers=1, mp_context=context, initializer=_warm_validation, initargs=(environ, os.getpid())
            )
            self._pool = ProcessPoolExecutor(
                max_workers=self._workers,
                mp_context=context,
                initializer=_adopt_environment,
                initargs=(environ, os.getpid()),
            )
        return self._pool, self._validator

    def __enter__(self) -> WeekRunner:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.terminate()

    def close(self) -> None:
        """Shut the pools down once their work is done (after a successful run)."""
        for pool in (self._pool, self._validator):
            if pool is not None:
                pool.shutdown(cancel_futures=True)
        self._pool = self._validator = None

    def terminate(self) -> None:
        """Kill the worker processes now and forget the pools (after a failure or an interrupt).

        Killed, the workers leave nothing for a pool's shutdown (or the interpreter's exit) to
        wait for: a pool whose worker was still busy could otherwise be joined forever.
        """
        pools = [pool for pool in (self._pool, self._validator) if pool is not None]
        self._pool = self._validator = None
        # A pool with no work left cannot hang its shutdown: its workers exit normally and release
        # what they registered (their semaphores), which killed workers would leave for the
        # resource tracker to report on stderr.
        idle = [pool for pool in pools if not getattr(pool, "_pending_work_items", True)]
        for pool in idle:
            with contextlib.suppress(Exception):
                pool.shutdown(wait=True)
        pools = [pool for pool in pools if pool not in idle]
        processes = [p for pool in pools for p in list((getattr(pool, "_processes", None) or {}).values())]
        for process in processes:
            with contextlib.suppress(Exception):
                process.kill()
        for process in processes:
            with contextlib.suppress(Exception):
                process.join(timeout=5)
        for pool in pools:
            with contextlib.suppress(Exception):
                pool.shutdown(wait=True, cancel_futures=True)

    def run(self, source: str, week: date, progress: Callable[[str], None] | None = None) -> LoadResult:
        """Ingest one market week end to end. Returns the committed ledger.

        The warehouse is reached, and the run's ledger row written, before any file is read.
        """
        started = time.perf_counter()
        plan = plan_week(source, week, self.settings)
        dsn = ensure_warehouse(self.settings)
        with load.RunLedger(dsn, self.settings.raw_schema, run_row(plan)) as ledger:
            try:
                return self._run(plan, started, progress)
            except BaseException as exc:
                self.terminate()
                ledger.fail(str(exc) if isinstance(exc, RunInterrupted) else f"{type(exc).__name__}: {exc}")
                raise

    def _run(self, plan: WeekPlan, started: float, progress: Callable[[str], None] | None) -> LoadResult:
        say = progress or (lambda _msg: None)
        pool, validator = self._start_pools()
        week = plan.market_week
        n_chunks = len(plan.chunk_indexes)
        say(
            f"week {week}: {len(plan.files)} files in {n_chunks} chunks "
            f"(scrape dates {', '.join(map(str, plan.scrape_dates))})"
        )
        timings: dict[str, float] = {}
        with _uninterrupted():
            futures = [pool.submit(process_chunk, plan, i) for i in plan.chunk_indexes]
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
                with _uninterrupted():
                    validator.submit(time.sleep, 0)
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
            with _uninterrupted():
                validation: Future[ValidationReport] = validator.submit(
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
