"""The process context of the ingest's worker pools (chunk workers and validation).

Workers fork from a forkserver that has imported :mod:`ingest.runner.preload`
(the cleaning code with pyarrow, pandas and numpy, the catalog and the ECB
rates), so each one starts in milliseconds and shares those pages. This
module imports nothing heavy: the CLI starts the server first thing, so that
the server's imports run while the CLI does its own.
"""

from __future__ import annotations

import ctypes
import gc
import multiprocessing as mp
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing import forkserver
from multiprocessing.context import ForkServerContext

PRELOAD = ["ingest.runner.preload"]
PR_SET_THP_DISABLE = 41  # linux/prctl.h
BACKGROUND_NICE = 10


def tune_process() -> None:
    """Process settings for an ingest run, inherited by the forkserver and the workers it forks.

    - One OpenBLAS thread per process: nothing in the ingest multiplies matrices, but numpy's
      and scipy's OpenBLAS each start a pool of spinning threads (0.1-0.2 s a week).
    - No transparent huge pages (``prctl(PR_SET_THP_DISABLE)``, kept across fork and exec):
      numpy and pyarrow's allocator ask the kernel for 2 MB pages for their large buffers, and
      the kernel zeroes each whole 2 MB page on first touch. On a 1M-row week that zeroing was a
      quarter of the main process's CPU and 1.5 of the run's CPU-seconds, on a virtual machine
      where fresh memory is dear (measured: kernel time 2.3-3.1 CPU-s instead of 4.0-5.1).
      The setting is per process tree; the machine's own setting is left as it is.
    """
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    if sys.platform.startswith("linux"):
        try:
            args = (ctypes.c_ulong(1), ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0))
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_THP_DISABLE, *args)
        except (OSError, AttributeError):  # no prctl: huge pages stay as the machine has them
            pass


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


def lower_priority() -> None:
    """Run the calling thread (and the threads it starts) at nice +10 from now on (Linux).

    For work the load does not wait for until its COMMIT: the staging Parquet thread and the
    Great Expectations import. On two cores the COPY's server process then gets a whole core,
    and those fill the idle moments (measured on a 1M-row week: the COPY 1.55 s instead of 2.0).
    """
    if sys.platform.startswith("linux"):
        thread = threading.get_native_id()  # on Linux a priority is per thread
        os.setpriority(os.PRIO_PROCESS, thread, max(os.getpriority(os.PRIO_PROCESS, thread), BACKGROUND_NICE))


@contextmanager
def collector_paused() -> Iterator[None]:
    """No garbage collection during a block that allocates much and frees little (imports,
    warm-ups), then what it loaded frozen: the collector never walks it again, and forked
    children do not dirty its pages (copy-on-write) by collecting it either."""
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()
