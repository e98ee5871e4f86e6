# Every target builds .venv from pyproject.toml first, so a fresh clone needs nothing but python3.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DEMO   ?=
DB     ?=
PYTEST_ARGS ?=

.PHONY: dev test lint bench emulator clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

dev: $(STAMP)  ## the whole stack on the embedded emulator (DEMO=1 adds simulated meetings; DB=FILE keeps Temporal's state)
	$(BIN)/roomkeeper dev $(if $(DEMO),--demo,) $(if $(DB),--db-filename $(DB),)

emulator: $(STAMP)  ## only the Twilio Video emulator on :8088
	$(BIN)/roomkeeper emulator

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest $(PYTEST_ARGS)

bench: $(STAMP)  ## every scenario at small sizes (about 10 minutes); results in bench/results/
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m bench all --small

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache build *.egg-info
