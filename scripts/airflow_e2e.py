#!/usr/bin/env python
"""End to end through a real Airflow: Celery + Redis + PostgreSQL + S3 (moto over HTTP).

What it does (``make airflow-e2e``):

1. checks that Redis answers on 127.0.0.1:6379 (else: prints ``SKIPPED: …`` and exits 0);
2. creates a fresh warehouse database and a fresh Airflow metadata database on the
   warehouse's PostgreSQL server (the embedded one by default), an ``AIRFLOW_HOME`` in a
   temporary folder, and starts a moto S3 server on a free port;
3. writes a simulated week to ``s3://watch-raw/raw`` (staging ``s3://watch-raw/staging``);
4. ``airflow db migrate`` + pools + connections + dbt manifest, then starts the
   api-server, scheduler, dag-processor, triggerer and a Celery worker as plain
   processes (CeleryExecutor, Redis broker, results in PostgreSQL);
5. triggers ``watch_ingest`` for that week through the REST API, waits for it and for
   the ``watch_transform`` run its Asset event triggers, checks that the marts hold rows
   for the week, prints the timings;
6. stops every process it started (process groups) and drops the two databases.

Exit status 0 when both DAG runs succeeded and the marts have the week (or on a skip).

    python scripts/airflow_e2e.py [--rows-per-week 20000] [--execution-mode watcher|local]
    python scripts/airflow_e2e.py --rows-per-week 1000000 --bench   # the benchmark
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
BUCKET = "watch-raw"
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer", "celery worker")


def say(message: str) -> None:
    print(f"[airflow-e2e {time.strftime('%H:%M:%S')}] {message}", flush=True)


def redis_available(host: str = REDIS_HOST, port: int = REDIS_PORT, timeout: float = 2.0) -> bool:
    """Whether a Redis server answers PING on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def with_database(dsn: str, database: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


def latest_sunday_midnight(now: datetime) -> datetime:
    """The latest Sunday 00:00 UTC at or before ``now``: the logical date of the latest scheduled run."""
    midnight = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight - timedelta(days=(midnight.weekday() + 1) % 7)


class Processes:
    """Processes started in their own process group, all stopped on exit."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, cmd: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = (self.log_dir / f"{name.replace(' ', '-')}.log").open("wb")
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO, start_new_session=True)
        self.procs[name] = proc
        return proc

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}; log tail:\n{self.tail(name)}")

    def tail(self, name: str, lines: int = 40) -> str:
        path = self.log_dir / f"{name.replace(' ', '-')}.log"
        try:
            return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop_all(self, grace: float = 20.0) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for proc in self.procs.values():
            remaining = max(0.1, deadline - time.monotonic())
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=remaining)
        for proc in self.procs.values():  # the group too: workers fork children
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)


class Api:
    """A small client of Airflow's REST API (v2) with a JWT from the simple auth manager."""

    def __init__(self, base_url: str, password: str) -> None:
        import httpx

        self.base = base_url
        self.password = password
        self.http = httpx.Client(base_url=base_url, timeout=30)
        self.token: str | None = None

    def wait_healthy(self, procs: Processes, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            procs.check_alive()
            try:
                if self.http.get("/api/v2/monitor/health").status_code == 200:
                    return
            except Exception:  # noqa: BLE001 - not listening yet
                pass
            time.sleep(1)
        raise TimeoutError(f"the api-server did not answer on {self.base} within {timeout:.0f} s")

    def login(self) -> None:
        resp = self.http.post("/auth/token", json={"username": "admin", "password": self.password})
        resp.raise_for_status()
        self.token = resp.json()["access_token"]
        self.http.headers["Authorization"] = f"Bearer {self.token}"

    def get(self, path: str, **params: Any) -> Any:
        resp = self.http.get(path, params=params or None)
        resp.raise_for_status()
        return resp.json()

    def wait_dag(self, dag_id: str, procs: Processes, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            procs.check_alive()
            resp = self.http.get(f"/api/v2/dags/{dag_id}")
            if resp.status_code == 200:
                return
            time.sleep(2)
        errors = self.get("/api/v2/importErrors")
        raise TimeoutError(f"DAG {dag_id} not parsed within {timeout:.0f} s; import errors: {errors}")

    def unpause(self, dag_id: str) -> None:
        resp = self.http.patch(f"/api/v2/dags/{dag_id}", json={"is_paused": False})
        resp.raise_for_status()

    def trigger(self, dag_id: str, run_id: str, logical_date: datetime, conf: dict[str, Any]) -> dict[str, Any]:
        body = {"dag_run_id": run_id, "logical_date": logical_date.isoformat(), "conf": conf}
        resp = self.http.post(f"/api/v2/dags/{dag_id}/dagRuns", json=body)
        if resp.status_code >= 400:
            raise RuntimeError(f"trigger {dag_id} failed: {resp.status_code} {resp.text}")
        return resp.json()

    def wait_run(self, dag_id: str, run_id: str, procs: Processes, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            procs.check_alive()
            run = self.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")
            if run["state"] != last:
                say(f"  {dag_id} {run_id}: {run['state']}")
                last = run["state"]
            if run["state"] in {"success", "failed"}:
                return run
            time.sleep(2)
        raise TimeoutError(f"{dag_id} run {run_id} did not finish within {timeout:.0f} s")

    def wait_new_run(self, dag_id: str, after: str, procs: Processes, timeout: float) -> dict[str, Any]:
        """The first asset-triggered run of ``dag_id`` whose ``run_after`` is at or after ``after`` (ISO)."""
        deadline = time.monotonic() + timeout
        cutoff = datetime.fromisoformat(after)
        while time.monotonic() < deadline:
            procs.check_alive()
            runs = self.get(f"/api/v2/dags/{dag_id}/dagRuns", order_by="-id", limit=10)["dag_runs"]
            fresh = [
                r
                for r in runs
                if r.get("run_type") == "asset_triggered" and datetime.fromisoformat(r["run_after"]) >= cutoff
            ]
            if fresh:
                return fresh[-1]
            time.sleep(2)
        raise TimeoutError(f"no asset-triggered {dag_id} run within {timeout:.0f} s")

    def task_states(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        out = self.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances", limit=500)
        return out["task_instances"]


def run_seconds(run: dict[str, Any]) -> float:
    start = datetime.fromisoformat(run["start_date"])
    end = datetime.fromisoformat(run["end_date"])
    return (end - start).total_seconds()


def print_task_table(api: Api, dag_id: str, run_id: str) -> None:
    rows = sorted(api.task_states(dag_id, run_id), key=lambda t: (t.get("start_date") or "", t["task_id"]))
    for ti in rows:
        index = f"[{ti['map_index']}]" if ti.get("map_index", -1) >= 0 else ""
        duration = ti.get("duration")
        took = f"{duration:6.1f}s" if isinstance(duration, int | float) else "      -"
        say(f"    {ti['state'] or 'none':<16} {took}  {ti['task_id']}{index}")


def dag_parse_times(env: dict[str, str]) -> dict[str, float]:
    """Seconds to parse each DAG file in a fresh interpreter that has already imported airflow.sdk
    (as the dag-processor has)."""
    code = (
        "import sys, time, json, importlib.util\n"
        "import airflow, airflow.sdk\n"
        "from airflow.dag_processing.dagbag import DagBag\n"
        "out = {}\n"
        "for f in sys.argv[1:]:\n"
        "    t = time.perf_counter(); bag = DagBag(dag_folder=f)\n"
        "    out[f.rsplit('/', 1)[-1]] = round(time.perf_counter() - t, 2)\n"
        "    assert not bag.import_errors, bag.import_errors\n"
        "print('PARSE ' + json.dumps(out))\n"
    )
    times: dict[str, float] = {}
    for dag_file in sorted((REPO / "airflow" / "dags").glob("*.py")):  # one interpreter per file: no shared imports
        proc = subprocess.run(
            [sys.executable, "-c", code, str(dag_file)], env=env, capture_output=True, text=True, check=False, cwd=REPO
        )
        line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("PARSE ")), None)
        if line is None:
            raise RuntimeError(f"parsing {dag_file.name} failed:\n{proc.stderr[-2000:]}")
        times.update(json.loads(line[6:]))
    return times


def processor_parse_times(log: Path) -> dict[str, list[float]]:
    """Per DAG file, the "Last Duration" values the dag-processor printed in its stats tables."""
    import re

    times: dict[str, list[float]] = {}
    pattern = re.compile(r"^\S+\s+(watch_\w+\.py)\s.*?\s(\d+\.\d+)s\s+\d{4}-\d\d-\d\dT")
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return times
    for line in lines:
        match = pattern.match(line)
        if match:
            times.setdefault(match.group(1), []).append(float(match.group(2)))
    return times


def mart_rows(dsn: str, week: date) -> dict[str, int]:
    """Rows of the week in every mart-like table named *_metrics / *_composition / *_volatility."""
    import psycopg

    counts: dict[str, int] = {}
    with psycopg.connect(dsn, autocommit=True) as conn:
        tables = conn.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema') "
            "and (table_name like '%%_metrics' or table_name like '%%_composition' "
            "or table_name like '%%_volatility') order by 2"
        ).fetchall()
        for schema, table in tables:
            has_week = conn.execute(
                "select 1 from information_schema.columns where table_schema = %s and table_name = %s "
                "and column_name = 'market_week'",
                (schema, table),
            ).fetchone()
            if has_week:
                n = conn.execute(
                    f'select count(*) from "{schema}"."{table}" where market_week = %s', (week,)
                ).fetchone()[0]
                counts[f"{schema}.{table}"] = int(n)
    return counts


@contextlib.contextmanager
def fresh_database(server_dsn: str, name: str, keep: bool) -> Iterator[str]:
    import psycopg

    admin = with_database(server_dsn, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')
        conn.execute(f'create database "{name}"')
    try:
        yield with_database(server_dsn, name)
    finally:
        if not keep:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'drop database if exists "{name}" with (force)')


def start_moto(procs: Processes, env: dict[str, str]) -> str:
    port = free_port()
    moto = Path(sys.executable).with_name("moto_server")
    procs.start("moto", [str(moto), "-H", "127.0.0.1", "-p", str(port)], env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return url
        procs.check_alive()
        time.sleep(0.3)
    raise TimeoutError("moto_server did not start")


def cleanup_redis_queue(queue: str) -> None:
    """Remove the run's Celery queue and kombu's bindings for it from Redis."""
    with contextlib.suppress(Exception):
        import redis

        client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=0, socket_timeout=3)
        client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows-per-week", type=int, default=20_000)
    parser.add_argument("--weeks", type=int, default=2, help="simulated weeks (the last one is triggered)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument(
        "--execution-mode",
        choices=["local", "watcher"],
        default=None,
        help="Cosmos execution mode (default: COSMOS_EXECUTION_MODE or the project default)",
    )
    parser.add_argument("--timeout", type=float, default=1800, help="seconds to wait for each DAG run")
    parser.add_argument("--worker-concurrency", type=int, default=4)
    parser.add_argument("--workdir", type=Path, default=None, help="keep AIRFLOW_HOME and logs here")
    parser.add_argument("--keep", action="store_true", help="keep the databases (and the workdir)")
    parser.add_argument("--bench", action="store_true", help="also print DAG parse times; one-line JSON figures")
    parser.add_argument("--json", type=Path, default=None, help="write the figures to this file")
    args = parser.parse_args(argv)

    if not redis_available():
        say(
            f"SKIPPED: no Redis on {REDIS_HOST}:{REDIS_PORT} (the Celery broker); start one "
            "(e.g. `redis-server --daemonize yes`) to run the Airflow end-to-end test."
        )
        return 0

    overall = time.perf_counter()
    figures: dict[str, Any] = {"rows_per_week": args.rows_per_week}
    token = uuid.uuid4().hex[:8]
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="airflow-e2e-"))
    workdir.mkdir(parents=True, exist_ok=True)
    log_dir = workdir / "logs"
    log_dir.mkdir(exist_ok=True)
    procs = Processes(log_dir)
    queue = f"watch_e2e_{token}"

    # Everything this process and its children read through ingest.settings
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "RAW_ROOT": f"s3://{BUCKET}/raw",
            "STAGING_ROOT": f"s3://{BUCKET}/staging",
            "REPORT_ROOT": f"s3://{BUCKET}/report",
            "AIRFLOW_HOME": str(workdir / "airflow"),
            "DO_NOT_TRACK": "1",
        }
    )
    os.environ.pop("AWS_CONN_ID", None)
    if args.execution_mode:
        os.environ["COSMOS_EXECUTION_MODE"] = args.execution_mode
    from ingest.orchestration.airflow_home import admin_password, airflow_bin, airflow_env, setup_airflow
    from ingest.orchestration.dags import INGEST_DAG_ID, TRANSFORM_DAG_ID
    from ingest.settings import load_settings
    from ingest.steps.calendar import market_week_of as monday_of
    from ingest.warehouse.connection import ensure_warehouse

    server_dsn = ensure_warehouse(load_settings())  # the embedded server (started if needed) or WAREHOUSE_DSN's
    say(
        f"workdir {workdir}; PostgreSQL {urlsplit(server_dsn).hostname}:{urlsplit(server_dsn).port}; "
        f"Cosmos execution mode: {load_settings().cosmos_execution_mode}"
    )
    ok = False
    try:
        with (
            fresh_database(server_dsn, f"watch_e2e_{token}", args.keep) as warehouse_dsn,
            fresh_database(server_dsn, f"airflow_e2e_{token}", args.keep) as metadata_dsn,
        ):
            try:
                os.environ["WAREHOUSE_DSN"] = warehouse_dsn
                base_env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__")}

                # -- S3 (moto over HTTP) with a simulated week
                t = time.perf_counter()
                s3_url = start_moto(procs, base_env)
                os.environ["AWS_ENDPOINT_URL_S3"] = s3_url
                base_env["AWS_ENDPOINT_URL_S3"] = s3_url
                import boto3

                boto3.client("s3", endpoint_url=s3_url).create_bucket(Bucket=BUCKET)
                settings = load_settings()
                logical_date = latest_sunday_midnight(datetime.now(UTC))
                week = monday_of(logical_date.date())
                from ingest.devtools.simulate import simulate

                simulate(
                    settings.raw_root,
                    weeks=args.weeks,
                    rows_per_week=args.rows_per_week,
                    seed=args.seed,
                    end_date=week + timedelta(days=6),
                )
                figures["simulate_s"] = round(time.perf_counter() - t, 1)
                say(
                    f"simulated {args.weeks} week(s) x {args.rows_per_week:,} rows into {settings.raw_root} "
                    f"(moto at {s3_url}) in {figures['simulate_s']} s; week under test: {week}"
                )

                # -- Airflow: configure, migrate, pools, connections, manifest
                t = time.perf_counter()
                api_port = free_port()
                env = airflow_env(
                    settings, executor="CeleryExecutor", api_port=api_port, metadata_dsn=metadata_dsn, components=True
                )
                env.update(
                    {
                        "AIRFLOW__OPERATORS__DEFAULT_QUEUE": queue,
                        "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(args.worker_concurrency),
                        "AIRFLOW__SCHEDULER__MIN_FILE_PROCESS_INTERVAL": "60",
                    }
                )
                full_env = {**base_env, **env}
                setup_airflow(settings, env=full_env)
                figures["setup_s"] = round(time.perf_counter() - t, 1)
                say(f"airflow db migrate + pools + connections + manifest in {figures['setup_s']} s")
                if args.bench:
                    figures["dag_parse_s"] = dag_parse_times(full_env)
                    say(f"DAG parse times (s): {figures['dag_parse_s']}")

                # -- the components
                t = time.perf_counter()
                airflow = airflow_bin()
                procs.start(
                    "api-server", [airflow, "api-server", "--host", "127.0.0.1", "--port", str(api_port)], full_env
                )
                procs.start("scheduler", [airflow, "scheduler"], full_env)
                procs.start("dag-processor", [airflow, "dag-processor"], full_env)
                procs.start("triggerer", [airflow, "triggerer"], full_env)
                procs.start(
                    "celery worker",
                    [airflow, "celery", "worker", "--queues", queue, "--concurrency", str(args.worker_concurrency)],
                    full_env,
                )
                api = Api(f"http://127.0.0.1:{api_port}", admin_password(settings))
                api.wait_healthy(procs, timeout=180)
                api.login()
                for dag_id in (INGEST_DAG_ID, TRANSFORM_DAG_ID):
                    api.wait_dag(dag_id, procs, timeout=240)
                figures["components_start_s"] = round(time.perf_counter() - t, 1)
                say(
                    f"api-server, scheduler, dag-processor, triggerer, celery worker up; DAGs parsed "
                    f"in {figures['components_start_s']} s"
                )

                # -- trigger the week. Its logical date is the latest scheduled tick, so unpausing does not
                #    make the scheduler add a second run for it.
                run_id = f"e2e__{week.isoformat()}__{token}"
                api.unpause(TRANSFORM_DAG_ID)
                api.trigger(INGEST_DAG_ID, run_id, logical_date, {"week": week.isoformat()})
                api.unpause(INGEST_DAG_ID)
                say(f"triggered {INGEST_DAG_ID} run {run_id} (week {week})")
                t = time.perf_counter()
                ingest_run = api.wait_run(INGEST_DAG_ID, run_id, procs, args.timeout)
                figures["ingest_wall_s"] = round(time.perf_counter() - t, 1)
                print_task_table(api, INGEST_DAG_ID, run_id)
                if ingest_run["state"] != "success":
                    raise RuntimeError(f"{INGEST_DAG_ID} run ended {ingest_run['state']}")
                figures["ingest_run_s"] = round(run_seconds(ingest_run), 1)

                t = time.perf_counter()
                transform = api.wait_new_run(TRANSFORM_DAG_ID, ingest_run["start_date"], procs, timeout=300)
                transform_run = api.wait_run(TRANSFORM_DAG_ID, transform["dag_run_id"], procs, args.timeout)
                figures["transform_wall_s"] = round(time.perf_counter() - t, 1)
                print_task_table(api, TRANSFORM_DAG_ID, transform["dag_run_id"])
                if transform_run["state"] != "success":
                    raise RuntimeError(f"{TRANSFORM_DAG_ID} run ended {transform_run['state']}")
                figures["transform_run_s"] = round(run_seconds(transform_run), 1)
                figures["transform_trigger"] = transform_run.get("run_type")

                counts = mart_rows(warehouse_dsn, week)
                figures["mart_rows"] = counts
                empty = [name for name, n in counts.items() if n == 0]
                if not counts or empty:
                    raise RuntimeError(f"marts without rows for week {week}: {empty or 'no mart tables found'}")
                say(f"marts with rows for {week}: " + ", ".join(f"{k.split('.')[-1]}={v}" for k, v in counts.items()))
                home = boto3.client("s3", endpoint_url=s3_url).head_object(Bucket=BUCKET, Key="report/index.html")
                say(f"market report published: s3://{BUCKET}/report/index.html ({home['ContentLength']:,} bytes)")
                ok = True
                parse = processor_parse_times(log_dir / "dag-processor.log")
                figures["dag_processor_parse_s"] = {f: max(v) for f, v in parse.items()}
                say(f"dag-processor parse durations (s): {parse}")
            except Exception as exc:  # noqa: BLE001 - report, show logs, clean up, exit 1
                say(f"FAILED: {type(exc).__name__}: {exc}")
                for name in procs.procs:
                    if name != "moto":
                        say(f"--- {name} log tail ---\n{procs.tail(name, 25)}")
                failed_logs = sorted((workdir / "airflow" / "logs").rglob("*.log"), key=lambda p: p.stat().st_mtime)
                for path in failed_logs[-3:]:
                    text = path.read_text(errors="replace")
                    if "error" in text.lower():
                        say(f"--- task log {path.relative_to(workdir)} ---\n" + "\n".join(text.splitlines()[-30:]))
            finally:
                procs.stop_all()  # before the databases are dropped
    except Exception as exc:  # noqa: BLE001 - set-up failures (databases, moto)
        say(f"FAILED: {type(exc).__name__}: {exc}")
    finally:
        procs.stop_all()
        cleanup_redis_queue(queue)
        figures["total_s"] = round(time.perf_counter() - overall, 1)
        figures["execution_mode"] = os.environ.get("COSMOS_EXECUTION_MODE") or "default"
        if not args.keep and args.workdir is None:
            import shutil

            shutil.rmtree(workdir, ignore_errors=True)

    say(
        ("PASSED" if ok else "FAILED")
        + ": "
        + ", ".join(f"{k}={v}" for k, v in figures.items() if k.endswith("_s") and not isinstance(v, dict))
    )
    if args.bench:
        print("AIRFLOW_E2E_FIGURES " + json.dumps(figures), flush=True)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
