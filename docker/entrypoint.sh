#!/usr/bin/env bash
# Entrypoint of every container built from the project's Dockerfile: the log
# folder, then the command unchanged (`airflow api-server`, `airflow celery worker`,
# `ingest ...`, `dbt ...`): every command is a plain command of the project. The
# admin user lives in the metadata database (FAB auth manager, docker/init-airflow.sh).
set -euo pipefail

mkdir -p "${AIRFLOW_HOME:-/opt/airflow}/logs"

exec "$@"
