"""A small deterministic market of listings that come, stay, cut their price and go, for the
supply, liquidity and price-index tests.

Ten references of three brands over 60 market weeks. Each listing stays online a random number
of weeks (1..20), sometimes cuts its price, sometimes switches its asking currency (a lower
local price in another currency is not a cut), a few move to another reference of their brand,
and some come back after a pause (a second spell). Week ``NOT_LOADED`` was not loaded (no
partition, no successful ingest run): it cuts every spell running through it, and the flows of
the week after it are null. Week ``FAILED`` has a failed ingest run only (not loaded either).
Reference sizes vary so that a brand-week sometimes has fewer than 3 references with 5 priced
listings in both weeks (a link of 1). Rows are written straight into ``raw.listings`` with the
ingest's own DDL; the ingest runs into ``raw.ingest_runs``.
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
N_WEEKS = 60
NOT_LOADED = 21
FAILED = 40
RATES = {"USD": Decimal(1), "EUR": Decimal("1.1"), "CHF": Decimal("1.15")}


@dataclass(frozen=True)
class Reference:
    brand: str
    reference_number: str
    specific_model: str | None
    parent_model: str | None
    base_price: float
    arrivals: int  # new listings a week (before the weekly swing)
    every: int = 1  # listings arrive only in every this many weeks (a thin reference comes and goes)


REFERENCES: tuple[Reference, ...] = (
    Reference("Rolex", "126610LN", "Submariner Date", "Submariner", 14_000, 4),
    Reference("Rolex", "124060", "Submariner No Date", "Submariner", 10_500, 3),
    Reference("Rolex", "126500LN", "Cosmograph Daytona", "Daytona", 30_000, 2),
    Reference("Rolex", "116610LV", None, "Submariner", 16_000, 1),
    Reference("Omega", "310.30.42.50.01.001", "Speedmaster Professional", "Speedmaster", 6_500, 3),
    Reference("Omega", "210.30.42.20.03.001", "Seamaster Diver 300M", "Seamaster", 4_800, 2),
    Reference("Omega", "220.10.41.21.01.001", None, None, 5_200, 1),
    Reference("Tudor", "79360N", "Black Bay Chrono", "Black Bay", 5_000, 3),
    Reference("Tudor", "M79030N0001", "Black Bay 58", "Black Bay", 3_500, 2),
    Reference("Tudor", "M25600TN", None, "Pelagos", 4_200, 1, every=6),
)


def week_start(week_index: int) -> date:
    return FIRST_WEEK + timedelta(weeks=week_index)


def run_id(week_index: int) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"dynamics-run-{week_index}")


def loaded_weeks() -> list[int]:
    return [w for w in range(N_WEEKS) if w not in (NOT_LOADED, FAILED)]


def _cents(value: float | Decimal) -> Decimal:
    return Decimal(repr(value) if isinstance(value, float) else value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _level(r: int, w: int) -> float:
    ref = REFERENCES[r]
    return ref.base_price * math.exp(0.004 * w * (1 if r % 2 else -0.5) + 0.04 * math.sin(w / 5 + r))


@dataclass
class _Listing:
    listing_id: str
    source: str
    ref: int
    weeks: list[int]  # the weeks it is listed (before NOT_LOADED / FAILED are dropped)
    premium: float
    currency_by_week: dict[int, str]
    cut_weeks: set[int]
    move_week: int | None  # from this week on it is listed under the brand's next reference


def _listings() -> list[_Listing]:
    rng = random.Random("dynamics-market")
    out: list[_Listing] = []
    for w in range(N_WEEKS):
        for r, ref in enumerate(REFERENCES):
            if w % ref.every:
                continue
            arrivals = ref.arrivals + (2 if (w + r) % 7 == 0 else 0) + (1 if w == 0 else 0) * 6
            for i in range(arrivals):
                life = rng.choice((1, 1, 2, 2, 3, 4, 5, 6, 8, 10, 13, 20))
                weeks = list(range(w, min(N_WEEKS, w + life)))
                if rng.random() < 0.1:  # comes back after a pause of 2 weeks: a second spell
                    back = weeks[-1] + 3
                    weeks += list(range(back, min(N_WEEKS, back + rng.choice((1, 2, 4)))))
                currency = rng.choice(("USD", "USD", "EUR", "CHF"))
                currency_by_week = {}
                for x in weeks:
                    if rng.random() < 0.08:  # switches its asking currency
                        currency = rng.choice([c for c in RATES if c != currency])
                    currency_by_week[x] = currency
                cut_weeks = {x for x in weeks[1:] if rng.random() < 0.15}
                move_week = weeks[len(weeks) // 2] if len(weeks) > 3 and rng.random() < 0.08 else None
                out.append(
                    _Listing(
                        listing_id=f"D{r}-{w}-{i}",
                        source="chrono24" if (r + i) % 3 else "watchbox",
                        ref=r,
                        weeks=weeks,
                        premium=rng.uniform(0.9, 1.15),
                        currency_by_week=currency_by_week,
                        cut_weeks=cut_weeks,
                        move_week=move_week,
                    )
                )
    return out


def _next_reference(r: int) -> int:
    brand = REFERENCES[r].brand
    same = [i for i, ref in enumerate(REFERENCES) if ref.brand == brand]
    return same[(same.index(r) + 1) % len(same)]


def listing_rows(week_indexes: list[int] | range) -> list[dict]:
    """The cleaned listings of the given weeks (weeks that were not loaded hold none)."""
    wanted = set(week_indexes) - {NOT_LOADED, FAILED}
    rows: list[dict] = []
    for listing in _listings():
        local: Decimal | None = None
        previous_currency = None
        for x in listing.weeks:
            r = listing.ref if listing.move_week is None or x < listing.move_week else _next_reference(listing.ref)
            currency = listing.currency_by_week[x]
            if local is None or currency != previous_currency:  # priced afresh in a new currency
                local = _cents(Decimal(repr(_level(r, x) * listing.premium)) / RATES[currency])
            elif x in listing.cut_weeks:
                local = _cents(local * Decimal("0.95"))
            previous_currency = currency
            if x in wanted:
                rows.append(_row(listing, r, x, currency, local))
    return rows


def _row(listing: _Listing, r: int, w: int, currency: str, local: Decimal) -> dict:
    ref = REFERENCES[r]
    market_week = week_start(w)
    scrape_date = market_week + timedelta(days=2)
    price_usd = _cents(local * RATES[currency])
    return {
        "market_week": market_week,
        "source": listing.source,
        "listing_id": listing.listing_id,
        "scrape_date": scrape_date,
        "scraped_at": datetime.combine(scrape_date, time(9, 30), tzinfo=UTC),
        "brand": ref.brand,
        "reference_number": ref.reference_number,
        "specific_model": ref.specific_model,
        "parent_model": ref.parent_model,
        "model_resolved_from": "catalog" if ref.specific_model else "none",
        "condition": "very_good",
        "condition_raw": None,
        "currency": currency,
        "price_local": local,
        "usd_per_unit": float(RATES[currency]),
        "price_usd": price_usd,
        "is_outlier": False,
        "seller_type": "dealer",
        "country": "CH",
        "title": f"{ref.brand} {ref.reference_number}",
        "url": f"https://example.com/dynamics/{listing.listing_id}",
        "source_file": f"{scrape_date:%Y-%m-%d}/listings.csv",
        "source_line": 1,
        "ingest_run_id": run_id(w),
    }


def create_raw(conn: psycopg.Connection, schema: str = "raw") -> None:
    ensure_schema(conn, schema)


def load_weeks(conn: psycopg.Connection, week_indexes: list[int] | range, schema: str = "raw") -> int:
    """(Re)load the given weeks: one partition and one succeeded ingest run per loaded week, a failed
    run for FAILED, nothing for NOT_LOADED. Returns rows loaded."""
    columns = LISTINGS.names
    total = 0
    with conn.transaction():
        for w in week_indexes:
            market_week = week_start(w)
            conn.execute(f"delete from {schema}.ingest_runs where run_id = %s", (run_id(w),))
            if w == NOT_LOADED:
                continue
            status = "failed" if w == FAILED else "succeeded"
            if w != FAILED:
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
                total += len(rows)
            conn.execute(
                f"insert into {schema}.ingest_runs (run_id, market_week, source_root, started_at, "
                "finished_at, status, rows_loaded, code_version) "
                "values (%s, %s, 'dynamics-synthetic', now(), now(), %s, %s, 'test')",
                (run_id(w), market_week, status, 0 if w == FAILED else len(rows)),
            )
    return total
