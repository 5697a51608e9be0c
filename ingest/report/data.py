"""What the market report shows, read from the marts in a few bulk queries (one connection).

The report is a face of the marts: every number it shows is a mart value of the report week
(or of a group's latest week with data), never recomputed here. Marts that a warehouse does not
hold yet (built by an older dbt project) are read as empty, and the pages leave their sections out.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row

from ingest.report.summary import mart_schema
from ingest.settings import Settings
from ingest.steps.parsing import CONDITION_CATEGORIES

Row = dict[str, Any]
RefKey = tuple[str, str]  # (brand, reference_number)

#: A reference gets its own page when its price had at least this confidence in one of the
#: last PAGE_WEEKS market weeks (the report week included).
PAGE_CONFIDENCE = ("medium", "high")
PAGE_WEEKS = 13

#: The marts the report reads (the dbt exposure ``market_report`` names the same).
MARTS_READ = (
    "reference_price_metrics",
    "reference_segment_price_metrics",
    "reference_composition",
    "reference_volatility",
    "reference_liquidity",
    "parent_model_price_metrics",
    "parent_model_volatility",
    "parent_model_liquidity",
    "brand_price_metrics",
    "brand_volatility",
    "brand_liquidity",
    "brand_price_index",
    "market_price_index",
)
#: The ingest's tables it reads: the listings (each reference's models) and the run ledger (freshness).
RAW_TABLES_READ = ("listings", "ingest_runs")

PRICE_COLUMNS = (
    "n_listings",
    "n_priced",
    "median_price_usd",
    "market_price_usd",
    "change_1w",
    "change_1m",
    "change_3m",
    "change_6m",
    "change_1y",
    "p10_price_usd",
    "p25_price_usd",
    "p75_price_usd",
    "p90_price_usd",
    "median_ci_low_usd",
    "median_ci_high_usd",
    "confidence",
    "new_premium",
)
VOLATILITY_COLUMNS = (
    "volatility_1m",
    "volatility_3m",
    "volatility_6m",
    "volatility_1y",
    "growth_1m",
    "growth_3m",
    "growth_6m",
    "growth_1y",
)
LIQUIDITY_COLUMNS = (
    "n_new_listings",
    "n_ended_listings",
    "sell_through_rate",
    "n_price_cuts",
    "pct_price_cut",
    "median_weeks_on_market",
    "n_spells",
)
INDEX_COLUMNS = (
    "index_value",
    "n_matched_references",
    "index_change_1w",
    "index_change_1m",
    "index_change_3m",
    "index_change_6m",
    "index_change_1y",
)
CONDITIONS = CONDITION_CATEGORIES
COMPOSITION_COLUMNS = (
    "n_listings",
    "n_new",
    "n_preowned",
    "pct_new",
    "pct_preowned",
    *(f"{prefix}_{c}" for c in CONDITIONS if c != "new" for prefix in ("n", "pct")),
)


@dataclass
class Freshness:
    """The ingest ledger's word on the report week: its latest successful load."""

    market_week: date
    finished_at: datetime | None
    rows_loaded: int
    rows_quarantined: int


@dataclass
class ReportData:
    """Everything the pages show, keyed by group."""

    week: date
    freshness: Freshness | None
    market_index: list[Row] = field(default_factory=list)  # by market_week, up to the week
    brand_index: dict[str, list[Row]] = field(default_factory=dict)
    brands: dict[str, Row] = field(default_factory=dict)  # price (+ liquidity, volatility) at the week
    parent_models: dict[str, list[Row]] = field(default_factory=dict)  # brand -> rows at the week
    references: dict[RefKey, Row] = field(default_factory=dict)  # latest row <= week within PAGE_WEEKS
    ref_history: dict[RefKey, list[Row]] = field(default_factory=dict)
    ref_segments: dict[RefKey, dict[str, list[Row]]] = field(default_factory=dict)
    ref_models: dict[RefKey, tuple[str | None, str | None]] = field(default_factory=dict)
    page_refs: set[RefKey] = field(default_factory=set)
    has_liquidity: bool = False
    has_index: bool = False

    def brand_references(self, brand: str) -> list[RefKey]:
        return sorted(k for k in self.references if k[0] == brand)


class ReportError(RuntimeError):
    """The report cannot be built (no marts, no week); the message says what to do."""


def _columns(names: tuple[str, ...], alias: str) -> str:
    return ", ".join(f"{alias}.{name}" for name in names)


def _select(conn: psycopg.Connection, sql: str, params: tuple[Any, ...]) -> list[Row]:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def _latest_week(conn: psycopg.Connection, schema: str) -> date | None:
    return conn.execute(f"select max(market_week) from {schema}.reference_price_metrics").fetchone()[0]


def load_report_data(settings: Settings, dsn: str, week: date | None = None) -> ReportData:
    """Read the report of ``week`` (default: the latest market week of the reference marts)."""
    with psycopg.connect(dsn) as conn:
        conn.execute("set transaction read only")
        schemas = {table: mart_schema(conn, settings, table) for table in MARTS_READ}
        price = schemas["reference_price_metrics"]
        if price is None:
            raise ReportError("no marts yet: run `ingest dbt build` (or `make demo`) first")
        week = week or _latest_week(conn, price)
        if week is None:
            raise ReportError("the marts hold no market week yet: load a week and run dbt first")
        data = ReportData(week=week, freshness=_freshness(conn, settings, week))
        data.has_liquidity = schemas["reference_liquidity"] is not None
        data.has_index = schemas["market_price_index"] is not None
        _load_references(conn, schemas, data)
        _load_models(conn, settings, data)
        _load_groups(conn, schemas, data)
    if not data.references:
        raise ReportError(f"no reference has data in the {PAGE_WEEKS} weeks up to {week}")
    return data


def _freshness(conn: psycopg.Connection, settings: Settings, week: date) -> Freshness | None:
    runs = f"{settings.raw_schema}.ingest_runs"
    if conn.execute("select to_regclass(%s)", (runs,)).fetchone()[0] is None:
        return None
    row = conn.execute(
        f"""select market_week, finished_at, rows_loaded, rows_quarantined from {runs}
            where market_week = %s and status = 'succeeded' order by finished_at desc limit 1""",
        (week,),
    ).fetchone()
    return Freshness(*row) if row else None


def _load_references(conn: psycopg.Connection, schemas: dict[str, str | None], data: ReportData) -> None:
    week, first = data.week, data.week - timedelta(weeks=PAGE_WEEKS - 1)
    price = schemas["reference_price_metrics"]
    history = _select(
        conn,
        f"""select p.brand, p.reference_number, p.market_week, {_columns(PRICE_COLUMNS, "p")}
            from {price}.reference_price_metrics as p
            where p.market_week <= %s
            order by p.brand, p.reference_number, p.market_week""",
        (week,),
    )
    by_ref: dict[RefKey, list[Row]] = defaultdict(list)
    for row in history:
        by_ref[(row["brand"], row["reference_number"])].append(row)
    for key, rows in by_ref.items():
        latest = rows[-1]
        if latest["market_week"] < first:
            continue  # no data in the report's window: not in this week's report
        data.references[key] = dict(latest)
        data.ref_history[key] = rows
        if any(r["market_week"] >= first and r["confidence"] in PAGE_CONFIDENCE for r in rows[-PAGE_WEEKS:]):
            data.page_refs.add(key)
    segments = conn.execute(  # plain tuples: two rows per reference-week, the largest read
        f"""select s.brand, s.reference_number, s.segment, s.market_week, s.market_price_usd
            from {schemas["reference_segment_price_metrics"]}.reference_segment_price_metrics as s
            where s.market_week <= %s
            order by s.brand, s.reference_number, s.segment, s.market_week""",
        (week,),
    ).fetchall()
    for brand, reference, segment, market_week, market_price in segments:
        key = (brand, reference)
        if key in data.page_refs:
            data.ref_segments.setdefault(key, {}).setdefault(segment, []).append(
                {"market_week": market_week, "market_price_usd": market_price}
            )
    # the other families, at each reference's own latest week
    for table, columns in (
        ("reference_volatility", VOLATILITY_COLUMNS),
        ("reference_composition", COMPOSITION_COLUMNS),
        ("reference_liquidity", LIQUIDITY_COLUMNS),
    ):
        schema = schemas[table]
        if schema is None:
            continue
        rows = _select(
            conn,
            f"""select t.brand, t.reference_number, t.market_week, {_columns(columns, "t")}
                from {schema}.{table} as t where t.market_week between %s and %s""",
            (first, week),
        )
        prefix = "comp_" if table == "reference_composition" else ""
        for row in rows:
            ref = data.references.get((row["brand"], row["reference_number"]))
            if ref is not None and ref["market_week"] == row["market_week"]:
                ref.update({prefix + name: row[name] for name in columns})


def _load_models(conn: psycopg.Connection, settings: Settings, data: ReportData) -> None:
    """Each reference's specific and parent model: the most frequent ones of its listings in its latest week."""
    listings = f"{settings.raw_schema}.listings"
    if conn.execute("select to_regclass(%s)", (listings,)).fetchone()[0] is None:
        return
    weeks = sorted({row["market_week"] for row in data.references.values()})
    rows = conn.execute(
        f"""select brand, reference_number, market_week, specific_model, parent_model, count(*) as n
            from {listings}
            where market_week = any(%s)
            group by brand, reference_number, market_week, specific_model, parent_model""",
        (weeks,),
    ).fetchall()
    best: dict[RefKey, tuple[int, str, str]] = {}
    for brand, ref, market_week, specific, parent, n in rows:
        key = (brand, ref)
        latest = data.references.get(key)
        if latest is None or latest["market_week"] != market_week:
            continue
        rank = (n, specific or "", parent or "")
        if key not in best or rank > best[key]:
            best[key] = rank
            data.ref_models[key] = (specific, parent)


def _load_groups(conn: psycopg.Connection, schemas: dict[str, str | None], data: ReportData) -> None:
    week = data.week
    brands = _select(
        conn,
        f"""select p.brand, p.market_week, {_columns(PRICE_COLUMNS, "p")}
            from {schemas["brand_price_metrics"]}.brand_price_metrics as p where p.market_week = %s""",
        (week,),
    )
    data.brands = {row["brand"]: row for row in brands}
    parents = _select(
        conn,
        f"""select p.brand, p.parent_model, p.market_week, {_columns(PRICE_COLUMNS, "p")}
            from {schemas["parent_model_price_metrics"]}.parent_model_price_metrics as p where p.market_week = %s
            order by p.brand, p.n_listings desc, p.parent_model""",
        (week,),
    )
    by_parent = {(row["brand"], row["parent_model"]): row for row in parents}
    for level, rows_by_key, key_columns in (
        ("brand", {(b,): r for b, r in data.brands.items()}, ("brand",)),
        ("parent_model", by_parent, ("brand", "parent_model")),
    ):
        for family, columns in (("volatility", VOLATILITY_COLUMNS), ("liquidity", LIQUIDITY_COLUMNS)):
            schema = schemas[f"{level}_{family}"]
            if schema is None:
                continue
            keys = ", ".join(f"t.{k}" for k in key_columns)
            extra = _select(
                conn,
                f"select {keys}, {_columns(columns, 't')} from {schema}.{level}_{family} as t where t.market_week = %s",
                (week,),
            )
            for row in extra:
                target = rows_by_key.get(tuple(row[k] for k in key_columns))
                if target is not None:
                    target.update({name: row[name] for name in columns})
    for row in parents:
        data.parent_models.setdefault(row["brand"], []).append(row)
    if schemas["market_price_index"] is not None:
        data.market_index = _select(
            conn,
            f"""select i.market_week, {_columns(INDEX_COLUMNS, "i")}
                from {schemas["market_price_index"]}.market_price_index as i
                where i.market_week <= %s order by i.market_week""",
            (week,),
        )
    if schemas["brand_price_index"] is not None:
        for row in _select(
            conn,
            f"""select i.brand, i.market_week, {_columns(INDEX_COLUMNS, "i")}
                from {schemas["brand_price_index"]}.brand_price_index as i
                where i.market_week <= %s order by i.brand, i.market_week""",
            (week,),
        ):
            data.brand_index.setdefault(row["brand"], []).append(row)
