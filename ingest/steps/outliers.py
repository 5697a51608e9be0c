"""Outlier flags: the rule that keeps a mispriced listing out of the price statistics.

Within one (brand, reference_number, market_week) holding n >= 4 valid
listings: with x = ln(price_usd), m = median(x), MAD = median(|x - m|), a
listing is an outlier when MAD > 0 and 0.6745 * |x - m| / MAD > 3.5.
Outliers stay in the cleaned table with ``is_outlier = true``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

MIN_GROUP_SIZE = 4
Z_CONSTANT = 0.6745
THRESHOLD = 3.5


def group_medians(groups: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row: the exact median of ``values`` within its group, and the group's size.

    pandas' grouped median (a selection per group, no global sort): about ten times
    faster than a lexsort over (group, value) on a week's million rows.
    """
    grouped = pd.Series(values, copy=False).groupby(groups, sort=False)
    return grouped.transform("median").to_numpy(), grouped.transform("size").to_numpy()


def flag_outliers(groups: np.ndarray, price_usd: np.ndarray) -> np.ndarray:
    """True where the listing is an outlier of its group (``groups``: an integer code per group)."""
    if len(price_usd) == 0:
        return np.zeros(0, dtype=bool)
    x = np.log(price_usd.astype(float))
    median, size = group_medians(groups, x)
    deviation = np.abs(x - median)
    mad, _ = group_medians(groups, deviation)
    with np.errstate(divide="ignore", invalid="ignore"):
        score = Z_CONSTANT * deviation / mad
    return (size >= MIN_GROUP_SIZE) & (mad > 0) & (score > THRESHOLD)


def table_outlier_flags(listings: pa.Table, rows: np.ndarray | None = None) -> np.ndarray:
    """The outlier rule over a week's (brand, reference_number, market_week) groups.

    ``rows`` (a boolean mask) restricts the rule to those rows; the flags are returned for them only.
    """
    if listings.num_rows == 0:  # a week without a loadable row (no dictionary to encode)
        return np.zeros(0, dtype=bool)
    groups = np.zeros(listings.num_rows, dtype=np.int64)
    for name in ("brand", "reference_number", "market_week"):
        encoded = pc.dictionary_encode(listings.column(name)).combine_chunks()
        groups = groups * len(encoded.dictionary) + encoded.indices.to_numpy().astype(np.int64)
    prices = listings.column("price_usd").to_numpy()
    if rows is not None:
        groups, prices = groups[rows], prices[rows]
    return flag_outliers(groups, prices)
