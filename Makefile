# Two entry points for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test setup toolchain check-artifact lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Python package with every extra the tests need.
setup: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"

# Pinned Solidity toolchain (solc-js, anvil) from contracts/package-lock.json.
toolchain:
	cd contracts && npm ci --no-audit --no-fund --loglevel=error

demo: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[cli]"
	$(BIN)/gpuhub demo

check-artifact: setup toolchain
	$(BIN)/python -m gpuhub.build --check

test: setup toolchain check-artifact lint
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

bench: setup toolchain
	$(BIN)/python bench/gas.py
	$(BIN)/python bench/list_gpus.py

clean:
	rm -rf $(VENV) contracts/node_modules .pytest_cache .hypothesis
