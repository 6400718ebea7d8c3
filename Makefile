# Both entry points build their own virtualenv on a fresh machine (Python 3.11 + make).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
STACK  ?= local

.PHONY: venv plan plan-all test lint bench clean

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

venv: $(STAMP)

plan: $(STAMP)
	$(PY) -m infra.plan --stack $(STACK)

plan-all: $(STAMP)
	$(PY) -m infra.plan

lint: $(STAMP)
	$(PY) -m ruff check .

test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m pytest

bench: $(STAMP)
	$(PY) benchmarks/plan.py --stack $(STACK)
	$(PY) benchmarks/stacks.py

clean:
	rm -rf build
