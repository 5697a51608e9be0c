"""Which warehouse a command reaches, and reaching it: WAREHOUSE_DSN, else the checkout's embedded server.

:func:`warehouse_dsn` only computes the address; :func:`ensure_warehouse` is what an entry point
calls to start the embedded server when it is the default; :func:`require_warehouse` is for the
commands that only read and would rather say how to start it.
"""

from __future__ import annotations

import zlib
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from ingest.settings import Settings

EMBEDDED_USER = "postgres"
EMBEDDED_PASSWORD = "postgres"  # trust auth ignores it; some clients insist on a non-empty one
CONNECT_TIMEOUT_S = 10


class WarehouseUnavailable(RuntimeError):
    """The warehouse cannot be reached; the message is one line naming the setting and the fix."""


def with_database(dsn: str, database: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


def port_record(pgdata: Path) -> Path:
    """The file beside the data folder in which the embedded server records its port."""
    return pgdata.with_name(pgdata.name + ".port")


def embedded_port(settings: Settings) -> int:
    """The checkout's embedded server's port: EMBEDDED_PG_PORT, else the port the server recorded,
    else one derived from the data folder's path (stable, so that checkouts side by side do not
    meet on one default port)."""
    if settings.embedded_port:
        return settings.embedded_port
    try:
        return int(port_record(settings.embedded_pgdata).read_text().strip())
    except (OSError, ValueError):
        return 40_000 + zlib.crc32(str(settings.embedded_pgdata).encode()) % 20_000


def embedded_dsn(settings: Settings, port: int | None = None, database: str | None = None) -> str:
    host_port = f"127.0.0.1:{port or embedded_port(settings)}"
    return f"postgresql://{EMBEDDED_USER}:{EMBEDDED_PASSWORD}@{host_port}/{database or settings.embedded_database}"


def warehouse_dsn(settings: Settings) -> str:
    """The configured warehouse's address (the embedded server's recorded port); starts nothing."""
    return settings.warehouse_dsn or embedded_dsn(settings)


def ensure_warehouse(settings: Settings) -> str:
    """The warehouse's DSN, the checkout's embedded server started (or reused) when it is the default."""
    if settings.warehouse_dsn:
        return settings.warehouse_dsn
    from ingest.warehouse.embedded import ensure_embedded_server

    server = ensure_embedded_server(settings)
    return embedded_dsn(settings, port=server.port)


def require_warehouse(settings: Settings) -> str:
    """The warehouse's DSN for a command that only reads: a stopped embedded server is an error."""
    if settings.warehouse_dsn:
        return settings.warehouse_dsn
    from ingest.warehouse.embedded import running_server

    server = running_server(settings.embedded_pgdata)
    if server is None:
        raise WarehouseUnavailable(
            f"the embedded database ({settings.embedded_pgdata}) is not running: start it with `uv run ingest db start`"
        )
    return embedded_dsn(settings, port=server.port)


def check_reachable(dsn: str, setting: str = "WAREHOUSE_DSN") -> None:
    """Connect once (with a timeout) so that an unreachable warehouse fails before any work is done."""
    import psycopg

    try:
        with psycopg.connect(dsn, connect_timeout=CONNECT_TIMEOUT_S) as conn:
            conn.execute("select 1")
    except psycopg.OperationalError as exc:
        parts = urlsplit(dsn)
        reason = " ".join(str(exc).split())[:300]
        raise WarehouseUnavailable(
            f"cannot reach the warehouse at {parts.hostname}:{parts.port or 5432}{parts.path} ({reason}); "
            f"check {setting} or start the database"
        ) from exc
