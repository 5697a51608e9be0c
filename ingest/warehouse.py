"""The ingest's warehouse tables: DDL and connection helpers.

Schema ``raw`` (``WAREHOUSE_RAW_SCHEMA``) is written only by the ingest; dbt
reads it as a source.

- ``listings``: one row per listing per market week (range-partitioned by
  ``market_week``, one partition a week, swapped atomically on reload).
- ``quarantine``: one row per rejected row or rejected file, with ``reason``.
- ``ingest_runs``: the run ledger; ``ingest_files``: one row per file per run.
- ``fx_rates``: ECB daily reference rates (units of currency per 1 EUR).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import TYPE_CHECKING

from ingest.settings import Settings, get_settings

if TYPE_CHECKING:  # the chunk workers import this module for its column lists, never to connect
    import psycopg

# Key and grouping columns compare byte-wise (collate "C"): the primary key builds and the
# GROUP BYs of the dbt models sort several times faster than under a linguistic collation,
# and equality is the same.
KEY_TEXT = 'text collate "C" not null'

LISTING_COLUMNS: tuple[tuple[str, str], ...] = (
    ("market_week", "date not null"),
    ("source", KEY_TEXT),
    ("listing_id", KEY_TEXT),
    ("scrape_date", "date not null"),
    ("scraped_at", "timestamptz not null"),
    ("brand", KEY_TEXT),
    ("reference_number", KEY_TEXT),
    ("specific_model", 'text collate "C"'),
    ("parent_model", 'text collate "C"'),
    ("model_resolved_from", "text not null"),  # 'catalog' | 'listing' | 'none'
    ("condition", "text not null"),
    ("condition_raw", "text"),
    ("currency", "text not null"),
    ("price_local", "numeric(20, 2) not null"),
    ("usd_per_unit", "double precision not null"),
    ("price_usd", "numeric(14, 2) not null"),
    ("is_outlier", "boolean not null"),
    ("seller_type", "text"),
    ("country", "text"),
    ("title", "text"),
    ("url", "text"),
    ("source_file", "text not null"),
    ("source_line", "integer not null"),
    ("ingest_run_id", "uuid not null"),
)

# The primary key of ``listings``, its most selective column first. Uniqueness is the same in any
# order, but the index of a 1M-row week then builds in 0.37 s instead of 0.63 s: led by the
# constant market_week and the few sources, every comparison of the sort had to go three deep.
LISTING_KEY: tuple[str, ...] = ("listing_id", "source", "market_week")

QUARANTINE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("market_week", "date not null"),
    ("scrape_date", "date not null"),
    ("source_file", "text not null"),
    ("line", "integer"),  # null for a whole-file rejection
    ("reason", "text not null"),
    ("detail", "text"),
    ("source", "text"),
    ("listing_id", "text"),
    ("raw_row", "jsonb"),
    ("ingest_run_id", "uuid not null"),
)

FX_RATE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("rate_date", "date not null"),
    ("currency", "text not null"),
    ("units_per_eur", "double precision not null"),
)


def _columns_sql(columns: tuple[tuple[str, str], ...]) -> str:
    return ",\n    ".join(f"{name} {kind}" for name, kind in columns)


def ddl(schema: str) -> str:
    return f"""
create schema if not exists {schema};

create table if not exists {schema}.listings (
    {_columns_sql(LISTING_COLUMNS)},
    primary key ({", ".join(LISTING_KEY)})
) partition by range (market_week);

create table if not exists {schema}.quarantine (
    {_columns_sql(QUARANTINE_COLUMNS)}
);
create index if not exists quarantine_market_week_idx on {schema}.quarantine (market_week);

create table if not exists {schema}.ingest_runs (
    run_id uuid primary key,
    market_week date not null,
    source_root text not null,
    scrape_dates date[] not null default '{{}}',
    started_at timestamptz not null,
    finished_at timestamptz,
    duration_s double precision,
    status text not null check (status in ('running', 'succeeded', 'failed')),
    files_total integer not null default 0,
    files_loaded integer not null default 0,
    files_empty integer not null default 0,
    files_rejected integer not null default 0,
    rows_read bigint not null default 0,
    rows_loaded bigint not null default 0,
    rows_quarantined bigint not null default 0,
    rows_duplicate bigint not null default 0,
    rows_outlier bigint not null default 0,
    rows_in_rejected_files bigint not null default 0,
    quarantined_by_reason jsonb not null default '{{}}',
    staging_uri text,
    code_version text not null,
    error text
);
create index if not exists ingest_runs_market_week_idx on {schema}.ingest_runs (market_week);

create table if not exists {schema}.ingest_files (
    run_id uuid not null references {schema}.ingest_runs (run_id) on delete cascade,
    source_file text not null,
    scrape_date date not null,
    status text not null check (status in ('loaded', 'empty', 'rejected')),
    rows_read bigint not null,
    reason text,
    detail text,
    primary key (run_id, source_file)
);

create table if not exists {schema}.fx_rates (
    {_columns_sql(FX_RATE_COLUMNS)},
    primary key (rate_date, currency)
);
"""


def connect(settings: Settings | None = None, *, autocommit: bool = False) -> psycopg.Connection:
    import psycopg

    settings = settings or get_settings()
    return psycopg.connect(settings.warehouse_dsn(), autocommit=autocommit)


def ensure_schema(conn: psycopg.Connection, schema: str) -> None:
    """Create the ingest's tables if they do not exist, and bring an older key up to date (idempotent)."""
    with conn.transaction():
        conn.execute(f"select pg_advisory_xact_lock(hashtext('ddl:{schema}'))")
        conn.execute(ddl(schema))
        _migrate_listing_key(conn, schema)


def _migrate_listing_key(conn: psycopg.Connection, schema: str) -> None:
    """A warehouse created with another primary-key order gets :data:`LISTING_KEY` (once; every
    partition's index is rebuilt). Otherwise each new partition's key would not match the
    parent's, and ATTACH would build a second index."""
    row = conn.execute(
        """select c.conname, array_agg(a.attname::text order by k.ord)
           from pg_constraint c
           cross join unnest(c.conkey) with ordinality as k (attnum, ord)
           join pg_attribute a on a.attrelid = c.conrelid and a.attnum = k.attnum
           where c.conrelid = %s::regclass and c.contype = 'p'
           group by c.conname""",
        (f"{schema}.listings",),
    ).fetchone()
    if row is None or tuple(row[1]) == LISTING_KEY:
        return
    conn.execute(f'alter table {schema}.listings drop constraint "{row[0]}"')
    conn.execute(f"alter table {schema}.listings add primary key ({', '.join(LISTING_KEY)})")


def partition_name(market_week: date) -> str:
    return f"listings_{market_week:%Y%m%d}"


@contextmanager
def cursor(settings: Settings | None = None) -> Iterator[psycopg.Cursor]:
    with connect(settings) as conn, conn.cursor() as cur:
        yield cur
