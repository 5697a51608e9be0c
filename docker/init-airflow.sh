#!/usr/bin/env bash
# One-shot set-up of the stack (the `airflow-init` service), in order:
#   0. no secret may still hold the `change-me` placeholder of
#      docker/compose.env.example: the set-up (and so the stack) stops, naming them
#   1. airflow db migrate            the metadata database's schema (FAB's tables too)
#   2. the admin user, when the auth manager keeps users in the database (FAB):
#      created once, its password set from AIRFLOW_ADMIN_PASSWORD on every start
#   3. ingest airflow-setup          pools and connections from the project settings
#                                    (the AIRFLOW__* variables of the container win
#                                    over its defaults, CeleryExecutor included)
#   4. dbt parse                     dbt_project/target/manifest.json for Cosmos'
#                                    LoadMode.DBT_MANIFEST (no `dbt deps` needed)
# Every step is a plain command of the project; outside Docker the same steps are
#   uv run airflow db migrate
#   uv run ingest airflow-setup
#   uv run dbt parse --project-dir dbt_project --profiles-dir dbt_project --target dev
set -euo pipefail

log() { echo "[airflow-init] $*"; }

# The secrets of .env (docker-compose.yml hands them to this service under these names).
SECRET_SETTINGS=(
  AIRFLOW_DB_PASSWORD WAREHOUSE_PASSWORD MINIO_ROOT_USER MINIO_ROOT_PASSWORD AIRFLOW_FERNET_KEY
  AIRFLOW_JWT_SECRET AIRFLOW_API_SECRET_KEY AIRFLOW_ADMIN_PASSWORD FLOWER_BASIC_AUTH REDIS_PASSWORD
)
placeholders=()
for name in "${SECRET_SETTINGS[@]}"; do
  if [[ "${!name:-}" == *change-me* ]]; then
    placeholders+=("${name}")
  fi
done
if ((${#placeholders[@]})); then
  log "refusing to start: ${placeholders[*]} still hold the change-me placeholder; set real values in .env (e.g. openssl rand -hex 24) and run docker compose up again" >&2
  exit 2
fi

WATCH_HOME="${WATCH_HOME:-/opt/watch}"
DBT_DIR="${DBT_PROJECT_DIR:-${WATCH_HOME}/dbt_project}"

log "airflow $(airflow version)"

log "migrating the metadata database"
airflow db migrate

case "${AIRFLOW__CORE__AUTH_MANAGER:-}" in
  *FabAuthManager*)
    admin="${AIRFLOW_ADMIN_USER:-admin}"
    password="${AIRFLOW_ADMIN_PASSWORD:?AIRFLOW_ADMIN_PASSWORD is required with the FAB auth manager}"
    log "the admin user ${admin} (FAB auth manager)"
    # `users create` leaves an existing user alone; the reset makes .env's password the current one
    airflow users create --role Admin --username "${admin}" --password "${password}" \
      --firstname Admin --lastname User --email "${AIRFLOW_ADMIN_EMAIL:-admin@example.com}"
    airflow users reset-password --username "${admin}" --password "${password}"
    ;;
  *)
    log "SimpleAuthManager: users come from AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS, nothing to create"
    ;;
esac

log "creating pools and connections from the settings"
ingest airflow-setup

log "parsing the dbt project (${DBT_DIR}) into target/manifest.json"
dbt parse --project-dir "${DBT_DIR}" --profiles-dir "${DBT_PROFILES_DIR:-${DBT_DIR}}" --target "${DBT_TARGET:-dev}"
test -s "${DBT_DIR}/target/manifest.json"

log "done"
