"""The hostile corpus through `ingest run --all`, against a real PostgreSQL: every case's outcome.

One run of the command covers every case (three market weeks and four folders that are not
scrapes): each row is loaded, quarantined with its reason and physical line, or counted as a
duplicate; each object of a scrape folder has its line in the file ledger; and for every week
rows read = loaded + quarantined + duplicates, in the ledger and in the tables.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

import psycopg
import pytest
from hostile_corpus import (
    EARLY_WEEK,
    ID_OF_200,
    LATIN1_BRAND_ESCAPED,
    LONG_ID,
    NO_RAW_FILE_WEEK,
    NOT_SCRAPES,
    NUL_TITLE_ESCAPED,
    RAGGED_RECORD,
    SEP_PAIRS,
    UNLOADABLE_WEEK,
    WEEK,
    Corpus,
    build,
)

from ingest.settings import get_settings
from ingest.steps.week import IngestError, merge_week, plan_week, process_chunk, validate_week

ROW_REASONS = {
    "malformed_row",
    "unstorable_character",
    "key_too_long",
    "price_out_of_bounds",
    "no_price",
    "unparseable_price",
    "missing_brand",
    "unknown_currency",
    "no_exchange_rate",
}


@pytest.fixture(scope="module")
def ran(warehouse_env: str, tmp_path_factory: pytest.TempPathFactory) -> dict:
    corpus = build(tmp_path_factory.mktemp("hostile"))
    done = subprocess.run(
        [sys.executable, "-m", "ingest.cli", "run", "--source", str(corpus.root), "--all", "--quiet"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    return {"corpus": corpus, "done": done, "dsn": warehouse_env}


def _rows(dsn: str, sql: str, *params: object) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql, params).fetchall()


def _run_of(dsn: str, week: object) -> tuple:
    """The ledger row of the command's run of ``week`` (the first run of that week)."""
    (run,) = _rows(
        dsn,
        "select run_id::text, status, error, rows_read, rows_loaded, rows_quarantined, rows_duplicate, "
        "files_total, files_loaded, files_rejected, files_ignored, files_empty, quarantined_by_reason "
        "from raw.ingest_runs where market_week = %s order by started_at limit 1",
        week,
    )
    return run


def test_one_failed_week_does_not_stop_the_others(ran: dict) -> None:
    done = ran["done"]
    assert done.returncode == 1, done.stderr
    assert "2/4 weeks loaded" in done.stdout
    failures = [line for line in done.stderr.splitlines() if "not loaded" in line]
    assert len(failures) == 2
    assert failures[0].startswith(
        f"ingest run: week {NO_RAW_FILE_WEEK} not loaded: the scrape folder(s) 2026-11-07 of week "
        f"{NO_RAW_FILE_WEEK} hold no raw file (*.csv, *.csv.gz); 1 other object(s) ignored, "
        "e.g. scrape_date=2026-11-07/notes.txt (recorded under run "
    )
    assert failures[1].startswith(
        f"ingest run: week {UNLOADABLE_WEEK} not loaded: week {UNLOADABLE_WEEK} has no loadable"
    )
    assert "1 file(s) rejected (scrape_date=2026-11-14/only.csv: duplicate_columns)" in failures[1]


def test_folders_that_are_not_scrapes_are_skipped_with_a_warning(ran: dict) -> None:
    stderr = ran["done"].stderr
    for folder in NOT_SCRAPES:
        assert stderr.count(f"skipping folder {folder} ") == 1, stderr
    assert "scrape_date=2026-02-30 under" in stderr and "2026-02-30 is not a calendar date" in stderr
    assert "9999-12-31 is in the future" in stderr
    assert _rows(ran["dsn"], "select count(*) from raw.listings where listing_id = 'STRAY'") == [(0,)]
    weeks = _rows(ran["dsn"], "select market_week, status from raw.ingest_runs order by 1")
    assert weeks == [
        (EARLY_WEEK, "succeeded"),
        (NO_RAW_FILE_WEEK, "failed"),
        (UNLOADABLE_WEEK, "failed"),
        (WEEK, "succeeded"),
    ]


def test_every_row_has_its_outcome(ran: dict) -> None:
    corpus: Corpus = ran["corpus"]
    dsn = ran["dsn"]
    loaded = _rows(dsn, "select source_file, source_line, listing_id, source from raw.listings")
    expected_loaded = [(r.file, r.line, r.listing_id, r.source) for r in corpus.rows_of("loaded")]
    assert sorted(loaded) == sorted(expected_loaded)
    quarantined = _rows(dsn, "select source_file, line, reason from raw.quarantine where line is not null")
    expected = [(r.file, r.line, r.outcome) for r in corpus.rows if r.outcome in ROW_REASONS]
    assert sorted(quarantined) == sorted(expected)
    assert {r.outcome for r in corpus.rows} == ROW_REASONS | {"loaded", "duplicate"}  # every case is present


def test_counts_reconcile_in_the_ledger_and_the_tables(ran: dict) -> None:
    corpus: Corpus = ran["corpus"]
    dsn = ran["dsn"]
    for week, folder in ((WEEK, "scrape_date=2026-11-21/"), (EARLY_WEEK, "scrape_date=1998-12-26/")):
        _, status, error, read, loaded, quarantined, duplicates, *_ = _run_of(dsn, week)
        mine = [r for r in corpus.rows if r.file.startswith(folder)]
        outcomes = Counter("quarantined" if r.outcome in ROW_REASONS else r.outcome for r in mine)
        assert status == "succeeded" and error is None
        assert (loaded, quarantined, duplicates) == (outcomes["loaded"], outcomes["quarantined"], outcomes["duplicate"])
        assert read == loaded + quarantined + duplicates
        in_tables = _rows(
            dsn,
            "select (select count(*) from raw.listings where market_week = %s), "
            "(select count(*) from raw.quarantine where market_week = %s and line is not null)",
            week,
            week,
        )
        assert in_tables == [(loaded, quarantined)]
    # the main week, by hand: rows.csv 16 rows (5 loaded, 10 quarantined, 1 duplicate); crlf 2 (1, 1),
    # lone-cr 3 (2, 1), UPPER 1 (1), zipped 2 (1, 1), latin1 3 (2, 1), ragged 4 (2, 2),
    # repeated-extra 1 (1); price-twice.csv is not read
    run = _run_of(dsn, WEEK)
    assert run[3:7] == (32, 15, 16, 1)


def test_file_ledger_records_every_object(ran: dict) -> None:
    corpus: Corpus = ran["corpus"]
    ledger = {
        name: (status, reason, detail)
        for name, status, reason, detail in _rows(
            ran["dsn"], "select source_file, status, reason, detail from raw.ingest_files"
        )
    }
    assert set(ledger) == {f.file for f in corpus.files}
    assert "scrape_date=2026-11-21/_SUCCESS" not in ledger
    for case in corpus.files:
        status, reason, detail = ledger[case.file]
        assert (status, reason) == (case.status, case.reason), case.file
        if case.detail_has:
            assert case.detail_has in detail
    run = _run_of(ran["dsn"], WEEK)
    # files_total, loaded, rejected, ignored, empty: 8 read, 2 rejected, 5 ignored (_SUCCESS not counted)
    assert run[7:12] == (15, 8, 2, 5, 0)


def test_unloadable_week_records_its_rejections(ran: dict) -> None:
    dsn = ran["dsn"]
    run_id, status, error, read, loaded, quarantined, duplicates, total, _, rejected, *_rest, by_reason = _run_of(
        dsn, UNLOADABLE_WEEK
    )
    assert status == "failed"
    assert error.startswith(f"week {UNLOADABLE_WEEK} has no loadable row: 1 object(s), 1 file(s) rejected")
    assert (read, loaded, quarantined, duplicates, total, rejected) == (0, 0, 0, 0, 1, 1)
    assert by_reason == {"duplicate_columns": 1}
    assert _rows(
        dsn,
        "select source_file, reason, ingest_run_id::text from raw.quarantine where market_week = %s",
        UNLOADABLE_WEEK,
    ) == [("scrape_date=2026-11-14/only.csv", "duplicate_columns", run_id)]
    assert _rows(dsn, "select count(*) from raw.listings where market_week = %s", UNLOADABLE_WEEK) == [(0,)]


def test_nul_bytes_are_quarantined_and_stored_escaped(ran: dict) -> None:
    rows = _rows(
        ran["dsn"],
        "select listing_id, detail, raw_row from raw.quarantine where reason = 'unstorable_character' order by line",
    )
    rows = [r for r in rows if r[0] != "LATIN-1"]
    assert [r[0] for r in rows] == ["NUL-TITLE", "NUL\\u0000ID", "NUL-POA"]
    assert rows[0][1].startswith("NUL (U+0000) in title;")
    assert rows[1][1].startswith("NUL (U+0000) in listing_id;")
    assert rows[0][2]["title"] == "Sub\\u0000mariner"
    assert rows[2][2]["title"] == NUL_TITLE_ESCAPED
    assert rows[2][2]["price"] == "POA"
    # the escape is reversible: doubled backslashes and \u0000 give back the raw bytes
    restored = json.loads('"' + NUL_TITLE_ESCAPED.replace('"', '\\"') + '"')
    assert restored == "a\\b\x00c"


def test_bytes_that_are_not_utf8_quarantine_their_row_only(ran: dict) -> None:
    dsn = ran["dsn"]
    ((detail, raw_row),) = _rows(dsn, "select detail, raw_row from raw.quarantine where listing_id = 'LATIN-1'")
    assert detail.startswith("bytes that are not UTF-8 in brand; in raw_row those values are escaped")
    assert raw_row["brand"] == LATIN1_BRAND_ESCAPED
    loaded = _rows(dsn, "select listing_id from raw.listings where source_file like '%%latin1.csv' order by 1")
    assert loaded == [("LATIN-2",), ("LATIN-3",)]


def test_a_row_of_the_wrong_field_count_is_quarantined_alone(ran: dict) -> None:
    rows = _rows(
        ran["dsn"],
        "select line, detail, raw_row from raw.quarantine where reason = 'malformed_row' order by line",
    )
    assert [(line, detail.split(";")[0], raw["_record"]) for line, detail, raw in rows] == [
        (4, "10 fields where the header has 9", RAGGED_RECORD),
        (7, "2 fields where the header has 9", "short,row"),
    ]


def test_over_long_keys_and_huge_prices(ran: dict) -> None:
    dsn = ran["dsn"]
    details = dict(_rows(dsn, "select listing_id, detail from raw.quarantine where reason = 'key_too_long'"))
    assert details[LONG_ID] == "listing_id of 5000 characters (at most 200)"
    assert details["LONG-SOURCE"] == "source of 201 characters (at most 200)"
    assert details["LONG-BRAND"] == "brand of 201 characters (at most 200)"
    assert details["LONG-REF"] == "reference_number of 201 characters (at most 200)"
    assert _rows(dsn, "select count(*) from raw.listings where listing_id = %s", ID_OF_200) == [(1,)]
    huge = dict(_rows(dsn, "select listing_id, detail from raw.quarantine where listing_id like 'PRICE-%%'"))
    assert set(huge) == {"PRICE-400", "PRICE-5000"}
    assert all("too large for any amount" in d for d in huge.values())


def test_dedup_compares_source_and_listing_id_as_a_pair(ran: dict) -> None:
    rows = _rows(
        ran["dsn"],
        "select source, listing_id from raw.listings where listing_id like '%%' || chr(31) || '%%' "
        "or source like '%%' || chr(31) || '%%' order by 1",
    )
    assert rows == sorted(SEP_PAIRS)


def test_no_exchange_rate_before_the_first_ecb_rate(ran: dict) -> None:
    dsn = ran["dsn"]
    rows = _rows(
        dsn, "select listing_id, reason, detail from raw.quarantine where market_week = %s order by line", EARLY_WEEK
    )
    assert [(r[0], r[1]) for r in rows] == [("EARLY-EUR", "no_exchange_rate"), ("EARLY-CHF", "no_exchange_rate")]
    assert "on or before 1998-12-26" in rows[0][2]
    usd = _rows(dsn, "select price_usd, usd_per_unit from raw.listings where market_week = %s", EARLY_WEEK)
    assert [(float(p), u) for p, u in usd] == [(12500.0, 1.0)]


def test_the_scheduled_steps_record_an_unloadable_week_too(ran: dict) -> None:
    # what the DAG's tasks call: plan, chunks, merge, then validate, which refuses the empty week
    settings = get_settings()
    plan = plan_week(str(ran["corpus"].root), UNLOADABLE_WEEK, settings)
    merged = merge_week(plan, [process_chunk(plan, i) for i in plan.chunk_indexes])
    with pytest.raises(IngestError, match=f"^week {UNLOADABLE_WEEK} has no loadable row: 1 object"):
        validate_week(plan, merged, settings)
    dsn = ran["dsn"]
    assert _rows(dsn, "select status, files_rejected from raw.ingest_runs where run_id = %s", plan.run_id) == [
        ("failed", 1)
    ]
    assert _rows(dsn, "select reason from raw.ingest_files where run_id = %s", plan.run_id) == [("duplicate_columns",)]
    assert _rows(dsn, "select reason from raw.quarantine where ingest_run_id = %s", plan.run_id) == [
        ("duplicate_columns",)
    ]
