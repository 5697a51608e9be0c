"""ECB rates: real values from the bundled history, fallbacks, and the refresh (no mocks)."""

from __future__ import annotations

import csv
import dataclasses
import functools
import io
import shutil
import threading
import zipfile
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from ingest.settings import Settings, load_settings
from ingest.steps.fx import (
    SUPPORTED_CURRENCIES,
    FxError,
    bundled_history_path,
    history_path,
    latest_rate_date,
    load_rates,
    refresh_history,
    usd_per_unit,
)


@functools.cache
def ecb_file() -> dict[date, dict[str, float]]:
    """The bundled file read independently of ingest.steps.fx: date -> {currency: units per EUR}."""
    with zipfile.ZipFile(bundled_history_path()) as archive:
        text = archive.read(archive.namelist()[0]).decode("utf-8-sig")
    table: dict[date, dict[str, float]] = {}
    for row in csv.DictReader(io.StringIO(text)):
        day = date.fromisoformat(row.pop("Date"))
        table[day] = {k: float(v) for k, v in row.items() if k and v not in ("N/A", "")}
    return table


def file_usd_per(currency: str, day: date) -> float:
    rates = ecb_file()[day]
    return rates["USD"] / (1.0 if currency == "EUR" else rates[currency])


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return dataclasses.replace(load_settings(), data_dir=tmp_path / "data")


def test_bundled_history_exists_and_ends_where_the_file_does() -> None:
    assert bundled_history_path().is_file()
    rates = load_rates(bundled_history_path())
    assert latest_rate_date(rates) == max(ecb_file())


def test_known_date_gbp_equals_usd_over_gbp_from_the_file() -> None:
    day = date(2026, 10, 30)
    # The published values of that day (units per EUR).
    assert ecb_file()[day]["USD"] == 1.1172
    assert ecb_file()[day]["GBP"] == 0.8338
    result = usd_per_unit(np.array(["GBP"]), np.array([day]), load_rates(bundled_history_path()))
    assert result[0] == pytest.approx(1.1172 / 0.8338, rel=1e-12)


@pytest.mark.parametrize("day", [date(2026, 10, 30), date(2024, 6, 14), date(2010, 3, 1), date(1999, 1, 4)])
def test_every_supported_currency_matches_the_file(day: date) -> None:
    rates = load_rates(bundled_history_path())
    available = [c for c in SUPPORTED_CURRENCIES if c == "EUR" or c in ecb_file()[day]]
    result = usd_per_unit(np.array(available), np.array([day] * len(available)), rates)
    expected = [file_usd_per(c, day) for c in available]
    np.testing.assert_allclose(result, expected, rtol=1e-12)


def test_usd_is_one_and_eur_is_the_usd_rate() -> None:
    day = date(2026, 10, 30)
    result = usd_per_unit(["USD", "EUR"], [day, day], load_rates(bundled_history_path()))
    assert result[0] == 1.0
    assert result[1] == 1.1172


@pytest.mark.parametrize(
    ("day", "published"),
    [
        (date(2026, 10, 31), date(2026, 10, 30)),  # Saturday
        (date(2026, 11, 1), date(2026, 10, 30)),  # Sunday
        (date(2025, 12, 25), date(2025, 12, 24)),  # Christmas
        (date(2025, 12, 26), date(2025, 12, 24)),  # Boxing day
        (date(2025, 12, 28), date(2025, 12, 24)),  # the Sunday after
        (date(2026, 1, 1), date(2025, 12, 31)),  # New Year's day
        (date(2026, 4, 3), date(2026, 4, 2)),  # Good Friday
        (date(2026, 4, 6), date(2026, 4, 2)),  # Easter Monday
    ],
)
def test_weekends_and_holidays_use_the_previous_business_day(day: date, published: date) -> None:
    assert day not in ecb_file()
    assert published in ecb_file()
    rates = load_rates(bundled_history_path())
    result = usd_per_unit(["GBP", "JPY", "EUR", "CHF"], [day] * 4, rates)
    expected = [file_usd_per(c, published) for c in ["GBP", "JPY", "EUR", "CHF"]]
    np.testing.assert_allclose(result, expected, rtol=1e-12)


def test_dates_after_the_last_published_use_the_last_rate() -> None:
    last = max(ecb_file())
    later = last + timedelta(days=15)
    result = usd_per_unit(["GBP"], [later], load_rates(bundled_history_path()))
    assert result[0] == pytest.approx(file_usd_per("GBP", last), rel=1e-12)


def test_unknown_currency_missing_values_and_dates_before_1999_are_nan() -> None:
    rates = load_rates(bundled_history_path())
    currencies = ["XYZ", "SEK", None, "", "GBP", "EUR", "GBP", "USD", "USD"]
    days = [date(2026, 10, 30)] * 4 + [date(1998, 12, 31), date(1998, 12, 31), date(1999, 1, 4)]
    days += [date(1998, 12, 31), None]
    result = usd_per_unit(np.array(currencies, dtype=object), pd.Series(days, dtype=object), rates)
    assert np.isnan(result[:6]).all()
    assert result[6] == pytest.approx(file_usd_per("GBP", date(1999, 1, 4)), rel=1e-12)
    assert result[7:].tolist() == [1.0, 1.0]  # a dollar needs no rate, whatever the date


def test_cny_before_its_first_publication_is_nan() -> None:
    first_cny = min(d for d, rates in ecb_file().items() if "CNY" in rates)
    rates = load_rates(bundled_history_path())
    result = usd_per_unit(["CNY", "CNY"], [first_cny - timedelta(days=1), first_cny], rates)
    assert np.isnan(result[0])
    assert result[1] == pytest.approx(file_usd_per("CNY", first_cny), rel=1e-12)


def test_date_inputs_of_every_kind_agree() -> None:
    rates = load_rates(bundled_history_path())
    days = [date(2026, 10, 30), date(2026, 10, 31), date(2025, 12, 25)]
    currencies = np.array(["GBP", "JPY", "CHF"], dtype=object)
    expected = usd_per_unit(currencies, np.array(days, dtype=object), rates)
    forms = [
        pd.Series(days, dtype=object),
        np.array(days, dtype="datetime64[D]"),
        pd.to_datetime(pd.Series(days)),
        [d.isoformat() for d in days],
        pa.array(days, pa.date32()),
        pd.Series([datetime(d.year, d.month, d.day, 12) for d in days]).dt.tz_localize("UTC"),
    ]
    for form in forms:
        np.testing.assert_array_equal(usd_per_unit(currencies, form, rates), expected)


def test_default_rates_are_the_history_file() -> None:
    day = date(2026, 10, 30)
    assert usd_per_unit(["GBP"], [day])[0] == pytest.approx(file_usd_per("GBP", day), rel=1e-12)


def test_length_mismatch_raises() -> None:
    with pytest.raises(ValueError, match="currencies"):
        usd_per_unit(["GBP", "USD"], [date(2026, 10, 30)], load_rates(bundled_history_path()))


def test_vectorised_over_many_rows() -> None:
    rates = load_rates(bundled_history_path())
    rng = np.random.default_rng(0)
    n = 200_000
    currencies = rng.choice(np.array(SUPPORTED_CURRENCIES, dtype=object), n)
    days = np.datetime64("2025-01-01") + rng.integers(0, 600, n).astype("timedelta64[D]")
    result = usd_per_unit(currencies, days, rates)
    sample = rng.integers(0, n, 50)
    for i in sample:
        day = days[i].astype(object)
        while day not in ecb_file():
            day -= timedelta(days=1)
        assert result[i] == pytest.approx(file_usd_per(currencies[i], day), rel=1e-12)


def test_load_rates_long_form() -> None:
    rates = load_rates(bundled_history_path())
    assert list(rates.columns) == ["rate_date", "currency", "units_per_eur"]
    assert rates["rate_date"].dtype == "datetime64[ns]"
    assert rates["units_per_eur"].dtype == "float64"
    assert set(rates["currency"]) == set(SUPPORTED_CURRENCIES)
    assert rates["units_per_eur"].notna().all()
    eur = rates[rates["currency"] == "EUR"]
    assert len(eur) == len(ecb_file())
    assert (eur["units_per_eur"] == 1.0).all()
    assert not rates.duplicated(["currency", "rate_date"]).any()
    assert rates.equals(rates.sort_values(["currency", "rate_date"]).reset_index(drop=True))
    # N/A dropped: CNY is published from 2005 only.
    assert len(rates[rates["currency"] == "CNY"]) == sum("CNY" in r for r in ecb_file().values())


def test_load_rates_subset_and_cache_returns_copies() -> None:
    subset = load_rates(bundled_history_path(), currencies=("GBP", "EUR"))
    assert set(subset["currency"]) == {"GBP", "EUR"}
    first = load_rates(bundled_history_path())
    first.loc[0, "units_per_eur"] = -1.0
    assert load_rates(bundled_history_path()).loc[0, "units_per_eur"] > 0


def test_published_layout_and_a_loosely_written_file_load_the_same(tmp_path: Path) -> None:
    """The fast (pyarrow) read of the ECB layout and the tolerant read agree."""
    tidy = "Date,USD,GBP,CNY,\n2026-10-30,1.1172,0.8702,N/A,\n2026-10-29,1.1165,0.87,7.95,\n"
    # Blanks around names and values (pyarrow reads them too) and a non-number ("n.a."), which only
    # the tolerant read takes, as NaN.
    loose = "Date , USD,GBP ,CNY,\n 2026-10-30,1.1172 , 0.8702,n.a.,\n2026-10-29 , 1.1165,0.87, 7.95 ,\n"
    (tmp_path / "tidy.csv").write_text(tidy)
    (tmp_path / "loose.csv").write_text(loose)
    with zipfile.ZipFile(tmp_path / "tidy.zip", "w") as archive:
        archive.writestr("eurofxref-hist.csv", tidy)
    frames = [load_rates(tmp_path / name) for name in ("tidy.csv", "loose.csv", "tidy.zip")]
    for frame in frames[1:]:
        pd.testing.assert_frame_equal(frame, frames[0])
    gbp = frames[0][frames[0]["currency"] == "GBP"]
    assert gbp["units_per_eur"].tolist() == [0.87, 0.8702]  # sorted by date
    assert frames[0][frames[0]["currency"] == "CNY"]["units_per_eur"].tolist() == [7.95]  # N/A dropped


def test_history_path_prefers_the_refreshed_file(settings: Settings) -> None:
    assert history_path(settings) == bundled_history_path()
    refreshed = settings.data_dir / "fx" / "eurofxref-hist.zip"
    refreshed.parent.mkdir(parents=True)
    shutil.copyfile(bundled_history_path(), refreshed)
    assert history_path(settings) == refreshed


def test_refresh_failure_raises_fx_error(settings: Settings) -> None:
    url = "http://127.0.0.1:9/eurofxref-hist.zip"
    with pytest.raises(FxError) as caught:
        refresh_history(settings, url=url)
    message = str(caught.value)
    assert url in message
    assert "\n" not in message
    assert not (settings.data_dir / "fx" / "eurofxref-hist.zip").exists()
    assert history_path(settings) == bundled_history_path()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def http_root(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A local http.server serving ``tmp_path / "www"``: (base url, folder)."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_refresh_success_from_a_local_server(settings: Settings, http_root: tuple[str, Path]) -> None:
    base, root = http_root
    shutil.copyfile(bundled_history_path(), root / "eurofxref-hist.zip")
    path = refresh_history(settings, url=f"{base}/eurofxref-hist.zip")
    assert path == settings.data_dir / "fx" / "eurofxref-hist.zip"
    assert path.read_bytes() == bundled_history_path().read_bytes()
    assert history_path(settings) == path
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind
    rates = load_rates(path)
    assert latest_rate_date(rates) == max(ecb_file())


def test_refresh_rejects_missing_or_invalid_files(settings: Settings, http_root: tuple[str, Path]) -> None:
    base, root = http_root
    (root / "not-a-zip.zip").write_text("<html>maintenance</html>")
    with pytest.raises(FxError, match="not an ECB rate history"):
        refresh_history(settings, url=f"{base}/not-a-zip.zip")
    with pytest.raises(FxError, match="404"):
        refresh_history(settings, url=f"{base}/missing.zip")
    assert not (settings.data_dir / "fx" / "eurofxref-hist.zip").exists()
