"""How far to trust a price: the band, the median's interval, confidence, new_premium, the
segment marts and the volatility return rule, at every level, against a plain-Python
recomputation of their definitions in exact arithmetic.

One database for the module (``warehouse_env``) holding the market of ``trust_market``:

1. schema ``trust_full`` is built from scratch by ``dbt build --full-refresh`` (models, unit
   tests, every data test, the singular tests on all weeks);
2. schema ``trust_incremental`` is built by a ``dbt run`` on weeks 0..N-2, then week N-1 is
   added by an incremental run with ``from_week`` = that week.

Prices are compared exactly after rounding to the cent (half away from zero), ratios exactly
after rounding to 10 decimal places, volatility within 1e-9.
"""

from __future__ import annotations

import dataclasses
import json
import math
import statistics
from collections import defaultdict
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction
from pathlib import Path

import psycopg
import pytest
import trust_market as market

from ingest.orchestration.dbt import run_dbt
from ingest.report.summary import print_market_summary
from ingest.settings import get_settings

LEVELS = {
    "reference": ("brand", "reference_number"),
    "specific_model": ("brand", "specific_model"),
    "parent_model": ("brand", "parent_model"),
    "brand": ("brand",),
}
HORIZONS = {"1w": 1, "1m": 4, "3m": 13, "6m": 26, "1y": 52}
BANDS = {"p10_price_usd": "0.1", "p25_price_usd": "0.25", "p75_price_usd": "0.75", "p90_price_usd": "0.9"}
LAST_WEEK = market.N_WEEKS - 1
SCHEMAS = ("trust_full", "trust_incremental")


def _dbt(schema: str, work: Path, *args: str):
    settings = dataclasses.replace(get_settings(), dbt_schema=schema)
    return run_dbt([*args, "--target-path", str(work / "target"), "--log-path", str(work / "logs")], settings=settings)


@pytest.fixture(scope="module")
def conn(warehouse_env: str):
    with psycopg.connect(warehouse_env, autocommit=True) as connection:
        yield connection


@pytest.fixture(scope="module")
def built(conn: psycopg.Connection, tmp_path_factory: pytest.TempPathFactory) -> dict:
    work = tmp_path_factory.mktemp("trust_dbt")
    market.create_raw(conn)
    market.load_weeks(conn, range(LAST_WEEK))
    _dbt("trust_incremental", work / "incremental", "run")
    market.load_weeks(conn, [LAST_WEEK])
    incremental = _dbt(
        "trust_incremental", work / "incremental", "run", "--vars", f"{{from_week: '{market.week_start(LAST_WEEK)}'}}"
    )
    _dbt("trust_full", work / "full", "build", "--full-refresh", "--vars", f"{{test_sample_weeks: {market.N_WEEKS}}}")
    manifest = json.loads((work / "full" / "target" / "manifest.json").read_text())
    return {"incremental_result": incremental, "manifest": manifest}


# --------------------------------------------------------------------------- the definitions, exactly


def _cents(value: Fraction) -> Decimal:
    return _decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _ratio(value: Fraction) -> Decimal:
    return _decimal(value).quantize(Decimal("1e-10"), rounding=ROUND_HALF_UP)


def _decimal(value: Fraction) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 60  # a terminating fraction (a tie) comes out exact
        return Decimal(value.numerator) / Decimal(value.denominator)


def _percentile(prices: list[Fraction], q: str) -> Fraction:
    """percentile_cont(q): linear interpolation between the sorted prices at position q (n - 1)."""
    position = Fraction(q) * (len(prices) - 1)
    low = math.floor(position)
    high = math.ceil(position)
    return prices[low] + (position - low) * (prices[high] - prices[low])


def _interval_ranks(n: int) -> tuple[int, int]:
    """j = max(1, floor(n/2 - 0.98 sqrt n)), k = min(n, ceil(n/2 + 1 + 0.98 sqrt n)), in integers.

    j <= n/2 - 0.98 sqrt n  <=>  n - 2j >= 0 and 2500 (n - 2j)^2 >= 9604 n (= 2500 * 4 * 0.98^2 n);
    k >= n/2 + 1 + 0.98 sqrt n  <=>  2k - n - 2 >= 0 and 2500 (2k - n - 2)^2 >= 9604 n.
    """

    def below(j: int) -> bool:
        return n - 2 * j >= 0 and 2500 * (n - 2 * j) ** 2 >= 9604 * n

    def above(k: int) -> bool:
        return 2 * k - n - 2 >= 0 and 2500 * (2 * k - n - 2) ** 2 >= 9604 * n

    j = n // 2
    while not below(j):
        j -= 1
    k = n // 2 + 1
    while not above(k):
        k += 1
    return max(1, j), min(n, k)


def _confidence(n_priced: int) -> str:
    return "high" if n_priced >= 20 else "medium" if n_priced >= 5 else "low"


def _segment(condition: str) -> str | None:
    if condition == "new":
        return "new"
    return "preowned" if condition in market.PREOWNED else None


def _in_segment(row: dict, segment: str) -> bool:
    """A non-outlier listing of the segment (outlier flags are those of the whole group)."""
    return not row["is_outlier"] and _segment(row["condition"]) == segment


def _median(prices: list[Fraction]) -> Fraction:
    return Fraction(statistics.median(prices))


def _market_prices(medians: dict[date, Fraction]) -> dict[date, Fraction]:
    """Mean of the medians of the weeks in [t - 28 days, t] (weeks without a median skipped)."""
    out = {}
    for week in medians:
        window = [m for w, m in medians.items() if week - timedelta(days=28) <= w <= week]
        out[week] = sum(window) / len(window)
    return out


def _changes(market_price: dict[date, Fraction], week: date) -> dict[str, Decimal | None]:
    out: dict[str, Decimal | None] = {}
    for suffix, k in HORIZONS.items():
        earlier = market_price.get(week - timedelta(weeks=k))
        out[f"change_{suffix}"] = None if earlier is None else _ratio(market_price[week] / earlier - 1)
    return out


def _groups(keys: tuple[str, ...]) -> dict[tuple, dict[date, list[dict]]]:
    groups: dict[tuple, dict[date, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for row in market.listing_rows(range(market.N_WEEKS)):
        key = tuple(row[k] for k in keys)
        if None not in key:
            groups[key][row["market_week"]].append(row)
    return groups


def _expected_trust(keys: tuple[str, ...]) -> dict[tuple, dict]:
    """The trust columns of <level>_price_metrics, per (group key..., market_week)."""
    out = {}
    for key, weeks in _groups(keys).items():
        for week, rows in weeks.items():
            prices = sorted(Fraction(r["price_usd"]) for r in rows if not r["is_outlier"])
            n = len(prices)
            row: dict = {"n_priced": n, "confidence": _confidence(n)}
            for column, q in BANDS.items():
                row[column] = _cents(_percentile(prices, q)) if prices else None
            if n >= 6:
                j, k = _interval_ranks(n)
                row["median_ci_low_usd"], row["median_ci_high_usd"] = _cents(prices[j - 1]), _cents(prices[k - 1])
            else:
                row["median_ci_low_usd"] = row["median_ci_high_usd"] = None
            by_segment = defaultdict(list)
            for r in rows:
                if not r["is_outlier"] and _segment(r["condition"]):
                    by_segment[_segment(r["condition"])].append(Fraction(r["price_usd"]))
            new, preowned = by_segment["new"], by_segment["preowned"]
            enough = len(new) >= 5 and len(preowned) >= 5
            row["new_premium"] = _ratio(_median(new) / _median(preowned) - 1) if enough else None
            out[(*key, week)] = row
    return out


def _expected_segments(keys: tuple[str, ...]) -> dict[tuple, dict]:
    """<level>_segment_price_metrics, per (group key..., market_week, segment)."""
    out = {}
    for key, weeks in _groups(keys).items():
        for segment in ("new", "preowned"):
            prices_by_week = {
                week: [Fraction(row["price_usd"]) for row in rows if _in_segment(row, segment)]
                for week, rows in weeks.items()
            }
            medians = {week: _median(p) for week, p in prices_by_week.items() if p}
            market_price = _market_prices(medians)
            for week, median in medians.items():
                n = len(prices_by_week[week])
                out[(*key, week, segment)] = {
                    "n_priced": n,
                    "median_price_usd": _cents(median),
                    "market_price_usd": _cents(market_price[week]),
                    **_changes(market_price, week),
                    "confidence": _confidence(n),
                }
    return out


def _expected_volatility(keys: tuple[str, ...], min_priced: int = 5) -> dict[tuple, dict]:
    """volatility_k with returns only between consecutive weeks of >= min_priced non-outlier listings each."""
    out = {}
    for key, weeks in _groups(keys).items():
        priced = {w: [float(r["price_usd"]) for r in rows if not r["is_outlier"]] for w, rows in weeks.items()}
        returns = {}
        for week, prices in priced.items():
            before = priced.get(week - timedelta(weeks=1), [])
            if len(prices) >= min_priced and len(before) >= min_priced:
                returns[week] = math.log(statistics.median(prices) / statistics.median(before))
        for week in weeks:
            row = {}
            for suffix, k in HORIZONS.items():
                if k == 1:
                    continue
                window = [r for w, r in returns.items() if week - timedelta(weeks=k) < w <= week]
                enough = len(window) >= max(3, math.ceil(k / 2))
                row[f"volatility_{suffix}"] = statistics.stdev(window) * math.sqrt(52) if enough else None
            out[(*key, week)] = row
    return out


def _rows(conn: psycopg.Connection, schema: str, table: str, keys: tuple[str, ...]) -> dict[tuple, dict]:
    cur = conn.execute(f"select * from {schema}.{table}")
    names = [d.name for d in cur.description]
    rows = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    return {tuple(r[k] for k in keys): r for r in rows}


# --------------------------------------------------------------------------- the synthetic design


def test_the_market_covers_the_cases() -> None:
    """The data exercise every threshold of the definitions (else the comparisons below prove little)."""
    trust = _expected_trust(LEVELS["reference"])
    sizes = {row["n_priced"] for row in trust.values()}
    assert {0, 1, 4, 5, 6, 19, 20, 21, 400, 2500} <= sizes
    segments = _expected_segments(LEVELS["reference"])
    segment_sizes = {(key[-1], row["n_priced"]) for key, row in segments.items()}
    assert {("new", 1), ("preowned", 1), ("new", 4), ("new", 5), ("preowned", 4), ("preowned", 5)} <= segment_sizes
    premiums = [row["new_premium"] for row in trust.values()]
    assert sum(p is not None for p in premiums) >= 100 and sum(p is None for p in premiums) >= 100
    assert any(p is not None and p < 0 for p in premiums) and any(p is not None and p > 0 for p in premiums)
    # ranks where n/2 - 0.98 sqrt(n) is an exact integer (n = 2500: 1250 - 49)
    assert _interval_ranks(2500) == (1201, 1300)
    assert _interval_ranks(6) == (1, 6) and _interval_ranks(20) == (5, 16)


# --------------------------------------------------------------------------- every level, every column


@pytest.mark.parametrize("schema", SCHEMAS)
@pytest.mark.parametrize("level", list(LEVELS))
def test_price_trust_columns_match_the_definitions(
    built: dict, conn: psycopg.Connection, level: str, schema: str
) -> None:
    keys = LEVELS[level]
    expected = _expected_trust(keys)
    actual = _rows(conn, schema, f"{level}_price_metrics", (*keys, "market_week"))
    assert actual.keys() == expected.keys()
    for key, exp in expected.items():
        row = actual[key]
        for column, value in exp.items():
            assert row[column] == value, (key, column, row[column], value)


@pytest.mark.parametrize("schema", SCHEMAS)
@pytest.mark.parametrize("level", list(LEVELS))
def test_segment_price_metrics_match_the_definitions(
    built: dict, conn: psycopg.Connection, level: str, schema: str
) -> None:
    keys = LEVELS[level]
    expected = _expected_segments(keys)
    actual = _rows(conn, schema, f"{level}_segment_price_metrics", (*keys, "market_week", "segment"))
    assert actual.keys() == expected.keys()
    for key, exp in expected.items():
        row = actual[key]
        assert set(row) == {*keys, "market_week", "segment", *exp}, key
        for column, value in exp.items():
            assert row[column] == value, (key, column, row[column], value)


@pytest.mark.parametrize("level", list(LEVELS))
def test_volatility_uses_only_returns_between_well_populated_weeks(
    built: dict, conn: psycopg.Connection, level: str
) -> None:
    keys = LEVELS[level]
    expected = _expected_volatility(keys)
    actual = _rows(conn, "trust_full", f"{level}_volatility", (*keys, "market_week"))
    assert actual.keys() == expected.keys()
    for key, exp in expected.items():
        for column, value in exp.items():
            got = actual[key][column]
            if value is None:
                assert got is None, (key, column, got)
            else:
                assert got is not None and math.isclose(float(got), value, rel_tol=1e-9, abs_tol=1e-9), (key, column)
    # the data make the rule bite: counting every median would give other volatilities
    assert expected != _expected_volatility(keys, min_priced=1)


def test_incremental_build_equals_full_refresh_for_the_new_marts(built: dict, conn: psycopg.Connection) -> None:
    for level in LEVELS:
        for table in (f"{level}_price_metrics", f"{level}_segment_price_metrics", f"{level}_volatility"):
            full, incremental = (
                conn.execute(f"select * from {schema}.{table} order by 1, 2, 3, 4").fetchall() for schema in SCHEMAS
            )
            assert full == incremental and full, table


def test_segment_marts_read_only_the_lookback(built: dict) -> None:
    """The weekly run of a segment mart filters on literal weeks: 56 weeks of look-back, the rebuilt weeks."""
    last_built = market.week_start(LAST_WEEK - 1)  # least(from_week, latest week already built)
    compiled = {r.node.name: r.node.compiled_code for r in built["incremental_result"].result}
    for level in LEVELS:
        sql = compiled[f"{level}_segment_price_metrics"]
        assert f"market_week >= '{last_built - timedelta(weeks=56)}'::date" in sql
        assert f"market_week >= '{last_built}'::date" in sql
    assert f"market_week >= '{last_built}'::date" in compiled["int_brand_weeks_aggregated"]


def test_new_marts_have_enforced_contracts_and_documented_columns(built: dict) -> None:
    nodes = {n["name"]: n for n in built["manifest"]["nodes"].values() if n["resource_type"] == "model"}
    for level in LEVELS:
        node = nodes[f"{level}_segment_price_metrics"]
        config = node["config"]
        assert config["contract"]["enforced"] is True
        assert (config["materialized"], config["incremental_strategy"], config["unique_key"]) == (
            "incremental",
            "delete+insert",
            "market_week",
        )
        assert all(c["data_type"] and c["description"].strip() for c in node["columns"].values())
        assert list(node["columns"])[-1] == "confidence"
        prices = nodes[f"{level}_price_metrics"]["columns"]
        for column in (*BANDS, "median_ci_low_usd", "median_ci_high_usd", "confidence", "new_premium"):
            assert prices[column]["data_type"] and prices[column]["description"].strip(), (level, column)
    prices = nodes["reference_price_metrics"]["columns"]
    assert "percentile_cont(0.1)" in prices["p10_price_usd"]["description"]
    assert "0.98" in prices["median_ci_low_usd"]["description"]
    assert "≥ 20" in prices["confidence"]["description"]
    assert "at least 5" in prices["new_premium"]["description"]
    assert "volatility_min_priced" in nodes["brand_volatility"]["columns"]["volatility_1m"]["description"]


def test_build_ran_the_trust_tests(built: dict, conn: psycopg.Connection) -> None:
    """The full build ran (and passed) the unit tests, the trust rules at every level and the segment singular test."""
    rows = conn.execute(
        "select node_unique_id, status from trust_full_audit.dbt_run_results where command = 'build'"
    ).fetchall()
    status = dict(rows)
    for unit in (
        "int_reference_weeks_price_band_interval_and_segments",
        "int_reference_segment_weeks_unpivoted_rows_per_segment",
        "reference_price_metrics_trust_columns",
        "reference_segment_price_metrics_per_segment",
        "reference_volatility_thin_week",
    ):
        matches = [s for uid, s in status.items() if uid.startswith("unit_test.") and uid.endswith(f".{unit}")]
        assert matches == ["pass"], unit
    # the bands, the interval and the confidence class are rules of each level's family tests
    for level in ("reference", "specific_model", "parent_model", "brand"):
        for family in ("price_metrics", "segment_price_metrics"):
            results = [
                s for uid, s in status.items() if uid.startswith(f"test.watch_market.{level}_{family}_rules_hold")
            ]
            assert results == ["pass"], (level, family)
    for generic in ("new_premium_matches_segments", "segments_partition_group"):
        results = [s for uid, s in status.items() if uid.startswith(f"test.watch_market.{generic}_")]
        assert len(results) == 4 and set(results) == {"pass"}, generic
    singular = [s for uid, s in status.items() if "assert_reference_segment_median_matches_listings" in uid]
    assert singular == ["pass"]


# --------------------------------------------------------------------------- what people see


def _section(out: str, title: str) -> list[list[str]]:
    """The rows of one ranking of the printed summary, split into words."""
    lines = out.split(title, 1)[1].split("\n\n", 1)[0].splitlines()[1:]
    return [line.split() for line in lines if line.strip()]


def test_market_summary_ranks_only_high_confidence_references(
    built: dict, conn: psycopg.Connection, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = dataclasses.replace(get_settings(), dbt_schema="trust_full")
    assert print_market_summary(settings) == 0
    out = capsys.readouterr().out
    week = conn.execute("select max(market_week) from trust_full.reference_price_metrics").fetchone()[0]

    def ranking(sql: str) -> list[tuple[str, str, int, str]]:
        return conn.execute(sql, (week,)).fetchall()

    movers = ranking(
        """select brand, reference_number, n_priced, confidence from trust_full.reference_price_metrics
           where market_week = %s and change_1m is not null
           order by abs(change_1m) desc, brand, reference_number"""
    )
    volatile = ranking(
        """select v.brand, v.reference_number, p.n_priced, p.confidence
           from trust_full.reference_volatility as v
           inner join trust_full.reference_price_metrics as p using (brand, reference_number, market_week)
           where v.market_week = %s and v.volatility_3m is not null
           order by v.volatility_3m desc, v.brand, v.reference_number"""
    )
    for title, ranked in (("Top movers", movers), ("Most volatile references", volatile)):
        printed = [(words[0], words[1], int(words[2].replace(",", ""))) for words in _section(out, title)]
        expected = [(b, r, n) for b, r, n, confidence in ranked if confidence == "high"][:5]
        assert printed == expected and printed, title
        assert all(words[3] == "listings" for words in _section(out, title))
        # without the filter a thinner reference would have been ranked
        assert any(confidence != "high" for *_, confidence in ranked[:5]), title
    premiums = _section(out, "New vs pre-owned")[1:]  # below the header line
    brands = conn.execute(
        """select brand from trust_full.brand_price_metrics
           where market_week = %s and confidence = 'high' and new_premium is not null""",
        (week,),
    ).fetchall()
    assert {words[0] for words in premiums} == {b for (b,) in brands}
