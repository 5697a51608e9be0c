"""The warehouse DDL on a real PostgreSQL: the listings key, and the upgrade of an older key order."""

from __future__ import annotations

import psycopg

from ingest.steps.schema import LISTINGS
from ingest.warehouse.ddl import ddl, ensure_schema

LISTING_KEY = LISTINGS.key


def _key_columns(conn: psycopg.Connection, table: str) -> list[str]:
    row = conn.execute(
        """select array_agg(a.attname::text order by k.ord)
           from pg_index i
           cross join unnest(i.indkey) with ordinality as k (attnum, ord)
           join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
           where i.indrelid = %s::regclass and i.indisprimary""",
        (table,),
    ).fetchone()
    return list(row[0]) if row and row[0] else []


def test_listings_key_most_selective_first(fresh_dsn: str) -> None:
    with psycopg.connect(fresh_dsn) as conn:
        ensure_schema(conn, "fresh")
        assert _key_columns(conn, "fresh.listings") == ["listing_id", "source", "market_week"]
        assert tuple(_key_columns(conn, "fresh.listings")) == LISTING_KEY
        ensure_schema(conn, "fresh")  # idempotent
        assert tuple(_key_columns(conn, "fresh.listings")) == LISTING_KEY


def test_older_key_order_is_upgraded_with_its_partitions(fresh_dsn: str) -> None:
    old = ddl("legacy").replace(
        "primary key (listing_id, source, market_week)", "primary key (market_week, source, listing_id)"
    )
    assert old != ddl("legacy")
    with psycopg.connect(fresh_dsn, autocommit=True) as conn:
        conn.execute(old)
        conn.execute(
            "create table legacy.listings_20261116 partition of legacy.listings "
            "for values from ('2026-11-16') to ('2026-11-23')"
        )
        assert _key_columns(conn, "legacy.listings_20261116") == ["market_week", "source", "listing_id"]
        ensure_schema(conn, "legacy")
        assert tuple(_key_columns(conn, "legacy.listings")) == LISTING_KEY
        assert tuple(_key_columns(conn, "legacy.listings_20261116")) == LISTING_KEY
