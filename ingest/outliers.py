"""Outlier flags per metrics.md.

Within one (brand, reference_number, market_week) holding n >= 4 valid
listings: with x = ln(price_usd), m = median(x), MAD = median(|x - m|), a
listing is an outlier when MAD > 0 and 0.6745 * |x - m| / MAD > 3.5.
Outliers stay in the cleaned table with ``is_outlier = true``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

GROUP_COLUMNS: tuple[str, ...] = ("brand", "reference_number", "market_week")
MIN_GROUP_SIZE = 4
Z_CONSTANT = 0.6745
THRESHOLD = 3.5


def flag_outliers(listings: pd.DataFrame, price_column: str = "price_usd") -> np.ndarray:
    """A boolean array: True where the listing is an outlier of its group."""
    if listings.empty:
        return np.zeros(0, dtype=bool)
    x = np.log(listings[price_column].to_numpy(dtype=float))
    keys = [listings[c] for c in GROUP_COLUMNS]
    frame = pd.DataFrame({"x": x})
    grouped = frame.groupby(keys, sort=False, observed=True)["x"]
    median = grouped.transform("median").to_numpy()
    deviation = np.abs(x - median)
    mad = frame.assign(d=deviation).groupby(keys, sort=False, observed=True)["d"].transform("median").to_numpy()
    size = grouped.transform("size").to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        score = Z_CONSTANT * deviation / mad
    return (size >= MIN_GROUP_SIZE) & (mad > 0) & (score > THRESHOLD)
