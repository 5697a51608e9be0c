"""The Airflow installation on this machine: its environment, metadata database, pools and connections.

:func:`airflow_env` is the environment every Airflow component (and ``airflow`` CLI command) runs
with here; computing it starts nothing. :func:`setup_airflow` does the work once: it starts the
warehouse, creates and migrates the metadata database, creates the pools and connections and
parses the dbt project (the transform DAG is rendered from that manifest). Console entry points:
``ingest airflow-setup``, ``ingest airflow ...``, ``ingest airflow-env``.

Nothing here imports Airflow at module level: Airflow reads its configuration once, when it is
first imported, so the functions that need its ORM (pools, connections) run in a child process
started with :func:`airflow_env`.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from ingest.orchestration.dbt import dsn_parts, ensure_manifest
from ingest.settings import POOL_SETTINGS, Settings, get_settings
from ingest.warehouse.connection import ensure_warehouse, warehouse_dsn, with_database

AIRFLOW_METADATA_DATABASE = "airflow"
DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/0"
DEFAULT_API_PORT = 8080
ADMIN_USER = "admin"


def airflow_metadata_dsn(settings: Settings, database: str = AIRFLOW_METADATA_DATABASE) -> str:
    """libpq URI of Airflow's metadata database: a database on the warehouse's server."""
    return with_database(warehouse_dsn(settings), database)


def ensure_metadata_database(dsn: str) -> None:
    """Create the metadata database named by ``dsn`` when it does not exist."""
    import psycopg

    database = urlsplit(dsn).path.lstrip("/")
    with psycopg.connect(with_database(dsn, "postgres"), autocommit=True) as conn:
        found = conn.execute("select 1 from pg_database where datname = %s", (database,)).fetchone()
        if not found:
            conn.execute(f'create database "{database}"')


def _sqlalchemy_url(dsn: str, driver: str = "postgresql+psycopg2") -> str:
    parts = urlsplit(dsn)
    netloc = parts.netloc
    if "@" in netloc:
        creds, host = netloc.rsplit("@", 1)
        user, _, password = creds.partition(":")
        netloc = f"{quote(user, safe='')}:{quote(password or 'postgres', safe='')}@{host}"
    return urlunsplit((driver, netloc, parts.path, parts.query, parts.fragment))


def _secrets(home: Path) -> dict[str, str]:
    """Keys every Airflow component must share, generated once into ``AIRFLOW_HOME``."""
    path = home / ".watch_secrets.json"
    try:
        stored = json.loads(path.read_text())
    except (OSError, ValueError):
        stored = {}
    changed = False
    if "fernet_key" not in stored:
        from cryptography.fernet import Fernet

        stored["fernet_key"] = Fernet.generate_key().decode()
        changed = True
    for name in ("jwt_secret", "api_secret_key", "admin_password"):
        if name not in stored:
            stored[name] = secrets.token_urlsafe(24 if name == "admin_password" else 48)
            changed = True
    if changed:
        home.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(stored, indent=2))
        tmp.chmod(0o600)
        os.replace(tmp, path)
    return stored


def admin_password(settings: Settings | None = None) -> str:
    """The password of the ``admin`` user of the simple auth manager (UI and REST API)."""
    settings = settings or get_settings()
    return _secrets(settings.airflow_home)["admin_password"]


def _write_passwords_file(home: Path, password: str) -> Path:
    path = home / "simple_auth_manager_passwords.json"
    content = json.dumps({ADMIN_USER: password})
    if not path.exists() or path.read_text() != content:
        path.write_text(content)
        path.chmod(0o600)
    return path


def connection_fields(dsn: str) -> dict[str, Any]:
    """A libpq URI as Airflow connection fields (conn type postgres, non-empty password)."""
    parts = dsn_parts(dsn)
    return {
        "conn_type": "postgres",
        "host": parts["host"],
        "port": int(parts["port"]),
        "login": parts["user"],
        "password": parts["password"] or "postgres",  # Cosmos' profile mapping rejects an empty one
        "schema": parts["dbname"],
    }


def airflow_env(
    settings: Settings | None = None,
    *,
    executor: str = "LocalExecutor",
    api_port: int = DEFAULT_API_PORT,
    metadata_dsn: str | None = None,
    broker_url: str = DEFAULT_BROKER_URL,
    components: bool = False,
) -> dict[str, str]:
    """The environment variables to run Airflow components (and ``airflow`` CLI commands) here.

    - ``AIRFLOW_HOME`` = ``settings.airflow_home``; DAGs from ``<repo>/airflow/dags``.
    - Metadata database ``airflow`` on the warehouse's PostgreSQL server (the checkout's
      embedded one by default), or ``metadata_dsn``.
    - ``executor``: ``LocalExecutor`` or ``CeleryExecutor`` (Redis broker ``broker_url``,
      results in the metadata database).
    - The simple auth manager with one ``admin`` user (password: :func:`admin_password`), and
      JWT / Fernet / API secrets shared by all components (kept in ``AIRFLOW_HOME``).
    - The warehouse connection as an ``AIRFLOW_CONN_*`` variable, so that every component
      reaches the server the settings name, on its current port.
    - The project settings pinned (``WAREHOUSE_DSN``, ``RAW_ROOT``, ...), so that every
      component and worker reads and writes the same places.
    - ``components=True`` (a full deployment with a triggerer) makes Cosmos' watcher sensors
      deferrable.

    ``AIRFLOW__*`` variables set in this process's environment win over these defaults.
    """
    settings = settings or get_settings()
    home = settings.airflow_home
    warehouse = warehouse_dsn(settings)
    metadata = metadata_dsn or airflow_metadata_dsn(settings)
    keys = _secrets(home)
    passwords = _write_passwords_file(home, keys["admin_password"])
    base_url = f"http://127.0.0.1:{api_port}"
    env: dict[str, str] = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(settings.home / "airflow" / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(home / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": executor,
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__CORE__FERNET_KEY": keys["fernet_key"],
        "AIRFLOW__CORE__PARALLELISM": "16",
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "60",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": _sqlalchemy_url(metadata),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_POOL_SIZE": "3",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_MAX_OVERFLOW": "5",
        "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__API_AUTH__JWT_SECRET": keys["jwt_secret"],
        "AIRFLOW__API__SECRET_KEY": keys["api_secret_key"],
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__API__BASE_URL": base_url,
        "AIRFLOW__API__EXPOSE_CONFIG": "False",
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base_url}/execution/",
        "AIRFLOW__CELERY__BROKER_URL": broker_url,
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + _sqlalchemy_url(metadata, "postgresql"),
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": "4",
        "AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS": "ingest.orchestration.airflow_home.CELERY_CONFIG",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "60",
        "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        # Cosmos: offline-friendly, cache next to Airflow's files
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
        "AIRFLOW__COSMOS__CACHE_DIR": str(home / "cosmos_cache"),
        # the dbt docs site inside the Airflow UI (Browse -> dbt Docs), served by Cosmos' plugin
        "AIRFLOW__COSMOS__DBT_DOCS_PROJECTS": json.dumps(
            {
                "watch_market": {
                    "dir": str(settings.dbt_project_dir / "target"),
                    "index": "index.html",
                    "name": "dbt Docs (watch_market)",
                }
            }
        ),
        f"AIRFLOW_CONN_{settings.warehouse_conn_id.upper()}": json.dumps(connection_fields(warehouse)),
        "DO_NOT_TRACK": "1",
        "SCARF_NO_ANALYTICS": "true",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "GX_ANALYTICS_ENABLED": "false",
        # The project's settings, pinned for every component
        "WATCH_HOME": str(settings.home),
        "WATCH_DATA_DIR": str(settings.data_dir),
        "WAREHOUSE_DSN": warehouse,
        "RAW_ROOT": settings.raw_root,
        "STAGING_ROOT": settings.staging_root,
        "EXPORT_ROOT": settings.export_root,
        "WAREHOUSE_CONN_ID": settings.warehouse_conn_id,
        "COSMOS_EXECUTION_MODE": settings.cosmos_execution_mode,
        "COSMOS_WATCHER_DEFERRABLE": "true" if components or settings.cosmos_watcher_deferrable else "false",
        "PYTHONUNBUFFERED": "1",
    }
    env.update(settings.airflow_overrides)
    return env


#: Modules a Celery worker imports once at start-up, so that every task process it forks
#: inherits them instead of importing pandas / pyarrow / Great Expectations / dbt again
#: (seconds per task on a small machine). See ``CELERY_CONFIG``.
CELERY_PRELOAD = (
    "ingest.steps.week",
    "ingest.steps.validation",
    "great_expectations",
    "dbt.cli.main",
    "dbt.adapters.postgres",
    "cosmos.operators.local",
    "cosmos.operators.watcher",
)


def __getattr__(name: str) -> Any:
    """``CELERY_CONFIG``: Airflow's default Celery config plus :data:`CELERY_PRELOAD` as ``imports``.

    Computed on access (module ``__getattr__``) so that importing this module never imports
    Airflow; ``[celery] celery_config_options = ingest.orchestration.airflow_home.CELERY_CONFIG``.
    """
    if name == "CELERY_CONFIG":
        from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG

        return {**DEFAULT_CELERY_CONFIG, "imports": CELERY_PRELOAD}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _process_env(env: Mapping[str, str]) -> dict[str, str]:
    """This process's environment with ``env`` on top (for child processes)."""
    merged = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__")}
    merged.update(env)
    return merged


def airflow_bin() -> str:
    candidate = Path(sys.executable).with_name("airflow")
    return str(candidate) if candidate.exists() else "airflow"


def ensure_pools(settings: Settings | None = None) -> dict[str, int]:
    """Create or resize the five pools from ``settings.pool_sizes`` (needs the Airflow env; see module doc)."""
    from airflow.models.pool import Pool

    settings = settings or get_settings()
    for name, slots in settings.pool_sizes.items():
        variable = POOL_SETTINGS[name][0] if name in POOL_SETTINGS else "?"
        Pool.create_or_update_pool(name, slots, f"watch-market ({variable})", include_deferred=False)
    return dict(settings.pool_sizes)


def _aws_connection_fields(settings: Settings) -> dict[str, Any] | None:
    if not settings.aws_access_key_id or not settings.aws_secret_access_key:
        return None
    extra = {"region_name": settings.aws_region, "endpoint_url": settings.aws_endpoint_url}
    return {
        "conn_type": "aws",
        "login": settings.aws_access_key_id,
        "password": settings.aws_secret_access_key,
        "extra": json.dumps({k: v for k, v in extra.items() if v}),
    }


def ensure_connections(settings: Settings | None = None) -> list[str]:
    """Create or update the warehouse connection, and an AWS one when AWS credentials are set.

    Needs the Airflow env (see the module doc). Returns the connection ids written.
    """
    from airflow.models.connection import Connection
    from airflow.utils.session import create_session

    settings = settings or get_settings()
    wanted: dict[str, dict[str, Any]] = {settings.warehouse_conn_id: connection_fields(warehouse_dsn(settings))}
    aws = _aws_connection_fields(settings)
    if aws is not None:
        wanted[settings.aws_conn_id or "aws_default"] = aws
    with create_session() as session:
        for conn_id, fields in wanted.items():
            conn = session.query(Connection).filter(Connection.conn_id == conn_id).one_or_none()
            if conn is None:
                session.add(Connection(conn_id=conn_id, **fields))
            else:
                for key, value in fields.items():
                    setattr(conn, key, value)
    return list(wanted)


def _configure_in_this_process() -> dict[str, Any]:
    """Pools + connections, in a process started with :func:`airflow_env` (used by setup_airflow)."""
    settings = get_settings()
    return {"pools": ensure_pools(settings), "connections": ensure_connections(settings)}


def run_airflow(
    args: Sequence[str],
    settings: Settings | None = None,
    *,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    capture: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run ``airflow <args>`` with :func:`airflow_env` (or ``env``)."""
    settings = settings or get_settings()
    env = env or airflow_env(settings)
    return subprocess.run(
        [airflow_bin(), *args], env=_process_env(env), check=check, text=True, capture_output=capture, cwd=settings.home
    )


def _run_checked(what: str, cmd: Sequence[str], env: Mapping[str, str], settings: Settings) -> str:
    proc = subprocess.run(
        list(cmd), env=_process_env(env), text=True, capture_output=True, check=False, cwd=settings.home
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed:\n{(proc.stdout + proc.stderr)[-3000:]}")
    return proc.stdout


def setup_airflow(
    settings: Settings | None = None,
    *,
    env: Mapping[str, str] | None = None,
    parse_dbt: bool = True,
) -> dict[str, Any]:
    """Prepare Airflow here: the warehouse started, the metadata database created and migrated,
    the pools, the connections and the dbt manifest. Idempotent; safe before every run."""
    settings = settings or get_settings()
    started = time.monotonic()
    ensure_warehouse(settings)
    env = dict(env or airflow_env(settings))
    ensure_metadata_database(_libpq_url(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]))
    _run_checked("airflow db migrate", [airflow_bin(), "db", "migrate"], env, settings)
    code = (
        "import json; from ingest.orchestration.airflow_home import _configure_in_this_process as c; "
        "print('WATCH_SETUP ' + json.dumps(c()))"
    )
    out = _run_checked("creating pools and connections", [sys.executable, "-c", code], env, settings)
    line = next((ln for ln in out.splitlines() if ln.startswith("WATCH_SETUP ")), "WATCH_SETUP {}")
    result: dict[str, Any] = json.loads(line.removeprefix("WATCH_SETUP "))
    if parse_dbt and (settings.dbt_project_dir / "dbt_project.yml").exists():
        result["manifest"] = str(ensure_manifest(settings))
    result["seconds"] = round(time.monotonic() - started, 1)
    return result


def _libpq_url(sqlalchemy_url: str) -> str:
    parts = urlsplit(sqlalchemy_url)
    return urlunsplit(("postgresql", parts.netloc, parts.path, parts.query, parts.fragment))


# --------------------------------------------------------------------------------------------
# Console entry points (wired into the `ingest` CLI)
# --------------------------------------------------------------------------------------------


def main_airflow_setup(argv: Sequence[str] | None = None) -> int:
    """``ingest airflow-setup``: migrate the metadata DB, create pools and connections, parse dbt."""
    import argparse

    parser = argparse.ArgumentParser(prog="ingest airflow-setup", description=main_airflow_setup.__doc__)
    parser.add_argument("--executor", default="LocalExecutor", choices=["LocalExecutor", "CeleryExecutor"])
    args = parser.parse_args(argv)
    settings = get_settings()
    try:
        ensure_warehouse(settings)
        result = setup_airflow(settings, env=airflow_env(settings, executor=args.executor))
    except Exception as exc:  # noqa: BLE001 - one-line reason for the CLI
        print(f"ingest airflow-setup: {' '.join(str(exc).split())[:500]}", file=sys.stderr)
        return 1
    pools = ", ".join(f"{k}={v}" for k, v in result["pools"].items())
    print(f"Airflow ready in {settings.airflow_home} ({result['seconds']} s)")
    print(f"  pools: {pools}")
    print(f"  connections: {', '.join(result['connections'])}")
    if "manifest" in result:
        print(f"  dbt manifest: {result['manifest']}")
    print(f"  UI/API login: {ADMIN_USER} / {admin_password(settings)}")
    return 0


def main_airflow(argv: Sequence[str] | None = None) -> int:
    """``ingest airflow ARGS...``: run the ``airflow`` CLI with this project's Airflow environment.

    E.g. ``ingest airflow dags test watch_ingest 2024-06-09``. The warehouse (which holds the
    metadata database) is started first when it is the embedded one.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "--":
        args = args[1:]
    settings = get_settings()
    ensure_warehouse(settings)
    return run_airflow(args, settings, check=False).returncode


def main_airflow_env(argv: Sequence[str] | None = None) -> int:
    """``ingest airflow-env``: print ``export`` lines for this project's Airflow environment."""
    import argparse

    parser = argparse.ArgumentParser(prog="ingest airflow-env", description=main_airflow_env.__doc__)
    parser.add_argument("--executor", default="LocalExecutor", choices=["LocalExecutor", "CeleryExecutor"])
    args = parser.parse_args(argv)
    for key, value in sorted(airflow_env(executor=args.executor).items()):
        print(f"export {key}={shlex.quote(value)}")
    return 0


# --------------------------------------------------------------------------------------------
# Task logs of `airflow dags test` runs
# --------------------------------------------------------------------------------------------

_TASK_START = re.compile(r"\[DAG TEST\] starting task_id=(\S+) map_index=(-?\d+)")
_TASK_END = re.compile(r"\[DAG TEST\] end task task_id=(\S+) map_index=(-?\d+)")


def split_task_logs(output: str) -> dict[tuple[str, int], str]:
    """The output of ``airflow dags test`` cut into each task's part, by (task_id, map_index).

    ``dags test`` runs the tasks one after the other in its own process and prints their logs;
    each task's part lies between its ``[DAG TEST] starting`` and ``end task`` lines (a
    deferred task's trigger runs in between, in line).
    """
    parts: dict[tuple[str, int], list[str]] = {}
    current: tuple[str, int] | None = None
    for line in output.splitlines(keepends=True):
        start = _TASK_START.search(line)
        if start:
            current = (start.group(1), int(start.group(2)))
            parts.setdefault(current, [])
        if current is not None:
            parts[current].append(line)
        end = _TASK_END.search(line)
        if end and current == (end.group(1), int(end.group(2))):
            current = None
    return {key: "".join(lines) for key, lines in parts.items()}


def write_test_run_logs(output: str, dag_id: str, env: Mapping[str, str]) -> list[Path]:
    """Write each task's log of the latest ``dags test`` run of ``dag_id`` where the UI reads task logs.

    ``dags test`` runs the tasks in-process and only prints their logs, so the UI finds no log
    file ("Log file not found on worker"). This writes them, per task instance, to the path of
    Airflow's default ``log_filename_template`` under the ``base_log_folder`` of ``env``.
    Returns the files written.
    """
    import psycopg

    base = Path(env.get("AIRFLOW__LOGGING__BASE_LOG_FOLDER") or Path(env["AIRFLOW_HOME"]) / "logs")
    dsn = _libpq_url(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "select run_id from dag_run where dag_id = %s order by id desc limit 1", (dag_id,)
        ).fetchone()
        if row is None:
            return []
        run_id = row[0]
        instances = conn.execute(
            "select task_id, map_index, try_number from task_instance where dag_id = %s and run_id = %s",
            (dag_id, run_id),
        ).fetchall()
    parts = split_task_logs(output)
    written = []
    for task_id, map_index, try_number in instances:
        text = parts.get((task_id, map_index))
        if text is None or not try_number:
            continue
        folder = base / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
        if map_index >= 0:
            folder /= f"map_index={map_index}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"attempt={try_number}.log"
        path.write_text(text)
        written.append(path)
    return written
