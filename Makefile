# The README's two commands: `make demo` and `make test`.
VENV := .venv
PY := $(VENV)/bin/python
# Python writes each module's bytecode at its first import (see scripts/setup.sh and warm.sh).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: setup setup-dev warm demo test test-slow lint lint-only browser

setup:
	bash scripts/setup.sh

setup-dev:
	bash scripts/setup.sh --dev

# MiniRocket's compiled kernels and the imports' bytecode, once per .venv (see the script).
warm:
	bash scripts/warm.sh

demo: setup warm
	$(VENV)/bin/archselect fit datasets/digits.csv --trials 12 --out runs/digits

lint: setup-dev
	$(MAKE) --no-print-directory lint-only

lint-only:
	$(VENV)/bin/ruff check archselect tests benchmarks
	$(VENV)/bin/mypy archselect
	$(VENV)/bin/lint-imports

browser:
	bash scripts/install_browser.sh

# The checks, the warm-up and the browser do not depend on each other: side by side.
test: setup-dev
	$(MAKE) --no-print-directory -j3 --output-sync=target lint-only warm browser
	$(PY) -m pytest -q -n auto --durations=15

test-slow: setup-dev warm browser
	$(PY) -m pytest -q -m slow --durations=15
