# Two commands on a fresh machine: `make demo` runs the product, `make test` runs every test.
# Everything they need is installed here, into .venv, from pyproject.toml.

# The interpreter .venv is built on: the operating system's own /usr/bin/python3 when it is
# Python 3.11 or later, else the first python3 on PATH; `make PYTHON=...` chooses another.
# Debian's is one static executable; pyenv's default build (python3 on PATH on the benchmark
# machine) loads libpython as a shared library and is built without --enable-optimizations. On
# that machine it took half as much CPU again on a pure-Python loop, and 0.73 to 0.77 against
# 0.68 ms per go-live decision in-process (bench/README.md).
ifndef PYTHON
PYTHON := $(firstword $(foreach p,/usr/bin/python3 python3,$(if $(shell $(p) -c \
	'import sys, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && echo y),$(p))))
endif
PYTHON_REAL := $(shell $(PYTHON) -c 'import os, sys; print(os.path.realpath(sys.executable))')
VENV   := .venv
BIN    := $(VENV)/bin
# Installed again when pyproject.toml changes, and built again on another interpreter.
STAMP  := $(VENV)/.installed-$(shell (cat pyproject.toml; echo $(PYTHON_REAL)) | cksum | cut -d' ' -f1)

# The integration tests' services; .ci/run starts them when they are down.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/lcc
TEST_REDIS_URL    ?= redis://127.0.0.1:6379/15

.PHONY: help venv translations demo test unit browser integration reliability lint audit clean \
	bench bench-scale bench-load bench-registration bench-monitoring bench-gate bench-credit \
	bench-uploads wrk valgrind

help:
	@echo "make demo   - set up, migrate, load demo data and serve on http://127.0.0.1:8000"
	@echo "make test   - lint, migration check and the whole test suite"
	@echo "make audit  - known vulnerabilities in the installed dependencies (part of make test)"
	@echo "make reliability - money and referrals under faults: killed workers, a Redis restart"
	@echo "make bench  - every benchmark below, in turn (docs/PERFORMANCE.md); about an hour the first time"
	@echo "make bench-scale - the scale data set (1M parties, 5M complaints, 10M credit events, 2M alerts) and the admin on it"
	@echo "make bench-load - complaint intake and credit look-ups under gunicorn and wrk, beside a bare Django view"
	@echo "make bench-gate - the go-live gate under gunicorn and wrk, beside a bare Django view"
	@echo "make bench-registration - registration: submission, entry checks, the admin queue at 1M parties"
	@echo "make bench-monitoring - monitoring rule engine: 2,000 rules, segments/s on one core"
	@echo "make bench-credit - credit: full recompute of 500,000 parties from 10M events, worker latency"
	@echo "make bench-uploads - a hostile upload corpus: time and memory to refuse each file"

$(STAMP):
	@if [ -x $(BIN)/python ] && [ "$$($(BIN)/python -c 'import os, sys; \
	  print(os.path.realpath(sys._base_executable))')" != "$(PYTHON_REAL)" ]; then \
	  echo "$(VENV) was built on another Python: building it again on $(PYTHON_REAL)."; \
	  rm -rf $(VENV); \
	fi
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e ".[dev]"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

venv: $(STAMP)

translations: venv
	$(BIN)/python manage.py compile_translations

demo: venv translations
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py seed_demo
	@set -e; \
	if [ -n "$$REDIS_URL" ]; then \
	  echo "REDIS_URL is set: starting a Celery worker and beat beside the web server."; \
	  $(BIN)/celery -A config worker -Q default,money,notify --loglevel INFO & worker=$$!; \
	  $(BIN)/celery -A config beat --loglevel INFO & beat=$$!; \
	  trap 'kill $$worker $$beat 2>/dev/null' EXIT INT TERM; \
	else \
	  echo "No REDIS_URL: background tasks run in-process, after each transaction commits."; \
	fi; \
	echo ""; \
	echo "Serving on http://127.0.0.1:8000"; \
	echo "  public site  http://127.0.0.1:8000/         (Chinese; English from the language switch)"; \
	echo "  admin        http://127.0.0.1:8000/admin/   (a staff account above, and its TOTP code)"; \
	echo "  API docs     http://127.0.0.1:8000/api/docs/  health http://127.0.0.1:8000/healthz"; \
	echo "  try the API: curl -H 'Authorization: Bearer <the key above>' http://127.0.0.1:8000/api/v1/parties/"; \
	$(BIN)/python manage.py runserver 127.0.0.1:8000

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run

# Tests marked `postgres` test what only PostgreSQL does (row locks, advisory locks, planner
# statistics): they are left out here and run by `make integration`, so that nothing is skipped.
unit: venv translations browser
	$(BIN)/pytest --ignore=tests/integration --ignore=tests/reliability -m "not postgres"

# The browser tests (tests/browser) drive Debian's headless Chromium and its chromedriver, with
# a CJK font so that screenshots show Chinese. Installed with apt-get when missing (as root, or
# through sudo); where that is impossible the tests are skipped with the reason -- except under
# CI=true, where the tests fail instead.
browser:
	@command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 || { \
	  echo "Chromium or chromedriver is missing: installing them with apt-get."; \
	  sudo=""; [ "$$(id -u)" = 0 ] || sudo="sudo -n"; \
	  { $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq \
	      chromium chromium-driver fonts-wqy-microhei >/dev/null; } \
	  || echo "Could not install Chromium: the browser tests will be skipped (not under CI=true)."; }

# Real PostgreSQL, Redis and a Celery worker process. Skipped, with the reason, when a service
# cannot be reached -- except under CI=true, where that is a failure.
integration: venv translations
	LCC_INTEGRATION=1 DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) \
	  $(BIN)/pytest tests/integration
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) \
	  $(BIN)/pytest tests -m postgres --ignore=tests/integration --ignore=tests/reliability

# Faults, against the same services (docs/RELIABILITY.md): 1,000 deposit deductions while the
# worker is killed with SIGKILL and its broker -- a private redis-server the tests start on a free
# port, never the one above -- restarts empty; referrals to an authority's endpoint that fails
# half the time and goes away. About two minutes. Skipped like `integration`, never under CI=true.
reliability: venv translations
	LCC_INTEGRATION=1 DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) \
	  $(BIN)/pytest tests/reliability

# Known vulnerabilities in what .venv installed (bin/audit-dependencies): PyPI's advisories for
# each package at its latest release; a package held below its latest (Django's LTS line) cannot
# be checked from PyPI's JSON API and is listed as unchecked, not passed silently.
audit: venv
	$(BIN)/python bin/audit-dependencies

test: lint audit unit integration reliability

clean:
	rm -rf $(VENV) var

# The benchmarks (docs/PERFORMANCE.md has this machine's figures). Each prints its targets with
# PASS or FAIL and exits 1 if one fails; `make bench` runs them all and fails at the end if any
# did. They share one database of their own, never a real one.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/lcc_bench
BENCH_REDIS_URL    ?= redis://127.0.0.1:6379/13

BENCHES := bench-scale bench-load bench-gate bench-registration bench-monitoring bench-credit bench-uploads

bench: venv
	@failed=""; for b in $(BENCHES); do $(MAKE) --no-print-directory $$b || failed="$$failed $$b"; done; \
	if [ -n "$$failed" ]; then echo "Targets failed in:$$failed"; exit 1; fi

# The scale data set, built once by set-based SQL (about 25 minutes), then the admin's change
# lists and change forms rendered on it.
bench-scale: venv
	BENCH_DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python bench/scale.py

# Complaint intake and credit look-ups on that data set, under gunicorn and wrk.
bench-load: venv wrk
	BENCH_DATABASE_URL=$(BENCH_DATABASE_URL) BENCH_REDIS_URL=$(BENCH_REDIS_URL) \
	  $(BIN)/python bench/load.py

# Registration at registry scale (bench/README.md): the registry of 1,000,000 parties (built the
# first time in about a minute), then the figures and PASS/FAIL per target.
bench-registration: venv
	DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python bench/registration.py

# Hostile uploads: every file of the corpus through every upload validator. No database.
bench-uploads: venv
	$(BIN)/python bench/uploads.py

wrk:
	@command -v wrk >/dev/null 2>&1 || { \
	  echo "wrk is missing: installing it with apt-get."; \
	  sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  $$sudo apt-get update -qq && $$sudo apt-get install -y wrk; }

# The gate benchmark counts instructions per request with callgrind (bench/README.md).
valgrind:
	@command -v valgrind >/dev/null 2>&1 || { \
	  echo "valgrind is missing: installing it with apt-get."; \
	  sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  $$sudo apt-get update -qq && $$sudo apt-get install -y valgrind; }

# The monitoring rule engine (bench/monitoring.py): 2,000 rules against 20,000 segments on one
# core, beside a loop over 2,000 regexes; PASS/FAIL against 5,000 segments/s. No database.
bench-monitoring: venv
	$(BIN)/python bench/monitoring.py

# The go-live gate under load (bench/README.md, "Go-live gate"): the same database, plus a go-live
# population built through the real services the first time (about 6 minutes); instructions per
# request under callgrind (about 5 minutes); then gunicorn under the production settings, driven by
# wrk beside a bare Django view, and PASS/FAIL per target.
bench-gate: venv wrk valgrind
	DATABASE_URL=$(BENCH_DATABASE_URL) BENCH_REDIS_URL=$(BENCH_REDIS_URL) \
	  $(BIN)/python bench/gate.py

# Credit at scale (bench/README.md, "credit.py"): a database of its own, filled the first time
# with 500,000 parties and 10,000,000 credit events by set-based SQL (about 10 minutes); then the
# full recompute twice beside a per-row ORM loop on a sample, a real Celery worker on Redis
# database 12 for the latency of one event, and PASS/FAIL per target.
BENCH_CREDIT_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/lcc_bench_credit
BENCH_CREDIT_REDIS_URL    ?= redis://127.0.0.1:6379/12

bench-credit: venv
	BENCH_CREDIT_DATABASE_URL=$(BENCH_CREDIT_DATABASE_URL) BENCH_CREDIT_REDIS_URL=$(BENCH_CREDIT_REDIS_URL) \
	  $(BIN)/python bench/credit.py
