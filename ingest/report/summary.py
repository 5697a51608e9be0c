"""The short market summary printed at the end of ``make demo`` (``ingest summary``)."""

from __future__ import annotations

import psycopg

from ingest.settings import Settings
from ingest.warehouse.connection import require_warehouse


def mart_schema(conn: psycopg.Connection, settings: Settings, table: str) -> str | None:
    """The schema holding a mart of this project's dbt target (``<DBT_SCHEMA>`` or ``<DBT_SCHEMA>_<custom>``)."""
    row = conn.execute(
        """select table_schema from information_schema.tables
           where table_name = %s and (table_schema = %s or table_schema like %s)
           order by length(table_schema) desc limit 1""",
        (table, settings.dbt_schema, settings.dbt_schema + "\\_%"),
    ).fetchone()
    return row[0] if row else None


def _pct(value: float | None) -> str:
    return "    n/a" if value is None else f"{value * 100:+6.1f}%"


def print_market_summary(settings: Settings, limit: int = 5) -> int:
    with psycopg.connect(require_warehouse(settings)) as conn:
        price = mart_schema(conn, settings, "reference_price_metrics")
        vol = mart_schema(conn, settings, "reference_volatility")
        comp = mart_schema(conn, settings, "brand_composition")
        if not (price and vol and comp):
            print("no marts yet: run `make dbt-build` (or `make demo`) first")
            return 1
        week = conn.execute(f"select max(market_week) from {price}.reference_price_metrics").fetchone()[0]
        print(f"\nMarket summary for the week of {week}")
        movers = conn.execute(
            f"""select brand, reference_number, market_price_usd, change_1m
                from {price}.reference_price_metrics
                where market_week = %s and change_1m is not null and n_priced >= 5
                order by abs(change_1m) desc limit %s""",
            (week, limit),
        ).fetchall()
        print("\n  Top movers (1-month change of the 30-day market price)")
        for brand, ref, mp, ch in movers:
            print(f"    {brand:<22} {ref:<22} ${mp:>12,.0f}  {_pct(ch)}")
        volatile = conn.execute(
            f"""select brand, reference_number, volatility_3m, growth_1y
                from {vol}.reference_volatility
                where market_week = %s and volatility_3m is not null
                order by volatility_3m desc limit %s""",
            (week, limit),
        ).fetchall()
        print("\n  Most volatile references (3-month annualised volatility; 1-year annualised growth)")
        for brand, ref, v, g in volatile:
            print(f"    {brand:<22} {ref:<22} vol {v * 100:5.1f}%  growth {_pct(g)}")
        brands = conn.execute(
            f"""select brand, n_listings, pct_new, pct_preowned, pct_unknown
                from {comp}.brand_composition where market_week = %s
                order by n_listings desc limit %s""",
            (week, max(limit, 8)),
        ).fetchall()
        print("\n  Brand composition (share of listings)")
        print(f"    {'brand':<22} {'listings':>9} {'new':>7} {'pre-owned':>10} {'unknown':>8}")
        for brand, n, pn, pp, pu in brands:
            print(f"    {brand:<22} {n:>9,} {pn * 100:6.1f}% {pp * 100:9.1f}% {pu * 100:7.1f}%")
        print()
    return 0
