"""The dbt project on a real PostgreSQL database with a synthetic market.

One database for the module (``warehouse_env``):

1. raw holds weeks 0..N-2; schema ``wm_incremental`` is built by a first ``dbt run``;
2. week N-1 is loaded and ``wm_incremental`` is updated by an incremental run with
   ``from_week`` = that week;
3. schema ``wm_full_refresh`` is built from scratch by ``dbt build --full-refresh``
   (models, unit tests, every data test, singular tests on all weeks).

The tests then check the marts against metrics recomputed here in plain
Python from the raw rows, compare the two schemas row for row, and
backfill an old week.
"""

from __future__ import annotations

import dataclasses
import json
import math
import statistics
import time
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
import synthetic_market as market

from ingest.orchestration.dbt import run_dbt
from ingest.settings import get_settings

LEVELS = {
    "reference": ("brand", "reference_number"),
    "specific_model": ("brand", "specific_model"),
    "parent_model": ("brand", "parent_model"),
    "brand": ("brand",),
}
FAMILIES = ("price_metrics", "composition", "volatility")
MARTS = [f"{level}_{family}" for level in LEVELS for family in FAMILIES]
# rebuilt incrementally like the others; their rows are checked in test_price_trust.py
SEGMENT_MARTS = [f"{level}_segment_price_metrics" for level in LEVELS]
VOLATILITY_MIN_PRICED = 5  # the project var volatility_min_priced
CONDITIONS = market.CONDITIONS
PREOWNED = CONDITIONS[1:8]
HORIZONS = {"1w": 1, "1m": 4, "3m": 13, "6m": 26, "1y": 52}
LAST_WEEK = market.N_WEEKS - 1


class Dbt:
    """Runs dbt into one schema of the module's database, with private target/log paths."""

    def __init__(self, schema: str, work: Path) -> None:
        self.schema = schema
        self.work = work
        self.timings: dict[str, float] = {}

    def __call__(self, *args: str, label: str | None = None):
        settings = dataclasses.replace(get_settings(), dbt_schema=self.schema)
        paths = ["--target-path", str(self.work / "target"), "--log-path", str(self.work / "logs")]
        started = time.perf_counter()
        result = run_dbt([*args, *paths], settings=settings)
        self.timings[label or " ".join(args)] = time.perf_counter() - started
        return result


@pytest.fixture(scope="module")
def conn(warehouse_env: str):
    with psycopg.connect(warehouse_env, autocommit=True) as connection:
        yield connection


@pytest.fixture(scope="module")
def built(conn: psycopg.Connection, tmp_path_factory: pytest.TempPathFactory) -> dict:
    work = tmp_path_factory.mktemp("dbt")
    market.create_raw(conn)
    market.load_weeks(conn, range(LAST_WEEK))

    inc = Dbt("wm_incremental", work / "incremental")
    inc("run", label="first run (weeks 0..N-2)")
    market.load_weeks(conn, [LAST_WEEK])
    incremental = inc(
        "run",
        "--vars",
        f"{{from_week: '{market.week_start(LAST_WEEK)}'}}",
        label="incremental run (week N-1)",
    )

    full = Dbt("wm_full_refresh", work / "full_refresh")
    full("build", "--full-refresh", "--vars", f"{{test_sample_weeks: {market.N_WEEKS}}}", label="full build")
    print("\ndbt timings (s):", {k: round(v, 1) for k, v in {**inc.timings, **full.timings}.items()})
    return {"inc": inc, "full": full, "incremental_result": incremental}


# --------------------------------------------------------------------------- expected values


def _raw_listings(conn: psycopg.Connection) -> list[dict]:
    cur = conn.execute(
        "select market_week, brand, reference_number, specific_model, parent_model, condition, "
        "price_usd, is_outlier from raw.listings"
    )
    names = [d.name for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _expected(listings: list[dict], keys: tuple[str, ...]) -> dict[tuple, dict]:
    """Every metric of docs/metrics.md for every group-week of one level, computed naively."""
    groups: dict[tuple, dict[date, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for row in listings:
        key = tuple(row[k] for k in keys)
        if any(part is None for part in key):
            continue
        groups[key][row["market_week"]].append(row)

    out: dict[tuple, dict] = {}
    for key, weeks in groups.items():
        median: dict[date, float | None] = {}
        for week, rows in weeks.items():
            prices = [float(r["price_usd"]) for r in rows if not r["is_outlier"]]
            median[week] = statistics.median(prices) if prices else None
        market_price: dict[date, float | None] = {}
        for week in weeks:
            window = [m for w, m in median.items() if week - timedelta(days=28) <= w <= week and m is not None]
            market_price[week] = sum(window) / len(window) if window else None
        priced = {week: sum(not r["is_outlier"] for r in rows) for week, rows in weeks.items()}
        returns: dict[date, float] = {}
        for week in weeks:
            before = week - timedelta(weeks=1)
            # a return only between medians of at least VOLATILITY_MIN_PRICED non-outlier listings
            if priced[week] >= VOLATILITY_MIN_PRICED and priced.get(before, 0) >= VOLATILITY_MIN_PRICED:
                returns[week] = math.log(median[week] / median[before])
        for week, rows in weeks.items():
            metrics: dict = {
                "n_listings": len(rows),
                "n_priced": sum(not r["is_outlier"] for r in rows),
                "median_price_usd": median[week],
                "market_price_usd": market_price[week],
            }
            for suffix, k in HORIZONS.items():
                earlier = market_price.get(week - timedelta(weeks=k))
                ratio = market_price[week] / earlier if earlier and market_price[week] else None
                metrics[f"change_{suffix}"] = None if ratio is None else ratio - 1
                if k > 1:
                    metrics[f"growth_{suffix}"] = None if ratio is None else ratio ** (52 / k) - 1
                    window = [r for w, r in returns.items() if week - timedelta(weeks=k) < w <= week]
                    enough = len(window) >= max(3, math.ceil(k / 2))
                    metrics[f"volatility_{suffix}"] = statistics.stdev(window) * math.sqrt(52) if enough else None
            counts = {c: sum(r["condition"] == c for r in rows) for c in CONDITIONS}
            metrics["n_preowned"] = sum(counts[c] for c in PREOWNED)
            metrics["pct_preowned"] = metrics["n_preowned"] / len(rows)
            for c in CONDITIONS:
                metrics[f"n_{c}"] = counts[c]
                metrics[f"pct_{c}"] = counts[c] / len(rows)
            out[(*key, week)] = metrics
    return out


def _mart(conn: psycopg.Connection, schema: str, name: str) -> dict[tuple, dict]:
    """A mart's rows by (group key..., market_week)."""
    level = next(level for level in LEVELS if name in {f"{level}_{family}" for family in FAMILIES})
    keys = LEVELS[level]
    cur = conn.execute(f"select * from {schema}.{name}")
    names = [d.name for d in cur.description]
    rows = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    return {tuple(r[k] for k in (*keys, "market_week")): r for r in rows}


def _close(actual, expected, *, abs_tol: float) -> bool:
    if expected is None or actual is None:
        return expected is None and actual is None
    return math.isclose(float(actual), expected, rel_tol=1e-9, abs_tol=abs_tol)


# --------------------------------------------------------------------------- the full build


def test_build_passes_all_dbt_tests(built: dict) -> None:
    """``dbt build`` (models, unit tests, data tests, singular tests) raised nothing."""
    assert "full build" in built["full"].timings


@pytest.mark.parametrize("level", list(LEVELS))
def test_price_metrics_match_recomputation(built: dict, conn: psycopg.Connection, level: str) -> None:
    expected = _expected(_raw_listings(conn), LEVELS[level])
    actual = _mart(conn, "wm_full_refresh", f"{level}_price_metrics")
    assert actual.keys() == expected.keys()
    for key, exp in expected.items():
        row = actual[key]
        assert row["n_listings"] == exp["n_listings"], key
        assert row["n_priced"] == exp["n_priced"], key
        # prices are published rounded to the cent
        assert _close(row["median_price_usd"], exp["median_price_usd"], abs_tol=0.0051), key
        assert _close(row["market_price_usd"], exp["market_price_usd"], abs_tol=0.0051), key
        for suffix in HORIZONS:
            assert _close(row[f"change_{suffix}"], exp[f"change_{suffix}"], abs_tol=1e-9), (key, suffix)


@pytest.mark.parametrize("level", list(LEVELS))
def test_volatility_and_growth_match_recomputation(built: dict, conn: psycopg.Connection, level: str) -> None:
    expected = _expected(_raw_listings(conn), LEVELS[level])
    actual = _mart(conn, "wm_full_refresh", f"{level}_volatility")
    assert actual.keys() == expected.keys()
    for key, exp in expected.items():
        row = actual[key]
        for suffix in ("1m", "3m", "6m", "1y"):
            assert _close(row[f"volatility_{suffix}"], exp[f"volatility_{suffix}"], abs_tol=1e-9), (
                key,
                suffix,
            )
            growth = exp[f"growth_{suffix}"]
            tol = 1e-9 * max(1.0, abs(growth)) if growth is not None else 0
            assert _close(row[f"growth_{suffix}"], growth, abs_tol=tol), (key, suffix)


@pytest.mark.parametrize("level", list(LEVELS))
def test_composition_matches_recomputation(built: dict, conn: psycopg.Connection, level: str) -> None:
    expected = _expected(_raw_listings(conn), LEVELS[level])
    actual = _mart(conn, "wm_full_refresh", f"{level}_composition")
    assert actual.keys() == expected.keys()
    for key, exp in expected.items():
        row = actual[key]
        assert row["n_listings"] == exp["n_listings"]
        assert row["n_preowned"] == exp["n_preowned"]
        assert _close(row["pct_preowned"], exp["pct_preowned"], abs_tol=1e-10)
        for c in CONDITIONS:
            assert row[f"n_{c}"] == exp[f"n_{c}"], (key, c)
            assert _close(row[f"pct_{c}"], exp[f"pct_{c}"], abs_tol=1e-10), (key, c)


def test_known_values_of_the_synthetic_market(built: dict, conn: psycopg.Connection) -> None:
    """Spot checks of the synthetic design: gaps, the all-outlier week, null-key exclusion."""
    ref = _mart(conn, "wm_full_refresh", "reference_price_metrics")
    daytona = ("Rolex", "126500LN")  # weeks 10, 11, 30 and 57 missing
    week = market.week_start
    assert (*daytona, week(10)) not in ref
    assert ref[(*daytona, week(12))]["change_1w"] is None  # no row at week 11
    assert ref[(*daytona, week(12))]["change_1m"] is not None  # week 8 exists
    assert ref[(*daytona, week(58))]["change_1w"] is None  # week 57 missing
    # market price at week 12 averages the medians of weeks 8, 9 and 12 only
    medians = [ref[(*daytona, week(w))]["median_price_usd"] for w in (8, 9, 12)]
    assert abs(ref[(*daytona, week(12))]["market_price_usd"] - sum(medians) / 3) <= Decimal("0.01")

    # M79030N0001 has no weeks 38 and 41, and every listing of week 40 is an outlier
    tudor = ("Tudor", "M79030N0001")
    row = ref[(*tudor, week(40))]
    assert row["n_priced"] == 0 and row["n_listings"] > 0
    assert row["median_price_usd"] is None
    # its market price skips the median-less week: the medians of weeks 36, 37 and 39
    previous = [ref[(*tudor, week(w))]["median_price_usd"] for w in (36, 37, 39)]
    assert abs(row["market_price_usd"] - sum(previous) / 3) <= Decimal("0.01")
    assert ref[(*tudor, week(42))]["change_1w"] is None  # no week 41
    vol = _mart(conn, "wm_full_refresh", "reference_volatility")
    # weeks 37..40 hold one return (37 over 36): too few for volatility_1m
    assert vol[(*tudor, week(40))]["volatility_1m"] is None

    specific = _mart(conn, "wm_full_refresh", "specific_model_price_metrics")
    parent = _mart(conn, "wm_full_refresh", "parent_model_price_metrics")
    assert all(key[1] is not None for key in specific)
    assert not any(key[1] == "M79030N0001" for key in specific)
    assert all(key[1] is not None for key in parent)
    brand = _mart(conn, "wm_full_refresh", "brand_price_metrics")
    assert brand[("Tudor", week(40))]["median_price_usd"] is not None  # 79360N still priced that week


# --------------------------------------------------------------------------- incremental == full refresh


def _all_rows(conn: psycopg.Connection, schema: str, name: str) -> list[tuple]:
    return conn.execute(f"select * from {schema}.{name} order by 1, 2, 3, 4").fetchall()


@pytest.mark.parametrize("name", MARTS + SEGMENT_MARTS)
def test_incremental_equals_full_refresh(built: dict, conn: psycopg.Connection, name: str) -> None:
    incremental = _all_rows(conn, "wm_incremental", name)
    full = _all_rows(conn, "wm_full_refresh", name)
    assert len(incremental) == len(full) > 0
    assert incremental == full


def test_incremental_run_reads_only_the_lookback(built: dict) -> None:
    """The incremental run's SQL filters on literal weeks: the recomputed weeks and 56 weeks of look-back."""
    last_built = market.week_start(LAST_WEEK - 1)  # least(from_week, latest week already built)
    lookback = last_built - timedelta(weeks=56)
    compiled = {r.node.name: r.node.compiled_code for r in built["incremental_result"].result}
    assert f"market_week >= '{last_built}'::date" in compiled["int_reference_weeks_aggregated"]
    for name in ("reference_price_metrics", "brand_volatility"):
        assert f"market_week >= '{lookback}'::date" in compiled[name]
        assert f"market_week >= '{last_built}'::date" in compiled[name]
    assert f"market_week >= '{last_built}'::date" in compiled["parent_model_composition"]


def test_backfill_of_an_old_week_updates_later_weeks(built: dict, conn: psycopg.Connection) -> None:
    backfilled = 5
    week = market.week_start(backfilled)
    before = {name: _mart(conn, "wm_incremental", name) for name in ("reference_price_metrics", "reference_volatility")}

    # the old week is re-ingested with different prices and one listing fewer
    conn.execute(
        "update raw.listings set price_usd = round(price_usd * 1.25, 2) "
        "where market_week = %s and reference_number = '126610LN'",
        (week,),
    )
    conn.execute(
        "delete from raw.listings where market_week = %s and reference_number = '124060' "
        "and listing_id = (select min(listing_id) from raw.listings "
        "where market_week = %s and reference_number = '124060')",
        (week, week),
    )
    built["inc"]("run", "--vars", f"{{from_week: '{week}'}}", label="backfill run")
    built["full"]("run", "--full-refresh", label="full refresh run")

    for name in MARTS + SEGMENT_MARTS:
        assert _all_rows(conn, "wm_incremental", name) == _all_rows(conn, "wm_full_refresh", name), name

    after = {name: _mart(conn, "wm_incremental", name) for name in before}
    sub = ("Rolex", "126610LN")
    prices_before, prices_after = before["reference_price_metrics"], after["reference_price_metrics"]
    for w in range(backfilled):  # earlier weeks untouched
        key = (*sub, market.week_start(w))
        assert prices_after[key] == prices_before[key]
    key = (*sub, week)
    assert prices_after[key]["median_price_usd"] > prices_before[key]["median_price_usd"]
    # weeks inside the 4-week market-price window move ...
    key = (*sub, market.week_start(backfilled + 4))
    assert prices_after[key]["market_price_usd"] != prices_before[key]["market_price_usd"]
    # ... and so does the 1-year change 52 weeks later, and the 1-year volatility up to 51 weeks later
    # where the week enters a return (both medians from >= 5 non-outlier listings): 126610LN's week 5
    # has 4, so its volatility stays; 124060's week 5 drops from 5 to 4 and loses its return into week 6
    key = (*sub, market.week_start(backfilled + 52))
    assert prices_after[key]["change_1y"] != prices_before[key]["change_1y"]
    assert prices_after[key]["market_price_usd"] == prices_before[key]["market_price_usd"]
    key = (*sub, market.week_start(backfilled + 51))
    assert after["reference_volatility"][key]["volatility_1y"] == before["reference_volatility"][key]["volatility_1y"]
    key = ("Rolex", "124060", market.week_start(backfilled + 51))
    assert after["reference_volatility"][key]["volatility_1y"] != before["reference_volatility"][key]["volatility_1y"]
    ref = ("Rolex", "124060", week)
    assert prices_after[ref]["n_listings"] == prices_before[ref]["n_listings"] - 1


def test_run_results_are_recorded(built: dict, conn: psycopg.Connection) -> None:
    rows = conn.execute(
        "select command, resource_type, status, count(*) from wm_full_refresh_audit.dbt_run_results group by 1, 2, 3"
    ).fetchall()
    by = {(c, t, s): n for c, t, s, n in rows}
    assert by[("build", "model", "success")] == 38
    assert by.get(("build", "test", "fail"), 0) == 0
    assert by[("build", "unit_test", "pass")] >= 8
    assert by[("build", "test", "pass")] >= 90  # the family tests bundle each mart's row rules
    assert conn.execute("select count(*) from wm_incremental_audit.dbt_run_results").fetchone()[0] > 0


# --------------------------------------------------------------------------- family tests bite


def _compiled_test(work: Path, name: str) -> str:
    manifest = json.loads((work / "target" / "manifest.json").read_text())
    (node,) = [n for n in manifest["nodes"].values() if n["resource_type"] == "test" and n["name"] == name]
    compiled = work / "target" / "compiled" / node["package_name"] / node["original_file_path"]
    return (compiled / f"{name}.sql").read_text()


@pytest.mark.parametrize(
    ("test_name", "corruption", "broken_rules"),
    [
        (
            "reference_price_metrics_rules_hold",
            "update wm_full_refresh.reference_price_metrics set median_price_usd = null, confidence = 'high'"
            " where (brand, reference_number, market_week) in"
            " (select brand, reference_number, market_week from wm_full_refresh.reference_price_metrics"
            "  where n_priced between 1 and 19 limit 2)",
            {"median exactly when priced": 2, "price band ordered": 2, "confidence follows n_priced": 2},
        ),
        (
            "brand_composition_rules_hold",
            "update wm_full_refresh.brand_composition set pct_new = 1.5, n_new = -1"
            " where (brand, market_week) in (select brand, market_week from wm_full_refresh.brand_composition limit 1)",
            {
                "n_new >= 0": 1,
                "pct_new within [0, 1]": 1,
                "condition shares add up to 1": 1,
                "condition counts add up to n_listings": 1,
                "n_new + n_preowned + n_unknown = n_listings": 1,
            },
        ),
        (
            "specific_model_volatility_rules_hold",
            "insert into wm_full_refresh.specific_model_volatility"
            " select * from wm_full_refresh.specific_model_volatility limit 1",
            {"one row per group-week": 1},
        ),
    ],
)
def test_family_tests_name_the_broken_rule(
    built: dict, warehouse_env: str, test_name: str, corruption: str, broken_rules: dict[str, int]
) -> None:
    """Each mart family's generic test returns one row per broken rule with the rows breaking it."""
    sql = _compiled_test(built["full"].work, test_name)
    with psycopg.connect(warehouse_env) as conn:  # one transaction, rolled back
        assert conn.execute(sql).fetchall() == []
        conn.execute(corruption)
        assert dict(conn.execute(sql).fetchall()) == broken_rules
        conn.rollback()
