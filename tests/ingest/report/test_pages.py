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


def _index_row(week: date, value: str, change: str | None) -> dict:
    return {
        "market_week": week,
        "index_value": Decimal(value),
        "n_matched_references": 3,
        "index_change_1w": None if change is None else Decimal(change),
        "index_change_1m": None,
        "index_change_3m": None,
        "index_change_6m": None,
        "index_change_1y": None,
    }


def test_liquidity_rankings_and_index_of_high_confidence_references() -> None:
    data = ReportData(week=WEEK, freshness=None, has_liquidity=True, has_index=True)
    brand = "Tudor"
    # sell-through 0.30, 0.10, 0.20 on high confidence; a medium one of 0.90 is not ranked
    for ref, rate, confidence, weeks in (
        ("A1", "0.30", "high", 2),
        ("B2", "0.10", "high", 9),
        ("C3", "0.20", "high", 4),
        ("D4", "0.90", "medium", 1),
    ):
        row = _price_row(WEEK, "3000", 25 if confidence == "high" else 8, confidence)
        row.update({"sell_through_rate": Decimal(rate), "median_weeks_on_market": weeks, "n_spells": 40})
        data.references[(brand, ref)] = row
        data.ref_history[(brand, ref)] = [row]
        data.page_refs.add((brand, ref))
    data.brands[brand] = {"brand": brand, **_price_row(WEEK, "3000", 83, "high"), "sell_through_rate": Decimal("0.2")}
    data.brand_index[brand] = [
        _index_row(WEEK - timedelta(weeks=1), "100", None),
        _index_row(WEEK, "102.5", "0.025"),
    ]
    data.market_index = list(data.brand_index[brand])
    files = render_site(data)
    home = files["index.html"].decode()
    most = home[home.index('class="most-liquid"') : home.index('class="least-liquid"')]
    least = home[home.index('class="least-liquid"') :]
    assert re.findall(r'data-ref="(\w+)"', most) == ["A1", "C3", "B2"]
    assert re.findall(r'data-ref="(\w+)"', least) == ["B2", "C3", "A1"]
    assert 'data-metric="sell_through_rate" data-value="0.30">30.0%</td>' in most
    assert 'data-metric="median_weeks_on_market" data-value="2">2 weeks</td>' in most
    # the brand row: index 102.5, +2.5 % over the week, sell-through 20 %
    brand_row = home[home.index('data-brand="Tudor"') :]
    assert 'data-metric="index_value" data-value="102.5">102.5</td>' in brand_row
    assert 'data-metric="index_change_1w" data-value="0.025">+2.5%</td>' in brand_row
    assert 'data-metric="sell_through_rate" data-value="0.2">20.0%</td>' in brand_row
    payload = json.loads(re.search(r'id="page-data">(.*?)</script>', home).group(1))
    assert payload["index"]["idx"] == [100.0, 102.5]
    brand_page = files["brands/tudor.html"].decode()
    assert 'id="index-chart"' in brand_page and "plotly.min.js" in brand_page
    reference = files["references/tudor--a1.html"].decode()
    assert 'data-metric="n_spells" data-value="40">40</td>' in reference
    assert 'data-metric="median_weeks_on_market" data-value="2">2 weeks</div>' in reference


def test_a_change_that_shows_as_zero_is_not_coloured() -> None:
    assert pages.cell(pages.pct(Decimal("0.00049")), Decimal("0.00049"), "change_1m", trend=True) == (
        '<td class="num" data-metric="change_1m" data-value="0.00049">0.0%</td>'
    )
    assert 'class="num up"' in pages.cell("+0.1%", Decimal("0.0005"), "change_1m", trend=True)
    assert 'class="num down"' in pages.cell("\u22120.1%", Decimal("-0.0005"), "change_1m", trend=True)
