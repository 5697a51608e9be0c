"""The report's HTML pages (home, one per brand, one per reference), from a :class:`ReportData`.

Every text that comes from the data is escaped; every figure carries its mart value in
``data-value`` beside the formatted text (so a reader's browser and the tests see the same
number). Pages link with relative paths only, so the site opens from a folder or any host.
"""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from html import escape
from typing import Any

from ingest.report.assets import PLOTLY_ASSET, SCRIPT_ASSET, SEARCH_ASSET, STYLE_ASSET
from ingest.report.data import CONDITIONS, PAGE_WEEKS, RefKey, ReportData, Row

#: Volatility labels, on the 3-month annualised volatility of the weekly median.
VOLATILITY_LOW = 0.15  # below: Low
VOLATILITY_HIGH = 0.30  # from here: High; between: Medium
#: How many rows the home page's rankings show.
RANKING_ROWS = 10
HORIZONS = (("1w", 1), ("1m", 4), ("3m", 13), ("6m", 26), ("1y", 52))
CONDITION_LABELS = {
    "new": "New",
    "unworn": "Unworn",
    "very_good": "Very good",
    "good": "Good",
    "fair": "Fair",
    "poor": "Poor",
    "incomplete": "Incomplete / for parts",
    "preowned_unspecified": "Pre-owned (unspecified)",
    "unknown": "Unknown",
}
DASH = "\u2013"
MIDDOT = " \u00b7 "


# ---------------------------------------------------------------------------------- formatting


def _dollars(value: Any, places: str) -> str:
    amount = Decimal(str(value)).quantize(Decimal(places), rounding=ROUND_HALF_UP)
    sign = "\u2212" if amount < 0 else ""
    return f"{sign}${abs(amount):,}"


def money(value: Any) -> str:
    """A price in US dollars: whole dollars from $1,000 (``$14,250``), cents below (``$428.01``)."""
    if value is None:
        return DASH
    return _dollars(value, "1" if abs(Decimal(str(value))) >= 1000 else "0.01")


def signed_money(value: Any) -> str:
    """A change in US dollars, whole dollars with its sign (``+$473``, ``\u2212$1,250``)."""
    if value is None:
        return DASH
    return ("+" if Decimal(str(value)) >= 0 else "") + _dollars(value, "1")


def pct(value: Any, signed: bool = True) -> str:
    """A ratio as a percentage with one decimal (0.0512 -> ``+5.1%``)."""
    if value is None:
        return DASH
    percent = (Decimal(str(value)) * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    sign = "\u2212" if percent < 0 else "+" if signed and percent > 0 else ""
    return f"{sign}{abs(percent)}%"


def count(value: Any) -> str:
    return DASH if value is None else f"{int(value):,}"


def weeks_text(value: Any) -> str:
    if value is None:
        return DASH
    n = int(value)
    return f"{n} week" if n == 1 else f"{n} weeks"


def volatility_label(value: Any) -> str | None:
    if value is None:
        return None
    v = float(value)
    return "Low" if v < VOLATILITY_LOW else "Medium" if v < VOLATILITY_HIGH else "High"


def _raw(value: Any) -> str:
    """The mart value as text, for ``data-value`` (Decimals exactly as stored)."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _trend(value: Any) -> str:
    """``up`` or ``down`` for a change that shows as non-zero at one decimal of a percent."""
    if value is None:
        return ""
    shown = (Decimal(str(value)) * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return "" if shown == 0 else "up" if shown > 0 else "down"


def cell(text: str, value: Any = None, metric: str | None = None, cls: str = "num", trend: bool = False) -> str:
    """A table cell with its formatted text (escaped) and, when given, its mart value."""
    classes = [cls] if cls else []
    if trend and _trend(value):
        classes.append(_trend(value))
    attrs = f' class="{" ".join(classes)}"' if classes else ""
    if metric:
        attrs += f' data-metric="{escape(metric)}" data-value="{escape(_raw(value))}"'
    return f"<td{attrs}>{escape(text)}</td>"


def figure(label: str, text: str, metric: str, value: Any, detail: str = "", trend: bool = False, cls: str = "") -> str:
    cls = f" {_trend(value)}" if trend else f" {cls}" if cls else ""
    return (
        f'<div class="figure"><div class="label">{escape(label)}</div>'
        f'<div class="value{cls}" data-metric="{escape(metric)}" data-value="{escape(_raw(value))}">'
        f"{escape(text)}</div>" + (f'<div class="detail">{detail}</div>' if detail else "") + "</div>"
    )


def confidence_pill(level: str | None) -> str:
    if not level:
        return DASH
    return f'<span class="pill {escape(level)}">{escape(level.capitalize())}</span>'


def page_json(payload: dict[str, Any]) -> str:
    """Compact JSON that is safe inside a ``<script>`` element."""
    text = json.dumps(payload, separators=(",", ":"), default=_json_default, allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(round(value, 2))
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(f"not JSON: {type(value).__name__}")


def _num(value: Any, digits: int = 2) -> float | None:
    return None if value is None else round(float(value), digits)


# ---------------------------------------------------------------------------------- paths


def slug(text: str) -> str:
    """A file name part: ASCII letters and digits, other runs as one hyphen (``Söhne & Co`` -> ``sohne-co``)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or "x"


class Paths:
    """Page paths of the site (relative to its root), unique even where two names slug alike."""

    def __init__(self, data: ReportData) -> None:
        taken: set[str] = set()
        self.brands: dict[str, str] = {}
        self.references: dict[RefKey, str] = {}
        for brand in sorted(data.brands.keys() | {k[0] for k in data.references}):
            self.brands[brand] = self._unique(f"brands/{slug(brand)}", taken)
        for key in sorted(data.page_refs):
            self.references[key] = self._unique(f"references/{slug(key[0])}--{slug(key[1])}", taken)

    @staticmethod
    def _unique(stem: str, taken: set[str]) -> str:
        path, n = f"{stem}.html", 2
        while path in taken:
            path, n = f"{stem}-{n}.html", n + 1
        taken.add(path)
        return path


# ---------------------------------------------------------------------------------- layout


def layout(data: ReportData, title: str, body: str, root: str, payload: dict[str, Any] | None = None) -> str:
    """A whole page: head (CSS), header, body, the page's JSON, the scripts."""
    scripts = (
        [f'<script src="{root}{PLOTLY_ASSET}"></script>']
        if payload and ("price" in payload or "index" in payload)
        else []
    )
    if payload and payload.get("search"):
        scripts.append(f'<script src="{root}{SEARCH_ASSET}"></script>')
    scripts.append(f'<script src="{root}{SCRIPT_ASSET}"></script>')
    data_tag = (
        f'<script type="application/json" id="page-data">{page_json({**payload, "root": root})}</script>'
        if payload
        else ""
    )
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title>"
        f'<link rel="stylesheet" href="{root}{STYLE_ASSET}"></head><body>'
        f'<header class="site"><div class="inner"><a class="brandmark" href="{root}index.html">Watch Market Report</a>'
        f'<span class="week">Market week of {data.week.isoformat()}</span></div></header>'
        f"<main>{body}"
        "<footer>Asking prices of listings on the watch marketplaces, in US dollars (ECB reference rates). "
        "Market price: the average of the weekly medians over the last 30 days. Rankings show only prices "
        "of high confidence (at least 20 listings after outliers).</footer>"
        f"</main>{data_tag}{''.join(scripts)}</body></html>\n"
    )


def _table(head: list[tuple[str, bool]], rows: list[str], cls: str = "") -> str:
    ths = "".join(f'<th class="num">{escape(h)}</th>' if num else f"<th>{escape(h)}</th>" for h, num in head)
    body = "".join(rows) if rows else f'<tr><td colspan="{len(head)}" class="note">No data this week.</td></tr>'
    return (
        f'<div class="table-wrap"><table class="{cls}"><thead><tr>{ths}</tr></thead><tbody>{body}</tbody></table></div>'
    )


def _index_payload(rows: list[Row], name: str) -> dict[str, Any]:
    return {
        "w": [r["market_week"].isoformat() for r in rows],
        "idx": [_num(r["index_value"], 4) for r in rows],
        "name": name,
    }


def _index_figures(row: Row | None) -> str:
    if row is None:
        return ""
    parts = [figure("Index", f"{float(row['index_value']):,.1f}", "index_value", row["index_value"])]
    for label, key in (("1 week", "1w"), ("1 month", "1m"), ("3 months", "3m"), ("1 year", "1y")):
        value = row[f"index_change_{key}"]
        parts.append(figure(f"Change {label}", pct(value), f"index_change_{key}", value, trend=True))
    parts.append(
        figure(
            "Matched references",
            count(row["n_matched_references"]),
            "n_matched_references",
            row["n_matched_references"],
            "references priced from 5 listings in this week and the last",
        )
    )
    return f'<div class="figures">{"".join(parts)}</div>'


# ---------------------------------------------------------------------------------- home


def home_page(data: ReportData, paths: Paths) -> str:
    fresh = data.freshness
    if fresh is not None:
        loaded = fresh.finished_at.strftime("%Y-%m-%d %H:%M UTC") if fresh.finished_at else DASH
        freshness = (
            f'<p class="freshness" id="freshness">Data of the market week of {fresh.market_week.isoformat()}, '
            f'loaded {escape(loaded)}: <span data-metric="rows_loaded" data-value="{fresh.rows_loaded}">'
            f"{count(fresh.rows_loaded)}</span> listings loaded, "
            f'<span data-metric="rows_quarantined" data-value="{fresh.rows_quarantined}">'
            f"{count(fresh.rows_quarantined)}</span> rows quarantined.</p>"
        )
    else:
        freshness = '<p class="freshness" id="freshness">No ingest run is recorded for this week.</p>'
    body = [
        '<h1>The watch market this week</h1><p class="sub">Asking prices, liquidity and price indices of the '
        "luxury-watch secondary market.</p>",
        freshness,
        '<div class="search"><input id="search" type="search" autocomplete="off" '
        'placeholder="Search a brand, model or reference (e.g. Submariner, 126610LN)" aria-label="Search">'
        '<ul id="search-results"></ul></div>',
    ]
    payload: dict[str, Any] = {"search": True}
    if data.market_index:
        latest = data.market_index[-1]
        body.append("<h2>Market price index</h2>")
        body.append(
            '<p class="note">A chained index of the weekly median prices of all references (the geometric mean '
            "of the week-on-week price changes of the references priced from at least 5 listings in both weeks), "
            "100 in the first week of data.</p>"
        )
        body.append(_index_figures(latest if latest["market_week"] == data.week else None))
        body.append('<div class="chart small" id="index-chart"></div>')
        payload["index"] = _index_payload(data.market_index, "Market index")
    body.append(_brand_table(data, paths))
    body.append(_movers(data, paths))
    if data.has_liquidity:
        body.append(_liquidity_rankings(data, paths))
    return layout(data, f"Watch Market Report, week of {data.week.isoformat()}", "".join(body), "", payload)


def _brand_table(data: ReportData, paths: Paths) -> str:
    rows = []
    ordered = sorted(data.brands.values(), key=lambda r: (-(r["n_listings"] or 0), r["brand"]))
    for row in ordered:
        brand = row["brand"]
        index = data.brand_index.get(brand, [])
        idx = index[-1] if index and index[-1]["market_week"] == data.week else {}
        cells = [f'<td><a href="{paths.brands[brand]}">{escape(brand)}</a></td>']
        if data.has_index:
            value = idx.get("index_value")
            cells.append(cell(DASH if value is None else f"{float(value):,.1f}", value, "index_value"))
            for key in ("1w", "1m", "1y"):
                v = idx.get(f"index_change_{key}")
                cells.append(cell(pct(v), v, f"index_change_{key}", trend=True))
        cells.append(cell(money(row["market_price_usd"]), row["market_price_usd"], "market_price_usd"))
        cells.append(cell(pct(row["change_1m"]), row["change_1m"], "change_1m", trend=True))
        cells.append(cell(count(row["n_listings"]), row["n_listings"], "n_listings"))
        if data.has_liquidity:
            v = row.get("sell_through_rate")
            cells.append(cell(pct(v, signed=False), v, "sell_through_rate"))
            cells.append(
                cell(
                    weeks_text(row.get("median_weeks_on_market")),
                    row.get("median_weeks_on_market"),
                    "median_weeks_on_market",
                )
            )
        rows.append(f'<tr data-brand="{escape(brand)}">{"".join(cells)}</tr>')
    head = [("Brand", False)]
    if data.has_index:
        head += [("Index", True), ("Index 1w", True), ("Index 1m", True), ("Index 1y", True)]
    head += [("Market price", True), ("Price 1m", True), ("Listings", True)]
    if data.has_liquidity:
        head += [("Sell-through", True), ("Typically sells in", True)]
    note = "Index: the brand's price index (100 in its first week). " if data.has_index else ""
    note += "Market price: the 30-day average of the weekly medians. Listings: the brand's listings this week."
    if data.has_liquidity:
        note += (
            " Sell-through: the share of last week's listings that ended this week (sold or withdrawn). Typically "
            "sells in: the median time on the market of the listings that appeared in the last year."
        )
    return f'<h2>Brands</h2><p class="note">{escape(note)}</p>' + _table(head, rows, "brands")


def _ref_name(data: ReportData, key: RefKey) -> str:
    specific, parent = data.ref_models.get(key, (None, None))
    return specific or parent or ""


def _ref_link(data: ReportData, paths: Paths, key: RefKey, root: str = "", with_brand: bool = True) -> str:
    label = f"{escape(key[0])} {escape(key[1])}" if with_brand else escape(key[1])
    path = paths.references.get(key)
    return f'<a href="{root}{path}">{label}</a>' if path else label


def _high_now(data: ReportData) -> list[tuple[RefKey, Row]]:
    return [
        (k, r)
        for k, r in sorted(data.references.items())
        if r["market_week"] == data.week and r["confidence"] == "high"
    ]


def _movers(data: ReportData, paths: Paths) -> str:
    movers = [(k, r) for k, r in _high_now(data) if r["change_1m"] is not None]
    risers = sorted((m for m in movers if m[1]["change_1m"] > 0), key=lambda m: -m[1]["change_1m"])[:RANKING_ROWS]
    fallers = sorted((m for m in movers if m[1]["change_1m"] < 0), key=lambda m: m[1]["change_1m"])[:RANKING_ROWS]

    def table(items: list[tuple[RefKey, Row]], cls: str) -> str:
        rows = [
            f'<tr data-ref="{escape(k[1])}"><td>{_ref_link(data, paths, k)}<div class="note">'
            f"{escape(_ref_name(data, k))}</div></td>"
            + cell(money(r["market_price_usd"]), r["market_price_usd"], "market_price_usd")
            + cell(pct(r["change_1m"]), r["change_1m"], "change_1m", trend=True)
            + cell(count(r["n_listings"]), r["n_listings"], "n_listings")
            + "</tr>"
            for k, r in items
        ]
        return _table([("Reference", False), ("Market price", True), ("1 month", True), ("Listings", True)], rows, cls)

    return (
        "<h2>Biggest movers</h2>"
        '<p class="note">References whose market price (30-day average) changed most over the last month; only '
        "prices of high confidence (at least 20 listings this week).</p>"
        f'<div class="cols"><div><h3>Up</h3>{table(risers, "risers")}</div>'
        f"<div><h3>Down</h3>{table(fallers, 'fallers')}</div></div>"
    )


def _liquidity_rankings(data: ReportData, paths: Paths) -> str:
    ranked = [(k, r) for k, r in _high_now(data) if r.get("sell_through_rate") is not None]
    most = sorted(ranked, key=lambda m: -m[1]["sell_through_rate"])[:RANKING_ROWS]
    least = sorted(ranked, key=lambda m: m[1]["sell_through_rate"])[:RANKING_ROWS]

    def table(items: list[tuple[RefKey, Row]], cls: str) -> str:
        rows = [
            f'<tr data-ref="{escape(k[1])}"><td>{_ref_link(data, paths, k)}<div class="note">'
            f"{escape(_ref_name(data, k))}</div></td>"
            + cell(pct(r["sell_through_rate"], signed=False), r["sell_through_rate"], "sell_through_rate")
            + cell(
                weeks_text(r.get("median_weeks_on_market")), r.get("median_weeks_on_market"), "median_weeks_on_market"
            )
            + cell(count(r["n_listings"]), r["n_listings"], "n_listings")
            + "</tr>"
            for k, r in items
        ]
        head = [("Reference", False), ("Sell-through", True), ("Sells in", True), ("Listings", True)]
        return _table(head, rows, cls)

    return (
        "<h2>Most and least liquid references</h2>"
        '<p class="note">Sell-through this week: the share of last week\'s listings that ended (sold or withdrawn); '
        "only prices of high confidence.</p>"
        f'<div class="cols"><div><h3>Most liquid</h3>{table(most, "most-liquid")}</div>'
        f"<div><h3>Least liquid</h3>{table(least, 'least-liquid')}</div></div>"
    )


# ---------------------------------------------------------------------------------- brand


def brand_page(data: ReportData, paths: Paths, brand: str) -> str:
    root = "../"
    row = data.brands.get(brand)
    body = [
        f'<div class="crumbs"><a href="{root}index.html">Home</a> \u203a {escape(brand)}</div>',
        f"<h1>{escape(brand)}</h1>",
    ]
    payload: dict[str, Any] = {}
    if row is not None:
        parts = [
            figure(
                "Market price (30 days)", money(row["market_price_usd"]), "market_price_usd", row["market_price_usd"]
            ),
            figure("Change 1 month", pct(row["change_1m"]), "change_1m", row["change_1m"], trend=True),
            figure("Change 1 year", pct(row["change_1y"]), "change_1y", row["change_1y"], trend=True),
            figure("Listings this week", count(row["n_listings"]), "n_listings", row["n_listings"]),
        ]
        if data.has_liquidity:
            parts.append(
                figure(
                    "Typically sells in",
                    weeks_text(row.get("median_weeks_on_market")),
                    "median_weeks_on_market",
                    row.get("median_weeks_on_market"),
                )
            )
        body.append(f'<div class="figures">{"".join(parts)}</div>')
    index = data.brand_index.get(brand, [])
    if index:
        body.append("<h2>Price index</h2>")
        body.append(
            '<p class="note">A chained index of the weekly median prices of the brand\'s references (those priced from '
            "at least 5 listings in both weeks; unchanged when fewer than 3 are), 100 in the brand's first week.</p>"
        )
        body.append(_index_figures(index[-1] if index[-1]["market_week"] == data.week else None))
        body.append('<div class="chart small" id="index-chart"></div>')
        payload["index"] = _index_payload(index, f"{brand} index")
    body.append(_group_table(data, paths, "Parent models", data.parent_models.get(brand, []), "parent_model"))
    refs = [dict(data.references[k], reference_number=k[1], _key=k) for k in data.brand_references(brand)]
    refs.sort(key=lambda r: (-(r["n_listings"] or 0), r["reference_number"]))
    body.append(_group_table(data, paths, "References", refs, "reference_number"))
    return layout(data, f"{brand}: watch market prices", "".join(body), root, payload)


def _group_table(data: ReportData, paths: Paths, title: str, rows: list[Row], key: str) -> str:
    out = []
    for row in rows:
        name = row[key] or "(no model)"
        if key == "reference_number":
            ref_key = row["_key"]
            label = _ref_link(data, paths, ref_key, "../", with_brand=False)
            model = _ref_name(data, ref_key)
            first = f"<td>{label}" + (f'<div class="note">{escape(model)}</div>' if model else "") + "</td>"
        else:
            first = f"<td>{escape(name)}</td>"
        vol = row.get("volatility_3m")
        label_text = volatility_label(vol)
        cells = [
            first,
            cell(money(row["market_price_usd"]), row["market_price_usd"], "market_price_usd"),
            cell(pct(row["change_1m"]), row["change_1m"], "change_1m", trend=True),
            cell(pct(row["change_3m"]), row["change_3m"], "change_3m", trend=True),
            cell(pct(row["change_1y"]), row["change_1y"], "change_1y", trend=True),
            f"<td>{confidence_pill(row['confidence'])}</td>",
            cell(
                f"{pct(vol, signed=False)} {label_text}" if label_text else DASH,
                vol,
                "volatility_3m",
                cls=f"num vol-{label_text}" if label_text else "num",
            ),
        ]
        if data.has_liquidity:
            cells.append(
                cell(
                    weeks_text(row.get("median_weeks_on_market")),
                    row.get("median_weeks_on_market"),
                    "median_weeks_on_market",
                )
            )
        cells.append(cell(count(row["n_listings"]), row["n_listings"], "n_listings"))
        week_note = "" if row["market_week"] == data.week else f' data-week="{row["market_week"].isoformat()}"'
        out.append(f"<tr{week_note}>{''.join(cells)}</tr>")
    head = [
        (title[:-1] if title.endswith("s") else title, False),
        ("Market price", True),
        ("1 month", True),
        ("3 months", True),
        ("1 year", True),
        ("Confidence", False),
        ("Volatility (3m)", True),
    ]
    if data.has_liquidity:
        head.append(("Typically sells in", True))
    head.append(("Listings", True))
    note = ""
    if key == "reference_number":
        note = (
            f'<p class="note">References with data in the last {PAGE_WEEKS} weeks (their latest week). A reference has '
            "its own page when its price had at least medium confidence (5 listings) in one of those weeks.</p>"
        )
    return f"<h2>{escape(title)}</h2>{note}" + _table(head, out, slug(title))


# ---------------------------------------------------------------------------------- reference


def _history_change_usd(history: list[Row], week: date, k: int) -> Any:
    """market_price(t) − market_price(t − k weeks) in dollars; None without a price exactly then."""
    by_week = {r["market_week"]: r["market_price_usd"] for r in history}
    now, then = by_week.get(week), by_week.get(week - timedelta(weeks=k))
    return None if now is None or then is None else now - then


def _price_payload(data: ReportData, key: RefKey) -> dict[str, Any]:
    history = data.ref_history[key]
    weeks = [r["market_week"] for r in history]
    payload: dict[str, Any] = {
        "w": [w.isoformat() for w in weeks],
        "mp": [_num(r["market_price_usd"]) for r in history],
        "med": [_num(r["median_price_usd"]) for r in history],
        "p25": [_num(r["p25_price_usd"]) for r in history],
        "p75": [_num(r["p75_price_usd"]) for r in history],
        # the interval as distances from the median (error bars)
        "ci_hi": [
            None if r["median_ci_high_usd"] is None else _num(r["median_ci_high_usd"] - r["median_price_usd"])
            for r in history
        ],
        "ci_lo": [
            None if r["median_ci_low_usd"] is None else _num(r["median_price_usd"] - r["median_ci_low_usd"])
            for r in history
        ],
        "n": [r["n_listings"] for r in history],
    }
    for segment, name in (("new", "new"), ("preowned", "pre")):
        rows = data.ref_segments.get(key, {}).get(segment)
        if rows:
            by_week = {r["market_week"]: r["market_price_usd"] for r in rows}
            payload[name] = [_num(by_week.get(w)) for w in weeks]
    return payload


def reference_page(data: ReportData, paths: Paths, key: RefKey) -> str:
    root = "../"
    brand, reference = key
    row = data.references[key]
    history = data.ref_history[key]
    specific, parent = data.ref_models.get(key, (None, None))
    at = row["market_week"]
    body = [
        f'<div class="crumbs"><a href="{root}index.html">Home</a> \u203a '
        f'<a href="{root}{paths.brands[brand]}">{escape(brand)}</a> \u203a {escape(reference)}</div>',
        f'<h1><span class="brand">{escape(brand)}</span> <span class="ref">{escape(reference)}</span></h1>',
        f'<p class="sub">{escape(MIDDOT.join(x for x in (specific, parent) if x))}</p>',
    ]
    if at != data.week:
        body.append(
            f'<p class="note" id="stale">No listings in the week of {data.week.isoformat()}: the figures are those of '
            f"the week of {at.isoformat()}, its latest week with data.</p>"
        )
    else:
        body.append(f'<p class="note">Figures of the market week of {at.isoformat()}.</p>')
    change_1m_usd = _history_change_usd(history, at, 4)
    change_3m_usd = _history_change_usd(history, at, 13)
    n = row["n_priced"]
    vol = row.get("volatility_3m")
    vol_label = volatility_label(vol)
    figures = [
        figure(
            "Market price (30 days)",
            money(row["market_price_usd"]),
            "market_price_usd",
            row["market_price_usd"],
            f"this week's median {money(row['median_price_usd'])}",
        ),
        figure(
            "Change 1 month",
            pct(row["change_1m"]),
            "change_1m",
            row["change_1m"],
            f'<span data-metric="change_1m_usd" data-value="{escape(_raw(change_1m_usd))}">'
            f"{escape(signed_money(change_1m_usd))}</span>",
            trend=True,
        ),
        figure(
            "Change 3 months",
            pct(row["change_3m"]),
            "change_3m",
            row["change_3m"],
            f'<span data-metric="change_3m_usd" data-value="{escape(_raw(change_3m_usd))}">'
            f"{escape(signed_money(change_3m_usd))}</span>",
            trend=True,
        ),
        figure("Change 1 year", pct(row["change_1y"]), "change_1y", row["change_1y"], trend=True),
        figure(
            "Price range (middle half)",
            f"{money(row['p25_price_usd'])}\u2013{money(row['p75_price_usd'])}",
            "p25_p75",
            None if row["p25_price_usd"] is None else f"{row['p25_price_usd']}|{row['p75_price_usd']}",
            f"80% of asking prices: {money(row['p10_price_usd'])}\u2013{money(row['p90_price_usd'])}",
        ),
        figure(
            "Confidence",
            (row["confidence"] or DASH).capitalize(),
            "confidence",
            row["confidence"],
            f'<span data-metric="n_priced" data-value="{n}">{count(n)}</span> listings priced (of '
            f'<span data-metric="n_listings" data-value="{row["n_listings"]}">{count(row["n_listings"])}</span>); '
            + (
                f"median's 95% interval {money(row['median_ci_low_usd'])}\u2013{money(row['median_ci_high_usd'])}"
                if row["median_ci_low_usd"] is not None
                else "too few listings for the median's interval"
            ),
        ),
    ]
    if data.has_liquidity:
        figures.append(
            figure(
                "Typically sells in",
                weeks_text(row.get("median_weeks_on_market")),
                "median_weeks_on_market",
                row.get("median_weeks_on_market"),
                "median time on the market",
            )
        )
    figures.append(
        figure(
            "Volatility (3 months)",
            f"{pct(vol, signed=False)} {vol_label}" if vol_label else DASH,
            "volatility_3m",
            vol,
            f"annualised; Low below {VOLATILITY_LOW:.0%}, High from {VOLATILITY_HIGH:.0%}",
            cls=f"vol-{vol_label}" if vol_label else "",
        )
    )
    body.append(f'<div class="figures">{"".join(figures)}</div>')
    body.append("<h2>Price history</h2>")
    body.append(
        '<p class="note">Market price (the 30-day average of the weekly medians), the weekly median with its 95% '
        "confidence interval, the middle half of the asking prices (25th to 75th percentile), the market prices of "
        "new and of pre-owned watches, and the number of listings per week.</p>"
    )
    body.append('<div class="chart" id="price-chart"></div>')
    body.append(_returns_table(row, history, at))
    if data.has_liquidity:
        body.append(_liquidity_table(row))
    body.append(_makeup_table(row))
    payload = {"price": _price_payload(data, key)}
    title = f"{brand} {reference}" + (f" {specific}" if specific else "") + ": market price"
    return layout(data, title, "".join(body), root, payload)


def _returns_table(row: Row, history: list[Row], at: date) -> str:
    rows = []
    for label, key, k in (("1 month", "1m", 4), ("3 months", "3m", 13), ("6 months", "6m", 26), ("1 year", "1y", 52)):
        usd = _history_change_usd(history, at, k)
        rows.append(
            f"<tr><td>{label}</td>"
            + cell(pct(row[f"change_{key}"]), row[f"change_{key}"], f"change_{key}", trend=True)
            + cell(signed_money(usd), usd, f"change_{key}_usd", trend=True)
            + cell(pct(row.get(f"growth_{key}")), row.get(f"growth_{key}"), f"growth_{key}", trend=True)
            + cell(pct(row.get(f"volatility_{key}"), signed=False), row.get(f"volatility_{key}"), f"volatility_{key}")
            + "</tr>"
        )
    head = [
        ("Period", False),
        ("Change", True),
        ("Change ($)", True),
        ("Growth (annualised)", True),
        ("Volatility (annualised)", True),
    ]
    return (
        "<h2>Returns, growth and volatility</h2>"
        '<p class="note">Change: of the market price over the period. Growth: that change as a yearly rate. '
        "Volatility: the annualised standard deviation of the weekly changes of the median (weeks with at least 5 "
        f"listings each); labelled Low below {VOLATILITY_LOW:.0%}, Medium from {VOLATILITY_LOW:.0%} to "
        f"{VOLATILITY_HIGH:.0%}, High from {VOLATILITY_HIGH:.0%} (on 3 months).</p>" + _table(head, rows, "returns")
    )


def _liquidity_table(row: Row) -> str:
    items = (
        ("New listings this week", count(row.get("n_new_listings")), "n_new_listings"),
        ("Listings ended this week (sold or withdrawn)", count(row.get("n_ended_listings")), "n_ended_listings"),
        (
            "Sell-through (ended / last week's listings)",
            pct(row.get("sell_through_rate"), signed=False),
            "sell_through_rate",
        ),
        ("Price cuts", count(row.get("n_price_cuts")), "n_price_cuts"),
        ("Share of listings with a price cut", pct(row.get("pct_price_cut"), signed=False), "pct_price_cut"),
        (
            "Typically sells in (median weeks on market)",
            weeks_text(row.get("median_weeks_on_market")),
            "median_weeks_on_market",
        ),
        ("Listing spells behind the weeks on market (last year)", count(row.get("n_spells")), "n_spells"),
    )
    rows = [f"<tr><td>{escape(label)}</td>{cell(text, row.get(metric), metric)}</tr>" for label, text, metric in items]
    return "<h2>Liquidity</h2>" + _table([("Measure", False), ("This week", True)], rows, "liquidity")


def _makeup_table(row: Row) -> str:
    if row.get("comp_n_listings") is None:
        return ""
    rows = []
    for group, n_key, pct_key in (
        ("New", "comp_n_new", "comp_pct_new"),
        ("Pre-owned", "comp_n_preowned", "comp_pct_preowned"),
    ):
        rows.append(
            f"<tr><td><strong>{group}</strong></td>{cell(count(row[n_key]), row[n_key], n_key[5:])}"
            f"{cell(pct(row[pct_key], signed=False), row[pct_key], pct_key[5:])}</tr>"
        )
    for condition in CONDITIONS:
        if condition == "new":
            continue
        n_key, pct_key = f"comp_n_{condition}", f"comp_pct_{condition}"
        rows.append(
            f"<tr><td>{escape(CONDITION_LABELS[condition])}</td>{cell(count(row[n_key]), row[n_key], n_key[5:])}"
            f"{cell(pct(row[pct_key], signed=False), row[pct_key], pct_key[5:])}</tr>"
        )
    return (
        "<h2>Make-up of the listings</h2>"
        f'<p class="note">The {count(row["comp_n_listings"])} listings of the week by condition.</p>'
        + _table([("Condition", False), ("Listings", True), ("Share", True)], rows, "makeup")
    )
