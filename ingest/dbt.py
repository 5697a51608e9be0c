"""Running dbt the same way everywhere (CLI, demo, tests, benchmarks).

dbt reads its connection from environment variables in
``dbt_project/profiles.yml`` (``DBT_HOST``, ``DBT_PORT``, ``DBT_USER``,
``DBT_PASSWORD``, ``DBT_DATABASE``, ``DBT_SCHEMA``, ``WAREHOUSE_RAW_SCHEMA``).
:func:`dbt_env` derives them from the settings (the embedded server by
default), and :func:`run_dbt` runs dbt in-process with them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import unquote, urlsplit

from ingest.settings import Settings, get_settings


def dsn_parts(dsn: str) -> dict[str, str]:
    """Split a libpq URI into host, port, user, password, dbname."""
    url = urlsplit(dsn)
    if url.scheme not in {"postgresql", "postgres"}:
        raise ValueError(f"WAREHOUSE_DSN must be a postgresql:// URI, got scheme {url.scheme!r}")
    return {
        "host": url.hostname or "127.0.0.1",
        "port": str(url.port or 5432),
        "user": unquote(url.username or "postgres"),
        "password": unquote(url.password or ""),
        "dbname": (url.path or "/postgres").lstrip("/") or "postgres",
    }


def dbt_env(settings: Settings | None = None) -> dict[str, str]:
    """The environment variables dbt's profile reads, from the settings."""
    settings = settings or get_settings()
    parts = dsn_parts(settings.warehouse_dsn())
    return {
        "DBT_HOST": parts["host"],
        "DBT_PORT": parts["port"],
        "DBT_USER": parts["user"],
        "DBT_PASSWORD": parts["password"] or "postgres",
        "DBT_DATABASE": parts["dbname"],
        "DBT_SCHEMA": settings.dbt_schema,
        "DBT_TARGET": settings.dbt_target,
        "WAREHOUSE_RAW_SCHEMA": settings.raw_schema,
        "DBT_PROFILES_DIR": str(settings.dbt_project_dir),
        "DBT_PROJECT_DIR": str(settings.dbt_project_dir),
    }


@contextmanager
def dbt_environment(settings: Settings | None = None) -> Iterator[dict[str, str]]:
    """Temporarily export :func:`dbt_env` into ``os.environ`` (dbt reads it at parse time)."""
    env = dbt_env(settings)
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield env
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_dbt(args: Sequence[str], settings: Settings | None = None) -> Any:
    """Run ``dbt <args>`` in-process against the configured warehouse; raise on failure.

    Returns the ``dbtRunnerResult`` (``.result`` holds the node results).
    """
    from dbt.cli.main import dbtRunner

    settings = settings or get_settings()
    with dbt_environment(settings) as env:
        full = [*args]
        if "--project-dir" not in full:
            full += ["--project-dir", env["DBT_PROJECT_DIR"]]
        if "--profiles-dir" not in full:
            full += ["--profiles-dir", env["DBT_PROFILES_DIR"]]
        result = dbtRunner().invoke(full)
    if not result.success:
        detail = result.exception or _failures(result.result)
        raise RuntimeError(f"dbt {' '.join(args)} failed: {detail}")
    return result


def _failures(results: Any) -> str:
    try:
        bad = [
            f"{r.node.name}: {r.status} {r.message or ''}".strip()
            for r in results
            if str(r.status) in {"error", "fail"}
        ]
    except TypeError:
        return "see the dbt log"
    return "; ".join(bad) or "see the dbt log"
