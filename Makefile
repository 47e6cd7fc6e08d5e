# camdensity: the README's commands are these targets.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DB     ?= build/demo.duckdb
SAMPLES := data/samples/osm

.PHONY: setup demo test test-all lint format site screenshots bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

EXTENTS := "Munich old town (extract)" "Helsinki centre (extract)" \
	"London Holborn (extract)" "Monaco (extract)"
SITE   ?= build/site
TILES  ?= osm

# From the shipped samples: a fresh store, the static site (examples/demo.toml) in
# build/site, and the comparison printed.
demo: setup
	mkdir -p build
	rm -f $(DB) $(DB).wal
	$(BIN)/camdensity site --db $(DB) --config examples/demo.toml --out $(SITE) --tiles $(TILES)
	@echo
	$(BIN)/camdensity compare --db $(DB) Zürich Bern Genève Lausanne Basel $(EXTENTS)
	@echo
	@echo "Open $(SITE)/index.html in a browser."

site: setup
	$(BIN)/camdensity site --db $(DB) --config examples/demo.toml --out $(SITE) --tiles $(TILES)

# The README's screenshots (docs/img/*.png), from the demo site without tiles.
screenshots: setup
	$(MAKE) demo TILES=none SITE=build/site-notiles
	$(BIN)/python docs/screenshots.py build/site-notiles docs/img

# Before a commit: every test but the slow fuzz and kill loops (marker 'slow') and those
# that need the internet ('network'); Hypothesis draws a small fixed set of examples. The
# tests run in JOBS processes (pytest-xdist; one per core by default, JOBS=0: in this one),
# each module's tests in one of them, so that its fixtures are built once.
JOBS ?= auto
PYTEST := $(BIN)/pytest -n $(JOBS) --dist loadfile
test: setup
	$(PYTEST) -m 'not slow and not network'

# What CI runs: the same suite with the slow loops, and Hypothesis drawing afresh.
test-all: setup
	CAMDENSITY_HYPOTHESIS=ci $(PYTEST) -m 'not network'

lint: setup
	$(BIN)/ruff format --check mapper tests
	$(BIN)/ruff check mapper tests
	$(BIN)/mypy

format: setup
	$(BIN)/ruff format mapper tests
	$(BIN)/ruff check --fix mapper tests

# Benchmarks (docs/benchmarks.md; never part of `make test`): installs osmium-tool and GNU
# time when missing, tiles the inputs (cached in bench/data/), then writes bench/results/*.json
# and the tables of the doc.
BENCH_TILES := munich_altstadt_2020-07-20.osm.pbf:10x10 liechtenstein_2015-07-27.osm.pbf:8x8 \
	monaco_2023-12-26.osm.pbf:20x20
bench: setup
	@{ command -v osmium && test -x /usr/bin/time; } >/dev/null || { [ "$$(id -u)" = 0 ] && \
	  apt-get update -qq && apt-get install -y -qq osmium-tool time; } || { \
	  echo "bench: needs osmium-tool and GNU time (apt-get install osmium-tool time)"; exit 1; }
	$(BIN)/python bench/tile_pbf.py --check $(BENCH_TILES)
	$(BIN)/python bench/extract.py
	$(BIN)/python bench/areas.py
	$(BIN)/python bench/grid.py
	$(BIN)/python bench/scale.py
	$(BIN)/python bench/maps.py
	$(BIN)/python bench/streets.py
	$(BIN)/python bench/report.py

clean:
	rm -rf build dist .pytest_cache .mypy_cache .ruff_cache
