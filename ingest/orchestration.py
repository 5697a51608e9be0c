"""The glue between the project and Apache Airflow.

The DAGs in ``airflow/dags/`` stay thin and call into this module and
:mod:`ingest.pipeline`. Here live:

- the names the two DAGs share (DAG ids, the listings Asset),
- :func:`week_to_process`: which market week a DAG run works on,
- :func:`alert_on_failure`: the task failure callback (one ``ALERT`` log line),
- the Cosmos knobs: :func:`cosmos_execution_mode`, :func:`ensure_manifest`,
- the set-up of an Airflow installation on this machine: :func:`airflow_env`
  (the environment every Airflow component runs with), :func:`ensure_pools`,
  :func:`ensure_connections`, :func:`setup_airflow`, and the console entry
  points ``main_airflow_setup`` / ``main_airflow`` / ``main_airflow_env``.

Nothing here imports Airflow at module level: the CLI imports this module, and
Airflow reads its configuration once, when it is first imported. Functions that
need the Airflow ORM (:func:`ensure_pools`, :func:`ensure_connections`) must run
in a process whose environment is :func:`airflow_env`; :func:`setup_airflow`
takes care of that by running them in a child process.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shlex
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from ingest.settings import POOL_SETTINGS, Settings, get_settings

log = logging.getLogger(__name__)
alert_log = logging.getLogger("watch_market.alerts")

INGEST_DAG_ID = "watch_ingest"
TRANSFORM_DAG_ID = "watch_transform"
#: The Asset the ingest DAG's load task updates once per loaded week; its event's
#: ``extra`` carries ``market_week`` (ISO date of the Monday) and ``rows_loaded``.
LISTINGS_ASSET_NAME = "watch_market_listings_week"
LISTINGS_ASSET_URI = "x-watch-market://warehouse/raw/listings"  # x-: no provider URI normaliser

AIRFLOW_METADATA_DATABASE = "airflow"
DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/0"
DEFAULT_API_PORT = 8080
ADMIN_USER = "admin"

EXECUTION_MODES = ("local", "watcher")
#: Measured on this project (2 cores, Celery, simulated data): see README / airflow/README.md.
DEFAULT_EXECUTION_MODE = "watcher"
DEFAULT_DBT_THREADS = 4


# --------------------------------------------------------------------------------------------
# Which week a run works on
# --------------------------------------------------------------------------------------------


def monday_of(d: date) -> date:
    """The Monday of the ISO week containing ``d`` (same as ``ingest.pipeline.market_week_of``)."""
    return d - timedelta(days=d.weekday())


def parse_week(value: Any) -> date | None:
    """A week given as a date, datetime or ``YYYY-MM-DD`` string -> its Monday; ``None``/'' -> ``None``."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        return monday_of(value.date())
    if isinstance(value, date):
        return monday_of(value)
    try:
        return monday_of(date.fromisoformat(str(value).strip()[:10]))
    except ValueError as exc:
        raise ValueError(f"a week must be given as YYYY-MM-DD, got {value!r}") from exc


def _run_date(context: Mapping[str, Any]) -> date:
    """The UTC date a run stands for: its logical date, else (Airflow 3 manual runs) ``run_after``."""
    for candidate in (
        context.get("logical_date"),
        getattr(context.get("dag_run"), "logical_date", None),
        getattr(context.get("dag_run"), "run_after", None),
    ):
        if candidate is not None:
            if isinstance(candidate, datetime):
                if candidate.tzinfo is not None:
                    candidate = candidate.astimezone(UTC)
                return candidate.date()
            return candidate
    return datetime.now(UTC).date()


def week_to_process(context: Mapping[str, Any], param: str = "week") -> date:
    """The market week (its Monday) a DAG run processes.

    The ``param`` DAG param (``week``) wins when set (manual runs and backfills, any
    date in the week). Otherwise it is the ISO week containing the run's logical
    date: with Airflow 3's cron timetable the scheduled Sunday 00:00 UTC run's
    logical date *is* that Sunday, so the week Mon-Sun that is just finishing.
    """
    params = context.get("params") or {}
    override = parse_week(params.get(param)) if hasattr(params, "get") else None
    return override or monday_of(_run_date(context))


def week_from_asset_events(context: Mapping[str, Any], asset_name: str = LISTINGS_ASSET_NAME) -> date | None:
    """The earliest ``market_week`` in the asset events that triggered this run (``None`` without any).

    Several ingest runs may be folded into one transform run; transforming from the
    earliest of their weeks covers them all.
    """
    events = context.get("triggering_asset_events") or {}
    weeks: list[date] = []
    try:
        items = list(events.items())
    except AttributeError:
        return None
    for key, asset_events in items:
        name = getattr(key, "name", None) or str(key)
        if asset_name not in name and LISTINGS_ASSET_URI not in str(getattr(key, "uri", key)):
            continue
        for event in asset_events or []:
            extra = getattr(event, "extra", None) or {}
            week = parse_week(extra.get("market_week")) if isinstance(extra, Mapping) else None
            if week:
                weeks.append(week)
    return min(weeks) if weeks else None


def transform_from_week(context: Mapping[str, Any]) -> date:
    """The ``from_week`` dbt var of a transform run: ``from_week`` param, asset event, logical week."""
    params = context.get("params") or {}
    override = parse_week(params.get("from_week")) if hasattr(params, "get") else None
    return override or week_from_asset_events(context) or monday_of(_run_date(context))


# --------------------------------------------------------------------------------------------
# Alerting
# --------------------------------------------------------------------------------------------


def _safe(fn: Any, default: Any = None) -> Any:
    try:
        return fn()
    except Exception:  # noqa: BLE001 - an alert must never fail on missing context
        return default


def alert_on_failure(context: Mapping[str, Any]) -> None:
    """Task failure callback: log one greppable ``ALERT`` line (dag, task, run, week, exception).

    Wire a pager/Slack/e-mail notifier here; the line is the contract for log-based alerting.
    """
    ti = context.get("task_instance") or context.get("ti")
    dag_run = context.get("dag_run")
    dag_id = _safe(lambda: ti.dag_id) or _safe(lambda: dag_run.dag_id) or "?"
    task_id = _safe(lambda: ti.task_id) or "?"
    map_index = _safe(lambda: ti.map_index, -1)
    if map_index not in (None, -1):
        task_id = f"{task_id}[{map_index}]"
    run_id = _safe(lambda: dag_run.run_id) or _safe(lambda: ti.run_id) or "?"
    try_number = _safe(lambda: ti.try_number, "?")
    week = None
    if dag_id == TRANSFORM_DAG_ID:
        week = _safe(lambda: transform_from_week(context))
    else:
        week = _safe(lambda: week_to_process(context))
    exception = context.get("exception")
    reason = " ".join(f"{type(exception).__name__}: {exception}".split()) if exception else "unknown"
    if len(reason) > 500:
        reason = reason[:497] + "..."
    alert_log.error(
        "ALERT pipeline task failed: dag=%s task=%s run=%s week=%s try=%s exception=%s",
        dag_id,
        task_id,
        run_id,
        week.isoformat() if week else "?",
        try_number,
        reason,
    )


# --------------------------------------------------------------------------------------------
# Cosmos
# --------------------------------------------------------------------------------------------


def cosmos_execution_mode() -> str:
    """``local`` or ``watcher`` (env ``COSMOS_EXECUTION_MODE``; default: the faster one we measured)."""
    mode = (os.environ.get("COSMOS_EXECUTION_MODE") or DEFAULT_EXECUTION_MODE).strip().lower()
    if mode not in EXECUTION_MODES:
        raise ValueError(f"COSMOS_EXECUTION_MODE must be one of {EXECUTION_MODES}, got {mode!r}")
    return mode


def cosmos_watcher_deferrable() -> bool:
    """Watcher sensors defer to the triggerer (``COSMOS_WATCHER_DEFERRABLE``, default off).

    Deferrable sensors need a running triggerer; ``airflow dags test`` has none (the
    run hangs), so the default is non-deferrable sensors in reschedule mode.
    :func:`airflow_env` turns it on for a full deployment (with ``components=True``).
    """
    return (os.environ.get("COSMOS_WATCHER_DEFERRABLE") or "false").strip().lower() in {"1", "true", "yes", "on"}


def dbt_threads() -> int:
    return int(os.environ.get("DBT_THREADS") or DEFAULT_DBT_THREADS)


def dbt_executable() -> str:
    """The ``dbt`` of this environment (beside the running Python), else the one on PATH."""
    import shutil
    import sys
    from pathlib import Path

    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else shutil.which("dbt") or "dbt"


def is_dbt_test_task(task: Any) -> bool:
    """A Cosmos task that runs (or watches) dbt tests."""
    return "Test" in type(task).__name__ and type(task).__module__.startswith("cosmos.")


def gate_dbt_tests(task_group: Any) -> list[str]:
    """Make every dbt test task a gate, in the Cosmos task group of the transform DAG.

    - Test tasks do not retry: a failed data test fails at once (it will not fix itself).
    - A test with several parents (rendered by Cosmos as its own "detached" task, a leaf)
      is made upstream of the models that build on any of its parents, unless that would
      make a cycle (a model that itself feeds another of the test's parents). So a failing
      multi-parent test also stops what is built on the data it rejected.

    Returns the test task ids.
    """
    tasks = _walk(task_group)
    ids = []
    for task in tasks:
        if is_dbt_test_task(task):
            task.retries = 0
            ids.append(task.task_id)
    for task in tasks:
        if not is_dbt_test_task(task) or task.downstream_list or len(task.upstream_list) < 2:
            continue
        ancestors = set(task.get_flat_relative_ids(upstream=True))
        for parent in list(task.upstream_list):
            for child in list(parent.downstream_list):
                if child is task or is_dbt_test_task(child) or child.task_id in ancestors:
                    continue
                task >> child
    return ids


def _walk(task_group: Any) -> list[Any]:
    out: list[Any] = []
    for child in task_group.children.values():
        if hasattr(child, "children"):
            out.extend(_walk(child))
        else:
            out.append(child)
    return out


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


def _parse_env(settings: Settings) -> dict[str, str]:
    """dbt's profile variables without starting any server (``dbt parse`` does not connect)."""
    from ingest.dbt import dsn_parts

    if settings.warehouse_dsn_env:
        parts = dsn_parts(settings.warehouse_dsn_env)
    else:
        parts = {
            "host": "127.0.0.1",
            "port": str(settings.embedded_port),
            "user": "postgres",
            "password": "postgres",
            "dbname": settings.embedded_database,
        }
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
        env = {**os.environ, **_parse_env(settings), "DO_NOT_TRACK": "1", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
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


# --------------------------------------------------------------------------------------------
# The Airflow installation on this machine
# --------------------------------------------------------------------------------------------


def _with_database(dsn: str, database: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


def airflow_metadata_dsn(settings: Settings | None = None, database: str = AIRFLOW_METADATA_DATABASE) -> str:
    """libpq URI of Airflow's metadata database on the warehouse's server; created if missing.

    Uses the embedded server by default (starting it if needed), or ``WAREHOUSE_DSN``'s server.
    """
    import psycopg

    settings = settings or get_settings()
    dsn = _with_database(settings.warehouse_dsn(), "postgres")
    with psycopg.connect(dsn, autocommit=True) as conn:
        found = conn.execute("select 1 from pg_database where datname = %s", (database,)).fetchone()
        if not found:
            conn.execute(f'create database "{database}"')
    return _with_database(dsn, database)


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
    - Metadata database ``airflow`` on the warehouse's PostgreSQL server (embedded by
      default; created if missing), or ``metadata_dsn``.
    - ``executor``: ``LocalExecutor`` or ``CeleryExecutor`` (Redis broker ``broker_url``,
      results in the metadata database).
    - The simple auth manager with one ``admin`` user (password: :func:`admin_password`),
      and JWT / Fernet / API secrets shared by all components (kept in ``AIRFLOW_HOME``).
    - The project settings pinned (``WAREHOUSE_DSN``, ``RAW_ROOT``, ...), so that every
      component and worker reads and writes the same places.
    - ``components=True`` (a full deployment with a triggerer) makes Cosmos' watcher
      sensors deferrable.

    Variables ``AIRFLOW__*`` already set in this process's environment win over these defaults.
    """
    settings = settings or get_settings()
    home = settings.airflow_home
    home.mkdir(parents=True, exist_ok=True)
    warehouse = settings.warehouse_dsn()
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
        "AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS": "ingest.orchestration.CELERY_CONFIG",
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
        "WAREHOUSE_CONN_ID": settings.warehouse_conn_id,
        "COSMOS_EXECUTION_MODE": cosmos_execution_mode(),
        "COSMOS_WATCHER_DEFERRABLE": "true" if components else (os.environ.get("COSMOS_WATCHER_DEFERRABLE") or "false"),
        "PYTHONUNBUFFERED": "1",
    }
    env.update({k: v for k, v in os.environ.items() if k.startswith("AIRFLOW__")})
    return env


#: Modules a Celery worker imports once at start-up, so that every task process it forks
#: inherits them instead of importing pandas / pyarrow / Great Expectations / dbt again
#: (seconds per task on a small machine). See ``CELERY_CONFIG``.
CELERY_PRELOAD = (
    "ingest.pipeline",
    "ingest.validation",
    "great_expectations",
    "dbt.cli.main",
    "dbt.adapters.postgres",
    "cosmos.operators.local",
    "cosmos.operators.watcher",
)


def __getattr__(name: str) -> Any:
    """``CELERY_CONFIG``: Airflow's default Celery config plus :data:`CELERY_PRELOAD` as ``imports``.

    Computed on access (module ``__getattr__``) so that importing this module never imports
    Airflow; ``[celery] celery_config_options = ingest.orchestration.CELERY_CONFIG``.
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


def connection_uri(settings: Settings | None = None) -> dict[str, Any]:
    """The warehouse as Airflow connection fields (conn type postgres, non-empty password)."""
    from ingest.dbt import dsn_parts

    settings = settings or get_settings()
    parts = dsn_parts(settings.warehouse_dsn())
    return {
        "conn_type": "postgres",
        "host": parts["host"],
        "port": int(parts["port"]),
        "login": parts["user"],
        "password": parts["password"] or "postgres",  # Cosmos' profile mapping rejects an empty one
        "schema": parts["dbname"],
    }


def _aws_connection_fields() -> dict[str, Any] | None:
    key = os.environ.get("AWS_ACCESS_KEY_ID")
    secret = os.environ.get("AWS_SECRET_ACCESS_KEY")
    if not key or not secret:
        return None
    extra: dict[str, Any] = {}
    region = os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION")
    if region:
        extra["region_name"] = region
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        extra["endpoint_url"] = endpoint
    return {"conn_type": "aws", "login": key, "password": secret, "extra": json.dumps(extra)}


def ensure_connections(settings: Settings | None = None) -> list[str]:
    """Create/update the warehouse connection (and an AWS one from the standard AWS env, if set).

    Needs the Airflow env (see module doc). Returns the connection ids written.
    """
    from airflow.models.connection import Connection
    from airflow.utils.session import create_session

    settings = settings or get_settings()
    wanted: dict[str, dict[str, Any]] = {settings.warehouse_conn_id: connection_uri(settings)}
    aws = _aws_connection_fields()
    if aws is not None:
        wanted[settings.aws_conn_id or "aws_default"] = aws
    with create_session() as session:
        for conn_id, fields in wanted.items():
            conn = session.query(Connection).filter(Connection.conn_id == conn_id).one_or_none()
            if conn is None:
                conn = Connection(conn_id=conn_id, **fields)
                session.add(conn)
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


def setup_airflow(
    settings: Settings | None = None,
    *,
    env: Mapping[str, str] | None = None,
    parse_dbt: bool = True,
) -> dict[str, Any]:
    """Prepare Airflow here: ``airflow db migrate``, the pools, the connections, the dbt manifest.

    Idempotent; safe to run before every ``airflow dags test``.
    """
    settings = settings or get_settings()
    env = dict(env or airflow_env(settings))
    started = time.monotonic()
    migrate = subprocess.run(
        [airflow_bin(), "db", "migrate"],
        env=_process_env(env),
        text=True,
        capture_output=True,
        check=False,
        cwd=settings.home,
    )
    if migrate.returncode != 0:
        raise RuntimeError(f"airflow db migrate failed:\n{(migrate.stdout + migrate.stderr)[-3000:]}")
    code = (
        "import json; from ingest.orchestration import _configure_in_this_process as c; "
        "print('WATCH_SETUP ' + json.dumps(c()))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        env=_process_env(env),
        text=True,
        capture_output=True,
        check=False,
        cwd=settings.home,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"creating pools/connections failed:\n{(proc.stdout + proc.stderr)[-3000:]}")
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("WATCH_SETUP ")), "WATCH_SETUP {}")
    result: dict[str, Any] = json.loads(line.removeprefix("WATCH_SETUP "))
    if parse_dbt and (settings.dbt_project_dir / "dbt_project.yml").exists():
        result["manifest"] = str(ensure_manifest(settings))
    result["seconds"] = round(time.monotonic() - started, 1)
    return result


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
        result = setup_airflow(settings, env=airflow_env(settings, executor=args.executor))
    except Exception as exc:  # noqa: BLE001 - one-line reason for the CLI
        print(f"airflow-setup failed: {exc}", file=sys.stderr)
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

    E.g. ``ingest airflow dags test watch_ingest 2024-06-09``.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "--":
        args = args[1:]
    proc = run_airflow(args, check=False)
    return proc.returncode


def main_airflow_env(argv: Sequence[str] | None = None) -> int:
    """``ingest airflow-env``: print ``export`` lines for this project's Airflow environment."""
    import argparse

    parser = argparse.ArgumentParser(prog="ingest airflow-env", description=main_airflow_env.__doc__)
    parser.add_argument("--executor", default="LocalExecutor", choices=["LocalExecutor", "CeleryExecutor"])
    args = parser.parse_args(argv)
    for key, value in sorted(airflow_env(executor=args.executor).items()):
        print(f"export {key}={shlex.quote(value)}")
    return 0


__all__ = [
    "INGEST_DAG_ID",
    "LISTINGS_ASSET_NAME",
    "TRANSFORM_DAG_ID",
    "airflow_env",
    "alert_on_failure",
    "cosmos_execution_mode",
    "ensure_connections",
    "ensure_manifest",
    "ensure_pools",
    "main_airflow",
    "main_airflow_env",
    "main_airflow_setup",
    "setup_airflow",
    "transform_from_week",
    "week_to_process",
]
