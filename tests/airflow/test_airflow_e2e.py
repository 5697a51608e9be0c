"""The real Airflow stack end to end: ``scripts/airflow_e2e.py`` must pass.

Celery executor with Redis on 127.0.0.1:6379 (skipped with a message when no
Redis answers), PostgreSQL metadata database, S3 through a moto server over HTTP.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "airflow_e2e.py"

pytestmark = [pytest.mark.celery, pytest.mark.slow, pytest.mark.timeout(2400)]


def _redis_up() -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=2) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.mark.skipif(
    not _redis_up(),
    reason="no Redis on 127.0.0.1:6379: the Celery end-to-end test needs one "
    "(start it with `redis-server --daemonize yes`)",
)
def test_airflow_end_to_end(tmp_path):
    figures = tmp_path / "figures.json"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--rows-per-week", "5000", "--weeks", "2", "--json", str(figures)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=2300,
        check=False,
    )
    print(proc.stdout[-4000:])
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    assert "PASSED" in proc.stdout
    import json

    result = json.loads(figures.read_text())
    assert result["mart_rows"] and all(n > 0 for n in result["mart_rows"].values())
    assert result["transform_trigger"] == "asset_triggered"
