"""`dbt docs generate` works and documents every model and every column.

The models are first built empty (``dbt run --empty``) in a fresh database so
the catalog lists the columns each model really has; every one of them must be
described in the manifest.
"""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from ingest.orchestration.dbt import run_dbt
from ingest.settings import get_settings
from ingest.warehouse.ddl import ensure_schema

MARTS = {
    f"{level}_{family}"
    for level in ("reference", "specific_model", "parent_model", "brand")
    for family in ("price_metrics", "composition", "volatility", "liquidity")
} | {"brand_price_index", "market_price_index"}


@pytest.fixture(scope="module")
def docs(warehouse_env: str, tmp_path_factory: pytest.TempPathFactory) -> dict:
    with psycopg.connect(warehouse_env, autocommit=True) as conn:
        ensure_schema(conn, "raw")
    work = tmp_path_factory.mktemp("dbt_docs")
    paths = ["--target-path", str(work / "target"), "--log-path", str(work / "logs")]
    run_dbt(["run", "--empty", *paths])
    run_dbt(["docs", "generate", *paths])
    target = Path(work / "target")
    return {
        "manifest": json.loads((target / "manifest.json").read_text()),
        "catalog": json.loads((target / "catalog.json").read_text()),
        "index": target / "index.html",
    }


def _models(manifest: dict) -> dict[str, dict]:
    return {uid: node for uid, node in manifest["nodes"].items() if node["resource_type"] == "model"}


def test_docs_site_generated(docs: dict) -> None:
    assert docs["index"].exists()
    assert {node["name"] for node in _models(docs["manifest"]).values()} >= MARTS


def test_every_model_described_with_its_grain(docs: dict) -> None:
    for node in _models(docs["manifest"]).values():
        description = node["description"].strip()
        assert description, node["name"]
        assert "one row per" in description.lower(), f"{node['name']}: grain not stated"


def test_every_column_of_every_model_described(docs: dict) -> None:
    manifest, catalog = docs["manifest"], docs["catalog"]
    for uid, node in _models(manifest).items():
        real_columns = {name.lower() for name in catalog["nodes"][uid]["columns"]}
        documented = {name.lower(): col["description"].strip() for name, col in node["columns"].items()}
        assert real_columns, node["name"]
        assert real_columns == set(documented), f"{node['name']}: {real_columns ^ set(documented)}"
        missing = [name for name, description in documented.items() if not description]
        assert not missing, f"{node['name']}: undescribed columns {missing}"


def test_metric_definitions_come_from_doc_blocks(docs: dict) -> None:
    nodes = {node["name"]: node for node in _models(docs["manifest"]).values()}
    prices = nodes["reference_price_metrics"]["columns"]
    assert "28 days" in prices["market_price_usd"]["description"]
    assert "percentile_cont(0.5)" in prices["median_price_usd"]["description"]
    assert "exactly 52 weeks" in prices["change_1y"]["description"]
    volatility = nodes["brand_volatility"]["columns"]
    assert "√52" in volatility["volatility_1y"]["description"]
    assert "(52/13)" in volatility["growth_3m"]["description"]
    doc_blocks = docs["manifest"]["docs"]
    assert {"doc.watch_market.market_price_usd", "doc.watch_market.volatility_1m"} <= set(doc_blocks)


def test_marts_have_enforced_contracts_and_pools(docs: dict) -> None:
    pools = {
        "reference": "ref_num_volatility_pool",
        "specific_model": "specific_model_metrics_pool",
        "parent_model": "parent_model_metrics_pool",
        "brand": "brand_metrics_pool",
    }
    for node in _models(docs["manifest"]).values():
        if node["name"] not in MARTS:
            continue
        config = node["config"]
        assert config["contract"]["enforced"] is True
        assert all(col.get("data_type") for col in node["columns"].values()), node["name"]
        assert config["materialized"] == "incremental"
        assert config["incremental_strategy"] == "delete+insert"
        assert config["unique_key"] == "market_week"
        level = node["name"].rsplit("_", 1)[0].removesuffix("_price")
        if level == "market":  # one row per week over every brand: no level's pool
            assert "cosmos" not in config["meta"], node["name"]
            continue
        assert config["meta"]["cosmos"]["operator_kwargs"]["pool"] == pools[level], node["name"]


def test_sources_documented_and_exposures_real(docs: dict) -> None:
    manifest = docs["manifest"]
    for source in manifest["sources"].values():
        assert source["description"].strip(), source["unique_id"]
        assert source["columns"], source["unique_id"]
        assert all(col["description"].strip() for col in source["columns"].values()), source["unique_id"]
    listings = manifest["sources"]["source.watch_market.raw.listings"]
    assert listings["loaded_at_field"] == "scraped_at"
    assert listings["freshness"]["warn_after"] == {"count": 8, "period": "day"}
    assert listings["freshness"]["error_after"] == {"count": 15, "period": "day"}
    # Only consumers that exist are exposures; each names the marts it reads.
    for exposure in manifest["exposures"].values():
        assert exposure["depends_on"]["nodes"], exposure["name"]
        assert exposure["description"].strip(), exposure["name"]
        assert exposure["owner"]["name"] and exposure["url"], exposure["name"]


def test_market_report_exposure_names_what_the_report_reads(docs: dict) -> None:
    from ingest.report.data import MARTS_READ, RAW_TABLES_READ

    manifest = docs["manifest"]
    report = manifest["exposures"]["exposure.watch_market.market_report"]
    assert report["type"] == "dashboard"
    assert report["url"] == get_settings().report_url  # REPORT_URL, default: the local report's home page
    assert report["url"].startswith("file://") and report["url"].endswith("/report/index.html")
    models = {node["name"] for node in _models(manifest).values()}
    expected = {f"model.watch_market.{name}" for name in MARTS_READ if name in models}
    expected |= {f"source.watch_market.raw.{name}" for name in RAW_TABLES_READ}
    assert set(report["depends_on"]["nodes"]) == expected
