"""The market report built from a real dbt run, opened in real headless Chromium, and published to S3.

One database for the module: the small deterministic market of the price-trust tests
(``tests/dbt/trust_market.py``: 8 references of 3 brands over 58 weeks) written into the raw
tables, every model built by ``dbt run``, then the report written to a folder with
``ingest report``. The browser tests open it from ``file://`` (Playwright driving the
system's Chromium) and compare what the pages show with the marts.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import boto3
import psycopg
import pytest
from browser import launch_chromium, requires_chromium, watch_page
from moto.server import ThreadedMotoServer
from playwright.sync_api import Browser

from ingest import storage
from ingest.cli import main as ingest_main
from ingest.orchestration.dbt import run_dbt
from ingest.report import pages
from ingest.report.site import publish_report
from ingest.settings import get_settings

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "dbt"))
import trust_market as market  # the market of tests/dbt, shared

LAST = market.week_start(market.N_WEEKS - 1)
REFERENCE = ("Rolex", "126610LN")  # 2,500 listings in the last week: high confidence
REFERENCE_PAGE = "references/rolex--126610ln.html"
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "report"


@pytest.fixture(scope="module")
def conn(warehouse_env: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(warehouse_env, autocommit=True) as connection:
        yield connection


@pytest.fixture(scope="module")
def marts(conn: psycopg.Connection, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The schema of the reference marts, after a dbt run on the whole market."""
    market.create_raw(conn)
    market.load_weeks(conn, range(market.N_WEEKS))
    work = tmp_path_factory.mktemp("report_dbt")
    run_dbt(["run", "--target-path", str(work / "target"), "--log-path", str(work / "logs")])
    return conn.execute(
        "select table_schema from information_schema.tables where table_name = 'reference_price_metrics'"
    ).fetchone()[0]


@pytest.fixture(scope="module")
def site(marts: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    assert ingest_main(["report", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with launch_chromium() as browser:
        yield browser


def _mart_row(conn: psycopg.Connection, schema: str, table: str, week=LAST, key=REFERENCE) -> dict:
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        cur.execute(
            f"select * from {schema}.{table} where brand = %s and reference_number = %s and market_week = %s",
            (*key, week),
        )
        return cur.fetchone()


# ------------------------------------------------------------------------------------- the files


def test_site_holds_the_pages_the_marts_call_for(site: Path, conn: psycopg.Connection, marts: str) -> None:
    assert (site / "index.html").is_file()
    assert sorted(p.name for p in (site / "brands").iterdir()) == ["omega.html", "rolex.html", "tudor.html"]
    # a page for every reference with medium or high confidence in one of the last 13 weeks
    expected = conn.execute(
        f"""select distinct brand, reference_number from {marts}.reference_price_metrics
            where market_week > %s and confidence in ('medium', 'high')""",
        (LAST - timedelta(weeks=13),),
    ).fetchall()
    assert len(expected) == 8  # every reference of the market reaches 5 listings in some recent week
    written = sorted(p.name for p in (site / "references").iterdir())
    assert written == sorted(f"{pages.slug(b)}--{pages.slug(r)}.html" for b, r in expected)
    # one copy of the chart library, served from the site; nothing refers to another host
    scripts = sorted(p.relative_to(site).as_posix() for p in site.rglob("*.js"))
    assert scripts == ["assets/plotly.min.js", "assets/report.js", "assets/search-index.js"]
    for page in site.rglob("*.html"):
        text = page.read_text()
        assert "http://" not in text and "https://" not in text and "//cdn" not in text, page
    biggest = max((site / "references").iterdir(), key=lambda p: p.stat().st_size)
    assert biggest.stat().st_size < 300_000, f"{biggest.name}: {biggest.stat().st_size} bytes"


def test_week_option_reports_that_week(marts: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    week = market.week_start(market.N_WEEKS - 3)
    assert ingest_main(["report", "--out", str(tmp_path), "--week", (week + timedelta(days=3)).isoformat()]) == 0
    printed = capsys.readouterr().out
    assert f"market report of the week of {week}" in printed
    assert f"home page: {tmp_path / 'index.html'}" in printed
    assert f"Market week of {week}" in (tmp_path / "index.html").read_text()


def test_stale_pages_are_removed(marts: str, tmp_path: Path) -> None:
    (tmp_path / "references").mkdir()
    (tmp_path / "references" / "gone--1.html").write_text("old")
    (tmp_path / "notes.txt").write_text("kept: not a page folder")
    publish_report(get_settings(), out=str(tmp_path))
    assert not (tmp_path / "references" / "gone--1.html").exists()
    assert (tmp_path / "notes.txt").read_text() == "kept: not a page folder"


# ------------------------------------------------------------------------------------- the browser


@requires_chromium
def test_home_page_renders_offline_and_search_finds_a_reference(
    chromium: Browser, site: Path, conn: psycopg.Connection, marts: str
) -> None:
    loaded = conn.execute("select rows_loaded from raw.ingest_runs where market_week = %s", (LAST,)).fetchone()[0]
    with watch_page(chromium) as watched:
        page = watched.page
        page.goto((site / "index.html").as_uri())
        assert page.inner_text("h1") == "The watch market this week"
        assert page.locator("table.brands tbody tr").count() == 3
        freshness = page.inner_text("#freshness")
        assert f"Data of the market week of {LAST}" in freshness
        assert f"{loaded:,} listings loaded, 0 rows quarantined" in freshness
        # the liquidity rankings: high-confidence references of the week, by sell-through
        ranked = conn.execute(
            f"""select l.reference_number from {marts}.reference_liquidity as l
                inner join {marts}.reference_price_metrics as p using (brand, reference_number, market_week)
                where l.market_week = %s and p.confidence = 'high' and l.sell_through_rate is not null
                order by l.sell_through_rate desc, l.brand, l.reference_number""",
            (LAST,),
        ).fetchall()
        assert ranked, "no high-confidence reference with a sell-through in the last week"
        most = page.locator("table.most-liquid tbody tr").evaluate_all("rows => rows.map(r => r.dataset.ref)")
        least = page.locator("table.least-liquid tbody tr").evaluate_all("rows => rows.map(r => r.dataset.ref)")
        assert most == [r for (r,) in ranked][:10]
        rates = dict(
            conn.execute(
                f"select reference_number, sell_through_rate from {marts}.reference_liquidity where market_week = %s",
                (LAST,),
            ).fetchall()
        )
        assert least == sorted((r for (r,) in ranked), key=lambda r: rates[r])[:10]
        page.fill("#search", "126610")
        results = page.locator("#search-results a")
        results.first.wait_for()
        assert results.all_inner_texts()[0].startswith("Rolex 126610LN")
        page.fill("#search", "speedmaster")  # a model finds its brand's page and the reference
        page.locator("#search-results a").first.wait_for()
        texts = page.locator("#search-results a").all_inner_texts()
        assert any(t.startswith("Omega 310.30.42.50.01.001") for t in texts), texts
        assert any(t.startswith("Omega Speedmaster") for t in texts), texts
        page.fill("#search", "126610ln")
        page.locator("#search-results a").first.click()
        page.wait_for_url("**/" + REFERENCE_PAGE)
        assert page.inner_text("h1") == "Rolex 126610LN"
    assert watched.console_errors == []
    assert watched.outside_requests == []
    assert all(url.startswith("file://") for url in watched.requests), watched.requests


# the SVG points Plotly drew: the weekly medians (markers) and the listing bars
POINTS_JS = """() => {
  const el = document.getElementById('price-chart');
  return {
    medians: el.querySelectorAll('.scatterlayer .trace .points path.point').length,
    bars: el.querySelectorAll('.barlayer .point').length,
    range: el._fullLayout.xaxis.range.map(x => Date.parse(x)),
  };
}"""


@requires_chromium
def test_reference_chart_renders_and_zooms(chromium: Browser, site: Path, conn: psycopg.Connection, marts: str) -> None:
    history = conn.execute(
        f"""select count(median_price_usd), count(*) from {marts}.reference_price_metrics
            where brand = %s and reference_number = %s""",
        REFERENCE,
    ).fetchone()
    with watch_page(chromium) as watched:
        page = watched.page
        page.goto((site / REFERENCE_PAGE).as_uri())
        page.wait_for_selector("#price-chart .main-svg")
        before = page.evaluate(POINTS_JS)
        assert before["medians"] == history[0]  # one marker per week with a median
        assert before["bars"] == history[1]  # one bar per week with listings
        page.locator("#price-chart .rangeselector .button", has_text="3m").click()
        page.wait_for_function(
            "() => { const r = document.getElementById('price-chart')._fullLayout.xaxis.range;"
            f" return Date.parse(r[1]) - Date.parse(r[0]) < {200 * 86400e3}; }}"
        )
        after = page.evaluate(POINTS_JS)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "reference.png"), full_page=True)
    days_before = (before["range"][1] - before["range"][0]) / 86400e3
    days_after = (after["range"][1] - after["range"][0]) / 86400e3
    assert days_before >= (market.N_WEEKS - 1) * 7  # All: the whole history
    assert 89 <= days_after <= 93  # 3 months back from the last week
    assert after["range"][1] == before["range"][1]
    assert watched.console_errors == []
    assert watched.outside_requests == []


FIGURES_JS = """() => {
  const out = {};
  for (const el of document.querySelectorAll('[data-metric]')) {
    if (!(el.dataset.metric in out)) out[el.dataset.metric] = [el.dataset.value, el.textContent.trim()];
  }
  return out;
}"""


def _shown(value: object) -> str:
    return "" if value is None else str(value)


@requires_chromium
def test_reference_page_numbers_equal_the_marts(
    chromium: Browser, site: Path, conn: psycopg.Connection, marts: str
) -> None:
    price = _mart_row(conn, marts, "reference_price_metrics")
    volatility = _mart_row(conn, marts, "reference_volatility")
    composition = _mart_row(conn, marts, "reference_composition")
    liquidity = _mart_row(conn, marts, "reference_liquidity")
    assert liquidity["n_spells"] > 0  # the mart has flows and spells for this reference-week
    month_ago = _mart_row(conn, marts, "reference_price_metrics", week=LAST - timedelta(weeks=4))
    with watch_page(chromium) as watched:
        page = watched.page
        page.goto((site / REFERENCE_PAGE).as_uri())
        shown = page.evaluate(FIGURES_JS)
        payload = json.loads(page.inner_text("#page-data"))
    assert watched.console_errors == []
    assert price["n_priced"] == 2500 and price["confidence"] == "high"
    for metric in ("market_price_usd", "change_1m", "change_3m", "change_1y", "n_priced", "n_listings", "confidence"):
        assert shown[metric][0] == _shown(price[metric]), metric
    for metric in ("volatility_3m", "growth_1m", "growth_3m", "volatility_1m"):
        assert shown[metric][0] == _shown(volatility[metric]), metric
    for metric in ("n_new", "pct_new", "n_preowned", "n_very_good", "pct_unknown"):
        assert shown[metric][0] == _shown(composition[metric]), metric
    for metric in (
        "n_new_listings",
        "n_ended_listings",
        "sell_through_rate",
        "n_price_cuts",
        "pct_price_cut",
        "median_weeks_on_market",
        "n_spells",
    ):
        assert shown[metric][0] == _shown(liquidity[metric]), metric
    assert shown["n_spells"][1] == pages.count(liquidity["n_spells"])
    assert shown["median_weeks_on_market"][1] == pages.weeks_text(liquidity["median_weeks_on_market"])
    assert shown["market_price_usd"][1] == pages.money(price["market_price_usd"])
    assert shown["change_1m"][1] == pages.pct(price["change_1m"])
    assert shown["n_priced"][1] == "2,500"
    assert shown["confidence"][1] == "High"
    # the 1-month change in dollars is the difference of the two market prices
    change = price["market_price_usd"] - month_ago["market_price_usd"]
    assert Decimal(shown["change_1m_usd"][0]) == change
    assert shown["p25_p75"][0] == f"{price['p25_price_usd']}|{price['p75_price_usd']}"
    label = pages.volatility_label(volatility["volatility_3m"])
    assert shown["volatility_3m"][1] == (
        f"{pages.pct(volatility['volatility_3m'], signed=False)} {label}" if label else "\u2013"
    )
    # the chart's data: the mart's weekly values, to the cent
    weekly = conn.execute(
        f"""select market_week, market_price_usd, n_listings from {marts}.reference_price_metrics
            where brand = %s and reference_number = %s order by market_week""",
        REFERENCE,
    ).fetchall()
    assert payload["price"]["w"] == [w.isoformat() for w, _, _ in weekly]
    assert payload["price"]["mp"] == [None if m is None else float(m) for _, m, _ in weekly]
    assert payload["price"]["n"] == [n for _, _, n in weekly]


# ------------------------------------------------------------------------------------- S3


@pytest.fixture
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    mp = pytest.MonkeyPatch()
    for key, value in (
        ("AWS_ENDPOINT_URL_S3", endpoint),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
    ):
        mp.setenv(key, value)
    get_settings.cache_clear()
    storage.s3_client.cache_clear()
    try:
        yield endpoint
    finally:
        mp.undo()
        get_settings.cache_clear()
        storage.s3_client.cache_clear()
        server.stop()


def test_published_to_s3(marts: str, site: Path, s3_endpoint: str) -> None:
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket="watch-report")
    client.put_object(Bucket="watch-report", Key="site/references/gone--1.html", Body=b"old")
    result = publish_report(get_settings(), out="s3://watch-report/site")
    assert result.home == "s3://watch-report/site/index.html"
    keys = {
        obj["Key"][len("site/") :]
        for page in client.get_paginator("list_objects_v2").paginate(Bucket="watch-report", Prefix="site/")
        for obj in page.get("Contents", [])
    }
    local = {p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()}
    assert keys == local  # the same files as the folder build, the stale page removed
    head = client.head_object(Bucket="watch-report", Key="site/index.html")
    assert head["ContentType"] == "text/html; charset=utf-8"
    assert client.head_object(Bucket="watch-report", Key="site/assets/plotly.min.js")["ContentType"].startswith(
        "text/javascript"
    )
    body = client.get_object(Bucket="watch-report", Key=f"site/{REFERENCE_PAGE}")["Body"].read()
    assert body == (site / REFERENCE_PAGE).read_bytes()


INDEX_JS = """() => {
  const el = document.getElementById('index-chart');
  return {points: el.querySelectorAll('.scatterlayer .trace .points path.point').length,
          range: el._fullLayout.xaxis.range.map(x => Date.parse(x))};
}"""


@requires_chromium
@pytest.mark.parametrize(
    ("page_path", "table", "key"),
    [("index.html", "market_price_index", None), ("brands/omega.html", "brand_price_index", "Omega")],
)
def test_index_charts_render_and_zoom(
    chromium: Browser, site: Path, conn: psycopg.Connection, marts: str, page_path: str, table: str, key: str | None
) -> None:
    where, params = ("where brand = %s", (key,)) if key else ("", ())
    schema = conn.execute(
        "select table_schema from information_schema.tables where table_name = %s", (table,)
    ).fetchone()[0]
    n_weeks, latest = conn.execute(
        f"select count(*), max(market_week) from {schema}.{table} {where}", params
    ).fetchone()
    value = conn.execute(
        f"select index_value from {schema}.{table} {where} {'and' if key else 'where'} market_week = %s",
        (*params, latest),
    ).fetchone()[0]
    with watch_page(chromium) as watched:
        page = watched.page
        page.goto((site / page_path).as_uri())
        page.wait_for_selector("#index-chart .main-svg")
        before = page.evaluate(INDEX_JS)
        page.locator("#index-chart .rangeselector .button", has_text="6m").click()
        page.wait_for_function(
            "() => { const r = document.getElementById('index-chart')._fullLayout.xaxis.range;"
            f" return Date.parse(r[1]) - Date.parse(r[0]) < {250 * 86400e3}; }}"
        )
        after = page.evaluate(INDEX_JS)
        shown = page.locator('.figures [data-metric="index_value"]')
        assert shown.get_attribute("data-value") == str(value)
        assert shown.inner_text() == f"{float(value):,.1f}"
    assert before["points"] == n_weeks  # one marker per week of the index
    assert 180 <= (after["range"][1] - after["range"][0]) / 86400e3 <= 185  # six months
    assert watched.console_errors == []
    assert watched.outside_requests == []
