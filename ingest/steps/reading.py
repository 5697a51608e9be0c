"""Reading raw scrape files: discovery of a week's files, and one CSV file to an Arrow table.

Every column is read as text (no type inference); header names are normalised
(trimmed, lower-cased) and unknown extra columns are dropped. Each row keeps
its file and its physical line number (the header is line 1; quoted newlines
inside earlier records are counted, so the number points at the record's first
line in the file).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ingest import storage
from ingest.steps.calendar import market_week_of
from ingest.steps.results import SourceFile

REQUIRED_COLUMNS: tuple[str, ...] = (
    "listing_id",
    "source",
    "scraped_at",
    "brand",
    "reference_number",
    "price",
    "currency",
    "condition",
)
OPTIONAL_COLUMNS: tuple[str, ...] = (
    "url",
    "title",
    "parent_model",
    "specific_model",
    "seller_type",
    "country",
    "listed_at",
    "year",
    "box_papers",
)
KNOWN_COLUMNS: tuple[str, ...] = REQUIRED_COLUMNS + OPTIONAL_COLUMNS

SCRAPE_FOLDER = re.compile(r"^scrape_date=(\d{4}-\d{2}-\d{2})$")
#: The empty object the scraper writes into a scrape folder last, after every CSV: the folder is complete.
SUCCESS_MARKER = "_SUCCESS"


def scrape_folders(root: str) -> list[tuple[date, str]]:
    """Every ``scrape_date=YYYY-MM-DD`` folder under ``root`` as (date, folder name), sorted."""
    out = []
    for name in storage.list_dirs(root):
        match = SCRAPE_FOLDER.match(name)
        if match:
            out.append((date.fromisoformat(match.group(1)), name))
    return sorted(out)


def week_files(root: str, week: date) -> tuple[list[date], list[SourceFile]]:
    """The scrape dates and CSV files of the market week starting ``week`` (a Monday)."""
    dates: list[date] = []
    files: list[SourceFile] = []
    for scrape_date, folder in scrape_folders(root):
        if market_week_of(scrape_date) != week:
            continue
        dates.append(scrape_date)
        for f in storage.list_files(storage.join(root, folder), suffix=".csv"):
            files.append(SourceFile(f.uri, f"{folder}/{f.name}", f.size, scrape_date))
    return dates, files


def week_markers(root: str, week: date) -> list[str]:
    """The ``_SUCCESS`` marker URIs of the week's scrape folders (present or not), one per folder."""
    return [
        storage.join(root, folder, SUCCESS_MARKER)
        for scrape_date, folder in scrape_folders(root)
        if market_week_of(scrape_date) == week
    ]


def unfinished_folders(root: str, week: date) -> list[str]:
    """The week's scrape folders that have no ``_SUCCESS`` marker yet (the scraper may still be writing)."""
    return [marker.rsplit("/", 1)[0] for marker in week_markers(root, week) if not storage.exists(marker)]


class FileRejected(Exception):
    """A whole file cannot be used. ``reason`` is a quarantine reason code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass
class FileRead:
    """The outcome of reading one file: its rows (all text), or why it holds none."""

    file: SourceFile
    table: pa.Table | None  # columns: KNOWN_COLUMNS present in the file + _line
    rows_read: int
    status: str  # 'loaded' | 'empty' | 'rejected'
    reason: str | None = None
    detail: str | None = None


def _header(data: bytes) -> list[str]:
    head = data[:65536].decode("utf-8-sig", errors="replace")
    try:
        return next(csv.reader(io.StringIO(head)))
    except (StopIteration, csv.Error):
        return []


def _count_data_rows(data: bytes) -> int:
    """A best-effort row count of a file that is rejected whole (for the ledger)."""
    text = data.decode("utf-8-sig", errors="replace")
    try:
        return max(0, sum(1 for _ in csv.reader(io.StringIO(text))) - 1)
    except csv.Error:
        return max(0, text.count("\n") - 1)


def parse_csv_bytes(data: bytes) -> tuple[pa.Table, int]:
    """Parse one raw file's bytes. Returns (table of known columns as text + ``_line``, rows).

    Raises :class:`FileRejected` for a file that breaks the contract as a whole.
    """
    if not data.strip(b"\xef\xbb\xbf \r\n\t"):
        return pa.table({"_line": pa.array([], pa.int32())}), 0
    octets = np.frombuffer(data, dtype=np.uint8)
    quotes = int(np.count_nonzero(octets == ord('"')))  # numpy: twice as fast as bytes.count
    if quotes % 2 == 1:
        raise FileRejected("malformed_csv", "unterminated quoted field (odd number of quote characters)")
    raw_names = _header(data)
    normalised = [name.strip().lower() for name in raw_names]
    missing = [c for c in REQUIRED_COLUMNS if c not in normalised]
    if missing:
        raise FileRejected("missing_required_columns", "missing required column(s): " + ", ".join(missing))
    try:
        table = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(use_threads=True, block_size=8 << 20),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in raw_names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise FileRejected("malformed_csv", str(exc).splitlines()[0][:300]) from exc
    if table.num_columns != len(raw_names):
        raise FileRejected("malformed_csv", "header and parsed columns disagree")

    columns: dict[str, pa.ChunkedArray] = {}
    for raw, norm in zip(table.column_names, normalised, strict=True):
        if norm in KNOWN_COLUMNS and norm not in columns:  # first of duplicated headers wins
            columns[norm] = table.column(raw)
    n = table.num_rows
    # Physical line of each record: header is line 1; add the newlines inside earlier records.
    # Every newline of the file beyond the header's and the records' own ends sits inside a
    # quoted value (or is a blank line): only then are the values searched for them.
    newlines = None
    terminators = n + (1 if data.endswith(b"\n") else 0)
    if quotes and int(np.count_nonzero(octets == ord("\n"))) > terminators:
        for col in table.columns:
            counts = pc.count_substring(col, "\n")
            newlines = counts if newlines is None else pc.add(newlines, counts)
    lines = np.arange(2, n + 2, dtype=np.int32)  # numpy: 25 ms faster per 100,000 rows than range()
    if newlines is not None:
        extra = pc.cumulative_sum(pc.fill_null(newlines, 0)).to_numpy(zero_copy_only=False)
        shift = extra - (newlines.to_numpy(zero_copy_only=False) if n else extra)
        lines = (shift + lines).astype(np.int32)
    columns["_line"] = pa.array(lines)
    return pa.table(columns), n


def read_file(file: SourceFile) -> FileRead:
    """Read one raw file, turning contract violations of the whole file into a rejection."""
    data = storage.read_bytes(file.uri)
    try:
        table, rows = parse_csv_bytes(data)
    except FileRejected as exc:
        return FileRead(file, None, _count_data_rows(data), "rejected", exc.reason, exc.detail)
    if rows == 0:
        return FileRead(file, None, 0, "empty", None, "zero bytes" if not data else "header only")
    return FileRead(file, table, rows, "loaded")
