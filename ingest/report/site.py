"""The market report as a static site: build every page of a week and publish it to a folder or S3.

``ingest report --out DEST [--week YYYY-MM-DD]`` and the scheduled report task call
:func:`publish_report`. The site is self-contained (HTML, CSS, one copy of plotly.js, a search
index), so it opens from ``file://``, an S3 static-website bucket or any web server.
"""

from __future__ import annotations

import contextlib
import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from ingest import storage
from ingest.report import assets
from ingest.report.data import ReportData, load_report_data
from ingest.report.pages import Paths, brand_page, home_page, reference_page
from ingest.settings import Settings
from ingest.steps.calendar import market_week_of
from ingest.warehouse.connection import require_warehouse

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
}
#: The folders whose files one build replaces whole: pages of an earlier build that this one
#: does not write (a reference that lost its page) are removed from them.
PAGE_FOLDERS = ("brands", "references")


@dataclass(frozen=True)
class ReportResult:
    """What a build wrote and how long its parts took."""

    week: date
    out: str
    home: str  # the home page's path or URI
    n_pages: int
    n_brands: int
    n_references: int
    bytes_written: int
    load_s: float
    render_s: float
    write_s: float

    def to_dict(self) -> dict[str, object]:
        return {**self.__dict__, "week": self.week.isoformat()}


def search_index(data: ReportData, paths: Paths) -> bytes:
    """``window.REPORT_SEARCH``: [kind, label, detail, path] per brand, model and reference page."""
    entries: list[list[str]] = []
    for brand, path in sorted(paths.brands.items()):
        entries.append(["brand", brand, "", path])
    models: dict[tuple[str, str], str] = {}
    for key, ref_path in sorted(paths.references.items()):
        specific, parent = data.ref_models.get(key, (None, None))
        entries.append(["reference", f"{key[0]} {key[1]}", specific or parent or "", ref_path])
        for model in (specific, parent):
            if model:
                models.setdefault((key[0], model), paths.brands[key[0]])
    for (brand, model), path in sorted(models.items()):
        entries.append(["model", f"{brand} {model}", "", path])
    text = json.dumps(entries, separators=(",", ":"), ensure_ascii=True)
    return f"window.REPORT_SEARCH={text};\n".encode()


def render_site(data: ReportData) -> dict[str, bytes]:
    """Every file of the site, by its path relative to the site's root."""
    paths = Paths(data)
    files: dict[str, bytes] = {
        assets.PLOTLY_ASSET: assets.plotly_js(),
        assets.SCRIPT_ASSET: assets.SCRIPT.encode(),
        assets.STYLE_ASSET: assets.STYLE.encode(),
        assets.SEARCH_ASSET: search_index(data, paths),
        "index.html": home_page(data, paths).encode(),
    }
    for brand, path in paths.brands.items():
        files[path] = brand_page(data, paths, brand).encode()
    for key, path in paths.references.items():
        files[path] = reference_page(data, paths, key).encode()
    return files


def write_site(files: dict[str, bytes], out: str) -> int:
    """Write the files below ``out`` (a folder or ``s3://``), pages last, and drop stale pages."""
    stale: list[str] = []
    for folder in PAGE_FOLDERS:
        with contextlib.suppress(FileNotFoundError):
            stale += [f.uri for f in storage.list_files(storage.join(out, folder)) if f"{folder}/{f.name}" not in files]
    # assets first, the home page last: a reader never meets a page whose assets are not there yet
    order = sorted(files, key=lambda p: (not p.startswith("assets/"), p == "index.html", p))
    if storage.is_s3(out):
        client = storage.s3_client()

        def put(path: str) -> None:
            bucket, key = storage.split_s3(storage.join(out, path))
            suffix = path[path.rfind(".") :]
            content_type = CONTENT_TYPES.get(suffix, "application/octet-stream")
            client.put_object(Bucket=bucket, Key=key, Body=files[path], ContentType=content_type)

        assets_first = [p for p in order if p.startswith("assets/")]
        with ThreadPoolExecutor(max_workers=16) as pool:
            list(pool.map(put, assets_first))
            list(pool.map(put, [p for p in order if not p.startswith("assets/") and p != "index.html"]))
        put("index.html")
        for uri in stale:
            bucket, key = storage.split_s3(uri)
            client.delete_object(Bucket=bucket, Key=key)
    else:
        for path in order:
            storage.write_bytes(storage.join(out, path), files[path])
        for uri in stale:
            Path(uri).unlink(missing_ok=True)
    return sum(len(b) for b in files.values())


def publish_report(settings: Settings, out: str | None = None, week: date | None = None) -> ReportResult:
    """Build the report of ``week`` (default: the latest) from the marts and publish it to ``out``."""
    out = out or settings.report_root
    week = market_week_of(week) if week else None
    started = time.perf_counter()
    data = load_report_data(settings, require_warehouse(settings), week)
    loaded = time.perf_counter()
    files = render_site(data)
    rendered = time.perf_counter()
    written = write_site(files, out)
    done = time.perf_counter()
    return ReportResult(
        week=data.week,
        out=out,
        home=storage.join(out, "index.html"),
        n_pages=sum(p.endswith(".html") for p in files),
        n_brands=sum(p.startswith("brands/") for p in files),
        n_references=sum(p.startswith("references/") for p in files),
        bytes_written=written,
        load_s=round(loaded - started, 2),
        render_s=round(rendered - loaded, 2),
        write_s=round(done - rendered, 2),
    )
