"""Faults while a week loads, with real processes against a real PostgreSQL.

Each case runs ``ingest run`` as a program and hurts it the way production does: kill -9 in the
middle of the COPY, SIGTERM and SIGINT while it works, a second run of the same week at the same
time, a reader holding the week while the partition is swapped. The week's contents after each
are compared with those of the first, clean load (every column but the run id).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import psycopg
import pytest

from ingest.steps.schema import LISTINGS

WEEK = "2026-11-16"
ROWS = 60_000
COLUMNS = ", ".join(name for name in LISTINGS.names if name != "ingest_run_id")


@pytest.fixture(scope="module")
def env(fresh_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    data = tmp_path_factory.mktemp("data")
    environ = {**os.environ, "WAREHOUSE_DSN": fresh_dsn, "WATCH_DATA_DIR": str(data)}
    environ.pop("WAREHOUSE_LOCK_TIMEOUT", None)
    raw = data / "raw"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "ingest.cli",
            "simulate",
            "--out",
            str(raw),
            "--weeks",
            "1",
            "--rows-per-week",
            str(ROWS),
            "--seed",
            "5",
            "--end-date",
            "2026-11-21",
        ],
        env=environ,
        check=True,
        capture_output=True,
        timeout=300,
    )
    shutil.rmtree(raw / "_simulator")  # its answer sheets: not part of a scrape
    environ["RAW"] = str(raw)
    return environ


def _start(env: dict[str, str], **extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "ingest.cli", "run", "--source", env["RAW"], "--week", WEEK, "--quiet"],
        env={**env, **extra},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(process: subprocess.Popen[str], timeout: float = 300) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


def _rows(dsn: str, sql: str, *params: object) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql, params).fetchall()


def _week_contents(dsn: str) -> list[tuple]:
    return _rows(dsn, f"select {COLUMNS} from raw.listings where market_week = %s order by 1, 2, 3", WEEK)


def _wait_for(condition: Callable[[], object], timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _all_ended(processes: list[psutil.Process], timeout: float) -> list[int]:
    """The pids still alive (not zombies) after ``timeout``."""
    deadline = time.monotonic() + timeout
    alive = processes
    while alive and time.monotonic() < deadline:
        alive = [p for p in alive if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        time.sleep(0.1)
    return [p.pid for p in alive]


def _copy_in_progress(conn: psycopg.Connection) -> bool:
    """The COPY into the week's new partition has started and not finished (the new table is not
    visible to others yet: found by its statement)."""
    rows = conn.execute(
        """select p.tuples_processed from pg_stat_progress_copy p join pg_stat_activity a using (pid)
           where a.query like 'copy raw.listings_20261116_load %'"""
    ).fetchall()
    return bool(rows) and rows[0][0] < ROWS


def _ledger(dsn: str) -> dict[str, tuple]:
    return {
        r[0]: r[1:]
        for r in _rows(dsn, "select run_id::text, status, error, pid from raw.ingest_runs order by started_at")
    }


@pytest.fixture(scope="module")
def first_load(env: dict[str, str]) -> list[tuple]:
    code, _out, err = _finish(_start(env))
    assert code == 0, err
    contents = _week_contents(env["WAREHOUSE_DSN"])
    assert len(contents) > ROWS * 0.9
    return contents


def test_kill_9_during_the_copy_keeps_the_week_and_the_next_run_marks_it_abandoned(
    env: dict[str, str], first_load: list[tuple]
) -> None:
    dsn = env["WAREHOUSE_DSN"]
    before = set(_ledger(dsn))
    run = _start(env)
    with psycopg.connect(dsn, autocommit=True) as watcher:
        _wait_for(lambda: _copy_in_progress(watcher) or run.poll() is not None, 120, "the COPY")
        run.send_signal(signal.SIGSTOP)  # frozen mid-stream: the server waits for the rest of the COPY
        assert run.poll() is None, "the run ended before its COPY was seen"
        assert _copy_in_progress(watcher)
    children = _descendants(run.pid)
    run.kill()
    run.wait(timeout=30)
    assert _all_ended(children, timeout=20) == []  # the forkserver and the workers went with it

    killed = [run_id for run_id in _ledger(dsn) if run_id not in before]
    assert len(killed) == 1 and _ledger(dsn)[killed[0]][0] == "running"  # written before the files were read
    assert _week_contents(dsn) == first_load

    code, _out, err = _finish(_start(env))
    assert code == 0, err
    assert _week_contents(dsn) == first_load
    status, error, pid = _ledger(dsn)[killed[0]]
    assert status == "abandoned" and pid is None
    assert f"pid {run.pid} " in error and "ended without closing the run" in error


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_fails_the_run_and_leaves_no_process(
    env: dict[str, str], first_load: list[tuple], signum: signal.Signals
) -> None:
    dsn = env["WAREHOUSE_DSN"]
    before = set(_ledger(dsn))
    run = _start(env)

    def running_with_workers() -> list[psutil.Process]:
        started = [r for r, v in _ledger(dsn).items() if r not in before and v[0] == "running"]
        children = _descendants(run.pid)
        return children if started and len(children) >= 3 else []  # the forkserver and >= 2 workers

    children = _wait_for(lambda: running_with_workers() or run.poll() is not None, 120, "the workers")
    assert run.poll() is None, "the run ended before it was interrupted"
    children = _descendants(run.pid)
    sent = time.monotonic()
    run.send_signal(signum)
    code, _out, err = _finish(run, timeout=60)
    took = time.monotonic() - sent

    assert code == 128 + signum, err
    assert took < 20
    message = [line for line in err.splitlines() if line.strip()]
    assert message == [
        f"ingest run: week {WEEK} not loaded: interrupted by {signum.name}; "
        "its workers are stopped and its ledger row is failed"
    ], err
    assert _all_ended(children, timeout=10) == []
    (run_id,) = [r for r in _ledger(dsn) if r not in before]
    status, error, pid = _ledger(dsn)[run_id]
    assert (status, pid) == ("failed", None)
    assert signum.name in error
    sessions = _rows(dsn, "select count(*) from pg_stat_activity where application_name = %s", f"ingest run {run_id}")
    assert sessions == [(0,)]
    assert _week_contents(dsn) == first_load


def test_two_concurrent_runs_of_a_week_end_with_the_same_contents(env: dict[str, str], first_load: list[tuple]) -> None:
    dsn = env["WAREHOUSE_DSN"]
    before = set(_ledger(dsn))
    runs = [_start(env), _start(env)]
    results = [_finish(run) for run in runs]
    assert [code for code, _out, _err in results] == [0, 0], [err for _code, _out, err in results]
    assert _week_contents(dsn) == first_load
    new = {r: v for r, v in _ledger(dsn).items() if r not in before}
    assert [v[0] for v in new.values()] == ["succeeded", "succeeded"]
    # the week holds the rows of exactly one of them, the one that committed last
    loaded_by = _rows(dsn, "select distinct ingest_run_id::text from raw.listings where market_week = %s", WEEK)
    assert len(loaded_by) == 1 and loaded_by[0][0] in new


def test_a_reader_of_the_week_makes_the_swap_fail_after_the_lock_timeout(
    env: dict[str, str], first_load: list[tuple]
) -> None:
    dsn = env["WAREHOUSE_DSN"]
    before = set(_ledger(dsn))
    with psycopg.connect(dsn, application_name="a long report") as reader:
        reader.execute("select count(*) from raw.listings where market_week = %s", (WEEK,)).fetchone()
        reader_pid = reader.info.backend_pid
        run = _start(env, WAREHOUSE_LOCK_TIMEOUT="2")
        waiting = _wait_for(
            lambda: (
                _rows(
                    dsn,
                    "select 1 from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()",
                )
                or run.poll() is not None
            ),
            120,
            "the swap to wait for the reader",
        )
        assert run.poll() is None
        started_waiting = time.monotonic()
        code, _out, err = _finish(run, timeout=60)
        waited = time.monotonic() - started_waiting
        reader.rollback()

    assert code == 1
    assert waiting
    assert 1.5 < waited < 10
    message = [line for line in err.splitlines() if line.strip()]
    assert len(message) == 1, err
    head = f"ingest run: week {WEEK} not loaded: week {WEEK} not replaced: waited 2 s (WAREHOUSE_LOCK_TIMEOUT) "
    head += "for the readers of raw.listings to finish (held by "
    assert message[0].startswith(head), err
    assert message[0].endswith("); the previous contents stand, run the load again when they are done"), err
    assert f"pid {reader_pid}: a long report" in message[0]  # among the sessions holding it
    (run_id,) = [r for r in _ledger(dsn) if r not in before]
    status, error, _pid = _ledger(dsn)[run_id]
    assert status == "failed" and error.startswith("WeekLocked: week 2026-11-16 not replaced: waited 2 s")
    assert _week_contents(dsn) == first_load


def test_the_warehouse_is_checked_before_the_week_is_read(env: dict[str, str], tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    started = time.monotonic()
    unreachable = {"WAREHOUSE_DSN": f"postgresql://postgres@127.0.0.1:{port}/watch", "WATCH_DATA_DIR": str(tmp_path)}
    code, out, err = _finish(_start(env, **unreachable), timeout=120)
    assert code == 1 and out == ""
    assert not (tmp_path / "staging").exists()  # no chunk of the week was read
    assert err.startswith(f"ingest run: cannot reach the warehouse at 127.0.0.1:{port}/watch (")
    assert err.rstrip().endswith("check WAREHOUSE_DSN or start the database")
    assert len(err.strip().splitlines()) == 1
    assert time.monotonic() - started < 30
