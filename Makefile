# Two commands for a fresh clone: `make demo` runs the system with simulated traffic,
# `make test` runs every test (`make up`: the system without traffic).
# Both create .venv and install the project (with its test extras) on first use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: up demo test lint install

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

up: $(STAMP)
	$(BIN)/recsys up

demo: $(STAMP)
	$(BIN)/recsys up --demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

# the dashboard test drives Debian's headless Chromium (we run as root on CI's fresh Debian)
test: $(STAMP)
	test -x /usr/bin/chromium || (apt-get update && apt-get install -y --no-install-recommends chromium)
	$(BIN)/python -m pytest
