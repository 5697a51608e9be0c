"""What the commands say when they cannot work: one line naming the setting or place, and the fix.

Each case runs the real command (``ingest`` as a program, dbt's own CLI) in a process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def _run(argv: list[str], env: dict[str, str], cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, env=env, cwd=cwd, timeout=300, check=False)


def _clean_env(tmp_path: Path, *drop: str) -> dict[str, str]:
    """This environment on a data folder of its own, without the names in ``drop``."""
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("DBT_")}
    env["WATCH_DATA_DIR"] = str(tmp_path / "data")
    return env


def test_missing_s3_credentials_name_the_aws_settings(tmp_path: Path, fresh_dsn: str) -> None:
    env = _clean_env(tmp_path, "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE")
    env.update(
        WAREHOUSE_DSN=fresh_dsn,  # reachable: the warehouse is checked first
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
        AWS_CONFIG_FILE=str(tmp_path / "none"),
        AWS_EC2_METADATA_DISABLED="true",  # no instance metadata lookup: nothing else to find them
        AWS_DEFAULT_REGION="us-east-1",
    )
    done = _run(
        [sys.executable, "-m", "ingest.cli", "run", "--source", "s3://watch-raw/raw", "--week", "2026-11-16"], env
    )
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "ingest run: no S3 credentials (Unable to locate credentials): set AWS_ACCESS_KEY_ID and "
        "AWS_SECRET_ACCESS_KEY (with AWS_DEFAULT_REGION, and AWS_ENDPOINT_URL_S3 for MinIO or another "
        "S3-compatible server), or AWS_CONN_ID to an Airflow connection"
    ]


def test_a_stopped_embedded_database_says_how_to_start_it(tmp_path: Path) -> None:
    env = _clean_env(tmp_path, "WAREHOUSE_DSN", "EMBEDDED_PG_PORT", "EMBEDDED_PGDATA")
    done = _run([sys.executable, "-m", "ingest.cli", "summary"], env)
    assert done.returncode == 1
    pgdata = tmp_path / "data" / "pgdata"
    assert done.stderr.splitlines() == [
        f"ingest summary: the embedded database ({pgdata}) is not running: start it with `uv run ingest db start`"
    ]
    assert not (pgdata / "postmaster.pid").exists()


def test_dbt_from_the_repository_root_says_where_to_run_it(tmp_path: Path) -> None:
    done = _run([str(VENV_BIN / "dbt"), "build"], _clean_env(tmp_path))
    assert done.returncode != 0
    assert (
        "this is the repository root; run dbt in dbt_project/ (cd dbt_project, after "
        'eval "$(uv run ingest db env)"), or from here as uv run ingest dbt ...'
    ) in " ".join(done.stdout.split())


def test_plain_dbt_without_the_checkouts_environment_reaches_no_server(tmp_path: Path) -> None:
    """profiles.yml has no default port: a new shell's `dbt build` stops before connecting anywhere."""
    done = _run([str(VENV_BIN / "dbt"), "build"], _clean_env(tmp_path), cwd=ROOT / "dbt_project")
    assert done.returncode != 0
    assert 'DBT_PORT: run eval "$(uv run ingest db env)" first, or use uv run ingest dbt' in done.stdout
    assert "Concurrency" not in done.stdout  # no model ran
