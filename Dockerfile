# syntax=docker/dockerfile:1
#
# The one image of the Airflow services in docker-compose.yml (api-server,
# scheduler, dag-processor, triggerer, Celery workers, flower, init).
# It holds the locked project (uv.lock, main dependencies only) in
# /opt/watch/.venv and the repository's DAGs, dbt project and `ingest` package
# under WATCH_HOME=/opt/watch; it runs as the non-root user `watch`.
#
#   docker build -t watch-market-airflow:local .
#
ARG PYTHON_VERSION=3.11
ARG UV_VERSION=0.13.9

FROM ghcr.io/astral-sh/uv:${UV_VERSION} AS uv

# ---------------------------------------------------------------------------
# builder: resolve nothing, install exactly what uv.lock pins
# ---------------------------------------------------------------------------
FROM python:${PYTHON_VERSION}-slim-bookworm AS builder

COPY --from=uv /uv /uvx /bin/

ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3 \
    UV_PROJECT_ENVIRONMENT=/opt/watch/.venv

WORKDIR /opt/watch

# Dependencies first (a cached layer that only changes with the lock file).
COPY pyproject.toml uv.lock README.md ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-project

# Then the project itself (editable: the venv points at /opt/watch/ingest,
# which the runtime stage copies to the same path).
COPY ingest ./ingest
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev

# ---------------------------------------------------------------------------
# runtime
# ---------------------------------------------------------------------------
FROM python:${PYTHON_VERSION}-slim-bookworm AS runtime

ARG WATCH_UID=50000

# curl: healthchecks; tini: PID 1 that forwards signals (Celery warm shutdown).
RUN apt-get update \
    && apt-get install -y --no-install-recommends curl tini \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --uid "${WATCH_UID}" --gid 0 --home-dir /opt/watch --no-create-home --shell /bin/bash watch \
    && mkdir -p /opt/watch/.data /opt/watch/dbt_project/target /opt/airflow/logs \
    && chown -R "${WATCH_UID}:0" /opt/watch /opt/airflow \
    && chmod -R g=u /opt/watch /opt/airflow

ENV WATCH_HOME=/opt/watch \
    WATCH_DATA_DIR=/opt/watch/.data \
    AIRFLOW_HOME=/opt/airflow \
    VIRTUAL_ENV=/opt/watch/.venv \
    PATH=/opt/watch/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DBT_SEND_ANONYMOUS_USAGE_STATS=false \
    DO_NOT_TRACK=1

WORKDIR /opt/watch

COPY --from=builder --chown=${WATCH_UID}:0 /opt/watch/.venv /opt/watch/.venv
COPY --chown=${WATCH_UID}:0 pyproject.toml uv.lock README.md ./
COPY --chown=${WATCH_UID}:0 ingest ./ingest
COPY --chown=${WATCH_UID}:0 airflow/dags ./airflow/dags
COPY --chown=${WATCH_UID}:0 dbt_project ./dbt_project
COPY --chown=${WATCH_UID}:0 --chmod=0755 docker/entrypoint.sh docker/init-airflow.sh ./docker/

USER ${WATCH_UID}

# Fail the build early if the installed project is broken. (Importing airflow
# here would write an airflow.cfg with generated keys into the image: don't.)
RUN python -c "import ingest.settings, dbt.version" \
    && command -v ingest airflow dbt celery >/dev/null

ENTRYPOINT ["tini", "--", "/opt/watch/docker/entrypoint.sh"]
CMD ["airflow", "version"]
