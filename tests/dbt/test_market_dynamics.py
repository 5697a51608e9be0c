"""Supply, liquidity and the price index at every level, against a plain-Python recomputation
of their definitions (exact fractions for the flows and the Kaplan-Meier median).

One database for the module (``warehouse_env``) holding the market of ``dynamics_market``:

1. ``dyn_backfill``: built on every week but ``BACKFILL`` and the last, then ``BACKFILL`` is
   loaded late and rebuilt with ``from_week`` = that week (the spells through it are joined
   again), then the last week is added with ``from_week`` = the last week;
2. ``dyn_incremental``: built on weeks 0..N-2, then the last week is added incrementally;
3. ``dyn_full``: ``dbt build --full-refresh`` (models, unit tests, every data test).

Counts and the median are compared exactly, ratios exactly after rounding to 10 decimal places,
index values within 1e-9 (relative).
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections import defaultdict
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction
from pathlib import Path

import dynamics_market as market
import psycopg
import pytest

from ingest.orchestration.dbt import run_dbt
from ingest.report.summary import print_market_summary
from ingest.settings import get_settings

LEVELS = {
    "reference": ("brand", "reference_number"),
    "specific_model": ("brand", "specific_model"),
    "parent_model": ("brand", "parent_model"),
    "brand": ("brand",),
}
LAST_WEEK = market.N_WEEKS - 1
BACKFILL = 35
SCHEMAS = ("dyn_full", "dyn_incremental", "dyn_backfill")
NEW_MODELS = (
    *(f"{level}_liquidity" for level in LEVELS),
    "brand_price_index",
    "market_price_index",
    "int_listing_spell_weeks",
    "int_listing_spells_closed",
    "int_brand_price_index_chained",
    "int_market_price_index_chained",
)
SELECT = ["--select", *(f"+{model}" for model in NEW_MODELS)]
FLOWS = ("n_new_listings", "n_ended_listings", "sell_through_rate", "n_price_cuts", "pct_price_cut")


def _dbt(schema: str, work: Path, *args: str):
    settings = dataclasses.replace(get_settings(), dbt_schema=schema)
    result = run_dbt(
        [*args, "--target-path", str(work / schema / "target"), "--log-path", str(work / schema / "logs")],
        settings=settings,
    )
    assert result.success, (schema, args)
    return result


def _from_week(week_index: int) -> list[str]:
    return ["--vars", f"{{from_week: '{market.week_start(week_index)}'}}"]


@pytest.fixture(scope="module")
def conn(warehouse_env: str):
    with psycopg.connect(warehouse_env, autocommit=True) as connection:
        yield connection


@pytest.fixture(scope="module")
def built(conn: psycopg.Connection, tmp_path_factory: pytest.TempPathFactory) -> dict:
    work = tmp_path_factory.mktemp("dynamics_dbt")
    market.create_raw(conn)
    market.load_weeks(conn, [w for w in range(LAST_WEEK) if w != BACKFILL])
    _dbt("dyn_backfill", work, "run", *SELECT)
    market.load_weeks(conn, [BACKFILL])
    backfill = _dbt("dyn_backfill", work, "run", *SELECT, *_from_week(BACKFILL))
    _dbt("dyn_incremental", work, "run", *SELECT)
    market.load_weeks(conn, [LAST_WEEK])
    weekly = _dbt("dyn_incremental", work, "run", *SELECT, *_from_week(LAST_WEEK))
    _dbt("dyn_backfill", work, "run", *SELECT, *_from_week(LAST_WEEK))
    _dbt("dyn_full", work, "build", "--full-refresh", "--vars", f"{{test_sample_weeks: {market.N_WEEKS}}}")
    compiled = {
        name: {r.node.name: r.node.compiled_code for r in result.result}
        for name, result in (("weekly", weekly), ("backfill", backfill))
    }
    return {"compiled": compiled}


# --------------------------------------------------------------------------- the definitions


def _ratio(value: Fraction) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 60
        exact = Decimal(value.numerator) / Decimal(value.denominator)
    return exact.quantize(Decimal("1e-10"), rounding=ROUND_HALF_UP)


def _presence() -> tuple[dict[date, dict[tuple, dict]], set[date]]:
    weeks: dict[date, dict[tuple, dict]] = defaultdict(dict)
    for row in market.listing_rows(range(market.N_WEEKS)):
        weeks[row["market_week"]][(row["source"], row["listing_id"])] = row
    loaded = {market.week_start(w) for w in market.loaded_weeks()}
    return dict(weeks), loaded


def _spells(weeks: dict[date, dict[tuple, dict]]) -> list[tuple[tuple, date, date, dict]]:
    """(listing, first week, last week, the row of the first week) of every maximal run."""
    by_listing: dict[tuple, list[date]] = defaultdict(list)
    for week in sorted(weeks):
        for listing in weeks[week]:
            by_listing[listing].append(week)
    spells = []
    for listing, present in by_listing.items():
        first = previous = present[0]
        for week in present[1:]:
            if week - previous != timedelta(weeks=1):
                spells.append((listing, first, previous, weeks[first][listing]))
                first = week
            previous = week
        spells.append((listing, first, previous, weeks[first][listing]))
    return spells


def kaplan_meier_median(spells: list[tuple[int, bool]]) -> int | None:
    """The smallest a with S(a) <= 0.5 over (age, ended) pairs, in exact fractions."""
    survival = Fraction(1)
    for a in range(1, max((age for age, _ in spells), default=0) + 1):
        at_risk = sum(1 for age, _ in spells if age >= a)
        ended = sum(1 for age, is_ended in spells if is_ended and age == a)
        if at_risk:
            survival *= 1 - Fraction(ended, at_risk)
        if survival <= Fraction(1, 2):
            return a
    return None


def _expected_liquidity(keys: tuple[str, ...]) -> dict[tuple, dict]:
    weeks, loaded = _presence()
    spells = _spells(weeks)

    def key_of(row: dict) -> tuple | None:
        key = tuple(row[k] for k in keys)
        return None if None in key else key

    out: dict[tuple, dict] = {}
    for t in sorted(weeks):
        before = t - timedelta(weeks=1)
        now, then = weeks[t], weeks.get(before, {})
        groups = {key_of(r) for r in now.values()} | {key_of(r) for r in then.values()}
        for g in groups - {None}:
            row: dict = {}
            if before in loaded:
                current = [(lst, r) for lst, r in now.items() if key_of(r) == g]
                previous = [lst for lst, r in then.items() if key_of(r) == g]
                ended = sum(1 for lst in previous if lst not in now)
                both = [(lst, r) for lst, r in current if lst in then]
                cuts = sum(
                    1
                    for lst, r in both
                    if r["currency"] == then[lst]["currency"] and r["price_local"] < then[lst]["price_local"]
                )
                row["n_new_listings"] = sum(1 for lst, _ in current if lst not in then)
                row["n_ended_listings"] = ended
                row["sell_through_rate"] = _ratio(Fraction(ended, len(previous))) if previous else None
                row["n_price_cuts"] = cuts
                row["pct_price_cut"] = _ratio(Fraction(cuts, len(both))) if both else None
            else:
                row.update(dict.fromkeys(FLOWS))
            taken = []
            for _, first, last, first_row in spells:
                if key_of(first_row) == g and t - timedelta(weeks=52) < first <= t:
                    age = (min(last, t) - first).days // 7 + 1
                    is_ended = last < t and last + timedelta(weeks=1) in loaded
                    taken.append((age, is_ended))
            row["median_weeks_on_market"] = kaplan_meier_median(taken)
            row["n_spells"] = len(taken)
            out[(*g, t)] = row
    return out


def _expected_index(brand_level: bool) -> dict[tuple, dict]:
    priced: dict[tuple, dict[date, list[float]]] = defaultdict(lambda: defaultdict(list))
    for row in market.listing_rows(range(market.N_WEEKS)):
        if not row["is_outlier"]:
            priced[(row["brand"], row["reference_number"])][row["market_week"]].append(float(row["price_usd"]))
    medians = {ref: {w: (statistics.median(p), len(p)) for w, p in weeks.items()} for ref, weeks in priced.items()}
    index_keys: dict[tuple, set[date]] = defaultdict(set)
    for ref, weeks in medians.items():
        index_keys[(ref[0],) if brand_level else ()].update(weeks)
    out = {}
    for key, group_weeks in index_keys.items():
        values: dict[date, float] = {}
        value = 100.0
        for i, t in enumerate(sorted(group_weeks)):
            relatives = []
            for ref, weeks in medians.items():
                if ref[: len(key)] != key:
                    continue
                now, before = weeks.get(t), weeks.get(t - timedelta(weeks=1))
                if now and before and now[1] >= 5 and before[1] >= 5:
                    relatives.append(math.log(now[0] / before[0]))
            link = math.exp(sum(relatives) / len(relatives)) if len(relatives) >= 3 else 1.0
            if i:
                value *= link
            values[t] = value
            row = {"index_value": value, "n_matched_references": len(relatives), "index_change_1w": link - 1}
            for suffix, k in (("1m", 4), ("3m", 13), ("6m", 26), ("1y", 52)):
                earlier = values.get(t - timedelta(weeks=k))
                row[f"index_change_{suffix}"] = None if earlier is None else value / earlier - 1
            out[(*key, t)] = row
    return out


def _rows(conn: psycopg.Connection, schema: str, table: str, keys: tuple[str, ...]) -> dict[tuple, dict]:
    cur = conn.execute(f"select * from {schema}.{table}")
    names = [d.name for d in cur.description]
    rows = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    return {tuple(r[k] for k in keys): r for r in rows}


# --------------------------------------------------------------------------- the synthetic design


def test_the_market_covers_the_cases() -> None:
    """The data exercise what the definitions distinguish (else the comparisons prove little)."""
    expected = _expected_liquidity(LEVELS["reference"])
    after_gap = [k for k in expected if k[-1] == market.week_start(market.NOT_LOADED + 1)]
    assert after_gap and all(expected[k]["n_new_listings"] is None for k in after_gap)
    assert any(r["n_price_cuts"] for r in expected.values())
    assert any(r["pct_price_cut"] is None and r["n_price_cuts"] == 0 for r in expected.values())
    assert any(r["sell_through_rate"] is None and r["n_ended_listings"] == 0 for r in expected.values())
    assert {r["median_weeks_on_market"] for r in expected.values()} >= {None, 2, 3, 4, 5}
    # a group present only in the week before (all its listings left) still gets a row
    weeks, _ = _presence()
    assert any(not any(r["reference_number"] == k[1] for r in weeks.get(k[-1], {}).values()) for k in expected)
    # a currency switch with a lower local price: not a cut
    rows = market.listing_rows(range(market.N_WEEKS))
    by_listing = defaultdict(dict)
    for row in rows:
        by_listing[(row["source"], row["listing_id"])][row["market_week"]] = row
    switches = [
        (w, r)
        for weeks_of in by_listing.values()
        for w, r in weeks_of.items()
        if (p := weeks_of.get(w - timedelta(weeks=1)))
        and p["currency"] != r["currency"]
        and r["price_local"] < p["price_local"]
    ]
    assert switches
    index = _expected_index(brand_level=True)
    matched = {r["n_matched_references"] for r in index.values()}
    assert {0, 1, 2} & matched and max(matched) >= 3
    assert any(r["index_change_1y"] is not None for r in index.values())


def test_kaplan_meier_median_by_hand() -> None:
    """Five spells, two still online: ages 1 (ended), 2 (ended), 3 (online), 4 (ended), 5 (online).
    S(1) = 4/5, S(2) = 4/5 * 3/4 = 3/5, S(3) = 3/5, S(4) = 3/5 * 1/2 = 3/10 <= 1/2: median 4.
    Dropping the online spells (the seed system's mistake) would give 2."""
    spells = [(1, True), (2, True), (3, False), (4, True), (5, False)]
    assert kaplan_meier_median(spells) == 4
    assert kaplan_meier_median([s for s in spells if s[1]]) == 2
    assert kaplan_meier_median([(3, False), (5, False)]) is None


# --------------------------------------------------------------------------- every level, every column


@pytest.mark.parametrize("schema", SCHEMAS)
@pytest.mark.parametrize("level", list(LEVELS))
def test_liquidity_matches_the_definitions(built: dict, conn: psycopg.Connection, level: str, schema: str) -> None:
    keys = LEVELS[level]
    expected = _expected_liquidity(keys)
    actual = _rows(conn, schema, f"{level}_liquidity", (*keys, "market_week"))
    assert actual.keys() == expected.keys()
    for key, exp in expected.items():
        row = actual[key]
        assert set(row) == {*keys, "market_week", *exp}, key
        for column, value in exp.items():
            assert row[column] == value, (key, column, row[column], value)


@pytest.mark.parametrize("schema", SCHEMAS)
@pytest.mark.parametrize("table", ["brand_price_index", "market_price_index"])
def test_price_index_matches_the_definitions(built: dict, conn: psycopg.Connection, table: str, schema: str) -> None:
    brand_level = table == "brand_price_index"
    keys = ("brand", "market_week") if brand_level else ("market_week",)
    expected = _expected_index(brand_level)
    actual = _rows(conn, schema, table, keys)
    assert actual.keys() == expected.keys()
    for key, exp in expected.items():
        row = actual[key]
        assert row["n_matched_references"] == exp["n_matched_references"], key
        for column, value in exp.items():
            got = row[column]
            if value is None:
                assert got is None, (key, column, got)
            else:
                assert got is not None and math.isclose(float(got), value, rel_tol=1e-9, abs_tol=1e-9), (
                    key,
                    column,
                    got,
                    value,
                )


def test_weekly_and_backfill_runs_equal_a_full_refresh(built: dict, conn: psycopg.Connection) -> None:
    for table in NEW_MODELS:
        full, incremental, backfill = (
            conn.execute(f"select * from {schema}.{table} order by 1, 2, 3, 4").fetchall() for schema in SCHEMAS
        )
        assert full and full == incremental, table
        assert full == backfill, table


def test_weekly_run_reads_only_the_weeks_it_needs(built: dict) -> None:
    """The weekly run filters on literal weeks: the spells of the week before the rebuilt ones, a
    year of closed spells for the weeks on market, and the chain's stored value."""
    compiled = built["compiled"]["weekly"]
    rebuilt = market.week_start(LAST_WEEK - 1)  # least(from_week, the latest week already built)
    # the spell weeks of the latest built week stay: the run writes the new week's only
    spell_sql = compiled["int_listing_spell_weeks"]
    assert f"market_week >= '{rebuilt}'::date" in spell_sql
    assert f"market_week = '{rebuilt}'::date" in spell_sql
    assert f"market_week >= '{rebuilt - timedelta(weeks=1)}'::date" not in spell_sql
    liquidity = compiled["reference_liquidity"]
    assert f"market_week >= '{rebuilt - timedelta(weeks=52)}'::date" in liquidity
    assert f"market_week >= '{rebuilt - timedelta(weeks=1)}'::date" in liquidity
    chain = compiled["int_brand_price_index_chained"]
    assert f"market_week < '{rebuilt}'::date" in chain
    assert f"market_week >= '{rebuilt - timedelta(weeks=1)}'::date" in chain
    backfill = built["compiled"]["backfill"]["int_listing_spell_weeks"]
    assert f"market_week >= '{market.week_start(BACKFILL - 1)}'::date" in backfill


def test_build_ran_the_dynamics_tests(built: dict, conn: psycopg.Connection) -> None:
    rows = conn.execute(
        "select node_unique_id, status from dyn_full_audit.dbt_run_results where command = 'build'"
    ).fetchall()
    status = dict(rows)
    for unit in UNIT_TESTS:
        matches = [s for uid, s in status.items() if uid.startswith("unit_test.") and uid.endswith(f".{unit}")]
        assert matches == ["pass"], unit
    # the ranges (fractions, 1 <= median_weeks_on_market <= 52) are rules of each level's family test
    for mart in [f"{level}_liquidity" for level in LEVELS] + ["brand_price_index", "market_price_index"]:
        results = [s for uid, s in status.items() if uid.startswith(f"test.watch_market.{mart}_rules_hold")]
        assert results == ["pass"], mart
    singular = [s for uid, s in status.items() if "assert_reference_liquidity_flows_match_listings" in uid]
    assert singular == ["pass"]


UNIT_TESTS = (
    "int_listing_spell_weeks_cut_across_currency_change",
    "int_listing_spell_weeks_spell_broken_by_missing_week",
    "int_listing_spells_closed_cut_by_missing_week",
    "reference_liquidity_flows_around_a_week_not_loaded",
    "reference_liquidity_kaplan_meier_censored",
    "int_brand_price_index_chained_fewer_than_three_matched",
    "brand_price_index_changes",
)


# --------------------------------------------------------------------------- what people see


def _section(out: str, title: str) -> list[list[str]]:
    """The rows of one ranking of the printed summary, split into words."""
    lines = out.split(title, 1)[1].split("\n\n", 1)[0].splitlines()[1:]
    return [line.split() for line in lines if line.strip()]


def test_market_summary_shows_selling_speed_and_index_movers(
    built: dict, conn: psycopg.Connection, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = dataclasses.replace(get_settings(), dbt_schema="dyn_full")
    assert print_market_summary(settings) == 0
    out = capsys.readouterr().out
    week = conn.execute("select max(market_week) from dyn_full.reference_price_metrics").fetchone()[0]
    speed = conn.execute(
        """select l.brand, l.reference_number, p.n_listings, l.median_weeks_on_market, p.confidence,
                  l.sell_through_rate
           from dyn_full.reference_liquidity as l
           inner join dyn_full.reference_price_metrics as p using (brand, reference_number, market_week)
           where l.market_week = %s and l.median_weeks_on_market is not null""",
        (week,),
    ).fetchall()
    high = [row for row in speed if row[4] == "high"]
    assert high and len(high) < len(speed)  # the filter bites

    def ranked(rows: list[tuple], slowest: bool) -> list[tuple[str, str, int, int]]:
        # fastest: fewest weeks, then the highest sell-through; slowest: most weeks, then the
        # lowest sell-through; a null sell-through last in both
        def key(r: tuple) -> tuple:
            rate = None if r[5] is None else float(r[5])
            if slowest:
                return (-r[3], rate is None, rate or 0.0, r[0], r[1])
            return (r[3], rate is None, -(rate or 0.0), r[0], r[1])

        return [(b, ref, n, weeks) for b, ref, n, weeks, *_ in sorted(rows, key=key)[:5]]

    for title, slowest in (("Fastest-selling references", False), ("Slowest-selling references", True)):
        printed = [(w[0], w[1], int(w[2].replace(",", "")), int(w[4])) for w in _section(out, title)]
        assert printed == ranked(high, slowest), title
        assert all(w[3] == "listings" and w[5] == "weeks" for w in _section(out, title))
    movers = conn.execute(
        """select i.brand, p.n_priced
           from dyn_full.brand_price_index as i
           inner join dyn_full.brand_price_metrics as p using (brand, market_week)
           where i.market_week = %s and p.confidence = 'high' and i.index_change_1m is not null
           order by abs(i.index_change_1m) desc, i.brand""",
        (week,),
    ).fetchall()
    printed = [(w[0], int(w[1].replace(",", ""))) for w in _section(out, "Brand index movers")]
    assert printed == movers[:5] and printed
