"""The first hour with the project: what `make demo` and `make sample-data` tell a new user."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

from ingest.devtools.demo import _warnings_note, airflow_dbt_warnings
from ingest.orchestration.airflow_home import split_task_logs
from ingest.orchestration.dbt import SINGULAR_TEST_HINT, dbt_warnings, failed_singular_tests

REPO = Path(__file__).resolve().parents[3]


def _result(name: str, status: str, path: str, message: str | None = None) -> SimpleNamespace:
    node = SimpleNamespace(name=name, resource_type="test", original_file_path=path)
    return SimpleNamespace(node=node, status=status, message=message)


def test_dbt_warnings_are_counted_and_listed() -> None:
    results = [
        _result("not_null_x", "pass", "models/x.yml"),
        _result("accepted_range_y", "warn", "models/y.yml", "Got 3 results, configured to warn if != 0"),
        _result("assert_z", "warn", "tests/marts/z.sql", "Got 1 result, configured to warn if != 0"),
    ]
    warnings = dbt_warnings(results)
    assert warnings == [
        "accepted_range_y: Got 3 results, configured to warn if != 0",
        "assert_z: Got 1 result, configured to warn if != 0",
    ]
    assert _warnings_note(warnings) == (
        ", 2 dbt warning(s):\n"
        "        WARN accepted_range_y: Got 3 results, configured to warn if != 0\n"
        "        WARN assert_z: Got 1 result, configured to warn if != 0"
    )
    assert _warnings_note([]) == ""


def test_the_warning_lines_of_an_airflow_log() -> None:
    log = (
        "2026-12-02T01:00:00Z [info] \x1b[33mWarning in test accepted_range_y (models/marts/_m.yml)\x1b[0m\n"
        '{"info": {"msg": "Warning in test assert_z (tests/marts/z.sql)", "level": "warn"}}\n'
        "2026-12-02T01:00:01Z [info] Warning in test accepted_range_y (models/marts/_m.yml)\n"
        "2026-12-02T01:00:02Z [info] Done. PASS=10 WARN=2 ERROR=0\n"
    )
    assert airflow_dbt_warnings(log) == [
        "accepted_range_y (models/marts/_m.yml)",
        "assert_z (tests/marts/z.sql)",
    ]


def test_a_failed_singular_test_says_what_to_run() -> None:
    results = [
        _result("assert_reference_median_matches_listings", "fail", "tests/marts/reference/a.sql"),
        _result("not_null_x", "fail", "models/x.yml"),
        _result("assert_brand_composition_matches_listings", "pass", "tests/marts/brand/b.sql"),
    ]
    assert failed_singular_tests(results) == ["assert_reference_median_matches_listings"]
    assert failed_singular_tests(results[1:]) == []
    assert "uv run ingest dbt build --vars '{from_week: YYYY-MM-DD}'" in SINGULAR_TEST_HINT


def test_dags_test_output_is_cut_per_task() -> None:
    output = (
        "parsing\n"
        "[info] [DAG TEST] starting task_id=plan map_index=-1 [airflow]\n"
        "planned 2 chunks\n"
        "[info] [DAG TEST] end task task_id=plan map_index=-1 [airflow]\n"
        "[info] [DAG TEST] starting task_id=chunks.process_chunk map_index=1\n"
        "read 10 rows\n"
        "[info] [DAG TEST] running trigger in line\n"
        "[info] [DAG TEST] end task task_id=chunks.process_chunk map_index=1\n"
        "run finished\n"
    )
    parts = split_task_logs(output)
    assert list(parts) == [("plan", -1), ("chunks.process_chunk", 1)]
    assert parts[("plan", -1)].splitlines()[1] == "planned 2 chunks"
    assert "running trigger in line" in parts[("chunks.process_chunk", 1)]
    assert "run finished" not in "".join(parts.values())


def test_simulate_quiet_prints_only_the_summary(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "ingest.cli", "simulate", "--out", str(tmp_path), "--rows-per-week", "300"]
    quiet = subprocess.run([*cmd, "--quiet"], capture_output=True, text=True, timeout=300, check=True)
    assert quiet.stderr == ""
    assert quiet.stdout.startswith(f"simulated 1 week(s) to {tmp_path}: ")
    loud = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=True)
    assert loud.stderr.startswith("week 1/1 scrape_date=")


def test_sample_data_has_a_database_of_its_own() -> None:
    plan = subprocess.run(
        ["make", "-n", "sample-data"], cwd=REPO, capture_output=True, text=True, timeout=60, check=True
    ).stdout
    steps = [line for line in plan.splitlines() if " ingest simulate " in line or " ingest run " in line]
    assert len(steps) == 2
    assert all(line.startswith("EMBEDDED_DATABASE=watch_sample ") for line in steps)
    assert "--quiet" in steps[0] and "--quiet" in steps[1]
