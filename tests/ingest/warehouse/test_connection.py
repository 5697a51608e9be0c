"""Which database every entry point reaches: the checkout's own embedded server, never a default port.

The port of a checkout's server is EMBEDDED_PG_PORT, else the port recorded beside its data
folder, else one derived from the folder's path. A real second server shows that the record,
and every entry point reading it, follows the server when it has to move to another port.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import zlib
from pathlib import Path

import psycopg
import pytest

from ingest.orchestration.airflow_home import airflow_env
from ingest.orchestration.dbt import dbt_env
from ingest.settings import Settings, load_settings
from ingest.warehouse.connection import embedded_port, port_record, warehouse_dsn
from ingest.warehouse.embedded import ensure_embedded_server, running_server, stop_embedded_server


@pytest.fixture
def checkout(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A data folder of its own, the embedded default (no WAREHOUSE_DSN, no EMBEDDED_PG_PORT)."""
    for name in ("WAREHOUSE_DSN", "EMBEDDED_PG_PORT", "EMBEDDED_PGDATA", "AIRFLOW_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WATCH_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def _settings(data_dir: Path) -> Settings:
    os.environ["WATCH_DATA_DIR"] = str(data_dir)  # restored by the fixture's monkeypatch
    return load_settings()


def _derived(pgdata: Path) -> int:
    return 40_000 + zlib.crc32(str(pgdata).encode()) % 20_000


def test_two_checkouts_get_different_stable_ports(checkout: Path, tmp_path: Path) -> None:
    first = _settings(tmp_path / "one" / ".data")
    second = _settings(tmp_path / "two" / ".data")
    assert first.embedded_pgdata == tmp_path / "one" / ".data" / "pgdata"
    assert embedded_port(first) == _derived(first.embedded_pgdata)
    assert embedded_port(second) == _derived(second.embedded_pgdata)
    assert embedded_port(first) != embedded_port(second)
    assert embedded_port(first) == embedded_port(_settings(tmp_path / "one" / ".data"))  # stable
    assert warehouse_dsn(first) == f"postgresql://postgres:postgres@127.0.0.1:{embedded_port(first)}/watch"


def test_the_recorded_port_wins_and_embedded_pg_port_over_it(checkout: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _settings(checkout)
    record = port_record(settings.embedded_pgdata)
    assert record == checkout / "pgdata.port"
    record.parent.mkdir(parents=True)
    record.write_text("51234\n")
    assert embedded_port(settings) == 51234
    assert dbt_env(settings)["DBT_PORT"] == "51234"
    monkeypatch.setenv("EMBEDDED_PG_PORT", "52345")
    assert embedded_port(load_settings()) == 52345
    record.write_text("not a port\n")  # a broken record: the derived port, not a default
    monkeypatch.delenv("EMBEDDED_PG_PORT")
    assert embedded_port(load_settings()) == _derived(settings.embedded_pgdata)


def _ingest(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ingest.cli", *args],
        capture_output=True,
        text=True,
        env=env or dict(os.environ),
        timeout=300,
        check=False,
    )


def test_db_env_names_the_checkouts_port_and_starts_nothing(checkout: Path) -> None:
    settings = _settings(checkout)
    run = _ingest("db", "env")
    assert run.returncode == 0, run.stderr
    exports = dict(line.removeprefix("export ").split("=", 1) for line in run.stdout.splitlines())
    port = str(_derived(settings.embedded_pgdata))
    assert exports["DBT_PORT"] == exports["PGPORT"] == port
    assert exports["WAREHOUSE_DSN"] == f"postgresql://postgres:postgres@127.0.0.1:{port}/watch"
    assert exports["DBT_PROJECT_DIR"] == exports["DBT_PROFILES_DIR"] == str(settings.dbt_project_dir)
    assert not (settings.embedded_pgdata / "postmaster.pid").exists()


def test_a_server_that_moves_takes_every_entry_point_with_it(checkout: Path) -> None:
    """Its recorded port taken by another program, the server starts on a free one; the record,
    the DSN, dbt's environment, `ingest db env` and the Airflow connection all follow it."""
    settings = _settings(checkout)
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        port_record(settings.embedded_pgdata).parent.mkdir(parents=True)
        port_record(settings.embedded_pgdata).write_text(f"{taken}\n")
        try:
            server = ensure_embedded_server(settings)
            assert server.port != taken
            assert port_record(settings.embedded_pgdata).read_text().strip() == str(server.port)
            assert embedded_port(settings) == server.port
            dsn = warehouse_dsn(settings)
            assert dsn == f"postgresql://postgres:postgres@127.0.0.1:{server.port}/watch"
            with psycopg.connect(dsn) as conn:
                data_directory = conn.execute("show data_directory").fetchone()
            assert data_directory is not None and Path(data_directory[0]) == settings.embedded_pgdata
            assert dbt_env(settings)["DBT_PORT"] == str(server.port)
            exports = _ingest("db", "env").stdout
            assert f"export DBT_PORT={server.port}\n" in exports
            connection = json.loads(airflow_env(settings)[f"AIRFLOW_CONN_{settings.warehouse_conn_id.upper()}"])
            assert (connection["host"], connection["port"]) == ("127.0.0.1", server.port)
            running = running_server(settings.embedded_pgdata)
            assert running is not None and running.port == server.port
        finally:
            stop_embedded_server(settings.embedded_pgdata)
    assert running_server(settings.embedded_pgdata) is None
