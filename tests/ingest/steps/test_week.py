"""The ingest end to end on hand-made scrape folders, against a real PostgreSQL.

Covers every quarantine reason, the whole-file faults, the dedup rule, the
outlier rule, physical line numbers, an idempotent rerun, the atomic replace
under a simulated failure, the ledger's reconciliation and the CLI contract.
"""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import psycopg
import pytest
from raw_week import BAD_ROWS, GOOD_ROWS, HEADER, WEEK, write_week

from ingest.runner.local import run_week
from ingest.settings import get_settings
from ingest.steps.results import ValidationReport, WeekPlan
from ingest.steps.validation import ValidationFailed, validate_listings
from ingest.steps.week import IngestError, load_week, merge_week, plan_week, process_chunk


@pytest.fixture(scope="module")
def loaded(warehouse_env: str, tmp_path_factory: pytest.TempPathFactory) -> dict:
    raw = write_week(tmp_path_factory.mktemp("raw"))
    summary = run_week(str(raw), WEEK, get_settings())
    return {"raw": raw, "summary": summary, "dsn": warehouse_env}


def _rows(dsn: str, sql: str, *params: object) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql, params).fetchall()


def test_every_quarantine_reason_once(loaded: dict) -> None:
    rows = _rows(loaded["dsn"], "select reason, line, listing_id from raw.quarantine where line is not null")
    by_reason = {reason: (line, lid) for reason, line, lid in rows}
    assert set(by_reason) == set(BAD_ROWS)
    first_bad_line = 2 + len(GOOD_ROWS)
    for offset, reason in enumerate(BAD_ROWS):
        assert by_reason[reason][0] == first_bad_line + offset


def test_whole_file_faults(loaded: dict) -> None:
    rows = _rows(loaded["dsn"], "select source_file, status, reason, detail from raw.ingest_files")
    files = {name: (status, reason, detail) for name, status, reason, detail in rows}
    assert files["scrape_date=2026-11-21/watchuseek.csv"][:2] == ("rejected", "missing_required_columns")
    assert "reference_number" in files["scrape_date=2026-11-21/watchuseek.csv"][2]
    assert files["scrape_date=2026-11-21/broken.csv"][:2] == ("rejected", "malformed_csv")
    assert files["scrape_date=2026-11-21/empty.csv"][0] == "empty"
    assert files["scrape_date=2026-11-21/header-only.csv"][0] == "empty"
    file_level = _rows(loaded["dsn"], "select source_file, reason from raw.quarantine where line is null")
    assert sorted(file_level) == [
        ("scrape_date=2026-11-21/broken.csv", "malformed_csv"),
        ("scrape_date=2026-11-21/watchuseek.csv", "missing_required_columns"),
    ]


def test_ledger_reconciles(loaded: dict) -> None:
    s = loaded["summary"]
    assert s.count("rows_read") == len(GOOD_ROWS) + len(BAD_ROWS) + 3 + 1
    assert s.count("rows_duplicate") == 2
    assert s.count("rows_loaded") == len(GOOD_ROWS) + 2
    assert s.count("rows_quarantined") == len(BAD_ROWS)
    assert s.count("rows_read") == s.count("rows_loaded") + s.count("rows_quarantined") + s.count("rows_duplicate")
    ledger = _rows(
        loaded["dsn"],
        "select status, rows_read, rows_loaded, rows_quarantined, rows_duplicate, "
        "files_total, files_rejected, files_empty from raw.ingest_runs",
    )
    assert ledger == [("succeeded", s.count("rows_read"), s.count("rows_loaded"), len(BAD_ROWS), 2, 7, 2, 2)]


def test_cleaned_values(loaded: dict) -> None:
    rows = {
        r[0]: r[1:]
        for r in _rows(
            loaded["dsn"],
            "select listing_id, brand, reference_number, currency, price_local::float, price_usd::float, "
            "condition, parent_model, model_resolved_from, usd_per_unit from raw.listings",
        )
    }
    assert rows["G1"][:5] == ("Rolex", "126610LN", "USD", 12500.0, 12500.0)
    assert rows["G2"][2:4] == ("EUR", 9800.0) and rows["G2"][5] == "unworn"
    assert math.isclose(rows["G2"][4], round(9800 * rows["G2"][8], 2))
    assert rows["G3"][2:4] == ("CHF", 12500.0) and rows["G3"][5] == "new"
    assert rows["G4"][2:4] == ("CHF", 12500.0) and rows["G4"][5] == "good"
    assert rows["G5"][:4] == ("Patek Philippe", "5711/1A010", "JPY", 1234500.0)
    assert rows["G6"][2:4] == ("JPY", 760000.0) and rows["G6"][5] == "unworn"
    assert rows["G7"][2:4] == ("USD", 120000.0) and rows["G7"][5] == "preowned_unspecified"
    assert rows["G1"][6:8] == ("Submariner", "catalog")


def test_dedup_keeps_latest_then_lowest_file_line(loaded: dict) -> None:
    rows = dict(
        _rows(loaded["dsn"], "select listing_id, price_local::float from raw.listings where source = 'ebay.com'")
    )
    assert rows == {"E1": 13000.0, "E2": 13150.0}


def test_physical_line_numbers_count_quoted_newlines(loaded: dict) -> None:
    lines = dict(
        _rows(
            loaded["dsn"],
            "select listing_id, source_line from raw.listings where source = 'ebay.com' "
            "and source_file like '%%ebay.csv'",
        )
    )
    assert lines == {"E1": 2}  # E2 (line 4 of ebay.csv) lost to its later copy in ebay-2.csv
    older = _rows(loaded["dsn"], "select line from raw.quarantine where listing_id = 'E1'")
    assert older == []  # duplicates are counted, not quarantined
    q = _rows(loaded["dsn"], "select listing_id, source_line, title from raw.listings where listing_id = 'E1'")
    assert q[0][2] == 'two\nlines, "quoted"'


def test_outliers_flagged_within_reference_week(loaded: dict) -> None:
    flags = dict(
        _rows(
            loaded["dsn"],
            "select listing_id, is_outlier from raw.listings where reference_number = '126610LN'",
        )
    )
    # 8 Rolex listings around $12.5k-13k: none is an outlier
    assert not any(flags.values())
    patek = dict(
        _rows(
            loaded["dsn"],
            "select listing_id, is_outlier from raw.listings where reference_number = '5711/1A010'",
        )
    )
    assert len(patek) == 3 and not any(patek.values())  # n < 4: never flagged


def test_idempotent_rerun(loaded: dict) -> None:
    query = "select * from raw.listings order by source, listing_id"
    before = [r[:-1] for r in _rows(loaded["dsn"], query)]  # all but ingest_run_id
    run_week(str(loaded["raw"]), WEEK, get_settings())
    after = [r[:-1] for r in _rows(loaded["dsn"], query)]
    assert before == after
    assert _rows(loaded["dsn"], "select count(*) from raw.quarantine")[0][0] == len(BAD_ROWS) + 2
    partitions = _rows(loaded["dsn"], "select count(*) from pg_inherits where inhparent = 'raw.listings'::regclass")
    assert partitions == [(1,)]


def test_week_partition_is_frozen_analyzed_and_left_by_autovacuum(loaded: dict) -> None:
    partition = f"raw.listings_{WEEK:%Y%m%d}"
    options, pages, all_visible = _rows(
        loaded["dsn"],
        "select reloptions, relpages, relallvisible from pg_class where oid = %s::regclass",
        partition,
    )[0]
    assert options == ["autovacuum_enabled=false"]
    assert pages > 0 and all_visible == pages  # COPY FREEZE: every page all-visible (as ANALYZE counted)
    analyzed = _rows(
        loaded["dsn"],
        "select count(*) from pg_stats where schemaname = 'raw' and tablename = %s",
        partition.split(".")[1],
    )
    assert analyzed[0][0] >= 20  # statistics for (nearly) every column, from the load's ANALYZE
    key = _rows(
        loaded["dsn"],
        "select pg_get_indexdef(indexrelid) from pg_index where indrelid = %s::regclass and indisprimary",
        partition,
    )
    assert key and "(listing_id, source, market_week)" in key[0][0]


def test_crash_mid_load_keeps_previous_state(loaded: dict, tmp_path: Path) -> None:
    before = _rows(loaded["dsn"], "select listing_id, price_usd from raw.listings order by 1")
    raw = tmp_path / "raw"
    folder = raw / "scrape_date=2026-11-21"
    folder.mkdir(parents=True)
    (folder / "only.csv").write_text(HEADER + "\nN1,new.com,2026-11-21,Rolex,126610LN,14000,USD,New\n")
    settings = get_settings()
    plan = plan_week(str(raw), WEEK, settings)
    merged = merge_week(plan, [process_chunk(plan, 0)])

    def crash() -> ValidationReport:  # runs inside the load's transaction, after the COPY
        raise RuntimeError("simulated crash before commit")

    with pytest.raises(RuntimeError, match="simulated crash"):
        load_week(plan, merged, crash, settings)
    assert _rows(loaded["dsn"], "select listing_id, price_usd from raw.listings order by 1") == before
    status = _rows(loaded["dsn"], "select status, error from raw.ingest_runs where run_id = %s", plan.run_id)
    assert status[0][0] == "failed" and "simulated crash" in status[0][1]


def test_plan_round_trips_through_json(loaded: dict) -> None:
    plan = plan_week(str(loaded["raw"]), WEEK, get_settings(), chunk_files=2)
    assert plan.chunk_indexes == [0, 1, 2, 3]
    assert WeekPlan.from_dict(plan.to_dict()) == plan


def test_plan_rejects_non_monday_and_missing_week(loaded: dict) -> None:
    with pytest.raises(IngestError, match="Monday"):
        plan_week(str(loaded["raw"]), date(2026, 11, 18), get_settings())
    with pytest.raises(IngestError, match="no scrape_date"):
        plan_week(str(loaded["raw"]), date(2026, 11, 9), get_settings())


def test_validation_names_failed_expectations() -> None:
    import pandas as pd

    from ingest.steps.schema import LISTINGS

    columns = LISTINGS.names
    row = dict.fromkeys(columns) | {
        "market_week": "2026-11-16",
        "source": "a.com",
        "listing_id": "1",
        "scraped_at": pd.Timestamp("2026-11-21"),
        "brand": "Rolex",
        "reference_number": "X",
        "condition": "new",
        "currency": "USD",
        "price_local": 50.0,
        "price_usd": 50.0,
        "is_outlier": False,
    }
    frame = pd.DataFrame([row, row | {"listing_id": "2", "currency": "XXX", "price_usd": 500.0}])
    with pytest.raises(ValidationFailed) as err:
        validate_listings(frame, None, columns, "2026-11-16", 1, 10)
    failed = {f["expectation"] for f in err.value.report.failed}
    assert failed == {"expect_column_values_to_be_between", "expect_column_values_to_be_in_set"}
    text = str(err.value)
    with pytest.raises(ValidationFailed, match="expect_table_columns_to_match_ordered_list"):
        validate_listings(frame.drop(columns=["title"]), None, columns, "2026-11-16", 1, 10)
    assert "price_usd" in text and "'listing_id': '1'" in text


def test_validate_values_reports_failures_from_arrow() -> None:
    """The runner's path: Arrow value columns (dictionary-encoded for GX) and the full schema."""
    from datetime import UTC, datetime

    import pyarrow as pa

    from ingest.steps.schema import LISTINGS
    from ingest.steps.validation import VALUE_COLUMNS
    from ingest.steps.week import validate_values

    schema = LISTINGS.arrow_schema
    rows = [
        ("a.com", "1", "USD", "new", 5_000.0),
        ("a.com", "1", "XXX", "new", 6_000.0),  # the same key twice, an unknown currency
        ("b.com", "7", "EUR", "mint", 7_000.0),  # not a condition category
    ]
    values = pa.table(
        {
            "market_week": pa.array([date(2026, 11, 16)] * 3, pa.date32()),
            "source": [r[0] for r in rows],
            "listing_id": [r[1] for r in rows],
            "scraped_at": pa.array([datetime(2026, 11, 21, tzinfo=UTC)] * 3, pa.timestamp("us", tz="UTC")),
            "brand": ["Rolex"] * 3,
            "reference_number": ["126610LN"] * 3,
            "condition": [r[3] for r in rows],
            "currency": [r[2] for r in rows],
            "price_local": [r[4] for r in rows],
            "price_usd": [r[4] for r in rows],
            "is_outlier": [False] * 3,
        }
    ).select(list(VALUE_COLUMNS))
    plan = WeekPlan("run", date(2026, 11, 16), "", "", [], [], 8)
    with pytest.raises(ValidationFailed) as err:
        validate_values(plan, values, schema, get_settings())
    failed = {f["expectation"]: f for f in err.value.report.failed}
    assert set(failed) == {
        "expect_compound_columns_to_be_unique",
        "expect_column_values_to_be_in_set",
    }
    assert failed["expect_compound_columns_to_be_unique"]["unexpected_count"] == 2
    in_set = [f for f in err.value.report.failed if f["expectation"] == "expect_column_values_to_be_in_set"]
    assert sorted(f["kwargs"]["column"] for f in in_set) == ["condition", "currency"]
    assert "'listing_id': '7'" in str(err.value) and "'listing_id': '1'" in str(err.value)
    report = validate_values(plan, values.slice(0, 1), schema, get_settings())
    assert report.success and report.rows == 1
