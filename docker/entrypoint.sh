#!/usr/bin/env bash
# Entrypoint of every container built from the project's Dockerfile.
#
# 1. With the SimpleAuthManager and AIRFLOW_ADMIN_PASSWORD set (only the
#    api-server gets it), write the manager's password file so the admin's
#    password is the one from .env instead of a generated one.
# 2. exec the command unchanged (`airflow api-server`, `airflow celery worker`,
#    `ingest ...`, `dbt ...`): every command is a plain command of the project.
set -euo pipefail

mkdir -p "${AIRFLOW_HOME:-/opt/airflow}/logs"

if [[ -n "${AIRFLOW_ADMIN_PASSWORD:-}" && "${AIRFLOW__CORE__AUTH_MANAGER:-SimpleAuthManager}" == *SimpleAuthManager* ]]; then
  python - <<'PY'
import json
import os
from pathlib import Path

path = Path(
    os.environ.get("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE")
    or Path(os.environ.get("AIRFLOW_HOME", "/opt/airflow")) / "simple_auth_manager_passwords.json.generated"
)
users = [u.split(":")[0] for u in os.environ.get("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", "").split(",") if u]
admin = os.environ.get("AIRFLOW_ADMIN_USER") or (users[0] if users else "admin")
path.parent.mkdir(parents=True, exist_ok=True)
passwords = {}
if path.exists():
    try:
        passwords = json.loads(path.read_text() or "{}")
    except ValueError:
        passwords = {}
passwords[admin] = os.environ["AIRFLOW_ADMIN_PASSWORD"]
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
with os.fdopen(fd, "w") as fh:
    fh.write(json.dumps(passwords) + "\n")
print(f"entrypoint: password of Airflow user {admin!r} set from AIRFLOW_ADMIN_PASSWORD")
PY
fi

exec "$@"
