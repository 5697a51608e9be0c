"""The short market summary printed at the end of ``make demo`` (``ingest summary``).

Every ranking in it (top movers, most volatile references, the new-watch premium, the fastest-
and slowest-selling references, the brand index movers) lists only
groups whose price this week has ``confidence = 'high'`` (at least 20 non-outlier listings) and
shows how many listings stand behind each number: a move or a volatility measured on a handful
of listings is noise, not news.
"""

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
    """A change, signed."""
    return "    n/a" if value is None else f"{value * 100:+6.1f}%"


def _share(value: float | None) -> str:
    """A share of a whole, unsigned."""
    return "   n/a" if value is None else f"{value * 100:5.1f}%"


def print_market_summary(settings: Settings, limit: int = 5) -> int:
    with psycopg.connect(require_warehouse(settings)) as conn:
        price = mart_schema(conn, settings, "reference_price_metrics")
        vol = mart_schema(conn, settings, "reference_volatility")
        comp = mart_schema(conn, settings, "brand_composition")
        brand_price = mart_schema(conn, settings, "brand_price_metrics")
        segments = mart_schema(conn, settings, "brand_segment_price_metrics")
        if not (price and vol and comp and brand_price and segments):
            print("no marts yet: run `make dbt-build` (or `make demo`) first")
            return 1
        week = conn.execute(f"select max(market_week) from {price}.reference_price_metrics").fetchone()[0]
        print(f"\nMarket summary for the week of {week}")
        print("  (rankings: only references with high confidence, i.e. at least 20 non-outlier listings)")
        movers = conn.execute(
            f"""select brand, reference_number, n_priced, market_price_usd, change_1m
                from {price}.reference_price_metrics
                where market_week = %s and confidence = 'high' and change_1m is not null
                order by abs(change_1m) desc, brand, reference_number limit %s""",
            (week, limit),
        ).fetchall()
        print("\n  Top movers (1-month change of the 30-day market price)")
        for brand, ref, n, mp, ch in movers:
            print(f"    {brand:<22} {ref:<22} {n:>6,} listings  ${mp:>12,.0f}  {_pct(ch)}")
        volatile = conn.execute(
            f"""select v.brand, v.reference_number, p.n_priced, v.volatility_3m, v.growth_1y
                from {vol}.reference_volatility as v
                inner join {price}.reference_price_metrics as p
                    on p.brand = v.brand and p.reference_number = v.reference_number
                    and p.market_week = v.market_week
                where v.market_week = %s and p.confidence = 'high' and v.volatility_3m is not null
                order by v.volatility_3m desc, v.brand, v.reference_number limit %s""",
            (week, limit),
        ).fetchall()
        print("\n  Most volatile references (3-month annualised volatility; 1-year annualised growth)")
        for brand, ref, n, v, g in volatile:
            print(f"    {brand:<22} {ref:<22} {n:>6,} listings  vol {v * 100:5.1f}%  growth {_pct(g)}")
        premiums = conn.execute(
            f"""select p.brand, p.n_priced, n.n_priced, o.n_priced,
                       n.median_price_usd, o.median_price_usd, p.new_premium
                from {brand_price}.brand_price_metrics as p
                inner join {segments}.brand_segment_price_metrics as n
                    on n.brand = p.brand and n.market_week = p.market_week and n.segment = 'new'
                inner join {segments}.brand_segment_price_metrics as o
                    on o.brand = p.brand and o.market_week = p.market_week and o.segment = 'preowned'
                where p.market_week = %s and p.confidence = 'high' and p.new_premium is not null
                order by p.n_priced desc, p.brand limit %s""",
            (week, max(limit, 8)),
        ).fetchall()
        print("\n  New vs pre-owned (brands with high confidence; medians of this week)")
        header = f"{'brand':<22} {'listings':>9} {'new':>7} {'pre-owned':>10} {'new median':>12} {'pre-owned':>12}"
        print(f"    {header} {'premium':>8}")
        for brand, n, n_new, n_pre, m_new, m_pre, premium in premiums:
            print(f"    {brand:<22} {n:>9,} {n_new:>7,} {n_pre:>10,} ${m_new:>11,.0f} ${m_pre:>11,.0f} {_pct(premium)}")
        _print_dynamics(conn, settings, price, brand_price, week, limit)
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


def _print_dynamics(
    conn: psycopg.Connection, settings: Settings, price: str, brand_price: str, week: object, limit: int
) -> None:
    """How fast references sell (Kaplan-Meier median weeks on market) and how brands' mix-adjusted
    price indexes moved; skipped on a warehouse built before those marts existed."""
    liquidity = mart_schema(conn, settings, "reference_liquidity")
    index = mart_schema(conn, settings, "brand_price_index")
    if liquidity:
        for title, order in (
            ("Fastest-selling references", "l.median_weeks_on_market asc, l.sell_through_rate desc nulls last"),
            ("Slowest-selling references", "l.median_weeks_on_market desc, l.sell_through_rate asc nulls last"),
        ):
            ranked = conn.execute(
                f"""select l.brand, l.reference_number, p.n_listings, l.median_weeks_on_market,
                           l.sell_through_rate, l.n_spells
                    from {liquidity}.reference_liquidity as l
                    inner join {price}.reference_price_metrics as p
                        on p.brand = l.brand and p.reference_number = l.reference_number
                        and p.market_week = l.market_week
                    where l.market_week = %s and p.confidence = 'high' and l.median_weeks_on_market is not null
                    order by {order}, l.brand, l.reference_number limit %s""",
                (week, limit),
            ).fetchall()
            print(f"\n  {title} (median weeks on market; weekly sell-through)")
            for brand, ref, n, weeks, rate, spells in ranked:
                print(
                    f"    {brand:<22} {ref:<22} {n:>6,} listings  {weeks:>3} weeks  "
                    f"sell-through {_share(rate)}  ({spells:,} spells)"
                )
    if index:
        movers = conn.execute(
            f"""select i.brand, p.n_priced, i.n_matched_references, i.index_value, i.index_change_1m,
                       i.index_change_1y
                from {index}.brand_price_index as i
                inner join {brand_price}.brand_price_metrics as p
                    on p.brand = i.brand and p.market_week = i.market_week
                where i.market_week = %s and p.confidence = 'high' and i.index_change_1m is not null
                order by abs(i.index_change_1m) desc, i.brand limit %s""",
            (week, limit),
        ).fetchall()
        print("\n  Brand index movers (mix-adjusted price index, 100 = first week; 1-month and 1-year change)")
        for brand, n, matched, value, change_1m, change_1y in movers:
            print(
                f"    {brand:<22} {n:>9,} listings {matched:>4} references  index {value:8.2f}  "
                f"{_pct(change_1m)}  1y {_pct(change_1y)}"
            )
