"""The weekly-scrape simulator (ingest.devtools.simulate) and the catalog (ingest.steps.catalog).

Every file is read back with Python's csv module exactly as a consumer of docs/input-format.md
would: the counts of the manifest and of its ledgers must match the files, the valid rows
must parse, and their prices must follow the ground truth.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import statistics
from collections import Counter, defaultdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ingest import storage
from ingest.devtools.simulate import (
    FILE_FAULTS,
    REASONS,
    add_simulate_arguments,
    default_end_date,
    run_simulate_command,
    simulate,
)
from ingest.steps import catalog, fx, parsing

REQUIRED = (
    "listing_id",
    "source",
    "scraped_at",
    "brand",
    "reference_number",
    "price",
    "currency",
    "condition",
)
OPTIONAL = ("url", "title", "parent_model", "specific_model", "seller_type", "country", "listed_at", "year")
END = date(2026, 11, 15)  # a Sunday
FILE_NAME = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*\.csv$")


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------


def read_csv(data: bytes) -> tuple[list[str], list[list[str]]]:
    """Header and records of one file, as the csv module reads them (BOM dropped, RFC 4180)."""
    if not data:
        return [], []
    previous = csv.field_size_limit(1 << 30)  # an unterminated quote swallows the rest of a file
    try:
        records = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    finally:
        csv.field_size_limit(previous)
    return records[0], records[1:]


def normalised(header: list[str]) -> list[str]:
    return [h.strip().lower() for h in header]


def ledger(root: Path, name: str) -> list[dict[str, str]]:
    with (root / "_simulator" / name).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def scrape_folders(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith("scrape_date="))


class Week:
    """One simulated scrape folder, read back: the rows of every healthy file keyed by (file, row)."""

    def __init__(self, root: Path, info: dict[str, Any]) -> None:
        self.info = info
        self.rows: dict[tuple[str, int], dict[str, str]] = {}
        self.headers: dict[str, list[str]] = {}
        self.raw: dict[str, bytes] = {}
        for meta in info["files"]:
            name = f"{info['folder']}/{meta['name']}"
            data = (root / name).read_bytes()
            self.raw[name] = data
            header, records = read_csv(data)
            self.headers[name] = header
            if meta["fault"] is None:
                keys = normalised(header)
                for i, record in enumerate(records, start=1):
                    self.rows[(name, i)] = dict(zip(keys, record, strict=True))


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    root = tmp_path_factory.mktemp("sim") / "raw"
    manifest = simulate(str(root), weeks=2, rows_per_week=6000, seed=7, end_date=END)
    return root, manifest


@pytest.fixture(scope="module")
def weeks(simulated: tuple[Path, dict[str, Any]]) -> list[Week]:
    root, manifest = simulated
    return [Week(root, info) for info in manifest["weeks"]]


def usd_values(rows: list[dict[str, str]], scrape_date: date) -> np.ndarray:
    """The USD value of valid rows, with ingest.steps.parsing and the ECB rates of the scrape date."""
    amounts, codes = [], []
    for row in rows:
        price = parsing.parse_price(row["price"])
        assert price.reason is None, row
        code, reason = parsing.resolve_currency(parsing.parse_currency(row["currency"]), price.symbol_currency)
        assert reason is None, row
        amounts.append(price.amount)
        codes.append(code)
    rates = fx.usd_per_unit(np.array(codes, dtype=object), [scrape_date] * len(codes))
    return np.round(np.round(np.array(amounts), 2) * rates, 2)


# --------------------------------------------------------------------------------------------------
# Catalog
# --------------------------------------------------------------------------------------------------


def test_catalog_size_and_price_levels() -> None:
    assert len(catalog.BRANDS) >= 15
    assert sum(len(models) for models in catalog.parent_models().values()) >= 60
    assert len(catalog.REFERENCES) >= 300
    index = catalog.reference_index()
    assert len(index) == len(catalog.REFERENCES)

    def price(brand: str, ref: str) -> float:
        return index[(brand, parsing.canonical_reference(ref))].base_price_usd

    assert 13_000 <= price("Rolex", "126610LN") <= 15_000
    assert price("Patek Philippe", "5711/1A-010") >= 100_000
    assert 3_000 <= price("Tudor", "M79030N") <= 4_000
    assert 5_000 <= price("Omega", "310.30.42.50.01.001") <= 7_000
    assert 30_000 <= price("Audemars Piguet", "15510ST") <= 40_000
    sub = index[("Rolex", "126610LN")]
    assert (sub.parent_model, sub.specific_model) == ("Submariner", "Submariner Date")
    assert all(r.brand in catalog.BRANDS and 100 <= r.base_price_usd <= 1_000_000 for r in catalog.REFERENCES)


def test_catalog_brand_aliases_resolve() -> None:
    aliases = catalog.brand_alias_map()
    for raw, canonical in [
        ("Patek", "Patek Philippe"),
        ("PP", "Patek Philippe"),
        ("patek philippe", "Patek Philippe"),
        ("AP", "Audemars Piguet"),
        ("JLC", "Jaeger-LeCoultre"),
        ("A. Lange & Söhne", "A. Lange & Söhne"),
        ("A. Lange & Sohne", "A. Lange & Söhne"),
        ("Lange", "A. Lange & Söhne"),
        ("ROLEX ", "Rolex"),
    ]:
        assert parsing.resolve_brand(raw, aliases) == canonical
    for canonical, spellings in catalog.BRANDS.items():
        assert aliases[parsing.brand_key(canonical)] == canonical
        assert all(aliases[parsing.brand_key(s)] == canonical for s in spellings)


# --------------------------------------------------------------------------------------------------
# Layout and format
# --------------------------------------------------------------------------------------------------


def test_layout_per_contract(simulated: tuple[Path, dict[str, Any]]) -> None:
    root, manifest = simulated
    folders = scrape_folders(root)
    assert [f.name for f in folders] == [w["folder"] for w in manifest["weeks"]]
    assert folders[-1].name == "scrape_date=2026-11-15"  # the end date (a Sunday) is the last scrape
    assert {p.name for p in root.iterdir()} == {f.name for f in folders} | {"_simulator"}
    for w in manifest["weeks"]:
        scrape = date.fromisoformat(w["scrape_date"])
        assert scrape.weekday() in (5, 6)
        assert w["market_week"] == (scrape - timedelta(days=scrape.weekday())).isoformat()
        paths = sorted((root / w["folder"]).iterdir())
        marker = root / w["folder"] / "_SUCCESS"
        assert marker in paths and marker.stat().st_size == 0  # the scraper's completion marker ...
        names = sorted(p.name for p in paths if p != marker)
        assert names == sorted(f["name"] for f in w["files"])
        assert all(p.stat().st_mtime_ns <= marker.stat().st_mtime_ns for p in paths)  # ... written last
        assert 65 <= len(names) <= 80
        assert all(FILE_NAME.match(n) for n in names)
        assert {"chrono24-1.csv", "chrono24-2.csv", "ebay-1.csv", "reddit-watchexchange.csv"} <= set(names)
    assert date.fromisoformat(manifest["weeks"][1]["market_week"]) - date.fromisoformat(
        manifest["weeks"][0]["market_week"]
    ) == timedelta(days=7)


def test_files_parse_per_contract(weeks: list[Week]) -> None:
    for week in weeks:
        sources, boms, crlf, optional, extras, orders, spaced = set(), 0, 0, set(), set(), set(), 0
        for meta in week.info["files"]:
            name = f"{week.info['folder']}/{meta['name']}"
            data, header = week.raw[name], week.headers[name]
            if meta["fault"] == "zero_byte":
                assert data == b""
                continue
            keys = normalised(header)
            missing = [c for c in REQUIRED if c not in keys]
            assert missing == meta.get("missing_columns", []), name
            boms += data.startswith(b"\xef\xbb\xbf")
            crlf += b"\r\n" in data
            spaced += any(h != h.strip() for h in header)
            orders.add(tuple(k for k in keys if k in REQUIRED))
            optional |= set(keys) & set(OPTIONAL)
            extras |= set(keys) - set(REQUIRED) - set(OPTIONAL) - {"box_papers"}
        for row in week.rows.values():
            sources.add(row["source"])
        assert len(sources) >= 55
        assert {"chrono24.com", "ebay.com", "watchuseek.com", "reddit.com/r/watchexchange"} <= sources
        assert boms >= 3 and crlf >= 3 and spaced >= 3
        assert len(orders) >= 10  # the column order is not fixed
        assert optional == set(OPTIONAL)
        assert extras  # unknown extra columns


def test_messy_forms_are_all_present(weeks: list[Week]) -> None:
    rows = [r for week in weeks for r in week.rows.values()]
    prices = {r["price"] for r in rows}
    joined = "\n".join(prices)
    for needle in (
        "\u00a0",
        "\u202f",
        "’",
        "'",
        ".-",
        "万円",
        "¥",
        "￥",
        "HK$",
        "S$",
        "A$",
        "C$",
        "£",
        "CHF ",
        " €",
    ):
        assert needle in joined, needle
    assert any(re.fullmatch(r"\$\d+\.\dk", p) for p in prices)  # $12.5k
    assert any(re.fullmatch(r"\d{1,3}(\.\d{3})+,\d\d", p) for p in prices)  # 12.500,00
    assert any(re.fullmatch(r"\d{1,3}(\.\d{3})+,\d\d €", p) for p in prices)  # 1.234,50 €
    assert any(re.fullmatch(r"€ \d{1,3}(\.\d{3})+", p) for p in prices)  # € 9.800
    assert any(re.fullmatch(r"\d{1,3}(,\d{3})+", p) for p in prices)  # 12,500
    assert {"POA", "Price on request", "", "12,50,0"} <= prices
    currencies = Counter(r["currency"] for r in rows)
    for code in (
        "USD",
        "usd",
        "$",
        "US$",
        "EUR",
        "€",
        "GBP",
        "£",
        "CHF",
        "Fr.",
        "JPY",
        "¥",
        "HKD",
        "HK$",
        "SGD",
    ):
        assert currencies[code], code
    for code in ("S$", "AUD", "A$", "CAD", "C$", "CNY", "", "BTC"):
        assert currencies[code] or (code == "BTC" and currencies.keys() & {"ETH", "USDT", "RUB", "XYZ"}), code
    conditions = {r["condition"] for r in rows}
    for value in ("New", "Brand new", "Unworn", "Mint", "Like new", "Excellent", "Very good", "Good", "Fair"):
        assert value in conditions, value
    for value in ("Used", "Pre-owned", "For parts", "", "Very good (Worn with little to no signs of wear)"):
        assert value in conditions, value
    assert {"Poor", "Incomplete"} & conditions
    stamps = [r["scraped_at"] for r in rows]
    assert any(re.fullmatch(r"\d{4}-\d\d-\d\d", s) for s in stamps)
    assert any(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", s) for s in stamps)
    assert any(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d\d:\d\d", s) for s in stamps)
    brands = {r["brand"] for r in rows}
    assert {"Rolex", "ROLEX", "Patek", "PP", "AP", "JLC", "A. Lange & Sohne"} <= brands
    assert any(b != b.strip() for b in brands)
    refs = {r["reference_number"] for r in rows}
    assert any(x.startswith("Ref. ") for x in refs) and any(x.startswith("ref ") for x in refs)
    assert any(re.fullmatch(r"\d{6} [A-Z]+", x) for x in refs) and any(re.fullmatch(r"\d{6}-[A-Z]+", x) for x in refs)
    titles = [r.get("title", "") for r in rows]
    assert any('"' in t for t in titles) and any("," in t for t in titles) and any("\n" in t for t in titles)


# --------------------------------------------------------------------------------------------------
# The manifest and its ledgers reconcile with the files
# --------------------------------------------------------------------------------------------------


def test_manifest_counts_match_files(simulated: tuple[Path, dict[str, Any]], weeks: list[Week]) -> None:
    root, manifest = simulated
    bad = Counter((r["scrape_date"], r["reason"]) for r in ledger(root, "bad_rows.csv"))
    dups = ledger(root, "duplicates.csv")
    outliers = Counter(r["scrape_date"] for r in ledger(root, "outliers.csv"))
    for week in weeks:
        info = week.info
        faults = Counter(f["fault"] for f in info["files"] if f["fault"])
        assert faults == Counter(FILE_FAULTS)  # one file of each whole-file fault per week
        faulty_rows: dict[str, int] = defaultdict(int)
        for meta in info["files"]:
            name = f"{info['folder']}/{meta['name']}"
            data, (_, records) = week.raw[name], read_csv(week.raw[name])
            fault = meta["fault"]
            if fault == "zero_byte":
                assert data == b"" and meta["rows"] == 0
            elif fault == "header_only":
                assert meta["rows"] == 0 and records == [] and data.count(b"\n") == 1
            elif fault == "unterminated_quote":
                assert data.count(b'"') == 1  # it opens in a data row and never closes
                assert len(records) == meta["fault_row"]  # the rest of the file is one open field
                assert meta["rows"] >= meta["fault_row"]
            else:
                assert len(records) == meta["rows"], name
            if fault:
                faulty_rows[fault] += meta["rows"]
        assert dict(faulty_rows) | {f: 0 for f in FILE_FAULTS if f not in faulty_rows} == info["rows_in_faulty_files"]
        assert info["rows_written"] == sum(f["rows"] for f in info["files"]) == 6000
        healthy = sum(f["rows"] for f in info["files"] if f["fault"] is None)
        assert healthy == info["rows_in_healthy_files"] == len(week.rows)
        assert info["bad_rows"] == {r: bad[(info["scrape_date"], r)] for r in REASONS}
        assert all(info["bad_rows"][r] >= 1 for r in REASONS)
        assert info["bad_rows_total"] == sum(info["bad_rows"].values())
        copies = [d for d in dups if d["scrape_date"] == info["scrape_date"]]
        assert len(copies) == 2 * info["duplicates"]["total"]
        assert info["duplicates"]["same_file"] >= 1 and info["duplicates"]["other_part"] >= 1
        assert info["outliers"] == outliers[info["scrape_date"]] >= 1
        assert info["expected_loaded"] == healthy - info["bad_rows_total"] - info["duplicates"]["total"]
    totals = manifest["totals"]
    assert totals["rows_written"] == 12_000
    assert totals["expected_loaded"] == sum(w["expected_loaded"] for w in manifest["weeks"])


def test_bad_rows_have_exactly_their_fault(simulated: tuple[Path, dict[str, Any]], weeks: list[Week]) -> None:
    root, _ = simulated
    by_week = {w.info["scrape_date"]: w for w in weeks}
    aliases = catalog.brand_alias_map()
    for item in ledger(root, "bad_rows.csv"):
        week = by_week[item["scrape_date"]]
        row = week.rows[(item["file"], int(item["row"]))]
        assert (row["source"], row["listing_id"]) == (item["source"], item["listing_id"])
        reason = item["reason"]
        price = parsing.parse_price(row["price"])
        currency = parsing.parse_currency(row["currency"])
        brand_ok = parsing.resolve_brand(row["brand"], aliases) is not None
        ref_ok = parsing.canonical_reference(row["reference_number"]) is not None
        stamp = parsing.parse_timestamps([row["scraped_at"]])[0].as_py()
        scrape = date.fromisoformat(item["scrape_date"])
        stamp_ok = stamp is not None and abs((stamp.date() - scrape).days) <= 7
        assert brand_ok == (reason != "missing_brand"), item
        assert ref_ok == (reason != "missing_reference"), item
        assert stamp_ok == (reason != "bad_timestamp"), item
        price_reason = price.reason if price.reason in ("no_price", "price_on_request", "unparseable_price") else None
        assert price_reason == (reason if reason in ("no_price", "price_on_request", "unparseable_price") else None)
        if price_reason:
            continue
        code, currency_reason = parsing.resolve_currency(currency, price.symbol_currency)
        assert currency_reason == (reason if reason in ("unknown_currency", "currency_conflict") else None), item
        if currency_reason:
            continue
        usd = price.amount * fx.usd_per_unit(np.array([code], dtype=object), [scrape])[0]
        assert (100 <= usd <= 10_000_000) == (reason != "price_out_of_bounds"), item


def test_valid_rows_parse_and_follow_the_truth(simulated: tuple[Path, dict[str, Any]], weeks: list[Week]) -> None:
    root, _ = simulated
    bad = {(r["file"], int(r["row"])) for r in ledger(root, "bad_rows.csv")}
    losers = {(d["file"], int(d["row"])) for d in ledger(root, "duplicates.csv") if d["winner"] == "False"}
    outliers = {(o["file"], int(o["row"])): float(o["factor"]) for o in ledger(root, "outliers.csv")}
    truth = {
        (t["brand"], t["reference_number"], t["market_week"]): float(t["true_median_usd"])
        for t in ledger(root, "truth_weekly.csv")
    }
    references = {(t["brand"], t["reference_number"]): t for t in ledger(root, "truth_references.csv")}
    aliases = catalog.brand_alias_map()
    errors: list[float] = []
    for week in weeks:
        scrape = date.fromisoformat(week.info["scrape_date"])
        keys = [k for k in week.rows if k not in bad]
        rows = [week.rows[k] for k in keys]
        usd = usd_values(rows, scrape)
        assert ((usd >= 100) & (usd <= 10_000_000)).all()
        stamps = parsing.parse_timestamps([r["scraped_at"] for r in rows]).to_pylist()
        assert all(s is not None and abs((s.date() - scrape).days) <= 2 for s in stamps)
        groups: dict[tuple[str, str], list[float]] = defaultdict(list)
        seen: set[tuple[str, str]] = set()
        for key, row, value in zip(keys, rows, usd, strict=True):
            brand = parsing.resolve_brand(row["brand"], aliases)
            ref = parsing.canonical_reference(row["reference_number"])
            assert (brand, ref) in references, row
            if references[(brand, ref)]["in_catalog"] == "false":
                assert row["parent_model"].strip() and row["specific_model"].strip()
            true = truth[(brand, ref, week.info["market_week"])]
            if key in losers:
                continue
            listing = (row["source"], row["listing_id"])
            assert listing not in seen  # listing ids are unique per source except the duplicates
            seen.add(listing)
            if key in outliers:
                ratio = value / true
                assert ratio > 3.0 or ratio < 0.22, (row, ratio)
                continue
            groups[(brand, ref)].append(value / true)
        assert len(seen) == week.info["expected_loaded"]
        for ratios in groups.values():
            if len(ratios) >= 30:
                errors.append(abs(statistics.median(ratios) - 1))
    assert len(errors) >= 40
    assert max(errors) < 0.06
    assert np.mean(np.array(errors) < 0.05) >= 0.97
    assert np.median(errors) < 0.02


def test_duplicates_follow_the_dedup_rule(simulated: tuple[Path, dict[str, Any]], weeks: list[Week]) -> None:
    root, _ = simulated
    by_week = {w.info["scrape_date"]: w for w in weeks}
    pairs: dict[tuple[str, str, str], list[dict[str, str]]] = defaultdict(list)
    for d in ledger(root, "duplicates.csv"):
        pairs[(d["scrape_date"], d["source"], d["listing_id"])].append(d)
    kinds = Counter()
    for (scrape_date, source, listing_id), copies in pairs.items():
        assert len(copies) == 2
        week = by_week[scrape_date]
        rows = [week.rows[(c["file"], int(c["row"]))] for c in copies]
        assert all((r["source"], r["listing_id"]) == (source, listing_id) for r in rows)
        assert rows[0]["price"] == rows[1]["price"]
        stamps = parsing.parse_timestamps([c["scraped_at"] for c in copies]).to_pylist()
        order = sorted(range(2), key=lambda i: (-stamps[i].timestamp(), copies[i]["file"], int(copies[i]["line"])))
        assert [c["winner"] for c in copies] == ["True" if i == order[0] else "False" for i in range(2)]
        kind = copies[0]["kind"]
        kinds[kind] += 1
        if kind == "same_file":
            assert copies[0]["file"] == copies[1]["file"] and rows[0] == rows[1]
        else:
            assert copies[0]["file"] != copies[1]["file"] and stamps[0] != stamps[1]
    assert kinds["same_file"] and kinds["other_part"]


def test_listings_persist_across_weeks(weeks: list[Week]) -> None:
    first, second = ({(r["source"], r["listing_id"]) for r in w.rows.values()} for w in weeks)
    assert len(first & second) >= 0.6 * len(second)
    assert weeks[1].info["persisting_listings"] >= 0.6 * weeks[1].info["expected_loaded"]


def test_truth_files(simulated: tuple[Path, dict[str, Any]]) -> None:
    root, manifest = simulated
    references = ledger(root, "truth_references.csv")
    weekly = ledger(root, "truth_weekly.csv")
    mondays = {w["market_week"] for w in manifest["weeks"]}
    assert len(weekly) == len(references) * len(mondays)
    assert {w["market_week"] for w in weekly} == mondays
    assert all(date.fromisoformat(m).weekday() == 0 for m in mondays)
    index = catalog.reference_index()
    in_catalog = [r for r in references if r["in_catalog"] == "true"]
    assert len(in_catalog) == len(catalog.REFERENCES)
    long_tail = [r for r in references if r["in_catalog"] == "false"]
    assert long_tail and all((r["brand"], r["reference_number"]) not in index for r in long_tail)
    for r in references:
        assert -0.10 <= float(r["annual_drift"]) <= 0.25
        assert 0.05 <= float(r["annual_volatility"]) <= 0.30
        assert r["reference_number"] == parsing.canonical_reference(r["reference_number"])
    drifts = [float(r["annual_drift"]) for r in references]
    assert min(drifts) < 0 < max(drifts)


# --------------------------------------------------------------------------------------------------
# Determinism, S3, the command line
# --------------------------------------------------------------------------------------------------


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    for name, seed in (("a", 11), ("b", 11), ("c", 12)):
        simulate(str(tmp_path / name), weeks=1, rows_per_week=3000, seed=seed, end_date=END)
    a, b, c = (tree(tmp_path / n) for n in "abc")
    assert a == b
    assert a.keys() != c.keys() or any(a[k] != c[k] for k in a)


def test_end_date_and_default(tmp_path: Path) -> None:
    assert default_end_date(date(2026, 11, 23)) == date(2026, 11, 22)  # Monday -> the Sunday before
    assert default_end_date(date(2026, 11, 22)) == date(2026, 11, 15)  # a Sunday: its week is not over
    assert default_end_date(date(2026, 11, 19)) == date(2026, 11, 15)
    manifest = simulate(str(tmp_path), weeks=3, rows_per_week=300, seed=1, end_date=date(2026, 11, 11))
    mondays = [w["market_week"] for w in manifest["weeks"]]
    assert mondays == ["2026-10-26", "2026-11-02", "2026-11-09"]
    with pytest.raises(ValueError, match="rows-per-week"):
        simulate(str(tmp_path), weeks=1, rows_per_week=0, seed=1)


def test_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    add_simulate_arguments(parser)
    defaults = parser.parse_args([])
    assert (defaults.weeks, defaults.rows_per_week, defaults.seed, defaults.end_date) == (1, 20_000, 42, None)
    args = parser.parse_args(
        [
            "--out",
            str(tmp_path),
            "--weeks",
            "1",
            "--rows-per-week",
            "500",
            "--seed",
            "3",
            "--end-date",
            "2026-11-14",
        ]
    )
    assert run_simulate_command(args) == 0
    captured = capsys.readouterr()
    assert "week 1/1 scrape_date=2026-11-14" in captured.err and "rows/s" in captured.err
    manifest = json.loads((tmp_path / "_simulator" / "manifest.json").read_text())
    assert (manifest["seed"], manifest["n_weeks"], manifest["rows_per_week"]) == (3, 1, 500)
    with pytest.raises(SystemExit):
        parser.parse_args(["--end-date", "14/11/2026"])


@pytest.fixture
def s3_endpoint(monkeypatch: pytest.MonkeyPatch) -> Any:
    """A real S3 API over HTTP (moto in server mode) on a free port."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_CONN_ID", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    storage.s3_client.cache_clear()
    try:
        yield endpoint
    finally:
        storage.s3_client.cache_clear()
        server.stop()


def test_s3_output(s3_endpoint: str, tmp_path: Path) -> None:
    storage.s3_client().create_bucket(Bucket="scrapes")
    manifest = simulate("s3://scrapes/raw", weeks=1, rows_per_week=2000, seed=5, end_date=END)
    week = manifest["weeks"][0]
    keys = [f.name for f in storage.list_files("s3://scrapes/raw")]
    scrape_keys = {k for k in keys if k.startswith("scrape_date=")}
    assert scrape_keys == {f"{week['folder']}/{f['name']}" for f in week["files"]} | {f"{week['folder']}/_SUCCESS"}
    assert {f"_simulator/{n}" for n in ("manifest.json", "truth_weekly.csv", "truth_references.csv")} <= set(keys)
    assert storage.list_dirs("s3://scrapes/raw") == ["_simulator", week["folder"]]
    # The bytes are those of a local run with the same seed.
    simulate(str(tmp_path), weeks=1, rows_per_week=2000, seed=5, end_date=END)
    local = tree(tmp_path)
    for key in (
        "_simulator/manifest.json",
        f"{week['folder']}/chrono24-1.csv",
        f"{week['folder']}/ebay-2.csv",
    ):
        assert storage.read_bytes(f"s3://scrapes/raw/{key}") == local[key]


def test_progress_callback(tmp_path: Path) -> None:
    lines: list[str] = []
    simulate(str(tmp_path), weeks=2, rows_per_week=400, seed=2, end_date=END, progress=lines.append)
    assert len(lines) == 3 and lines[0].startswith("week 1/2") and lines[-1].startswith("done")
