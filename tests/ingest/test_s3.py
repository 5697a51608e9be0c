"""The ingest reading raw files from, and staging to, a real S3 API over HTTP (moto in server mode)."""

from __future__ import annotations

import io
from collections.abc import Iterator
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
