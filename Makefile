# The README's two commands: `make demo` and `make test`.
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: setup setup-dev kernels demo test test-slow lint lint-only browser

setup:
	bash scripts/setup.sh

setup-dev:
	bash scripts/setup.sh --dev

# MiniRocket's compiled kernels, once per .venv (see the script).
kernels:
	bash scripts/compile_kernels.sh

demo: setup kernels
	$(VENV)/bin/archselect fit datasets/digits.csv --trials 12 --out runs/digits

lint: setup-dev
	$(MAKE) --no-print-directory lint-only

lint-only:
	$(VENV)/bin/ruff check archselect tests benchmarks
	$(VENV)/bin/mypy archselect
	$(VENV)/bin/lint-imports

browser:
	bash scripts/install_browser.sh

# The checks, the kernels and the browser do not depend on each other: side by side.
test: setup-dev
	$(MAKE) --no-print-directory -j3 --output-sync=target lint-only kernels browser
	$(PY) -m pytest -q -n auto --durations=15

test-slow: setup-dev kernels browser
	$(PY) -m pytest -q -m slow --durations=15
