"""The process context of the ingest's worker pools (chunk workers and validation).

Workers fork from a forkserver that has imported :mod:`ingest.worker_preload`
(the cleaning code with pyarrow, pandas and numpy, the catalog and the ECB
rates), so each one starts in milliseconds and shares those pages. This
module imports nothing heavy: the CLI starts the server first thing, so that
the server's imports run while the CLI does its own.
"""

from __future__ import annotations

import multiprocessing as mp
from multiprocessing import forkserver
from multiprocessing.context import ForkServerContext

PRELOAD = ["ingest.worker_preload"]


def worker_context() -> ForkServerContext:
    """The forkserver context, with the preload set (idempotent; the server starts on first use)."""
    context = mp.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


def start_worker_server() -> ForkServerContext:
    """Start the forkserver now (it preloads in the background); returns its context."""
    context = worker_context()
    forkserver.ensure_running()
    return context
