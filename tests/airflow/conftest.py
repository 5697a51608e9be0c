"""Fixtures for the Airflow tests.

Airflow reads its configuration once, on first import: this module points
``AIRFLOW_HOME`` at a throw-away folder *before* anything imports Airflow in the
test process, so parsing DAGs never touches ``~/airflow`` or a real metadata
database. Tests that run DAGs do so in child processes with
:func:`ingest.orchestration.airflow_home.airflow_env` and a fresh metadata database.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DAGS = REPO / "airflow" / "dags"

if "airflow" not in sys.modules:  # only effective before the first `import airflow`
    os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="airflow-tests-home-")
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(DAGS))
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("AIRFLOW__COSMOS__ENABLE_TELEMETRY", "False")


@pytest.fixture(scope="session")
def dbt_manifest() -> Path:
    """The manifest the transform DAG renders from (``dbt parse`` when missing or stale)."""
    from ingest.orchestration.dbt import ensure_manifest
    from ingest.settings import load_settings

    return ensure_manifest(load_settings())


@pytest.fixture(scope="session")
def dag_parser():
    """The :func:`parse_dags` function (a fixture: test modules here are not a package)."""
    return parse_dags


def parse_dags(mode: str | None = None) -> tuple[dict, dict, dict[str, float]]:
    """Parse every DAG file with a DagBag; returns (dags, import_errors, seconds per file)."""
    from airflow.dag_processing.dagbag import DagBag

    from ingest.settings import get_settings

    saved = os.environ.get("COSMOS_EXECUTION_MODE")
    if mode:
        os.environ["COSMOS_EXECUTION_MODE"] = mode
    get_settings.cache_clear()  # the DAG files read the mode from the settings
    try:
        dags: dict = {}
        errors: dict = {}
        seconds: dict[str, float] = {}
        for path in sorted(DAGS.glob("*.py")):
            started = time.perf_counter()
            bag = DagBag(dag_folder=str(path))
            seconds[path.name] = round(time.perf_counter() - started, 2)
            dags.update(bag.dags)
            errors.update(bag.import_errors)
        return dags, errors, seconds
    finally:
        if saved is None:
            os.environ.pop("COSMOS_EXECUTION_MODE", None)
        else:
            os.environ["COSMOS_EXECUTION_MODE"] = saved
        get_settings.cache_clear()


@pytest.fixture(scope="module")
def restore_env() -> Iterator[None]:
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)
