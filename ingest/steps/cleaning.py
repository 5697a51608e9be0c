"""Cleaning one chunk of raw rows into listings and quarantine rows.

Per docs/input-format.md and docs/metrics.md: brand aliases to canonical brands,
canonical reference numbers, models from the catalog (else from the listing's
own fields), every price format, currency codes/symbols/conflicts, condition
categories, timestamps to UTC, market_week, USD conversion with the ECB rate of
the scrape date, and the price bounds. Each unusable row gets exactly one
reason (the first failing check in :data:`REASON_ORDER`). Dedup and outliers
need the whole week and happen in :mod:`ingest.steps.week`.

The scalar parsers run once per *distinct* value (values are dictionary
encoded first), and prices once per distinct *shape* (:func:`parsing.parse_prices`),
so a million rows cost a few thousand parser calls.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ingest.steps import catalog, fx, parsing
from ingest.steps.reading import KNOWN_COLUMNS, MALFORMED_COLUMN, NOT_UTF8_COLUMN, RECORD_COLUMN, FileRead
from ingest.steps.results import FileOutcome
from ingest.steps.schema import CLEANED, CLEANED_QUARANTINE

MIN_PRICE_USD = 100.0
MAX_PRICE_USD = 10_000_000.0
MAX_TIMESTAMP_DRIFT_DAYS = 7
#: The longest listing_id, source, brand or reference_number (in characters) a row may carry:
#: these are key and grouping columns, and an index entry has a size limit.
MAX_KEY_CHARS = 200
KEY_COLUMNS: tuple[str, ...] = ("listing_id", "source", "brand", "reference_number")
#: Characters a PostgreSQL text (and jsonb) value cannot hold.
UNSTORABLE = "\x00"
#: How the raw values of such a row are kept (the detail of an ``unstorable_character`` row says it).
UNSTORABLE_ESCAPES = (
    "in raw_row those values are escaped: \\ doubled, NUL as \\u0000, a byte that is not UTF-8 as \\xNN"
)

# Row-level quarantine reasons, in the order they are checked.
REASON_ORDER: tuple[str, ...] = (
    "malformed_row",
    "unstorable_character",
    "missing_listing_id",
    "missing_source",
    "missing_brand",
    "missing_reference",
    "key_too_long",
    "bad_timestamp",
    "no_price",
    "price_on_request",
    "unparseable_price",
    "unknown_currency",
    "currency_conflict",
    "no_exchange_rate",
    "price_out_of_bounds",
)
# Whole-file rejection reasons.
FILE_REASONS: tuple[str, ...] = (
    "missing_required_columns",
    "duplicate_columns",
    "malformed_csv",
    "malformed_gzip",
    "unprocessable_file",
)


@dataclass
class CleanedChunk:
    listings: pa.Table  # schema CLEANED: before dedup and outlier flags
    quarantine: pa.Table  # schema CLEANED_QUARANTINE: row-level and file-level rejections
    files: list[FileOutcome]


LISTING_SCHEMA = CLEANED.arrow_schema
QUARANTINE_SCHEMA = CLEANED_QUARANTINE.arrow_schema


class _Distinct:
    """A column dictionary-encoded once: scalar functions run per distinct value, results come back per row."""

    def __init__(self, values: pa.ChunkedArray | pa.Array) -> None:
        self.codes, self.uniques = parsing.map_unique(values, lambda v: v)
        self._codes = pa.array(self.codes)

    def map(self, fn: Callable[[Any], Any]) -> list[Any]:
        return [fn(v) for v in self.uniques]

    def column(self, results: Sequence[Any], kind: pa.DataType | None = None) -> pa.Array:
        """The per-row column of per-distinct ``results`` (strings unless ``kind`` says otherwise)."""
        return pa.array(results, kind or pa.string()).take(self._codes)

    def numpy(self, results: Sequence[Any], dtype: Any) -> np.ndarray:
        return np.asarray(results, dtype=dtype)[self.codes]


def _text(table: pa.Table, name: str) -> pa.Array:
    if name in table.column_names:
        return pc.utf8_trim_whitespace(table.column(name).combine_chunks())
    return pa.nulls(table.num_rows, pa.string())


def _blank_to_null(values: pa.Array) -> pa.Array:
    return pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.string()), values)


def _file_table(read: FileRead, file_index: int) -> pa.Table:
    table = read.table
    assert table is not None
    cols = {name: _text(table, name) for name in KNOWN_COLUMNS}
    cols["_line"] = table.column("_line").combine_chunks()
    for hidden in (NOT_UTF8_COLUMN, MALFORMED_COLUMN, RECORD_COLUMN):  # set by the reading of a faulty file only
        cols[hidden] = (
            table.column(hidden).combine_chunks()
            if hidden in table.column_names
            else pa.nulls(table.num_rows, pa.string())
        )
    cols["_file"] = pa.array(np.full(table.num_rows, file_index, dtype=np.int32))
    return pa.table(cols)


def escape_unstorable(text: str) -> str:
    """``text`` with each backslash doubled and each NUL written as ``\\u0000`` (reversible)."""
    return text.replace("\\", "\\\\").replace(UNSTORABLE, "\\u0000") if UNSTORABLE in text else text


def _escape_column(values: pa.Array) -> pa.Array:
    """:func:`escape_unstorable` over a column (only the values holding a NUL change)."""
    has = pc.fill_null(pc.match_substring(values, UNSTORABLE), False)
    if not pc.any(has).as_py():
        return values
    escaped = pc.replace_substring(pc.replace_substring(values, "\\", "\\\\"), UNSTORABLE, "\\u0000")
    return pc.if_else(has, escaped, values)


def clean_files(reads: Sequence[FileRead]) -> CleanedChunk:
    """Clean the rows of several files (one chunk) in one vectorised pass.

    Should the cleaning fail on something no rule foresaw, the files are cleaned one by one,
    and a file that still fails is rejected alone (``unprocessable_file``, with the error).
    """
    try:
        return _clean_chunk(reads)
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - one file's content must never stop the others
        if len(reads) > 1:
            return _concat_chunks([clean_files([r]) for r in reads])
        (read,) = reads
        detail = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
        return _clean_chunk([FileRead(read.file, None, read.rows_read, "rejected", "unprocessable_file", detail)])


def _concat_chunks(parts: Sequence[CleanedChunk]) -> CleanedChunk:
    return CleanedChunk(
        pa.concat_tables([p.listings for p in parts]),
        pa.concat_tables([p.quarantine for p in parts]),
        [f for p in parts for f in p.files],
    )


def _clean_chunk(reads: Sequence[FileRead]) -> CleanedChunk:
    files_meta = [
        FileOutcome(
            r.file.name,
            r.file.scrape_date,
            r.status,
            r.rows_read,
            r.reason,
            None if r.detail is None else r.detail.replace(UNSTORABLE, "\\x00"),
        )
        for r in reads
    ]
    file_rejections = pa.Table.from_pylist(
        [
            {
                "market_week": r.file.market_week,
                "scrape_date": r.file.scrape_date,
                "source_file": r.file.name,
                "line": None,
                "reason": r.reason,
                "detail": f"{r.detail} (file rejected whole; {r.rows_read} data rows)".replace(UNSTORABLE, "\\x00"),
                "source": None,
                "listing_id": None,
                "raw_row": None,
            }
            for r in reads
            if r.status == "rejected"
        ],
        schema=QUARANTINE_SCHEMA,
    )
    parts = [_file_table(r, i) for i, r in enumerate(reads) if r.status == "loaded"]
    if not parts:
        return CleanedChunk(LISTING_SCHEMA.empty_table(), file_rejections, files_meta)
    listings, quarantine = _clean_table(pa.concat_tables(parts).combine_chunks(), reads)
    return CleanedChunk(listings, pa.concat_tables([quarantine, file_rejections]), files_meta)


def _clean_table(table: pa.Table, reads: Sequence[FileRead]) -> tuple[pa.Table, pa.Table]:
    n = table.num_rows
    file_idx = pa.array(table.column("_file").to_numpy())
    per_file = {
        "scrape_date": pa.array([r.file.scrape_date for r in reads], pa.date32()),
        "market_week": pa.array([r.file.market_week for r in reads], pa.date32()),
        "source_file": pa.array([r.file.name for r in reads], pa.string()),
    }
    scrape_dates = per_file["scrape_date"].take(file_idx)
    scrape_days = scrape_dates.to_numpy(zero_copy_only=False).astype("datetime64[D]")
    reason = np.full(n, None, dtype=object)
    ok = np.ones(n, dtype=bool)  # no reason yet (a boolean mask: pd.isna of the objects cost 12x more)

    def flag(mask: np.ndarray, code: str) -> None:
        hit = ok & mask
        reason[hit] = code
        ok[hit] = False

    def null_mask(values: pa.Array) -> np.ndarray:
        return pc.is_null(values).to_numpy(zero_copy_only=False)

    malformed = table.column(MALFORMED_COLUMN)
    if malformed.null_count < n:  # rows of the wrong field count, set aside by the reading
        flag(pc.is_valid(malformed).to_numpy(zero_copy_only=False), "malformed_row")

    # Characters no database text can hold: looked for only in the files that hold a NUL byte.
    unstorable = np.zeros(n, dtype=bool)
    nul_columns: dict[str, np.ndarray] = {}
    if any(r.has_nul for r in reads):
        for name in KNOWN_COLUMNS:
            hit = pc.fill_null(pc.match_substring(table.column(name), UNSTORABLE), False).to_numpy(zero_copy_only=False)
            if hit.any():
                nul_columns[name] = hit
                unstorable |= hit
    not_utf8 = table.column(NOT_UTF8_COLUMN)
    if not_utf8.null_count < n:  # values the reading found not to be UTF-8 (already escaped)
        unstorable |= pc.is_valid(not_utf8).to_numpy(zero_copy_only=False)
    flag(unstorable, "unstorable_character")

    listing_id = _blank_to_null(table.column("listing_id"))
    flag(null_mask(listing_id), "missing_listing_id")
    source_d = _Distinct(table.column("source"))
    source = source_d.column(source_d.map(lambda v: (v or "").strip().lower() or None))
    flag(null_mask(source), "missing_source")

    alias_map = catalog.brand_alias_map()
    brand_d = _Distinct(table.column("brand"))
    brand = brand_d.column(brand_d.map(lambda v: parsing.resolve_brand(v, alias_map)))
    flag(null_mask(brand), "missing_brand")
    reference_d = _Distinct(table.column("reference_number"))
    reference = reference_d.column(reference_d.map(parsing.canonical_reference))
    flag(null_mask(reference), "missing_reference")
    long_keys: dict[str, np.ndarray] = {}
    for name in KEY_COLUMNS:
        values = table.column(name)
        if (pc.max(pc.binary_length(values)).as_py() or 0) > MAX_KEY_CHARS:  # bytes >= characters: cheap test
            long = pc.fill_null(pc.greater(pc.utf8_length(values), MAX_KEY_CHARS), False).to_numpy(zero_copy_only=False)
            if long.any():
                long_keys[name] = long
                flag(long, "key_too_long")

    scraped_at = parsing.parse_timestamps(table.column("scraped_at"))
    ts_days = scraped_at.to_numpy(zero_copy_only=False).astype("datetime64[D]")
    with np.errstate(invalid="ignore"):
        drift = np.abs((ts_days - scrape_days).astype("timedelta64[D]").astype(float))
    flag(null_mask(scraped_at) | ~(drift <= MAX_TIMESTAMP_DRIFT_DAYS), "bad_timestamp")

    prices = parsing.parse_prices(table.column("price"))  # vectorised: one grammar call per price shape
    amount, price_reason = prices.amount, prices.reason
    for code in ("no_price", "price_on_request", "unparseable_price"):
        flag(price_reason == code, code)

    # Currency: the column and the price's own symbol, resolved once per distinct pair.
    symbol = prices.symbol_currency
    pair_d = _Distinct(pc.binary_join_element_wise(pc.fill_null(table.column("currency"), ""), symbol, "\x1f"))
    resolved = pair_d.map(_resolve_pair)
    currency_arr = pair_d.column([c for c, _ in resolved])
    currency = currency_arr.to_numpy(zero_copy_only=False)
    currency_reason = pair_d.numpy([r for _, r in resolved], object)
    for code in ("unknown_currency", "currency_conflict"):
        flag(currency_reason == code, code)

    usd_per_unit = np.full(n, np.nan)
    has_ccy = ~pd.isna(currency)
    if has_ccy.any():
        usd_per_unit[has_ccy] = fx.usd_per_unit(currency[has_ccy], scrape_days[has_ccy])
    flag(has_ccy & np.isnan(usd_per_unit), "no_exchange_rate")  # a supported currency, no rate that early
    price_local = np.round(amount, 2)
    with np.errstate(invalid="ignore"):
        price_usd = np.round(price_local * usd_per_unit, 2)
        flag(~((price_usd >= MIN_PRICE_USD) & (price_usd <= MAX_PRICE_USD)), "price_out_of_bounds")

    condition_d = _Distinct(table.column("condition"))
    condition = condition_d.column(condition_d.map(parsing.parse_condition))

    keep = pa.array(ok)  # a boolean mask: filter copies each column once, faster than take
    parent, specific, resolved_from = _resolve_models(table, brand, reference)
    listings = pa.table(
        {
            "market_week": per_file["market_week"].take(file_idx.filter(keep)),
            "source": source.filter(keep),
            "listing_id": listing_id.filter(keep),
            "scrape_date": scrape_dates.filter(keep),
            "scraped_at": scraped_at.filter(keep),
            "brand": brand.filter(keep),
            "reference_number": reference.filter(keep),
            "specific_model": specific.filter(keep),
            "parent_model": parent.filter(keep),
            "model_resolved_from": resolved_from.filter(keep),
            "condition": condition.filter(keep),
            "condition_raw": _blank_to_null(table.column("condition")).filter(keep),
            "currency": currency_arr.filter(keep),
            "price_local": pa.array(price_local).filter(keep),
            "usd_per_unit": pa.array(usd_per_unit).filter(keep),
            "price_usd": pa.array(price_usd).filter(keep),
            "seller_type": _blank_to_null(table.column("seller_type")).filter(keep),
            "country": _blank_to_null(table.column("country")).filter(keep),
            "title": _blank_to_null(table.column("title")).filter(keep),
            "url": _blank_to_null(table.column("url")).filter(keep),
            "source_file": per_file["source_file"].take(file_idx.filter(keep)),
            "source_line": table.column("_line").filter(keep),
        },
        schema=LISTING_SCHEMA,
    )

    bad_idx = np.flatnonzero(~ok)
    bad = pa.array(bad_idx)
    quarantine = pa.table(
        {
            "market_week": per_file["market_week"].take(file_idx.take(bad)),
            "scrape_date": scrape_dates.take(bad),
            "source_file": per_file["source_file"].take(file_idx.take(bad)),
            "line": table.column("_line").take(bad),
            "reason": pa.array(reason[bad_idx], pa.string()),
            "detail": pa.array(
                _details(
                    reason[bad_idx],
                    table,
                    bad,
                    price_usd[bad_idx],
                    symbol.take(bad).to_pylist(),
                    scrape_dates,
                    not_utf8.take(bad).to_pylist(),
                    malformed.take(bad).to_pylist(),
                    {name: hit[bad_idx] for name, hit in nul_columns.items()},
                    {name: hit[bad_idx] for name, hit in long_keys.items()},
                ),
                pa.string(),
            ),
            "source": _escape_column(source.take(bad)) if nul_columns else source.take(bad),
            "listing_id": _escape_column(listing_id.take(bad)) if nul_columns else listing_id.take(bad),
            "raw_row": pa.array(_raw_rows(table, bad, escape=bool(nul_columns)), pa.string()),
        },
        schema=QUARANTINE_SCHEMA,
    )
    return listings, quarantine


def _resolve_pair(value: str | None) -> tuple[str | None, str | None]:
    column, _, symbol = (value or "").partition("\x1f")
    parsed = parsing.parse_currency(column or None)
    return parsing.resolve_currency(parsed, symbol or None)


def _resolve_models(table: pa.Table, brand: pa.Array, reference: pa.Array) -> tuple[pa.Array, pa.Array, pa.Array]:
    """Parent and specific model from the catalog where the reference is known, else the listing's fields."""
    index = catalog.reference_index()
    key_d = _Distinct(pc.binary_join_element_wise(pc.fill_null(brand, ""), pc.fill_null(reference, ""), "\x1f"))
    hits = key_d.map(lambda k: index.get(tuple((k or "").split("\x1f", 1))) if k else None)
    in_catalog = key_d.numpy([h is not None for h in hits], bool)
    cat_parent = key_d.column([h.parent_model if h else None for h in hits])
    cat_specific = key_d.column([h.specific_model if h else None for h in hits])
    own_parent_d = _Distinct(table.column("parent_model"))
    own_parent = own_parent_d.column(own_parent_d.map(parsing.clean_model_name))
    own_specific_d = _Distinct(table.column("specific_model"))
    own_specific = own_specific_d.column(own_specific_d.map(parsing.clean_model_name))
    mask = pa.array(in_catalog)
    from_listing = ~in_catalog & ~(null_np(own_parent) & null_np(own_specific))
    resolved_from = np.where(in_catalog, "catalog", np.where(from_listing, "listing", "none"))
    return (
        pc.if_else(mask, cat_parent, own_parent),
        pc.if_else(mask, cat_specific, own_specific),
        pa.array(resolved_from, pa.string()),
    )


def null_np(values: pa.Array) -> np.ndarray:
    return pc.is_null(values).to_numpy(zero_copy_only=False)


def _clip(value: str | None, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 15]}... ({len(value or '')} characters)"


def _details(
    reasons: np.ndarray,
    table: pa.Table,
    rows: pa.Array,
    price_usd: np.ndarray,
    symbol: list[str],
    scrape_dates: pa.Array,
    not_utf8: list[str | None],
    malformed: list[str | None],
    nul_columns: dict[str, np.ndarray],
    long_keys: dict[str, np.ndarray],
) -> list[str | None]:
    price = table.column("price").take(rows).to_pylist()
    ccy = table.column("currency").take(rows).to_pylist()
    stamp = table.column("scraped_at").take(rows).to_pylist()
    dates = scrape_dates.take(rows).to_pylist()
    out: list[str | None] = []
    for i, code in enumerate(reasons):
        if code == "malformed_row":
            out.append(f"{malformed[i]}; raw_row holds the record as written (_record)")
        elif code == "unstorable_character":
            names = ", ".join(name for name, hit in nul_columns.items() if hit[i])
            found = [f"NUL (U+0000) in {names}"] if names else []
            found += [f"bytes that are not UTF-8 in {not_utf8[i]}"] if not_utf8[i] else []
            out.append(f"{'; '.join(found)}; {UNSTORABLE_ESCAPES}")
        elif code == "key_too_long":
            names = ", ".join(
                f"{name} of {len(table.column(name)[rows[i].as_py()].as_py())} characters"
                for name, hit in long_keys.items()
                if hit[i]
            )
            out.append(f"{names} (at most {MAX_KEY_CHARS})")
        elif code == "no_exchange_rate":
            out.append(f"no ECB rate for currency {ccy[i]!r}, price {_clip(price[i])} on or before {dates[i]}")
        elif code == "price_out_of_bounds" and not math.isfinite(price_usd[i]):
            bounds = f"[{MIN_PRICE_USD:.0f}, {MAX_PRICE_USD:.0f}]"
            out.append(f"price {_clip(price[i])}: a number too large for any amount, outside {bounds}")
        elif code == "price_out_of_bounds":
            out.append(f"price_usd {price_usd[i]:.2f} outside [{MIN_PRICE_USD:.0f}, {MAX_PRICE_USD:.0f}]")
        elif code in {"no_price", "price_on_request", "unparseable_price"}:
            out.append(f"price {_clip(price[i])}")
        elif code == "currency_conflict":
            out.append(f"currency {_clip(ccy[i])} but price {_clip(price[i])} implies {symbol[i]}")
        elif code == "unknown_currency":
            out.append(f"currency {_clip(ccy[i])}, price {_clip(price[i])}")
        elif code == "bad_timestamp":
            out.append(f"scraped_at {_clip(stamp[i])}")
        else:
            out.append(None)
    return out


def _raw_rows(table: pa.Table, rows: pa.Array, escape: bool = False) -> list[str]:
    """The quarantined rows' raw values as JSON; ``escape``: some hold a NUL (jsonb cannot)."""
    if len(rows) == 0:
        return []
    subset = table.select(list(KNOWN_COLUMNS)).take(rows)
    if escape:
        subset = pa.table({name: _escape_column(subset.column(name).combine_chunks()) for name in subset.column_names})
    names = subset.column_names
    dumps = json.JSONEncoder(ensure_ascii=False).encode
    out = [  # column-wise to_pylist: about twice as fast as building a dict per row first
        dumps({k: v for k, v in zip(names, values, strict=True) if v is not None and v != ""})
        for values in zip(*(column.to_pylist() for column in subset.columns), strict=True)
    ]
    records = table.column(RECORD_COLUMN).take(rows)
    if records.null_count < len(records):  # a row of the wrong field count: its record, as written
        for i, record in enumerate(records.to_pylist()):
            if record is not None:
                out[i] = dumps({"_record": escape_unstorable(record)})
    return out
