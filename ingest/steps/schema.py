"""The ingest's tables, each defined once: column name, Arrow type, PostgreSQL type, meaning.

The warehouse DDL, the Arrow schemas of the chunk and staging files, the COPY types and the
run summary are all derived from these definitions; nothing else spells a column list.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pyarrow as pa

# Key and grouping columns compare byte-wise (collate "C"): the primary key builds and the
# GROUP BYs of the dbt models sort several times faster than under a linguistic collation,
# and equality is the same.
KEY_TEXT = 'text collate "C"'


@dataclass(frozen=True)
class Column:
    name: str
    arrow: pa.DataType
    pg: str  # the PostgreSQL type as written in the DDL, without "not null"
    doc: str
    nullable: bool = True
    default: str | None = None  # a DDL default (columns the load fills in later)
    label: str | None = None  # how the run summary names a count

    def ddl(self) -> str:
        parts = [self.name, self.pg]
        if self.default is not None:
            parts.append(f"default {self.default}")
        if not self.nullable:
            parts.append("not null")
        return " ".join(parts)


@dataclass(frozen=True)
class Table:
    name: str
    doc: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def arrow_schema(self) -> pa.Schema:
        """The Arrow schema of the table's files (every field nullable: PostgreSQL enforces not null)."""
        return pa.schema([pa.field(c.name, c.arrow) for c in self.columns])

    @property
    def pg_types(self) -> dict[str, str]:
        return {c.name: c.pg for c in self.columns}

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    def without(self, *names: str) -> Table:
        """The same table minus ``names`` (e.g. the columns a later step adds)."""
        return Table(self.name, self.doc, tuple(c for c in self.columns if c.name not in names), self.key)

    def select(self, names: Iterable[str]) -> tuple[Column, ...]:
        wanted = set(names)
        return tuple(c for c in self.columns if c.name in wanted)


def _col(name: str, arrow: pa.DataType, pg: str, doc: str, *, null: bool = False, **extra: str) -> Column:
    return Column(name, arrow, pg, doc, nullable=null, **extra)


_TEXT = pa.string()

LISTINGS = Table(
    "listings",
    "The cleaned listings: one row per (source, listing_id) per market week, outliers flagged.",
    (
        _col("market_week", pa.date32(), "date", "Monday of the ISO week containing the scrape date"),
        _col("source", _TEXT, KEY_TEXT, "the site, lower case"),
        _col("listing_id", _TEXT, KEY_TEXT, "the site's own id of the listing"),
        _col("scrape_date", pa.date32(), "date", "the date of the scrape folder the row came from"),
        _col("scraped_at", pa.timestamp("us", tz="UTC"), "timestamptz", "when the row was scraped, in UTC"),
        _col("brand", _TEXT, KEY_TEXT, "canonical brand"),
        _col("reference_number", _TEXT, KEY_TEXT, "canonical reference (upper case, no prefixes or separators)"),
        _col("specific_model", _TEXT, KEY_TEXT, "specific model: the catalog's, else the listing's own", null=True),
        _col("parent_model", _TEXT, KEY_TEXT, "parent model: the catalog's, else the listing's own", null=True),
        _col("model_resolved_from", _TEXT, "text", "where the models came from: catalog, listing or none"),
        _col("condition", _TEXT, "text", "condition category (new, unworn, very_good, ..., unknown)"),
        _col("condition_raw", _TEXT, "text", "the condition as the site wrote it", null=True),
        _col("currency", _TEXT, "text", "ISO 4217 code of the asking price"),
        _col("price_local", pa.float64(), "numeric(20, 2)", "asking price in its currency"),
        _col("usd_per_unit", pa.float64(), "double precision", "ECB USD value of one unit on the scrape date"),
        _col("price_usd", pa.float64(), "numeric(14, 2)", "price_local x usd_per_unit, to the cent"),
        _col("is_outlier", pa.bool_(), "boolean", "outlier of its (brand, reference, week) by the MAD rule"),
        _col("seller_type", _TEXT, "text", "dealer or private, as the site says", null=True),
        _col("country", _TEXT, "text", "the seller's country, as the site says", null=True),
        _col("title", _TEXT, "text", "the listing's title", null=True),
        _col("url", _TEXT, "text", "the listing's address", null=True),
        _col("source_file", _TEXT, "text", "raw file, relative to the raw root"),
        _col("source_line", pa.int32(), "integer", "physical line of the row in its file (header = 1)"),
        _col("ingest_run_id", _TEXT, "uuid", "the ingest run that loaded the row"),
    ),
    # Its most selective column first: uniqueness is the same in any order, but the index of a
    # week builds faster when the comparisons of its sort do not start on the constant week.
    key=("listing_id", "source", "market_week"),
)

QUARANTINE = Table(
    "quarantine",
    "One row per rejected row (with its line) or rejected file (line null), with the reason.",
    (
        _col("market_week", pa.date32(), "date", "market week of the scrape folder"),
        _col("scrape_date", pa.date32(), "date", "date of the scrape folder"),
        _col("source_file", _TEXT, "text", "raw file, relative to the raw root"),
        _col(
            "line", pa.int32(), "integer", "physical line of the row (blank lines counted); null: whole file", null=True
        ),
        _col("reason", _TEXT, "text", "why the row or file was not loaded (a reason code)"),
        _col("detail", _TEXT, "text", "the offending value or the parser's message", null=True),
        _col("source", _TEXT, "text", "the row's source, when readable", null=True),
        _col("listing_id", _TEXT, "text", "the row's listing_id, when readable", null=True),
        _col("raw_row", _TEXT, "jsonb", "the row's raw values (characters a database cannot hold escaped)", null=True),
        _col("ingest_run_id", _TEXT, "uuid", "the ingest run that recorded the row"),
    ),
)

#: The counts a week's ingest comes to, in the run ledger and the run summary. Every row read
#: from an accepted file is loaded, quarantined or a duplicate.
COUNTS: tuple[Column, ...] = tuple(
    Column(name, pa.int64(), "bigint", doc, nullable=False, default="0", label=label)
    for name, label, doc in (
        ("files_total", "files", "objects in the week's scrape folders (ignored ones included)"),
        ("files_loaded", "loaded", "files whose rows were read"),
        ("files_empty", "empty", "zero-byte or header-only files"),
        ("files_rejected", "rejected", "files rejected whole (one quarantine row each)"),
        ("files_ignored", "ignored", "objects that are not raw files (other names, sub-folders)"),
        ("rows_read", "read", "data rows in the loaded files"),
        ("rows_loaded", "loaded", "rows loaded into the listings"),
        ("rows_quarantined", "quarantined", "rows quarantined (one reason each)"),
        ("rows_duplicate", "duplicates", "repeated (source, listing_id) rows removed by dedup"),
        ("rows_outlier", "outliers", "loaded rows flagged as outliers"),
        ("rows_in_rejected_files", "in rejected files", "data rows of the rejected files (not read)"),
    )
)

INGEST_RUNS = Table(
    "ingest_runs",
    "The run ledger: one row per ingest run of a market week.",
    (
        _col("run_id", _TEXT, "uuid primary key", "the run"),
        _col("market_week", pa.date32(), "date", "the market week the run loads"),
        _col("source_root", _TEXT, "text", "the raw root it read"),
        _col("scrape_dates", pa.list_(pa.date32()), "date[]", "the scrape folders of the week", default="'{}'"),
        _col("started_at", pa.timestamp("us", tz="UTC"), "timestamptz", "when the run started"),
        _col("finished_at", pa.timestamp("us", tz="UTC"), "timestamptz", "when it ended", null=True),
        _col("duration_s", pa.float64(), "double precision", "its wall time", null=True),
        _col(
            "status",
            _TEXT,
            "text check (status in ('running', 'succeeded', 'failed', 'abandoned'))",
            "running, succeeded, failed, or abandoned (its process died without a word)",
        ),
        *COUNTS,
        _col("quarantined_by_reason", _TEXT, "jsonb", "quarantined rows and files per reason", default="'{}'"),
        _col("staging_uri", _TEXT, "text", "the week's staging folder", null=True),
        _col("code_version", _TEXT, "text", "the ingest package version"),
        _col("pid", pa.int32(), "integer", "process id of the run, while it runs", null=True),
        _col("host", _TEXT, "text", "host name of the run's machine", null=True),
        _col("error", _TEXT, "text", "the one-line reason of a failed run", null=True),
    ),
)

INGEST_FILES = Table(
    "ingest_files",
    "The file ledger: one row per object of the week's scrape folders per run.",
    (
        _col("run_id", _TEXT, "uuid", "the run"),
        _col("source_file", _TEXT, "text", "the object, relative to the raw root"),
        _col("scrape_date", pa.date32(), "date", "its scrape folder's date"),
        _col(
            "status",
            _TEXT,
            "text check (status in ('loaded', 'empty', 'rejected', 'ignored'))",
            "loaded, empty, rejected (see reason), or ignored (not a raw file)",
        ),
        _col("rows_read", pa.int64(), "bigint", "its data rows"),
        _col("reason", _TEXT, "text", "why it was rejected or ignored", null=True),
        _col("detail", _TEXT, "text", "the details of the reason", null=True),
    ),
    key=("run_id", "source_file"),
)

FX_RATES = Table(
    "fx_rates",
    "ECB daily reference rates: units of each currency per 1 EUR.",
    (
        _col("rate_date", pa.date32(), "date", "the ECB publication date"),
        _col("currency", _TEXT, "text", "ISO 4217 code"),
        _col("units_per_eur", pa.float64(), "double precision", "units of the currency per euro"),
    ),
    key=("rate_date", "currency"),
)

#: What the cleaning of a chunk produces, before dedup flags outliers and the run id is known.
CLEANED = LISTINGS.without("is_outlier", "ingest_run_id")
CLEANED_QUARANTINE = QUARANTINE.without("ingest_run_id")
