# `make run` starts the app with demo data; `make test` runs every check. Both set up what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: run test install lint migrate seed worker beat reconcile bench clean chromium

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python requirements/base.txt requirements/dev.txt requirements/constraints.txt
	$(BIN)/pip install --quiet -r requirements/dev.txt -c requirements/constraints.txt
	touch $@

install: $(VENV)/.installed

migrate: install
	$(BIN)/python manage.py migrate --noinput

seed: migrate
	$(BIN)/python manage.py seed_demo --if-empty

run: seed
	$(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

lint: install
	$(BIN)/ruff check .

# Browser tests use Debian's Chromium; install it when we may (root on Debian), else they skip.
chromium:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
		&& (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
		|| echo "chromium not installed: browser tests will be skipped"; }

# Tests run in one process per core (pytest-xdist); TEST_PROCESSES=0 runs them in this one.
TEST_PROCESSES ?= auto

test: install lint chromium
	$(BIN)/pip check
	DJANGO_SETTINGS_MODULE=config.settings.test $(BIN)/pytest -n $(TEST_PROCESSES) --dist loadgroup $(PYTEST_ARGS)

worker: install
	$(BIN)/celery -A config worker -Q default,refunds,notifications --loglevel INFO

beat: install
	$(BIN)/celery -A config beat --loglevel INFO

reconcile: install
	$(BIN)/python manage.py reconcile

# Seeds 1,000,000 orders into the configured database (embedded by default), times the fraud
# risk-profile refresh and request scoring, then removes what it wrote. BENCH_ARGS: e.g. --keep.
# The return rules: 200 rules per return, and a backtest over 100,000 past returns (no database).
# Then the platform table (docs/performance.md): API under load, refunds through Celery and Redis,
# a spike, the review queue and reconciliation at a million rows, in a database named `bench`.
# PLATFORM_BENCH_ARGS: e.g. --stages ade --spike 20000. It runs in a database named `bench` on the same
# server (BENCH_DATABASE_URL to choose another), never in the one DATABASE_URL names.
bench: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py fraud_bench $(BENCH_ARGS)
	$(BIN)/python manage.py rules_bench
	DJANGO_SETTINGS_MODULE=config.settings.bench $(BIN)/python manage.py platform_bench $(PLATFORM_BENCH_ARGS)

clean:
	rm -rf $(VENV) var
