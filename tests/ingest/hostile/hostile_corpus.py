"""A hostile raw root: files, rows and folders that break the input rules in every way we know.

The builder writes the bytes itself (NUL bytes, lone CRs, blank lines, gzip, repeated headers) and
records, for each case, the outcome the input rules name: the row's line and reason, the file's
status and reason, or the folder skipped. The tests run the ingest once over the whole root and
compare the warehouse with these records.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

HEADER = ("listing_id", "source", "scraped_at", "brand", "reference_number", "price", "currency", "condition", "title")

#: The market weeks of the root: the main one, one whose only file is rejected, one before the ECB.
WEEK = date(2026, 11, 16)  # scrape folder 2026-11-21 (a Saturday)
UNLOADABLE_WEEK = date(2026, 11, 9)  # scrape folder 2026-11-14
EARLY_WEEK = date(1998, 12, 21)  # scrape folder 1998-12-26, before the first ECB rate (1999-01-04)
NO_RAW_FILE_WEEK = date(2026, 11, 2)  # scrape folder 2026-11-07, holding no raw file at all

FOLDER = "scrape_date=2026-11-21"
UNLOADABLE_FOLDER = "scrape_date=2026-11-14"
EARLY_FOLDER = "scrape_date=1998-12-26"
NO_RAW_FILE_FOLDER = "scrape_date=2026-11-07"
#: Folders that are not scrapes: skipped with a warning, never stopping a week.
NOT_SCRAPES = ("scrape_date=2026-02-30", "scrape_date=9999-12-31", "scrape_date=2026-11-2", "misc")


def row(listing_id: str = "OK", **values: str) -> dict[str, str]:
    """A good row of the main week, with ``values`` overriding its fields."""
    base = {
        "listing_id": listing_id,
        "source": "chrono24.com",
        "scraped_at": "2026-11-21T10:00:00Z",
        "brand": "Rolex",
        "reference_number": "126610LN",
        "price": "12,500",
        "currency": "USD",
        "condition": "Very good",
        "title": "plain",
    }
    return base | values


def _field(value: str) -> str:
    if any(c in value for c in ',"\n\r'):
        return '"' + value.replace('"', '""') + '"'
    return value


@dataclass
class Expected:
    """What one data row must become: 'loaded', 'duplicate', or a quarantine reason."""

    file: str  # relative to the raw root
    line: int  # physical line (header = 1, blank lines counted)
    outcome: str
    listing_id: str
    source: str


@dataclass
class CsvFile:
    """A CSV file written line by line, keeping the physical line of each record."""

    name: str  # relative to the raw root
    header: tuple[str, ...] = HEADER
    newline: str = "\n"
    rows: list[Expected] = field(default_factory=list)
    _lines: list[str] = field(default_factory=list)
    _next_line: int = 2

    def blank(self, count: int = 1) -> None:
        self._lines += [""] * count
        self._next_line += count

    def add(self, values: dict[str, str], outcome: str, record: str | None = None) -> Expected:
        """Add a row (``record``: its text as written instead, e.g. with the wrong number of fields)."""
        record = record if record is not None else ",".join(_field(values.get(name, "")) for name in self.header)
        expected = Expected(self.name, self._next_line, outcome, values["listing_id"], values["source"])
        self._lines.append(record)
        self._next_line += 1 + record.count("\n")
        self.rows.append(expected)
        return expected

    def data(self) -> bytes:
        # surrogateescape: a value may carry raw bytes that are not UTF-8 (written as U+DC80..U+DCFF)
        return self.newline.join([",".join(self.header), *self._lines, ""]).encode("utf-8", "surrogateescape")


@dataclass
class FileCase:
    """What a whole object must become in the file ledger (the _SUCCESS marker has none)."""

    file: str
    status: str  # loaded | empty | rejected | ignored
    reason: str | None = None
    detail_has: str | None = None


@dataclass
class Corpus:
    root: Path
    rows: list[Expected] = field(default_factory=list)
    files: list[FileCase] = field(default_factory=list)

    def rows_of(self, outcome: str) -> list[Expected]:
        return [r for r in self.rows if r.outcome == outcome]

    def write(self, csv: CsvFile, status: str = "loaded", name: str | None = None, data: bytes | None = None) -> None:
        path = self.root / (name or csv.name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(csv.data() if data is None else data)
        self.rows += csv.rows
        self.files.append(FileCase(name or csv.name, status))


# A NUL inside a value, a backslash beside it (the escape must stay reversible), and its escaped form.
NUL_TITLE = "a\\b\x00c"
NUL_TITLE_ESCAPED = "a\\\\b\\u0000c"
# A Latin-1 byte (0xF6, ö) in a file that is otherwise UTF-8, and how the quarantine keeps it.
LATIN1_BRAND = "A. Lange & S\udcf6hne"
LATIN1_BRAND_ESCAPED = "A. Lange & S\\xf6hne"
RAGGED_RECORD = "RAGGED-2,chrono24.com,2026-11-21,Rolex,126610LN,12500,USD,New,Rolex, Submariner"
LONG_ID = "L" * 5000
ID_OF_200 = "M" * 200
# Two listings whose (source, listing_id) join to the same text around a \x1f separator.
SEP_PAIRS = (("x\x1fy.com", "z"), ("x", "y.com\x1fz"))


def row_family(corpus: Corpus) -> None:
    """One file of hostile rows: NUL bytes, huge prices, over-long keys, blank lines, \\x1f keys."""
    f = CsvFile(f"{FOLDER}/rows.csv")
    f.add(row("OK-1"), "loaded")
    f.blank(2)
    f.add(row("NUL-TITLE", title="Sub\x00mariner"), "unstorable_character")
    f.add(row("NUL\x00ID"), "unstorable_character")
    f.add(row("NUL-POA", price="POA", title=NUL_TITLE), "unstorable_character")
    f.add(row("OK-2", title="two\nlines"), "loaded")
    f.add(row("PRICE-400", price="9" * 400), "price_out_of_bounds")
    f.add(row("PRICE-5000", price="1" + "0" * 4999), "price_out_of_bounds")
    f.add(row(LONG_ID), "key_too_long")
    f.add(row("LONG-SOURCE", source="s" * 201), "key_too_long")
    f.add(row("LONG-BRAND", brand="B" * 201), "key_too_long")
    f.add(row("LONG-REF", reference_number="R" * 201), "key_too_long")
    f.add(row(ID_OF_200), "loaded")
    f.blank()
    for source, listing_id in SEP_PAIRS:
        f.add(row(listing_id, source=source), "loaded")
    f.add(row("OK-1", scraped_at="2026-11-20T10:00:00Z"), "duplicate")  # older copy: the first one stays
    f.add(row("NO-PRICE", price=""), "no_price")
    f.blank(3)
    corpus.write(f)


def file_family(corpus: Corpus) -> None:
    """Whole-file cases: line endings, gzip, letter case, repeated headers, objects that are not raw files."""
    crlf = CsvFile(f"{FOLDER}/crlf.csv", newline="\r\n")
    crlf.add(row("CRLF-1"), "loaded")
    crlf.blank()
    crlf.add(row("CRLF-2", price="12,50,0"), "unparseable_price")
    corpus.write(crlf)

    lone_cr = CsvFile(f"{FOLDER}/lone-cr.csv", newline="\r")
    lone_cr.add(row("CR-1"), "loaded")
    lone_cr.add(row("CR-2", title="quoted, with a comma"), "loaded")
    lone_cr.blank()
    lone_cr.add(row("CR-3", brand=""), "missing_brand")
    corpus.write(lone_cr)

    upper = CsvFile(f"{FOLDER}/UPPER.CSV")
    upper.add(row("UP-1"), "loaded")
    corpus.write(upper)

    zipped = CsvFile(f"{FOLDER}/zipped.csv.gz")
    zipped.add(row("GZ-1"), "loaded")
    zipped.add(row("GZ-2", currency="BTC"), "unknown_currency")
    corpus.write(zipped, data=gzip.compress(zipped.data()))

    latin = CsvFile(f"{FOLDER}/latin1.csv", header=(*HEADER, "notes"))
    latin.add(row("LATIN-1", brand=LATIN1_BRAND), "unstorable_character")
    latin.add(row("LATIN-2", notes="caf\udce9"), "loaded")  # not UTF-8 in an unknown column: never read
    latin.add(row("LATIN-3"), "loaded")
    corpus.write(latin)

    ragged = CsvFile(f"{FOLDER}/ragged.csv")
    ragged.add(row("RAGGED-1"), "loaded")
    ragged.blank()
    ragged.add(row("RAGGED-2"), "malformed_row", RAGGED_RECORD)  # an unquoted comma in the title
    ragged.add(row("RAGGED-3", title="two\nlines"), "loaded")
    ragged.add(row("RAGGED-4"), "malformed_row", "short,row")
    corpus.write(ragged)

    extra = CsvFile(f"{FOLDER}/repeated-extra.csv", header=(*HEADER, "notes", "notes"))
    extra.add(row("EXTRA-1", notes="ignored"), "loaded")
    corpus.write(extra)

    (corpus.root / FOLDER / "not-gzip.csv.gz").write_bytes(b"listing_id,source\nthis is not gzip\n")
    corpus.files.append(FileCase(f"{FOLDER}/not-gzip.csv.gz", "rejected", "malformed_gzip"))

    twice = CsvFile(f"{FOLDER}/price-twice.csv", header=(*HEADER, "Price "))
    twice.add(row("TWICE-1"), "in_rejected_file")
    (corpus.root / twice.name).write_bytes(twice.data())
    corpus.files.append(FileCase(twice.name, "rejected", "duplicate_columns", "price (columns 6, 10)"))

    for name, reason in (
        ("notes.txt", "not_a_csv_file"),
        ("README", "not_a_csv_file"),
        ("listings.csv.bak", "not_a_csv_file"),
        ("sub/inner.csv", "in_sub_folder"),
        ("empty-dir/", "in_sub_folder"),
    ):
        path = corpus.root / FOLDER / name
        if name.endswith("/"):
            path.mkdir(parents=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(CsvFile("x").data())
        corpus.files.append(FileCase(f"{FOLDER}/{name}", "ignored", reason))
    (corpus.root / FOLDER / "_SUCCESS").write_bytes(b"")


def week_family(corpus: Corpus) -> None:
    """Weeks as a whole: only a rejected file, no raw file at all, scraped before the first ECB rate."""
    only = CsvFile(f"{UNLOADABLE_FOLDER}/only.csv", header=("price", *HEADER))
    only.add(row("ONLY-1", scraped_at="2026-11-14"), "in_rejected_file")
    (corpus.root / only.name).parent.mkdir(parents=True)
    (corpus.root / only.name).write_bytes(only.data())
    corpus.files.append(FileCase(only.name, "rejected", "duplicate_columns", "price (columns 1, 7)"))

    (corpus.root / NO_RAW_FILE_FOLDER).mkdir(parents=True)
    (corpus.root / NO_RAW_FILE_FOLDER / "notes.txt").write_bytes(b"the scraper wrote no CSV this week\n")
    corpus.files.append(FileCase(f"{NO_RAW_FILE_FOLDER}/notes.txt", "ignored", "not_a_csv_file"))

    early = CsvFile(f"{EARLY_FOLDER}/early.csv")
    early.add(row("EARLY-USD", scraped_at="1998-12-26"), "loaded")
    early.add(row("EARLY-EUR", scraped_at="1998-12-26", price="€ 9.800", currency=""), "no_exchange_rate")
    early.add(row("EARLY-CHF", scraped_at="1998-12-26", currency="CHF"), "no_exchange_rate")
    corpus.write(early)


def folder_family(corpus: Corpus) -> None:
    """Folders that are not scrapes, each holding a file that would load if it were read."""
    for folder in NOT_SCRAPES:
        stray = CsvFile(f"{folder}/stray.csv")
        stray.add(row("STRAY"), "never_read")
        (corpus.root / folder).mkdir(parents=True)
        (corpus.root / stray.name).write_bytes(stray.data())


def build(root: Path) -> Corpus:
    """Write the whole hostile root under ``root``."""
    corpus = Corpus(root)
    (root / FOLDER).mkdir(parents=True)
    row_family(corpus)
    file_family(corpus)
    week_family(corpus)
    folder_family(corpus)
    return corpus
