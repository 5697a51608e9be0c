"""The project's one settings module: every setting, read from the environment once, as plain values.

Nothing else in the project reads ``os.environ`` for configuration; call :func:`get_settings`.
Reading settings starts nothing and connects nowhere: the entry points that need the warehouse
start it explicitly (:func:`ingest.warehouse.connection.ensure_warehouse`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path


class SettingsError(ValueError):
    """A setting has a value the project cannot use; the message names it and what it takes."""


def _find_home() -> Path:
    """The repository root when running from a checkout, else the cwd."""
    explicit = os.environ.get("WATCH_HOME")
    if explicit:
        return Path(explicit).resolve()
    here = Path(__file__).resolve().parent.parent
    if (here / "pyproject.toml").exists() and (here / "dbt_project").exists():
        return here
    return Path.cwd().resolve()


def _env(name: str, default: str) -> str:
    value = os.environ.get(name)
    return default if value is None or value.strip() == "" else value.strip()


def _env_optional(name: str) -> str | None:
    value = os.environ.get(name)
    return value.strip() if value and value.strip() else None


def _env_int(name: str, default: int, minimum: int = 0) -> int:
    raw = _env(name, str(default))
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"setting {name}={raw!r} is not an integer") from None
    if value < minimum:
        raise SettingsError(f"setting {name}={value} must be at least {minimum}")
    return value


def _env_bool(name: str, default: bool) -> bool:
    raw = _env(name, "1" if default else "0").lower()
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"setting {name}={raw!r} must be a boolean (true/false)")


def _env_set(name: str, choices: tuple[str, ...]) -> frozenset[str]:
    """A comma-separated subset of ``choices`` (empty when unset)."""
    values = frozenset(v.strip().lower() for v in _env(name, "").split(",") if v.strip())
    unknown = sorted(values - set(choices))
    if unknown:
        raise SettingsError(
            f"setting {name} names {', '.join(unknown)}: it takes a comma-separated list of {', '.join(choices)}"
        )
    return values


def _env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = _env(name, default).lower()
    if value not in choices:
        raise SettingsError(f"setting {name}={value!r} must be one of {', '.join(choices)}")
    return value


# An unquoted PostgreSQL identifier. dbt appends suffixes to DBT_SCHEMA (``_intermediate`` is the
# longest, 13 characters) and PostgreSQL keeps 63 bytes of a name.
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")
_IDENTIFIER_LIMITS = {"WAREHOUSE_RAW_SCHEMA": 63, "DBT_SCHEMA": 63 - len("_intermediate")}


def _env_identifier(name: str, default: str) -> str:
    value = _env(name, default)
    limit = _IDENTIFIER_LIMITS[name]
    if not _IDENTIFIER.fullmatch(value) or len(value) > limit:
        raise SettingsError(
            f"setting {name}={value!r} is not a schema name: use lower-case letters, digits and _, "
            f"starting with a letter or _, at most {limit} characters"
        )
    return value


#: The ingest's process tricks (ingest/runner/tuning.py), each of which INGEST_TUNING_OFF can
#: switch off to measure what it is worth.
TUNING_TRICKS = ("thp", "nice", "gc", "preload", "gx_defer")


@dataclass(frozen=True)
class Settings:
    """All project settings. Build with :func:`get_settings` (reads the environment)."""

    home: Path
    data_dir: Path
    raw_root: str
    staging_root: str
    export_root: str  # where the marts' rebuilt weeks are published as Parquet (folder or s3://)
    report_root: str  # where the market report is published: a folder or s3://bucket/prefix
    report_url: str  # where readers find it (the dbt exposure's url)
    warehouse_dsn: str | None  # a libpq URI; None: the embedded server
    embedded_pgdata: Path
    embedded_database: str
    embedded_port: int | None  # EMBEDDED_PG_PORT; None: the checkout's own (ingest.warehouse.connection)
    raw_schema: str
    dbt_schema: str
    dbt_target: str
    lock_timeout_s: int
    fx_refresh: bool
    ingest_chunk_files: int
    ingest_min_rows: int
    ingest_max_rows: int
    ingest_tuning_off: frozenset[str]  # process tricks switched off (ingest.runner.tuning), for measuring
    aws_conn_id: str | None  # take S3 credentials from this Airflow connection instead
    aws_endpoint_url: str | None  # an S3-compatible server (MinIO, moto)
    aws_region: str | None
    aws_access_key_id: str | None
    aws_secret_access_key: str | None
    airflow_home: Path
    warehouse_conn_id: str
    cosmos_execution_mode: str  # watcher | local
    cosmos_watcher_deferrable: bool
    dbt_threads: int
    scrape_poke_interval_s: int  # how often watch_ingest looks for the week's _SUCCESS markers
    scrape_wait_timeout_s: int  # how long it waits for them before the run fails with an ALERT
    pool_sizes: dict[str, int] = field(default_factory=dict)
    airflow_overrides: dict[str, str] = field(default_factory=dict)  # AIRFLOW__* set in the environment

    @property
    def dbt_project_dir(self) -> Path:
        return self.home / "dbt_project"

    @property
    def uses_embedded(self) -> bool:
        return self.warehouse_dsn is None


POOL_SETTINGS: dict[str, tuple[str, int]] = {
    # pool name -> (environment variable, default slots)
    "ingest_chunks_pool": ("POOL_INGEST_CHUNKS", 2),
    "ref_num_volatility_pool": ("POOL_REF_NUM_VOLATILITY", 2),
    "specific_model_metrics_pool": ("POOL_SPECIFIC_MODEL_METRICS", 2),
    "parent_model_metrics_pool": ("POOL_PARENT_MODEL_METRICS", 2),
    "brand_metrics_pool": ("POOL_BRAND_METRICS", 2),
}


def load_settings() -> Settings:
    """Read the settings from the environment (uncached). Raises :class:`SettingsError`."""
    home = _find_home()
    data_dir = Path(_env("WATCH_DATA_DIR", str(home / ".data"))).resolve()
    pgdata = Path(_env("EMBEDDED_PGDATA", str(data_dir / "pgdata"))).resolve()
    return Settings(
        home=home,
        data_dir=data_dir,
        raw_root=_env("RAW_ROOT", str(data_dir / "raw")),
        staging_root=_env("STAGING_ROOT", str(data_dir / "staging")),
        export_root=_env("EXPORT_ROOT", str(data_dir / "exports")),
        report_root=_env("REPORT_ROOT", str(data_dir / "report")),
        report_url=_env("REPORT_URL", (data_dir / "report" / "index.html").as_uri()),
        warehouse_dsn=_env_optional("WAREHOUSE_DSN"),
        embedded_pgdata=pgdata,
        embedded_database=_env("EMBEDDED_DATABASE", "watch"),
        embedded_port=_env_int("EMBEDDED_PG_PORT", 0, minimum=1) if _env_optional("EMBEDDED_PG_PORT") else None,
        raw_schema=_env_identifier("WAREHOUSE_RAW_SCHEMA", "raw"),
        dbt_schema=_env_identifier("DBT_SCHEMA", "analytics"),
        dbt_target=_env("DBT_TARGET", "dev"),
        lock_timeout_s=_env_int("WAREHOUSE_LOCK_TIMEOUT", 60, minimum=1),
        fx_refresh=_env_bool("FX_REFRESH", False),
        ingest_chunk_files=_env_int("INGEST_CHUNK_FILES", 12, minimum=1),
        ingest_min_rows=_env_int("INGEST_MIN_ROWS", 1),
        ingest_max_rows=_env_int("INGEST_MAX_ROWS", 5_000_000, minimum=1),
        ingest_tuning_off=_env_set("INGEST_TUNING_OFF", TUNING_TRICKS),
        aws_conn_id=_env_optional("AWS_CONN_ID"),
        aws_endpoint_url=_env_optional("AWS_ENDPOINT_URL_S3") or _env_optional("AWS_ENDPOINT_URL"),
        aws_region=_env_optional("AWS_DEFAULT_REGION") or _env_optional("AWS_REGION"),
        aws_access_key_id=_env_optional("AWS_ACCESS_KEY_ID"),
        aws_secret_access_key=_env_optional("AWS_SECRET_ACCESS_KEY"),
        airflow_home=Path(_env("AIRFLOW_HOME", str(data_dir / "airflow"))).resolve(),
        warehouse_conn_id=_env("WAREHOUSE_CONN_ID", "warehouse"),
        cosmos_execution_mode=_env_choice("COSMOS_EXECUTION_MODE", "watcher", ("watcher", "local")),
        cosmos_watcher_deferrable=_env_bool("COSMOS_WATCHER_DEFERRABLE", False),
        dbt_threads=_env_int("DBT_THREADS", 4, minimum=1),
        scrape_poke_interval_s=_env_int("SCRAPE_POKE_INTERVAL", 180, minimum=1),
        scrape_wait_timeout_s=_env_int("SCRAPE_WAIT_TIMEOUT", 24 * 3600, minimum=1),
        pool_sizes={name: _env_int(var, default, minimum=1) for name, (var, default) in POOL_SETTINGS.items()},
        airflow_overrides={k: v for k, v in os.environ.items() if k.startswith("AIRFLOW__")},
    )


@cache
def get_settings() -> Settings:
    """The process-wide settings (read once)."""
    return load_settings()
