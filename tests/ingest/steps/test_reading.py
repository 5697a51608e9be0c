"""Reading raw files: which folders are scrapes, which objects are raw files, whole-file rejections."""

from __future__ import annotations

import gzip
from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest

from ingest.steps import cleaning, reading
from ingest.steps.reading import FileRejected, folder_date, is_raw_file_name, parse_csv_bytes, read_file, week_files
from ingest.steps.results import SourceFile

HEADER = "listing_id,source,scraped_at,brand,reference_number,price,currency,condition"
ROW = "A1,chrono24.com,2026-11-21,Rolex,126610LN,12500,USD,New"


@pytest.mark.parametrize(
    ("name", "found"),
    [
        ("scrape_date=2026-11-21", date(2026, 11, 21)),
        ("scrape_date=2024-02-29", date(2024, 2, 29)),
        ("scrape_date=2026-02-30", "2026-02-30 is not a calendar date"),
        ("scrape_date=2025-02-29", "2025-02-29 is not a calendar date"),
        ("scrape_date=9999-12-31", "9999-12-31 is in the future"),
        ("scrape_date=2026-12-03", "2026-12-03 is in the future"),
        ("scrape_date=2026-11-2", "its name is not scrape_date=YYYY-MM-DD"),
        ("scrape_date=2026-11-21.bak", "its name is not scrape_date=YYYY-MM-DD"),
        ("_tmp", "its name is not scrape_date=YYYY-MM-DD"),
    ],
)
def test_folder_date(name: str, found: date | str) -> None:
    assert folder_date(name, today=date(2026, 12, 2)) == found


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        *[(name, True) for name in ("a.csv", "A.CSV", "a.Csv", "a.csv.gz", "a.CSV.GZ")],
        *[(name, False) for name in ("a.txt", "a.csv.bak", "a.gz", "_SUCCESS", "csv")],
    ],
)
def test_raw_file_names(name: str, raw: bool) -> None:
    assert is_raw_file_name(name) is raw


def test_week_files_classifies_every_object(tmp_path: Path) -> None:
    folder = tmp_path / "scrape_date=2026-11-21"
    (folder / "sub" / "deeper").mkdir(parents=True)
    (folder / "empty").mkdir()
    for name in ("a.csv", "B.CSV", "c.csv.gz", "notes.txt", "_SUCCESS", "sub/x.csv", "sub/deeper/y.csv"):
        (folder / name).write_bytes(b"")
    (tmp_path / "scrape_date=2026-02-30").mkdir()
    dates, files, ignored = week_files(str(tmp_path), date(2026, 11, 16))
    assert dates == [date(2026, 11, 21)]
    assert [f.name for f in files] == [f"scrape_date=2026-11-21/{n}" for n in ("B.CSV", "a.csv", "c.csv.gz")]
    assert [(f.source_file.split("/", 1)[1], f.status, f.reason) for f in ignored] == [
        ("empty/", "ignored", "in_sub_folder"),
        ("notes.txt", "ignored", "not_a_csv_file"),
        ("sub/deeper/y.csv", "ignored", "in_sub_folder"),
        ("sub/x.csv", "ignored", "in_sub_folder"),
    ]


def test_a_folder_that_is_not_a_scrape_warns_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "scrape_date=2026-02-30").mkdir()
    (tmp_path / "scrape_date=2026-11-21").mkdir()
    (tmp_path / "_simulator").mkdir()  # a tool's own folder: skipped without a word
    (tmp_path / ".cache").mkdir()
    with caplog.at_level("WARNING", logger="ingest.steps.reading"):
        assert reading.scrape_folders(str(tmp_path)) == [(date(2026, 11, 21), "scrape_date=2026-11-21")]
        assert reading.scrape_folders(str(tmp_path)) == [(date(2026, 11, 21), "scrape_date=2026-11-21")]
    assert [r.getMessage() for r in caplog.records] == [
        f"skipping folder scrape_date=2026-02-30 under {tmp_path}: "
        "not a scrape folder (2026-02-30 is not a calendar date)"
    ]


@pytest.mark.parametrize(
    ("header", "detail"),
    [
        (f"{HEADER},price", "required column(s) named more than once: price (columns 6, 9)"),
        (f"{HEADER}, Source ,PRICE", "source (columns 2, 9); price (columns 6, 10)"),
    ],
)
def test_a_required_column_named_twice_rejects_the_file(header: str, detail: str) -> None:
    with pytest.raises(FileRejected) as caught:
        parse_csv_bytes(f"{header}\n{ROW},x\n".encode())
    assert caught.value.reason == "duplicate_columns"
    assert caught.value.detail.endswith(detail)


def test_repeated_extra_and_optional_columns_are_not_ambiguous() -> None:
    table, rows = parse_csv_bytes(f"{HEADER},extra,title,EXTRA,Title\n{ROW},e1,first,e2,second\n".encode())
    assert rows == 1
    assert table.column("title").to_pylist() == ["first"]
    assert "extra" not in table.column_names


def _file(path: Path) -> SourceFile:
    return SourceFile(str(path), f"scrape_date=2026-11-21/{path.name}", path.stat().st_size, date(2026, 11, 21))


def test_gzip_files(tmp_path: Path) -> None:
    good = tmp_path / "good.csv.gz"
    good.write_bytes(gzip.compress(f"{HEADER}\n{ROW}\n".encode()))
    bad = tmp_path / "bad.csv.gz"
    bad.write_bytes(f"{HEADER}\n{ROW}\n".encode())
    empty = tmp_path / "empty.csv.gz"
    empty.write_bytes(b"")
    read = read_file(_file(good))
    assert (read.status, read.rows_read, read.table.column("listing_id").to_pylist()) == ("loaded", 1, ["A1"])
    rejected = read_file(_file(bad))
    assert (rejected.status, rejected.reason) == ("rejected", "malformed_gzip")
    assert rejected.detail.startswith("not a readable gzip file")
    assert read_file(_file(empty)).status == "empty"


def test_lone_cr_header_is_read(tmp_path: Path) -> None:
    path = tmp_path / "mac.csv"
    path.write_bytes(f"{HEADER}\r{ROW}\r{ROW.replace('A1', 'A2')}\r".encode())
    read = read_file(_file(path))
    assert (read.status, read.rows_read) == ("loaded", 2)
    assert read.table.column("_line").to_pylist() == [2, 3]


def test_an_unforeseen_parser_error_rejects_that_file_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "odd.csv"
    path.write_bytes(f"{HEADER}\n{ROW}\n".encode())

    def boom(_data: bytes) -> None:
        raise OverflowError("a value no rule foresaw")

    monkeypatch.setattr(reading, "parse_csv_bytes", boom)
    read = read_file(_file(path))
    assert (read.status, read.reason, read.detail, read.rows_read) == (
        "rejected",
        "unprocessable_file",
        "OverflowError: a value no rule foresaw",
        1,
    )


def test_an_unforeseen_cleaning_error_rejects_that_file_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    paths = []
    for name, listing_id in (("good.csv", "G1"), ("poison.csv", "P1")):
        paths.append(tmp_path / name)
        paths[-1].write_bytes(f"{HEADER}\n{ROW.replace('A1', listing_id)}\n".encode())
    real = cleaning._clean_table

    def fragile(table: pa.Table, reads: list[reading.FileRead]) -> tuple[pa.Table, pa.Table]:
        if "P1" in table.column("listing_id").to_pylist():
            raise KeyError("poison")
        return real(table, reads)

    monkeypatch.setattr(cleaning, "_clean_table", fragile)
    chunk = cleaning.clean_files([read_file(_file(p)) for p in paths])
    assert chunk.listings.column("listing_id").to_pylist() == ["G1"]
    assert [(f.source_file, f.status, f.reason) for f in chunk.files] == [
        ("scrape_date=2026-11-21/good.csv", "loaded", None),
        ("scrape_date=2026-11-21/poison.csv", "rejected", "unprocessable_file"),
    ]
    assert chunk.quarantine.column("reason").to_pylist() == ["unprocessable_file"]
    assert chunk.quarantine.column("detail").to_pylist() == ["KeyError: 'poison' (file rejected whole; 1 data rows)"]


def test_values_that_are_not_utf8_are_escaped_and_named_per_row() -> None:
    data = f"{HEADER},title,notes\n{ROW},S\xf6hne,x\n{ROW},ok,caf\xe9\n{ROW},a\\b\x00\xff,y\n".encode("latin-1")
    table, rows = parse_csv_bytes(data)
    assert rows == 3
    assert table.column("title").to_pylist() == ["S\\xf6hne", "ok", "a\\\\b\\u0000\\xff"]
    assert table.column(reading.NOT_UTF8_COLUMN).to_pylist() == ["title", None, "title"]  # notes is not read
    assert reading.escape_bytes(b"plain \\ text") == "plain \\\\ text"
