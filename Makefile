# wuye — the two commands people need are `make run` and `make test`; the rest are for developers and CI.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
export DJANGO_SETTINGS_MODULE ?= config.settings.local

.PHONY: run test test-sqlite test-postgres lint format bench bench-workorders bench-iot nab lock clean setup setup-dev messages

# ---- setup (each step re-runs only when its inputs change) ----
$(VENV)/bin/python:
	@command -v $(PYTHON) >/dev/null || { echo "wuye needs Python 3.11 ($(PYTHON) not found; set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(VENV)/bin/python
	$(VENV)/bin/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements-dev.txt $(VENV)/.runtime
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	touch $@

node_modules/.package-lock.json: package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

locale/zh_Hans/LC_MESSAGES/django.mo: locale/zh_Hans/LC_MESSAGES/django.po $(VENV)/.runtime
	$(PY) manage.py compile_translations

setup: $(VENV)/.runtime node_modules/.package-lock.json locale/zh_Hans/LC_MESSAGES/django.mo
setup-dev: setup $(VENV)/.dev

# ---- the two commands ----
run: setup
	$(PY) manage.py migrate --no-input -v 0
	$(PY) manage.py seed_demo --if-empty
	$(PY) manage.py serve --port $(PORT)

# The SQLite and PostgreSQL passes run side by side: they share nothing (separate databases, private MQTT topic roots,
# free ports), and one pass's waits on its database fill the other's CPU. The PostgreSQL pass's output is kept in
# var/test-postgres.log and printed when both are done.
test: setup-dev
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run
	$(VENV)/bin/ruff check .
	@mkdir -p var; \
	$(MAKE) --no-print-directory test-postgres > var/test-postgres.log 2>&1 & postgres_pid=$$!; \
	$(MAKE) --no-print-directory test-sqlite; sqlite=$$?; \
	wait $$postgres_pid; postgres=$$?; \
	cat var/test-postgres.log; \
	echo "== SQLite pass: $$([ $$sqlite -eq 0 ] && echo passed || echo FAILED); PostgreSQL pass: $$([ $$postgres -eq 0 ] && echo passed || echo FAILED) =="; \
	[ $$sqlite -eq 0 ] && [ $$postgres -eq 0 ]

test-sqlite: setup-dev
	@echo "== test suite on SQLite =="
	env -u DATABASE_URL DJANGO_SETTINGS_MODULE=config.settings.test $(VENV)/bin/pytest $(PYTEST_ARGS)

# PostgreSQL: TEST_DATABASE_URL, or the local server at 127.0.0.1:5432 as CI has it. In CI a missing server fails.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/wuye
test-postgres: setup-dev
	@if $(PY) scripts/db_reachable.py "$(TEST_DATABASE_URL)"; then \
		echo "== test suite on PostgreSQL =="; \
		DATABASE_URL="$(TEST_DATABASE_URL)" DJANGO_SETTINGS_MODULE=config.settings.test $(VENV)/bin/pytest $(PYTEST_ARGS); \
	elif [ "$$CI" = "true" ]; then \
		echo "PostgreSQL at $(TEST_DATABASE_URL) is not reachable, and CI=true requires it."; exit 1; \
	else \
		echo "SKIPPED the PostgreSQL run: no server at $(TEST_DATABASE_URL). Start PostgreSQL or set TEST_DATABASE_URL to enable it."; \
	fi

lint: setup-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: setup-dev
	$(PY) bench/bench_foundation.py
	$(PY) bench/bench_dispatch.py
	$(PY) bench/bench_workorders.py
	$(PY) bench/bench_iot_rules.py

# Work-order create cost against PostgreSQL (see bench/bench_workorders.py).
bench-workorders: setup-dev
	$(PY) bench/bench_workorders.py

# IoT ingestion throughput and alarm latency against Mosquitto and PostgreSQL (see bench/bench_iot.py).
bench-iot: setup-dev
	$(PY) bench/bench_iot.py

# The anomaly detectors scored with the NAB standard profile beside NAB's windowed-Gaussian baseline (docs/iot.md).
nab: setup-dev
	$(PY) manage.py iot_score_nab

# Re-extract translatable strings into the catalogue (needs GNU gettext's xgettext).
messages: setup
	$(PY) manage.py makemessages -l zh_Hans --ignore=node_modules --ignore=.venv --ignore=bench --ignore='*/tests/*' --no-obsolete

# Regenerate the lock files from the top-level pins in requirements*.in.
lock:
	rm -rf /tmp/wuye-lock && $(PYTHON) -m venv /tmp/wuye-lock
	/tmp/wuye-lock/bin/pip install --quiet -r requirements.in
	/tmp/wuye-lock/bin/pip freeze > requirements.txt
	/tmp/wuye-lock/bin/pip install --quiet -r requirements-dev.in
	(echo "-r requirements.txt"; /tmp/wuye-lock/bin/pip freeze | grep -vxFf requirements.txt) > requirements-dev.txt

clean:
	rm -rf $(VENV) node_modules staticfiles .pytest_cache .ruff_cache
