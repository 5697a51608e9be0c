"""Publish the marts' weeks as Parquet: ``EXPORT_ROOT/<mart>/market_week=YYYY-MM-DD/`` (a folder or ``s3://``).

A week is replaced whole, never shown half-written:

- local folder: the week is written into a hidden folder beside it, then renamed into place
  (the old folder is renamed aside first and removed after);
- S3: the data object carries the export's id in its name (``part-<export_id>.parquet``), the
  week's ``_manifest.json`` naming that object is written after it, and only then are the
  week's older data objects deleted. Readers take the object the week's manifest names.

Every export also writes ``EXPORT_ROOT/_exports/<export_id>.json``: the marts, their weeks and
rows, and the run that exported them.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq

from ingest import storage
from ingest.settings import Settings

WEEK_MANIFEST = "_manifest.json"
EXPORTS_FOLDER = "_exports"
#: numeric(p, s) up to this precision stays an exact Parquet decimal; wider ones become float64
MAX_DECIMAL_PRECISION = 38


@dataclass(frozen=True)
class Mart:
    name: str
    schema: str


@dataclass
class ExportResult:
    """What one export wrote: per mart, the rows of each week."""

    export_id: str
    run: str
    export_root: str
    weeks: dict[str, dict[str, int]] = field(default_factory=dict)  # mart -> ISO week -> rows
    missing: list[str] = field(default_factory=list)  # marts not built in the warehouse

    @property
    def rows(self) -> int:
        return sum(sum(w.values()) for w in self.weeks.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "export_id": self.export_id,
            "run": self.run,
            "export_root": self.export_root,
            "weeks": self.weeks,
            "missing": self.missing,
            "rows": self.rows,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExportResult:
        return cls(data["export_id"], data["run"], data["export_root"], data["weeks"], data.get("missing", []))


def mart_models(settings: Settings) -> list[Mart]:
    """The dbt models under ``models/marts/`` and the schema each is built in (from the dbt manifest)."""
    from ingest.orchestration.dbt import ensure_manifest

    manifest = json.loads(ensure_manifest(settings).read_text())
    marts = []
    for node in manifest["nodes"].values():
        if node["resource_type"] != "model" or node["fqn"][1:2] != ["marts"]:
            continue
        custom = node["config"].get("schema")  # dbt's default schema naming: <target>_<custom>
        schema = f"{settings.dbt_schema}_{custom}" if custom else settings.dbt_schema
        marts.append(Mart(node.get("alias") or node["name"], schema))
    return sorted(marts, key=lambda m: m.name)


def new_export_id() -> str:
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


def _columns(conn: psycopg.Connection, mart: Mart) -> list[tuple[str, str, pa.DataType]]:
    """(column, select expression, Arrow type) of a mart, in table order."""
    rows = conn.execute(
        """select column_name, data_type, numeric_precision, numeric_scale
           from information_schema.columns where table_schema = %s and table_name = %s
           order by ordinal_position""",
        (mart.schema, mart.name),
    ).fetchall()
    out = []
    for name, data_type, precision, scale in rows:
        quoted = '"' + name.replace('"', '""') + '"'
        if data_type == "numeric" and precision and precision <= MAX_DECIMAL_PRECISION:
            out.append((name, quoted, pa.decimal128(precision, scale or 0)))
        elif data_type in {"numeric", "double precision", "real"}:
            out.append((name, f"{quoted}::double precision", pa.float64()))
        elif data_type in {"integer", "smallint"}:
            out.append((name, quoted, pa.int32()))
        elif data_type == "bigint":
            out.append((name, quoted, pa.int64()))
        elif data_type == "date":
            out.append((name, quoted, pa.date32()))
        elif data_type == "boolean":
            out.append((name, quoted, pa.bool_()))
        elif data_type.startswith("timestamp"):
            tz = "UTC" if "with time zone" in data_type else None
            out.append((name, quoted, pa.timestamp("us", tz=tz)))
        else:
            out.append((name, f"{quoted}::text", pa.string()))
    return out


def read_mart_week(conn: psycopg.Connection, mart: Mart, week: date) -> pa.Table:
    """One week of a mart as an Arrow table, column types from the warehouse's."""
    columns = _columns(conn, mart)
    select = ", ".join(expr for _, expr, _ in columns)
    order = ", ".join(str(i + 1) for i in range(len(columns)))
    with conn.cursor() as cur:
        cur.execute(
            f'select {select} from "{mart.schema}"."{mart.name}" where market_week = %s order by {order}', (week,)
        )
        rows = cur.fetchall()
    arrays = [pa.array([r[i] for r in rows], type=t) for i, (_, _, t) in enumerate(columns)]
    return pa.Table.from_arrays(arrays, schema=pa.schema([(n, t) for n, _, t in columns]))


def _parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()


def week_uri(export_root: str, mart: str, week: date) -> str:
    return storage.join(export_root, mart, f"market_week={week.isoformat()}")


def publish_week(export_root: str, mart: str, week: date, table: pa.Table, export_id: str, run: str) -> None:
    """Replace one mart week under ``export_root`` (see the module doc for how readers stay safe)."""
    data_name = f"part-{export_id}.parquet"
    manifest = {
        "mart": mart,
        "market_week": week.isoformat(),
        "rows": table.num_rows,
        "file": data_name,
        "export_id": export_id,
        "run": run,
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    manifest_bytes = (json.dumps(manifest, indent=2) + "\n").encode()
    target = week_uri(export_root, mart, week)
    if storage.is_s3(export_root):
        storage.write_bytes(storage.join(target, data_name), _parquet_bytes(table))
        storage.write_bytes(storage.join(target, WEEK_MANIFEST), manifest_bytes)  # the switch
        bucket, _ = storage.split_s3(target)
        stale = [f for f in storage.list_files(target, suffix=".parquet") if f.name != data_name]
        if stale:
            storage.s3_client().delete_objects(
                Bucket=bucket, Delete={"Objects": [{"Key": storage.split_s3(f.uri)[1]} for f in stale]}
            )
        return
    final = Path(target)
    final.parent.mkdir(parents=True, exist_ok=True)
    staged = final.with_name(f".{final.name}.{export_id}.tmp")
    shutil.rmtree(staged, ignore_errors=True)
    staged.mkdir()
    pq.write_table(table, staged / data_name, compression="zstd")
    (staged / WEEK_MANIFEST).write_bytes(manifest_bytes)
    old = final.with_name(f".{final.name}.{export_id}.old")
    if final.exists():
        os.rename(final, old)
    os.rename(staged, final)
    shutil.rmtree(old, ignore_errors=True)


def export_marts(
    settings: Settings,
    weeks: list[date] | None = None,
    *,
    from_week: date | None = None,
    marts: list[str] | None = None,
    run: str = "cli",
    dsn: str | None = None,
) -> ExportResult:
    """Export the given weeks (or every week >= ``from_week``; neither: every week) of every mart.

    ``marts`` limits the export to those mart names. A week asked for that a mart does not hold
    is skipped for it (it exports only what it has). Returns what was written.
    """
    from ingest.warehouse.connection import require_warehouse

    export_id = new_export_id()
    result = ExportResult(export_id, run, settings.export_root)
    wanted = mart_models(settings)
    if marts:
        unknown = sorted(set(marts) - {m.name for m in wanted})
        if unknown:
            raise ValueError(f"no such mart: {', '.join(unknown)} (marts: {', '.join(m.name for m in wanted)})")
        wanted = [m for m in wanted if m.name in marts]
    with psycopg.connect(dsn or require_warehouse(settings)) as conn:
        for mart in wanted:
            found = conn.execute("select to_regclass(%s)", (f'"{mart.schema}"."{mart.name}"',)).fetchone()[0]
            if found is None:
                result.missing.append(mart.name)
                continue
            held = [
                w
                for (w,) in conn.execute(
                    f'select distinct market_week from "{mart.schema}"."{mart.name}" order by 1'
                ).fetchall()
            ]
            chosen = [w for w in held if (weeks is None or w in weeks) and (from_week is None or w >= from_week)]
            result.weeks[mart.name] = {}
            for week in chosen:
                table = read_mart_week(conn, mart, week)
                publish_week(settings.export_root, mart.name, week, table, export_id, run)
                result.weeks[mart.name][week.isoformat()] = table.num_rows
    summary = {
        **result.to_dict(),
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "marts": [{"mart": m, "weeks": w, "rows": sum(w.values())} for m, w in result.weeks.items()],
    }
    del summary["weeks"]
    storage.write_bytes(
        storage.join(settings.export_root, EXPORTS_FOLDER, f"{export_id}.json"),
        (json.dumps(summary, indent=2) + "\n").encode(),
    )
    return result


def read_exported_week(export_root: str, mart: str, week: date) -> pa.Table:
    """A reader's view of one exported week: the data object its ``_manifest.json`` names."""
    target = week_uri(export_root, mart, week)
    manifest = json.loads(storage.read_bytes(storage.join(target, WEEK_MANIFEST)))
    return pq.read_table(io.BytesIO(storage.read_bytes(storage.join(target, manifest["file"]))))
