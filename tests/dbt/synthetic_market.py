"""A small deterministic synthetic market for the dbt tests.

Three brands, eight references with known multiplicative price paths over
60 market weeks, some missing weeks, a few flagged outliers (and one
group-week whose listings are all outliers), varied conditions, nullable
model names. Rows are written straight into ``raw.listings`` (one partition
per week, as the ingest does) with exactly the DDL of ``ingest.warehouse.ddl``.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

import psycopg

from ingest.steps.schema import LISTINGS
from ingest.warehouse.ddl import ensure_schema, partition_name

FIRST_WEEK = date(2023, 1, 2)  # a Monday
N_WEEKS = 60
CONDITIONS = (
    "new",
    "unworn",
    "very_good",
    "good",
    "fair",
    "poor",
    "incomplete",
    "preowned_unspecified",
    "unknown",
)
NOISE = (0.96, 0.99, 1.0, 1.02, 1.05, 0.98, 1.01, 0.97)


@dataclass(frozen=True)
class Reference:
    brand: str
    reference_number: str
    specific_model: str | None
    parent_model: str | None
    base_price: float
    weekly_drift: float
    missing_weeks: frozenset[int] = frozenset()


REFERENCES: tuple[Reference, ...] = (
    Reference("Rolex", "126610LN", "Submariner Date", "Submariner", 14_000, 0.004),
    Reference("Rolex", "124060", "Submariner No Date", "Submariner", 10_500, 0.002),
    Reference("Rolex", "126500LN", "Cosmograph Daytona", "Daytona", 30_000, -0.003, frozenset({10, 11, 30, 57})),
    Reference("Rolex", "116610LV", None, "Submariner", 16_000, 0.001),
    Reference(
        "Omega",
        "310.30.42.50.01.001",
        "Speedmaster Moonwatch Professional",
        "Speedmaster",
        6_500,
        0.0015,
        frozenset({5, 20, 21, 22}),
    ),
    Reference("Omega", "210.30.42.20.03.001", "Seamaster Diver 300M", "Seamaster", 4_800, -0.001),
    Reference("Tudor", "79360N", "Black Bay Chrono", "Black Bay", 5_000, 0.003, frozenset(range(8))),
    Reference("Tudor", "M79030N0001", None, None, 3_500, 0.0, frozenset(w for w in range(N_WEEKS) if w % 3 == 2)),
)

# (reference index, week index) whose listings are all flagged outliers.
ALL_OUTLIER_GROUP_WEEKS = frozenset({(7, 40)})


def week_start(week_index: int) -> date:
    return FIRST_WEEK + timedelta(weeks=week_index)


def run_id(week_index: int) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"synthetic-run-{week_index}")


def _cents(value: float) -> Decimal:
    return Decimal(repr(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def listing_rows(week_indexes: list[int] | range) -> list[dict]:
    """The listings of the given weeks (week index 0 = FIRST_WEEK)."""
    rows: list[dict] = []
    for w in week_indexes:
        market_week = week_start(w)
        scrape_date = market_week + timedelta(days=2)
        scraped_at = datetime.combine(scrape_date, time(10, 0), tzinfo=UTC)
        for r, ref in enumerate(REFERENCES):
            if w in ref.missing_weeks:
                continue
            level = ref.base_price * math.exp(ref.weekly_drift * w + 0.02 * math.sin(w / 3 + r))
            n = 4 + (r + w) % 5
            for i in range(n):
                price = level * NOISE[(i + w) % len(NOISE)]
                is_outlier = (r, w) in ALL_OUTLIER_GROUP_WEEKS
                rows.append(_row(ref, r, w, i, market_week, scrape_date, scraped_at, price, is_outlier))
            if (w + r) % 7 == 0:  # one flagged outlier: six times the level
                rows.append(_row(ref, r, w, n, market_week, scrape_date, scraped_at, level * 6, True))
    return rows


def _row(
    ref: Reference,
    r: int,
    w: int,
    i: int,
    market_week: date,
    scrape_date: date,
    scraped_at: datetime,
    price: float,
    is_outlier: bool,
) -> dict:
    usd = _cents(price)
    return {
        "market_week": market_week,
        "source": "chrono24" if i % 2 == 0 else "watchbox",
        "listing_id": f"L{r}-{w}-{i}",
        "scrape_date": scrape_date,
        "scraped_at": scraped_at,
        "brand": ref.brand,
        "reference_number": ref.reference_number,
        "specific_model": ref.specific_model,
        "parent_model": ref.parent_model,
        "model_resolved_from": "catalog" if ref.specific_model else "none",
        "condition": CONDITIONS[(i + w + r) % len(CONDITIONS)],
        "condition_raw": None,
        "currency": "USD",
        "price_local": usd,
        "usd_per_unit": 1.0,
        "price_usd": usd,
        "is_outlier": is_outlier,
        "seller_type": "dealer",
        "country": "CH",
        "title": f"{ref.brand} {ref.reference_number}",
        "url": f"https://example.com/{r}/{w}/{i}",
        "source_file": f"{scrape_date:%Y-%m-%d}/listings.csv",
        "source_line": i + 1,
        "ingest_run_id": run_id(w),
    }


def create_raw(conn: psycopg.Connection, schema: str = "raw") -> None:
    ensure_schema(conn, schema)


def load_weeks(conn: psycopg.Connection, week_indexes: list[int] | range, schema: str = "raw") -> int:
    """(Re)load the given weeks: one partition and one ingest run per week. Returns rows loaded."""
    columns = LISTINGS.names
    total = 0
    with conn.transaction():
        for w in week_indexes:
            market_week = week_start(w)
            part = f"{schema}.{partition_name(market_week)}"
            conn.execute(f"drop table if exists {part}")
            conn.execute(
                f"create table {part} partition of {schema}.listings "
                f"for values from ('{market_week}') to ('{market_week + timedelta(days=7)}')"
            )
            rows = listing_rows([w])
            with conn.cursor().copy(f"copy {part} ({', '.join(columns)}) from stdin") as copy:
                for row in rows:
                    copy.write_row([row[c] for c in columns])
            conn.execute(f"delete from {schema}.ingest_runs where run_id = %s", (run_id(w),))
            conn.execute(
                f"insert into {schema}.ingest_runs (run_id, market_week, source_root, started_at, "
                "finished_at, status, rows_loaded, code_version) "
                "values (%s, %s, 'synthetic', now(), now(), 'succeeded', %s, 'test')",
                (run_id(w), market_week, len(rows)),
            )
            total += len(rows)
    return total
