"""Imported once by the chunk workers' forkserver, before it forks any worker.

The workers fork from that server, so whatever it loads here they share
(copy-on-write) instead of each re-doing it: the cleaning code with pyarrow,
pandas and numpy, the catalog's lookup tables, the ECB rate table (about 0.3 s
per worker otherwise), and one pass of the cleaning over a few rows (measured:
a worker's first 108,000-row chunk then cleans in 0.2 s instead of 0.5 s; the
first pass of the Arrow kernels in a process is the slow one, and a fork
inherits the warmed state). A failure here is not fatal: a worker then loads
what it needs itself, and reports any real error from its own task.
"""

from __future__ import annotations

import contextlib
import signal
from datetime import date

from ingest.runner.tuning import collector_paused

_WARM_UP_CSV = """listing_id,source,scraped_at,brand,reference_number,price,currency,condition,title,url
w1,chrono24.com,2026-01-05T10:00:00Z,Rolex,126610LN,"12,500",USD,Very good,Submariner,https://x/1
w2,chrono24.com,2026-01-05 10:00:00+01:00,ROLEX ,126610 LN,€ 9.800,,Unworn,,
w3,chrono24.com,2026-01-05,Patek,5711/1A-010,"1.234.500,00 ¥",JPY,Like new,,
w4,chrono24.com,1767607200,Omega,310.30.42.50.01.001,$120k,,Used,,
w5,chrono24.com,05/01/2026,Tudor,79230N,Price on request,USD,New,,
"""


def warm_up_cleaning() -> None:
    """Clean a few rows of every kind once, so that this process's Arrow kernels are warm."""
    from ingest.steps import reading
    from ingest.steps.cleaning import clean_files
    from ingest.steps.results import SourceFile

    data = _WARM_UP_CSV.encode()
    table, rows = reading.parse_csv_bytes(data)
    name = "scrape_date=2026-01-05/warm-up.csv"
    clean_files([reading.FileRead(SourceFile(name, name, len(data), date(2026, 1, 5)), table, rows, "loaded")])


# Workers are born ignoring SIGINT (the forkserver hands them the handlers it found after this
# import): a Ctrl-C reaches the whole process group, and the run's process stops its workers itself.
signal.signal(signal.SIGINT, signal.SIG_IGN)

# What is loaded here stays for the server's life.
with collector_paused():
    from ingest.steps import catalog, fx, week  # noqa: F401 - week: imported to be inherited

    with contextlib.suppress(Exception):
        catalog.brand_alias_map()
        catalog.reference_index()
        fx.warm_default_rates()
        warm_up_cleaning()
