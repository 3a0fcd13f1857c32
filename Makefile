# The README's two commands: `make demo` and `make test`.
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: setup setup-dev demo test test-slow lint browser

setup:
	bash scripts/setup.sh

setup-dev:
	bash scripts/setup.sh --dev

demo: setup
	$(VENV)/bin/archselect fit datasets/digits.csv --trials 12 --out runs/digits

lint: setup-dev
	$(VENV)/bin/ruff check archselect tests benchmarks
	$(VENV)/bin/mypy archselect
	$(VENV)/bin/lint-imports

browser:
	bash scripts/install_browser.sh

test: setup-dev lint browser
	$(PY) -m pytest -q -n auto --durations=15

test-slow: setup-dev browser
	$(PY) -m pytest -q -m slow --durations=15
