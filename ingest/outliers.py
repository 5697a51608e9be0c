"""Outlier flags per metrics.md.

Within one (brand, reference_number, market_week) holding n >= 4 valid
listings: with x = ln(price_usd), m = median(x), MAD = median(|x - m|), a
listing is an outlier when MAD > 0 and 0.6745 * |x - m| / MAD > 3.5.
Outliers stay in the cleaned table with ``is_outlier = true``.
"""

from __future__ import annotations

import numpy as np

MIN_GROUP_SIZE = 4
Z_CONSTANT = 0.6745
THRESHOLD = 3.5


def group_medians(groups: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row: the median of ``values`` within its group, and the group's size (exact; sort-based)."""
    order = np.lexsort((values, groups))
    sorted_groups = groups[order]
    sorted_values = values[order]
    starts = np.flatnonzero(np.r_[True, sorted_groups[1:] != sorted_groups[:-1]])
    counts = np.diff(np.r_[starts, len(sorted_groups)])
    medians = (sorted_values[starts + (counts - 1) // 2] + sorted_values[starts + counts // 2]) / 2
    group_of_sorted = np.repeat(np.arange(len(starts)), counts)
    median = np.empty_like(values)
    size = np.empty(len(values), dtype=np.int64)
    median[order] = medians[group_of_sorted]
    size[order] = counts[group_of_sorted]
    return median, size


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
