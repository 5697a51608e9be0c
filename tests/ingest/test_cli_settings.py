"""Schema settings are checked when a command starts: one line naming the setting, before any work."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.parametrize(
    ("setting", "value", "command"),
    [
        ("WAREHOUSE_RAW_SCHEMA", "raw-dev", ["run", "--week", "2026-11-16"]),
        ("WAREHOUSE_RAW_SCHEMA", "Raw", ["run", "--all"]),
        ("WAREHOUSE_RAW_SCHEMA", "raw; drop schema raw cascade", ["summary"]),
        ("DBT_SCHEMA", "analytics.marts", ["dbt", "ls"]),
        ("DBT_SCHEMA", "a" * 51, ["summary"]),
    ],
)
def test_a_schema_setting_that_is_not_an_identifier_stops_the_command(
    setting: str, value: str, command: list[str], tmp_path: Path
) -> None:
    env = {**os.environ, setting: value, "WATCH_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run(
        [sys.executable, "-m", "ingest.cli", *command, *(["--source", str(tmp_path)] if command[0] == "run" else [])],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert lines == [f"ingest: setting {setting}={value!r} is not a schema name: " + lines[0].split(": ", 2)[2]]
    assert "use lower-case letters, digits and _" in lines[0]
    assert not (tmp_path / "data" / "pgdata").exists()  # nothing was started
