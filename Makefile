# Both entry points build their own virtualenv on a fresh machine (Python 3.11 + make).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
STACK  ?= local
BASE   ?= build/plan-base/$(STACK)
HEAD   ?= build/plan/$(STACK)

.PHONY: venv plan plan-all plan-diff test lint bench clean

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

venv: $(STAMP)

plan: $(STAMP)
	$(PY) -m infra.plan --stack $(STACK)

plan-all: $(STAMP)
	$(PY) -m infra.plan

plan-diff: $(STAMP)
	$(PY) -m infra.plan.diff $(BASE) $(HEAD)

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
