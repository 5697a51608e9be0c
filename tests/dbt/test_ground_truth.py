"""The whole pipeline on simulated data, checked against the simulator's manifest and ground truth.

Simulate 54 weeks -> ingest every week (the CLI's in-process path) -> dbt build ->
compare: each week's ledger with the manifest (exact), and the marts with the true
price paths (within stated tolerances).
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import psycopg
import pytest

from ingest.devtools.simulate import simulate
from ingest.orchestration.dbt import run_dbt
from ingest.report.summary import mart_schema
from ingest.runner.local import WeekRunner
from ingest.settings import get_settings
from ingest.steps.week import discover_weeks

WEEKS = 54
ROWS_PER_WEEK = 25_000
SEED = 11
END = date(2026, 11, 22)
WELL_POPULATED = 60  # listings priced in the week


@pytest.fixture(scope="module")
def pipeline(warehouse_env: str, tmp_path_factory: pytest.TempPathFactory) -> dict:
    raw = tmp_path_factory.mktemp("sim") / "raw"
    manifest = simulate(str(raw), weeks=WEEKS, rows_per_week=ROWS_PER_WEEK, seed=SEED, end_date=END)
    settings = get_settings()
    summaries = {}
    with WeekRunner(settings) as runner:
        for week in discover_weeks(str(raw)):
            summaries[week] = runner.run(str(raw), week)
    run_dbt(["build", "--quiet"], settings)
    return {"raw": raw, "manifest": manifest, "summaries": summaries, "dsn": warehouse_env}


def _truth(raw: Path) -> tuple[dict, dict]:
    weekly: dict[tuple[str, str], dict[date, float]] = defaultdict(dict)
    with (raw / "_simulator" / "truth_weekly.csv").open() as fh:
        for row in csv.DictReader(fh):
            key = (row["brand"], row["reference_number"])
            weekly[key][date.fromisoformat(row["market_week"])] = float(row["true_median_usd"])
    with (raw / "_simulator" / "truth_references.csv").open() as fh:
        refs = {(r["brand"], r["reference_number"]): r for r in csv.DictReader(fh)}
    return weekly, refs


def _mart(dsn: str, table: str, columns: str) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        schema = mart_schema(conn, get_settings(), table)
        assert schema, f"{table} was not built"
        return conn.execute(f"select {columns} from {schema}.{table}").fetchall()


def test_every_week_reconciles_with_the_manifest(pipeline: dict) -> None:
    manifest = pipeline["manifest"]
    assert len(manifest["weeks"]) == WEEKS
    for expected in manifest["weeks"]:
        week = date.fromisoformat(expected["market_week"])
        got = pipeline["summaries"][week]
        assert got.count("rows_loaded") == expected["expected_loaded"], week
        assert got.count("rows_duplicate") == expected["duplicates"]["total"], week
        bad = {k: v for k, v in expected["bad_rows"].items() if v}
        row_level = {
            k: v for k, v in got.quarantined_by_reason.items() if k not in {"malformed_csv", "missing_required_columns"}
        }
        assert row_level == bad, week
        assert got.count("files_rejected") == sum(
            1 for f in expected["files"] if f["fault"] in {"missing_column", "unterminated_quote"}
        )
        assert got.count("files_empty") == sum(
            1 for f in expected["files"] if f["fault"] in {"zero_byte", "header_only"}
        )
        assert got.count("rows_read") == got.count("rows_loaded") + got.count("rows_quarantined") + got.count(
            "rows_duplicate"
        )
    with psycopg.connect(pipeline["dsn"]) as conn:
        loaded = conn.execute("select count(*) from raw.listings").fetchone()[0]
        runs = conn.execute(
            "select count(*), count(*) filter (where status = 'succeeded') from raw.ingest_runs"
        ).fetchone()
    assert loaded == manifest["totals"]["expected_loaded"]
    assert runs == (WEEKS, WEEKS)


def test_weekly_medians_match_the_true_medians(pipeline: dict) -> None:
    weekly, _ = _truth(pipeline["raw"])
    rows = _mart(
        pipeline["dsn"],
        "reference_price_metrics",
        "brand, reference_number, market_week, n_priced, median_price_usd::float",
    )
    errors = [
        abs(median / weekly[(b, r)][w] - 1)
        for b, r, w, n, median in rows
        if n >= WELL_POPULATED and (b, r) in weekly and w in weekly[(b, r)]
    ]
    assert len(errors) > 500
    errors_np = np.array(errors)
    assert np.median(errors_np) < 0.02
    assert np.mean(errors_np < 0.05) > 0.97
    assert errors_np.max() < 0.08


def _true_market_price(path: dict[date, float], week: date) -> float:
    window = [path[week - timedelta(weeks=k)] for k in range(5) if week - timedelta(weeks=k) in path]
    return sum(window) / len(window)


def test_one_year_growth_matches_the_true_paths(pipeline: dict) -> None:
    """growth_1y of well-populated references vs the truth path's growth.

    Tolerance: mean absolute error below 1.5 percentage points, 95 % within 3 points,
    none beyond 5 points (the weekly medians are sample medians of ~60-400 listings).
    """
    weekly, refs = _truth(pipeline["raw"])
    rows = _mart(pipeline["dsn"], "reference_volatility", "brand, reference_number, market_week, growth_1y::float")
    # well-populated references: at least WELL_POPULATED priced listings in every week of their history
    priced = _mart(
        pipeline["dsn"],
        "reference_price_metrics",
        "brand, reference_number, min(n_priced) over (partition by brand, reference_number)",
    )
    min_priced = {(b, r): n for b, r, n in priced}
    checked = []
    realized_log_changes, drifts = [], []
    for brand, ref, week, growth in rows:
        key = (brand, ref)
        if growth is None or key not in weekly or min_priced.get(key, 0) < WELL_POPULATED:
            continue
        path = weekly[key]
        year_ago = week - timedelta(weeks=52)
        if year_ago not in path or week not in path:
            continue
        true_growth = _true_market_price(path, week) / _true_market_price(path, year_ago) - 1
        checked.append(abs(growth - true_growth))
        realized_log_changes.append(math.log1p(growth))
        drifts.append(float(refs[key]["annual_drift"]))
    errors = np.array(checked)
    assert len(errors) >= 20
    assert errors.mean() < 0.015
    assert np.quantile(errors, 0.95) < 0.03
    assert errors.max() < 0.05
    # Across references the random part of the paths averages out: the mean realised
    # 1-year log change is close to the mean true drift.
    assert abs(np.mean(realized_log_changes) - np.mean(drifts)) < 0.03


def test_volatility_tracks_the_true_volatility(pipeline: dict) -> None:
    _, refs = _truth(pipeline["raw"])
    rows = _mart(pipeline["dsn"], "reference_volatility", "brand, reference_number, market_week, volatility_1y::float")
    priced = _mart(
        pipeline["dsn"],
        "reference_price_metrics",
        "brand, reference_number, min(n_priced) over (partition by brand, reference_number)",
    )
    min_priced = {(b, r): n for b, r, n in priced}
    latest = max(w for _, _, w, _ in rows)
    pairs = [
        (v, float(refs[(b, r)]["annual_volatility"]))
        for b, r, w, v in rows
        if w == latest and v is not None and (b, r) in refs and min_priced.get((b, r), 0) >= 100
    ]
    assert len(pairs) >= 10
    measured, true = np.array(pairs).T
    assert np.corrcoef(measured, true)[0, 1] > 0.8
    # sampling noise of weekly medians adds variance: measured volatility is not below the truth
    assert np.median(measured / true) > 0.9


def test_composition_matches_the_listings(pipeline: dict) -> None:
    rows = _mart(
        pipeline["dsn"],
        "brand_composition",
        "brand, market_week, n_listings, n_new, n_preowned, n_unknown, pct_new::float",
    )
    with psycopg.connect(pipeline["dsn"]) as conn:
        counts = {
            (b, w): (n, new, pre, unk)
            for b, w, n, new, pre, unk in conn.execute(
                """select brand, market_week, count(*), count(*) filter (where condition = 'new'),
                      count(*) filter (where condition not in ('new', 'unknown')),
                      count(*) filter (where condition = 'unknown')
               from raw.listings group by 1, 2"""
            ).fetchall()
        }
    assert len(rows) == len(counts)
    for brand, week, n, new, pre, unk, pct_new in rows:
        assert (n, new, pre, unk) == counts[(brand, week)]
        assert math.isclose(pct_new, new / n, abs_tol=1e-9)


def test_run_results_are_recorded(pipeline: dict) -> None:
    with psycopg.connect(pipeline["dsn"]) as conn:
        schema = f"{get_settings().dbt_schema}_audit"
        rows = conn.execute(
            f"select resource_type, status, count(*) from {schema}.dbt_run_results group by 1, 2"
        ).fetchall()
    by_kind = {(kind, status): n for kind, status, n in rows}
    assert by_kind.get(("model", "success"), 0) >= 20
    assert by_kind.get(("test", "pass"), 0) >= 90
    assert not any(status in {"error", "fail"} for _, status in by_kind)


# --------------------------------------------------------------------------- new vs pre-owned

WELL_POPULATED_NEW = 30  # non-outlier new listings of a reference-week
WELL_POPULATED_PREOWNED = 100  # non-outlier pre-owned listings of a reference-week


def _segment_truth(raw: Path) -> tuple[dict, dict]:
    """True segment medians per (brand, reference, week, segment) and true premium per (brand, reference)."""
    medians: dict[tuple[str, str, date, str], float] = {}
    with (raw / "_simulator" / "truth_weekly.csv").open() as fh:
        for row in csv.DictReader(fh):
            key = (row["brand"], row["reference_number"], date.fromisoformat(row["market_week"]))
            medians[(*key, "new")] = float(row["true_new_median_usd"])
            medians[(*key, "preowned")] = float(row["true_preowned_median_usd"])
    with (raw / "_simulator" / "truth_references.csv").open() as fh:
        premium = {(r["brand"], r["reference_number"]): float(r["new_premium"]) for r in csv.DictReader(fh)}
    return medians, premium


def _premiums_with_counts(dsn: str) -> list[tuple]:
    """(brand, reference, week, new_premium, n new, n pre-owned) of every reference-week with a new_premium."""
    with psycopg.connect(dsn) as conn:
        prices = mart_schema(conn, get_settings(), "reference_price_metrics")
        segments = mart_schema(conn, get_settings(), "reference_segment_price_metrics")
        assert prices and segments
        return conn.execute(
            f"""select p.brand, p.reference_number, p.market_week, p.new_premium::float, n.n_priced, o.n_priced
                from {prices}.reference_price_metrics as p
                inner join {segments}.reference_segment_price_metrics as n
                    on (n.brand, n.reference_number, n.market_week, n.segment)
                    = (p.brand, p.reference_number, p.market_week, 'new')
                inner join {segments}.reference_segment_price_metrics as o
                    on (o.brand, o.reference_number, o.market_week, o.segment)
                    = (p.brand, p.reference_number, p.market_week, 'preowned')
                where p.new_premium is not null"""
        ).fetchall()


def test_new_premium_matches_the_true_premium(pipeline: dict) -> None:
    """new_premium of well-populated reference-weeks vs the simulator's true new-watch premium.

    Tolerance (absolute, in premium points): median error below 1.5 points, 95 % within 4.5
    points, none beyond 10 (each is the ratio of two sample medians of >= 30 and >= 100 listings,
    whose log has a standard error of about 2 points); the mean over a reference's weeks (20 or
    more) within 2 points of the truth (a listing keeps its ask for weeks, so a reference's
    consecutive weeks share listings and their sampling errors do not average out); and brands
    with a larger true premium show a larger measured one (rank correlation of the brand means
    above 0.8).
    """
    _, premium = _segment_truth(pipeline["raw"])
    rows = _premiums_with_counts(pipeline["dsn"])
    checked = [
        (b, r, p, premium[(b, r)])
        for b, r, _, p, n_new, n_pre in rows
        if n_new >= WELL_POPULATED_NEW and n_pre >= WELL_POPULATED_PREOWNED
    ]
    assert len(checked) >= 300
    errors = np.array([abs(p - true) for _, _, p, true in checked])
    assert np.median(errors) < 0.015
    assert np.quantile(errors, 0.95) < 0.045
    assert errors.max() < 0.10
    by_reference: dict[tuple[str, str], list[float]] = defaultdict(list)
    for b, r, p, _ in checked:
        by_reference[(b, r)].append(p)
    means = [(np.mean(ps), premium[key]) for key, ps in by_reference.items() if len(ps) >= 20]
    assert len(means) >= 5
    assert max(abs(m - true) for m, true in means) < 0.02
    by_brand: dict[str, list[float]] = defaultdict(list)
    truth_by_brand = {}
    for b, _, p, true in checked:
        by_brand[b].append(p)
        truth_by_brand[b] = true
    brands = sorted(by_brand)
    assert len(brands) >= 5
    measured = np.argsort(np.argsort([np.mean(by_brand[b]) for b in brands]))
    true = np.argsort(np.argsort([truth_by_brand[b] for b in brands]))
    assert np.corrcoef(measured, true)[0, 1] > 0.8


def test_segment_medians_match_the_true_segment_medians(pipeline: dict) -> None:
    """Weekly medians of the new and the pre-owned segment vs their true medians.

    Tolerance (relative): median error below 2 %, 97 % within 5 %, none beyond 8 % for
    segment-weeks of at least 30 (new) / 100 (pre-owned) non-outlier listings; and, where every
    week of its 28-day window is that well populated, the segment's market price within 1 % (median)
    and 4 % (all) of the mean of the true segment medians of the same weeks (the weeks of a window
    share listings that keep their asks, so their errors do not average out).
    """
    truth, _ = _segment_truth(pipeline["raw"])
    rows = _mart(
        pipeline["dsn"],
        "reference_segment_price_metrics",
        "brand, reference_number, market_week, segment, n_priced, median_price_usd::float, market_price_usd::float",
    )
    priced: dict[tuple[str, str, str], dict[date, int]] = defaultdict(dict)
    for b, r, w, s, n, *_ in rows:
        priced[(b, r, s)][w] = n
    minimum = {"new": WELL_POPULATED_NEW, "preowned": WELL_POPULATED_PREOWNED}
    median_errors: dict[str, list[float]] = defaultdict(list)
    market_errors = []
    for b, r, w, s, n, median, market_price in rows:
        if n < minimum[s] or (b, r, w, s) not in truth:
            continue
        median_errors[s].append(abs(median / truth[(b, r, w, s)] - 1))
        window = {x: m for x, m in priced[(b, r, s)].items() if w - timedelta(days=28) <= x <= w}
        if min(window.values()) >= minimum[s]:
            true_market_price = sum(truth[(b, r, x, s)] for x in window) / len(window)
            market_errors.append(abs(market_price / true_market_price - 1))
    assert len(median_errors["new"]) >= 300 and len(median_errors["preowned"]) >= 300
    for segment, errors in median_errors.items():
        errors_np = np.array(errors)
        assert np.median(errors_np) < 0.02, segment
        assert np.mean(errors_np < 0.05) > 0.97, segment
        assert errors_np.max() < 0.08, segment
    assert len(market_errors) >= 300
    assert np.median(market_errors) < 0.01
    assert max(market_errors) < 0.04


# --------------------------------------------------------------------------- market dynamics

WELL_POPULATED_FLOWS = 60  # listings of a reference in the week before (the sell-through's denominator)


def _flow_truth(raw: Path) -> dict[tuple[str, str, date], dict[str, int]]:
    """The simulator's true flows per reference-week (weeks with a week before)."""
    out = {}
    with (raw / "_simulator" / "truth_weekly.csv").open() as fh:
        for row in csv.DictReader(fh):
            if row["true_n_ended"]:
                key = (row["brand"], row["reference_number"], date.fromisoformat(row["market_week"]))
                out[key] = {k: int(row[f"true_n_{k}"]) for k in ("listed", "continuing", "ended", "cut")}
    return out


def test_sell_through_and_price_cuts_match_the_simulated_flows(pipeline: dict) -> None:
    """sell_through_rate and pct_price_cut of well-populated reference-weeks vs the simulator's truth.

    The warehouse loses a listing for a week when its row is quarantined (about 2.5 % of rows a
    week) or its file is rejected, and then counts it as ended and, the week after, as new: the
    measured sell-through is the true one plus that loss. Tolerance: sell-through 0..6 points
    above the truth on average, 90 % of reference-weeks within 10 points; the share of price cuts
    within 1 point on average and 90 % within 5 points (a quarantined week hides a cut, and
    injected outliers add a few).
    """
    truth = _flow_truth(pipeline["raw"])
    rows = _mart(
        pipeline["dsn"],
        "reference_liquidity",
        "brand, reference_number, market_week, sell_through_rate::float, pct_price_cut::float",
    )
    sell_through, cuts = [], []
    for b, r, w, rate, pct_cut in rows:
        true = truth.get((b, r, w))
        if true is None or rate is None or true["continuing"] + true["ended"] < WELL_POPULATED_FLOWS:
            continue
        sell_through.append(rate - true["ended"] / (true["continuing"] + true["ended"]))
        if pct_cut is not None:
            cuts.append(pct_cut - true["cut"] / true["continuing"])
    assert len(sell_through) >= 500 and len(cuts) >= 500
    bias = np.array(sell_through)
    assert 0 <= bias.mean() < 0.06
    assert np.mean(np.abs(bias) < 0.10) > 0.9
    cut_errors = np.array(cuts)
    assert abs(cut_errors.mean()) < 0.01
    assert np.mean(np.abs(cut_errors) < 0.05) > 0.9
    # the truth itself is not trivial: listings end at a few tens of percent a week, a few cut
    rates = [t["ended"] / (t["continuing"] + t["ended"]) for t in truth.values() if t["continuing"] > 100]
    assert 0.1 < float(np.median(rates)) < 0.4
    assert 0.02 < sum(t["cut"] for t in truth.values()) / sum(t["continuing"] for t in truth.values()) < 0.2


def test_weeks_on_market_match_the_simulated_lifetimes(pipeline: dict) -> None:
    """median_weeks_on_market at the last week vs the Kaplan-Meier median of the true spells.

    The warehouse's spells are the true ones cut wherever a listing lost a week (a quarantined
    row, a rejected file, a source without rows that week): slightly shorter. Tolerance, for
    references with at least 300 spells: never longer than the truth by more than a week, at
    most 2 weeks shorter, 80 % within one week.
    """
    with (pipeline["raw"] / "_simulator" / "truth_liquidity.csv").open() as fh:
        truth = {(r["brand"], r["reference_number"]): r for r in csv.DictReader(fh)}
    rows = _mart(
        pipeline["dsn"],
        "reference_liquidity",
        "brand, reference_number, market_week, median_weeks_on_market, n_spells",
    )
    latest = max(w for _, _, w, _, _ in rows)
    differences = []
    for b, r, w, median, n_spells in rows:
        true = truth.get((b, r))
        if w != latest or true is None or n_spells < 300 or not true["true_median_weeks_on_market"]:
            continue
        differences.append(median - int(true["true_median_weeks_on_market"]))
    assert len(differences) >= 20
    diffs = np.array(differences)
    assert diffs.max() <= 1 and diffs.min() >= -2
    assert np.mean(np.abs(diffs) <= 1) >= 0.8


def test_brand_index_tracks_the_simulated_brand_paths(pipeline: dict) -> None:
    """brand_price_index over the whole history vs the chained Jevons index of the true reference
    paths (truth_brand_index.csv), for brands whose weeks mostly have at least 5 matched references.

    The published links come from sample medians (sampling noise of each matched reference, and
    asks that stay put while the path moves): tolerance 3 % on the final index level, and 1 % on
    the median weekly link.
    """
    truth: dict[tuple[str, date], float] = {}
    with (pipeline["raw"] / "_simulator" / "truth_brand_index.csv").open() as fh:
        for row in csv.DictReader(fh):
            truth[(row["brand"], date.fromisoformat(row["market_week"]))] = float(row["true_index"])
    rows = _mart(
        pipeline["dsn"],
        "brand_price_index",
        "brand, market_week, index_value::float, n_matched_references, index_change_1w::float",
    )
    by_brand: dict[str, list[tuple[date, float, int, float]]] = defaultdict(list)
    for brand, week, value, matched, change in rows:
        by_brand[brand].append((week, value, matched, change))
    checked = 0
    for brand, weeks in by_brand.items():
        weeks.sort()
        if np.median([m for _, _, m, _ in weeks]) < 5:
            continue
        first, last = weeks[0][0], weeks[-1][0]
        measured = weeks[-1][1] / weeks[0][1]
        true = truth[(brand, last)] / truth[(brand, first)]
        assert abs(math.log(measured / true)) < 0.03, (brand, measured, true)
        link_errors = [
            change - (truth[(brand, w)] / truth[(brand, w - timedelta(weeks=1))] - 1)
            for w, _, _, change in weeks[1:]
            if (brand, w - timedelta(weeks=1)) in truth
        ]
        assert np.median(np.abs(link_errors)) < 0.01, brand
        checked += 1
    assert checked >= 3
