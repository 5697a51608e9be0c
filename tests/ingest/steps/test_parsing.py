"""The scalar parsers and the vectorised timestamp parser pin the forms of docs/input-format.md."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from ingest.steps.parsing import (
    CONDITION_CATEGORIES,
    NEW_CATEGORIES,
    PREOWNED_CATEGORIES,
    SUPPORTED_CURRENCIES,
    CurrencyParse,
    PriceParse,
    brand_key,
    canonical_reference,
    clean_model_name,
    map_unique,
    parse_condition,
    parse_currency,
    parse_price,
    parse_prices,
    parse_timestamps,
    resolve_brand,
    resolve_currency,
)

# --------------------------------------------------------------------------------------------------
# Prices
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "amount", "currency"),
    [
        # Every form of the price column in docs/input-format.md.
        ("12500", 12500.0, None),
        ("12,500", 12500.0, None),
        ("12.500,00", 12500.0, None),
        ("12 500", 12500.0, None),
        ("12\u00a0500", 12500.0, None),
        ("12\u202f500", 12500.0, None),
        ("12'500.-", 12500.0, None),
        ("CHF 12\u2019500.00", 12500.0, "CHF"),
        ("$12,500", 12500.0, "USD"),
        ("€ 9.800", 9800.0, "EUR"),
        ("1.234,50 €", 1234.5, "EUR"),
        ("¥1,850,000", 1850000.0, "JPY"),
        ("\uffe51,850,000", 1850000.0, "JPY"),
        ("76万円", 760000.0, "JPY"),
        ("$12.5k", 12500.0, "USD"),
        # The separator rules of the contract, one by one.
        ("12,500.50", 12500.5, None),
        ("12.5K", 12500.0, None),
        ("12.500", 12500.0, None),
        ("9'800", 9800.0, None),
        ("9\u2019800", 9800.0, None),
        ("12,5", 12.5, None),
        ("12.50", 12.5, None),
        ("1,234,567.89", 1234567.89, None),
        ("1.234.567,89", 1234567.89, None),
        ("1 234 567,89", 1234567.89, None),
        ("12'500.00", 12500.0, None),
        ("12.500,-", 12500.0, None),
        ("7.6万", 76000.0, None),
        ("12k", 12000.0, None),
        ("0", 0.0, None),
        ("0.00", 0.0, None),
        # ISO codes and symbols written in the price, as prefix or suffix, any case.
        ("USD 12,500", 12500.0, "USD"),
        ("usd12500", 12500.0, "USD"),
        ("12500 EUR", 12500.0, "EUR"),
        ("12500eur", 12500.0, "EUR"),
        ("12 500 €", 12500.0, "EUR"),
        ("£8,250", 8250.0, "GBP"),
        ("8,250 GBP", 8250.0, "GBP"),
        ("US$12,500", 12500.0, "USD"),
        ("US $12,500.00", 12500.0, "USD"),
        ("HK$98,000", 98000.0, "HKD"),
        ("HKD 98,000", 98000.0, "HKD"),
        ("S$17,000", 17000.0, "SGD"),
        ("A$19,900", 19900.0, "AUD"),
        ("AU$19,900", 19900.0, "AUD"),
        ("C$16,500", 16500.0, "CAD"),
        ("CA$16,500", 16500.0, "CAD"),
        ("CN¥88,000", 88000.0, "CNY"),
        ("88,000元", 88000.0, "CNY"),
        ("RMB 88,000", 88000.0, "CNY"),
        ("Fr. 12'500.-", 12500.0, "CHF"),
        ("SFr. 12'500.-", 12500.0, "CHF"),
        ("12'500.- CHF", 12500.0, "CHF"),
        ("1,850,000円", 1850000.0, "JPY"),
        ("¥76万", 760000.0, "JPY"),
        ("  $12,500  ", 12500.0, "USD"),
        ("$12,500 USD", 12500.0, "USD"),
        # A real ISO code outside the ten supported is recognised (resolve_currency rejects it).
        ("SEK 125 000", 125000.0, "SEK"),
    ],
)
def test_parse_price_reads_every_contract_form(text: str, amount: float, currency: str | None) -> None:
    assert parse_price(text) == PriceParse(amount, currency, None)


@pytest.mark.parametrize("text", [None, "", "   ", "\u00a0", "\t\n"])
def test_parse_price_empty_is_no_price(text: str | None) -> None:
    assert parse_price(text) == PriceParse(None, None, "no_price")


@pytest.mark.parametrize(
    "text",
    [
        "POA",
        "poa",
        "P.O.A.",
        "p.o.a",
        "Price on request",
        "PRICE ON REQUEST",
        "On request",
        "Price upon request",
        "Call",
        "Call for price",
        "call us",
        "Contact for price",
        "Contact seller",
        "Ask",
        "Ask for price",
        "Price on application",
        "Enquire",
        "Auf Anfrage",
    ],
)
def test_parse_price_on_request(text: str) -> None:
    assert parse_price(text) == PriceParse(None, None, "price_on_request")


@pytest.mark.parametrize(
    "text",
    [
        "12,50,0",
        "1.2.3",
        "12..5",
        "12,,500",
        "1.234.56",
        "1,234,56",
        "1234.567",
        "12.5000",
        "0,500",
        "1,2345",
        "12500.",
        ".50",
        "abc",
        "twelve thousand",
        "12500abc",
        "12500 XYZ",
        "12500 13000",
        "12,500 - 13,000",
        "12,500 / 13,000",
        "-12500",
        "-$12,500",
        "$",
        "USD",
        "1'234\u2019567",
        "12.5M",
        "Asking 12500",
    ],
)
def test_parse_price_rejects_invalid_numbers(text: str) -> None:
    assert parse_price(text) == PriceParse(None, None, "unparseable_price")


@pytest.mark.parametrize("text", ["$12,500 EUR", "€12.500 USD", "HK$ 98,000 USD", "¥1,850,000 CNY"])
def test_parse_price_two_different_currencies_are_unparseable(text: str) -> None:
    # Only the three textual reasons come out of parse_price; the column-vs-symbol conflict is
    # resolve_currency's.
    assert parse_price(text) == PriceParse(None, None, "unparseable_price")


def test_parse_price_longest_symbol_wins() -> None:
    assert parse_price("HK$1,000").symbol_currency == "HKD"
    assert parse_price("S$1,000").symbol_currency == "SGD"
    assert parse_price("A$1,000").symbol_currency == "AUD"
    assert parse_price("C$1,000").symbol_currency == "CAD"
    assert parse_price("CN¥1,000").symbol_currency == "CNY"
    assert parse_price("$1,000").symbol_currency == "USD"
    assert parse_price("¥1,000").symbol_currency == "JPY"


def test_parse_price_decimal_amounts_are_exact() -> None:
    assert parse_price("0.07k").amount == 70.0
    assert parse_price("1.234,56").amount == 1234.56
    assert parse_price("12,500.01").amount == 12500.01


_PRICE_TEMPLATES = [
    "12500",
    "12,500",
    "12.500,00",
    "12 500",
    "12\u00a0500",
    "12\u202f500",
    "12'500.-",
    "CHF 12\u2019500.00",
    "$12,500",
    "€ 9.800",
    "1.234,50 €",
    "¥1,850,000",
    "￥1,850,000",
    "76万円",
    "$12.5k",
    "12,500.50 USD",
    "US $12,500",
    "HK$ 98,000",
    "12.500,-",
    "0.07k",
    "0",
    "00500",
    "0,500",
    "1,500",
    "1.234.56",
    "12,50,0",
    "-12500",
    "$12,500 EUR",
    "12500 XYZ",
    "POA",
    "Price on request",
    "Call",
    "",
    "  ",
    "１２,５００",
    "12²",
    "٣٠٠٠",
    "99999999999999999999",
    "9999999999999999",
    "1234567890123456.5",
    "99999999999999万",
    "12345678901.25k",
    "99999999999.99万",
    "Asking 12500",
    "12.5M",
]


def test_parse_prices_matches_parse_price_row_for_row() -> None:
    # The vectorised column parser (by price shape) must give exactly the scalar parser's results.
    rng = np.random.default_rng(7)
    values: list[str | None] = [None, *_PRICE_TEMPLATES]
    for _ in range(3000):
        template = _PRICE_TEMPLATES[rng.integers(len(_PRICE_TEMPLATES))]
        values.append("".join(str(rng.integers(10)) if ch.isascii() and ch.isdigit() else ch for ch in template))
    column = pa.array(["skipped", *values], pa.string()).slice(1)  # a slice: non-zero offset
    parsed = parse_prices(column)
    symbols = parsed.symbol_currency.to_pylist()
    for i, text in enumerate(values):
        expected = parse_price(text)
        got_amount = None if np.isnan(parsed.amount[i]) else float(parsed.amount[i])
        assert (got_amount, symbols[i] or None, parsed.reason[i]) == tuple(expected), text


# --------------------------------------------------------------------------------------------------
# Currencies
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code"),
    [
        # Every form of the currency column in docs/input-format.md.
        ("USD", "USD"),
        ("usd", "USD"),
        ("$", "USD"),
        ("US$", "USD"),
        ("EUR", "EUR"),
        ("€", "EUR"),
        ("GBP", "GBP"),
        ("£", "GBP"),
        ("CHF", "CHF"),
        ("Fr.", "CHF"),
        ("JPY", "JPY"),
        ("¥", "JPY"),
        ("HKD", "HKD"),
        ("HK$", "HKD"),
        ("SGD", "SGD"),
        ("S$", "SGD"),
        ("AUD", "AUD"),
        ("A$", "AUD"),
        ("CAD", "CAD"),
        ("C$", "CAD"),
        ("CNY", "CNY"),
        # Other spellings.
        ("RMB", "CNY"),
        ("元", "CNY"),
        ("円", "JPY"),
        ("\uffe5", "JPY"),
        (" Eur ", "EUR"),
        ("chf", "CHF"),
        ("hk$", "HKD"),
        ("AU$", "AUD"),
        ("CA$", "CAD"),
        ("CN¥", "CNY"),
        ("SFr.", "CHF"),
        ("US $", "USD"),
    ],
)
def test_parse_currency_known_forms(text: str, code: str) -> None:
    assert parse_currency(text) == CurrencyParse(code, True)


@pytest.mark.parametrize("text", [None, "", "  "])
def test_parse_currency_empty_is_allowed(text: str | None) -> None:
    assert parse_currency(text) == CurrencyParse(None, True)


@pytest.mark.parametrize("text", ["BTC", "XYZ", "dollars?", "SEK", "NZ$", "US", "12", "USD EUR"])
def test_parse_currency_anything_else_is_unknown(text: str) -> None:
    assert parse_currency(text) == CurrencyParse(None, False)


@pytest.mark.parametrize(
    ("column", "price", "expected"),
    [
        ("USD", "$12,500", ("USD", None)),
        ("usd", "12500", ("USD", None)),
        ("", "$12,500", ("USD", None)),
        (None, "¥1,850,000", ("JPY", None)),
        ("€", "1.234,50 €", ("EUR", None)),
        ("HKD", "HK$98,000", ("HKD", None)),
        ("CHF", "12'500.-", ("CHF", None)),
        # Conflicts: a symbol in the price disagrees with the column.
        ("EUR", "$12,500", (None, "currency_conflict")),
        ("USD", "HK$98,000", (None, "currency_conflict")),
        ("CNY", "¥1,850,000", (None, "currency_conflict")),
        ("GBP", "12500 EUR", (None, "currency_conflict")),
        # Unknown: the column is not a supported currency, or no currency anywhere.
        ("BTC", "12500", (None, "unknown_currency")),
        ("XYZ", "$12,500", (None, "unknown_currency")),
        ("", "12500", (None, "unknown_currency")),
        (None, "12500", (None, "unknown_currency")),
        ("", "SEK 125 000", (None, "unknown_currency")),
    ],
)
def test_resolve_currency(column: str | None, price: str, expected: tuple[str | None, str | None]) -> None:
    parsed = parse_price(price)
    assert parsed.reason is None
    assert resolve_currency(parse_currency(column), parsed.symbol_currency) == expected


def test_resolve_currency_rejects_unsupported_codes() -> None:
    assert resolve_currency(CurrencyParse("SEK", True), None) == (None, "unknown_currency")
    assert resolve_currency(CurrencyParse(None, True), "NZD") == (None, "unknown_currency")
    for code in SUPPORTED_CURRENCIES:
        assert resolve_currency(CurrencyParse(code, True), code) == (code, None)


# --------------------------------------------------------------------------------------------------
# Conditions
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "category"),
    [
        # Every raw value of the docs/metrics.md table.
        ("New", "new"),
        ("Brand new", "new"),
        ("Unworn", "unworn"),
        ("Mint", "unworn"),
        ("Very good", "very_good"),
        ("Like new", "very_good"),
        ("Excellent", "very_good"),
        ("Good", "good"),
        ("Fair", "fair"),
        ("Poor", "poor"),
        ("Incomplete", "incomplete"),
        ("For parts", "incomplete"),
        ("Used", "preowned_unspecified"),
        ("Pre-owned", "preowned_unspecified"),
        ("Preowned", "preowned_unspecified"),
        ("", "unknown"),
        (None, "unknown"),
        # Case, spacing, parentheses, trailing words.
        ("Very good (Worn with little to no signs of wear)", "very_good"),
        ("Unworn (Mint condition, without signs of wear)", "unworn"),
        ("New (Brand new, without any signs of wear)", "new"),
        ("Good (Light signs of wear)", "good"),
        ("Fair (Obvious signs of wear)", "fair"),
        ("Poor (Heavily worn)", "poor"),
        ("Incomplete (Watch only, no box)", "incomplete"),
        ("(Box and papers) Excellent", "very_good"),
        ("NEW", "new"),
        ("brand-new", "new"),
        ("  very   GOOD ", "very_good"),
        ("Pre owned", "preowned_unspecified"),
        ("PRE-OWNED", "preowned_unspecified"),
        ("Used - good", "preowned_unspecified"),
        ("Mint condition", "unworn"),
        ("Excellent+", "very_good"),
        ("New, with box", "new"),
        ("For parts / repair", "incomplete"),
        ("Like-new", "very_good"),
        # Leading-word match only.
        ("Newish", "unknown"),
        ("Goodish", "unknown"),
        ("Not new", "unknown"),
        ("Near mint", "unknown"),
        ("Refurbished", "unknown"),
        ("N/A", "unknown"),
        ("   ", "unknown"),
    ],
)
def test_parse_condition(text: str | None, category: str) -> None:
    assert parse_condition(text) == category


def test_condition_category_sets() -> None:
    assert CONDITION_CATEGORIES == (
        "new",
        "unworn",
        "very_good",
        "good",
        "fair",
        "poor",
        "incomplete",
        "preowned_unspecified",
        "unknown",
    )
    assert NEW_CATEGORIES == ("new",)
    assert set(PREOWNED_CATEGORIES) == set(CONDITION_CATEGORIES) - {"new", "unknown"}
    assert len(PREOWNED_CATEGORIES) == 7


# --------------------------------------------------------------------------------------------------
# Brands, references, model names
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Rolex", "rolex"),
        ("ROLEX ", "rolex"),
        ("rolex", "rolex"),
        ("Patek", "patek"),
        ("Patek Philippe", "patek philippe"),
        ("patek-philippe", "patek philippe"),
        ("AP", "ap"),
        ("Audemars Piguet", "audemars piguet"),
        ("JLC", "jlc"),
        ("Jaeger-LeCoultre", "jaeger lecoultre"),
        ("A. Lange & Söhne", "a lange & sohne"),
        ("A. Lange & Sohne", "a lange & sohne"),
        ("A.Lange&Söhne", "a lange & sohne"),
        ("Tudor\u00a0", "tudor"),
        ("Hermès", "hermes"),
        ("Panerai, Officine", "panerai officine"),
        ("O'Neil", "o neil"),
        ("", ""),
        (None, ""),
    ],
)
def test_brand_key(text: str | None, key: str) -> None:
    assert brand_key(text) == key


ALIASES = {
    brand_key(alias): canonical
    for alias, canonical in [
        ("Rolex", "Rolex"),
        ("Patek", "Patek Philippe"),
        ("Patek Philippe", "Patek Philippe"),
        ("AP", "Audemars Piguet"),
        ("Audemars Piguet", "Audemars Piguet"),
        ("JLC", "Jaeger-LeCoultre"),
        ("A. Lange & Söhne", "A. Lange & Söhne"),
    ]
}


@pytest.mark.parametrize(
    ("text", "brand"),
    [
        ("Rolex", "Rolex"),
        ("ROLEX ", "Rolex"),
        ("rolex", "Rolex"),
        ("Patek", "Patek Philippe"),
        ("Patek Philippe", "Patek Philippe"),
        ("AP", "Audemars Piguet"),
        ("Audemars Piguet", "Audemars Piguet"),
        ("JLC", "Jaeger-LeCoultre"),
        ("A. Lange & Söhne", "A. Lange & Söhne"),
        ("A. Lange & Sohne", "A. Lange & Söhne"),
        # Not in the map: whitespace collapsed, words capitalised.
        ("grand  seiko ", "Grand Seiko"),
        ("GRAND SEIKO", "Grand Seiko"),
        ("Grand Seiko", "Grand Seiko"),
        ("", None),
        ("   ", None),
        (None, None),
    ],
)
def test_resolve_brand(text: str | None, brand: str | None) -> None:
    assert resolve_brand(text, ALIASES) == brand


@pytest.mark.parametrize(
    ("text", "reference"),
    [
        # Every reference form of docs/input-format.md.
        ("126500LN", "126500LN"),
        ("126500 LN", "126500LN"),
        ("126500-LN", "126500LN"),
        ("Ref. 126500LN", "126500LN"),
        ("ref 126500ln", "126500LN"),
        ("5711/1A-010", "5711/1A010"),
        ("310.30.42.50.01.001", "310.30.42.50.01.001"),
        # Other prefixes and separators.
        ("Ref 126500LN", "126500LN"),
        ("REF.126500LN", "126500LN"),
        ("Reference 126500LN", "126500LN"),
        ("reference: 126500LN", "126500LN"),
        ("Ref: 126500LN", "126500LN"),
        ("Ref #126500LN", "126500LN"),
        ("Ref. No. 5711/1A-010", "5711/1A010"),
        ("#126500LN", "126500LN"),
        ("126500\u00a0LN", "126500LN"),
        ("126500\u202fLN", "126500LN"),
        ("  126500 - LN  ", "126500LN"),
        ("126500LN.", "126500LN"),
        ("ＲＥＦ 126500ＬＮ", "126500LN"),
        ("15202ST.OO.1240ST.01", "15202ST.OO.1240ST.01"),
        # Not a prefix: letters that merely start with REF stay.
        ("REFX1", "REFX1"),
        ("", None),
        ("   ", None),
        ("Ref.", None),
        ("-", None),
        (None, None),
    ],
)
def test_canonical_reference(text: str | None, reference: str | None) -> None:
    assert canonical_reference(text) == reference


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Daytona", "Daytona"),
        ("  Cosmograph   Daytona\u00a0Panda ", "Cosmograph Daytona Panda"),
        ("", None),
        ("  ", None),
        (None, None),
    ],
)
def test_clean_model_name(text: str | None, name: str | None) -> None:
    assert clean_model_name(text) == name


# --------------------------------------------------------------------------------------------------
# Timestamps
# --------------------------------------------------------------------------------------------------


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


TIMESTAMP_CASES = [
    # The three forms of docs/input-format.md.
    ("2026-11-14", utc(2026, 11, 14)),
    ("2026-11-14T22:03:11Z", utc(2026, 11, 14, 22, 3, 11)),
    ("2026-11-14 22:03:11+01:00", utc(2026, 11, 14, 21, 3, 11)),
    # Naive, fractional seconds, other offsets, spaces.
    ("2026-11-14T22:03:11", utc(2026, 11, 14, 22, 3, 11)),
    ("2026-11-14 22:03:11", utc(2026, 11, 14, 22, 3, 11)),
    ("2026-11-14T22:03:11.5Z", utc(2026, 11, 14, 22, 3, 11, 500000)),
    ("2026-11-14T22:03:11.123456Z", utc(2026, 11, 14, 22, 3, 11, 123456)),
    ("2026-11-14T22:03:11.123", utc(2026, 11, 14, 22, 3, 11, 123000)),
    ("2026-11-14T22:03:11.123456789Z", utc(2026, 11, 14, 22, 3, 11, 123456)),
    ("2026-11-14T22:03:11,25Z", utc(2026, 11, 14, 22, 3, 11, 250000)),
    ("2026-11-14T22:03:11-05:00", utc(2026, 11, 15, 3, 3, 11)),
    ("2026-11-15T00:30:00+01:00", utc(2026, 11, 14, 23, 30)),
    ("2026-11-14T22:03:11+0530", utc(2026, 11, 14, 16, 33, 11)),
    ("2026-11-14T22:03:11+09", utc(2026, 11, 14, 13, 3, 11)),
    ("2026-11-14T22:03:11+00:00", utc(2026, 11, 14, 22, 3, 11)),
    ("2026-11-14T22:03Z", utc(2026, 11, 14, 22, 3)),
    ("2026-11-14 22:03", utc(2026, 11, 14, 22, 3)),
    ("  2026-11-14T22:03:11Z  ", utc(2026, 11, 14, 22, 3, 11)),
    (" 2026-11-14 ", utc(2026, 11, 14)),
    ("2026-11-14t22:03:11z", utc(2026, 11, 14, 22, 3, 11)),
    ("2026-11-14 22:03:11 UTC", utc(2026, 11, 14, 22, 3, 11)),
    ("2026-11-14 22:03:11 +01:00", utc(2026, 11, 14, 21, 3, 11)),
    ("2024-02-29", utc(2024, 2, 29)),
    ("2000-02-29T12:00:00Z", utc(2000, 2, 29, 12)),
]

BAD_TIMESTAMPS = [
    None,
    "",
    "   ",
    "garbage",
    "14/11/2026",
    "2026-11-14T",
    "2026/11/14",
    "20261114",
    "2026-11-14T22",
    "2026-13-01",
    "2026-00-10",
    "2026-11-31",
    "2026-02-29",
    "2026-02-30T10:00:00Z",
    "1900-02-29",
    "2026-11-14T24:00:00Z",
    "2026-11-14T22:60:00",
    "2026-11-14T22:03:61Z",
    "2026-11-14T22:03:11+25:00",
    "2026-11-14T22:03:11+01:60",
    "2026-11-14T22:03:11 EST",
    "2026-11-14 and more",
    "Nov 14, 2026",
]


def test_parse_timestamps_forms() -> None:
    texts = [text for text, _ in TIMESTAMP_CASES]
    result = parse_timestamps(texts)
    assert result.type == pa.timestamp("us", tz="UTC")
    assert result.to_pylist() == [instant for _, instant in TIMESTAMP_CASES]


def test_parse_timestamps_bad_values_are_null_and_never_raise() -> None:
    result = parse_timestamps(BAD_TIMESTAMPS)
    assert result.to_pylist() == [None] * len(BAD_TIMESTAMPS)


def test_parse_timestamps_mixed_good_and_bad_keep_positions() -> None:
    texts = []
    expected = []
    for (text, instant), bad in zip(TIMESTAMP_CASES, BAD_TIMESTAMPS, strict=False):
        texts += [text, bad]
        expected += [instant, None]
    assert parse_timestamps(pa.array(texts, pa.string())).to_pylist() == expected


def test_parse_timestamps_accepts_arrow_pandas_and_lists() -> None:
    texts = ["2026-11-14", None, "2026-11-14T22:03:11Z", "nope"]
    expected = [utc(2026, 11, 14), None, utc(2026, 11, 14, 22, 3, 11), None]
    assert parse_timestamps(texts).to_pylist() == expected
    assert parse_timestamps(pa.chunked_array([texts[:2], texts[2:]])).to_pylist() == expected
    assert parse_timestamps(pa.array(texts).dictionary_encode()).to_pylist() == expected
    assert parse_timestamps(pd.Series(texts, dtype=object)).to_pylist() == expected
    assert parse_timestamps(pa.array([], pa.string())).to_pylist() == []


# --------------------------------------------------------------------------------------------------
# map_unique
# --------------------------------------------------------------------------------------------------


class CountingFn:
    def __init__(self) -> None:
        self.calls: list[str | None] = []

    def __call__(self, value: str | None) -> PriceParse:
        self.calls.append(value)
        return parse_price(value)


VALUES = ["$12,500", "POA", "$12,500", None, "12.500,00", "POA", "$12,500", None]


@pytest.mark.parametrize(
    "values",
    [
        pytest.param(pa.array(VALUES, pa.string()), id="arrow"),
        pytest.param(pa.chunked_array([VALUES[:3], VALUES[3:]], pa.string()), id="chunked"),
        pytest.param(pa.array(VALUES, pa.string()).dictionary_encode(), id="dictionary"),
        pytest.param(pd.Series(VALUES, dtype=object), id="pandas-object"),
        pytest.param(pd.Series(VALUES, dtype="string"), id="pandas-string"),
        pytest.param(VALUES, id="list"),
    ],
)
def test_map_unique_calls_once_per_distinct_value(values: object) -> None:
    fn = CountingFn()
    codes, results = map_unique(values, fn)
    assert sorted(fn.calls, key=str) == sorted(["$12,500", "POA", None, "12.500,00"], key=str)
    assert isinstance(codes, np.ndarray)
    assert len(codes) == len(VALUES)
    assert [results[code] for code in codes] == [parse_price(v) for v in VALUES]
    amounts = np.array([r.amount if r.amount is not None else np.nan for r in results])[codes]
    np.testing.assert_array_equal(amounts, [12500, np.nan, 12500, np.nan, 12500, np.nan, 12500, np.nan])


def test_map_unique_without_nulls_does_not_call_with_none() -> None:
    fn = CountingFn()
    codes, results = map_unique(pa.array(["a", "b", "a"]), fn)
    assert None not in fn.calls
    assert len(results) == 2
    assert codes.tolist() == [0, 1, 0]


_HEAD = "scraped_at,brand,reference_number,price,currency,condition,listing_id,source"
_ROW = "2026-11-21,Rolex,126610LN,12500,USD,New,"  # the fixed fields before listing_id and source


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        (f'{_HEAD}\n{_ROW}1,"a"\n{_ROW}2,"b"\n{_ROW}3,c\n', [2, 3, 4]),  # quotes, no newline in one
        (f'{_HEAD}\n{_ROW}1,"a\nb"\n{_ROW}2,c\n{_ROW}3,d\n', [2, 4, 5]),  # a newline in a quoted value
        (f'{_HEAD}\n{_ROW}1,"a\nb"\n{_ROW}2,c', [2, 4]),  # ... and none at the end of the file
        (f'{_HEAD}\r\n{_ROW}1,"x"\r\n{_ROW}2,"y\r\nz"\r\n{_ROW}3,w\r\n', [2, 3, 5]),  # CRLF
        (f"{_HEAD}\n{_ROW}1,a\n{_ROW}2,b", [2, 3]),  # no quotes, no final newline
        (f"{_HEAD}\n\n{_ROW}1,a\n\n\n{_ROW}2,b\n\n", [3, 6]),  # blank lines count
        (f'\n{_HEAD}\n{_ROW}1,"a\n\nb"\n\n{_ROW}2,b\n', [3, 7]),  # a blank line first; one inside quotes
        (f"{_HEAD}\r\n\r\n{_ROW}1,a\r\n{_ROW}2,b\r\n", [3, 4]),  # CRLF blank line
        (f'{_HEAD}\r{_ROW}1,"a\rb"\r\r{_ROW}2,b\r{_ROW}3,c', [2, 5, 6]),  # lone CR line ends
        (f'{_HEAD}\n{_ROW}1,"say ""hi"""\n\n{_ROW}2,"x\ny"\n{_ROW}3,z\n', [2, 4, 6]),  # doubled quotes
    ],
)
def test_parse_csv_bytes_physical_lines(text: str, lines: list[int]) -> None:
    from ingest.steps.reading import parse_csv_bytes

    table, n = parse_csv_bytes(text.encode())
    assert n == len(lines)
    assert table.column("_line").to_pylist() == lines
