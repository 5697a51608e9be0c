"""Process tuning of ``ingest run``: huge pages off, background priorities, the deferred GX imports."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def test_great_expectations_import_defers_scipy_stats_and_altair() -> None:
    """The validation imports GX without scipy.stats and altair, which load on first use."""
    script = """
import sys
import pandas as pd
from ingest.steps.validation import DEFERRED_MODULES, import_great_expectations

gx = import_great_expectations()
print(sorted(n for n in DEFERRED_MODULES if type(sys.modules[n]).__name__ == "_DeferredModule"))
print("scipy.stats._stats_py" in sys.modules, "altair.vegalite" in sys.modules)
context = gx.get_context(mode="ephemeral")
batch = (
    context.data_sources.add_pandas("p").add_dataframe_asset("a").add_batch_definition_whole_dataframe("b")
    .get_batch(batch_parameters={"dataframe": pd.DataFrame({"x": [1, 1, 2, 2, 3]})})
)
kl = gx.expectations.ExpectColumnKLDivergenceToBeLessThan(
    column="x", partition_object={"values": [1, 2, 3], "weights": [0.4, 0.4, 0.2]}, threshold=0.1
)
result = batch.validate(kl)
print(result.success, round(result.result["observed_value"], 6))
print("scipy.stats._stats_py" in sys.modules, type(sys.modules["scipy.stats"]).__name__)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "['altair', 'scipy.stats']",
        "False False",
        "True 0.0",  # the observed distribution equals the expected one: KL divergence 0
        "True module",  # the KL expectation used scipy.stats, which then loaded for real
    ]


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_tune_process_disables_huge_pages_for_the_process_tree() -> None:
    """``ingest run`` turns transparent huge pages off for itself and every process it starts."""
    script = """
import os
import subprocess
from ingest.runner.tuning import tune_process

tune_process()
own = [line.split()[1] for line in open("/proc/self/status") if line.startswith("THP_enabled")]
child = subprocess.run(["grep", "THP_enabled", "/proc/self/status"], capture_output=True, text=True).stdout.split()
print(own, child[1:])
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['0'] ['0']"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread priorities are Linux's")
def test_lower_priority_is_the_calling_threads_own() -> None:
    """The staging thread and the validation run at nice +10; the COPY's thread keeps its priority."""
    import os
    import threading

    from ingest.runner.tuning import BACKGROUND_NICE, lower_priority

    seen: list[int] = []

    def background() -> None:
        lower_priority()
        seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))

    own = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    thread = threading.Thread(target=background)
    thread.start()
    thread.join()
    assert seen == [max(own, BACKGROUND_NICE)]
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == own


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_ingest_tuning_off_switches_a_trick_off() -> None:
    """INGEST_TUNING_OFF=thp,nice (for paired measurements): huge pages stay, priorities too."""
    script = """
import os, threading
from ingest.runner.tuning import lower_priority, trick_enabled, tune_process, worker_context

tune_process()
lower_priority()
own = [line.split()[1] for line in open("/proc/self/status") if line.startswith("THP_enabled")]
print(own, os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
print(trick_enabled("thp"), trick_enabled("nice"), trick_enabled("preload"))
"""
    env = {**os.environ, "INGEST_TUNING_OFF": "thp, NICE"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [f"['1'] {os.getpriority(os.PRIO_PROCESS, 0)}", "False False True"]


def test_ingest_tuning_off_names_only_known_tricks(tmp_path: Path) -> None:
    env = {**os.environ, "INGEST_TUNING_OFF": "thp,turbo", "WATCH_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "ingest.cli", "run", "--all", "--source", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "ingest: setting INGEST_TUNING_OFF names turbo: it takes a comma-separated list of "
        "thp, nice, gc, preload, gx_defer"
    ]
