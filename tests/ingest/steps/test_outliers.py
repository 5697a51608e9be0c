"""The outlier rule and the week's dedup, on small hand-checked inputs."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pyarrow as pa
import pytest

from ingest.steps.dedup import dedup_listings, latest_rows
from ingest.steps.outliers import flag_outliers, group_medians
from ingest.steps.outliers import table_outlier_flags as outlier_flags
from ingest.steps.schema import LISTINGS


def test_group_medians_match_numpy_per_group() -> None:
    rng = np.random.default_rng(7)
    groups = rng.integers(0, 40, 5_000)
    values = rng.lognormal(9, 0.4, 5_000).round(rng.integers(0, 3))  # ties included
    median, size = group_medians(groups, values)
    for g in np.unique(groups):
        rows = groups == g
        assert np.all(median[rows] == np.median(values[rows]))
        assert np.all(size[rows] == rows.sum())


def test_group_medians_even_group_averages_the_middle_pair() -> None:
    median, size = group_medians(np.array([3, 3, 3, 3, 8]), np.array([4.0, 1.0, 3.0, 2.0, 5.0]))
    assert median.tolist() == [2.5, 2.5, 2.5, 2.5, 5.0]
    assert size.tolist() == [4, 4, 4, 4, 1]


def test_flag_outliers_modified_z_score() -> None:
    # ln prices of group 0: m = ln 10000; MAD comes from the four near listings.
    prices = np.array([9_000.0, 10_000.0, 10_000.0, 11_000.0, 60_000.0, 100.0, 100_000.0, 90.0])
    groups = np.array([0, 0, 0, 0, 0, 1, 1, 1])  # group 1 has 3 listings: never flagged
    x = np.log(prices[:5])
    m = np.median(x)
    mad = np.median(np.abs(x - m))
    expected_last = 0.6745 * abs(x[4] - m) / mad > 3.5
    assert expected_last
    assert flag_outliers(groups, prices).tolist() == [False, False, False, False, True, False, False, False]


def test_flag_outliers_zero_mad_flags_nothing() -> None:
    prices = np.array([5_000.0, 5_000.0, 5_000.0, 5_000.0, 50_000.0])
    assert not flag_outliers(np.zeros(5, dtype=np.int64), prices).any()


def _listings(rows: list[tuple[str, str, str, int, int, float]]) -> pa.Table:
    """(source, listing_id, source_file, source_line, scraped_at hour, price_usd) rows of one week."""
    return pa.table(
        {
            "market_week": pa.array([date(2026, 11, 23)] * len(rows), pa.date32()),
            "source": [r[0] for r in rows],
            "listing_id": [r[1] for r in rows],
            "source_file": [r[2] for r in rows],
            "source_line": pa.array([r[3] for r in rows], pa.int32()),
            "scraped_at": pa.array(
                [datetime(2026, 11, 25, r[4], tzinfo=UTC) for r in rows], pa.timestamp("us", tz="UTC")
            ),
            "brand": ["Rolex"] * len(rows),
            "reference_number": ["126610LN"] * len(rows),
            "price_usd": [r[5] for r in rows],
        }
    )


def test_dedup_keeps_latest_then_lowest_file_then_lowest_line() -> None:
    table = _listings(
        [
            ("a", "1", "b.csv", 2, 10, 1.0),  # older scrape of a/1
            ("a", "1", "a.csv", 9, 12, 2.0),  # latest of a/1 (ties on time with the next)
            ("a", "1", "c.csv", 1, 12, 3.0),
            ("b", "1", "a.csv", 5, 8, 4.0),  # other source, same id: its own listing
            ("a", "2", "a.csv", 7, 8, 5.0),  # same file and time: lowest line wins
            ("a", "2", "a.csv", 3, 8, 6.0),
        ]
    )
    assert latest_rows(table).tolist() == [False, True, False, True, False, True]
    assert dedup_listings(table).column("price_usd").to_pylist() == [2.0, 4.0, 6.0]


def test_dedup_without_duplicates_returns_the_table() -> None:
    table = _listings([("a", "1", "a.csv", 1, 8, 1.0), ("a", "2", "a.csv", 2, 8, 2.0)])
    assert latest_rows(table) is None
    assert dedup_listings(table) is table


def test_dedup_compares_source_and_listing_id_as_a_pair() -> None:
    # joined with the unit separator, both pairs would read "x\x1fy\x1fz": two listings all the same
    table = _listings(
        [
            ("x\x1fy", "z", "a.csv", 2, 8, 1.0),
            ("x", "y\x1fz", "a.csv", 3, 8, 2.0),
            ("x", "y\x1fz", "a.csv", 4, 9, 3.0),  # a true repeat of the second: latest wins
        ]
    )
    assert latest_rows(table).tolist() == [True, False, True]


def test_outlier_flags_of_an_empty_week() -> None:
    # a week whose every file was rejected (the dictionary of an empty column has no chunk to combine)
    empty = LISTINGS.arrow_schema.empty_table()
    assert outlier_flags(empty).tolist() == []


@pytest.mark.parametrize("restrict", [False, True])
def test_outlier_flags_on_the_kept_rows(restrict: bool) -> None:
    table = _listings([("a", str(i), "a.csv", i, 8, p) for i, p in enumerate([10_000.0, 10_000.0, 60_000.0, 11_000.0])])
    keep = np.array([True, True, True, False]) if restrict else None
    flags = outlier_flags(table, keep)
    if restrict:  # three kept listings: too few for the rule
        assert flags.tolist() == [False, False, False]
    else:  # four: the 60k listing scores 0.6745 * ln(60000 / 10488.1) / (ln(1.1) / 2) = 24.7
        assert flags.tolist() == [False, False, True, False]
