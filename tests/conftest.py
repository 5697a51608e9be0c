"""Shared fixtures: a real PostgreSQL database per test module (never a mock).

The server is the embedded one by default (started from the wheel), or the one
``WAREHOUSE_DSN`` names. Each module gets its own fresh database, dropped after.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from ingest.settings import get_settings, load_settings
from ingest.warehouse.connection import ensure_warehouse


def _with_db(dsn: str, dbname: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit((parts.scheme, parts.netloc, "/" + dbname, parts.query, parts.fragment))


@pytest.fixture(scope="session")
def server_dsn() -> str:
    """A DSN of the test server (embedded by default)."""
    return ensure_warehouse(load_settings())


@pytest.fixture(scope="module")
def fresh_dsn(server_dsn: str) -> Iterator[str]:
    """A DSN to a brand-new database, dropped after the module."""
    name = f"test_{uuid.uuid4().hex[:10]}"
    admin = _with_db(server_dsn, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    try:
        yield _with_db(server_dsn, name)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture(scope="module")
def warehouse_env(fresh_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Point the project's settings at a fresh database and a private data folder."""
    data_dir = tmp_path_factory.mktemp("data")
    saved = {k: os.environ.get(k) for k in ("WAREHOUSE_DSN", "WATCH_DATA_DIR")}
    os.environ["WAREHOUSE_DSN"] = fresh_dsn
    os.environ["WATCH_DATA_DIR"] = str(data_dir)
    get_settings.cache_clear()
    try:
        yield fresh_dsn
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        get_settings.cache_clear()
