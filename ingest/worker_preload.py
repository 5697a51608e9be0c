"""Imported once by the chunk workers' forkserver, before it forks any worker.

The workers fork from that server, so whatever it loads here they share
(copy-on-write) instead of each re-doing it: the cleaning code with pyarrow,
pandas and numpy, the catalog's lookup tables and the ECB rate table (about
0.3 s per worker otherwise). A failure here is not fatal: a worker then loads
what it needs itself, and reports any real error from its own task.
"""

from __future__ import annotations

import contextlib

from ingest import catalog, fx, pipeline  # noqa: F401 - imported to be inherited by the workers

with contextlib.suppress(Exception):
    catalog.brand_alias_map()
    catalog.reference_index()
    fx.warm_default_rates()
