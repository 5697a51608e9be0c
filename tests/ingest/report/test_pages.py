"""The report's pages from hand-made data: number formats, escaping, page paths, the volatility label."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from decimal import Decimal

from ingest.report import pages
from ingest.report.data import ReportData
from ingest.report.site import render_site, search_index

WEEK = date(2026, 11, 23)


def test_number_formats() -> None:
    assert pages.money(Decimal("14250.50")) == "$14,251"  # half up, whole dollars from $1,000
    assert pages.money(Decimal("999.995")) == "$1,000.00"
    assert pages.money(Decimal("428.014")) == "$428.01"
    assert pages.money(None) == "\u2013"
    assert pages.signed_money(Decimal("472.62")) == "+$473"
    assert pages.signed_money(Decimal("-1250.49")) == "\u2212$1,250"
    assert pages.pct(Decimal("0.05125")) == "+5.1%"
    assert pages.pct(Decimal("0.05150")) == "+5.2%"
    assert pages.pct(Decimal("-0.1284")) == "\u221212.8%"
    assert pages.pct(Decimal("0")) == "0.0%"
    assert pages.pct(Decimal("0.4211"), signed=False) == "42.1%"
    assert pages.count(1234567) == "1,234,567"
    assert pages.weeks_text(1) == "1 week"
    assert pages.weeks_text(6) == "6 weeks"


def test_volatility_label_thresholds() -> None:
    assert pages.volatility_label(None) is None
    assert pages.volatility_label(0.1499) == "Low"
    assert pages.volatility_label(0.15) == "Medium"
    assert pages.volatility_label(0.2999) == "Medium"
    assert pages.volatility_label(0.30) == "High"


def test_slugs_are_ascii_and_unique() -> None:
    assert pages.slug("A. Lange & Söhne") == "a-lange-sohne"
    assert pages.slug("5711/1A-011") == "5711-1a-011"
    data = _data()
    paths = pages.Paths(data)
    # "3.1" and "3/1" slug alike: the second gets its own file
    assert paths.references[("Acme <b>&</b>", "3.1")] == "references/acme-b-b--3-1.html"
    assert paths.references[("Acme <b>&</b>", "3/1")] == "references/acme-b-b--3-1-2.html"
    assert paths.brands["Acme <b>&</b>"] == "brands/acme-b-b.html"


def _price_row(week: date, market_price: str, n: int, confidence: str) -> dict:
    m = Decimal(market_price)
    return {
        "market_week": week,
        "n_listings": n + 1,
        "n_priced": n,
        "median_price_usd": m,
        "market_price_usd": m,
        "change_1w": None,
        "change_1m": None,
        "change_3m": None,
        "change_6m": None,
        "change_1y": None,
        "p10_price_usd": m - 200,
        "p25_price_usd": m - 100,
        "p75_price_usd": m + 100,
        "p90_price_usd": m + 200,
        "median_ci_low_usd": None,
        "median_ci_high_usd": None,
        "confidence": confidence,
        "new_premium": None,
    }


def _data() -> ReportData:
    brand = "Acme <b>&</b>"
    data = ReportData(week=WEEK, freshness=None)
    for ref, price in (("3.1", "1500"), ("3/1", "2500")):
        history = [_price_row(WEEK - timedelta(weeks=4 - i), str(int(price) + 10 * i), 8, "medium") for i in range(5)]
        history[-1]["change_1m"] = Decimal("0.0266666667")
        key = (brand, ref)
        data.ref_history[key] = history
        data.references[key] = dict(history[-1])
        data.page_refs.add(key)
        data.ref_models[key] = ('Model "<i>One</i>"', "Parent")
    data.brands[brand] = {"brand": brand, **_price_row(WEEK, "2000", 16, "medium")}
    data.parent_models[brand] = [{"brand": brand, "parent_model": "Parent", **_price_row(WEEK, "2000", 16, "medium")}]
    return data


def test_text_from_the_data_is_escaped_everywhere() -> None:
    files = render_site(_data())
    for path, body in files.items():
        if path.endswith(".html"):
            text = body.decode()
            assert "<b>&</b>" not in text and "<i>One</i>" not in text, path
    reference = files["references/acme-b-b--3-1.html"].decode()
    assert "Acme &lt;b&gt;&amp;&lt;/b&gt;" in reference
    assert "Model &quot;&lt;i&gt;One&lt;/i&gt;&quot;" in reference
    # the page's JSON cannot close its <script> element
    payload = re.search(r'<script type="application/json" id="page-data">(.*?)</script>', reference).group(1)
    assert "<" not in payload
    data = json.loads(payload)
    assert data["price"]["mp"] == [1500.0, 1510.0, 1520.0, 1530.0, 1540.0]
    assert data["price"]["w"][-1] == "2026-11-23"
    index = search_index(_data(), pages.Paths(_data())).decode()
    entries = json.loads(index[len("window.REPORT_SEARCH=") : -2])
    assert ["reference", "Acme <b>&</b> 3/1", 'Model "<i>One</i>"', "references/acme-b-b--3-1-2.html"] in entries


def test_reference_figures_carry_the_mart_values() -> None:
    files = render_site(_data())
    page = files["references/acme-b-b--3-1.html"].decode()
    assert 'data-metric="market_price_usd" data-value="1540">$1,540</div>' in page
    # 1-month change in dollars: market price now minus 4 weeks earlier (1540 - 1500)
    assert 'data-metric="change_1m_usd" data-value="40">+$40</span>' in page
    assert 'data-metric="change_1m" data-value="0.0266666667">+2.7%</div>' in page
    assert 'data-metric="p25_p75" data-value="1440|1640">$1,440\u2013$1,640</div>' in page
    # one copy of the chart library, referenced relatively
    assert '<script src="../assets/plotly.min.js"></script>' in page
    assert sum(p.endswith(".js") and "plotly" in p for p in files) == 1
