"""The container stack: docker-compose.yml, the Dockerfile and the docker/ scripts.

No Docker engine runs here, so the stack is checked in three ways:

* the compose client alone (``docker compose config``, or the standalone
  ``docker-compose``) validates and renders the file with an env file of
  placeholders (skipped, with the reason, when no compose client is installed);
  the same structural assertions also run on the YAML source;
* the scripts the containers run (entrypoint, airflow-init, minio-init) run
  here as plain processes, with stand-ins for ``airflow``/``ingest``/``dbt``/``mc``;
* every ``airflow`` command the stack runs is parsed by Airflow's own CLI parser.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
DOCKER_DIR = ROOT / "docker"
ENV_EXAMPLE = DOCKER_DIR / "compose.env.example"
VENV_BIN = Path(sys.executable).parent

AIRFLOW_SERVICES = {
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
    "flower",
    "airflow-cli",
}
EXPECTED_SERVICES = AIRFLOW_SERVICES | {"postgres", "warehouse", "redis", "minio", "minio-init"}
ONE_SHOT = {"airflow-init", "minio-init", "airflow-cli"}
LONG_RUNNING_AIRFLOW = AIRFLOW_SERVICES - ONE_SHOT
PROFILED = {"flower": "flower", "airflow-cli": "debug"}

# Variables that hold secrets: required (`${VAR:?...}`), never given a default.
SECRET_VARS = (
    "AIRFLOW_DB_PASSWORD",
    "WAREHOUSE_PASSWORD",
    "MINIO_ROOT_USER",
    "MINIO_ROOT_PASSWORD",
    "AIRFLOW_FERNET_KEY",
    "AIRFLOW_JWT_SECRET",
    "AIRFLOW_API_SECRET_KEY",
    "AIRFLOW_ADMIN_PASSWORD",
    "FLOWER_BASIC_AUTH",
    "REDIS_PASSWORD",
)
FAB_AUTH_MANAGER = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"
# Environment keys of the services whose values are (or embed) a secret.
SECRET_KEY_PATTERN = re.compile(
    r"PASSWORD|SECRET|FERNET|KEY_ID|BASIC_AUTH|SQL_ALCHEMY_CONN|RESULT_BACKEND|BROKER_URL|REDISCLI_AUTH|DSN"
)
# Well-known default credentials that must never be hard-coded.
KNOWN_DEFAULT_SECRETS = ("minioadmin", "airflow:airflow@", "postgres:postgres@", ":changeme@")

EXPECTED_COMMANDS = {
    "airflow-apiserver": ["airflow", "api-server"],
    "airflow-scheduler": ["airflow", "scheduler"],
    "airflow-dag-processor": ["airflow", "dag-processor"],
    "airflow-triggerer": ["airflow", "triggerer"],
    "airflow-worker": ["airflow", "celery", "worker"],
    "flower": ["airflow", "celery", "flower"],
    "airflow-init": ["bash", "/opt/watch/docker/init-airflow.sh"],
}


# --- helpers


def _env_example() -> dict[str, str]:
    values = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def _sentinel(name: str) -> str:
    value = f"sentinel-{name.lower().replace('_', '-')}"
    return f"admin:{value}" if name == "FLOWER_BASIC_AUTH" else value


def _write_env_file(path: Path, drop: tuple[str, ...] = (), **values_: str) -> Path:
    """docker/compose.env.example with a traceable sentinel for every secret (and ``values_``)."""
    values = _env_example()
    for name in SECRET_VARS:
        values[name] = _sentinel(name)
    values.update(values_)
    for name in drop:
        values.pop(name, None)
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    return path


def _compose_client() -> list[str] | None:
    docker = shutil.which("docker")
    if docker:
        probe = subprocess.run([docker, "compose", "version"], capture_output=True, text=True, check=False)
        if probe.returncode == 0:
            return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def _compose_config(env_file: Path) -> subprocess.CompletedProcess[str]:
    client = _compose_client()
    if client is None:
        pytest.skip(
            "no compose client: neither the `docker compose` plugin nor `docker-compose` is installed "
            "(the docker client alone cannot validate docker-compose.yml)"
        )
    # The shell's own values would override the env file: leave them out.
    names = set(_env_example()) | set(SECRET_VARS)
    env = {k: v for k, v in os.environ.items() if k not in names and not k.startswith("COMPOSE_")}
    profiles = [arg for profile in sorted(set(PROFILED.values())) for arg in ("--profile", profile)]
    cmd = [
        *client,
        "--project-directory", str(ROOT),
        "--project-name", "watch-compose-test",
        "--env-file", str(env_file),
        "-f", str(COMPOSE_FILE),
        *profiles,
        "config",
    ]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=120, check=False)


def _source_text() -> str:
    """docker-compose.yml without its comment lines."""
    lines = COMPOSE_FILE.read_text().splitlines()
    return "\n".join(line for line in lines if not line.lstrip().startswith("#"))


def _source() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.partition("=")[::2] for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def _target_ports(service: dict[str, Any]) -> list[int]:
    targets = []
    for port in service.get("ports") or []:
        if isinstance(port, dict):
            targets.append(int(port["target"]))
        else:
            targets.append(int(str(port).split(":")[-1].split("/")[0]))
    return targets


def _command(service: dict[str, Any]) -> list[str]:
    command = service.get("command") or []
    return shlex.split(command) if isinstance(command, str) else [str(c) for c in command]


def _healthcheck_test(service: dict[str, Any]) -> list[str]:
    test = (service.get("healthcheck") or {}).get("test") or []
    return shlex.split(test) if isinstance(test, str) else [str(t) for t in test]


# --- fixtures


@pytest.fixture(scope="module")
def env_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write_env_file(tmp_path_factory.mktemp("compose") / "compose.env")


@pytest.fixture(scope="module")
def rendered_run(env_file: Path) -> subprocess.CompletedProcess[str]:
    return _compose_config(env_file)


@pytest.fixture(scope="module")
def rendered(rendered_run: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert rendered_run.returncode == 0, rendered_run.stderr
    return yaml.safe_load(rendered_run.stdout)


@pytest.fixture(params=["source", "rendered"])
def config(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The compose model: the YAML source (anchors merged) and `docker compose config`'s rendering."""
    if request.param == "source":
        return _source()
    return request.getfixturevalue("rendered")


# --- compose client


def test_compose_config_exits_zero(rendered_run: subprocess.CompletedProcess[str]) -> None:
    assert rendered_run.returncode == 0, rendered_run.stderr


def test_a_missing_secret_stops_compose(tmp_path: Path) -> None:
    env_file = _write_env_file(tmp_path / "compose.env", drop=("AIRFLOW_FERNET_KEY",))
    run = _compose_config(env_file)
    assert run.returncode != 0
    assert "AIRFLOW_FERNET_KEY" in run.stderr


def test_secrets_come_from_the_env_file(rendered: dict[str, Any]) -> None:
    services = rendered["services"]
    for name in LONG_RUNNING_AIRFLOW | {"airflow-init"}:
        env = _environment(services[name])
        assert env["AWS_ACCESS_KEY_ID"] == _sentinel("MINIO_ROOT_USER"), name
        assert env["AWS_SECRET_ACCESS_KEY"] == _sentinel("MINIO_ROOT_PASSWORD"), name
        assert env["AIRFLOW__CORE__FERNET_KEY"] == _sentinel("AIRFLOW_FERNET_KEY"), name
        assert env["AIRFLOW__API_AUTH__JWT_SECRET"] == _sentinel("AIRFLOW_JWT_SECRET"), name
        assert env["AIRFLOW__API__SECRET_KEY"] == _sentinel("AIRFLOW_API_SECRET_KEY"), name
        assert f":{_sentinel('AIRFLOW_DB_PASSWORD')}@postgres:5432/" in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
        assert env["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql://")
        assert env["WAREHOUSE_DSN"] == f"postgresql://watch:{_sentinel('WAREHOUSE_PASSWORD')}@warehouse:5432/watch"
        assert env["AIRFLOW__CELERY__BROKER_URL"] == f"redis://:{_sentinel('REDIS_PASSWORD')}@redis:6379/0", name
    redis = _environment(services["redis"])
    assert redis["REDIS_PASSWORD"] == redis["REDISCLI_AUTH"] == _sentinel("REDIS_PASSWORD")
    assert _environment(services["minio"])["MINIO_ROOT_PASSWORD"] == _sentinel("MINIO_ROOT_PASSWORD")
    assert _environment(services["postgres"])["POSTGRES_PASSWORD"] == _sentinel("AIRFLOW_DB_PASSWORD")
    assert _environment(services["warehouse"])["POSTGRES_PASSWORD"] == _sentinel("WAREHOUSE_PASSWORD")
    init = _environment(services["airflow-init"])
    for name in SECRET_VARS:  # under their own names, for the placeholder check
        assert init[name] == _sentinel(name), name
    assert "AIRFLOW_ADMIN_PASSWORD" not in _environment(services["airflow-apiserver"])
    text = json.dumps(rendered)
    for literal in KNOWN_DEFAULT_SECRETS:
        assert literal not in text


# --- structure (source and rendered)


def test_expected_services_exist(config: dict[str, Any]) -> None:
    assert set(config["services"]) >= EXPECTED_SERVICES


def test_airflow_services_use_the_built_image_and_celery(config: dict[str, Any]) -> None:
    services = config["services"]
    images = {services[name]["image"] for name in AIRFLOW_SERVICES}
    assert len(images) == 1, images
    for name in AIRFLOW_SERVICES:
        build = services[name]["build"]
        context = build if isinstance(build, str) else build["context"]
        assert (ROOT / context).resolve() == ROOT, name
        assert (build if isinstance(build, str) else build.get("dockerfile", "Dockerfile")) in {
            "Dockerfile",
            context,
        }
        env = _environment(services[name])
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert re.fullmatch(r"redis://:[^@]+@redis:6379/0", env["AIRFLOW__CELERY__BROKER_URL"]), name
        assert env["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/watch/airflow/dags", name
        assert env["AIRFLOW__CORE__LOAD_EXAMPLES"].lower() == "false", name
        assert env["AIRFLOW__CORE__AUTH_MANAGER"] == FAB_AUTH_MANAGER, name
        assert not any("SIMPLE_AUTH_MANAGER" in key for key in env), name
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
        assert "@postgres:5432/" in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"], name


def test_project_settings_are_wired(config: dict[str, Any]) -> None:
    from ingest.settings import POOL_SETTINGS

    env = _environment(config["services"]["airflow-worker"])
    for var, _default in POOL_SETTINGS.values():
        assert var in env, var
    for var in (
        "WAREHOUSE_DSN",
        "RAW_ROOT",
        "STAGING_ROOT",
        "DBT_SCHEMA",
        "DBT_TARGET",
        "WAREHOUSE_RAW_SCHEMA",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_DEFAULT_REGION",
        "WATCH_HOME",
    ):
        assert var in env, var
    assert env["AWS_ENDPOINT_URL_S3"] == "http://minio:9000"
    assert env["WATCH_HOME"] == "/opt/watch"
    assert env["RAW_ROOT"].startswith("s3://")
    assert env["STAGING_ROOT"].startswith("s3://")
    assert env["EXPORT_ROOT"].startswith("s3://") and env["EXPORT_ROOT"].endswith("/marts")
    assert "180" in env["SCRAPE_POKE_INTERVAL"] and "86400" in env["SCRAPE_WAIT_TIMEOUT"]  # source or rendered
    assert env["WAREHOUSE_DSN"].startswith("postgresql://")
    assert "@warehouse:5432/" in env["WAREHOUSE_DSN"]


def test_worker_is_scalable(config: dict[str, Any]) -> None:
    worker = config["services"]["airflow-worker"]
    assert "container_name" not in worker
    assert not worker.get("ports"), "a published port would clash with --scale airflow-worker=3"
    for name, service in config["services"].items():
        assert "container_name" not in service, name


def test_every_service_has_a_healthcheck(config: dict[str, Any]) -> None:
    for name, service in config["services"].items():
        if name in ONE_SHOT:
            continue
        test = _healthcheck_test(service)
        assert test, f"{name} has no healthcheck"
        assert test[0] in {"CMD", "CMD-SHELL"}, name
        assert not (service.get("healthcheck") or {}).get("disable"), name


def test_healthchecks_probe_the_right_things(config: dict[str, Any]) -> None:
    services = config["services"]
    assert "http://localhost:8080/api/v2/monitor/health" in _healthcheck_test(services["airflow-apiserver"])
    assert "http://localhost:8974/health" in _healthcheck_test(services["airflow-scheduler"])
    assert "DagProcessorJob" in " ".join(_healthcheck_test(services["airflow-dag-processor"]))
    assert "TriggererJob" in " ".join(_healthcheck_test(services["airflow-triggerer"]))
    assert "inspect ping" in " ".join(_healthcheck_test(services["airflow-worker"]))
    assert "redis-cli" in _healthcheck_test(services["redis"])  # authenticated by REDISCLI_AUTH
    for name in ("postgres", "warehouse"):
        assert "pg_isready" in " ".join(_healthcheck_test(services[name])), name


def test_profiles(config: dict[str, Any]) -> None:
    for name, service in config["services"].items():
        if name in PROFILED:
            assert PROFILED[name] in (service.get("profiles") or []), name
        else:
            assert not service.get("profiles"), f"{name} must start with a plain `docker compose up`"


def test_start_order_uses_conditions(config: dict[str, Any]) -> None:
    services = config["services"]

    def condition(name: str, dependency: str) -> str | None:
        depends = services[name].get("depends_on") or {}
        assert isinstance(depends, dict), f"{name}: depends_on needs conditions"
        return (depends.get(dependency) or {}).get("condition")

    for name in LONG_RUNNING_AIRFLOW:
        assert condition(name, "airflow-init") == "service_completed_successfully", name
        assert condition(name, "postgres") == "service_healthy", name
        assert condition(name, "redis") == "service_healthy", name
    assert condition("airflow-init", "postgres") == "service_healthy"
    assert condition("airflow-init", "warehouse") == "service_healthy"
    assert condition("airflow-init", "minio-init") == "service_completed_successfully"
    assert condition("minio-init", "minio") == "service_healthy"
    assert condition("airflow-worker", "airflow-apiserver") == "service_healthy"


def test_commands(config: dict[str, Any]) -> None:
    services = config["services"]
    for name, command in EXPECTED_COMMANDS.items():
        assert _command(services[name]) == command, name
    assert 8080 in _target_ports(services["airflow-apiserver"])
    assert _command(services["minio"])[:2] == ["server", "/data"]
    assert "--console-address" in _command(services["minio"])


def test_images(config: dict[str, Any]) -> None:
    services = config["services"]
    assert re.fullmatch(r"redis:7(\.\d+)*(-\w+)?", services["redis"]["image"])
    for name in ("postgres", "warehouse"):
        assert re.fullmatch(r"postgres:16(\.\d+)*(-\w+)?", services[name]["image"]), name
    assert "minio/minio" in services["minio"]["image"]
    assert "minio/mc" in services["minio-init"]["image"]
    assert set(services) - AIRFLOW_SERVICES == {"postgres", "warehouse", "redis", "minio", "minio-init"}


def _host_ips(service: dict[str, Any]) -> list[str | None]:
    ips = []
    for port in service.get("ports") or []:
        if isinstance(port, dict):
            ips.append(port.get("host_ip"))
        else:
            match = re.match(r"(\d+\.\d+\.\d+\.\d+|\$\{AIRFLOW_API_BIND:-127\.0\.0\.1\}):", str(port))
            ips.append(match.group(1).replace("${AIRFLOW_API_BIND:-127.0.0.1}", "127.0.0.1") if match else None)
    return ips


def test_every_port_is_published_on_the_loopback_by_default(config: dict[str, Any]) -> None:
    for name, service in config["services"].items():
        for host_ip in _host_ips(service):
            assert host_ip == "127.0.0.1", f"{name} publishes a port beyond the loopback"
    assert _host_ips(config["services"]["airflow-apiserver"]) == ["127.0.0.1"]


def test_airflow_api_bind_opens_only_the_ui(tmp_path: Path) -> None:
    run = _compose_config(_write_env_file(tmp_path / "compose.env", AIRFLOW_API_BIND="0.0.0.0"))
    assert run.returncode == 0, run.stderr
    services = yaml.safe_load(run.stdout)["services"]
    assert _host_ips(services["airflow-apiserver"]) == ["0.0.0.0"]
    for name, service in services.items():
        if name != "airflow-apiserver":
            assert set(_host_ips(service)) <= {"127.0.0.1"}, name


def test_redis_requires_its_password(config: dict[str, Any]) -> None:
    redis = config["services"]["redis"]
    command = _command(redis)
    assert command[:2] == ["sh", "-c"]
    # the source escapes the container's variable as $$; compose renders it as $
    assert command[2].replace("$$", "$") == 'exec redis-server --requirepass "${REDIS_PASSWORD}"'


# --- source text: secrets and variables


def test_secrets_are_required_variables_without_defaults() -> None:
    text = _source_text()
    for name in SECRET_VARS:
        uses = re.findall(r"(?<!\$)\$\{" + name + r"([^}]*)\}", text)  # $${...}: the container's own
        assert uses, f"{name} is not used"
        for rest in uses:
            assert rest.startswith(":?"), f"${{{name}{rest}}}: a secret must be required, with no default"


def test_no_secret_literals_in_the_source() -> None:
    text = COMPOSE_FILE.read_text()
    for literal in KNOWN_DEFAULT_SECRETS:
        assert literal not in text, literal
    for name, service in _source()["services"].items():
        for key, value in _environment(service).items():
            if SECRET_KEY_PATTERN.search(key) and not key.endswith("_FILE"):
                assert "${" in value, f"{name}: {key} is hard-coded"


def test_env_example_lists_exactly_the_compose_variables() -> None:
    used = set(re.findall(r"(?<!\$)\$\{([A-Z_][A-Z0-9_]*)", _source_text()))
    listed = set(_env_example())
    assert used - listed == set(), "variables missing from docker/compose.env.example"
    assert listed - used == set(), "docker/compose.env.example lists variables the compose file ignores"


def test_env_example_holds_only_placeholders() -> None:
    values = _env_example()
    for name in SECRET_VARS:
        assert "change-me" in values[name], name


# --- Dockerfile


def _dockerfile() -> str:
    text = DOCKERFILE.read_text()
    args = dict(re.findall(r"^ARG\s+(\w+)=(\S+)", text, flags=re.MULTILINE))
    return re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), text)


def test_dockerfile_installs_the_locked_project() -> None:
    text = _dockerfile()
    syncs = re.findall(r"uv sync[^\n]*", text)
    assert syncs, "the Dockerfile must install with uv sync"
    for sync in syncs:
        assert "--frozen" in sync, sync
        assert "--no-dev" in sync, sync
    assert re.search(r"^FROM python:3\.11-slim", text, flags=re.MULTILINE)
    assert "ghcr.io/astral-sh/uv" in text
    assert re.search(r"^COPY .*uv\.lock", text, flags=re.MULTILINE)


def test_dockerfile_copies_the_project_and_runs_as_non_root() -> None:
    text = _dockerfile()
    for path in ("ingest", "airflow/dags", "dbt_project"):
        assert re.search(rf"^COPY .*\s{re.escape(path)}\s", text, flags=re.MULTILINE), path
    assert re.search(r"WATCH_HOME=/opt/watch\b", text)
    users = re.findall(r"^USER\s+(\S+)", text, flags=re.MULTILINE)
    assert users, "no USER: the image would run as root"
    assert users[-1] not in {"root", "0", "0:0"}


def test_everything_the_dockerfile_copies_exists() -> None:
    text = DOCKERFILE.read_text()
    for line in re.findall(r"^COPY\s+(?!--from)(.*)$", text, flags=re.MULTILINE):
        sources = [part for part in line.split() if not part.startswith("--")][:-1]
        for source in sources:
            assert (ROOT / source).exists(), f"COPY {source}: not in the repository"


def test_dockerignore_keeps_secrets_and_local_state_out() -> None:
    patterns = {line.strip() for line in DOCKERIGNORE.read_text().splitlines()}
    for pattern in (".env", ".git", ".data"):
        assert pattern in patterns, pattern
    assert {"**/.venv", ".venv"} & patterns


# --- scripts as plain processes


def _stub(bin_dir: Path, name: str, body: str = "") -> None:
    path = bin_dir / name
    path.write_text(f'#!/usr/bin/env bash\necho "{name} $*" >> "$STUB_LOG"\n{textwrap.dedent(body)}')
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def _plain_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{VENV_BIN}{os.pathsep}/usr/bin:/bin",
        "HOME": str(tmp_path),
        "STUB_LOG": str(tmp_path / "calls.log"),
    }
    env.update(extra)
    return env


@pytest.mark.parametrize(("shell", "script"), [
    ("bash", "entrypoint.sh"),
    ("bash", "init-airflow.sh"),
    ("sh", "minio-init.sh"),
])  # fmt: skip
def test_scripts_parse(shell: str, script: str) -> None:
    path = DOCKER_DIR / script
    assert os.access(path, os.X_OK), f"{script} is not executable"
    subprocess.run([shell, "-n", str(path)], check=True)


def test_entrypoint_execs_the_command(tmp_path: Path) -> None:
    env = _plain_env(tmp_path, AIRFLOW_HOME=str(tmp_path / "airflow"), AIRFLOW_ADMIN_PASSWORD="s3cret-value")
    run = subprocess.run(
        ["bash", str(DOCKER_DIR / "entrypoint.sh"), "python", "-c", "print('the command ran')"],
        capture_output=True, text=True, env=env, check=True,
    )  # fmt: skip
    assert run.stdout == "the command ran\n"
    assert (tmp_path / "airflow" / "logs").is_dir()
    assert not list((tmp_path / "airflow").glob("*.json*"))  # no password file: the admin is FAB's


def test_entrypoint_passes_the_exit_code_on(tmp_path: Path) -> None:
    env = _plain_env(tmp_path, AIRFLOW_HOME=str(tmp_path / "airflow"))
    run = subprocess.run(["bash", str(DOCKER_DIR / "entrypoint.sh"), "sh", "-c", "exit 7"], env=env, check=False)
    assert run.returncode == 7


def _init_stubs(tmp_path: Path, *, write_manifest: bool = True, setup_rc: int = 0, **secrets: str) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _stub(bin_dir, "airflow", 'if [[ "$1" == version ]]; then echo 3.3.2; fi\n')
    _stub(bin_dir, "ingest", f"exit {setup_rc}\n")
    manifest = 'mkdir -p "$3/target" && echo "{}" > "$3/target/manifest.json"\n' if write_manifest else ""
    _stub(bin_dir, "dbt", manifest)
    dbt_dir = tmp_path / "dbt_project"
    dbt_dir.mkdir()
    return _plain_env(
        tmp_path,
        WATCH_HOME=str(tmp_path),
        DBT_PROJECT_DIR=str(dbt_dir),
        DBT_PROFILES_DIR=str(dbt_dir),
        AIRFLOW__CORE__AUTH_MANAGER=FAB_AUTH_MANAGER,
        AIRFLOW_ADMIN_USER="boss",
        **{**{name: _sentinel(name) for name in SECRET_VARS}, **secrets},
    )


def _run_init(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    script = str(DOCKER_DIR / "init-airflow.sh")
    return subprocess.run(["bash", script], env=env, capture_output=True, text=True, check=False)


def test_init_runs_migrate_setup_and_dbt_parse_in_order(tmp_path: Path) -> None:
    env = _init_stubs(tmp_path)
    run = _run_init(env)
    assert run.returncode == 0, run.stdout + run.stderr
    dbt_dir = tmp_path / "dbt_project"
    calls = (tmp_path / "calls.log").read_text().splitlines()
    password = _sentinel("AIRFLOW_ADMIN_PASSWORD")
    assert calls == [
        "airflow version",
        "airflow db migrate",
        f"airflow users create --role Admin --username boss --password {password} --firstname Admin "
        "--lastname User --email admin@example.com",
        f"airflow users reset-password --username boss --password {password}",
        "ingest airflow-setup",
        f"dbt parse --project-dir {dbt_dir} --profiles-dir {dbt_dir} --target dev",
    ]


def test_init_refuses_placeholder_secrets(tmp_path: Path) -> None:
    placeholders = _env_example()
    env = _init_stubs(
        tmp_path,
        REDIS_PASSWORD=placeholders["REDIS_PASSWORD"],
        AIRFLOW_FERNET_KEY=placeholders["AIRFLOW_FERNET_KEY"],
    )
    run = _run_init(env)
    assert run.returncode == 2
    assert run.stderr.strip() == (
        "[airflow-init] refusing to start: AIRFLOW_FERNET_KEY REDIS_PASSWORD still hold the change-me placeholder; "
        "set real values in .env (e.g. openssl rand -hex 24) and run docker compose up again"
    )
    assert not (tmp_path / "calls.log").exists()  # nothing ran


def test_init_checks_every_secret() -> None:
    script = (DOCKER_DIR / "init-airflow.sh").read_text()
    listed = re.search(r"SECRET_SETTINGS=\(([^)]*)\)", script)
    assert listed and listed.group(1).split() == list(SECRET_VARS)


def test_init_fails_without_a_manifest(tmp_path: Path) -> None:
    env = _init_stubs(tmp_path, write_manifest=False)
    run = _run_init(env)
    assert run.returncode != 0


def test_init_stops_at_the_first_failure(tmp_path: Path) -> None:
    env = _init_stubs(tmp_path, setup_rc=3)
    run = _run_init(env)
    assert run.returncode == 3
    assert not any(c.startswith("dbt") for c in (tmp_path / "calls.log").read_text().splitlines())


def test_minio_init_creates_the_three_buckets(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _stub(bin_dir, "mc")
    env = _plain_env(
        tmp_path,
        MINIO_ROOT_USER="user",
        MINIO_ROOT_PASSWORD="password",
        RAW_BUCKET="r",
        STAGING_BUCKET="s",
        EXPORT_BUCKET="e",
    )
    subprocess.run(["sh", str(DOCKER_DIR / "minio-init.sh")], env=env, check=True)
    calls = (tmp_path / "calls.log").read_text().splitlines()
    assert calls[0] == "mc alias set watch http://minio:9000 user password"
    assert "mc mb --ignore-existing watch/r" in calls
    assert "mc mb --ignore-existing watch/s" in calls
    assert "mc mb --ignore-existing watch/e" in calls


# --- the commands are the project's own


def _command_lines(service: dict[str, Any]) -> list[list[str]]:
    lines = [_command(service)]
    test = _healthcheck_test(service)
    if test[:1] == ["CMD-SHELL"]:
        lines.append(shlex.split(test[1]))
    elif test[:1] == ["CMD"]:
        lines.append(test[1:])
    return lines


def _airflow_argvs() -> list[list[str]]:
    """Every `airflow ...` command line of the compose file and of the init script."""
    argvs = [
        argv[1:]
        for service in _source()["services"].values()
        for argv in _command_lines(service)
        if argv[:1] == ["airflow"]
    ]
    script = (DOCKER_DIR / "init-airflow.sh").read_text()
    migrate = re.findall(r"^\s*airflow (db migrate)\s*$", script, flags=re.MULTILINE)
    argvs += [line.split() for line in migrate]
    # the FAB user commands, continuation lines joined, shell variables as plain words
    joined = script.replace("\\\n", " ")
    for line in re.findall(r"^\s*airflow (users [^\n]*)$", joined, flags=re.MULTILINE):
        argvs.append(["x" if "$" in word else word for word in shlex.split(line)])
    argvs += [["version"]] if "$(airflow version)" in script else []
    return argvs


def test_airflow_commands_exist(tmp_path: Path) -> None:
    argvs = _airflow_argvs()
    commands = {tuple(a[:2]) for a in argvs}
    assert {("api-server",), ("scheduler",), ("dag-processor",), ("triggerer",)} <= {c[:1] for c in commands}
    assert {("celery", "worker"), ("celery", "flower"), ("db", "migrate"), ("jobs", "check")} <= commands
    assert {("users", "create"), ("users", "reset-password")} <= commands
    checker = textwrap.dedent(
        """
        import importlib, json, sys
        from airflow.cli import cli_parser
        parser = cli_parser.get_parser()
        bad = []
        for argv in json.loads(sys.argv[1]):
            try:
                parser.parse_args(argv)
            except SystemExit:
                bad.append(argv)
        module, _, attr = sys.argv[2].rpartition(".")
        getattr(importlib.import_module(module), attr)
        print(json.dumps(bad))
        """
    )
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CORE__AUTH_MANAGER": FAB_AUTH_MANAGER,  # its `users` commands
        "AIRFLOW__CORE__LOAD_EXAMPLES": "false",
        "AIRFLOW__CORE__DAGS_FOLDER": str(tmp_path / "dags"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{tmp_path / 'airflow.db'}",
    }
    celery_app = "airflow.providers.celery.executors.celery_executor.app"
    assert celery_app in " ".join(_healthcheck_test(_source()["services"]["airflow-worker"]))
    run = subprocess.run(
        [sys.executable, "-c", checker, json.dumps(argvs), celery_app],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    assert json.loads(run.stdout.strip().splitlines()[-1]) == [], "unknown airflow commands"


def test_ingest_airflow_setup_exists() -> None:
    import importlib.util

    if importlib.util.find_spec("ingest.cli") is None:
        pytest.skip("ingest/cli.py is not written yet: cannot check `ingest airflow-setup`")
    run = subprocess.run(
        [str(VENV_BIN / "ingest"), "airflow-setup", "--help"], capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stderr


def test_dbt_parse_takes_the_project_and_profiles_dirs() -> None:
    run = subprocess.run(
        [str(VENV_BIN / "dbt"), "parse", "--help"], capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode == 0, run.stderr
    assert "--project-dir" in run.stdout
    assert "--profiles-dir" in run.stdout
