#!/usr/bin/env bash
# One-shot set-up of the stack (the `airflow-init` service), in order:
#   1. airflow db migrate            the metadata database's schema
#   2. the admin user, only when the auth manager keeps users in the database
#      (FAB); the SimpleAuthManager reads them from
#      AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS (password: docker/entrypoint.sh)
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

WATCH_HOME="${WATCH_HOME:-/opt/watch}"
DBT_DIR="${DBT_PROJECT_DIR:-${WATCH_HOME}/dbt_project}"

log "airflow $(airflow version)"

log "migrating the metadata database"
airflow db migrate

case "${AIRFLOW__CORE__AUTH_MANAGER:-}" in
  *FabAuthManager*)
    log "creating the admin user ${AIRFLOW_ADMIN_USER:-admin} (FAB auth manager)"
    airflow users create \
      --role Admin \
      --username "${AIRFLOW_ADMIN_USER:-admin}" \
      --password "${AIRFLOW_ADMIN_PASSWORD:?AIRFLOW_ADMIN_PASSWORD is required with the FAB auth manager}" \
      --firstname Admin --lastname User \
      --email "${AIRFLOW_ADMIN_EMAIL:-admin@example.com}" \
      || log "admin user already exists"
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
