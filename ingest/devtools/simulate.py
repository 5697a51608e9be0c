"""The weekly-scrape simulator: N weeks of raw listing files, exactly per ``docs/input-format.md``.

``uv run ingest simulate --out DEST --weeks N --rows-per-week R --seed S [--end-date YYYY-MM-DD]``
writes, for each simulated ISO week, ``DEST/scrape_date=YYYY-MM-DD/<source-slug>[-<part>].csv``
(about 70 files from 60 named sources; ``DEST`` a folder or ``s3://bucket/prefix``), then, as the
scraper does, an empty ``_SUCCESS`` in the folder once every CSV is written; and, outside
the scrape folders, the ground truth in ``DEST/_simulator/``:

- ``truth_weekly.csv``: brand, reference_number (canonical), market_week, true_median_usd,
  true_new_median_usd, true_preowned_median_usd, and the week's true flows: true_n_listed (its
  listings online), true_n_continuing (of them, online the week before too), true_n_ended
  (online the week before, not any more: sold or withdrawn), true_n_cut (continuing listings
  asking less than the week before: a cut, or a re-quote down with the market); the flows are
  empty in the first week;
- ``truth_liquidity.csv``: brand, reference_number, market_week (the last week),
  true_median_weeks_on_market (the Kaplan-Meier median over the true spells that began in the
  last 52 weeks, those still listed censored; empty when it is not reached), true_n_spells;
- ``truth_brand_index.csv``: brand, market_week, true_index: the chained Jevons index of the
  brand's true reference paths (links over references with at least 5 listings in both weeks,
  1 below 3 such references; 100 in the first week);
- ``truth_references.csv``: brand, reference_number, parent_model, specific_model,
  annual_drift (the mean log-drift per year of the path over the simulated weeks),
  annual_volatility, in_catalog, new_premium (true median(new) / median(pre-owned) - 1, the
  brand's), new_share (the expected share of new listings among the reference's listings);
- ``manifest.json``: per week the files (rows, fault), rows written, every injected fault
  counted (see :func:`simulate`), the expected number of loaded listings;
- ``bad_rows.csv``, ``duplicates.csv``, ``outliers.csv``: the exact rows behind those counts
  (file relative to DEST, 1-based data row, physical line as the ingest counts it).

The model: every reference (the catalog plus a long tail of references that are not in it)
follows a weekly log-price path with its own drift regimes (-10 %..+25 % a year), volatility
(5..30 % a year) and shifts, anchored at ``base_price_usd`` in the week of :data:`EPOCH`. A
new listing's USD ask is ``true_median * exp(premium + noise)``: a persistent, median-zero
per-listing premium and a symmetric noise, so the sample median of a week's new asks of a
reference is its ``true_median_usd``. New and pre-owned watches have different price levels:
a new listing (condition category ``new``) costs its brand's new-watch premium (3..18 %, drawn per
seed) more than a pre-owned one (listings of unknown condition are priced like pre-owned ones),
and both levels sit around the path so that the median of all of a reference's listings stays
``true_median_usd`` (:func:`_segment_levels`); each segment's sample median is its
``true_new_median_usd`` / ``true_preowned_median_usd``. Listings persist across weeks under the same
(source, listing_id) and are converted to their local currency with the ECB rates of the
scrape date (:func:`ingest.steps.fx.usd_per_unit`). A listing keeps its ask in its own
currency from week to week; each week it ends (sells or is withdrawn) with a probability set by
its source kind and by how its ask sits against the market (over-priced watches stay longer),
and a listing that stays sometimes cuts its ask by 3..10 % (over-priced ones more often). An ask
stays put until the market has moved more than :data:`REQUOTE_BAND` from where its seller set
it; then the seller re-quotes it there. So listings have realistic lifetimes, asks are sticky,
and each week's median still follows the path.

Everything is vectorised (numpy + pyarrow compute): a million rows take seconds. The output is
byte-identical for a given seed, week count, row count and end date.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import re
import sys
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingest import storage
from ingest.steps.catalog import BRANDS, REFERENCES
from ingest.steps.reading import OPTIONAL_COLUMNS, REQUIRED_COLUMNS, SUCCESS_MARKER

__all__ = [
    "BAD_ROW_RATES",
    "FILE_FAULTS",
    "REASONS",
    "SIMULATOR_FOLDER",
    "SOURCES",
    "Source",
    "add_simulate_arguments",
    "default_end_date",
    "run_simulate_command",
    "simulate",
]

SIMULATOR_FOLDER = "_simulator"
#: Unknown extra columns some sources add (the ingest ignores them).
EXTRA_COLUMNS: tuple[str, ...] = (
    "shipping",
    "seller_rating",
    "watchers",
    "page",
    "scrape_run",
    "lot",
    "images",
)

#: Row-level quarantine reasons (docs/metrics.md, docs/input-format.md), each injected at its rate.
REASONS: tuple[str, ...] = (
    "no_price",
    "price_on_request",
    "unparseable_price",
    "unknown_currency",
    "currency_conflict",
    "price_out_of_bounds",
    "missing_brand",
    "missing_reference",
    "bad_timestamp",
)
#: Share of the rows of healthy files that get each fault (one fault per bad row).
BAD_ROW_RATES: dict[str, float] = {
    "no_price": 0.004,
    "price_on_request": 0.006,
    "unparseable_price": 0.003,
    "unknown_currency": 0.0015,
    "currency_conflict": 0.0015,
    "price_out_of_bounds": 0.002,
    "missing_brand": 0.002,
    "missing_reference": 0.003,
    "bad_timestamp": 0.002,
}
#: Whole-file faults, one file of each per week.
FILE_FAULTS: tuple[str, ...] = ("missing_column", "zero_byte", "header_only", "unterminated_quote")
DUPLICATE_RATE = 0.005  # extra copies of valid listings, as a share of the rows written
OUTLIER_RATE = 0.002  # injected price outliers, as a share of the rows of healthy files
PREMIUM_SIGMA = 0.045  # persistent per-listing log premium
NOISE_SIGMA = 0.06  # weekly per-listing log noise
NEW_PREMIUM_RANGE = (0.03, 0.18)  # a brand's new-watch premium over pre-owned, drawn per seed
LONG_TAIL_SHARE = 0.04  # share of long-tail references in sources that carry model columns

#: Lifetimes: a listing online last week ends this week (sold or withdrawn) with probability
#: (1 - its source kind's survival) x exp(-PRICE_SENSITIVITY x position), clipped to HAZARD_RANGE,
#: where position = ln(its USD ask / the market level of its segment): a watch asked 10 % over the
#: market ends at 0.55 x the rate, 10 % under at 1.8 x.
PRICE_SENSITIVITY = 6.0
HAZARD_RANGE = (0.02, 0.9)
#: A listing that stays keeps its ask in its own currency, or cuts it (by CUT_RANGE) with probability
#: CUT_RATE x exp(CUT_SENSITIVITY x position), at most 0.5: over-priced listings cut more often.
#: A standing ask that drifts further than this (in log terms) from where its seller set it
#: against the market is re-quoted there: asks are sticky, yet follow the market.
REQUOTE_BAND = 0.03
CUT_RATE = 0.05
CUT_SENSITIVITY = 12.0
CUT_RANGE = (0.03, 0.10)
#: The window of the weeks-on-market truth: spells that began in the last 52 weeks.
SPELL_WINDOW_WEEKS = 52

CURRENCIES: tuple[str, ...] = ("USD", "EUR", "GBP", "CHF", "JPY", "HKD", "SGD", "AUD", "CAD", "CNY")
EPOCH = date(2026, 1, 5)  # a Monday: the price paths equal base_price_usd in this week
PATH_WEEKS = 1300  # the paths cover EPOCH +- 1300 weeks (about 25 years each way)
_SECONDS_PER_DAY = 86_400
_EPOCH_DAY = (EPOCH - date(1970, 1, 1)).days

ProgressCallback = Callable[[str], None]

# --------------------------------------------------------------------------------------------------
# Sources
# --------------------------------------------------------------------------------------------------

# name | file slug | weight (share of rows) | parts | kind | region | currency mix
_SOURCE_TABLE = """
chrono24.com | chrono24 | 27 | 6 | marketplace | global | EUR 50, USD 24, CHF 8, GBP 9, HKD 3, JPY 2, AUD 4
ebay.com | ebay | 11 | 3 | marketplace | us | USD 90, GBP 4, EUR 3, CAD 2, AUD 1
watchbox.com | watchbox | 4 | 2 | dealer | us | USD 80, HKD 10, SGD 5, CHF 5
bobswatches.com | bobswatches | 3 | 2 | dealer | us | USD 100
crownandcaliber.com | crownandcaliber | 3 | 2 | dealer | us | USD 100
jomashop.com | jomashop | 3 | 2 | retailer | us | USD 100
watchfinder.co.uk | watchfinder | 3 | 2 | dealer | uk | GBP 85, EUR 10, USD 5
chronext.com | chronext | 2.5 | 1 | dealer | eu | EUR 60, CHF 15, GBP 10, USD 15
watchuseek.com | watchuseek | 2 | 1 | forum | us | USD 90, EUR 5, GBP 3, CAD 2
reddit.com/r/watchexchange | reddit-watchexchange | 2 | 1 | forum | us | USD 95, CAD 3, EUR 2
1stdibs.com | 1stdibs | 1.5 | 1 | dealer | us | USD 85, EUR 10, GBP 5
rolexforums.com | rolexforums | 1 | 1 | forum | us | USD 100
timezone.com | timezone | 0.6 | 1 | forum | us | USD 85, EUR 10, CHF 5
omegaforums.com | omegaforums | 0.8 | 1 | forum | us | USD 90, EUR 5, GBP 5
watches.com | watches | 1 | 1 | retailer | us | USD 100
swisswatchexpo.com | swisswatchexpo | 1.2 | 1 | dealer | us | USD 100
tourneau.com | tourneau | 0.8 | 1 | retailer | us | USD 100
beckertime.com | beckertime | 0.6 | 1 | dealer | us | USD 100
analogshift.com | analogshift | 0.4 | 1 | dealer | us | USD 100
hodinkee.com | hodinkee | 0.6 | 1 | dealer | us | USD 100
europeanwatch.com | europeanwatch | 0.6 | 1 | dealer | us | USD 100
luxurybazaar.com | luxurybazaar | 0.8 | 1 | dealer | us | USD 100
ashford.com | ashford | 0.8 | 1 | retailer | us | USD 100
authenticwatches.com | authenticwatches | 0.6 | 1 | retailer | us | USD 100
prestigetime.com | prestigetime | 0.6 | 1 | retailer | us | USD 100
grailzee.com | grailzee | 0.8 | 1 | auction | us | USD 100
stockx.com | stockx | 0.6 | 1 | marketplace | us | USD 100
thewatchcompany.com | thewatchcompany | 0.5 | 1 | dealer | us | USD 100
davidsw.com | davidsw | 0.5 | 1 | dealer | us | USD 100
watchprosite.com | watchprosite | 0.4 | 1 | forum | us | USD 70, EUR 15, CHF 10, SGD 5
puristspro.com | puristspro | 0.3 | 1 | forum | us | USD 70, EUR 15, CHF 10, HKD 5
jackroad.co.jp | jackroad | 1.2 | 1 | dealer | jp | JPY 100
komehyo.co.jp | komehyo | 1.2 | 1 | dealer | jp | JPY 100
auctions.yahoo.co.jp | yahooauctions | 1.5 | 1 | auction | jp | JPY 100
5ch.net | 5ch | 0.4 | 1 | forum | jp | JPY 100
carousell.sg | carousellsg | 0.8 | 1 | marketplace | sg | SGD 100
carousell.com.hk | carousellhk | 0.8 | 1 | marketplace | hk | HKD 100
thehourglass.com | thehourglass | 0.6 | 1 | dealer | sg | SGD 75, HKD 15, AUD 10
sothebys.com | sothebys | 0.3 | 1 | auction | intl | USD 40, HKD 25, CHF 25, GBP 10
phillips.com | phillips | 0.3 | 1 | auction | intl | USD 40, HKD 30, CHF 30
christies.com | christies | 0.3 | 1 | auction | intl | USD 40, HKD 30, CHF 20, GBP 10
bqwatches.com | bqwatches | 0.6 | 1 | dealer | uk | GBP 100
thewatchforum.co.uk | thewatchforum | 0.4 | 1 | forum | uk | GBP 100
xupes.com | xupes | 0.6 | 1 | dealer | uk | GBP 90, EUR 5, USD 5
goldsmiths.co.uk | goldsmiths | 0.5 | 1 | retailer | uk | GBP 100
uhrforum.de | uhrforum | 0.6 | 1 | forum | de | EUR 100
kleinanzeigen.de | kleinanzeigen | 1.2 | 1 | marketplace | de | EUR 100
catawiki.com | catawiki | 1 | 1 | auction | eu | EUR 100
vestiairecollective.com | vestiairecollective | 0.5 | 1 | marketplace | eu | EUR 80, GBP 10, USD 10
watchmaster.com | watchmaster | 1 | 1 | dealer | de | EUR 70, USD 20, GBP 10
ricardo.ch | ricardo | 0.8 | 1 | marketplace | ch | CHF 100
tutti.ch | tutti | 0.4 | 1 | marketplace | ch | CHF 100
bucherer.com | bucherer | 0.6 | 1 | dealer | ch | CHF 60, EUR 20, USD 20
leboncoin.fr | leboncoin | 0.8 | 1 | marketplace | fr | EUR 100
forumamontres.forumactif.com | forumamontres | 0.3 | 1 | forum | fr | EUR 100
subito.it | subito | 0.6 | 1 | marketplace | it | EUR 100
gumtree.com.au | gumtree | 0.5 | 1 | marketplace | au | AUD 100
ebay.com.au | ebayau | 0.6 | 1 | marketplace | au | AUD 100
kijiji.ca | kijiji | 0.5 | 1 | marketplace | ca | CAD 100
goofish.com | goofish | 0.8 | 1 | marketplace | cn | CNY 100
secoo.com | secoo | 0.6 | 1 | dealer | cn | CNY 100
"""

# region -> (UTC offset used in "YYYY-MM-DD hh:mm:ss+hh:mm" timestamps, country spellings)
_REGIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "us": ("-05:00", ("US", "USA", "United States")),
    "uk": ("+00:00", ("GB", "UK", "United Kingdom")),
    "de": ("+01:00", ("DE", "Germany", "Deutschland")),
    "fr": ("+01:00", ("FR", "France")),
    "it": ("+01:00", ("IT", "Italy", "Italia")),
    "eu": ("+01:00", ("DE", "NL", "FR", "IT", "ES", "BE", "AT")),
    "ch": ("+01:00", ("CH", "Switzerland", "Schweiz")),
    "jp": ("+09:00", ("JP", "Japan", "日本")),
    "hk": ("+08:00", ("HK", "Hong Kong")),
    "sg": ("+08:00", ("SG", "Singapore")),
    "cn": ("+08:00", ("CN", "China")),
    "au": ("+11:00", ("AU", "Australia")),
    "ca": ("-05:00", ("CA", "Canada")),
    "global": ("+01:00", ("DE", "US", "IT", "GB", "CH", "FR", "JP", "HK", "ES", "NL", "BE", "AT")),
    "intl": ("+00:00", ("US", "HK", "CH", "GB")),
}
_REGION_NAMES = tuple(_REGIONS)
# Brands a region lists more often than the global mix.
_REGION_TILT: dict[str, dict[str, float]] = {
    "jp": {"Grand Seiko": 5.0},
    "hk": {"Patek Philippe": 1.6, "Richard Mille": 2.0, "Audemars Piguet": 1.5},
    "cn": {"Patek Philippe": 1.5, "Richard Mille": 1.5, "Cartier": 1.5},
    "ch": {"Patek Philippe": 1.4, "Vacheron Constantin": 1.8, "A. Lange & Söhne": 1.5},
    "uk": {"Tudor": 1.3, "Omega": 1.3},
}

_CONDITIONS: dict[str, tuple[tuple[str, float], ...]] = {
    "chrono24": (
        ("New (Brand new, without any signs of wear)", 12),
        ("Unworn (Mint condition, without signs of wear)", 18),
        ("Very good (Worn with little to no signs of wear)", 40),
        ("Good (Light signs of wear or scratches)", 17),
        ("Fair (Obvious signs of wear or scratches)", 5),
        ("Poor (Heavy signs of wear or scratches)", 1),
        ("Incomplete (Missing parts or not working)", 1),
        ("", 6),
    ),
    "ebay": (
        ("New with tags", 8),
        ("New without tags", 6),
        ("Pre-owned", 58),
        ("Used", 15),
        ("For parts or not working", 2),
        ("", 11),
    ),
    "retailer": (("New", 60), ("Brand new", 20), ("Unworn", 12), ("NEW", 5), ("", 3)),
    "dealer": (
        ("Excellent", 24),
        ("Very good", 18),
        ("Like new", 10),
        ("Unworn", 10),
        ("Mint", 5),
        ("Good", 12),
        ("Pre-owned", 8),
        ("Pre-Owned", 3),
        ("Fair", 2),
        ("Brand new", 3),
        ("EXCELLENT", 2),
        ("", 3),
    ),
    "marketplace": (
        ("Used", 25),
        ("Good", 15),
        ("Very good", 15),
        ("Like new", 10),
        ("New", 8),
        ("Mint", 5),
        ("Fair", 5),
        ("Preowned", 5),
        ("Excellent", 5),
        ("very good", 2),
        ("", 5),
    ),
    "forum": (
        ("Used", 15),
        ("Excellent", 15),
        ("Mint", 10),
        ("Like new", 10),
        ("Good", 10),
        ("Very good", 9),
        ("LNIB", 5),
        ("BNIB", 4),
        ("Fair", 4),
        ("Poor", 1),
        ("For parts", 1),
        ("unworn", 4),
        ("pre-owned", 2),
        ("", 10),
    ),
    "auction": (
        ("Good", 25),
        ("Very good", 20),
        ("Fair", 15),
        ("Used", 10),
        ("Poor", 4),
        ("Incomplete", 3),
        ("For parts", 3),
        ("Excellent", 10),
        ("", 10),
    ),
    "jp": (
        ("Used", 30),
        ("Unworn", 15),
        ("Excellent", 15),
        ("Very good", 15),
        ("New", 10),
        ("中古品", 8),
        ("Good", 5),
        ("", 2),
    ),
}
_CONDITION_VOCABS = tuple(_CONDITIONS)

_SELLERS: dict[str, tuple[tuple[str, float], ...]] = {
    "forum": (("private", 95), ("dealer", 5)),
    "dealer": (("dealer", 100),),
    "retailer": (("dealer", 100),),
    "marketplace": (("dealer", 55), ("private", 45)),
    "auction": (("dealer", 50), ("private", 50)),
}
_SURVIVAL: dict[str, float] = {
    "dealer": 0.88,
    "retailer": 0.92,
    "marketplace": 0.82,
    "forum": 0.65,
    "auction": 0.5,
}
_KINDS = tuple(_SELLERS)

_TITLE_SUFFIXES: tuple[tuple[str, float], ...] = (
    ("", 40),
    (" full set", 10),
    (", box & papers", 8),
    (' "unpolished"', 5),
    (" - 2021, full set", 4),
    (", serviced\nwith warranty card", 3),
    (' 40mm "like new", B&P', 3),
    (" LNIB", 3),
    (", no box\nno papers", 2),
    (" (2019)", 5),
    (" with 5Y warranty", 5),
    (', steel, "unworn"', 3),
    (" - price drop!", 4),
    (" \u2013 collector's piece", 3),
)
_BOX_PAPERS: tuple[tuple[str, float], ...] = (
    ("Yes", 30),
    ("No", 10),
    ("Box and papers", 15),
    ("Papers only", 8),
    ("Box only", 5),
    ("Full set", 20),
    ("Box, papers", 5),
    ("", 12),
)
_EXTRA_VALUES: dict[str, tuple[str, ...]] = {
    "shipping": ("free", "25.00", "49.00", "0", "included", "insured"),
    "seller_rating": ("100%", "99.8%", "99.2%", "98.5%", "4.9", "4.7", ""),
}

# --------------------------------------------------------------------------------------------------
# Price formats and currency spellings
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Fmt:
    name: str
    kind: str  # never | always | dash | k | man
    sep: str | None  # thousands separator
    dec: str  # decimal separator
    prefix: str
    suffix: str
    currency: str | None  # the currency a symbol in the text implies


_FORMATS: tuple[_Fmt, ...] = (
    _Fmt("plain", "never", None, ".", "", "", None),  # 12500
    _Fmt("plain_cents", "always", None, ".", "", "", None),  # 12500.00
    _Fmt("comma", "never", ",", ".", "", "", None),  # 12,500
    _Fmt("comma_cents", "always", ",", ".", "", "", None),  # 12,500.50
    _Fmt("usd_sym", "never", ",", ".", "$", "", "USD"),  # $12,500
    _Fmt("usd_sym_cents", "always", ",", ".", "$", "", "USD"),  # $12,500.00
    _Fmt("usd_us", "never", ",", ".", "US$", "", "USD"),  # US$12,500
    _Fmt("usd_k", "k", None, ".", "$", "k", "USD"),  # $12.5k
    _Fmt("k_plain", "k", None, ".", "", "K", None),  # 12.5K
    _Fmt("eu_dot", "never", ".", ",", "", "", None),  # 12.500
    _Fmt("eu_dot_cents", "always", ".", ",", "", "", None),  # 12.500,00
    _Fmt("eur_pre", "never", ".", ",", "€ ", "", "EUR"),  # € 9.800
    _Fmt("eur_post_cents", "always", ".", ",", "", " €", "EUR"),  # 1.234,50 €
    _Fmt("eur_nbsp_post", "never", "\u00a0", ",", "", "\u00a0€", "EUR"),  # 12 500 €
    _Fmt("eur_nnbsp_post", "never", "\u202f", ",", "", "\u202f€", "EUR"),  # 12 500 € (narrow)
    _Fmt("eur_sym", "never", ",", ".", "€", "", "EUR"),  # €12,500
    _Fmt("space", "never", " ", ",", "", "", None),  # 12 500
    _Fmt("nbsp", "never", "\u00a0", ",", "", "", None),  # 12 500 (U+00A0)
    _Fmt("nnbsp_cents", "always", "\u202f", ",", "", "", None),  # 12 500,00 (U+202F)
    _Fmt("gbp_sym", "never", ",", ".", "£", "", "GBP"),  # £8,950
    _Fmt("gbp_sym_cents", "always", ",", ".", "£", "", "GBP"),  # £8,950.00
    _Fmt("chf_typo", "always", "\u2019", ".", "CHF ", "", "CHF"),  # CHF 12’500.00
    _Fmt("swiss_dash", "dash", "'", ".", "", "", None),  # 12'500.-
    _Fmt("chf_dash", "dash", "'", ".", "CHF ", "", "CHF"),  # CHF 12'500.-
    _Fmt("swiss", "never", "'", ".", "", "", None),  # 12'500
    _Fmt("jpy_sym", "never", ",", ".", "¥", "", "JPY"),  # ¥1,850,000
    _Fmt("jpy_full", "never", ",", ".", "\uffe5", "", "JPY"),  # ￥1,850,000
    _Fmt("man", "man", None, ".", "", "万円", "JPY"),  # 185万円
    _Fmt("hkd_sym", "never", ",", ".", "HK$", "", "HKD"),  # HK$98,000
    _Fmt("sgd_sym", "never", ",", ".", "S$", "", "SGD"),  # S$18,500
    _Fmt("aud_sym", "never", ",", ".", "A$", "", "AUD"),  # A$20,500
    _Fmt("cad_sym", "never", ",", ".", "C$", "", "CAD"),  # C$19,900
)
_FMT = {f.name: i for i, f in enumerate(_FORMATS)}
_FMT_HAS_SYMBOL = np.array([f.currency is not None for f in _FORMATS])
_FMT_KIND = np.array([("never", "always", "dash", "k", "man").index(f.kind) for f in _FORMATS])
_KIND_NEVER, _KIND_ALWAYS, _KIND_DASH, _KIND_K, _KIND_MAN = range(5)

# currency -> formats (normal sites); US forums add the k forms, Japanese forums write 万円.
_CURRENCY_FORMATS: dict[str, tuple[tuple[str, float], ...]] = {
    "USD": (
        ("plain", 15),
        ("plain_cents", 8),
        ("comma", 20),
        ("comma_cents", 5),
        ("usd_sym", 30),
        ("usd_sym_cents", 12),
        ("usd_us", 5),
    ),
    "EUR": (
        ("eu_dot", 20),
        ("eu_dot_cents", 15),
        ("eur_pre", 15),
        ("eur_post_cents", 15),
        ("eur_nbsp_post", 8),
        ("eur_nnbsp_post", 5),
        ("plain", 8),
        ("eur_sym", 7),
        ("space", 4),
        ("nbsp", 3),
    ),
    "GBP": (("gbp_sym", 40), ("gbp_sym_cents", 10), ("comma", 25), ("plain", 15), ("plain_cents", 10)),
    "CHF": (
        ("chf_typo", 25),
        ("swiss_dash", 22),
        ("chf_dash", 10),
        ("swiss", 20),
        ("plain", 10),
        ("nnbsp_cents", 5),
        ("comma_cents", 8),
    ),
    "JPY": (("jpy_sym", 35), ("jpy_full", 20), ("comma", 30), ("plain", 10), ("man", 5)),
    "HKD": (("hkd_sym", 50), ("comma", 35), ("plain", 15)),
    "SGD": (("sgd_sym", 50), ("comma", 35), ("plain", 15)),
    "AUD": (("aud_sym", 45), ("comma", 35), ("plain_cents", 20)),
    "CAD": (("cad_sym", 45), ("comma", 35), ("plain", 20)),
    "CNY": (("comma", 50), ("plain", 40), ("plain_cents", 10)),
}
_US_FORUM_FORMATS = (("usd_k", 35), ("k_plain", 10), ("usd_sym", 35), ("comma", 15), ("plain", 5))
_JP_FORUM_FORMATS = (("man", 70), ("jpy_sym", 15), ("comma", 15))
# Formats used when a row's amount does not suit its listing's format.
_FALLBACK_FORMAT = {"usd_k": "usd_sym", "k_plain": "comma", "man": "jpy_sym"}
_CONFLICT_FORMAT = {"USD": "usd_sym", "EUR": "eur_pre", "GBP": "gbp_sym", "CHF": "chf_typo"}

# Non-empty spellings of each currency in the currency column.
_CURRENCY_SPELLINGS: dict[str, tuple[tuple[str, float], ...]] = {
    "USD": (("USD", 70), ("usd", 10), ("$", 10), ("US$", 10)),
    "EUR": (("EUR", 80), ("eur", 10), ("€", 10)),
    "GBP": (("GBP", 85), ("gbp", 5), ("£", 10)),
    "CHF": (("CHF", 85), ("chf", 5), ("Fr.", 10)),
    "JPY": (("JPY", 85), ("jpy", 5), ("¥", 10)),
    "HKD": (("HKD", 85), ("HK$", 15)),
    "SGD": (("SGD", 85), ("S$", 15)),
    "AUD": (("AUD", 85), ("A$", 15)),
    "CAD": (("CAD", 85), ("C$", 15)),
    "CNY": (("CNY", 90), ("cny", 10)),
}
_UNKNOWN_CURRENCIES = ("BTC", "ETH", "USDT", "RUB", "XYZ")

_POA = ("POA", "Price on request", "P.O.A.", "Price on Request")
# Never a price and never read as "on request" (no "call", "ask", "contact", "request", ...).
_UNPARSEABLE = ("12,50,0", "1.2.3.4", "12..500", "twelve thousand", "12,5,00", "see description", "?")
_BAD_TIMESTAMPS = ("yesterday", "n/a", "0000-00-00", "32/13/2026", "2026-13-45 25:61:00", "last week")

# Rounding units of local amounts, in cents: 0.01, 1, 10, 50, 100, 1000 units.
_UNITS = np.array([1, 100, 1_000, 5_000, 10_000, 100_000], dtype=np.int64)

# --------------------------------------------------------------------------------------------------
# The long tail: real references deliberately absent from the catalog (the rows carry models)
# --------------------------------------------------------------------------------------------------

# brand | parent model | reference | specific model | base price USD
_LONG_TAIL = """
Rolex | GMT-Master | 1675 | GMT-Master Pepsi | 19500
Rolex | Submariner | 5513 | Submariner No Date | 17500
Rolex | Submariner | 1680 | Submariner Date | 16500
Rolex | Submariner | 16800 | Submariner Date | 10800
Rolex | Cosmograph Daytona | 6263 | Cosmograph Daytona Big Red | 118000
Rolex | Cosmograph Daytona | 16520 | Cosmograph Daytona Zenith | 26500
Rolex | Datejust | 1601 | Datejust Pie Pan | 5600
Rolex | Datejust | 16013 | Datejust 36 Two-Tone | 6100
Rolex | Explorer | 1016 | Explorer | 18500
Rolex | GMT-Master | 16700 | GMT-Master | 11800
Rolex | GMT-Master II | 16760 | GMT-Master II Fat Lady | 15200
Rolex | Oyster Perpetual | 1002 | Oyster Perpetual | 4900
Rolex | Air-King | 5500 | Air-King | 4600
Patek Philippe | Calatrava | 3919 | Calatrava Hobnail | 16500
Patek Philippe | Calatrava | 96 | Calatrava | 18500
Patek Philippe | Grand Complications | 3940 | Perpetual Calendar | 81000
Patek Philippe | Nautilus | 5711/1A-001 | Nautilus Blue Dial | 106000
Patek Philippe | Aquanaut | 5065/1A | Aquanaut Jumbo | 48500
Audemars Piguet | Royal Oak | 5402ST | Royal Oak Jumbo A-Series | 91000
Audemars Piguet | Royal Oak | 14790ST | Royal Oak 36 | 18500
Audemars Piguet | Royal Oak | 25860ST | Royal Oak Chronograph 39 | 26500
Audemars Piguet | Royal Oak Offshore | 25721ST | Royal Oak Offshore The Beast | 32500
Omega | Speedmaster | 145.022 | Speedmaster Professional | 7600
Omega | Speedmaster | 105.012 | Speedmaster Professional Pre-Moon | 14200
Omega | Seamaster | 165.024 | Seamaster 300 | 9100
Omega | Constellation | 168.005 | Constellation Pie Pan | 2900
Tudor | Submariner | 7928 | Submariner Big Crown | 20500
Tudor | Submariner | 79090 | Submariner Snowflake | 5600
Tudor | Heritage | 79910 | Heritage Ranger | 2300
Tudor | Heritage | 70330N | Heritage Chrono | 3100
TAG Heuer | Carrera | 2447 | Carrera | 9200
TAG Heuer | Monaco | 1133B | Monaco Steve McQueen | 22500
Cartier | Tank | 2442 | Tank Française | 2600
Cartier | Pasha | W31074M7 | Pasha de Cartier 42 | 4300
IWC | Mark | IW3253 | Mark XV | 2900
IWC | Da Vinci | IW3750 | Da Vinci Chronograph | 4300
Breitling | Navitimer | 806 | Navitimer | 7100
Breitling | Chronomat | A13352 | Chronomat Evolution | 2900
Panerai | Luminor | PAM00104 | Luminor Marina Automatic | 4900
Jaeger-LeCoultre | Memovox | E855 | Memovox | 4600
Zenith | El Primero | 03.0510.400/21.C496 | El Primero Chronomaster | 6100
Grand Seiko | Heritage | SBGA011 | Heritage Spring Drive | 4300
Seiko | Prospex | SBDC101 | Prospex Sumo | 700
Sinn | 556 | 556.I | 556 I | 1600
Nomos Glashütte | Tangente | 164 | Tangente 38 | 1900
"""

# Relative listing volume per brand (within a brand, references get lognormal popularity).
_BRAND_VOLUME: dict[str, float] = {
    "Rolex": 35,
    "Omega": 9,
    "Tudor": 7,
    "Patek Philippe": 6,
    "Cartier": 6,
    "Audemars Piguet": 5,
    "IWC": 4,
    "Breitling": 4,
    "TAG Heuer": 4,
    "Panerai": 3,
    "Grand Seiko": 3,
    "Longines": 2.5,
    "Hublot": 2.5,
    "Jaeger-LeCoultre": 2.5,
    "Vacheron Constantin": 2,
    "A. Lange & Söhne": 1.5,
    "Zenith": 1.5,
    "Richard Mille": 1,
    "Blancpain": 1,
    "Breguet": 1,
}

# --------------------------------------------------------------------------------------------------
# Small vectorised helpers
# --------------------------------------------------------------------------------------------------


class _Choice:
    """Weighted choices per group, drawn for many rows at once (flat indices into ``values``)."""

    def __init__(self, groups: Sequence[Sequence[tuple[Any, float]]]) -> None:
        values: list[Any] = []
        uppers: list[float] = []
        self.starts: list[int] = []
        for g, items in enumerate(groups):
            weights = np.array([float(w) for _, w in items])
            cum = np.cumsum(weights) / weights.sum()
            cum[-1] = 1.0
            self.starts.append(len(values))
            values.extend(v for v, _ in items)
            uppers.extend((g + cum).tolist())
        self.values = values
        self._uppers = np.array(uppers)

    def draw(self, rng: np.random.Generator, groups: np.ndarray) -> np.ndarray:
        u = rng.random(len(groups))
        idx = np.searchsorted(self._uppers, groups + u, side="right")
        return np.minimum(idx, len(self.values) - 1).astype(np.int32)


def _crc(text: str) -> int:
    return zlib.crc32(text.encode("utf-8"))


def _strings(values: Sequence[str]) -> pa.Array:
    return pa.array(list(values), pa.string())


def _csv_field(value: str) -> str:
    """One field as RFC 4180 writes it (quoted only when needed)."""
    if any(c in value for c in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def _take(table: Sequence[str] | pa.Array, idx: np.ndarray) -> pa.Array:
    """``table[idx]``; a Python sequence is a vocabulary of raw values, taken as CSV-ready fields."""
    arr = table if isinstance(table, pa.Array) else _strings([_csv_field(v) for v in table])
    return arr.take(pa.array(np.asarray(idx, dtype=np.int64)))


def _digits(values: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(np.asarray(values, dtype=np.int64)), pa.string())


def _join(*parts: Any, sep: str = "") -> pa.Array:
    return pc.binary_join_element_wise(*parts, sep)


def _by_group(groups: np.ndarray, n_groups: int, render: Callable[[int, np.ndarray], pa.Array]) -> pa.Array:
    """Render each group's rows with ``render(group, row_indices)`` and put them back in row order."""
    n = len(groups)
    if n == 0:
        return pa.array([], pa.string())
    order = np.argsort(groups, kind="stable")
    bounds = np.searchsorted(groups[order], np.arange(n_groups + 1))
    pieces = []
    for g in range(n_groups):
        lo, hi = bounds[g], bounds[g + 1]
        if lo < hi:
            pieces.append(render(g, order[lo:hi]).cast(pa.string()))
    joined = pa.concat_arrays(pieces)
    inverse = np.empty(n, dtype=np.int64)
    inverse[order] = np.arange(n)
    return joined.take(pa.array(inverse))


def _override(base: pa.Array, mask: np.ndarray, values: pa.Array) -> pa.Array:
    """``base`` with the rows in ``mask`` replaced by ``values`` (full length)."""
    if not mask.any():
        return base
    return pc.if_else(pa.array(mask), values, base)


_TWO_DIGITS = _strings([f"{i:02d}" for i in range(60)])


def _day_strings(days: np.ndarray) -> pa.Array:
    """Days since 1970-01-01 as ``YYYY-MM-DD`` (few distinct values: formatted once each)."""
    uniques, codes = np.unique(days, return_inverse=True)
    table = _strings([(date(1970, 1, 1) + timedelta(days=int(d))).isoformat() for d in uniques])
    return _take(table, codes)


def _grouped_digits(ip: np.ndarray, sep: str | None) -> pa.Array:
    """Non-negative integers with a thousands separator (``None``: plain digits)."""
    plain = _digits(ip)
    if sep is None or len(ip) == 0 or ip.max() < 1000:
        return plain

    def pad(v: np.ndarray) -> pa.Array:
        return pc.utf8_lpad(_digits(v), width=3, padding="0")

    low = pad(ip % 1000)
    out = pc.if_else(pa.array(ip < 1000), plain, _join(_digits(ip // 1000), low, sep=sep))
    if ip.max() >= 10**6:
        mid = pad((ip // 1000) % 1000)
        out = pc.if_else(pa.array(ip < 10**6), out, _join(_digits(ip // 10**6), mid, low, sep=sep))
        if ip.max() >= 10**9:
            high = pad((ip // 10**6) % 1000)
            out = pc.if_else(pa.array(ip < 10**9), out, _join(_digits(ip // 10**9), high, mid, low, sep=sep))
    return out


def _format_prices(fmt: np.ndarray, cents: np.ndarray) -> pa.Array:
    """Render local amounts (integer cents) in each row's price format."""

    def render(f: int, rows: np.ndarray) -> pa.Array:
        spec = _FORMATS[f]
        c = cents[rows]
        ip = c // 100
        if spec.kind == "k":
            thousands = _digits(ip // 1000)
            hundreds = (ip // 100) % 10
            num = pc.if_else(pa.array(hundreds == 0), thousands, _join(thousands, _digits(hundreds), sep="."))
            return _join(spec.prefix, num, spec.suffix)
        if spec.kind == "man":
            return _join(_digits(ip // 10_000), spec.suffix)
        num = _grouped_digits(ip, spec.sep)
        if spec.kind == "always":
            num = _join(num, pc.utf8_lpad(_digits(c % 100), width=2, padding="0"), sep=spec.dec)
        elif spec.kind == "dash":
            num = _join(num, ".-")
        return _join(spec.prefix, num, spec.suffix)

    return _by_group(fmt, len(_FORMATS), render)


def _quote(arr: pa.Array) -> pa.Array:
    """RFC 4180: quote the fields holding a comma, a quote or a line break."""
    needs = pc.match_substring_regex(arr, '[",\r\n]')
    if not pc.any(needs).as_py():
        return arr
    quoted = _join('"', pc.replace_substring(arr, '"', '""'), '"')
    return pc.if_else(needs, quoted, arr)


def _string_bytes(arr: pa.Array) -> bytes:
    """The concatenated UTF-8 bytes of a string array without nulls."""
    if len(arr) == 0:
        return b""
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[arr.offset : arr.offset + len(arr) + 1]
    return arr.buffers()[2][int(offsets[0]) : int(offsets[-1])].to_pybytes()


# --------------------------------------------------------------------------------------------------
# Sources and the reference universe
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """One scraped site and the fixed habits of its files."""

    name: str  # the ``source`` column
    slug: str  # the file name stem
    weight: float  # share of the week's rows (relative)
    parts: int  # files per scrape
    kind: str  # dealer | retailer | marketplace | forum | auction
    region: str
    currencies: tuple[tuple[str, float], ...]
    columns: tuple[str, ...]  # canonical column names in file order (required, optional, extra)
    header: tuple[str, ...]  # the same names as the file writes them
    ts_style: str  # date | utc | offset
    id_style: str  # num | prefix | b36
    id_prefix: str
    id_start: int
    bom: bool
    crlf: bool
    condition_vocab: str
    seller_capitalised: bool

    def file_names(self) -> list[str]:
        if self.parts == 1:
            return [f"{self.slug}.csv"]
        return [f"{self.slug}-{p}.csv" for p in range(1, self.parts + 1)]


def _header_name(name: str, style: str, rng: np.random.Generator) -> str:
    if style == "upper":
        return name.upper()
    if style == "title":
        return "_".join(w.capitalize() for w in name.split("_"))
    if style == "mixed":
        shaped = (name, name.upper(), "_".join(w.capitalize() for w in name.split("_")))[int(rng.integers(3))]
        return " " * int(rng.integers(0, 2)) + shaped + " " * int(rng.integers(0, 3))
    return name


def _build_source(line: str) -> Source:
    name, slug, weight, parts, kind, region, mix = (f.strip() for f in line.split("|"))
    currencies = tuple((c.split()[0], float(c.split()[1])) for c in mix.split(","))
    rng = np.random.default_rng([_crc(slug), 20261114])  # a site's habits do not depend on the seed
    n_parts = int(parts)
    # Optional columns: big dealers and marketplaces carry models; forums rarely do.
    probs = {
        "url": 0.7,
        "title": 0.75,
        "parent_model": 0.35 if kind != "forum" else 0.1,
        "seller_type": 0.45,
        "country": 0.45,
        "listed_at": 0.3,
        "year": 0.3,
        "box_papers": 0.35,
    }
    optional = [c for c, p in probs.items() if rng.random() < p]
    if slug in {"chrono24", "watchbox", "bobswatches", "crownandcaliber", "chronext", "1stdibs", "ebay"}:
        optional += ["parent_model", "title", "url"]
    if "parent_model" in optional:
        optional.append("specific_model")
    optional_cols = [c for c in OPTIONAL_COLUMNS if c in set(optional)]
    extras = [str(c) for c in rng.choice(EXTRA_COLUMNS, size=int(rng.integers(0, 3)), replace=False)]
    columns = list(REQUIRED_COLUMNS) + optional_cols + extras
    if rng.random() < 0.5:
        columns = [columns[i] for i in rng.permutation(len(columns))]
    style = str(rng.choice(["lower", "upper", "title", "mixed"], p=[0.5, 0.1, 0.2, 0.2]))
    header = tuple(_header_name(c, style, rng) for c in columns)
    if n_parts > 1:
        ts_style = "offset" if rng.random() < 0.5 else "utc"
    elif kind == "forum":
        ts_style = "date" if rng.random() < 0.7 else "utc"
    else:
        ts_style = str(rng.choice(["date", "utc", "offset"], p=[0.25, 0.4, 0.35]))
    if region in {"jp", "hk"} and kind != "forum":
        ts_style = "offset"  # local time with +09:00 / +08:00
    if slug == "reddit-watchexchange":
        id_style, id_prefix = "b36", ""
    elif slug in {"chrono24", "ebay", "ebayau"} or rng.random() < 0.5:
        id_style, id_prefix = "num", ""
    else:
        letters = re.sub(r"[^a-z]", "", slug)
        id_style, id_prefix = "prefix", (letters[:2].upper() + ("-" if rng.random() < 0.4 else ""))
    id_start = {"chrono24": 31_000_000, "ebay": 310_000_000_000, "reddit-watchexchange": 2_200_000_000}.get(
        slug, int(rng.integers(1_000, 900_000))
    )
    if slug == "chrono24":
        vocab = "chrono24"
    elif slug.startswith("ebay"):
        vocab = "ebay"
    elif region == "jp" and kind != "forum":
        vocab = "jp"
    else:
        vocab = kind
    return Source(
        name=name,
        slug=slug,
        weight=float(weight),
        parts=n_parts,
        kind=kind,
        region=region,
        currencies=currencies,
        columns=tuple(columns),
        header=header,
        ts_style=ts_style,
        id_style=id_style,
        id_prefix=id_prefix,
        id_start=id_start,
        bom=bool(rng.random() < 0.2),
        crlf=bool(rng.random() < 0.35),
        condition_vocab=vocab,
        seller_capitalised=bool(rng.random() < 0.3),
    )


#: The simulated sites (fixed habits: columns, header spelling, timestamp form, BOM, ...).
SOURCES: tuple[Source, ...] = tuple(_build_source(line) for line in _SOURCE_TABLE.strip().splitlines())


@dataclass
class _Universe:
    """Catalog plus long-tail references, with the raw spellings the simulator writes."""

    brand: list[str]
    parent: list[str]
    specific: list[str]
    listed: list[str]  # the reference as the catalog writes it
    canonical: list[str]
    base: np.ndarray
    in_catalog: np.ndarray
    brand_idx: np.ndarray  # index into brands
    brands: list[str]
    brand_choice: _Choice  # per brand: raw brand spellings
    ref_choice: _Choice  # per reference: raw reference spellings
    title_base: pa.Array
    popularity: np.ndarray  # per reference (catalog/long tail weights set by the caller)


def _ref_spellings(ref: str) -> list[tuple[str, float]]:
    out: list[tuple[str, float]] = [(ref, 55), ("Ref. " + ref, 8), ("ref " + ref.lower(), 5)]
    if ref.lower() != ref:
        out.append((ref.lower(), 4))
    suffix = re.fullmatch(r"(\d{3,})([A-Z]{1,5})", ref)  # 126500LN -> 126500 LN
    prefix = re.fullmatch(r"([A-Z]{2,5})(\d{4,})", ref)  # IW371605 -> IW 371605
    split = suffix or prefix
    if split:
        head, tail = split.groups()
        out += [(f"{head} {tail}", 7), (f"{head}-{tail}", 7)]
    if "-" in ref:
        out += [(ref.replace("-", " "), 4), (ref.replace("-", ""), 4)]
    out += [(ref + " ", 2), (" " + ref, 1)]
    return out


def _brand_spellings(canonical: str) -> list[tuple[str, float]]:
    aliases = BRANDS.get(canonical, (canonical,))
    out: dict[str, float] = {canonical: 55.0}
    others = [a for a in aliases if a != canonical]
    for alias in others:
        out[alias] = out.get(alias, 0.0) + 28.0 / len(others)
    for variant, weight in ((canonical + " ", 5.0), (" " + canonical, 3.0), (canonical.upper(), 4.0)):
        out[variant] = out.get(variant, 0.0) + weight
    out[canonical.lower()] = out.get(canonical.lower(), 0.0) + 3.0
    out[" " + canonical.upper() + "  "] = out.get(" " + canonical.upper() + "  ", 0.0) + 2.0
    return list(out.items())


def _build_universe() -> _Universe:
    from ingest.steps.catalog import brand_alias_map
    from ingest.steps.parsing import canonical_reference, resolve_brand

    rows = [(r.brand, r.parent_model, r.specific_model, r.reference_number, r.base_price_usd) for r in REFERENCES]
    n_catalog = len(rows)
    for line in _LONG_TAIL.strip().splitlines():
        brand, parent, number, specific, price = (f.strip() for f in line.split("|"))
        rows.append((brand, parent, specific, number, float(price)))
    brand, parent, specific, listed, base = (list(col) for col in zip(*rows, strict=True))
    canonical = [canonical_reference(r) or "" for r in listed]
    brands = list(dict.fromkeys(brand))
    brand_idx = np.array([brands.index(b) for b in brand], dtype=np.int32)
    keys = set()
    for b, c in zip(brand, canonical, strict=True):
        if (b, c) in keys:
            raise ValueError(f"simulator: reference {b} {c} appears twice")
        keys.add((b, c))
    brand_choice = _Choice([_brand_spellings(b) for b in brands])
    ref_choice = _Choice([_ref_spellings(r) for r in listed])
    # Every raw spelling must resolve to its canonical form (else the counts would not reconcile).
    alias_map = brand_alias_map()
    for g, b in enumerate(brands):
        end = brand_choice.starts[g + 1] if g + 1 < len(brands) else len(brand_choice.values)
        for spelling in brand_choice.values[brand_choice.starts[g] : end]:
            if resolve_brand(spelling, alias_map) != b:
                raise ValueError(f"simulator: brand spelling {spelling!r} does not resolve to {b!r}")
    for r in range(len(listed)):
        end = ref_choice.starts[r + 1] if r + 1 < len(listed) else len(ref_choice.values)
        for spelling in ref_choice.values[ref_choice.starts[r] : end]:
            if canonical_reference(spelling) != canonical[r]:
                raise ValueError(f"simulator: reference spelling {spelling!r} is not {canonical[r]!r}")
    in_catalog = np.arange(len(rows)) < n_catalog
    pop_rng = np.random.default_rng(7_2026)  # fixed popularity: the same references are common for any seed
    popularity = np.exp(pop_rng.normal(0.0, 0.8, len(rows)))
    for g, b in enumerate(brands):
        members = brand_idx == g
        share = _BRAND_VOLUME.get(b, 0.0)
        popularity[members & in_catalog] *= share / popularity[members & in_catalog].sum() if share else 0.0
    tail = ~in_catalog
    popularity[tail] = popularity[tail] / popularity[tail].sum()
    title_base = _strings([f"{b} {s} {r}" for b, s, r in zip(brand, specific, listed, strict=True)])
    return _Universe(
        brand=brand,
        parent=parent,
        specific=specific,
        listed=listed,
        canonical=canonical,
        base=np.array(base, dtype=np.float64),
        in_catalog=in_catalog,
        brand_idx=brand_idx,
        brands=brands,
        brand_choice=brand_choice,
        ref_choice=ref_choice,
        title_base=title_base,
        popularity=popularity,
    )


# --------------------------------------------------------------------------------------------------
# Price paths (the ground truth)
# --------------------------------------------------------------------------------------------------


@dataclass
class _Paths:
    log_price: np.ndarray  # (refs, 2 * PATH_WEEKS + 1): week index k -> column k + PATH_WEEKS
    drift: np.ndarray  # (refs, same): annual log drift of the step into each week
    volatility: np.ndarray  # (refs,) annual


def _price_paths(base: np.ndarray, seed: int) -> _Paths:
    """Weekly log-price paths: drift regimes (-10..+25 %/yr), volatility 5..30 %/yr, anchored at EPOCH."""
    rng = np.random.default_rng([seed, 0x9A7])
    n_refs, n_weeks = len(base), 2 * PATH_WEEKS + 1
    volatility = rng.uniform(0.05, 0.30, n_refs)
    drift = np.empty((n_refs, n_weeks))
    weeks = np.arange(n_weeks)
    for r in range(n_refs):
        gaps = rng.geometric(1 / 45, size=n_weeks // 10 + 10)  # a regime shift every ~45 weeks
        shifts = np.cumsum(gaps) - int(rng.integers(0, 45))
        regimes = rng.uniform(-0.10, 0.25, len(shifts) + 1)
        drift[r] = regimes[np.searchsorted(shifts, weeks, side="right")]
    shocks = rng.standard_normal((n_refs, n_weeks))
    steps = drift / 52.0 + (volatility / np.sqrt(52.0))[:, None] * shocks
    steps[:, 0] = 0.0
    cum = np.cumsum(steps, axis=1)
    log_price = np.log(base)[:, None] + cum - cum[:, [PATH_WEEKS]]
    return _Paths(log_price=log_price, drift=drift, volatility=volatility)


@dataclass
class _SegmentLevels:
    new_premium: np.ndarray  # (brands,) true median(new) / median(pre-owned) - 1
    new_share: np.ndarray  # (refs,) expected share of new listings
    log_offset: np.ndarray  # (refs, 2): log price level of a pre-owned [0] / new [1] listing vs the path


def _segment_levels(brand_idx: np.ndarray, n_brands: int, new_share: np.ndarray, seed: int) -> _SegmentLevels:
    """Price levels of the pre-owned and the new listings of each reference around its path.

    A listing's log price is path + offset + premium + noise, the last two symmetric around 0
    (normal, sigma s), so each segment's median is path + its offset. The pre-owned offset c of a
    reference with new share p and log premium d solves p F(-c - d) + (1 - p) F(-c) = 1/2
    (F the normal CDF of sigma s): the median of all its listings stays the path.
    """
    rng = np.random.default_rng([seed, 0x4E57])  # its own stream: the other draws do not move
    new_premium = rng.uniform(*NEW_PREMIUM_RANGE, n_brands)
    log_premium = np.log1p(new_premium)[brand_idx]
    sigma = float(np.hypot(PREMIUM_SIGMA, NOISE_SIGMA))
    cdf = np.vectorize(lambda x: 0.5 * (1.0 + math.erf(x / (sigma * math.sqrt(2.0)))))
    low, high = -log_premium, np.zeros_like(log_premium)  # the all-listings median lies between
    for _ in range(60):  # bisection: the mixture's CDF at 0 falls as c rises
        mid = (low + high) / 2
        below_half = new_share * cdf(-mid - log_premium) + (1 - new_share) * cdf(-mid) < 0.5
        high = np.where(below_half, mid, high)
        low = np.where(below_half, low, mid)
    preowned = (low + high) / 2
    return _SegmentLevels(
        new_premium=new_premium,
        new_share=new_share,
        log_offset=np.stack([preowned, preowned + log_premium], axis=1),
    )


# --------------------------------------------------------------------------------------------------
# The simulation
# --------------------------------------------------------------------------------------------------


def default_end_date(today: date | None = None) -> date:
    """The Sunday of the last completed ISO week before ``today`` (default: today, UTC)."""
    today = today or datetime.now(UTC).date()
    return today - timedelta(days=today.weekday() + 1)


@dataclass
class _Pool:
    """The listings currently online, one entry per (source, listing)."""

    cols: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.cols["src"]) if self.cols else 0

    def take(self, idx: np.ndarray) -> dict[str, np.ndarray]:
        return {k: v[idx] for k, v in self.cols.items()}


class _Simulator:
    """The state carried from week to week: the listings online, id counters, the ledgers."""

    def __init__(self, seed: int, rows_per_week: int) -> None:
        self.seed = seed
        self.rows_per_week = rows_per_week
        self.uni = _build_universe()
        self.paths = _price_paths(self.uni.base, seed)
        self.sources = SOURCES
        n_src = len(self.sources)
        self.src_parts = np.array([s.parts for s in self.sources])
        self.src_weight = np.array([s.weight for s in self.sources])
        self.src_kind = np.array([_KINDS.index(s.kind) for s in self.sources])
        self.src_region = np.array([_REGION_NAMES.index(s.region) for s in self.sources])
        self.src_models = np.array(["parent_model" in s.columns for s in self.sources])
        self.src_survival = np.array([_SURVIVAL[s.kind] for s in self.sources])
        self.src_ts_style = np.array([("date", "utc", "offset").index(s.ts_style) for s in self.sources])
        self.src_offset_s = np.array([self._offset_seconds(_REGIONS[s.region][0]) for s in self.sources])
        self.next_id = np.array([s.id_start for s in self.sources], dtype=np.int64)
        self.file_start = np.concatenate([[0], np.cumsum(self.src_parts)]).astype(np.int64)
        self.file_names = [name for s in self.sources for name in s.file_names()]
        self.file_src = np.repeat(np.arange(n_src), self.src_parts)
        # Reference choice per (region, carries model columns).
        groups = []
        for region in _REGION_NAMES:
            tilt = _REGION_TILT.get(region, {})
            weights = self.uni.popularity * np.array([tilt.get(b, 1.0) for b in self.uni.brand])
            cat = np.where(self.uni.in_catalog, weights, 0.0)
            cat = cat / cat.sum()
            tail = np.where(self.uni.in_catalog, 0.0, weights)
            tail = tail / tail.sum()
            groups.append(list(enumerate(cat)))
            groups.append(list(enumerate((1 - LONG_TAIL_SHARE) * cat + LONG_TAIL_SHARE * tail)))
        self.ref_choice = _Choice(groups)
        ref_probability = np.array([[w for _, w in items] for items in groups])
        self.currency_choice = _Choice([[(CURRENCIES.index(c), w) for c, w in s.currencies] for s in self.sources])
        fmt_groups = []
        for ccy in CURRENCIES:
            fmt_groups.append([(_FMT[n], w) for n, w in _CURRENCY_FORMATS[ccy]])
            us_forum = _US_FORUM_FORMATS if ccy == "USD" else _CURRENCY_FORMATS[ccy]
            fmt_groups.append([(_FMT[n], w) for n, w in us_forum])
            jp_forum = _JP_FORUM_FORMATS if ccy == "JPY" else _CURRENCY_FORMATS[ccy]
            fmt_groups.append([(_FMT[n], w) for n, w in jp_forum])
        self.format_choice = _Choice(fmt_groups)
        self.spelling_choice = _Choice([_CURRENCY_SPELLINGS[c] for c in CURRENCIES])
        # Currency column strings: "" | the spellings | unknown codes.
        self.currency_strings = ["", *self.spelling_choice.values, *_UNKNOWN_CURRENCIES]
        self.unknown_base = 1 + len(self.spelling_choice.values)
        self.code_index = np.array([self.currency_strings.index(c) for c in CURRENCIES])
        self.condition_choice = _Choice([_CONDITIONS[v] for v in _CONDITION_VOCABS])
        self.src_vocab = np.array([_CONDITION_VOCABS.index(s.condition_vocab) for s in self.sources])
        # New vs pre-owned price levels: a raw condition is new when the ingest's category is.
        from ingest.steps.parsing import NEW_CATEGORIES, parse_condition

        self.cond_is_new = np.array([parse_condition(v) in NEW_CATEGORIES for v in self.condition_choice.values])
        vocab_new = np.array(
            [sum(w for v, w in _CONDITIONS[name] if parse_condition(v) in NEW_CATEGORIES) for name in _CONDITION_VOCABS]
        ) / np.array([sum(w for _, w in _CONDITIONS[name]) for name in _CONDITION_VOCABS])
        # a reference's listings come from each source in proportion to weight x P(reference | source)
        exposure = self.src_weight[:, None] * ref_probability[2 * self.src_region + self.src_models]
        new_share = (exposure * vocab_new[self.src_vocab][:, None]).sum(axis=0) / exposure.sum(axis=0)
        self.levels = _segment_levels(self.uni.brand_idx, len(self.uni.brands), new_share, seed)
        self.seller_choice = _Choice([_SELLERS[k] for k in _KINDS])
        self.country_choice = _Choice([[(c, 1.0) for c in _REGIONS[r][1]] for r in _REGION_NAMES])
        self.suffix_choice = _Choice([_TITLE_SUFFIXES])
        self.box_choice = _Choice([_BOX_PAPERS])
        self.suffix_newlines = np.array([s.count("\n") for s, _ in _TITLE_SUFFIXES])
        self.pool = _Pool()
        self._persisting = 0  # listings of the last week that were online the week before
        # the truth of the flows, per week: (k, listed, continuing, ended, cut), each per reference
        self.flows: list[tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        # spells that ended (listing not kept): reference, first and last week online
        self.ended_spells: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.ledger_bad: list[list[Any]] = []
        self.ledger_dups: list[list[Any]] = []
        self.ledger_outliers: list[list[Any]] = []

    @staticmethod
    def _offset_seconds(text: str) -> int:
        sign = -1 if text.startswith("-") else 1
        hours, minutes = text[1:].split(":")
        return sign * (int(hours) * 3600 + int(minutes) * 60)

    # ---------------------------------------------------------------- listings
    def _new_listings(self, rng: np.random.Generator, counts: np.ndarray, day: int, k: int) -> dict[str, np.ndarray]:
        src = np.repeat(np.arange(len(self.sources)), counts).astype(np.int32)
        n = len(src)
        gaps = rng.integers(1, 40, n).astype(np.int64)
        cum = np.cumsum(gaps)
        group_start = np.repeat(np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
        before = np.where(group_start > 0, cum[np.maximum(group_start - 1, 0)], 0)
        lid = self.next_id[src] + (cum - before)
        np.maximum.at(self.next_id, src, lid)
        ref_group = 2 * self.src_region[src] + self.src_models[src]
        ref = np.asarray(self.ref_choice.values, dtype=np.int32)[self.ref_choice.draw(rng, ref_group)]
        ccy = np.asarray(self.currency_choice.values, dtype=np.int8)[self.currency_choice.draw(rng, src)]
        variant = np.zeros(n, dtype=np.int64)
        forum = self.src_kind[src] == _KINDS.index("forum")
        variant[forum & (self.src_region[src] != _REGION_NAMES.index("jp"))] = 1
        variant[forum & (self.src_region[src] == _REGION_NAMES.index("jp"))] = 2
        fmt = np.asarray(self.format_choice.values, dtype=np.int16)[
            self.format_choice.draw(rng, 3 * ccy.astype(np.int64) + variant)
        ]
        spelling = 1 + self.spelling_choice.draw(rng, ccy.astype(np.int64))
        blank = _FMT_HAS_SYMBOL[fmt] & (rng.random(n) < 0.5)
        ccy_rep = np.where(blank, 0, spelling).astype(np.int16)
        return {
            "src": src,
            "lid": lid,
            "ref": ref,
            "premium": rng.normal(0.0, PREMIUM_SIGMA, n),
            "ccy": ccy,
            "fmt": fmt,
            "ccy_rep": ccy_rep,
            "coarse": rng.choice(np.arange(5), size=n, p=[0.12, 0.45, 0.2, 0.08, 0.15]).astype(np.int8),
            "brand_rep": self.uni.brand_choice.draw(rng, self.uni.brand_idx[ref].astype(np.int64)),
            "ref_rep": self.uni.ref_choice.draw(rng, ref.astype(np.int64)),
            "cond": self.condition_choice.draw(rng, self.src_vocab[src].astype(np.int64)),
            "suffix": self.suffix_choice.draw(rng, np.zeros(n, dtype=np.int64)),
            "seller": self.seller_choice.draw(rng, self.src_kind[src].astype(np.int64)),
            "country": self.country_choice.draw(rng, self.src_region[src].astype(np.int64)),
            "listed_day": (day - rng.integers(0, 45, n)).astype(np.int32),
            "year": np.where(rng.random(n) < 0.3, 0, rng.integers(1995, 2026, n)).astype(np.int16),
            "box": self.box_choice.draw(rng, np.zeros(n, dtype=np.int64)),
            "model_blank": rng.random(n) < 0.1,
            "ask": np.full(n, np.nan),  # the standing ask in local cents, set once priced
            "rel": np.zeros(n),  # ln(ask / market level of its segment) when the ask was last set
            "cut": np.zeros(n),  # this week's cut of the ask (a fraction), 0 without
            "first": np.full(n, k, dtype=np.int32),  # the week the listing came online
            "last": np.full(n, k, dtype=np.int32),  # the latest week it was online
        }

    def _positions(self, cols: dict[str, np.ndarray], col: int, rate: np.ndarray) -> np.ndarray:
        """ln(USD ask / the market level of the listing's segment) this week (0 before it is priced)."""
        level = (
            self.paths.log_price[cols["ref"], col]
            + self.levels.log_offset[cols["ref"], self.cond_is_new[cols["cond"]].astype(np.int64)]
        )
        usd = cols["ask"] / 100.0 * rate[cols["ccy"].astype(np.int64)]
        return np.nan_to_num(np.log(usd) - level, nan=0.0)

    def _week_listings(
        self, rng: np.random.Generator, counts: np.ndarray, day: int, k: int, col: int, rate: np.ndarray
    ) -> dict[str, np.ndarray]:
        """This week's listings per source: survivors of earlier weeks plus new ones.

        A listing of last week stays with the probability its lifetime model gives (its source
        kind, how its ask sits against the market) and while its source has room this week; a
        stayer sometimes cuts its ask. Listings of a source without rows this week wait, unchanged.
        """
        n_src = len(self.sources)
        n_refs = len(self.uni.base)
        kept_cols: dict[str, np.ndarray] | None = None
        carried: dict[str, np.ndarray] | None = None
        kept_counts = np.zeros(n_src, dtype=np.int64)
        continuing = ended = np.zeros(n_refs, dtype=np.int64)
        if len(self.pool):
            src = self.pool.cols["src"]
            idle = counts[src] == 0  # a source without rows this week keeps its listings for later
            position = self._positions(self.pool.cols, col, rate)
            hazard = np.clip((1.0 - self.src_survival[src]) * np.exp(-PRICE_SENSITIVITY * position), *HAZARD_RANGE)
            alive = (rng.random(len(src)) >= hazard) & ~idle
            key = rng.random(len(src))
            order = np.lexsort((key, src))
            order = order[alive[order]]
            sorted_src = src[order]
            first = np.searchsorted(sorted_src, np.arange(n_src))
            rank = np.arange(len(order)) - first[sorted_src]
            keep = order[rank < counts[sorted_src]]
            keep.sort()
            self._persisting = len(keep)
            kept_cols = self.pool.take(keep)
            cut_probability = np.minimum(CUT_RATE * np.exp(CUT_SENSITIVITY * position[keep]), 0.5)
            cuts = rng.random(len(keep)) < cut_probability
            kept_cols["cut"] = np.where(cuts, rng.uniform(*CUT_RANGE, len(keep)), 0.0)
            kept_cols["last"] = np.full(len(keep), k, dtype=np.int32)
            kept_counts = np.bincount(src[keep], minlength=n_src)
            carried = self.pool.take(np.flatnonzero(idle))
            gone = np.ones(len(src), dtype=bool)
            gone[keep] = False
            gone &= ~idle
            refs = self.pool.cols["ref"]
            self.ended_spells.append((refs[gone], self.pool.cols["first"][gone], self.pool.cols["last"][gone]))
            continuing = np.bincount(refs[keep], minlength=n_refs)
            ended = np.bincount(refs[gone & (self.pool.cols["last"] == k - 1)], minlength=n_refs)
        new = self._new_listings(rng, counts - kept_counts, day, k)
        parts = [c for c in (kept_cols, new) if c is not None]
        week = {key: np.concatenate([p[key] for p in parts]) for key in new}
        pool_parts = [week] + ([carried] if carried is not None and len(carried["src"]) else [])
        self.pool = _Pool({key: np.concatenate([p[key] for p in pool_parts]) for key in new})
        # the cuts (the last entry) are counted once the week is priced
        self.flows.append((k, np.bincount(week["ref"], minlength=n_refs), continuing, ended, continuing * 0))
        return week

    # ---------------------------------------------------------------- one week
    def week(self, k: int, scrape_date: date, sink: Callable[[str, bytes], None]) -> dict[str, Any]:
        """Simulate one weekly scrape; each file goes to ``sink(name, data)``; returns the week's manifest."""
        rng = np.random.default_rng([self.seed, k + 10 * PATH_WEEKS, 0x5C])
        uni = self.uni
        n_src = len(self.sources)
        n_files = len(self.file_names)
        scrape_day = (scrape_date - date(1970, 1, 1)).days
        market_week = scrape_date - timedelta(days=scrape_date.weekday())
        folder = f"scrape_date={scrape_date.isoformat()}"
        total = self.rows_per_week

        # --- whole-file faults that leave a file without rows: chosen among single-file sources
        file_fault: dict[int, str] = {}
        small = [i for i, s in enumerate(self.sources) if s.parts == 1 and s.weight <= 1.0]
        empty_sources = rng.choice(small, size=2, replace=False) if total >= 50 else np.array([], dtype=int)
        for fault, s in zip(("zero_byte", "header_only"), empty_sources, strict=False):
            file_fault[int(self.file_start[s])] = fault

        # --- rows per source (largest remainder, exact total); duplicates are extra copies
        n_dups = round(total * DUPLICATE_RATE) if total >= 200 else 0
        unique_rows = total - n_dups
        weights = self.src_weight * np.exp(rng.normal(0.0, 0.15, n_src))
        weights[list(empty_sources)] = 0.0
        share = weights / weights.sum() * unique_rows
        counts = np.floor(share).astype(np.int64)
        remainder = unique_rows - counts.sum()
        counts[np.argsort(-(share - counts), kind="stable")[:remainder]] += 1

        col = k + PATH_WEEKS
        if not 0 <= col < self.paths.log_price.shape[1]:
            raise ValueError(f"simulate: week {market_week} is outside the simulated price history")
        rate = self._usd_per_unit(scrape_date)
        rows = self._week_listings(rng, counts, scrape_day, k, col, rate)
        n = len(rows["src"])
        src = rows["src"]
        part = (rng.random(n) * self.src_parts[src]).astype(np.int64)
        file_id = self.file_start[src] + part

        # --- whole-file faults with rows: a missing required column, an unterminated quote
        file_rows = np.bincount(file_id, minlength=n_files)
        big = np.array([self.sources[self.file_src[f]].slug == "chrono24" for f in range(n_files)])
        candidates = [f for f in range(n_files) if f not in file_fault and file_rows[f] >= 1 and not big[f]]
        if len(candidates) >= 2:
            picked = rng.choice(candidates, size=2, replace=False)
            file_fault[int(picked[0])] = "missing_column"
            file_fault[int(picked[1])] = "unterminated_quote"
        faulty = np.zeros(n_files, dtype=bool)
        faulty[list(file_fault)] = True
        healthy = ~faulty[file_id]

        # --- prices: the path of the week, the level of the listing's segment (new or not),
        # a persistent premium, weekly noise
        # A listing that was online before keeps its ask in its own currency (less this week's
        # cut): its USD price moves with the exchange rate only.
        true_median = np.exp(self.paths.log_price[:, col])
        segment_offset = self.levels.log_offset[rows["ref"], self.cond_is_new[rows["cond"]].astype(np.int64)]
        level = np.log(true_median[rows["ref"]]) + segment_offset
        fresh = rows["premium"] + rng.normal(0.0, NOISE_SIGMA, n)
        fmt = rows["fmt"].astype(np.int64)
        ccy = rows["ccy"].astype(np.int64)
        standing = ~np.isnan(rows["ask"])
        rel = np.where(standing, rows["rel"], fresh)  # the ask's place against the market when last set
        stale = np.log(np.where(standing, rows["ask"], 1.0) / 100.0 * rate[ccy])
        # a standing ask stays put while it is within REQUOTE_BAND of where the seller set it
        # against the market; beyond, the seller re-quotes there; a cut lowers the ask itself
        requote = standing & (np.abs(stale - (level + rel)) > REQUOTE_BAND)
        log_usd = np.where(standing & ~requote, stale, level + rel)
        cutting = standing & (rows["cut"] > 0)
        log_usd = np.where(cutting, stale + np.log1p(-rows["cut"]), log_usd)
        rel = np.where(cutting, log_usd - level, rel)
        self.pool.cols["rel"][:n] = rel
        usd = np.exp(log_usd)
        clean_usd = usd.copy()  # the ask before outliers and out-of-bounds prices are injected
        ccy_rep = rows["ccy_rep"].astype(np.int64)

        # --- bad rows: exactly one fault each, only in healthy files
        reason = np.full(n, -1, dtype=np.int64)
        n_healthy = int(healthy.sum())
        counts_by_reason: dict[str, int] = {}
        for r, name in enumerate(REASONS):
            want = round(BAD_ROW_RATES[name] * n_healthy)
            if n_healthy >= 200:
                want = max(1, want)
            eligible = healthy & (reason < 0)
            if name == "currency_conflict":
                eligible &= ccy < 4  # USD, EUR, GBP, CHF: a symbol and a different code, both in bounds
            pool_idx = np.flatnonzero(eligible)
            chosen = rng.choice(pool_idx, size=min(want, len(pool_idx)), replace=False)
            reason[chosen] = r
            counts_by_reason[name] = len(chosen)
        bad = reason >= 0

        # --- outliers: valid rows of well-populated reference-weeks, priced far off the market
        valid = healthy & ~bad
        per_ref = np.bincount(rows["ref"][valid], minlength=len(uni.base))
        factor = np.where(rng.random(n) < 0.6, rng.uniform(4.0, 8.0, n), rng.uniform(0.13, 0.17, n))
        shifted = usd * factor
        eligible = valid & (per_ref[rows["ref"]] >= 8) & (shifted >= 150) & (shifted <= 9_000_000)
        pool_idx = np.flatnonzero(eligible)
        want = round(OUTLIER_RATE * n_healthy)
        outlier_idx = np.sort(rng.choice(pool_idx, size=min(want, len(pool_idx)), replace=False))
        usd[outlier_idx] = shifted[outlier_idx]
        is_outlier = np.zeros(n, dtype=bool)
        is_outlier[outlier_idx] = True

        # --- out-of-bounds prices (in USD: 20..90 or 12M..60M), forced to a plain format
        oob = reason == REASONS.index("price_out_of_bounds")
        low = rng.random(n) < 0.5
        usd = np.where(oob & low, rng.uniform(20, 90, n), usd)
        usd = np.where(oob & ~low, rng.uniform(12e6, 60e6, n), usd)

        # --- local amounts, rounded like sellers do
        local_cents = usd / rate[ccy] * 100.0
        kind = _FMT_KIND[fmt]
        unsuitable = ((kind == _KIND_K) & (local_cents < 500_000)) | ((kind == _KIND_MAN) & (local_cents < 1e8))
        if unsuitable.any():
            fallback = np.arange(len(_FORMATS))
            for a, b in _FALLBACK_FORMAT.items():
                fallback[_FMT[a]] = _FMT[b]
            fmt = np.where(unsuitable, fallback[fmt], fmt)
        fmt = np.where(oob | (reason == REASONS.index("unknown_currency")), _FMT["plain"], fmt)
        conflict = reason == REASONS.index("currency_conflict")
        conflict_fmt = np.array([_FMT[_CONFLICT_FORMAT[c]] for c in CURRENCIES[:4]])
        fmt = np.where(conflict, conflict_fmt[np.minimum(ccy, 3)], fmt)
        kind = _FMT_KIND[fmt]
        fmt_has_symbol = _FMT_HAS_SYMBOL[fmt]
        max_level = np.searchsorted(_UNITS, local_cents / 200.0, side="right") - 1
        level = np.minimum(rows["coarse"].astype(np.int64), np.maximum(max_level, 0))
        level = np.where(kind == _KIND_ALWAYS, level, np.maximum(level, 1))
        unit = _UNITS[level]
        unit = np.where(kind == _KIND_K, 10_000, np.where(kind == _KIND_MAN, 1_000_000, unit))
        cents = np.maximum(np.round(local_cents / unit), 1).astype(np.int64) * unit
        # the standing ask: this week's amount, or for an injected outlier or out-of-bounds price
        # the clean one; a cut always shows (at least one unit below the ask it cuts)
        clean_cents = np.maximum(np.round(clean_usd / rate[ccy] * 100.0 / unit), 1).astype(np.int64) * unit
        clean_cents = np.where(
            cutting & (clean_cents >= rows["ask"]), np.maximum(rows["ask"] - unit, unit), clean_cents
        ).astype(np.int64)
        dirty = is_outlier | oob
        cents = np.where(dirty, cents, clean_cents)
        self.pool.cols["ask"][:n] = clean_cents
        # the true price cuts: listings that stayed and ask less than last week (the same currency:
        # a listing keeps its currency), by a cut or by a re-quote down with the market
        k_, listed, continuing, ended, _ = self.flows[-1]
        lowered = standing & (clean_cents < np.nan_to_num(rows["ask"], nan=0.0))
        self.flows[-1] = (k_, listed, continuing, ended, np.bincount(rows["ref"][lowered], minlength=len(uni.base)))

        # --- currency column: a matching spelling where the price has no symbol
        ccy_rep = np.where((ccy_rep == 0) & ~fmt_has_symbol, self.code_index[ccy], ccy_rep)
        ccy_rep = np.where(oob, self.code_index[ccy], ccy_rep)
        unknown = reason == REASONS.index("unknown_currency")
        ccy_rep = np.where(unknown, self.unknown_base + rng.integers(0, len(_UNKNOWN_CURRENCIES), n), ccy_rep)
        other = (ccy + rng.integers(1, 4, n)) % 4
        ccy_rep = np.where(conflict, self.code_index[other], ccy_rep)

        # --- duplicates: a repeated row in the same file, or the listing again in another part
        dup_rows, dup_file, dup_kind = self._pick_duplicates(rng, n_dups, valid & ~is_outlier, file_id, faulty)
        n_total = n + len(dup_rows)

        def extend(a: np.ndarray) -> np.ndarray:
            return np.concatenate([a, a[dup_rows]])

        rows = {key: extend(v) for key, v in rows.items()}
        src = rows["src"]
        file_id = np.concatenate([file_id, dup_file])
        fmt, ccy, ccy_rep, cents, reason = (extend(a) for a in (fmt, ccy, ccy_rep, cents, reason))
        is_outlier = extend(is_outlier)
        factor = extend(factor)
        copy_of = np.concatenate([np.full(n, -1), dup_rows])
        copy_kind = np.concatenate([np.zeros(n, dtype=np.int64), dup_kind])  # 1 same file, 2 other part

        # --- scrape times: each file is scraped within a window ending on the scrape date
        file_end = scrape_day * _SECONDS_PER_DAY + rng.integers(1800, 20 * 3600, n_files)
        file_len = rng.integers(1800, 10 * 3600, n_files)
        ts = file_end[file_id] - (rng.random(n_total) * file_len[file_id]).astype(np.int64)
        key = ts.astype(np.float64)
        same = copy_kind == 1
        ts[same] = ts[copy_of[same]]
        key[same] = ts[same] + 1 + rng.random(same.sum()) * 3600  # the copy comes after the original
        cross = copy_kind == 2
        too_close = cross & (np.abs(ts - ts[np.where(cross, copy_of, 0)]) < 60)
        ts[too_close] += 3600
        key[too_close] = ts[too_close]

        # --- order: by file, then scrape time; row numbers and physical lines per file
        order = np.lexsort((key, file_id))
        inv = np.empty(n_total, dtype=np.int64)
        inv[order] = np.arange(n_total)
        rows = {name: v[order] for name, v in rows.items()}
        src, file_id = rows["src"], file_id[order]
        fmt, ccy, ccy_rep, cents, reason, ts = (a[order] for a in (fmt, ccy, ccy_rep, cents, reason, ts))
        is_outlier, factor, copy_kind = is_outlier[order], factor[order], copy_kind[order]
        copy_of = np.where(copy_of[order] >= 0, inv[np.maximum(copy_of[order], 0)], -1)
        file_lo = np.searchsorted(file_id, np.arange(n_files))
        file_hi = np.searchsorted(file_id, np.arange(n_files), side="right")
        row_no = np.arange(n_total) - file_lo[file_id] + 1
        has_title = np.array(["title" in self.sources[s].columns for s in range(n_src)])
        newlines = self.suffix_newlines[rows["suffix"]]
        newlines = np.where(has_title[src], newlines, 0)
        before = np.cumsum(newlines) - newlines
        line_no = 1 + row_no + before - before[file_lo[file_id]]

        # --- render every column
        repeat_of = np.where(copy_kind == 1, copy_of, -1)
        columns = self._render(rng, rows, fmt, cents, ccy_rep, reason, ts, file_id, scrape_date, repeat_of)
        ids = columns["listing_id"]

        # --- files
        files_meta: list[dict[str, Any]] = []
        faulty_rows = dict.fromkeys(FILE_FAULTS, 0)
        for f in range(n_files):
            source = self.sources[self.file_src[f]]
            lo, hi = int(file_lo[f]), int(file_hi[f])
            fault = file_fault.get(f)
            meta: dict[str, Any] = {
                "name": self.file_names[f],
                "source": source.name,
                "rows": hi - lo,
                "fault": fault,
            }
            data = self._file_bytes(rng, source, columns, lo, hi, fault, meta)
            meta["bytes"] = len(data)
            meta["bom"] = bool(data.startswith(b"\xef\xbb\xbf"))
            if fault is not None:
                faulty_rows[fault] += hi - lo
            files_meta.append(meta)
            sink(f"{folder}/{self.file_names[f]}", data)

        # --- ledgers: the exact rows behind the counts
        where = np.array([f"{folder}/{name}" for name in self.file_names], dtype=object)
        src_names = np.array([s.name for s in self.sources], dtype=object)
        sd = scrape_date.isoformat()

        def ledger(idx: np.ndarray, *extra: Sequence[Any]) -> list[list[Any]]:
            base = (
                [sd] * len(idx),
                where[file_id[idx]].tolist(),
                row_no[idx].tolist(),
                line_no[idx].tolist(),
                src_names[src[idx]].tolist(),
                ids.take(pa.array(idx, pa.int64())).to_pylist(),
            )
            return [list(r) for r in zip(*base, *extra, strict=True)]

        bad_idx = np.flatnonzero(reason >= 0)
        self.ledger_bad += ledger(bad_idx, [REASONS[r] for r in reason[bad_idx]])
        out_idx = np.flatnonzero(is_outlier & (copy_kind == 0))
        out_ref = rows["ref"][out_idx]
        self.ledger_outliers += ledger(
            out_idx,
            [uni.brand[r] for r in out_ref],
            [uni.canonical[r] for r in out_ref],
            np.round(factor[out_idx], 4).tolist(),
        )
        copies = np.flatnonzero(copy_kind > 0)
        originals = copy_of[copies]
        # The dedup rule (docs/metrics.md): the latest scraped_at wins, then the lowest file/line.
        copy_wins = (ts[copies] > ts[originals]) | (
            (ts[copies] == ts[originals])
            & (
                (where[file_id[copies]] < where[file_id[originals]])
                | ((file_id[copies] == file_id[originals]) & (line_no[copies] < line_no[originals]))
            )
        )
        pair_rows = np.column_stack([originals, copies]).ravel()
        pair_wins = np.column_stack([~copy_wins, copy_wins]).ravel()
        pair_kind = np.repeat(np.where(copy_kind[copies] == 1, "same_file", "other_part"), 2).tolist()
        self.ledger_dups += ledger(
            pair_rows,
            columns["scraped_at"].take(pa.array(pair_rows, pa.int64())).to_pylist(),
            pair_kind,
            pair_wins.tolist(),
        )

        n_bad = sum(counts_by_reason.values())
        rows_healthy = int(sum(m["rows"] for m in files_meta if m["fault"] is None))
        manifest = {
            "scrape_date": sd,
            "market_week": market_week.isoformat(),
            "folder": folder,
            "n_files": n_files,
            "n_sources": len({m["source"] for m in files_meta}),
            "files": files_meta,
            "rows_written": int(n_total),
            "rows_in_healthy_files": rows_healthy,
            "rows_in_faulty_files": faulty_rows,
            "bad_rows": counts_by_reason,
            "bad_rows_total": n_bad,
            "duplicates": {
                "total": len(copies),
                "same_file": int((copy_kind == 1).sum()),
                "other_part": int((copy_kind == 2).sum()),
            },
            "outliers": int((is_outlier & (copy_kind == 0)).sum()),
            "expected_loaded": rows_healthy - n_bad - len(copies),
            "persisting_listings": int(self._persisting),
        }
        return manifest

    def _usd_per_unit(self, scrape_date: date) -> np.ndarray:
        from ingest.steps.fx import usd_per_unit

        rate = usd_per_unit(np.array(CURRENCIES, dtype=object), [scrape_date] * len(CURRENCIES))
        if np.isnan(rate).any():
            missing = [c for c, r in zip(CURRENCIES, rate, strict=True) if np.isnan(r)]
            raise ValueError(f"simulate: no ECB rate on or before {scrape_date} for {', '.join(missing)}")
        return rate

    def _pick_duplicates(
        self,
        rng: np.random.Generator,
        n_dups: int,
        eligible: np.ndarray,
        file_id: np.ndarray,
        faulty: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Rows to copy, the copy's file and its kind (1 same file, 2 another part of the site)."""
        src = self.file_src[file_id]
        healthy_parts = np.bincount(self.file_src[~faulty], minlength=len(self.sources))
        cross_ok = eligible & (healthy_parts[src] >= 2) & (self.src_ts_style[src] != 0)
        n_cross = n_dups // 2 if cross_ok.sum() >= n_dups else 0
        cross_rows = np.sort(rng.choice(np.flatnonzero(cross_ok), size=n_cross, replace=False))
        rest = eligible.copy()
        rest[cross_rows] = False
        same_rows = np.sort(
            rng.choice(np.flatnonzero(rest), size=min(n_dups - n_cross, int(rest.sum())), replace=False)
        )
        # The other part: a random healthy part of the same site, not the row's own file.
        target = np.empty(len(cross_rows), dtype=np.int64)
        for j, r in enumerate(cross_rows):  # at most DUPLICATE_RATE / 2 of the rows
            s = self.file_src[file_id[r]]
            parts = [f for f in range(self.file_start[s], self.file_start[s + 1]) if not faulty[f] and f != file_id[r]]
            target[j] = parts[int(rng.integers(len(parts)))]
        dup_rows = np.concatenate([same_rows, cross_rows]).astype(np.int64)
        dup_file = np.concatenate([file_id[same_rows], target]).astype(np.int64)
        dup_kind = np.concatenate([np.ones(len(same_rows)), np.full(len(cross_rows), 2)]).astype(np.int64)
        return dup_rows, dup_file, dup_kind

    # ---------------------------------------------------------------- rendering
    def _timestamps(self, ts: np.ndarray, src: np.ndarray) -> pa.Array:
        """``scraped_at`` in each site's form: a date, ISO UTC with ``Z``, or local time with offset."""
        offsets = [_REGIONS[s.region][0] for s in self.sources]

        def render(style: int, idx: np.ndarray) -> pa.Array:
            t = ts[idx] + (self.src_offset_s[src[idx]] if style == 2 else 0)
            day = t // _SECONDS_PER_DAY
            days = _day_strings(day)
            if style == 0:
                return days
            sec = t - day * _SECONDS_PER_DAY
            hh, mm, ss = (_take(_TWO_DIGITS, v) for v in (sec // 3600, (sec // 60) % 60, sec % 60))
            if style == 1:
                return _join(days, "T", hh, ":", mm, ":", ss, "Z")
            return _join(days, " ", hh, ":", mm, ":", ss, _take(offsets, src[idx]))

        return _by_group(self.src_ts_style[src], 3, render)

    def _render(
        self,
        rng: np.random.Generator,
        rows: dict[str, np.ndarray],
        fmt: np.ndarray,
        cents: np.ndarray,
        ccy_rep: np.ndarray,
        reason: np.ndarray,
        ts: np.ndarray,
        file_id: np.ndarray,
        scrape_date: date,
        repeat_of: np.ndarray,
    ) -> dict[str, pa.Array]:
        """Every column (required, optional, extra) as CSV-ready text for every row, faults applied.

        ``repeat_of`` is the row a row repeats (a same-file duplicate: identical bytes), else -1.
        """
        uni = self.uni
        n = len(ts)
        src, ref = rows["src"], rows["ref"]
        out: dict[str, pa.Array] = {}

        def pick(values: Sequence[str]) -> pa.Array:
            return _take(values, rng.integers(0, len(values), n))

        def is_reason(name: str) -> np.ndarray:
            return reason == REASONS.index(name)

        id_style = np.array([("num", "prefix", "b36").index(s.id_style) for s in self.sources])[src]
        prefixes = [s.id_prefix for s in self.sources]
        lid = rows["lid"]

        def render_id(style: int, idx: np.ndarray) -> pa.Array:
            if style == 0:
                return _digits(lid[idx])
            if style == 1:
                return _join(_take(prefixes, src[idx]), _digits(lid[idx]))
            return _base36(lid[idx])

        out["listing_id"] = _by_group(id_style, 3, render_id)
        out["source"] = _take([s.name for s in self.sources], src)

        bad_ts = is_reason("bad_timestamp")
        far = bad_ts & (rng.random(n) < 0.5)
        shift = np.where(rng.random(n) < 0.7, -rng.integers(10, 61, n), rng.integers(9, 31, n))
        shown = np.where(far, ts + shift * _SECONDS_PER_DAY, ts)
        out["scraped_at"] = _override(self._timestamps(shown, src), bad_ts & ~far, pick(_BAD_TIMESTAMPS))

        n_brands = len(uni.brand_choice.values)
        brand_rep = np.where(is_reason("missing_brand"), n_brands + rng.integers(0, 2, n), rows["brand_rep"])
        out["brand"] = _take([*uni.brand_choice.values, "", " "], brand_rep)
        n_refs = len(uni.ref_choice.values)
        ref_rep = np.where(is_reason("missing_reference"), n_refs + rng.integers(0, 2, n), rows["ref_rep"])
        out["reference_number"] = _take([*uni.ref_choice.values, "", " "], ref_rep)

        price = _quote(_format_prices(fmt, cents))
        price = _override(price, is_reason("no_price"), pick(("", "", " ")))
        price = _override(price, is_reason("price_on_request"), pick(_POA))
        out["price"] = _override(price, is_reason("unparseable_price"), pick(_UNPARSEABLE))
        out["currency"] = _take(self.currency_strings, ccy_rep)
        out["condition"] = _take(self.condition_choice.values, rows["cond"])

        url_prefix = [_url_prefix(s) for s in self.sources]
        out["url"] = _join(_take(url_prefix, src), out["listing_id"])
        suffixes = [v for v, _ in _TITLE_SUFFIXES]
        title_suffix = _strings(suffixes).take(pa.array(rows["suffix"].astype(np.int64)))
        out["title"] = _quote(_join(uni.title_base.take(pa.array(ref.astype(np.int64))), title_suffix))
        blank_model = rows["model_blank"] & uni.in_catalog[ref]
        out["parent_model"] = _override(_take(uni.parent, ref), blank_model, pick(("",)))
        out["specific_model"] = _override(_take(uni.specific, ref), blank_model, pick(("",)))
        seller = _take(self.seller_choice.values, rows["seller"])
        capitalised = np.array([s.seller_capitalised for s in self.sources])[src]
        out["seller_type"] = _override(seller, capitalised, pc.utf8_capitalize(seller))
        out["country"] = _take(self.country_choice.values, rows["country"])
        out["listed_at"] = _day_strings(rows["listed_day"].astype(np.int64))
        year = rows["year"].astype(np.int64)
        out["year"] = pc.if_else(pa.array(year == 0), pa.scalar("", pa.string()), _digits(year))
        out["box_papers"] = _take(self.box_choice.values, rows["box"])

        repeats = np.flatnonzero(repeat_of >= 0)

        def draw(low: int, high: int) -> np.ndarray:  # per-row values, equal in a repeated row
            values = rng.integers(low, high, n)
            values[repeats] = values[repeat_of[repeats]]
            return values

        out["shipping"] = _take(_EXTRA_VALUES["shipping"], draw(0, len(_EXTRA_VALUES["shipping"])))
        out["seller_rating"] = _take(_EXTRA_VALUES["seller_rating"], draw(0, len(_EXTRA_VALUES["seller_rating"])))
        out["watchers"] = _digits(draw(0, 120))
        out["page"] = _digits(draw(1, 400))
        stamp = scrape_date.strftime("%Y%m%d")
        runs = [f"{name.removesuffix('.csv')}-{stamp}" for name in self.file_names]
        out["scrape_run"] = _take(runs, file_id)
        out["lot"] = _join("Lot ", _digits(draw(1, 900)))
        out["images"] = _digits(draw(1, 25))
        return out

    def _file_bytes(
        self,
        rng: np.random.Generator,
        source: Source,
        columns: dict[str, pa.Array],
        lo: int,
        hi: int,
        fault: str | None,
        meta: dict[str, Any],
    ) -> bytes:
        """One CSV file: BOM (some sites), header in the site's spelling, RFC 4180 rows."""
        if fault == "zero_byte":
            return b""
        term = "\r\n" if source.crlf else "\n"
        bom = b"\xef\xbb\xbf" if source.bom else b""
        names, header = list(source.columns), list(source.header)
        if fault == "missing_column":
            drop = REQUIRED_COLUMNS[int(rng.integers(len(REQUIRED_COLUMNS)))]
            meta["missing_columns"] = [drop]
            keep = [i for i, name in enumerate(names) if name != drop]
            names, header = [names[i] for i in keep], [header[i] for i in keep]
        head = (",".join(header) + term).encode("utf-8")
        if fault == "header_only" or hi == lo:
            return bom + head
        cols = [columns[name].slice(lo, hi - lo) for name in names]
        if fault == "unterminated_quote":
            # No quote anywhere in the file but one that opens a field and never closes (the
            # fields are CSV-ready: quoting quotes, separators and line breaks become spaces).
            cols = [pc.replace_substring_regex(c, '[",\r\n]', " ") for c in cols]
            row = int(rng.integers(0, hi - lo))
            meta["fault_row"] = row + 1
            j = names.index("title") if "title" in names else names.index("brand")
            mask = np.zeros(hi - lo, dtype=bool)
            mask[row] = True
            cols[j] = _override(cols[j], mask, _join('"', cols[j]))
        lines = _join(_join(*cols, sep=","), "", sep=term)
        return bom + head + _string_bytes(lines)


def _url_prefix(source: Source) -> str:
    if source.slug == "reddit-watchexchange":
        return "https://www.reddit.com/r/watchexchange/comments/"
    if source.slug.startswith("ebay"):
        return f"https://www.{source.name}/itm/"
    return f"https://www.{source.name}/listing/"


_BASE36 = _strings(list("0123456789abcdefghijklmnopqrstuvwxyz"))


def _base36(values: np.ndarray) -> pa.Array:
    """Reddit-style ids (seven base-36 digits)."""
    digits = []
    v = np.asarray(values, dtype=np.int64)
    for _ in range(7):
        digits.append(_take(_BASE36, v % 36))
        v = v // 36
    return _join(*reversed(digits))


# --------------------------------------------------------------------------------------------------
# The public API
# --------------------------------------------------------------------------------------------------


def _csv_bytes(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _scrape_dates(end: date, weeks: int, seed: int) -> list[date]:
    """One scrape per ISO week, on its Saturday or Sunday; the last week is the week of ``end``."""
    rng = np.random.default_rng([seed, 0xDA7E])
    last_monday = end - timedelta(days=end.weekday())
    out = []
    for i in range(weeks):
        monday = last_monday - timedelta(weeks=weeks - 1 - i)
        out.append(monday + timedelta(days=6 if rng.random() < 0.65 else 5))
    if end.weekday() >= 5:  # an end date on a weekend is the last scrape date itself
        out[-1] = end
    return out


def simulate(
    out: str,
    weeks: int = 1,
    rows_per_week: int = 20_000,
    seed: int = 42,
    end_date: date | None = None,
    progress: ProgressCallback | None = None,
) -> dict[str, Any]:
    """Write ``weeks`` weekly scrape folders to ``out`` (a folder or ``s3://bucket/prefix``).

    Returns the manifest (also written to ``out/_simulator/manifest.json``). Per week (list
    ``weeks``): ``scrape_date``, ``market_week``, ``folder``, ``n_files``, ``n_sources``,
    ``files`` (``name``, ``source``, ``rows``, ``fault`` — ``missing_column``, ``zero_byte``,
    ``header_only``, ``unterminated_quote`` or null — ``bytes``, ``bom``, plus
    ``missing_columns`` / ``fault_row`` for those faults), ``rows_written`` (data rows in all
    files), ``rows_in_healthy_files``, ``rows_in_faulty_files`` (per file fault),
    ``bad_rows`` (per quarantine reason, healthy files only), ``bad_rows_total``,
    ``duplicates`` (``total``, ``same_file``, ``other_part``: extra copies dedup removes),
    ``outliers`` (injected), ``expected_loaded`` (= healthy rows - bad rows - duplicates) and
    ``persisting_listings`` (listings carried over from earlier weeks). ``progress`` receives
    one line per week.
    """
    if weeks < 1:
        raise ValueError("simulate: --weeks must be at least 1")
    if rows_per_week < 1:
        raise ValueError("simulate: --rows-per-week must be at least 1")
    if seed < 0:
        raise ValueError("simulate: --seed must be a non-negative integer")
    end = end_date or default_end_date()
    started = time.perf_counter()
    sim = _Simulator(seed, rows_per_week)
    dates = _scrape_dates(end, weeks, seed)
    writer = _Writer(out)
    try:
        week_columns: list[int] = []
        week_manifests: list[dict[str, Any]] = []
        for i, scrape_date in enumerate(dates):
            t0 = time.perf_counter()
            monday = scrape_date - timedelta(days=scrape_date.weekday())
            k = (monday - EPOCH).days // 7
            info = sim.week(k, scrape_date, writer.write)
            writer.flush()
            # the scraper's completion marker, written last, once every CSV of the folder is stored
            writer.write(f"{info['folder']}/{SUCCESS_MARKER}", b"")
            writer.flush()
            week_columns.append(k + PATH_WEEKS)
            week_manifests.append(info)
            if progress is not None:
                seconds = time.perf_counter() - t0
                written = info["rows_written"]
                progress(
                    f"week {i + 1}/{weeks} {info['folder']}: {written:,} rows in {info['n_files']} files "
                    f"from {info['n_sources']} sources, {seconds:.1f} s ({written / seconds:,.0f} rows/s)"
                )
        manifest = _manifest(sim, seed, weeks, rows_per_week, end, week_manifests)
        for name, data in _truth_files(sim, week_columns, dates) + _ledger_files(sim, manifest):
            writer.write(name, data)
        writer.flush()
    finally:
        writer.close()
    if progress is not None:
        total = manifest["totals"]["rows_written"]
        seconds = time.perf_counter() - started
        progress(f"done: {total:,} rows in {seconds:.1f} s ({total / seconds:,.0f} rows/s) -> {out}")
    return manifest


class _Writer:
    """Writes files under a local or S3 root as soon as they are ready (S3: a few uploads at once)."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.pending: list[Any] = []
        self.executor = None
        if storage.is_s3(root):
            from concurrent.futures import ThreadPoolExecutor

            self.executor = ThreadPoolExecutor(max_workers=8)

    def write(self, name: str, data: bytes) -> None:
        uri = storage.join(self.root, name)
        if self.executor is None:
            storage.write_bytes(uri, data)
        else:
            self.pending.append(self.executor.submit(storage.write_bytes, uri, data))

    def flush(self) -> None:
        pending, self.pending = self.pending, []
        for future in pending:
            future.result()

    def close(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=True)


def _manifest(
    sim: _Simulator,
    seed: int,
    weeks: int,
    rows_per_week: int,
    end: date,
    week_manifests: list[dict[str, Any]],
) -> dict[str, Any]:
    uni = sim.uni
    totals: dict[str, Any] = {
        key: sum(w[key] for w in week_manifests)
        for key in ("rows_written", "rows_in_healthy_files", "bad_rows_total", "outliers", "expected_loaded")
    }
    totals["duplicates"] = sum(w["duplicates"]["total"] for w in week_manifests)
    totals["bad_rows"] = {r: sum(w["bad_rows"][r] for w in week_manifests) for r in REASONS}
    totals["rows_in_faulty_files"] = {f: sum(w["rows_in_faulty_files"][f] for w in week_manifests) for f in FILE_FAULTS}
    return {
        "generator": "ingest.devtools.simulate",
        "format_version": 1,
        "seed": seed,
        "n_weeks": weeks,
        "rows_per_week": rows_per_week,
        "end_date": end.isoformat(),
        "n_sources": len(sim.sources),
        "catalog": {
            "brands": len(set(np.array(uni.brand)[uni.in_catalog])),
            "parent_models": len({(b, p) for b, p, c in zip(uni.brand, uni.parent, uni.in_catalog, strict=True) if c}),
            "references": int(uni.in_catalog.sum()),
            "long_tail_references": int((~uni.in_catalog).sum()),
        },
        "rates": {
            "bad_rows": BAD_ROW_RATES,
            "duplicates": DUPLICATE_RATE,
            "outliers": OUTLIER_RATE,
            "premium_sigma": PREMIUM_SIGMA,
            "noise_sigma": NOISE_SIGMA,
            "new_premium_by_brand": {
                b: round(float(p), 6) for b, p in zip(uni.brands, sim.levels.new_premium, strict=True)
            },
        },
        "ledgers": {
            "truth_weekly": f"{SIMULATOR_FOLDER}/truth_weekly.csv",
            "truth_references": f"{SIMULATOR_FOLDER}/truth_references.csv",
            "truth_liquidity": f"{SIMULATOR_FOLDER}/truth_liquidity.csv",
            "truth_brand_index": f"{SIMULATOR_FOLDER}/truth_brand_index.csv",
            "bad_rows": f"{SIMULATOR_FOLDER}/bad_rows.csv",
            "duplicates": f"{SIMULATOR_FOLDER}/duplicates.csv",
            "outliers": f"{SIMULATOR_FOLDER}/outliers.csv",
        },
        "totals": totals,
        "weeks": week_manifests,
    }


def _truth_files(sim: _Simulator, week_columns: list[int], dates: list[date]) -> list[tuple[str, bytes]]:
    uni, paths, levels = sim.uni, sim.paths, sim.levels
    medians = np.exp(paths.log_price[:, week_columns])
    preowned_medians = medians * np.exp(levels.log_offset[:, [0]])
    new_medians = medians * np.exp(levels.log_offset[:, [1]])
    mondays = [(d - timedelta(days=d.weekday())).isoformat() for d in dates]
    flows = sim.flows

    def flow(w: int, i: int, r: int) -> str:
        return "" if w == 0 else str(int(flows[w][i][r]))  # the first week has no week before

    weekly = [
        [
            uni.brand[r],
            uni.canonical[r],
            monday,
            f"{medians[r, w]:.2f}",
            f"{new_medians[r, w]:.2f}",
            f"{preowned_medians[r, w]:.2f}",
            str(int(flows[w][1][r])),
            flow(w, 2, r),
            flow(w, 3, r),
            flow(w, 4, r),
        ]
        for r in range(len(uni.base))
        for w, monday in enumerate(mondays)
    ]
    first, last = week_columns[0], week_columns[-1]
    drift = paths.drift[:, first + 1 : last + 1].mean(axis=1) if last > first else paths.drift[:, last]
    references = [
        [
            uni.brand[r],
            uni.canonical[r],
            uni.parent[r],
            uni.specific[r],
            f"{drift[r]:.6f}",
            f"{paths.volatility[r]:.6f}",
            "true" if uni.in_catalog[r] else "false",
            f"{levels.new_premium[uni.brand_idx[r]]:.6f}",
            f"{levels.new_share[r]:.6f}",
        ]
        for r in range(len(uni.base))
    ]
    return [
        (
            f"{SIMULATOR_FOLDER}/truth_weekly.csv",
            _csv_bytes(
                (
                    "brand",
                    "reference_number",
                    "market_week",
                    "true_median_usd",
                    "true_new_median_usd",
                    "true_preowned_median_usd",
                    "true_n_listed",
                    "true_n_continuing",
                    "true_n_ended",
                    "true_n_cut",
                ),
                weekly,
            ),
        ),
        (
            f"{SIMULATOR_FOLDER}/truth_liquidity.csv",
            _csv_bytes(
                ("brand", "reference_number", "market_week", "true_median_weeks_on_market", "true_n_spells"),
                _true_weeks_on_market(sim, mondays[-1]),
            ),
        ),
        (
            f"{SIMULATOR_FOLDER}/truth_brand_index.csv",
            _csv_bytes(("brand", "market_week", "true_index"), _true_brand_index(sim, week_columns, mondays)),
        ),
        (
            f"{SIMULATOR_FOLDER}/truth_references.csv",
            _csv_bytes(
                (
                    "brand",
                    "reference_number",
                    "parent_model",
                    "specific_model",
                    "annual_drift",
                    "annual_volatility",
                    "in_catalog",
                    "new_premium",
                    "new_share",
                ),
                references,
            ),
        ),
    ]


def _true_weeks_on_market(sim: _Simulator, monday: str) -> list[list[str]]:
    """Per reference, the Kaplan-Meier median weeks on market at the last week over the true
    spells that began in the last SPELL_WINDOW_WEEKS weeks: a listing is online from its first week
    to its last; those still listed (online or waiting for their source) are censored."""
    k = sim.flows[-1][0]
    pool = sim.pool.cols
    parts = [(r, f, last, np.ones(len(r), dtype=bool)) for r, f, last in sim.ended_spells]
    parts.append((pool["ref"], pool["first"], pool["last"], np.zeros(len(pool["ref"]), dtype=bool)))
    ref = np.concatenate([p[0] for p in parts])
    first = np.concatenate([p[1] for p in parts])
    age = np.concatenate([p[2] for p in parts]) - first + 1
    ended = np.concatenate([p[3] for p in parts])
    taken = first > k - SPELL_WINDOW_WEEKS
    ref, age, ended = ref[taken], age[taken], ended[taken]
    n_refs = len(sim.uni.base)
    max_age = SPELL_WINDOW_WEEKS
    # counts per (reference, age): all spells and the ended ones
    spells = np.zeros((n_refs, max_age + 2), dtype=np.int64)
    ends = np.zeros_like(spells)
    np.add.at(spells, (ref, age), 1)
    np.add.at(ends, (ref, age), ended.astype(np.int64))
    at_risk = spells[:, ::-1].cumsum(axis=1)[:, ::-1]  # spells of age >= a
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(at_risk > 0, 1.0 - ends / np.maximum(at_risk, 1), 1.0)
    survival = np.cumprod(factor[:, 1:], axis=1)  # S(1), S(2), ...
    below = survival <= 0.5 + 1e-12
    out = []
    for r in np.flatnonzero(spells.sum(axis=1)):
        median = str(int(np.argmax(below[r])) + 1) if below[r].any() else ""
        out.append([sim.uni.brand[r], sim.uni.canonical[r], monday, median, str(int(spells[r].sum()))])
    return out


def _true_brand_index(sim: _Simulator, week_columns: list[int], mondays: list[str]) -> list[list[str]]:
    """Per brand and week, the chained Jevons index of the true reference paths: the links over the
    references with at least 5 listings in both weeks (1 below 3 such references), 100 at the first
    week; the brand's price path that the published index estimates."""
    uni = sim.uni
    log_price = sim.paths.log_price[:, week_columns]
    listed = np.stack([f[1] for f in sim.flows], axis=1)  # (references, weeks)
    out = []
    for b, brand in enumerate(uni.brands):
        refs = np.flatnonzero(uni.brand_idx == b)
        index = 100.0
        for w, monday in enumerate(mondays):
            if w:
                matched = refs[(listed[refs, w] >= 5) & (listed[refs, w - 1] >= 5)]
                if len(matched) >= 3:
                    index *= math.exp(float(np.mean(log_price[matched, w] - log_price[matched, w - 1])))
            out.append([brand, monday, f"{index:.6f}"])
    return out


def _ledger_files(sim: _Simulator, manifest: dict[str, Any]) -> list[tuple[str, bytes]]:
    where = ("scrape_date", "file", "row", "line", "source", "listing_id")
    return [
        (f"{SIMULATOR_FOLDER}/bad_rows.csv", _csv_bytes((*where, "reason"), sim.ledger_bad)),
        (
            f"{SIMULATOR_FOLDER}/duplicates.csv",
            _csv_bytes((*where, "scraped_at", "kind", "winner"), sim.ledger_dups),
        ),
        (
            f"{SIMULATOR_FOLDER}/outliers.csv",
            _csv_bytes((*where, "brand", "reference_number", "factor"), sim.ledger_outliers),
        ),
        (
            f"{SIMULATOR_FOLDER}/manifest.json",
            (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8"),
        ),
    ]


# --------------------------------------------------------------------------------------------------
# Command line (wired into ``ingest simulate`` by ingest.cli)
# --------------------------------------------------------------------------------------------------


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {text}")
    return value


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text}") from exc


def add_simulate_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``ingest simulate``."""
    parser.add_argument(
        "--out",
        default=None,
        help="destination: a folder or s3://bucket/prefix (default: the RAW_ROOT setting)",
    )
    parser.add_argument("--weeks", type=_positive_int, default=1, help="number of weekly scrapes (default 1)")
    parser.add_argument(
        "--rows-per-week",
        type=_positive_int,
        default=20_000,
        help="data rows per weekly scrape (default 20000)",
    )
    parser.add_argument("--seed", type=_non_negative_int, default=42, help="random seed (default 42)")
    parser.add_argument(
        "--end-date",
        type=_iso_date,
        default=None,
        help="a date in the last simulated ISO week (default: the last completed week)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines (the one-line summary only)")


def run_simulate_command(args: argparse.Namespace) -> int:
    """Run ``ingest simulate``; progress goes to stderr, a one-line summary to stdout."""
    out = args.out
    if not out:
        from ingest.settings import get_settings

        out = get_settings().raw_root

    def report(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    try:
        progress = None if getattr(args, "quiet", False) else report
        manifest = simulate(out, args.weeks, args.rows_per_week, args.seed, args.end_date, progress=progress)
    except (ValueError, OSError) as exc:
        print(f"simulate: {exc}", file=sys.stderr)
        return 1
    totals = manifest["totals"]
    print(
        f"simulated {manifest['n_weeks']} week(s) to {out}: {totals['rows_written']:,} rows, "
        f"{totals['expected_loaded']:,} expected to load"
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ingest.devtools.simulate", description=__doc__.splitlines()[0])
    add_simulate_arguments(parser)
    return run_simulate_command(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
