"""The dbt docs site renders in a real browser: the lineage graph and a mart's column docs.

Builds a small warehouse (3 simulated weeks through the real ingest, then dbt), generates
the docs site with its catalog into a private target folder (the shared
``dbt_project/target`` is left alone), serves it over HTTP and opens it in the system's headless
Chromium, driven by Playwright (``tests/browser.py``). Screenshots are kept in
``test-artifacts/docs/`` (git-ignored). Skipped when no Chromium binary is installed
(``apt-get install chromium``; or point ``CHROMIUM_BIN`` at one).
"""

from __future__ import annotations

import functools
import http.server
import itertools
import json
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser import launch_chromium, requires_chromium, watch_page
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page

pytestmark = requires_chromium

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "docs"
MART = "model.watch_market.reference_price_metrics"
MART_COLUMNS = ("median_price_usd", "market_price_usd")
LINEAGE = (  # source -> staging -> intermediate -> mart, all drawn in the graph
    "raw.listings",
    "stg_raw__listings",
    "int_listings_priced",
    "int_reference_weeks_aggregated",
    "reference_price_metrics",
)


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text or "").strip()


@pytest.fixture(scope="module")
def docs_target(warehouse_env: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A docs site (index.html, manifest.json, catalog.json) of a freshly built small warehouse."""
    from ingest.devtools.simulate import simulate
    from ingest.orchestration.dbt import run_dbt
    from ingest.runner.local import WeekRunner
    from ingest.steps.week import discover_weeks

    started = time.perf_counter()
    raw = tmp_path_factory.mktemp("raw")
    target = tmp_path_factory.mktemp("dbt_target")
    timings: dict[str, float] = {}

    def lap(name: str) -> None:
        timings[name] = round(time.perf_counter() - started - sum(timings.values()), 1)

    simulate(str(raw), weeks=3, rows_per_week=3000, seed=1)
    lap("simulate")
    weeks = discover_weeks(str(raw))
    assert len(weeks) == 3, weeks
    with WeekRunner() as runner:  # one worker pool for all weeks, as `ingest run --all` does
        for week in weeks:
            summary = runner.run(str(raw), week)
            assert summary.count("rows_loaded") > 0, summary
    lap("ingest")
    # `run` builds every model (what the catalog documents); the data and unit tests are the
    # business of tests/dbt and of the CI dbt job. A private target keeps dbt_project/target
    # (Airflow's manifest) untouched.
    run_dbt(["run", "--target-path", str(target)])
    lap("dbt run")
    run_dbt(["docs", "generate", "--target-path", str(target)])
    lap("dbt docs generate")
    print(f"docs site built in {time.perf_counter() - started:.1f} s: {timings}")
    for name in ("index.html", "manifest.json", "catalog.json"):
        assert (target / name).is_file(), f"dbt docs generate did not write {name}"
    return target


@pytest.fixture(scope="module")
def docs_url(docs_target: Path) -> Iterator[str]:
    """The docs site served over HTTP (as `dbt docs serve` / `make docs-serve` does)."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(docs_target)))
    thread = threading.Thread(target=server.serve_forever, name="docs-http", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def browser(docs_url: str) -> Iterator[Page]:
    """A page of the system's Chromium; the docs site may load only from its own server."""
    origin = docs_url.rsplit("/", 1)[0] + "/"
    with launch_chromium() as chromium, watch_page(chromium, allowed=(origin,)) as watched:
        yield watched.page


def test_catalog_documents_the_mart(docs_target: Path) -> None:
    catalog = json.loads((docs_target / "catalog.json").read_text())
    columns = catalog["nodes"][MART]["columns"]
    for name in MART_COLUMNS:
        assert name in columns, f"catalog.json lacks {MART}.{name}: the warehouse was not built?"


# Every visible cytoscape graph of the page: its node labels, visible nodes and edges.
GRAPH_JS = """
(() => {
  const graphs = Array.from(document.querySelectorAll('[id]')).filter(e => e._cyreg && e._cyreg.cy);
  return graphs.map(e => {
    const cy = e._cyreg.cy, box = e.getBoundingClientRect();
    const visible = cy.nodes(':visible').filter(n => {
      const bb = n.renderedBoundingBox();
      return bb.w > 0 && bb.h > 0 && bb.x2 > 0 && bb.y2 > 0 && bb.x1 < box.width && bb.y1 < box.height;
    });
    return {
      width: box.width, height: box.height,
      labels: cy.nodes().map(n => n.data('label')),
      visible: visible.map(n => n.data('label')),
      edges: cy.edges().map(x => [x.source().data('label'), x.target().data('label')]),
    };
  }).filter(g => g.width > 0 && g.height > 0 && g.labels.length > 0);
})()
"""


def _screenshot(page: Page, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path))
    return path


def test_lineage_graph_renders(browser: Page, docs_url: str) -> None:
    browser.goto(f"{docs_url}#!/overview?g_v=1")
    shot = ARTIFACTS / "lineage_graph.png"
    all_drawn = " && ".join(f"g.visible.includes({json.dumps(name)})" for name in LINEAGE)
    try:  # the layout animates: wait until the whole lineage chain is drawn inside the viewport
        browser.wait_for_function(f"{GRAPH_JS}.some(g => {all_drawn})", timeout=60_000)
    except PlaywrightError:
        _screenshot(browser, shot)
        raise
    time.sleep(1.0)  # let the animation settle before the screenshot
    graph = browser.evaluate(GRAPH_JS)[0]
    _screenshot(browser, shot)
    assert len(graph["visible"]) >= 20, f"only {graph['visible']} drawn; see {shot}"
    edges = {tuple(edge) for edge in graph["edges"]}
    for upstream, downstream in itertools.pairwise(LINEAGE):
        assert (upstream, downstream) in edges, f"no edge {upstream} -> {downstream} in the lineage graph"
    assert "Lineage Graph" in browser.evaluate("document.body.innerText")


# The columns table of a model page: name -> (type, description) as the page shows them.
COLUMNS_JS = """
(() => {
  const rows = Array.from(document.querySelectorAll('#columns tr.column-row, tr.column-row'));
  const out = {};
  for (const row of rows) {
    const cells = row.querySelectorAll('td');
    if (cells.length < 3 || row.getBoundingClientRect().height === 0) continue;
    out[cells[0].textContent.trim()] = [cells[1].textContent.trim(), cells[2].textContent.trim()];
  }
  return out;
})()
"""


def test_mart_column_docs_render(browser: Page, docs_url: str, docs_target: Path) -> None:
    manifest = json.loads((docs_target / "manifest.json").read_text())
    documented = manifest["nodes"][MART]["columns"]
    browser.goto(f"{docs_url}#!/model/{MART}")
    wanted = " && ".join(f"t['{name}']" for name in MART_COLUMNS)
    browser.wait_for_function(f"(() => {{ const t = {COLUMNS_JS}; return {wanted}; }})()", timeout=60_000)
    page = browser.evaluate("document.body.innerText")
    columns = browser.evaluate(COLUMNS_JS)
    browser.evaluate("document.getElementById('columns').scrollIntoView()")
    time.sleep(0.5)
    shot = _screenshot(browser, ARTIFACTS / "reference_price_metrics_columns.png")

    assert "reference_price_metrics" in page
    assert "One row per reference" in page, "the model's description (its grain) is not shown"
    for name in MART_COLUMNS:
        shown_type, shown_description = columns[name]
        description = documented[name]["description"]
        assert description.strip(), f"{name} has no description in the manifest"
        assert _squash(shown_description) == _squash(description), f"{name}: description differs; see {shot}"
        assert shown_type.startswith("numeric"), f"{name}: type {shown_type!r} (from the catalog) not shown"
    assert "Median asking price in USD" in columns["median_price_usd"][1]
    assert "market price" in columns["market_price_usd"][1].lower()
