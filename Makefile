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

.PHONY: build test test-deps install generate dbt-build docs lint bench clean

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

docs: install
	export WSE_PSEUDONYM_KEY="$${WSE_PSEUDONYM_KEY:-$$($(BIN)/wse-impact demo-key)}"; \
	$(BIN)/dbt docs generate --static && echo "Lineage documentation: $(CURDIR)/target/static_index.html"

build: generate dbt-build docs

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

clean:
	rm -rf target logs $(WSE_WAREHOUSE_DIR)
