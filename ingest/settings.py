"""The project's one settings module.

Every setting comes from an environment variable with a documented default
(see ``.env.example`` and the README). Nothing else in the project reads
``os.environ`` for configuration: call :func:`get_settings`.

With ``WAREHOUSE_DSN`` unset, :meth:`Settings.warehouse_dsn` starts (or reuses)
the embedded PostgreSQL server that lives in ``EMBEDDED_PGDATA``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path


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


def _env_int(name: str, default: int) -> int:
    raw = _env(name, str(default))
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"setting {name} must be an integer, got {raw!r}") from exc


def _env_bool(name: str, default: bool) -> bool:
    raw = _env(name, "1" if default else "0").lower()
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"setting {name} must be a boolean (true/false), got {raw!r}")


@dataclass(frozen=True)
class Settings:
    """All project settings. Build with :func:`get_settings` (reads the environment)."""

    home: Path
    data_dir: Path
    raw_root: str
    staging_root: str
    warehouse_dsn_env: str | None
    embedded_pgdata: Path
    embedded_database: str
    embedded_port: int
    raw_schema: str
    dbt_schema: str
    dbt_target: str
    fx_refresh: bool
    ingest_chunk_files: int
    ingest_min_rows: int
    ingest_max_rows: int
    aws_conn_id: str | None
    airflow_home: Path
    warehouse_conn_id: str
    pool_sizes: dict[str, int] = field(default_factory=dict)

    @property
    def dbt_project_dir(self) -> Path:
        return self.home / "dbt_project"

    @property
    def uses_embedded(self) -> bool:
        return self.warehouse_dsn_env is None

    def warehouse_dsn(self) -> str:
        """The libpq URI of the warehouse; starts the embedded server when needed."""
        if self.warehouse_dsn_env:
            return self.warehouse_dsn_env
        from ingest.embedded import ensure_embedded_server

        return ensure_embedded_server(self).dsn(self.embedded_database)


POOL_SETTINGS: dict[str, tuple[str, int]] = {
    # pool name -> (environment variable, default slots)
    "ingest_chunks_pool": ("POOL_INGEST_CHUNKS", 2),
    "ref_num_volatility_pool": ("POOL_REF_NUM_VOLATILITY", 2),
    "specific_model_metrics_pool": ("POOL_SPECIFIC_MODEL_METRICS", 2),
    "parent_model_metrics_pool": ("POOL_PARENT_MODEL_METRICS", 2),
    "brand_metrics_pool": ("POOL_BRAND_METRICS", 2),
}


def load_settings() -> Settings:
    """Read the settings from the environment (uncached)."""
    home = _find_home()
    data_dir = Path(_env("WATCH_DATA_DIR", str(home / ".data"))).resolve()
    dsn = os.environ.get("WAREHOUSE_DSN") or None
    return Settings(
        home=home,
        data_dir=data_dir,
        raw_root=_env("RAW_ROOT", str(data_dir / "raw")),
        staging_root=_env("STAGING_ROOT", str(data_dir / "staging")),
        warehouse_dsn_env=dsn.strip() if dsn else None,
        embedded_pgdata=Path(_env("EMBEDDED_PGDATA", str(data_dir / "pgdata"))).resolve(),
        embedded_database=_env("EMBEDDED_DATABASE", "watch"),
        embedded_port=_env_int("EMBEDDED_PG_PORT", 55432),
        raw_schema=_env("WAREHOUSE_RAW_SCHEMA", "raw"),
        dbt_schema=_env("DBT_SCHEMA", "analytics"),
        dbt_target=_env("DBT_TARGET", "dev"),
        fx_refresh=_env_bool("FX_REFRESH", False),
        ingest_chunk_files=_env_int("INGEST_CHUNK_FILES", 12),
        ingest_min_rows=_env_int("INGEST_MIN_ROWS", 1),
        ingest_max_rows=_env_int("INGEST_MAX_ROWS", 5_000_000),
        aws_conn_id=os.environ.get("AWS_CONN_ID") or None,
        airflow_home=Path(_env("AIRFLOW_HOME", str(data_dir / "airflow"))).resolve(),
        warehouse_conn_id=_env("WAREHOUSE_CONN_ID", "warehouse"),
        pool_sizes={name: _env_int(var, default) for name, (var, default) in POOL_SETTINGS.items()},
    )


@cache
def get_settings() -> Settings:
    """The process-wide settings (read once)."""
    return load_settings()
