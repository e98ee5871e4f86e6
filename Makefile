# Every target builds .venv from pyproject.toml first, so a fresh clone needs nothing but python3.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DEMO   ?=
DB     ?=
PYTEST_ARGS ?=
# The suite mostly waits on real servers, so it runs in this many pytest-xdist processes (0: in one
# process, as plain `pytest` does). docs/testing.md says how, and how to run one test alone.
PYTEST_WORKERS ?= 2

.PHONY: dev test lint tools bench emulator clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,dev-server]'
	touch $(STAMP)

# Bytecode is cached for dev too: the workflow sandbox imports workflows/meeting.py afresh for each
# meeting, and without bytecode (an environment with PYTHONDONTWRITEBYTECODE) it compiles it each time.
dev: $(STAMP)  ## the whole stack on the embedded emulator (DEMO=1 adds simulated meetings; DB=FILE keeps Temporal's state)
	PYTHONDONTWRITEBYTECODE= $(BIN)/roomkeeper dev $(if $(DEMO),--demo,) $(if $(DB),--db-filename $(DB),)

emulator: $(STAMP)  ## only the Twilio Video emulator on :8088
	$(BIN)/roomkeeper emulator

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/lint-imports
	$(BIN)/hadolint Dockerfile

# Prometheus (prometheus, promtool) and docker-compose come from Debian, for the tests of deploy/. They
# are installed only when missing and apt-get is usable (root on Debian/Ubuntu); elsewhere the tests that
# need them skip, saying what to install.
tools:
	@if command -v prometheus >/dev/null && command -v promtool >/dev/null && command -v docker-compose >/dev/null; then :; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  echo "installing prometheus and docker-compose from Debian (for the tests of deploy/)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus docker-compose >/dev/null; \
	else \
	  echo "make tools: prometheus/promtool or docker-compose is missing and apt-get is not usable here;"; \
	  echo "  the tests of deploy/ that need them will skip (Debian: apt-get install prometheus docker-compose)"; \
	fi

# Whole files go to one worker (--dist loadfile): a module's fixtures start once and its module-level
# state stays in one process. Bytecode is cached even where the environment turns it off
# (PYTHONDONTWRITEBYTECODE): otherwise every worker re-rewrites the asserts of schemathesis' and
# hypothesis' ~300 modules and every `roomkeeper` subprocess compiles the project again.
test: lint tools
	PYTHONDONTWRITEBYTECODE= $(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

bench: $(STAMP)  ## every scenario at small sizes (about 10 minutes); results in bench/results/
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m bench all --small

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache build *.egg-info
