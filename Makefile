# Two commands on a fresh machine: `make run` and `make test`. Both start with `make install`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test bench bytecode clean fuzz-dashboard

install: $(STAMP)

# Re-installs only when pyproject.toml changed since the last install.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	$(MAKE) --no-print-directory bytecode
	touch $(STAMP)

# Compiled once here, so start-up never pays for compiling (some machines set PYTHONDONTWRITEBYTECODE).
bytecode:
	$(BIN)/python -m compileall -q engine tui

run: install
	$(BIN)/pipeline run workflows/demo.yaml

test: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/pytest

bench: install bytecode
	$(BIN)/python bench/run_all.py

# The dashboard's random-key test at length: many runs, each a fresh key sequence (CI runs a few seeds).
FUZZ_EXAMPLES ?= 200
fuzz-dashboard: install
	PIPELINE_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest tests/tui/test_random_keys.py -o timeout=0 -x

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
