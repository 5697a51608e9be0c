"""The process context of the ingest's worker pools (chunk workers and validation).

Workers fork from a forkserver that has imported :mod:`ingest.runner.preload`
(the cleaning code with pyarrow, pandas and numpy, the catalog and the ECB
rates), so each one starts in milliseconds and shares those pages. This
module imports nothing heavy: the CLI starts the server first thing, so that
the server's imports run while the CLI does its own.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import multiprocessing as mp
import os
import select
import signal
import sys
import threading
import time
from collections.abc import Iterator
from multiprocessing import forkserver
from multiprocessing.context import ForkServerContext

PRELOAD = ["ingest.runner.preload"]
TRACKER_WARNING = "ignore:resource_tracker:UserWarning"  # its "leaked semaphore objects" notice


def trick_enabled(trick: str) -> bool:
    """Whether a process trick of this module is on (``INGEST_TUNING_OFF`` switches them off, to
    measure what each is worth: see docs/benchmarks.md)."""
    from ingest.settings import get_settings

    return trick not in get_settings().ingest_tuning_off


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
    if trick_enabled("thp"):
        _prctl(PR_SET_THP_DISABLE, 1)  # no prctl: huge pages stay as the machine has them


def _prctl(option: int, value: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        args = (ctypes.c_ulong(value), ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0))
        return ctypes.CDLL(None, use_errno=True).prctl(option, *args) == 0
    except (OSError, AttributeError):
        return False


def tie_worker_to_run(run_pid: int) -> None:
    """A worker's first step: it ends with its run's process (``run_pid``), never after it.

    - A watcher thread ends the worker as soon as that process has gone, even after a kill -9.
      Its parent, the forkserver, is no help: it waits for its last worker before it exits.
    - SIGINT ignored: a Ctrl-C reaches the whole process group, and the run's process, which
      handles it, kills its workers itself (without a traceback from each).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_after, args=(run_pid,), name="run-watch", daemon=True).start()


def _exit_after(pid: int) -> None:
    try:
        handle = os.pidfd_open(pid)  # readable once the process has exited
    except OSError:  # gone already, or no pidfd (Linux < 5.3): poll
        handle = None
    if handle is not None:
        select.select([handle], [], [])
    else:
        while _alive(pid):
            time.sleep(0.5)
    os._exit(1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def worker_context() -> ForkServerContext:
    """The forkserver context, with the preload set (idempotent; the server starts on first use)."""
    context = mp.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD if trick_enabled("preload") else [])
    return context


def start_worker_server() -> ForkServerContext:
    """Start the forkserver now (it preloads in the background); returns its context.

    Workers killed after a failure can leave semaphores registered with multiprocessing's
    resource tracker, which unlinks them at exit and warns about it on stderr, after the run's
    one-line reason. The warning tells nothing the ledger does not, so the tracker (started
    later, with this process's ``-W`` options) ignores it.
    """
    if TRACKER_WARNING not in sys.warnoptions:
        sys.warnoptions.append(TRACKER_WARNING)
    context = worker_context()
    forkserver.ensure_running()
    return context


def stop_worker_server(after_failure: bool = False) -> None:
    """Stop the forkserver and multiprocessing's resource tracker, and wait for them (at the end
    of ``ingest run``): no process of the run outlives it, not even by the moment they take to
    notice its exit. Their pools must be closed or terminated first (the forkserver waits for its
    last worker); a worker still alive is killed. Uses the two servers' own (private) stop.

    After a failure the pools' queues can still be held in reference cycles through the
    exception's frames: a collection first lets them unlink their semaphores, which the tracker
    would otherwise report on stderr as leaked (a second and third line after the one-line reason).
    """
    from multiprocessing import resource_tracker

    if after_failure:
        gc.collect()
    for child in mp.active_children():
        child.kill()
        child.join(timeout=5)
    for server in (forkserver._forkserver, resource_tracker._resource_tracker):
        with contextlib.suppress(AttributeError, OSError, ChildProcessError):  # not started, or gone
            server._stop()


def lower_priority() -> None:
    """Run the calling thread (and the threads it starts) at nice +10 from now on (Linux).

    For work the load does not wait for until its COMMIT: the staging Parquet thread and the
    Great Expectations import. On two cores the COPY's server process then gets a whole core,
    and those fill the idle moments (measured on a 1M-row week: the COPY 1.55 s instead of 2.0).
    """
    if sys.platform.startswith("linux") and trick_enabled("nice"):
        thread = threading.get_native_id()  # on Linux a priority is per thread
        os.setpriority(os.PRIO_PROCESS, thread, max(os.getpriority(os.PRIO_PROCESS, thread), BACKGROUND_NICE))


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """No garbage collection during a block that allocates much and frees little (imports,
    warm-ups), then what it loaded frozen: the collector never walks it again, and forked
    children do not dirty its pages (copy-on-write) by collecting it either."""
    if not trick_enabled("gc"):
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()
