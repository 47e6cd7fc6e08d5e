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

BOUNDS := data/samples/boundaries
CAM    := $(BIN)/camdensity
EXTENTS := "Munich old town (extract)" "Helsinki centre (extract)" \
	"London Holborn (extract)" "Monaco (extract)"

# Ingest the shipped samples into a fresh demo store and print the comparison.
# The Switzerland dump carries no date of its own: its provenance gives 2023-06-14.
demo: setup
	mkdir -p build
	rm -f $(DB) $(DB).wal
	$(CAM) ingest -q --db $(DB) $(SAMPLES)/*.osm.pbf
	$(CAM) ingest -q --db $(DB) --snapshot 2023-06-14 $(SAMPLES)/switzerland_surveillance_overpass_2023.json
	$(CAM) area add --db $(DB) Zürich --boundary $(BOUNDS)/zurich.geojson
	$(CAM) area add --db $(DB) Bern --boundary $(BOUNDS)/bern.geojson
	$(CAM) area add --db $(DB) Genève --boundary $(BOUNDS)/geneva.geojson
	$(CAM) area add --db $(DB) Lausanne --boundary $(BOUNDS)/lausanne.geojson
	$(CAM) area add --db $(DB) Basel --boundary $(BOUNDS)/basel.geojson
	$(CAM) area rename --db $(DB) "munich_altstadt_2020-07-20 (extent)" "Munich old town (extract)"
	$(CAM) area rename --db $(DB) "helsinki_kamppi_kluuvi_2019 (extent)" "Helsinki centre (extract)"
	$(CAM) area rename --db $(DB) "london_city_holborn_2020-07-20 (extent)" "London Holborn (extract)"
	$(CAM) area rename --db $(DB) "monaco_2023-12-26 (extent)" "Monaco (extract)"
	@echo
	$(CAM) stats --db $(DB)
	@echo
	$(CAM) compare --db $(DB) Zürich Bern Genève Lausanne Basel $(EXTENTS)

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
