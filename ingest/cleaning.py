"""Cleaning one chunk of raw rows into listings and quarantine rows.

Per raw_listings.md and metrics.md: brand aliases to canonical brands,
canonical reference numbers, models from the catalog (else from the listing's
own fields), every price format, currency codes/symbols/conflicts, condition
categories, timestamps to UTC, market_week, USD conversion with the ECB rate of
the scrape date, and the price bounds. Each unusable row gets exactly one
reason (the first failing check in :data:`REASON_ORDER`). Dedup and outliers
need the whole week and happen in :mod:`ingest.pipeline`.

The scalar parsers run once per *distinct* value (values are dictionary
encoded first), so a million rows cost a few thousand parser calls.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ingest import catalog, fx, parsing
from ingest.reading import KNOWN_COLUMNS, FileRead

MIN_PRICE_USD = 100.0
MAX_PRICE_USD = 10_000_000.0
MAX_TIMESTAMP_DRIFT_DAYS = 7

# Row-level quarantine reasons, in the order they are checked.
REASON_ORDER: tuple[str, ...] = (
    "missing_listing_id",
    "missing_source",
    "missing_brand",
    "missing_reference",
    "bad_timestamp",
    "no_price",
    "price_on_request",
    "unparseable_price",
    "unknown_currency",
    "currency_conflict",
    "price_out_of_bounds",
)
# Whole-file rejection reasons.
FILE_REASONS: tuple[str, ...] = ("missing_required_columns", "malformed_csv")

LISTING_FIELDS: tuple[str, ...] = (
    "market_week",
    "source",
    "listing_id",
    "scrape_date",
    "scraped_at",
    "brand",
    "reference_number",
    "specific_model",
    "parent_model",
    "model_resolved_from",
    "condition",
    "condition_raw",
    "currency",
    "price_local",
    "usd_per_unit",
    "price_usd",
    "seller_type",
    "country",
    "title",
    "url",
    "source_file",
    "source_line",
)
QUARANTINE_FIELDS: tuple[str, ...] = (
    "market_week",
    "scrape_date",
    "source_file",
    "line",
    "reason",
    "detail",
    "source",
    "listing_id",
    "raw_row",
)


@dataclass
class CleanedChunk:
    listings: pd.DataFrame  # LISTING_FIELDS, before dedup and outlier flags
    quarantine: pd.DataFrame  # QUARANTINE_FIELDS, row-level and file-level rejections
    files: list[dict[str, Any]]  # one entry per file: name, scrape_date, status, rows_read, reason, detail


def _map_distinct(values: pa.ChunkedArray | pa.Array, fn: Callable[[Any], Any]) -> list[Any]:
    """Apply ``fn`` once per distinct value; return the per-row results."""
    encoded = pc.dictionary_encode(values).combine_chunks() if isinstance(values, pa.ChunkedArray) else (
        pc.dictionary_encode(values)
    )
    uniques = [fn(v) for v in encoded.dictionary.to_pylist()]
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    lookup = np.empty(len(uniques) + 1, dtype=object)
    lookup[: len(uniques)] = uniques
    lookup[len(uniques)] = fn(None)
    codes = np.where(pd.isna(codes), len(uniques), codes).astype(np.int64) if encoded.null_count else codes
    return lookup[codes]


def _text(table: pa.Table, name: str) -> pa.ChunkedArray:
    if name in table.column_names:
        col = table.column(name)
        return pc.utf8_trim_whitespace(col)
    return pa.chunked_array([pa.nulls(table.num_rows, pa.string())])


def _blank_to_none(values: np.ndarray) -> np.ndarray:
    out = values.astype(object)
    out[(out == "") | pd.isna(out)] = None
    return out


def _file_table(read: FileRead, file_index: int) -> pa.Table:
    table = read.table
    assert table is not None
    cols = {name: _text(table, name) for name in KNOWN_COLUMNS}
    cols["_line"] = table.column("_line")
    n = table.num_rows
    cols["_file"] = pa.chunked_array([pa.array(np.full(n, file_index, dtype=np.int32))])
    return pa.table(cols)


def clean_files(reads: Sequence[FileRead]) -> CleanedChunk:
    """Clean the rows of several files (one chunk) in one vectorised pass."""
    files_meta = [
        {
            "source_file": r.file.name,
            "scrape_date": r.file.scrape_date.isoformat(),
            "status": r.status,
            "rows_read": r.rows_read,
            "reason": r.reason,
            "detail": r.detail,
        }
        for r in reads
    ]
    file_rejections = [
        {
            "market_week": r.file.market_week,
            "scrape_date": r.file.scrape_date,
            "source_file": r.file.name,
            "line": None,
            "reason": r.reason,
            "detail": f"{r.detail} (file rejected whole; {r.rows_read} data rows)",
            "source": None,
            "listing_id": None,
            "raw_row": None,
        }
        for r in reads
        if r.status == "rejected"
    ]
    parts = [_file_table(r, i) for i, r in enumerate(reads) if r.status == "loaded"]
    if not parts:
        return CleanedChunk(_empty_listings(), _quarantine_frame(file_rejections), files_meta)
    table = pa.concat_tables(parts)
    listings, quarantine = _clean_table(table, reads)
    quarantine = pd.concat([quarantine, _quarantine_frame(file_rejections)], ignore_index=True)
    return CleanedChunk(listings, quarantine, files_meta)


def _empty_listings() -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype=object) for name in LISTING_FIELDS})


def _quarantine_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(QUARANTINE_FIELDS))
    frame["line"] = frame["line"].astype("Int32")
    return frame


def _clean_table(table: pa.Table, reads: Sequence[FileRead]) -> tuple[pd.DataFrame, pd.DataFrame]:
    n = table.num_rows
    file_idx = table.column("_file").to_numpy()
    scrape_dates = np.array([r.file.scrape_date for r in reads], dtype="datetime64[D]")[file_idx]
    market_weeks = np.array([r.file.market_week for r in reads], dtype="datetime64[D]")[file_idx]
    file_names = np.array([r.file.name for r in reads], dtype=object)[file_idx]

    reason = np.full(n, None, dtype=object)

    def flag(mask: np.ndarray, code: str) -> None:
        reason[(reason == None) & mask] = code  # noqa: E711 - elementwise comparison on an object array

    listing_id = _blank_to_none(table.column("listing_id").to_numpy(zero_copy_only=False))
    source = _map_distinct(table.column("source"), lambda v: (v or "").strip().lower() or None)
    flag(pd.isna(listing_id), "missing_listing_id")
    flag(pd.isna(source), "missing_source")

    alias_map = catalog.brand_alias_map()
    brand = _map_distinct(table.column("brand"), lambda v: parsing.resolve_brand(v, alias_map))
    flag(pd.isna(brand), "missing_brand")
    reference = _map_distinct(table.column("reference_number"), parsing.canonical_reference)
    flag(pd.isna(reference), "missing_reference")

    scraped_at = parsing.parse_timestamps(table.column("scraped_at").combine_chunks())
    ts = scraped_at.to_numpy(zero_copy_only=False).astype("datetime64[us]")
    drift_days = np.abs((ts.astype("datetime64[D]") - scrape_dates).astype("timedelta64[D]").astype(float))
    flag(pd.isna(ts) | ~(drift_days <= MAX_TIMESTAMP_DRIFT_DAYS), "bad_timestamp")

    price_parses = _map_distinct(table.column("price"), parsing.parse_price)
    amount = np.array([p.amount if p.amount is not None else np.nan for p in price_parses], dtype=float)
    price_reason = np.array([p.reason for p in price_parses], dtype=object)
    for code in ("no_price", "price_on_request", "unparseable_price"):
        flag(price_reason == code, code)

    # Currency: the column and the price's own symbol, resolved per distinct pair.
    symbol = np.array([p.symbol_currency or "" for p in price_parses], dtype=object)
    currency_col = table.column("currency").combine_chunks()
    pair = pc.binary_join_element_wise(pc.fill_null(currency_col, ""), pa.array(symbol, pa.string()), "\x1f")
    resolved = _map_distinct(pair, _resolve_pair)
    currency = np.array([c for c, _ in resolved], dtype=object)
    currency_reason = np.array([r for _, r in resolved], dtype=object)
    for code in ("unknown_currency", "currency_conflict"):
        flag(currency_reason == code, code)

    usd_per_unit = np.full(n, np.nan)
    has_ccy = ~pd.isna(currency)
    if has_ccy.any():
        usd_per_unit[has_ccy] = fx.usd_per_unit(currency[has_ccy], scrape_dates[has_ccy])
    flag(has_ccy & np.isnan(usd_per_unit), "unknown_currency")
    price_local = np.round(amount, 2)
    price_usd = np.round(price_local * usd_per_unit, 2)
    flag(~((price_usd >= MIN_PRICE_USD) & (price_usd <= MAX_PRICE_USD)), "price_out_of_bounds")

    condition_raw = table.column("condition")
    condition = _map_distinct(condition_raw, parsing.parse_condition)

    ok = pd.isna(reason)
    idx = np.flatnonzero(ok)
    models = _resolve_models(table, brand, reference, idx)
    listings = pd.DataFrame(
        {
            "market_week": market_weeks[idx],
            "source": source[idx],
            "listing_id": listing_id[idx],
            "scrape_date": scrape_dates[idx],
            "scraped_at": pd.to_datetime(ts[idx]).tz_localize("UTC"),
            "brand": brand[idx],
            "reference_number": reference[idx],
            "specific_model": models["specific_model"],
            "parent_model": models["parent_model"],
            "model_resolved_from": models["model_resolved_from"],
            "condition": condition[idx],
            "condition_raw": _blank_to_none(condition_raw.to_numpy(zero_copy_only=False)[idx]),
            "currency": currency[idx],
            "price_local": price_local[idx],
            "usd_per_unit": usd_per_unit[idx],
            "price_usd": price_usd[idx],
            "seller_type": _optional(table, "seller_type", idx),
            "country": _optional(table, "country", idx),
            "title": _optional(table, "title", idx),
            "url": _optional(table, "url", idx),
            "source_file": file_names[idx],
            "source_line": table.column("_line").to_numpy()[idx],
        }
    )

    bad = np.flatnonzero(~ok)
    quarantine = pd.DataFrame(
        {
            "market_week": market_weeks[bad],
            "scrape_date": scrape_dates[bad],
            "source_file": file_names[bad],
            "line": pd.array(table.column("_line").to_numpy()[bad], dtype="Int32"),
            "reason": reason[bad],
            "detail": _details(reason[bad], table, bad, price_usd[bad], currency[bad], symbol[bad]),
            "source": source[bad],
            "listing_id": listing_id[bad],
            "raw_row": _raw_rows(table, bad),
        }
    )
    return listings, quarantine


def _resolve_pair(value: str | None) -> tuple[str | None, str | None]:
    column, _, symbol = (value or "").partition("\x1f")
    parsed = parsing.parse_currency(column or None)
    return parsing.resolve_currency(parsed, symbol or None)


def _optional(table: pa.Table, name: str, idx: np.ndarray) -> np.ndarray:
    return _blank_to_none(table.column(name).to_numpy(zero_copy_only=False)[idx])


def _resolve_models(table: pa.Table, brand: np.ndarray, reference: np.ndarray, idx: np.ndarray) -> dict:
    """Parent and specific model from the catalog where the reference is known, else the listing's fields."""
    index = catalog.reference_index()
    own_parent = _blank_to_none(table.column("parent_model").to_numpy(zero_copy_only=False)[idx])
    own_specific = _blank_to_none(table.column("specific_model").to_numpy(zero_copy_only=False)[idx])
    keys = pd.MultiIndex.from_arrays([brand[idx], reference[idx]])
    codes, uniques = pd.factorize(keys)
    hits = [index.get(key) for key in uniques]
    cat_parent = np.array([h.parent_model if h else None for h in hits] + [None], dtype=object)[codes]
    cat_specific = np.array([h.specific_model if h else None for h in hits] + [None], dtype=object)[codes]
    in_catalog = np.array([h is not None for h in hits] + [False])[codes]
    clean_parent = np.array([parsing.clean_model_name(v) for v in own_parent], dtype=object)
    clean_specific = np.array([parsing.clean_model_name(v) for v in own_specific], dtype=object)
    from_listing = ~in_catalog & (~pd.isna(clean_parent) | ~pd.isna(clean_specific))
    return {
        "parent_model": np.where(in_catalog, cat_parent, clean_parent),
        "specific_model": np.where(in_catalog, cat_specific, clean_specific),
        "model_resolved_from": np.where(in_catalog, "catalog", np.where(from_listing, "listing", "none")),
    }


def _details(
    reasons: np.ndarray,
    table: pa.Table,
    rows: np.ndarray,
    price_usd: np.ndarray,
    currency: np.ndarray,
    symbol: np.ndarray,
) -> list[str | None]:
    price = table.column("price").to_numpy(zero_copy_only=False)[rows]
    ccy = table.column("currency").to_numpy(zero_copy_only=False)[rows]
    stamp = table.column("scraped_at").to_numpy(zero_copy_only=False)[rows]
    out: list[str | None] = []
    for i, code in enumerate(reasons):
        if code == "price_out_of_bounds":
            out.append(f"price_usd {price_usd[i]:.2f} outside [{MIN_PRICE_USD:.0f}, {MAX_PRICE_USD:.0f}]")
        elif code in {"no_price", "price_on_request", "unparseable_price"}:
            out.append(f"price {price[i]!r}")
        elif code == "currency_conflict":
            out.append(f"currency {ccy[i]!r} but price {price[i]!r} implies {symbol[i]}")
        elif code == "unknown_currency":
            out.append(f"currency {ccy[i]!r}, price {price[i]!r}")
        elif code == "bad_timestamp":
            out.append(f"scraped_at {stamp[i]!r}")
        else:
            out.append(None)
    return out


def _raw_rows(table: pa.Table, rows: np.ndarray) -> list[str]:
    if len(rows) == 0:
        return []
    subset = table.select(list(KNOWN_COLUMNS)).take(pa.array(rows))
    return [json.dumps({k: v for k, v in rec.items() if v not in (None, "")}, ensure_ascii=False)
            for rec in subset.to_pylist()]


def as_date(value: Any) -> date:
    return pd.Timestamp(value).date()
