# Two entry points for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

SLITHER_VENV ?= .venv-slither

.PHONY: demo test setup toolchain check-artifact lint slither bench docs docs-serve notebooks clean

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

test: setup toolchain check-artifact lint slither
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check src tests bench docs/_ext
	$(BIN)/ruff format --check src tests bench docs/_ext
	$(BIN)/mypy

# The documentation site (Material for MkDocs) in site/; strict: a broken link or reference fails.
# tests/docs builds it the same way and runs every code block and notebook.
docs: setup
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

docs-serve: setup
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve

# Re-run the notebooks in place, so the site shows fresh outputs.
notebooks: setup
	$(BIN)/jupyter nbconvert --to notebook --execute --inplace docs/notebooks/*.ipynb

# Static analysis of the contracts; fails on medium or high findings (docs/security.md).
# OpenZeppelin's own code (node_modules) is analysed with ours but excluded from findings.
# Slither pins its own web3, so it lives in a virtualenv of its own.
SLITHER_TARGETS := GPUHub.sol governance/GPUHubVotes.sol governance/GPUHubGovernor.sol \
	governance/GPUHubTimelock.sol
slither: toolchain
	test -x $(SLITHER_VENV)/bin/slither || ($(PYTHON) -m venv $(SLITHER_VENV) && \
		$(SLITHER_VENV)/bin/python -m pip install --quiet slither-analyzer)
	cd contracts && for target in $(SLITHER_TARGETS); do \
		$(abspath $(SLITHER_VENV))/bin/slither $$target --solc tools/solc \
			--solc-args=--optimize --fail-medium --exclude-informational --exclude-low \
			--filter-paths node_modules || exit 1; \
	done

# Every benchmark, one JSON summary in bench/results.json (machine-specific: not committed).
# BASELINE=path/to/other/checkout/src measures that checkout beside this one where it applies.
bench: setup toolchain
	$(BIN)/python bench/run_all.py $(if $(BASELINE),--baseline-src $(BASELINE))

clean:
	rm -rf $(VENV) $(SLITHER_VENV) contracts/node_modules contracts/crytic-export .pytest_cache .hypothesis site
