# camdensity: the README's commands are these targets.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DB     ?= build/demo.duckdb
SAMPLES := data/samples/osm

.PHONY: setup demo test test-fast lint format site bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# Ingest the shipped samples into a fresh demo store and print the summary.
demo: setup
	mkdir -p build
	rm -f $(DB) $(DB).wal
	$(BIN)/camdensity ingest --db $(DB) $(SAMPLES)/*.osm.pbf $(SAMPLES)/*.json
	$(BIN)/camdensity stats --db $(DB)

# Everything but the tests that need the internet (marker 'network').
test: setup
	$(BIN)/pytest

test-fast: setup
	$(BIN)/pytest -m 'not slow and not network'

lint: setup
	$(BIN)/ruff format --check mapper tests
	$(BIN)/ruff check mapper tests
	$(BIN)/mypy

format: setup
	$(BIN)/ruff format mapper tests
	$(BIN)/ruff check --fix mapper tests

clean:
	rm -rf build dist .pytest_cache .mypy_cache .ruff_cache
