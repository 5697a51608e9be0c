"""Dedup of a week: one row per (source, listing_id), the latest scraped_at, then the lowest file and line.

Hash-based: each key column is dictionary encoded and only the rows of keys seen more than once
are ranked (numpy lexsort), so the cost is one pass over the keys.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def _codes(values: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, int]:
    encoded = pc.dictionary_encode(values).combine_chunks()
    return encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64), len(encoded.dictionary)


def pair_codes(first: pa.ChunkedArray | pa.Array, second: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """One integer per row that is equal exactly when both columns are equal (no separator to collide)."""
    a, _ = _codes(first)
    b, n_b = _codes(second)
    return a * max(n_b, 1) + b


def latest_rows(listings: pa.Table) -> np.ndarray | None:
    """The rows dedup keeps, as a boolean mask; None when every key is already unique."""
    if listings.num_rows == 0:
        return None
    codes, _ = pd.factorize(pair_codes(listings.column("source"), listings.column("listing_id")))  # hashing: O(n)
    repeated = np.bincount(codes)[codes] > 1
    if not repeated.any():
        return None
    positions = np.flatnonzero(repeated)
    scraped = pc.cast(listings.column("scraped_at"), pa.int64()).to_numpy()[positions]
    file_codes = pc.dictionary_encode(listings.column("source_file")).combine_chunks()
    names = file_codes.dictionary.to_pylist()
    rank = np.empty(len(names), dtype=np.int64)
    rank[sorted(range(len(names)), key=names.__getitem__)] = np.arange(len(names))
    files = rank[file_codes.indices.to_numpy()[positions]]
    lines = listings.column("source_line").to_numpy()[positions]
    group = codes[positions]
    best = np.lexsort((lines, files, -scraped, group))  # per key: latest, lowest file, lowest line
    first_of_group = np.r_[True, group[best][1:] != group[best][:-1]]
    keep = ~repeated
    keep[positions[best][first_of_group]] = True
    return keep


def dedup_listings(listings: pa.Table) -> pa.Table:
    """:func:`latest_rows` applied: the input order (chunk, file, line) is kept, so the result is deterministic."""
    keep = latest_rows(listings)
    return listings if keep is None else listings.filter(pa.array(keep))
