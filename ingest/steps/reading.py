"""Reading raw scrape files: discovery of a week's files, and one CSV file to an Arrow table.

Every column is read as text (no type inference); header names are normalised
(trimmed, lower-cased) and unknown extra columns are dropped. Each row keeps
its file and its physical line number (the header is line 1; blank lines and
quoted newlines inside earlier records are counted; lines end with LF, CRLF, or
in a file without LF a lone CR), so the number points at the record's first
line in the file as an editor shows it.
"""

from __future__ import annotations

import csv
import gzip
import io
import logging
import re
import zlib
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ingest import storage
from ingest.steps.calendar import market_week_of
from ingest.steps.results import FileOutcome, SourceFile

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

log = logging.getLogger(__name__)

SCRAPE_FOLDER = re.compile(r"^scrape_date=(\d{4}-\d{2}-\d{2})$")
#: The empty object the scraper writes into a scrape folder last, after every CSV: the folder is complete.
#: It is neither read nor recorded in the file ledger.
SUCCESS_MARKER = "_SUCCESS"

#: The column a file's table carries when some of its values are not UTF-8: per row, the names of
#: the columns concerned (null for the other rows). The cleaning quarantines those rows.
NOT_UTF8_COLUMN = "_not_utf8"

#: The columns a file's table carries when some of its rows have the wrong number of fields: those
#: rows (their known columns empty) say why, and hold the record's raw text.
MALFORMED_COLUMN = "_malformed"
RECORD_COLUMN = "_record"

_warned_folders: set[tuple[str, str]] = set()


def folder_date(name: str, today: date | None = None) -> date | str:
    """The scrape date of a folder name, or why the folder is not a scrape."""
    match = SCRAPE_FOLDER.match(name)
    if not match:
        return "its name is not scrape_date=YYYY-MM-DD"
    try:
        scrape_date = date.fromisoformat(match.group(1))
    except ValueError:
        return f"{match.group(1)} is not a calendar date"
    if scrape_date > (today or date.today()):
        return f"{scrape_date} is in the future"
    return scrape_date


def scrape_folders(root: str) -> list[tuple[date, str]]:
    """Every scrape folder under ``root`` as (date, folder name), sorted.

    A folder whose name is not ``scrape_date=`` and a real, past or present calendar date is
    not a scrape: it is skipped with a warning (once per process) and never stops a week.
    Names starting with ``_`` or ``.`` are a tool's own (``_simulator``, ``.cache``, as
    ``_SUCCESS`` is the scraper's): skipped without a word.
    """
    out = []
    for name in storage.list_dirs(root):
        if name.startswith(("_", ".")):
            continue
        found = folder_date(name)
        if isinstance(found, date):
            out.append((found, name))
        elif (root, name) not in _warned_folders:
            _warned_folders.add((root, name))
            log.warning("skipping folder %s under %s: not a scrape folder (%s)", name, root, found)
    return sorted(out)


def is_raw_file_name(name: str) -> bool:
    """A raw file's name: ``*.csv`` in any letter case, or ``*.csv.gz``."""
    lower = name.lower()
    return lower.endswith((".csv", ".csv.gz"))


def week_files(root: str, week: date) -> tuple[list[date], list[SourceFile], list[FileOutcome]]:
    """The scrape dates, raw files and ignored objects of the market week starting ``week`` (a Monday).

    Raw files are the objects directly in a scrape folder named ``*.csv`` (any case) or
    ``*.csv.gz``. Every other object there (other names, sub-folders and what they hold)
    comes back as an ``ignored`` file outcome, so that the file ledger records it; the
    ``_SUCCESS`` marker is neither read nor ledgered.
    """
    dates: list[date] = []
    files: list[SourceFile] = []
    ignored: list[FileOutcome] = []
    for scrape_date, folder in scrape_folders(root):
        if market_week_of(scrape_date) != week:
            continue
        dates.append(scrape_date)
        for f in storage.list_objects(storage.join(root, folder)):
            name = f"{folder}/{f.name}"
            if "/" in f.name.rstrip("/"):
                detail = "inside a sub-folder of the scrape folder; only its own files are read"
                ignored.append(FileOutcome(name, scrape_date, "ignored", 0, "in_sub_folder", detail))
            elif f.name.endswith("/"):
                detail = "a sub-folder of the scrape folder; only its own files are read"
                ignored.append(FileOutcome(name, scrape_date, "ignored", 0, "in_sub_folder", detail))
            elif f.name == SUCCESS_MARKER:
                continue
            elif is_raw_file_name(f.name):
                files.append(SourceFile(f.uri, name, f.size, scrape_date))
            else:
                detail = "not a raw file: only *.csv (any letter case) and *.csv.gz are read"
                ignored.append(FileOutcome(name, scrape_date, "ignored", 0, "not_a_csv_file", detail))
    return dates, files, ignored


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
    has_nul: bool = False  # a NUL byte somewhere in the file: the cleaning looks for it row by row


def _header(data: bytes) -> list[str]:
    head = data[:65536].decode("utf-8-sig", errors="replace")
    try:  # newline="": lines split at LF, CRLF and a lone CR, as the CSV parser does
        return next(row for row in csv.reader(io.StringIO(head, newline="")) if row)
    except (StopIteration, csv.Error):
        return []


def _count_data_rows(data: bytes) -> int:
    """A best-effort row count of a file that is rejected whole (for the ledger)."""
    text = data.decode("utf-8-sig", errors="replace")
    try:
        return max(0, sum(1 for row in csv.reader(io.StringIO(text, newline="")) if row) - 1)
    except csv.Error:
        return max(0, len(text.splitlines()) - 1)


def _duplicate_required(names: list[str]) -> list[str]:
    """The required columns that a (normalised) header names more than once."""
    return [c for c in REQUIRED_COLUMNS if names.count(c) > 1]


def _record_lines(octets: np.ndarray, n: int) -> np.ndarray | None:
    """The physical line (1-based) where each of the ``n`` data records starts; None if unclear.

    Line breaks are LF and CRLF (one break), or a lone CR in a file without LF. A break inside
    a quoted value (an odd number of quote characters before it) does not end a record; a line
    with nothing on it is blank (the parser skips it) and is counted. ``None`` when the records found here do not match
    the parser's count (quote characters inside unquoted fields make the quote count unreliable).
    """
    lf = octets == 10
    cr = octets == 13
    breaks = np.flatnonzero(lf if lf.any() else cr)
    quotes = np.flatnonzero(octets == 34)
    ends = breaks[np.searchsorted(quotes, breaks) % 2 == 0] if len(quotes) else breaks
    starts = np.r_[0, ends + 1]
    starts = starts[starts < len(octets)]
    nxt = np.searchsorted(breaks, starts)
    first_break = np.append(breaks, len(octets))[nxt]
    blank = (first_break == starts) | ((first_break == starts + 1) & cr[starts])
    starts = starts[~blank]
    if len(starts) != n + 1:  # the header and the n records
        return None
    return (np.searchsorted(breaks, starts[1:]) + 1).astype(np.int32)


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
    repeated = _duplicate_required(normalised)
    if repeated:
        where = "; ".join(
            f"{c} (columns {', '.join(str(i + 1) for i, v in enumerate(normalised) if v == c)})" for c in repeated
        )
        raise FileRejected("duplicate_columns", "required column(s) named more than once: " + where)
    not_utf8: list[str | None] | None = None
    kind: pa.DataType = pa.string()
    skipped: list[tuple[int, int, str]] | None = None  # (record number, fields, text) of rows read aside
    while True:  # the usual file is read once; each fault below costs one more read of that file only
        try:
            table = _read_csv(data, raw_names, kind, skipped)
            break
        except pa.ArrowInvalid as exc:
            message = str(exc)
            if "invalid UTF8" in message and kind == pa.string():
                # Bytes that are not UTF-8 in some values: read those as bytes, and let the cleaning
                # quarantine their rows (the other rows of the file load).
                kind = pa.binary()
            elif "columns, got" in message and skipped is None:
                skipped = []  # rows with the wrong number of fields: set aside, quarantined one by one
            else:
                raise FileRejected("malformed_csv", message.splitlines()[0][:300]) from exc
        except UnicodeDecodeError as exc:
            raise FileRejected("malformed_csv", str(exc).splitlines()[0][:300]) from exc
    if table.num_columns != len(raw_names):
        raise FileRejected("malformed_csv", "header and parsed columns disagree")

    columns: dict[str, pa.ChunkedArray] = {}
    for index, norm in enumerate(normalised):
        # by position: a name repeated in the header is not a unique field name. Of an optional
        # column named twice the first wins; unknown extra columns are dropped, repeated or not.
        if norm in KNOWN_COLUMNS and norm not in columns:
            columns[norm] = table.column(index)
    n = table.num_rows
    if any(pa.types.is_binary(col.type) for col in columns.values()):
        not_utf8 = [None] * n
        for name, col in list(columns.items()):
            columns[name], bad_rows = _utf8_or_escaped(col)
            for row in bad_rows:
                not_utf8[row] = name if not_utf8[row] is None else f"{not_utf8[row]}, {name}"
    # Physical line of each record: header is line 1. When every LF of the file ends the header
    # or a record (the usual file), record i is on line i + 2; only otherwise (blank lines,
    # breaks inside quoted values, CR line ends) are the breaks located.
    terminators = n + (1 if data.endswith(b"\n") else 0)
    lines = np.arange(2, n + 2, dtype=np.int32)  # numpy: 25 ms faster per 100,000 rows than range()
    if skipped:
        return _with_malformed_rows(columns, not_utf8, octets, n, skipped, len(raw_names))
    if int(np.count_nonzero(octets == ord("\n"))) != terminators:
        located = _record_lines(octets, n)
        lines = located if located is not None else _lines_from_values(table, lines, n)
    columns["_line"] = pa.array(lines)
    if not_utf8 is not None:
        columns[NOT_UTF8_COLUMN] = pa.array(not_utf8, pa.string())
    return pa.table(columns), n


def _with_malformed_rows(
    columns: dict[str, Any],
    not_utf8: list[str | None] | None,
    octets: np.ndarray,
    n: int,
    skipped: list[tuple[int, int, str]],
    expected: int,
) -> tuple[pa.Table, int]:
    """The file's table with its rows of the wrong field count appended (``MALFORMED_COLUMN`` set)."""
    located = _record_lines(octets, n + len(skipped))
    if located is None:
        _, fields, text = skipped[0]
        raise FileRejected(
            "malformed_csv",
            f"{len(skipped)} row(s) with the wrong number of fields, e.g. {fields} fields: {text[:200]!r}",
        )
    aside = np.array([number - 2 for number, _, _ in skipped])  # record 1 is the header
    keep = np.ones(len(located), dtype=bool)
    keep[aside] = False
    k = len(skipped)
    good = {name: col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col for name, col in columns.items()}
    bad = {name: pa.array([""] * k, pa.string()) for name in good}
    good["_line"], bad["_line"] = pa.array(located[keep]), pa.array(located[aside])
    good[NOT_UTF8_COLUMN] = pa.array(not_utf8 if not_utf8 is not None else [None] * n, pa.string())
    bad[NOT_UTF8_COLUMN] = pa.nulls(k, pa.string())
    good[MALFORMED_COLUMN], good[RECORD_COLUMN] = pa.nulls(n, pa.string()), pa.nulls(n, pa.string())
    bad[MALFORMED_COLUMN] = pa.array([f"{fields} fields where the header has {expected}" for _, fields, _ in skipped])
    bad[RECORD_COLUMN] = pa.array([text for _, _, text in skipped], pa.string())
    return pa.concat_tables([pa.table(good), pa.table(bad)]), n + k


def _read_csv(
    data: bytes, names: list[str], kind: pa.DataType, skipped: list[tuple[int, int, str]] | None = None
) -> pa.Table:
    """Read a CSV as text (or bytes); ``skipped``: set the rows of the wrong field count aside into it.

    Setting rows aside reads in one thread: only then does the parser number them.
    """
    handler = None
    if skipped is not None:
        skipped.clear()

        def handler(row: Any) -> str:
            skipped.append((row.number, row.actual_columns, row.text))
            return "skip"

    return pacsv.read_csv(
        io.BytesIO(data),
        read_options=pacsv.ReadOptions(use_threads=skipped is None, block_size=8 << 20),
        parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=handler),
        convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(names, kind), strings_can_be_null=False, quoted_strings_can_be_null=False
        ),
    )


def escape_bytes(value: bytes) -> str:
    """Bytes as text, reversibly: backslashes doubled, NUL as ``\\u0000``, a byte that is not UTF-8 as ``\\xNN``."""
    return value.replace(b"\\", b"\\\\").replace(b"\x00", b"\\u0000").decode("utf-8", errors="backslashreplace")


def _utf8_or_escaped(column: pa.ChunkedArray) -> tuple[pa.Array, list[int]]:
    """A column read as bytes as text: (the text column, the rows whose bytes are not UTF-8, escaped)."""
    try:
        return pc.cast(column, pa.string()).combine_chunks(), []
    except pa.ArrowInvalid:
        pass
    values: list[str] = []
    bad: list[int] = []
    for row, value in enumerate(column.to_pylist()):  # only a file holding such bytes comes here
        try:
            values.append(value.decode("utf-8"))
        except UnicodeDecodeError:
            values.append(escape_bytes(value))
            bad.append(row)
    return pa.array(values, pa.string()), bad


def _lines_from_values(table: pa.Table, lines: np.ndarray, n: int) -> np.ndarray:
    """Record lines from the newlines inside earlier values (when the break positions are unclear)."""
    newlines = None
    for col in table.columns:
        counts = pc.count_substring(col, "\n")
        newlines = counts if newlines is None else pc.add(newlines, counts)
    if newlines is None or not n:
        return lines
    extra = pc.cumulative_sum(pc.fill_null(newlines, 0)).to_numpy(zero_copy_only=False)
    shift = extra - newlines.to_numpy(zero_copy_only=False)
    return (shift + lines).astype(np.int32)


def _decompressed(file: SourceFile, data: bytes) -> bytes:
    if not file.name.lower().endswith(".gz") or not data:
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        raise FileRejected("malformed_gzip", f"not a readable gzip file: {exc}") from exc


def read_file(file: SourceFile) -> FileRead:
    """Read one raw file, turning contract violations of the whole file into a rejection.

    Any other failure while parsing the file also rejects that file alone (``unprocessable_file``,
    with the error): one file never stops the week. Storage errors (the object cannot be fetched)
    are raised: they say nothing about the file.
    """
    data = storage.read_bytes(file.uri)
    try:
        data = _decompressed(file, data)
        table, rows = parse_csv_bytes(data)
    except FileRejected as exc:
        return FileRead(file, None, _count_data_rows(data), "rejected", exc.reason, exc.detail)
    except Exception as exc:  # noqa: BLE001 - whatever one file does, it is that file's rejection
        detail = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
        return FileRead(file, None, _count_data_rows(data), "rejected", "unprocessable_file", detail)
    if rows == 0:
        return FileRead(file, None, 0, "empty", None, "zero bytes" if not data else "header only")
    return FileRead(file, table, rows, "loaded", has_nul=b"\x00" in data)
