"""Loading a cleaned week into PostgreSQL: COPY, atomic replace, quarantine, ledgers, FX rates.

A week is one partition of ``raw.listings``. Reloading a week builds a fresh
table with COPY (no indexes yet; with ``wal_level=minimal`` a table created in
the same transaction skips WAL), adds its primary key and partition-range
check, then drops the old partition and attaches the new one — all in ONE
transaction with the quarantine rows, the per-file ledger and the run's
ledger row. A crash or error anywhere before COMMIT leaves the previous state.

The swap waits a bounded time for the week's readers (``WAREHOUSE_LOCK_TIMEOUT``). A run's ledger
row is written ``running`` when the run starts and held by its process (:class:`RunLedger`), so
that the next run of the week can tell a run that died from one that is still going.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Mapping
from datetime import date, timedelta
from typing import Any

import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.compute as pc

from ingest.steps import fx
from ingest.steps.schema import COUNTS, FX_RATES, INGEST_FILES, INGEST_RUNS, LISTINGS, QUARANTINE
from ingest.warehouse.ddl import ensure_schema, partition_name

# Rows per encoded COPY message (~9 MB for the listings): under glibc's mmap threshold, so the
# buffers are reused from the heap instead of being mapped and zeroed afresh for each batch
# (100,000-row batches doubled the main process's page faults, 190,000 instead of 90,000).
COPY_BATCH_ROWS = 25_000
# The statistics target of a week partition's ANALYZE (PostgreSQL's default is 100).
PARTITION_STATISTICS_TARGET = 30

_NUMERIC_RE = re.compile(r"numeric\((\d+),\s*(\d+)\)")


def _wire_type(pg_type: str, arrow: pa.DataType) -> pa.DataType:
    """The Arrow type whose binary COPY encoding a column of ``pg_type`` accepts."""
    numeric = _NUMERIC_RE.match(pg_type)
    if numeric:
        return pa.decimal128(int(numeric.group(1)), int(numeric.group(2)))
    if pg_type.startswith("uuid"):
        return pa.binary(16)  # uuid_recv reads the 16 raw bytes
    return arrow


def _to_pg_column(values: pa.ChunkedArray, target: pa.DataType) -> pa.ChunkedArray:
    if values.type == target:
        return values
    if target == pa.binary(16):  # uuid text -> 16 bytes, once per distinct value
        first = values[0].as_py() if len(values) and values.null_count == 0 else None
        if first is not None and pc.all(pc.equal(values, first)).as_py():  # a load's run id: one value
            return pa.chunked_array([pa.repeat(pa.scalar(uuid.UUID(first).bytes, target), len(values))], target)
        encoded = pc.dictionary_encode(values.combine_chunks())
        uuids = pa.array([None if v is None else uuid.UUID(v).bytes for v in encoded.dictionary.to_pylist()], target)
        return pa.chunked_array([uuids.take(encoded.indices)], target)
    return pc.cast(values, target)  # float64 rounded to cents -> decimal128 is exact


def copy_table(
    cur: psycopg.Cursor, target: str, table: pa.Table, pg_types: Mapping[str, str], freeze: bool = False
) -> int:
    """COPY an Arrow table into ``target`` in PostgreSQL's binary format; returns the rows copied.

    ``pg_types`` gives each column's PostgreSQL type (a table definition's ``pg_types``). pgpq
    encodes the Arrow buffers directly: no text rendering on this side and no text
    parsing on the server, about twice as fast as CSV for the listings. A writer thread
    sends each encoded batch while the next one is encoded. ``freeze`` (for a table
    created in this transaction) writes the rows already frozen, so that the first
    readers do not have to rewrite every page to set hint bits.
    """
    from pgpq import ArrowToPostgresBinaryEncoder
    from pgpq.encoders import StringEncoderBuilder
    from pgpq.schema import Jsonb
    from psycopg.copy import QueuedLibpqWriter

    table = pa.table(
        {name: _to_pg_column(table[name], _wire_type(pg_types[name], table[name].type)) for name in table.column_names}
    )
    encoders = {
        field.name: (
            StringEncoderBuilder.new_with_output(field, Jsonb())
            if pg_types[field.name].startswith("jsonb")
            else ArrowToPostgresBinaryEncoder.infer_encoder(field)
        )
        for field in table.schema
    }
    encoder = ArrowToPostgresBinaryEncoder.new_with_encoders(table.schema, encoders)
    options = "format binary, freeze" if freeze else "format binary"
    statement = f"copy {target} ({', '.join(table.column_names)}) from stdin ({options})"
    with cur.copy(statement, writer=QueuedLibpqWriter(cur)) as copy:
        copy.write(encoder.write_header())
        for batch in table.to_batches(max_chunksize=COPY_BATCH_ROWS):
            copy.write(encoder.write_batch(batch))
        copy.write(encoder.finish())
    return table.num_rows


class WeekLocked(RuntimeError):
    """The swap of a week waited its lock timeout for readers; the message is the one-line reason."""


def run_lock_key(run_id: str) -> str:
    """The text whose hash is the run's advisory lock (held, shared, while its process lives)."""
    return f"ingest_run:{run_id}"


class RunLedger:
    """A run's ledger row, from its start to its end, and the proof that its process still lives.

    Opening writes the row as ``running`` (own connection, autocommit: a failed or killed run still
    leaves a trace) and takes a session advisory lock on the run, shared, kept until the ledger is
    closed. PostgreSQL releases a session's locks when its client goes away, however it dies, so a
    ``running`` row whose lock can be taken exclusively belongs to a dead process: opening marks
    those of the same week ``abandoned``. Shared, so that the load of a run can open the same ledger
    again (the CLI opens it at the start of the run, the load step opens it in Airflow).

    ``run`` holds run_id, market_week, source_root, scrape_dates, started_at, code_version, pid, host.
    """

    def __init__(self, dsn: str, schema: str, run: Mapping[str, Any]) -> None:
        self.dsn, self.schema, self.run = dsn, schema, {"pid": None, "host": None, **run}
        self.run_id = str(self.run["run_id"])
        self.abandoned: list[str] = []
        self._conn: psycopg.Connection | None = None

    def __enter__(self) -> RunLedger:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:
        conn = psycopg.connect(self.dsn, autocommit=True, application_name=f"ingest run {self.run_id}")
        try:
            ensure_schema(conn, self.schema)
            conn.execute("select pg_advisory_lock_shared(hashtextextended(%s, 0))", (run_lock_key(self.run_id),))
            self.abandoned = mark_abandoned(conn, self.schema, self.run["market_week"], found_by=self.run_id)
            conn.execute(
                f"""insert into {self.schema}.{INGEST_RUNS.name}
                      (run_id, market_week, source_root, scrape_dates, started_at, status, code_version, pid, host)
                    values (%(run_id)s, %(market_week)s, %(source_root)s, %(scrape_dates)s, %(started_at)s,
                            'running', %(code_version)s, %(pid)s, %(host)s)
                    on conflict (run_id) do update set status = 'running', error = null, pid = excluded.pid,
                        host = excluded.host
                    where {self.schema}.{INGEST_RUNS.name}.status <> 'succeeded'""",
                self.run,
            )
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    def fail(self, error: str) -> None:
        """Mark the run ``failed`` with its one-line reason, unless it has ended already (the first
        reason recorded stands)."""
        statement = f"""update {self.schema}.{INGEST_RUNS.name}
                        set status = 'failed', error = %s, finished_at = now(), pid = null,
                            duration_s = extract(epoch from now() - started_at)
                        where run_id = %s and status = 'running'"""
        params = (" ".join(error.split())[:4000], self.run_id)
        if self._conn is not None and not self._conn.closed:
            try:
                self._conn.execute(statement, params)
                return
            except psycopg.Error:  # the held connection is gone: a new one
                pass
        with psycopg.connect(self.dsn, autocommit=True, connect_timeout=10) as conn:
            conn.execute(statement, params)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()  # releases the run's lock
            self._conn = None


def mark_abandoned(conn: psycopg.Connection, schema: str, market_week: date, found_by: str) -> list[str]:
    """Mark ``abandoned`` the week's ``running`` rows whose process is gone (their lock is free).

    Returns their run ids. ``conn`` is in autocommit mode.
    """
    running = conn.execute(
        f"select run_id::text, pid, host from {schema}.{INGEST_RUNS.name} "
        "where market_week = %s and status = 'running'",
        (market_week,),
    ).fetchall()
    abandoned = []
    for run_id, pid, host in running:
        key = run_lock_key(run_id)
        row = conn.execute("select pg_try_advisory_lock(hashtextextended(%s, 0))", (key,)).fetchone()
        if not (row and row[0]):
            continue  # its process holds the lock: it is still running
        try:
            conn.execute(
                f"""update {schema}.{INGEST_RUNS.name}
                    set status = 'abandoned', pid = null,
                        error = %s
                    where run_id = %s and status = 'running'""",
                (f"its process (pid {pid} on {host}) ended without closing the run; found by run {found_by}", run_id),
            )
        finally:
            conn.execute("select pg_advisory_unlock(hashtextextended(%s, 0))", (key,))
        abandoned.append(run_id)
    return abandoned


def sync_fx_rates(cur: psycopg.Cursor, schema: str, rates: pd.DataFrame) -> bool:
    """Replace ``fx_rates`` when it differs from ``rates`` (count or last date). Returns whether it did."""
    last = rates["rate_date"].max()
    current = cur.execute(f"select count(*), max(rate_date) from {schema}.{FX_RATES.name}").fetchone()
    if current and current[0] == len(rates) and current[1] == pd.Timestamp(last).date():
        return False
    cur.execute(f"delete from {schema}.{FX_RATES.name}")
    frame = rates[FX_RATES.names].copy()
    frame["rate_date"] = pd.to_datetime(frame["rate_date"]).dt.date
    table = pa.Table.from_pandas(frame, preserve_index=False)
    copy_table(cur, f"{schema}.{FX_RATES.name}", table, FX_RATES.pg_types)
    return True


def _close_ledger(cur: psycopg.Cursor, schema: str, ledger: Mapping[str, Any], files: list[Mapping[str, Any]]) -> None:
    """The run's ledger row (succeeded, with its counts) and its file ledger, in the load's transaction."""
    counts = ", ".join(f"{c.name} = %({c.name})s" for c in COUNTS)
    cur.execute(
        f"""update {schema}.{INGEST_RUNS.name} set
              status = 'succeeded', finished_at = now(),
              duration_s = extract(epoch from now() - started_at),
              {counts},
              quarantined_by_reason = %(quarantined_by_reason)s, staging_uri = %(staging_uri)s,
              pid = null, error = null
            where run_id = %(run_id)s""",
        {**ledger, "quarantined_by_reason": json.dumps(ledger["quarantined_by_reason"])},
    )
    if cur.rowcount != 1:
        raise RuntimeError(f"ingest run {ledger['run_id']} is not in the ledger")
    with cur.copy(f"copy {schema}.{INGEST_FILES.name} ({', '.join(INGEST_FILES.names)}) from stdin") as copy:
        for f in files:
            copy.write_row([ledger["run_id"] if name == "run_id" else f[name] for name in INGEST_FILES.names])


def replace_week(
    dsn: str,
    schema: str,
    market_week: date,
    listings: pa.Table,
    quarantine: pa.Table,
    files: list[Mapping[str, Any]],
    ledger: Mapping[str, Any],
    before_commit: Callable[[psycopg.Cursor], None] | None = None,
    lock_timeout_s: int = 60,
) -> None:
    """Replace one market week atomically; ``before_commit`` runs last inside the transaction
    (the load waits there for the validation, and may still refuse the week).

    The swap waits at most ``lock_timeout_s`` for the readers of the listings (dropping a
    partition locks its parent), then raises :class:`WeekLocked`; the previous contents stand.
    """
    if listings.column_names != LISTINGS.names:
        raise ValueError(f"listings columns {listings.column_names} != {LISTINGS.names}")
    part = partition_name(market_week)
    parent = f"{schema}.{LISTINGS.name}"
    with psycopg.connect(dsn) as conn:
        ensure_schema(conn, schema)
        try:
            with conn.transaction(), conn.cursor() as cur:
                _replace_in_transaction(
                    cur, schema, market_week, listings, quarantine, files, ledger, before_commit, lock_timeout_s
                )
        except psycopg.errors.LockNotAvailable as exc:
            readers = _lock_holders(dsn, [parent, f"{schema}.{part}"], exclude_pid=conn.info.backend_pid)
            raise WeekLocked(
                f"week {market_week} not replaced: waited {lock_timeout_s} s (WAREHOUSE_LOCK_TIMEOUT) for the readers "
                f"of {parent} to finish{readers}; the previous contents stand, run the load again when they are done"
            ) from exc


def _lock_holders(dsn: str, tables: list[str], exclude_pid: int) -> str:
    """`` (held by pid N: application, ...)`` for the sessions holding locks on ``tables``, or ``''``."""
    try:
        with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as conn:
            rows = conn.execute(
                """select distinct l.pid, coalesce(nullif(a.application_name, ''), a.usename::text, '?')
                   from pg_locks l left join pg_stat_activity a on a.pid = l.pid
                   where l.granted and l.locktype = 'relation' and l.pid <> %s
                     and l.relation = any (select to_regclass(t)::oid from unnest(%s::text[]) as t)
                   order by l.pid limit 3""",
                (exclude_pid, tables),
            ).fetchall()
    except psycopg.Error:
        return ""
    return f" (held by {', '.join(f'pid {pid}: {app}' for pid, app in rows)})" if rows else ""


def _replace_in_transaction(
    cur: psycopg.Cursor,
    schema: str,
    market_week: date,
    listings: pa.Table,
    quarantine: pa.Table,
    files: list[Mapping[str, Any]],
    ledger: Mapping[str, Any],
    before_commit: Callable[[psycopg.Cursor], None] | None,
    lock_timeout_s: int,
) -> None:
    part = partition_name(market_week)
    staging = f"{part}_load"
    upper = market_week + timedelta(days=7)
    parent = f"{schema}.{LISTINGS.name}"
    # One loader per week at a time; other weeks load concurrently (a second run of the
    # week waits for the first's COMMIT, then replaces its rows with its own).
    cur.execute("select pg_advisory_xact_lock(hashtext(%s))", (f"{parent}:{market_week}",))
    # From here on, every lock wait (on the readers of the listings) is bounded.
    cur.execute(f"set local lock_timeout = '{int(lock_timeout_s)}s'")
    cur.execute("set local synchronous_commit = on")
    # The new partition's files are flushed at COMMIT (with wal_level=minimal, instead of
    # being WAL-logged). Asking the kernel to write them back as the COPY goes leaves
    # COMMIT almost nothing to wait for.
    cur.execute("set local backend_flush_after = '2MB'")
    cur.execute(f"drop table if exists {schema}.{staging}")
    # The range check is checked row by row during the COPY, and lets ATTACH skip its scan.
    # A week's partition is written once (COPY FREEZE: every row frozen, every page
    # all-visible), analyzed below and never updated: a reload swaps in a new table. So
    # autovacuum is off for it: it would only re-read the week, just when dbt reads it
    # (anti-wraparound vacuums still run, and find every page frozen).
    cur.execute(
        f"create table {schema}.{staging} (like {parent} including defaults, "
        f"constraint {part}_week_check "
        f"check (market_week >= date '{market_week}' and market_week < date '{upper}')) "
        "with (autovacuum_enabled = false)"
    )
    copy_table(cur, f"{schema}.{staging}", listings, LISTINGS.pg_types, freeze=True)
    cur.execute(f"alter table {schema}.{staging} add primary key ({', '.join(LISTINGS.key)})")
    cur.execute(f"drop table if exists {schema}.{part}")
    cur.execute(f"alter table {schema}.{staging} rename to {part}")
    cur.execute(
        f"alter table {parent} attach partition {schema}.{part} for values from ('{market_week}') to ('{upper}')"
    )
    # A sample of 9,000 rows instead of 30,000: plenty for what the marts' plans need (row
    # counts, distinct brands and references, the outlier flag); a week is never
    # re-analyzed by autovacuum, see above.
    cur.execute(f"set local default_statistics_target = {PARTITION_STATISTICS_TARGET}")
    cur.execute(f"analyze {schema}.{part}")

    cur.execute(f"delete from {schema}.{QUARANTINE.name} where market_week = %s", (market_week,))
    if quarantine.num_rows:
        rows = quarantine.select(QUARANTINE.names)
        copy_table(cur, f"{schema}.{QUARANTINE.name}", rows, QUARANTINE.pg_types)

    sync_fx_rates(cur, schema, fx.load_rates())
    _close_ledger(cur, schema, ledger, files)
    if before_commit is not None:
        before_commit(cur)


def record_unloadable_run(
    dsn: str,
    schema: str,
    ledger: Mapping[str, Any],
    files: list[Mapping[str, Any]],
    quarantine: pa.Table,
    error: str,
) -> None:
    """Close a run whose week holds no loadable row: failed, with its counts, files and quarantined rows.

    The week's listings are not touched (the previous load stays). The run's quarantine rows are
    added beside the week's (they carry this run's id); the next load of the week replaces them all.
    """
    counts = ", ".join(f"{c.name} = %({c.name})s" for c in COUNTS)
    with psycopg.connect(dsn) as conn:
        ensure_schema(conn, schema)
        with conn.transaction(), conn.cursor() as cur:
            cur.execute(
                f"""update {schema}.{INGEST_RUNS.name} set
                      status = 'failed', finished_at = now(),
                      duration_s = extract(epoch from now() - started_at),
                      {counts},
                      quarantined_by_reason = %(quarantined_by_reason)s, staging_uri = %(staging_uri)s,
                      pid = null, error = %(error)s
                    where run_id = %(run_id)s""",
                {**ledger, "quarantined_by_reason": json.dumps(ledger["quarantined_by_reason"]), "error": error[:4000]},
            )
            with cur.copy(f"copy {schema}.{INGEST_FILES.name} ({', '.join(INGEST_FILES.names)}) from stdin") as copy:
                for f in files:
                    copy.write_row([ledger["run_id"] if name == "run_id" else f[name] for name in INGEST_FILES.names])
            if quarantine.num_rows:
                copy_table(cur, f"{schema}.{QUARANTINE.name}", quarantine.select(QUARANTINE.names), QUARANTINE.pg_types)
