# Servicekontor: the commands the README names.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install up test test-fast demo lint clean eval bench fuzz

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Install and run the whole system on the embedded default (SQLite under ./data).
up: install
	$(BIN)/servicekontor up

## Install and run every test (unit, integration, end to end), with line coverage
## (a table at the end; HTML in test-artifacts/coverage/).
test: install
	$(BIN)/python -m pytest -q -ra --cov --cov-report=term --cov-report=html:test-artifacts/coverage

## Unit tests only: no I/O, seconds.
test-fast: install
	$(BIN)/python -m pytest -q tests/unit

## Schemathesis against every service's OpenAPI at length (`make test` runs a bounded
## pass). FUZZ_EXAMPLES=2000 for more; FUZZ_DATABASE_URL=postgresql+asyncpg://... to fuzz
## on PostgreSQL (an empty database) instead of SQLite.
FUZZ_EXAMPLES ?= 500
fuzz: install
	SK_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) SK_FUZZ_DATABASE_URL=$(FUZZ_DATABASE_URL) $(BIN)/python -m pytest -q tests/fuzz

## Simulate an office day against a running system (start it with `make up` first).
demo: install
	$(BIN)/servicekontor demo

## The classifier's figures on the held-out split (fails below the targets).
eval: install
	$(BIN)/servicekontor classify-eval --check

## Benchmarks (print figures beside a baseline, write bench/results/*.json).
bench: install
	$(BIN)/python bench/classify.py
	$(BIN)/python bench/replay.py
	$(BIN)/python bench/e2e.py

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) data .pytest_cache
