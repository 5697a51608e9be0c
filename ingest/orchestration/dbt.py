"""Running dbt the same way everywhere (CLI, demo, tests, benchmarks, Airflow), and its manifest.

dbt reads its connection from environment variables in ``dbt_project/profiles.yml``
(``DBT_HOST``, ``DBT_PORT``, ``DBT_USER``, ``DBT_PASSWORD``, ``DBT_DATABASE``, ``DBT_SCHEMA``,
``WAREHOUSE_RAW_SCHEMA``). :func:`dbt_env` derives them from the settings (the checkout's
embedded server by default), :func:`run_dbt` runs dbt in-process with them, and
:func:`ensure_manifest` writes the manifest the transform DAG is rendered from.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from ingest.settings import Settings, get_settings
from ingest.warehouse.connection import ensure_warehouse, warehouse_dsn


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


def dbt_env(settings: Settings | None = None, dsn: str | None = None) -> dict[str, str]:
    """The environment variables dbt's profile reads: the warehouse ``dsn`` (default: the
    configured one, see :func:`ingest.warehouse.connection.warehouse_dsn`) and the settings."""
    settings = settings or get_settings()
    parts = dsn_parts(dsn or warehouse_dsn(settings))
    return {
        "DBT_HOST": parts["host"],
        "DBT_PORT": parts["port"],
        "DBT_USER": parts["user"],
        "DBT_PASSWORD": parts["password"] or "postgres",
        "DBT_DATABASE": parts["dbname"],
        "DBT_SCHEMA": settings.dbt_schema,
        "DBT_TARGET": settings.dbt_target,
        "WAREHOUSE_RAW_SCHEMA": settings.raw_schema,
        "REPORT_URL": settings.report_url,  # the market report exposure's url
        "DBT_PROFILES_DIR": str(settings.dbt_project_dir),
        "DBT_PROJECT_DIR": str(settings.dbt_project_dir),
    }


@contextmanager
def dbt_environment(settings: Settings | None = None) -> Iterator[dict[str, str]]:
    """Temporarily export :func:`dbt_env` into ``os.environ`` (dbt reads it at parse time), the
    warehouse started first when it is the checkout's embedded server."""
    settings = settings or get_settings()
    env = dbt_env(settings, ensure_warehouse(settings))
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
        hint = f"\n{SINGULAR_TEST_HINT}" if failed_singular_tests(result.result) else ""
        raise RuntimeError(f"dbt {' '.join(args)} failed: {detail}{hint}")
    return result


#: What to run when a singular test (``dbt_project/tests/marts/...``) fails: they recompute a mart
#: from its inputs, so they fail when weeks were loaded or replaced after the marts were built.
SINGULAR_TEST_HINT = (
    "a singular test recomputes a mart from the listings and disagrees with it: weeks were loaded or "
    "replaced after the marts were built. Rebuild from the earliest such week: "
    "uv run ingest dbt build --vars '{from_week: YYYY-MM-DD}' (or everything: uv run ingest dbt build --full-refresh)"
)


def _node_results(results: Any) -> list[Any]:
    try:
        return list(results or [])
    except TypeError:
        return []


def failed_singular_tests(results: Any) -> list[str]:
    """The names of the failed or erroring singular tests among a dbt invocation's node results."""
    return [
        r.node.name
        for r in _node_results(results)
        if str(r.status) in {"fail", "error"}
        and getattr(r.node, "resource_type", None) == "test"
        and str(getattr(r.node, "original_file_path", "")).startswith("tests/")
        and not str(getattr(r.node, "original_file_path", "")).startswith("tests/generic/")
    ]


def dbt_warnings(results: Any) -> list[str]:
    """One line per node that ended ``warn`` (a test of warn severity that found rows): name and message."""
    return [f"{r.node.name}: {r.message or 'warn'}" for r in _node_results(results) if str(r.status) == "warn"]


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


def dbt_manifest_path(settings: Settings | None = None) -> Path:
    settings = settings or get_settings()
    return settings.dbt_project_dir / "target" / "manifest.json"


_DBT_SOURCES = (
    "dbt_project.yml",
    "packages.yml",
    "dependencies.yml",
    "models",
    "macros",
    "tests",
    "seeds",
    "snapshots",
    "analyses",
)


def _newest_source_mtime(project_dir: Path) -> float:
    newest = 0.0
    for name in _DBT_SOURCES:
        path = project_dir / name
        if path.is_file():
            newest = max(newest, path.stat().st_mtime)
        elif path.is_dir():
            for child in path.rglob("*"):
                if child.is_file():
                    newest = max(newest, child.stat().st_mtime)
    return newest


def manifest_is_stale(settings: Settings | None = None) -> bool:
    manifest = dbt_manifest_path(settings)
    if not manifest.exists():
        return True
    settings = settings or get_settings()
    return _newest_source_mtime(settings.dbt_project_dir) > manifest.stat().st_mtime


def ensure_manifest(settings: Settings | None = None, *, force: bool = False) -> Path:
    """Make ``dbt_project/target/manifest.json`` exist and be newer than the project's sources.

    Runs ``dbt parse`` (a subprocess of this venv's dbt; no database connection) only when
    the manifest is missing or stale, under a file lock, so the Cosmos DAG can always be
    rendered from a manifest (``LoadMode.DBT_MANIFEST``). A fresh manifest costs a few
    ``stat`` calls.
    """
    settings = settings or get_settings()
    manifest = dbt_manifest_path(settings)
    if not force and not manifest_is_stale(settings):
        return manifest
    import fasteners

    project = settings.dbt_project_dir
    if not (project / "dbt_project.yml").exists():
        raise FileNotFoundError(f"no dbt project at {project}")
    lock_dir = project / "target"
    lock_dir.mkdir(parents=True, exist_ok=True)
    with fasteners.InterProcessLock(str(lock_dir / ".parse.lock")):
        if not force and not manifest_is_stale(settings):
            return manifest
        # dbt parse does not connect: the profile's variables suffice, no server is started
        env = {**os.environ, **dbt_env(settings), "DO_NOT_TRACK": "1", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
        dbt = Path(sys.executable).with_name("dbt")
        cmd = [str(dbt) if dbt.exists() else "dbt"]
        has_packages = (project / "packages.yml").exists() or (project / "dependencies.yml").exists()
        if has_packages and not (project / "dbt_packages").exists():
            subprocess.run(
                [*cmd, "deps", "--project-dir", str(project), "--profiles-dir", str(project)],
                env=env,
                cwd=project,
                check=False,
                capture_output=True,
                text=True,
            )
        proc = subprocess.run(
            [
                *cmd,
                "parse",
                "--project-dir",
                str(project),
                "--profiles-dir",
                str(project),
                "--target",
                settings.dbt_target,
            ],
            env=env,
            cwd=project,
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0 or not manifest.exists():
            tail = (proc.stdout + proc.stderr)[-2000:]
            raise RuntimeError(f"dbt parse failed (exit {proc.returncode}):\n{tail}")
        os.utime(manifest)  # newer than every source, even with coarse mtimes
    return manifest
