"""The ``ingest`` command as a program: exit codes and one-line reasons."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from raw_week import WEEK, write_week

from ingest.runner.local import run_week
from ingest.settings import get_settings


@pytest.fixture(scope="module")
def loaded(warehouse_env: str, tmp_path_factory: pytest.TempPathFactory) -> dict:
    raw = write_week(tmp_path_factory.mktemp("raw"))
    run_week(str(raw), WEEK, get_settings())
    return {"raw": raw, "dsn": warehouse_env}


def test_cli_contract(loaded: dict, tmp_path: Path) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "ingest.cli", *args], capture_output=True, text=True, timeout=300)

    ok = cli("run", "--source", str(loaded["raw"]), "--week", WEEK.isoformat(), "--quiet")
    assert ok.returncode == 0, ok.stderr
    assert "read = loaded + quarantined + duplicates" in ok.stdout
    assert "rejected file scrape_date=2026-11-21/watchuseek.csv: missing_required_columns" in ok.stdout
    bad = cli("run", "--source", str(loaded["raw"]), "--week", "2026-11-18")
    assert bad.returncode != 0 and "Monday" in bad.stderr
    missing = cli("run", "--source", str(tmp_path / "nowhere"), "--all")
    assert missing.returncode != 0 and "does not exist" in missing.stderr
