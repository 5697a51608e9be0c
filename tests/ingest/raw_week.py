"""A hand-made scrape folder with every row-level and file-level case (shared by the ingest tests)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

WEEK = date(2026, 11, 16)  # Monday; the scrape finished on Saturday 2026-11-21
HEADER = "listing_id,source,scraped_at,brand,reference_number,price,currency,condition"

GOOD_ROWS = [
    # id, source, scraped_at, brand, reference, price, currency, condition
    ("G1", "chrono24.com", "2026-11-21T10:00:00Z", "Rolex", "126610LN", "12,500", "USD", "Very good"),
    ("G2", "chrono24.com", "2026-11-21 10:00:00+01:00", "ROLEX ", "126610 LN", "€ 9.800", "", "Unworn"),
    ("G3", "chrono24.com", "2026-11-21", "rolex", "Ref. 126610LN", "CHF 12’500.00", "CHF", "New"),
    ("G4", "chrono24.com", "2026-11-21", "Rolex", "126610-LN", "12'500.-", "Fr.", "Good"),
    ("G5", "chrono24.com", "2026-11-21", "Patek", "5711/1A-010", "1.234.500,00 ¥", "JPY", "Like new"),
    ("G6", "chrono24.com", "2026-11-21", "Patek Philippe", "5711/1A-010", "76万円", "", "Mint"),
    ("G7", "chrono24.com", "2026-11-21", "PP", "5711/1A-010", "$120k", "", "Used"),
]
BAD_ROWS = {
    "missing_listing_id": ("", "chrono24.com", "2026-11-21", "Rolex", "126610LN", "12500", "USD", "New"),
    "missing_brand": ("B2", "chrono24.com", "2026-11-21", "  ", "126610LN", "12500", "USD", "New"),
    "missing_reference": ("B3", "chrono24.com", "2026-11-21", "Rolex", "", "12500", "USD", "New"),
    "bad_timestamp": (
        "B4",
        "chrono24.com",
        "2026-10-01T10:00:00Z",
        "Rolex",
        "126610LN",
        "12500",
        "USD",
        "New",
    ),
    "no_price": ("B5", "chrono24.com", "2026-11-21", "Rolex", "126610LN", "", "USD", "New"),
    "price_on_request": (
        "B6",
        "chrono24.com",
        "2026-11-21",
        "Rolex",
        "126610LN",
        "Price on request",
        "USD",
        "",
    ),
    "unparseable_price": ("B7", "chrono24.com", "2026-11-21", "Rolex", "126610LN", "12,50,0", "USD", "New"),
    "unknown_currency": ("B8", "chrono24.com", "2026-11-21", "Rolex", "126610LN", "12500", "BTC", "New"),
    "currency_conflict": ("B9", "chrono24.com", "2026-11-21", "Rolex", "126610LN", "€ 9.800", "USD", "New"),
    "price_out_of_bounds": ("B10", "chrono24.com", "2026-11-21", "Rolex", "126610LN", "12", "USD", "New"),
}


def _csv_line(row: tuple[str, ...]) -> str:
    return ",".join(f'"{v}"' if ("," in v or '"' in v) else v for v in row)


def write_week(root: Path) -> Path:
    folder = root / "scrape_date=2026-11-21"
    folder.mkdir(parents=True, exist_ok=True)
    lines = [HEADER] + [_csv_line(r) for r in GOOD_ROWS] + [_csv_line(r) for r in BAD_ROWS.values()]
    # a BOM, a shuffled/space-padded header with an unknown extra column, a quoted newline
    (folder / "chrono24-1.csv").write_text("\ufeff" + "\n".join(lines) + "\n", encoding="utf-8")
    (folder / "ebay.csv").write_text(
        " Price , CURRENCY,listing_id,source,scraped_at,brand,reference_number,condition,title,extra\n"
        '13000,USD,E1,ebay.com,2026-11-21,Rolex,126610LN,Good,"two\nlines, ""quoted""",x\n'
        "13100,USD,E2,ebay.com,2026-11-21,Rolex,126610LN,Good,plain,x\n"
        # E1 again with an older scraped_at in the same file: the earlier row wins (latest scraped_at)
        "13200,USD,E1,ebay.com,2026-11-20,Rolex,126610LN,Good,older,x\n",
        encoding="utf-8",
    )
    # the same ebay listing E2 in a second part, later scraped_at: this copy wins
    (folder / "ebay-2.csv").write_text(
        "listing_id,source,scraped_at,brand,reference_number,price,currency,condition\n"
        "E2,ebay.com,2026-11-21T23:00:00Z,Rolex,126610LN,13150,USD,Good\n",
        encoding="utf-8",
    )
    (folder / "watchuseek.csv").write_text(
        "listing_id,source,scraped_at,brand,price,currency,condition\n"
        "W1,watchuseek.com,2026-11-21,Rolex,9000,USD,Good\n"
    )
    (folder / "broken.csv").write_text(HEADER + '\nX1,broken.com,2026-11-21,Rolex,126610LN,"12500,USD,New\n')
    (folder / "empty.csv").write_text("")
    (folder / "header-only.csv").write_text(HEADER + "\n")
    return root
