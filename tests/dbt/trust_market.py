"""A small deterministic market for the price-trust tests (bands, intervals, confidence, segments).

Eight references of three brands over 58 market weeks. The number of non-outlier listings of a
reference-week cycles through the sizes that matter to the definitions (0, 1, 4, 5, 6, 19, 20,
21, ...; one week of 2,500 and one of 400), conditions cycle so that the new and the pre-owned
segments hold 0, 1, a few or many listings (some weeks no new or no pre-owned listing at all,
some only listings of unknown condition), new watches are priced above pre-owned ones, prices
repeat (ties) and differ by odd cents (half-cent medians and interpolations), a few listings are
flagged outliers and one reference-week has only outliers. Rows are written straight into
``raw.listings`` (one partition per week, as the ingest does) with the ingest's own DDL.
"""

from __future__ import annotations

import math
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

import psycopg

from ingest.steps.schema import LISTINGS
from ingest.warehouse.ddl import ensure_schema, partition_name

FIRST_WEEK = date(2023, 1, 2)  # a Monday
N_WEEKS = 58
PREOWNED = ("unworn", "very_good", "good", "fair", "poor", "incomplete", "preowned_unspecified")
# The condition of listing i of a reference-week is CYCLE[(i + shift) % len(CYCLE)].
CYCLE = (
    "new",
    "very_good",
    "new",
    "good",
    "unknown",
    "new",
    "unworn",
    "preowned_unspecified",
    "new",
    "fair",
    "poor",
    "incomplete",
    "new",
)
# Non-outlier listings of a reference-week: SIZES[(3 r + w) % len(SIZES)], except BIG_WEEKS.
SIZES = (0, 1, 2, 4, 5, 6, 7, 12, 19, 20, 21, 33, 60, 5, 4, 6)
BIG_WEEKS = {(0, N_WEEKS - 1): 2500, (2, 30): 400}


@dataclass(frozen=True)
class Reference:
    brand: str
    reference_number: str
    specific_model: str | None
    parent_model: str | None
    base_price: float
    missing_weeks: frozenset[int] = frozenset()


REFERENCES: tuple[Reference, ...] = (
    Reference("Rolex", "126610LN", "Submariner Date", "Submariner", 14_000),
    Reference("Rolex", "124060", "Submariner No Date", "Submariner", 10_500, frozenset({3, 20, 21})),
    Reference("Rolex", "126500LN", "Cosmograph Daytona", "Daytona", 30_000),
    Reference("Rolex", "116610LV", None, "Submariner", 16_000),
    Reference("Omega", "310.30.42.50.01.001", "Speedmaster Professional", "Speedmaster", 6_500, frozenset({10})),
    Reference("Omega", "210.30.42.20.03.001", "Seamaster Diver 300M", "Seamaster", 4_800),
    Reference("Tudor", "79360N", "Black Bay Chrono", "Black Bay", 5_000),
    Reference("Tudor", "M79030N0001", None, None, 3_500, frozenset(w for w in range(N_WEEKS) if w % 3 == 2)),
)


def week_start(week_index: int) -> date:
    return FIRST_WEEK + timedelta(weeks=week_index)


def run_id(week_index: int) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"trust-run-{week_index}")


def _cents(value: float) -> Decimal:
    return Decimal(repr(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _conditions(r: int, w: int, n: int) -> list[str]:
    shift = (7 * r + 3 * w) % len(CYCLE)
    conditions = [CYCLE[(i + shift) % len(CYCLE)] for i in range(n)]
    if (w + r) % 9 == 4:  # a week without new listings
        conditions = ["good" if c == "new" else c for c in conditions]
    if (w + 2 * r) % 10 == 6:  # a week without pre-owned listings
        conditions = ["new" if c in PREOWNED else c for c in conditions]
    if (w, r) in {(15, 5), (40, 6)}:  # only listings of unknown condition: no segment row
        conditions = ["unknown"] * n
    return conditions


def listing_rows(week_indexes: list[int] | range) -> list[dict]:
    """The listings of the given weeks (week index 0 = FIRST_WEEK)."""
    rows: list[dict] = []
    for w in week_indexes:
        for r, ref in enumerate(REFERENCES):
            if w in ref.missing_weeks:
                continue
            rng = random.Random(f"trust-{r}-{w}")
            level = ref.base_price * math.exp(0.003 * w + 0.03 * math.sin(w / 4 + r))
            new_premium = 1.06 + 0.02 * r
            n = BIG_WEEKS.get((r, w), SIZES[(3 * r + w) % len(SIZES)])
            prices: list[Decimal] = []
            for i, condition in enumerate(_conditions(r, w, n)):
                if prices and rng.random() < 0.12:  # the same asking price again: ties
                    price = prices[rng.randrange(len(prices))]
                else:
                    factor = new_premium if condition == "new" else 1.0
                    price = _cents(level * factor * rng.uniform(0.85, 1.2))
                prices.append(price)
                rows.append(_row(ref, r, w, i, condition, price, False))
            n_outliers = 2 if n == 0 else (1 if (w + r) % 5 == 0 else 0)
            for j in range(n_outliers):  # far off the market, flagged (and of any condition)
                price = _cents(level * (6.0 if j == 0 else 0.15))
                rows.append(_row(ref, r, w, n + j, CYCLE[(w + j) % len(CYCLE)], price, True))
    return rows


def _row(ref: Reference, r: int, w: int, i: int, condition: str, price: Decimal, is_outlier: bool) -> dict:
    market_week = week_start(w)
    scrape_date = market_week + timedelta(days=2)
    return {
        "market_week": market_week,
        "source": "chrono24" if i % 3 else "watchbox",
        "listing_id": f"T{r}-{w}-{i}",
        "scrape_date": scrape_date,
        "scraped_at": datetime.combine(scrape_date, time(9, 30), tzinfo=UTC),
        "brand": ref.brand,
        "reference_number": ref.reference_number,
        "specific_model": ref.specific_model,
        "parent_model": ref.parent_model,
        "model_resolved_from": "catalog" if ref.specific_model else "none",
        "condition": condition,
        "condition_raw": None,
        "currency": "USD",
        "price_local": price,
        "usd_per_unit": 1.0,
        "price_usd": price,
        "is_outlier": is_outlier,
        "seller_type": "dealer",
        "country": "CH",
        "title": f"{ref.brand} {ref.reference_number}",
        "url": f"https://example.com/trust/{r}/{w}/{i}",
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
                "values (%s, %s, 'trust-synthetic', now(), now(), 'succeeded', %s, 'test')",
                (run_id(w), market_week, len(rows)),
            )
            total += len(rows)
    return total
