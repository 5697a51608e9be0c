"""The report's shared files: its style sheet, its script, and the one copy of the chart library.

The script reads each page's data from the JSON embedded in the page (``<script
type="application/json" id="page-data">``) and draws it with Plotly (SVG charts); the search
index is a script file too (``assets/search-index.js``), so the site works from ``file://``,
where a page cannot fetch JSON.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

PLOTLY_ASSET = "assets/plotly.min.js"
SCRIPT_ASSET = "assets/report.js"
STYLE_ASSET = "assets/report.css"
SEARCH_ASSET = "assets/search-index.js"


@cache
def plotly_js() -> bytes:
    """The plotly.js bundle shipped inside the ``plotly`` Python package (nothing is downloaded)."""
    return resources.files("plotly").joinpath("package_data", "plotly.min.js").read_bytes()


STYLE = """
:root {
  --ink: #1c1d21; --muted: #62656e; --line: #e3e4e8; --soft: #f6f6f8; --accent: #14365d;
  --up: #11703a; --down: #b42318; --band: rgba(20, 54, 93, 0.12);
  font-family: "Inter", "Helvetica Neue", Helvetica, Arial, system-ui, sans-serif;
  color: var(--ink); background: #fff; line-height: 1.45;
}
* { box-sizing: border-box; }
body { margin: 0; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
header.site { border-bottom: 1px solid var(--line); background: var(--soft); }
header.site .inner, main { max-width: 1120px; margin: 0 auto; padding: 0 24px; }
header.site .inner { display: flex; align-items: baseline; gap: 24px; padding-top: 14px; padding-bottom: 14px; }
header.site .brandmark { font-weight: 700; letter-spacing: 0.02em; color: var(--ink); font-size: 17px; }
header.site .week { color: var(--muted); font-size: 14px; }
main { padding-top: 20px; padding-bottom: 56px; }
h1 { font-size: 30px; margin: 6px 0 2px; font-weight: 650; letter-spacing: -0.01em; }
h2 { font-size: 19px; margin: 38px 0 10px; font-weight: 620; }
h3 { font-size: 15px; margin: 18px 0 8px; font-weight: 600; }
.sub { color: var(--muted); margin: 0 0 8px; }
.crumbs { font-size: 13px; color: var(--muted); }
.note { color: var(--muted); font-size: 13px; margin: 6px 0; }
.freshness { font-size: 13px; color: var(--muted); margin: 4px 0 0; }
.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(240px, 1fr)); gap: 12px; margin: 18px 0; }
.figure { border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; background: #fff; }
.figure .label { font-size: 12px; color: var(--muted); text-transform: uppercase; letter-spacing: 0.04em; }
.figure .value { font-size: 22px; font-weight: 620; font-variant-numeric: tabular-nums; margin-top: 2px; }
.figure .detail { font-size: 13px; color: var(--muted); font-variant-numeric: tabular-nums; }
table { border-collapse: collapse; width: 100%; font-size: 14px; font-variant-numeric: tabular-nums; }
th, td { padding: 7px 10px; border-bottom: 1px solid var(--line); text-align: left; white-space: nowrap; }
th { font-size: 12px; color: var(--muted); font-weight: 600; text-transform: uppercase; letter-spacing: 0.03em;
     background: var(--soft); position: sticky; top: 0; }
td.num, th.num { text-align: right; }
tbody tr:hover { background: #fafbfc; }
.table-wrap { overflow-x: auto; border: 1px solid var(--line); border-radius: 8px; }
.table-wrap table tr:last-child td { border-bottom: none; }
.cols td:first-child { white-space: normal; }
.cols { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 24px; }
@media (max-width: 820px) { .cols { grid-template-columns: 1fr; } }
.up { color: var(--up); }
.down { color: var(--down); }
.pill { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600;
        border: 1px solid var(--line); background: var(--soft); }
.pill.high { color: var(--up); } .pill.medium { color: #8a5a00; } .pill.low { color: var(--muted); }
.vol-Low { color: var(--up); } .vol-Medium { color: #8a5a00; } .vol-High { color: var(--down); }
.chart { width: 100%; height: 460px; border: 1px solid var(--line); border-radius: 8px; }
.chart.small { height: 340px; }
.search { position: relative; max-width: 560px; margin: 18px 0 6px; }
.search input { width: 100%; font-size: 16px; padding: 10px 14px; border: 1px solid #c9cbd2; border-radius: 8px; }
.search ul { list-style: none; margin: 4px 0 0; padding: 0; position: absolute; left: 0; right: 0; z-index: 5;
             background: #fff; border: 1px solid var(--line); border-radius: 8px;
             box-shadow: 0 8px 24px rgba(0,0,0,0.08); max-height: 380px; overflow-y: auto; }
.search ul:empty { display: none; }
.search li a { display: flex; justify-content: space-between; gap: 12px; padding: 8px 14px; color: var(--ink); }
.search li a:hover { background: var(--soft); text-decoration: none; }
.search li .kind { color: var(--muted); font-size: 12px; text-transform: uppercase; }
footer { color: var(--muted); font-size: 12px; border-top: 1px solid var(--line); margin-top: 48px; padding-top: 12px; }
"""

SCRIPT = r"""
(function () {
  "use strict";
  var ZOOM = [
    {count: 1, label: "1m", step: "month", stepmode: "backward"},
    {count: 3, label: "3m", step: "month", stepmode: "backward"},
    {count: 6, label: "6m", step: "month", stepmode: "backward"},
    {count: 1, label: "YTD", step: "year", stepmode: "todate"},
    {count: 1, label: "1y", step: "year", stepmode: "backward"},
    {step: "all", label: "All"}
  ];
  var INK = "#1c1d21", ACCENT = "#14365d", MUTED = "#62656e";
  var CONFIG = {displayModeBar: false, responsive: true};

  function baseLayout() {
    return {
      margin: {l: 64, r: 20, t: 44, b: 36},
      font: {family: "Inter, Helvetica Neue, Helvetica, Arial, sans-serif", size: 12, color: INK},
      hovermode: "x unified",
      legend: {orientation: "h", x: 0, y: -0.12},
      paper_bgcolor: "#fff", plot_bgcolor: "#fff",
      xaxis: {type: "date", rangeselector: {buttons: ZOOM, x: 0, y: 1.1, bgcolor: "#f0f1f4", activecolor: "#cfd6e4"},
              gridcolor: "#eef0f3", linecolor: "#c9cbd2"},
      yaxis: {gridcolor: "#eef0f3", zeroline: false}
    };
  }

  function priceChart(el, d) {
    var traces = [
      {x: d.w, y: d.p75, type: "scatter", mode: "lines", line: {width: 0}, hoverinfo: "skip", showlegend: false},
      {x: d.w, y: d.p25, type: "scatter", mode: "lines", line: {width: 0}, fill: "tonexty",
       fillcolor: "rgba(20, 54, 93, 0.12)", name: "Middle half of asking prices (p25-p75)", hoverinfo: "skip"},
      {x: d.w, y: d.med, type: "scatter", mode: "markers", name: "Weekly median (95% interval)",
       marker: {size: 5, color: MUTED},
       error_y: {type: "data", symmetric: false, array: d.ci_hi, arrayminus: d.ci_lo, color: "#a9acb5",
                 thickness: 1, width: 0},
       hovertemplate: "median $%{y:,.0f}<extra></extra>"},
      {x: d.w, y: d.mp, type: "scatter", mode: "lines", name: "Market price (30-day average)",
       line: {color: ACCENT, width: 2.5}, hovertemplate: "market $%{y:,.0f}<extra></extra>", connectgaps: true}
    ];
    if (d.new) traces.push({x: d.w, y: d.new, type: "scatter", mode: "lines", name: "New",
      line: {color: "#b7791f", width: 1.6, dash: "dash"}, connectgaps: true,
      hovertemplate: "new $%{y:,.0f}<extra></extra>"});
    if (d.pre) traces.push({x: d.w, y: d.pre, type: "scatter", mode: "lines", name: "Pre-owned",
      line: {color: "#2f855a", width: 1.6, dash: "dot"}, connectgaps: true,
      hovertemplate: "pre-owned $%{y:,.0f}<extra></extra>"});
    traces.push({x: d.w, y: d.n, type: "bar", name: "Listings per week", yaxis: "y2",
      marker: {color: "#c4cad6"}, hovertemplate: "%{y:,} listings<extra></extra>"});
    var layout = baseLayout();
    layout.yaxis.domain = [0.3, 1];
    layout.yaxis.tickprefix = "$"; layout.yaxis.tickformat = ",.0f";
    layout.yaxis2 = {domain: [0, 0.2], gridcolor: "#eef0f3", title: {text: "listings", font: {size: 11}}};
    layout.xaxis.anchor = "y2";
    Plotly.newPlot(el, traces, layout, CONFIG);
    rescaleOnZoom(el, function () {
      var hi = d.med.map(function (m, i) { return m === null || d.ci_hi[i] === null ? m : m + d.ci_hi[i]; });
      var lo = d.med.map(function (m, i) { return m === null || d.ci_lo[i] === null ? m : m - d.ci_lo[i]; });
      return [d.p25, d.p75, d.mp, d.new || [], d.pre || [], hi, lo].map(function (y) { return {x: d.w, y: y}; });
    });
  }

  // Zooming the dates rescales the price axis to what is visible (Plotly keeps it fixed).
  function rescaleOnZoom(el, seriesOf) {
    el.on("plotly_relayout", function (ev) {
      var keys = Object.keys(ev || {});
      if (!keys.some(function (k) { return k.indexOf("xaxis.range") === 0 || k === "xaxis.autorange"; })) return;
      if (ev["xaxis.autorange"]) { Plotly.relayout(el, {"yaxis.autorange": true}); return; }
      var range = el._fullLayout.xaxis.range.map(function (x) { return Date.parse(x); });
      var lo = Infinity, hi = -Infinity;
      seriesOf().forEach(function (s) {
        for (var i = 0; i < s.x.length; i++) {
          var t = Date.parse(s.x[i]), v = s.y[i];
          if (v === null || v === undefined || t < range[0] || t > range[1]) continue;
          if (v < lo) lo = v;
          if (v > hi) hi = v;
        }
      });
      if (lo > hi) return;
      var pad = (hi - lo) * 0.08 || hi * 0.02;
      Plotly.relayout(el, {"yaxis.range": [lo - pad, hi + pad]});
    });
  }

  function indexChart(el, d) {
    var layout = baseLayout();
    layout.yaxis.tickformat = ",.1f";
    layout.showlegend = false;
    Plotly.newPlot(el, [{x: d.w, y: d.idx, type: "scatter", mode: "lines+markers", name: d.name || "Index",
      line: {color: ACCENT, width: 2.2}, marker: {size: 4},
      hovertemplate: "%{y:,.1f}<extra>" + (d.name || "index") + "</extra>"}], layout, CONFIG);
    rescaleOnZoom(el, function () { return [{x: d.w, y: d.idx}]; });
  }

  function norm(text) { return String(text).toLowerCase().replace(/[^a-z0-9]+/g, ""); }

  function search(input, list, root) {
    var entries = (window.REPORT_SEARCH || []).map(function (e) {
      return {kind: e[0], label: e[1], detail: e[2], url: e[3], key: norm(e[1] + " " + e[2])};
    });
    input.addEventListener("input", function () {
      var q = norm(input.value);
      list.innerHTML = "";
      if (!q) return;
      var hits = entries.filter(function (e) { return e.key.indexOf(q) >= 0; });
      hits.sort(function (a, b) { return (a.key.indexOf(q) === 0 ? 0 : 1) - (b.key.indexOf(q) === 0 ? 0 : 1); });
      hits.slice(0, 20).forEach(function (e) {
        var li = document.createElement("li"), a = document.createElement("a");
        var name = document.createElement("span"), kind = document.createElement("span");
        a.href = root + e.url;
        name.textContent = e.label + (e.detail ? " \u00b7 " + e.detail : "");
        kind.textContent = e.kind; kind.className = "kind";
        a.appendChild(name); a.appendChild(kind); li.appendChild(a); list.appendChild(li);
      });
      if (!hits.length) {
        var li = document.createElement("li"); li.className = "note"; li.style.padding = "8px 14px";
        li.textContent = "Nothing found"; list.appendChild(li);
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var node = document.getElementById("page-data");
    var data = node ? JSON.parse(node.textContent) : {};
    var price = document.getElementById("price-chart");
    if (price && data.price) priceChart(price, data.price);
    var index = document.getElementById("index-chart");
    if (index && data.index) indexChart(index, data.index);
    var input = document.getElementById("search");
    if (input) search(input, document.getElementById("search-results"), data.root || "");
  });
})();
"""
