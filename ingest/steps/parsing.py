"""Pure parsers for the free-text columns of the raw listing files.

Everything here follows ``docs/input-format.md`` (the input forms) and
``docs/metrics.md`` (the canonical forms). The scalar parsers are meant to
be applied once per *unique* value of a column (see :func:`map_unique`); the
timestamp parser is vectorised over a whole column.

Quarantine reason codes produced here: ``no_price``, ``price_on_request``,
``unparseable_price``, ``currency_conflict`` and ``unknown_currency``.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "CONDITION_CATEGORIES",
    "NEW_CATEGORIES",
    "PREOWNED_CATEGORIES",
    "SUPPORTED_CURRENCIES",
    "CurrencyParse",
    "PriceColumn",
    "PriceParse",
    "brand_key",
    "canonical_reference",
    "clean_model_name",
    "map_unique",
    "parse_condition",
    "parse_currency",
    "parse_price",
    "parse_prices",
    "parse_timestamps",
    "resolve_brand",
    "resolve_currency",
]

# --------------------------------------------------------------------------------------------------
# Currencies
# --------------------------------------------------------------------------------------------------

#: The currencies the pipeline can convert (ECB reference rates); any other is ``unknown_currency``.
SUPPORTED_CURRENCIES: tuple[str, ...] = ("USD", "EUR", "GBP", "CHF", "JPY", "HKD", "SGD", "AUD", "CAD", "CNY")

# Active ISO 4217 codes plus the legacy ones found in the ECB history. A code from this list
# written in a price is recognised as that currency (and, if unsupported, later rejected as
# ``unknown_currency``); any other three-letter word makes the price unparseable.
_ISO_4217_CODES = """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP
    BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP
    GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR
    KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK
    MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR
    SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS
    UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XOF XPF YER ZAR ZMW ZWL
    CYP EEK HRK LTL LVL MTL ROL SIT SKK TRL
"""
_ISO_4217 = frozenset(_ISO_4217_CODES.split())

# Symbols and written-out forms, keyed by their upper-case form with whitespace removed.
_SYMBOLS: dict[str, str] = {
    "$": "USD",
    "US$": "USD",
    "€": "EUR",
    "£": "GBP",
    "FR.": "CHF",
    "SFR": "CHF",
    "SFR.": "CHF",
    "¥": "JPY",
    "JP¥": "JPY",
    "円": "JPY",
    "HK$": "HKD",
    "S$": "SGD",
    "SG$": "SGD",
    "A$": "AUD",
    "AU$": "AUD",
    "C$": "CAD",
    "CA$": "CAD",
    "CN¥": "CNY",
    "元": "CNY",
    "RMB": "CNY",
    "NZ$": "NZD",
    "₩": "KRW",
    "₹": "INR",
}
_TOKEN_CURRENCY: dict[str, str] = {**{code: code for code in _ISO_4217}, **_SYMBOLS}

# A currency token as it may be written next to an amount (matched in the upper-cased text, after
# NFKC, which folds the fullwidth ￥ and $ into ¥ and $). Prefixed dollars/yen may carry one space
# ("US $12,500" is eBay's form; "[ ]" because the pattern is used under re.VERBOSE). Longer
# alternatives come first so that HK$ is never read as $.
_CURRENCY_TOKEN = r"(?:(?:US|HK|SG|AU|CA|NZ|[SAC])[ ]?\$|(?:CN|JP)[ ]?¥|SFR\.?|FR\.|RMB|[A-Z]{3}|[$€£¥円元₩₹])"


class PriceParse(NamedTuple):
    """The result of :func:`parse_price`."""

    amount: float | None
    """The amount in the listing's currency (``None`` when ``reason`` is set)."""
    symbol_currency: str | None
    """The ISO code implied by a symbol or code written in the price text, if any."""
    reason: str | None
    """``None`` when the amount is usable, else a quarantine reason code."""


class CurrencyParse(NamedTuple):
    """The result of :func:`parse_currency`."""

    code: str | None
    """A supported ISO code, or ``None`` (empty or unknown)."""
    known: bool
    """``False`` when the column holds something that is not a supported currency."""


_NO_PRICE = PriceParse(None, None, "no_price")
_ON_REQUEST = PriceParse(None, None, "price_on_request")
_UNPARSEABLE = PriceParse(None, None, "unparseable_price")

# The number grammar of docs/input-format.md, in one pass over the stripped, upper-cased text. The
# integer part is either groups of three after a 1-3 digit head, all joined by one same thousands
# separator ("." "," "'" "’" or a space; NFKC has turned U+00A0 and U+202F into spaces), or plain
# digits. A "." or "," followed by one or two digits at the end is the decimal part. Anything else
# (12,50,0 / 1.2.3 / 12..5 / 1234.5678 / two numbers / a minus sign / letters) does not match.
# Atomic groups and possessive quantifiers keep the backtracking (and the time per call) small.
_PRICE_RE = re.compile(
    rf"""
    (?:(?=[^0-9])(?P<pre>{_CURRENCY_TOKEN})\s*)?         # the lookaheads skip the token fast
    (?>(?P<int>[1-9][0-9]{{0,2}}(?P<tsep>[.,'’‘\ ])[0-9]{{3}}(?:(?P=tsep)[0-9]{{3}})*+(?![0-9])|[0-9]++))
    (?:(?P<dsep>[.,])(?P<dec>[0-9]{{1,2}})(?![0-9]))?
    (?:\s?(?P<mult>[K万]))?                     # 12.5k, 76万
    (?:[.,][-–—]{{1,2}})?                       # Swiss 12'500.- (and 12.500,-)
    (?:\s*(?=.)(?P<post>{_CURRENCY_TOKEN}))?
    """,
    re.VERBOSE,
)
_MULTIPLIER = {"K": 1_000, "万": 10_000}
# More integer digits than any float holds (10**308 is near the largest): such a number is
# infinite for the bounds check, and never given to int(), which refuses over 4,300 digits.
_MAX_FLOAT_DIGITS = 310

_ON_REQUEST_RE = re.compile(
    r"""
    \bp\.?\s?o\.?\s?a\b | \brequest\b | \bon\s+application\b | \bcall\b | \bcontact\b | \bask\b
    | \b[ei]nquir[ey]\b | \bauf\s+anfrage\b | \bsur\s+demande\b | \bsu\s+richiesta\b
    | 応談 | 問い?合わ?せ
    """,
    re.IGNORECASE | re.VERBOSE,
)


def _nfkc(text: str) -> str:
    # NFKC folds fullwidth digits/symbols and the no-break spaces (U+00A0, U+202F) to ASCII.
    return text if text.isascii() else unicodedata.normalize("NFKC", text)


class _PriceParts(NamedTuple):
    digits: int  # every digit of the amount, separators removed ("12.500,50" -> 1250050)
    decimals: int  # how many of them are decimals
    multiplier: int  # 1, or 1,000 for k and 10,000 for 万
    currency: str | None


def _price_parts(text: str | None) -> _PriceParts | PriceParse:
    """The amount's parts, or (when the text is not a usable amount) a PriceParse with the reason."""
    if text is None:
        return _NO_PRICE
    text = _nfkc(text).strip()
    if not text:
        return _NO_PRICE
    match = _PRICE_RE.fullmatch(text.upper())
    if match is None:
        return _ON_REQUEST if _ON_REQUEST_RE.search(text) else _UNPARSEABLE
    pre, integer, tsep, dsep, decimals, mult, post = match.group("pre", "int", "tsep", "dsep", "dec", "mult", "post")
    if tsep is not None:
        if tsep == dsep:  # 1.234.56
            return _UNPARSEABLE
        integer = integer.replace(tsep, "")
    currency = None
    if pre is not None:
        currency = _TOKEN_CURRENCY.get(pre.replace(" ", ""))
        if currency is None:
            return _UNPARSEABLE
    if post is not None:
        other = _TOKEN_CURRENCY.get(post.replace(" ", ""))
        if other is None:
            return _UNPARSEABLE
        if currency is not None and other != currency:
            return _UNPARSEABLE  # "$12,500 EUR": two currencies in one price
        currency = other
    if len(integer.lstrip("0")) > _MAX_FLOAT_DIGITS:  # beyond any float (and int()'s digit limit)
        return PriceParse(math.inf, currency, None)
    digits = int(integer + decimals) if decimals else int(integer)
    return _PriceParts(digits, len(decimals or ""), _MULTIPLIER[mult] if mult else 1, currency)


def parse_price(text: str | None) -> PriceParse:
    """Parse a free-text asking price (every form of the ``price`` column in docs/input-format.md).

    Returns the amount, the currency implied by a symbol or ISO code written in the text (else
    ``None``) and, when the text is not a usable amount, a reason: ``no_price`` (empty),
    ``price_on_request`` (POA, "Price on request", "Call", ...) or ``unparseable_price``
    (anything else, including two different currencies in the text, e.g. ``$12,500 EUR``). Zero
    is returned as ``0.0``: the bounds check downstream rejects it. A minus sign is not a price. A
    number too large for a float (hundreds of digits) is ``inf``: a price, outside the bounds.
    """
    parts = _price_parts(text)
    if isinstance(parts, PriceParse):
        return parts
    # Integer arithmetic then one division: the float nearest to the exact decimal amount.
    scaled = parts.digits * parts.multiplier
    try:
        amount = scaled / 10**parts.decimals if parts.decimals else float(scaled)
    except OverflowError:  # a number beyond any float: a price, far outside the bounds
        amount = math.inf
    return PriceParse(amount, parts.currency, None)


# A string whose digits are all ASCII and few enough for exact float arithmetic can be parsed by
# its *shape* (1-9 -> 9, 0 kept: the grammar only tells [0-9] from [1-9]); characters that NFKC
# turns into digits (fullwidth, superscripts, other scripts) go through parse_price one by one.
_OTHER_DIGIT_RE = r"[^\P{N}0-9]"
_MAX_SHAPE_DIGITS = 11  # digits x 10,000 (万) < 10**15 < 2**53: exact in int64 and in float64


_FOLD_DIGITS = np.arange(256, dtype=np.uint8)
_FOLD_DIGITS[ord("1") : ord("9") + 1] = ord("9")


def _rebased(strings: pa.Array) -> pa.Array:
    """``strings`` with offset 0 (a slice is copied), so its validity bitmap can be reused as is."""
    return pa.concat_arrays([pa.array([], strings.type), strings]) if strings.offset else strings


def _utf8_buffers(strings: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The UTF-8 bytes and the offsets (rebased to 0) of an offset-0 string array, as numpy views."""
    _validity, offsets_buffer, data_buffer = strings.buffers()
    offsets = np.frombuffer(offsets_buffer, np.int32, len(strings) + 1)
    data = np.frombuffer(data_buffer, np.uint8) if data_buffer is not None else np.zeros(0, np.uint8)
    return data[offsets[0] : offsets[-1]], offsets - offsets[0]


def _fold_digits(strings: pa.Array) -> pa.Array:
    """Every ASCII 1-9 replaced by 9, byte-wise (UTF-8 multi-byte characters never contain ASCII bytes)."""
    data, offsets = _utf8_buffers(strings)
    return pa.StringArray.from_buffers(
        len(strings), pa.py_buffer(offsets), pa.py_buffer(_FOLD_DIGITS[data]), strings.buffers()[0]
    )


def _shape_recipe(part: _PriceParts | PriceParse) -> tuple[int, float, str | None, str]:
    """(multiplier, divisor, reason, symbol currency) of one price shape; multiplier 0 when it is no amount."""
    if isinstance(part, _PriceParts):
        return part.multiplier, 10.0**part.decimals, None, part.currency or ""
    return 0, 1.0, part.reason, part.symbol_currency or ""


class PriceColumn(NamedTuple):
    """The result of :func:`parse_prices`: one entry per input row."""

    amount: np.ndarray  # float64, NaN where ``reason`` is set
    symbol_currency: pa.Array  # string; "" when the text names no currency
    reason: np.ndarray  # object: None or a quarantine reason code


def parse_prices(values: Any) -> PriceColumn:
    """:func:`parse_price` over a whole column, vectorised (the same results, row for row).

    Prices are grouped by shape (digits 1-9 folded to 9), so the scalar grammar runs once per
    distinct *shape* (a few hundred per week) rather than once per distinct price; the amount
    of each row is then its digits (as one integer) x the shape's multiplier / 10^decimals.
    """
    strings = _rebased(_as_string_array(values))
    n = len(strings)
    amount = np.full(n, np.nan)
    reason = np.full(n, None, dtype=object)
    symbol = np.full(n, "", dtype=object)
    data, offsets = _utf8_buffers(strings)
    is_digit = (data >= ord("0")) & (data <= ord("9"))
    kept = np.concatenate([np.zeros(1, np.int32), np.cumsum(is_digit, dtype=np.int32)])[offsets]
    digits_only = pa.StringArray.from_buffers(n, pa.py_buffer(kept), pa.py_buffer(data[is_digit]))
    non_ascii = ~pc.string_is_ascii(pc.fill_null(strings, "")).to_numpy(zero_copy_only=False)
    other_digits = np.zeros(n, bool)
    if non_ascii.any():
        subset = strings.filter(pa.array(non_ascii))
        other_digits[non_ascii] = pc.fill_null(pc.match_substring_regex(subset, _OTHER_DIGIT_RE), False).to_numpy(
            zero_copy_only=False
        )
    by_shape = ~other_digits & (np.diff(kept) <= _MAX_SHAPE_DIGITS)
    if by_shape.any():
        rows = np.flatnonzero(by_shape)
        subset = strings.take(pa.array(rows))
        shapes = pc.dictionary_encode(_fold_digits(subset))
        codes = pc.fill_null(shapes.indices, len(shapes.dictionary)).to_numpy(zero_copy_only=False)
        # the scalar grammar on one original string per shape (the last code is the null shape)
        parts: list[_PriceParts | PriceParse] = [_NO_PRICE] * (len(shapes.dictionary) + 1)
        present, first = np.unique(codes, return_index=True)
        samples = subset.take(pa.array(first)).to_pylist()
        for code, text in zip(present.tolist(), samples, strict=True):
            if code < len(shapes.dictionary):
                parts[code] = _price_parts(text)
        multiplier, divisor, shape_reason, shape_symbol = zip(*map(_shape_recipe, parts), strict=True)
        scale = np.array(multiplier, np.int64)[codes]  # 0 where the shape is no amount
        row_ok = scale > 0
        digits = np.zeros(len(rows), np.int64)
        if row_ok.any():
            digits[row_ok] = pc.cast(digits_only.take(pa.array(rows[row_ok])), pa.int64()).to_numpy()
        amount[rows] = np.where(row_ok, (digits * scale).astype(np.float64) / np.array(divisor)[codes], np.nan)
        reason[rows] = np.array(shape_reason, dtype=object)[codes]
        symbol[rows] = np.array(shape_symbol, dtype=object)[codes]
    others = np.flatnonzero(~by_shape)
    if len(others):
        codes, parses = map_unique(strings.take(pa.array(others)), parse_price)
        amount[others] = np.array([np.nan if p.amount is None else p.amount for p in parses])[codes]
        reason[others] = np.array([p.reason for p in parses], dtype=object)[codes]
        symbol[others] = np.array([p.symbol_currency or "" for p in parses], dtype=object)[codes]
    return PriceColumn(amount, pa.array(symbol, pa.string()), reason)


def parse_currency(text: str | None) -> CurrencyParse:
    """Parse the ``currency`` column: an ISO 4217 code or a symbol, any case, surrounding spaces.

    Empty is allowed (``CurrencyParse(None, True)``: the price may carry the symbol). A supported
    currency gives ``CurrencyParse(code, True)``; anything else, including real ISO codes outside
    :data:`SUPPORTED_CURRENCIES`, gives ``CurrencyParse(None, False)``.
    """
    if text is None:
        return CurrencyParse(None, True)
    key = "".join(_nfkc(text).split()).upper()
    if not key:
        return CurrencyParse(None, True)
    code = _TOKEN_CURRENCY.get(key)
    if code is None and key.endswith(".") and key != "FR.":
        code = _TOKEN_CURRENCY.get(key[:-1])  # "USD." / "EUR."
    if code is None or code not in SUPPORTED_CURRENCIES:
        return CurrencyParse(None, False)
    return CurrencyParse(code, True)


def resolve_currency(column: CurrencyParse, symbol_currency: str | None) -> tuple[str | None, str | None]:
    """Combine the currency column with the currency written in the price: ``(code, reason)``.

    Both present and different: ``(None, "currency_conflict")``; the column unknown, neither
    present, or a currency outside :data:`SUPPORTED_CURRENCIES`: ``(None, "unknown_currency")``;
    else the one present and no reason.
    """
    if not column.known:
        return None, "unknown_currency"
    if column.code is not None and symbol_currency is not None and column.code != symbol_currency:
        return None, "currency_conflict"
    code = column.code if column.code is not None else symbol_currency
    if code is None or code not in SUPPORTED_CURRENCIES:
        return None, "unknown_currency"
    return code, None


# --------------------------------------------------------------------------------------------------
# Condition
# --------------------------------------------------------------------------------------------------

#: The canonical condition categories of docs/metrics.md, in the documented order.
CONDITION_CATEGORIES: tuple[str, ...] = (
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
#: Categories that count as brand new.
NEW_CATEGORIES: tuple[str, ...] = ("new",)
#: Categories that count as pre-owned (``unknown`` counts as neither).
PREOWNED_CATEGORIES: tuple[str, ...] = (
    "unworn",
    "very_good",
    "good",
    "fair",
    "poor",
    "incomplete",
    "preowned_unspecified",
)

_CONDITION_WORDS: dict[str, str] = {
    "brand new": "new",
    "new": "new",
    "unworn": "unworn",
    "mint": "unworn",
    "very good": "very_good",
    "like new": "very_good",
    "excellent": "very_good",
    "good": "good",
    "fair": "fair",
    "poor": "poor",
    "incomplete": "incomplete",
    "for parts": "incomplete",
    "used": "preowned_unspecified",
    "pre owned": "preowned_unspecified",
    "preowned": "preowned_unspecified",
}
# Leading words (longest first), followed by the end or a non-letter: "New" and "New, boxed" are
# new, "Newish" is not.
_CONDITION_RE = re.compile(r"(?:" + "|".join(sorted(_CONDITION_WORDS, key=len, reverse=True)) + r")(?![^\W\d_])")
_PARENTHESES_RE = re.compile(r"\([^)]*\)?|\[[^\]]*\]?")
_CONDITION_SEPARATORS_RE = re.compile(r"[\s\-_‐‑–]+")


def parse_condition(text: str | None) -> str:
    """The condition category (docs/metrics.md) of a free-text condition; ``unknown`` when none fits.

    Matched case-insensitively on the leading words, ignoring text in parentheses (Chrono24's
    ``Very good (Worn with little to no signs of wear)`` is ``very_good``); hyphens count as
    spaces (``Pre-owned``).
    """
    if not text:
        return "unknown"
    cleaned = _PARENTHESES_RE.sub(" ", text.casefold())
    cleaned = _CONDITION_SEPARATORS_RE.sub(" ", cleaned).strip()
    match = _CONDITION_RE.match(cleaned)
    return _CONDITION_WORDS[match.group()] if match else "unknown"


# --------------------------------------------------------------------------------------------------
# Brand, reference, model names
# --------------------------------------------------------------------------------------------------

_BRAND_PUNCTUATION = str.maketrans(dict.fromkeys(".,-‐‑–—'’‘`´", " ") | {"&": " & "})


def brand_key(text: str | None) -> str:
    """A normalised key for brand alias lookup (``""`` for empty).

    Accents removed (NFKD, combining marks dropped: Söhne → sohne), case folded, ``&`` kept as
    a word of its own, dots, commas, hyphens and apostrophes turned into spaces, whitespace
    collapsed: ``A. Lange & Söhne`` and ``A. Lange & Sohne`` both give ``a lange & sohne``.
    """
    if not text:
        return ""
    if not text.isascii():
        text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return " ".join(text.casefold().translate(_BRAND_PUNCTUATION).split())


def resolve_brand(text: str | None, alias_map: dict[str, str]) -> str | None:
    """The canonical brand of a free-text brand, ``None`` when empty.

    ``alias_map`` maps ``brand_key(alias)`` to the canonical brand. A brand not in the map is
    returned whitespace-collapsed with each word capitalised (``"grand  seiko "`` →
    ``"Grand Seiko"``), so that case variants of an unknown brand still group together.
    """
    key = brand_key(text)
    if not key:
        return None
    canonical = alias_map.get(key)
    if canonical is not None:
        return canonical
    return " ".join(word.capitalize() for word in (text or "").split())


_REFERENCE_PREFIX_RE = re.compile(r"^(?:REF(?:ERENCE)?(?![A-Z])\.?\s*(?:(?:NO|NR)\.?(?![A-Z])|NUMBER)?\s*[:#.]?|#)\s*")
_REFERENCE_SEPARATORS_RE = re.compile(r"[\s\-‐‑‒–—−]+")


def canonical_reference(text: str | None) -> str | None:
    """The canonical reference number (docs/metrics.md), ``None`` when empty.

    Upper case, without a leading ``Ref.``/``Ref``/``Reference``/``Ref:``/``Ref #``/``#``
    prefix, without spaces (including no-break spaces) or hyphens, keeping ``.`` and ``/``:
    ``ref 126500-ln`` → ``126500LN``, ``5711/1A-010`` → ``5711/1A010``. Stray separators at
    either end (``126500LN.``) are dropped.
    """
    if not text:
        return None
    ref = _nfkc(text).strip().upper()
    ref = _REFERENCE_PREFIX_RE.sub("", ref)
    ref = _REFERENCE_SEPARATORS_RE.sub("", ref).strip(".,/:;#")
    return ref or None


def clean_model_name(text: str | None) -> str | None:
    """A model name (``parent_model``/``specific_model``) whitespace-collapsed; ``None`` if empty."""
    if not text:
        return None
    return " ".join(text.split()) or None


# --------------------------------------------------------------------------------------------------
# Timestamps (vectorised)
# --------------------------------------------------------------------------------------------------

_UTC_MICROS = pa.timestamp("us", tz="UTC")

# The forms pyarrow's ISO-8601 cast reads directly: naive (cast as wall-clock UTC) and zoned. The
# regexes check every field's range, calendar included (2026-02-30, 2025-02-29 do not match), because
# a failing pyarrow cast is slow (it parses every element before raising).
_DATE = (
    r"(?:\d{4}-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1\d|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)"
    r"|(?:\d{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)-02-29)"
)
_TIME = r"(?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d{1,6})?)?"
_NAIVE_RE = rf"^{_DATE}(?:[T ]{_TIME})?$"
_ZONED_RE = rf"^{_DATE}[T ]{_TIME}(?:Z|[+-](?:[01]\d|2[0-3])(?::?[0-5]\d)?)$"
# Rewrites that bring the rarer spellings onto those forms (applied only to rows needing them).
_TS_REWRITES: tuple[tuple[str, str], ...] = (
    (r"^(\d{4}-\d{2}-\d{2})[Tt](\d)", r"\1T\2"),
    (r"(:\d{2})[.,](\d{1,6})\d*", r"\1.\2"),  # decimal comma; more than microseconds
    (r"\s*(?:[Zz]|UTC|GMT)$", "Z"),
    (r"\s+([+-]\d{2}(?::?\d{2})?)$", r"\1"),
)
_FALLBACK_CHUNK = 8192


def parse_timestamps(
    values: pa.Array | pa.ChunkedArray | pd.Series | Sequence[str | None],
) -> pa.TimestampArray:
    """Parse ISO-8601 timestamps to ``timestamp[us, tz=UTC]``, vectorised; null when unparseable.

    Accepted: ``2026-11-14`` (midnight UTC), ``2026-11-14T22:03:11Z``, ``2026-11-14 22:03:11+01:00``
    (offset applied), ``2026-11-14T22:03:11`` (naive, taken as UTC), minutes-only times, fractional
    seconds (``.`` or ``,``; truncated to microseconds), offsets ``+01``/``+0100``/``+01:00``, and
    surrounding spaces. Anything else (including impossible dates such as ``2026-02-30``) is null;
    a bad element never raises.
    """
    arr = _as_string_array(values)
    trimmed = pc.utf8_trim_whitespace(arr)
    naive = pc.match_substring_regex(trimmed, _NAIVE_RE)
    zoned = pc.match_substring_regex(trimmed, _ZONED_RE)
    odd = pc.and_kleene(pc.invert(pc.or_kleene(naive, zoned)), pc.is_valid(trimmed))
    n_odd = pc.sum(odd).as_py() or 0
    if n_odd:
        fixed = pc.filter(trimmed, odd)
        for pattern, replacement in _TS_REWRITES:
            fixed = pc.replace_substring_regex(fixed, pattern, replacement)
        trimmed = pc.replace_with_mask(trimmed, odd, fixed)
        naive = pc.replace_with_mask(naive, odd, pc.match_substring_regex(fixed, _NAIVE_RE))
        zoned = pc.replace_with_mask(zoned, odd, pc.match_substring_regex(fixed, _ZONED_RE))
    null_str = pa.scalar(None, pa.string())
    from_naive = _cast_or_fallback(pc.if_else(naive, trimmed, null_str), pa.timestamp("us"))
    from_zoned = _cast_or_fallback(pc.if_else(zoned, trimmed, null_str), _UTC_MICROS)
    return pc.if_else(naive, pc.cast(from_naive, _UTC_MICROS), from_zoned)


def _as_string_array(values: Any) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    elif isinstance(values, pd.Series):
        values = pa.array(values.astype(object).where(values.notna(), None), type=pa.string())
    elif not isinstance(values, pa.Array):
        values = pa.array(values, type=pa.string())
    if pa.types.is_dictionary(values.type):
        values = values.cast(values.type.value_type)
    if not pa.types.is_string(values.type):
        values = values.cast(pa.string())
    return values


def _cast_or_fallback(strings: pa.Array, target: pa.DataType) -> pa.Array:
    """Cast shape-checked strings; should pyarrow still refuse one, redo chunk by chunk, the failing
    chunks element by element (a safety net: the regexes already rule out every known failure)."""
    try:
        return pc.cast(strings, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    pieces = []
    for start in range(0, len(strings), _FALLBACK_CHUNK):
        chunk = strings.slice(start, _FALLBACK_CHUNK)
        try:
            pieces.append(pc.cast(chunk, target))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pieces.append(pa.array([_python_timestamp(v, target.tz) for v in chunk.to_pylist()], target))
    return pa.concat_arrays(pieces)


def _python_timestamp(value: str | None, tz: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if tz is None:
        return parsed.replace(tzinfo=None) if parsed.tzinfo is None else None
    return parsed.astimezone(UTC) if parsed.tzinfo is not None else None


# --------------------------------------------------------------------------------------------------
# Factorised mapping
# --------------------------------------------------------------------------------------------------


def map_unique(
    values: pa.Array | pa.ChunkedArray | pd.Series | Sequence[Any], fn: Callable[[Any], Any]
) -> tuple[np.ndarray, list[Any]]:
    """Apply a scalar ``fn`` once per distinct value: returns ``(codes, results)``.

    ``results[codes[i]]`` is ``fn(values[i])``; nulls (None/NaN/NA) are passed to ``fn`` as
    ``None``. Build a column with ``numpy.asarray(results, dtype=object)[codes]`` (or take a field
    of each result first, e.g. ``numpy.array([r.amount for r in results], float)[codes]``).
    """
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    if isinstance(values, pa.Array):
        encoded = values if pa.types.is_dictionary(values.type) else pc.dictionary_encode(values)
        uniques = encoded.dictionary.to_pylist()
        indices = encoded.indices
        if indices.null_count:
            codes = pc.fill_null(indices, len(uniques)).to_numpy(zero_copy_only=False).astype(np.intp)
            uniques.append(None)
        else:
            codes = indices.to_numpy(zero_copy_only=False).astype(np.intp)
    else:
        codes, unique_values = pd.factorize(
            values if isinstance(values, pd.Series) else np.asarray(values, dtype=object),
            use_na_sentinel=True,
        )
        uniques = list(unique_values)
        codes = codes.astype(np.intp, copy=False)
        if (codes < 0).any():
            codes[codes < 0] = len(uniques)
            uniques.append(None)
    return codes, [fn(value) for value in uniques]
