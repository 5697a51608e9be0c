# Watch-market data platform. `make help` lists the targets.
# Every target creates or updates the virtual environment itself (uv, installed with pip when absent).

SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
UV := $(PYTHON) -m uv
RUN := $(UV) run --frozen --no-sync
STAMP := .venv/.synced

DEMO_WEEKS ?= 53
DEMO_ROWS ?= 20000
DEMO_SEED ?= 42

.PHONY: help venv system-deps demo report test test-fast lint format bench dbt-build docs docs-serve sample-data airflow-e2e airflow-standalone db-stop clean

help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml uv.lock
	@echo "preparing the Python environment (.venv from uv.lock; about a minute the first time) ..."
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv
	@$(UV) sync --frozen --compile-bytecode --python $(PYTHON) --quiet
	@touch $(STAMP)

venv: $(STAMP) ## Create or update the virtual environment (.venv) from uv.lock

# The browser and compose tests drive Debian's Chromium and validate the compose file with
# docker-compose. Installed when missing and apt-get can (root); otherwise those tests skip, saying why.
SYSTEM_PACKAGES := chromium docker-compose  # each installs a command of its own name
system-deps: ## Install the Debian packages the tests use (Chromium, docker-compose) when missing
	@missing=""; for pkg in $(SYSTEM_PACKAGES); do command -v "$$pkg" >/dev/null || missing="$$missing $$pkg"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing the Debian packages$$missing (for the browser and compose tests) ..."; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing >/dev/null 2>&1 \
		|| { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing >/dev/null 2>&1; } \
		|| echo "could not install$$missing: the tests that need them skip"; \
	else echo "not installing$$missing (needs root and apt-get): the tests that need them skip"; fi

demo: $(STAMP) ## The main job: simulate a year of scrapes, backfill, run this week through Airflow, print the summary
	@$(RUN) python -m ingest.devtools.demo --weeks $(DEMO_WEEKS) --rows-per-week $(DEMO_ROWS) --seed $(DEMO_SEED)

report: $(STAMP) ## Build the market report (static site) of the latest week into REPORT_ROOT (extra args: REPORT_ARGS=...)
	@$(RUN) ingest report $(REPORT_ARGS)

test: $(STAMP) system-deps ## The whole test suite (what .ci/run runs)
	@$(RUN) pytest -q

lint: $(STAMP) ## ruff check + format check, sqlfluff, yamllint
	@$(RUN) ruff check .
	@$(RUN) ruff format --check .
	@# sqlfluff's dbt templater connects: to the configured warehouse, or the embedded server
	@# (started if needed) on whatever port it listens on, not only 55432.
	@eval "$$($(RUN) ingest db env)" && $(RUN) sqlfluff lint dbt_project/models dbt_project/tests dbt_project/macros
	@$(RUN) yamllint -s .
	@$(RUN) actionlint

format: $(STAMP) ## Apply ruff formatting and fixes
	@$(RUN) ruff check --fix .
	@$(RUN) ruff format .

bench: $(STAMP) ## Benchmarks (ingest vs floor vs to_sql, dbt, Airflow): prints figures
	@$(RUN) python -m ingest.devtools.bench

dbt-build: $(STAMP) ## dbt build (models + tests) against the configured warehouse (extra args: DBT_ARGS=...)
	@$(RUN) ingest dbt build $(DBT_ARGS)

# The sample has a database of its own on the embedded server, so that it never replaces weeks of
# the demo's data (with WAREHOUSE_DSN set, it loads into that database).
SAMPLE_DATABASE ?= watch_sample
sample-data: $(STAMP) ## Load a small simulated sample (12 weeks), for dbt work, into its own embedded database
	@EMBEDDED_DATABASE=$(SAMPLE_DATABASE) $(RUN) ingest simulate --out .data/sample-raw --weeks 12 --rows-per-week 20000 --seed 7 --quiet
	@EMBEDDED_DATABASE=$(SAMPLE_DATABASE) $(RUN) ingest run --source .data/sample-raw --all --quiet
	@if [ -z "$$WAREHOUSE_DSN" ]; then \
		echo "the sample is in the embedded database $(SAMPLE_DATABASE): export EMBEDDED_DATABASE=$(SAMPLE_DATABASE), then"; \
		echo '  uv run ingest dbt build   (plain dbt: eval "$$(uv run ingest db env)" first)'; fi

docs: $(STAMP) ## Generate the dbt docs site (with the catalog) into dbt_project/target
	@$(RUN) ingest dbt docs generate

docs-serve: docs ## Serve the dbt docs site on http://127.0.0.1:8081
	@$(RUN) ingest dbt docs serve --port 8081 --host 127.0.0.1 --no-browser

airflow-e2e: $(STAMP) ## Real Airflow (Celery + Redis + Postgres) end to end on a simulated week in S3 (moto)
	@$(RUN) python scripts/airflow_e2e.py

db-stop: $(STAMP) ## Stop the embedded PostgreSQL
	@$(RUN) ingest db stop

clean: ## Remove generated data (.data), dbt target and caches (stops the embedded server first)
	-@$(RUN) ingest db stop 2>/dev/null
	rm -rf .data dbt_project/target dbt_project/logs .pytest_cache .ruff_cache
