# Two commands for a fresh machine (Python 3.11 and make): `make build` and `make test`.
# Both take SCALE= and SEED= (build: SCALE=1.0, the deliberation's sizes; test: small data).
SHELL := /bin/bash
PYTHON ?= python3.11
SEED ?= 20230905
BUILD_SCALE := $(or $(SCALE),1.0)
TEST_SCALE := $(or $(SCALE),0.01)
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin

export WSE_LANDING_DIR ?= data/landing
export WSE_WAREHOUSE_DIR ?= warehouse
export DBT_PROFILES_DIR := $(CURDIR)
export DBT_SEND_ANONYMOUS_USAGE_STATS := false

.PHONY: build test test-deps install generate dbt-build validate docs lint bench bench-scale clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

install: $(VENV)/.installed

generate: install
	$(BIN)/wse-impact generate --scale $(BUILD_SCALE) --seed $(SEED) --out $(WSE_LANDING_DIR) --if-missing

# The demo key is created on first use in .secrets/ (ignored by git); a real delivery sets
# WSE_PSEUDONYM_KEY itself.
dbt-build: install
	mkdir -p $(WSE_WAREHOUSE_DIR)
	export WSE_PSEUDONYM_KEY="$${WSE_PSEUDONYM_KEY:-$$($(BIN)/wse-impact demo-key)}"; \
	$(BIN)/dbt build

# the Great Expectations suites, computed in DuckDB on the built warehouse (read-only)
validate: install
	$(BIN)/wse-impact validate

docs: install
	export WSE_PSEUDONYM_KEY="$${WSE_PSEUDONYM_KEY:-$$($(BIN)/wse-impact demo-key)}"; \
	$(BIN)/dbt docs generate --static && echo "Lineage documentation: $(CURDIR)/target/static_index.html"

build: generate dbt-build validate docs

# headless Chromium (Debian's package) for the test that opens the lineage docs
test-deps:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "Installing Debian's chromium for the docs test"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

test: install test-deps
	WSE_TEST_SCALE=$(TEST_SCALE) WSE_TEST_SEED=$(SEED) $(BIN)/pytest

lint: install
	$(BIN)/sqlfluff lint models analyses

bench: install
	$(BIN)/python benchmarks/bench_generate.py

# generate, dbt build and validate at each scale in one run (BENCH_SCALES=1.0,10 needs ~14 GB
# and ~45 min on 2 cores); writes only under BENCH_DIR
BENCH_SCALES ?= 1.0,10
BENCH_DIR ?= bench
bench-scale: install
	$(BIN)/python benchmarks/bench_scale.py --scales $(BENCH_SCALES) --work-dir $(BENCH_DIR)

clean:
	rm -rf target logs $(WSE_WAREHOUSE_DIR)
