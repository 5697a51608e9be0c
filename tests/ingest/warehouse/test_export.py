"""The marts' weeks published as Parquet: to a local folder and to S3 (moto over HTTP), replaced whole.

One fresh database: three synthetic weeks loaded, then ``dbt run`` builds brand_price_metrics
(and what it reads). Every test compares the exported rows with the mart's own rows.
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import boto3
import psycopg
import pyarrow.parquet as pq
import pytest
from moto.server import ThreadedMotoServer

from ingest import storage
from ingest.orchestration.dbt import run_dbt
from ingest.settings import Settings, get_settings
from ingest.warehouse.export import export_marts, read_exported_week

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "dbt"))
import synthetic_market as market

MART = "brand_price_metrics"
WEEKS = [market.week_start(w) for w in range(3)]


@pytest.fixture(scope="module")
def built(warehouse_env: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    with psycopg.connect(warehouse_env, autocommit=True) as conn:
        market.create_raw(conn)
        market.load_weeks(conn, range(3))
    work = tmp_path_factory.mktemp("dbt")
    paths = ["--target-path", str(work / "target"), "--log-path", str(work / "logs")]
    run_dbt(["run", "--select", f"+{MART}", *paths], get_settings())
    return warehouse_env


def _settings(export_root: str) -> Settings:
    return dataclasses.replace(get_settings(), export_root=export_root)


def mart_rows(dsn: str, week: date) -> tuple[list[str], list[tuple]]:
    with psycopg.connect(dsn) as conn:
        cur = conn.execute(f"select * from analytics.{MART} where market_week = %s", (week,))
        return [d.name for d in cur.description], cur.fetchall()


def assert_same_rows(dsn: str, week: date, exported) -> None:
    columns, rows = mart_rows(dsn, week)
    assert rows, f"the mart holds no rows for {week}"
    assert exported.column_names == columns
    got = sorted((tuple(r[c] for c in columns) for r in exported.to_pylist()), key=repr)
    want = sorted(rows, key=repr)
    assert len(got) == len(want)
    for g_row, w_row in zip(got, want, strict=True):
        for g, w in zip(g_row, w_row, strict=True):
            if isinstance(g, float) and isinstance(w, Decimal):  # numeric wider than 38 digits: float64
                assert math.isclose(g, float(w), rel_tol=1e-12)
            else:
                assert g == w


def test_local_export_then_rerun_replaces_the_week(built: str, tmp_path: Path) -> None:
    root = tmp_path / "exports"
    first = export_marts(_settings(str(root)), WEEKS[1:], marts=[MART], run="manual__1")
    assert set(first.weeks) == {MART}
    assert list(first.weeks[MART]) == [w.isoformat() for w in WEEKS[1:]]
    for week in WEEKS[1:]:
        folder = root / MART / f"market_week={week}"
        assert sorted(p.name for p in folder.iterdir()) == ["_manifest.json", f"part-{first.export_id}.parquet"]
        manifest = json.loads((folder / "_manifest.json").read_text())
        assert manifest["rows"] == first.weeks[MART][week.isoformat()] == len(mart_rows(built, week)[1])
        assert (manifest["mart"], manifest["market_week"], manifest["run"]) == (MART, week.isoformat(), "manual__1")
        assert_same_rows(built, week, pq.read_table(folder / manifest["file"]))
    summary = json.loads((root / "_exports" / f"{first.export_id}.json").read_text())
    assert summary["run"] == "manual__1" and summary["rows"] == first.rows
    assert summary["marts"] == [{"mart": MART, "weeks": first.weeks[MART], "rows": first.rows}]

    again = export_marts(_settings(str(root)), [WEEKS[2]], marts=[MART], run="manual__2")
    folder = root / MART / f"market_week={WEEKS[2]}"
    assert sorted(p.name for p in folder.iterdir()) == ["_manifest.json", f"part-{again.export_id}.parquet"]
    assert sorted(p.name for p in (root / MART).iterdir()) == [f"market_week={w}" for w in WEEKS[1:]]  # nothing aside
    assert_same_rows(built, WEEKS[2], read_exported_week(str(root), MART, WEEKS[2]))


def test_from_week_and_unbuilt_marts(built: str, tmp_path: Path) -> None:
    result = export_marts(_settings(str(tmp_path)), from_week=WEEKS[2])
    assert result.weeks == {MART: {WEEKS[2].isoformat(): len(mart_rows(built, WEEKS[2])[1])}}
    assert "reference_volatility" in result.missing and MART not in result.missing


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    mp = pytest.MonkeyPatch()
    for key, value in {
        "AWS_ENDPOINT_URL_S3": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        mp.setenv(key, value)
    mp.delenv("AWS_CONN_ID", raising=False)
    get_settings.cache_clear()
    storage.s3_client.cache_clear()
    try:
        yield endpoint
    finally:
        mp.undo()
        get_settings.cache_clear()
        storage.s3_client.cache_clear()
        server.stop()


def test_s3_export_switches_with_the_manifest(built: str, s3_endpoint: str) -> None:
    client = boto3.client("s3", endpoint_url=s3_endpoint)
    client.create_bucket(Bucket="watch-exports")
    root = "s3://watch-exports/marts"
    week = WEEKS[2]
    prefix = f"marts/{MART}/market_week={week}/"

    def keys() -> list[str]:
        return sorted(o["Key"] for o in client.list_objects_v2(Bucket="watch-exports", Prefix=prefix)["Contents"])

    first = export_marts(_settings(root), [week], marts=[MART], run="scheduled__1")
    assert keys() == [f"{prefix}_manifest.json", f"{prefix}part-{first.export_id}.parquet"]
    assert_same_rows(built, week, read_exported_week(root, MART, week))
    second = export_marts(_settings(root), [week], marts=[MART], run="scheduled__2")
    assert keys() == [f"{prefix}_manifest.json", f"{prefix}part-{second.export_id}.parquet"]  # the old one gone
    manifest = json.loads(client.get_object(Bucket="watch-exports", Key=f"{prefix}_manifest.json")["Body"].read())
    assert (manifest["file"], manifest["run"]) == (f"part-{second.export_id}.parquet", "scheduled__2")
    body = client.get_object(Bucket="watch-exports", Key=f"{prefix}{manifest['file']}")["Body"].read()
    assert_same_rows(built, week, pq.read_table(io.BytesIO(body)))
    runs = client.list_objects_v2(Bucket="watch-exports", Prefix="marts/_exports/")["Contents"]
    assert sorted(o["Key"] for o in runs) == sorted(f"marts/_exports/{r.export_id}.json" for r in (first, second))


def test_cli_export(built: str, tmp_path: Path) -> None:
    week = WEEKS[1]
    proc = subprocess.run(
        [sys.executable, "-m", "ingest.cli", "export", "--weeks", str(week), "--marts", MART, "--to", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    rows = len(mart_rows(built, week)[1])
    assert f"exported 1 mart weeks ({rows:,} rows) to {tmp_path}" in proc.stdout
    assert_same_rows(built, week, read_exported_week(str(tmp_path), MART, week))
