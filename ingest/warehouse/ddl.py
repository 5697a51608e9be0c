"""The ingest's warehouse tables, created and brought up to date from their one definition.

Schema ``raw`` (``WAREHOUSE_RAW_SCHEMA``) is written only by the ingest; dbt reads it as a
source. ``listings`` is range-partitioned by ``market_week``, one partition a week, swapped
atomically on reload (:mod:`ingest.warehouse.load`).
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from ingest.steps.schema import FX_RATES, INGEST_FILES, INGEST_RUNS, LISTINGS, QUARANTINE, Table

if TYPE_CHECKING:  # the chunk workers import the schema, never a connection
    import psycopg


def _columns(table: Table) -> str:
    return ",\n    ".join(c.ddl() for c in table.columns)


def ddl(schema: str) -> str:
    listings_key = ", ".join(LISTINGS.key)
    return f"""
create schema if not exists {schema};

create table if not exists {schema}.{LISTINGS.name} (
    {_columns(LISTINGS)},
    primary key ({listings_key})
) partition by range (market_week);

create table if not exists {schema}.{QUARANTINE.name} (
    {_columns(QUARANTINE)}
);
create index if not exists quarantine_market_week_idx on {schema}.{QUARANTINE.name} (market_week);

create table if not exists {schema}.{INGEST_RUNS.name} (
    {_columns(INGEST_RUNS)}
);
create index if not exists ingest_runs_market_week_idx on {schema}.{INGEST_RUNS.name} (market_week);

create table if not exists {schema}.{INGEST_FILES.name} (
    {_columns(INGEST_FILES)},
    primary key ({", ".join(INGEST_FILES.key)}),
    foreign key (run_id) references {schema}.{INGEST_RUNS.name} (run_id) on delete cascade
);

create table if not exists {schema}.{FX_RATES.name} (
    {_columns(FX_RATES)},
    primary key ({", ".join(FX_RATES.key)})
);
"""


def ensure_schema(conn: psycopg.Connection, schema: str) -> None:
    """Create the ingest's tables if they do not exist and bring older ones up to date (idempotent)."""
    with conn.transaction():
        conn.execute(f"select pg_advisory_xact_lock(hashtext('ddl:{schema}'))")
        conn.execute(ddl(schema))
        _add_missing_columns(conn, schema)
        _migrate_listing_key(conn, schema)


def _add_missing_columns(conn: psycopg.Connection, schema: str) -> None:
    """A ledger created by an older version gains the columns and states added since."""
    for table in (INGEST_RUNS, INGEST_FILES):
        present = {
            row[0]
            for row in conn.execute(
                "select column_name from information_schema.columns where table_schema = %s and table_name = %s",
                (schema, table.name),
            )
        }
        for column in table.columns:
            if column.name not in present:
                conn.execute(f"alter table {schema}.{table.name} add column {column.ddl()}")
        for column in table.columns:
            if " check " not in f" {column.pg} ":
                continue
            constraint = f"{table.name}_{column.name}_check"
            check = column.pg.split(" check ", 1)[1]
            current = conn.execute(
                "select pg_get_constraintdef(oid) from pg_constraint where conrelid = %s::regclass and conname = %s",
                (f"{schema}.{table.name}", constraint),
            ).fetchone()
            if current is None or _normalised(current[0]) != _normalised(f"check {check}"):
                conn.execute(f"alter table {schema}.{table.name} drop constraint if exists {constraint}")
                conn.execute(f"alter table {schema}.{table.name} add constraint {constraint} check {check}")


def _normalised(check: str) -> str:
    """A check clause compared loosely: PostgreSQL rewrites ``in (...)`` as ``= any (array[...])``."""
    return "".join(ch for ch in check.lower() if ch.isalnum() or ch == "_").replace("anyarray", "in")


def _migrate_listing_key(conn: psycopg.Connection, schema: str) -> None:
    """A warehouse created with another primary-key order gets the key of :data:`LISTINGS` (once;
    every partition's index is rebuilt). Otherwise each new partition's key would not match the
    parent's, and ATTACH would build a second index."""
    row = conn.execute(
        """select c.conname, array_agg(a.attname::text order by k.ord)
           from pg_constraint c
           cross join unnest(c.conkey) with ordinality as k (attnum, ord)
           join pg_attribute a on a.attrelid = c.conrelid and a.attnum = k.attnum
           where c.conrelid = %s::regclass and c.contype = 'p'
           group by c.conname""",
        (f"{schema}.{LISTINGS.name}",),
    ).fetchone()
    if row is None or tuple(row[1]) == LISTINGS.key:
        return
    conn.execute(f'alter table {schema}.{LISTINGS.name} drop constraint "{row[0]}"')
    conn.execute(f"alter table {schema}.{LISTINGS.name} add primary key ({', '.join(LISTINGS.key)})")


def partition_name(market_week: date) -> str:
    return f"{LISTINGS.name}_{market_week:%Y%m%d}"
