"""The ingest reading raw files from, and staging to, a real S3 API over HTTP (moto in server mode)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import boto3
import psycopg
import pyarrow.parquet as pq
import pytest
from moto.server import ThreadedMotoServer
from raw_week import BAD_ROWS, GOOD_ROWS, WEEK, write_week

from ingest import storage
from ingest.runner.local import run_week
from ingest.settings import get_settings
from ingest.steps.reading import week_files
from ingest.steps.week import discover_weeks


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    mp = pytest.MonkeyPatch()
    mp.setenv("AWS_ENDPOINT_URL_S3", endpoint)
    mp.setenv("AWS_ACCESS_KEY_ID", "testing")
    mp.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    mp.setenv("AWS_DEFAULT_REGION", "us-east-1")
    storage.s3_client.cache_clear()
    try:
        yield endpoint
    finally:
        mp.undo()
        storage.s3_client.cache_clear()
        server.stop()


def test_week_from_s3_to_s3_staging(
    s3_endpoint: str, warehouse_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = boto3.client("s3", endpoint_url=s3_endpoint)
    client.create_bucket(Bucket="watch-raw")
    local = write_week(tmp_path / "raw")
    for path in sorted(local.rglob("*.csv")):
        client.put_object(
            Bucket="watch-raw", Key=f"scrapes/{path.relative_to(local).as_posix()}", Body=path.read_bytes()
        )
    monkeypatch.setenv("STAGING_ROOT", "s3://watch-raw/staging")
    get_settings.cache_clear()

    summary = run_week("s3://watch-raw/scrapes", WEEK, get_settings())

    assert summary.count("rows_loaded") == len(GOOD_ROWS) + 2
    assert summary.count("rows_quarantined") == len(BAD_ROWS)
    assert summary.count("files_total") == 7 and summary.count("files_rejected") == 2
    keys = {o["Key"] for o in client.list_objects_v2(Bucket="watch-raw", Prefix="staging/")["Contents"]}
    assert keys == {
        f"staging/market_week={WEEK}/listings.parquet",
        f"staging/market_week={WEEK}/quarantine.parquet",
    }  # the chunk files are cleaned up after the load
    body = client.get_object(Bucket="watch-raw", Key=f"staging/market_week={WEEK}/listings.parquet")["Body"]
    staged = pq.read_table(io.BytesIO(body.read()))
    assert staged.num_rows == summary.count("rows_loaded")
    with psycopg.connect(warehouse_env) as conn:
        loaded = conn.execute("select count(*) from raw.listings where market_week = %s", (WEEK,)).fetchone()[0]
        files = conn.execute("select count(*) from raw.ingest_files").fetchone()[0]
    assert loaded == staged.num_rows
    assert files == 7
    assert summary.market_week == WEEK


def test_scrape_folder_objects_on_s3_are_classified_like_local_ones(s3_endpoint: str, tmp_path: Path) -> None:
    client = boto3.client("s3", endpoint_url=s3_endpoint)
    client.create_bucket(Bucket="watch-odd")
    folder = "scrapes/scrape_date=2026-11-21"
    keys = ["a.csv", "B.CSV", "c.csv.gz", "notes.txt", "_SUCCESS", "sub/x.csv", "empty/"]
    for key in [*(f"{folder}/{k}" for k in keys), "scrapes/scrape_date=2026-02-30/x.csv", "scrapes/misc/y.csv"]:
        client.put_object(Bucket="watch-odd", Key=key, Body=b"")
    local = tmp_path / "scrapes"
    for key in keys:
        path = local / "scrape_date=2026-11-21" / key
        if key.endswith("/"):
            path.mkdir(parents=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"")

    on_s3 = week_files("s3://watch-odd/scrapes", WEEK)
    here = week_files(str(local), WEEK)
    assert on_s3[0] == here[0] == [date(2026, 11, 21)]
    assert (
        [f.name for f in on_s3[1]]
        == [f.name for f in here[1]]
        == [f"scrape_date=2026-11-21/{name}" for name in ("B.CSV", "a.csv", "c.csv.gz")]
    )
    assert (
        [(f.source_file, f.reason) for f in on_s3[2]]
        == [(f.source_file, f.reason) for f in here[2]]
        == [
            ("scrape_date=2026-11-21/empty/", "in_sub_folder"),
            ("scrape_date=2026-11-21/notes.txt", "not_a_csv_file"),
            ("scrape_date=2026-11-21/sub/x.csv", "in_sub_folder"),
        ]
    )
    assert discover_weeks("s3://watch-odd/scrapes") == [WEEK]
