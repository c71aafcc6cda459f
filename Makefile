# SigmaSight — `make run` (everything embedded) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed

.PHONY: run test lint format lock install bench clean api-docs

# Installs exactly the locked versions (every transitive dependency, checked by hash).
$(STAMP): requirements-dev.lock
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes -r requirements-dev.lock
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(PY) -m webapp.devserver

# Line coverage of webapp/ and jobs/ in this process (files under 100% listed, total last).
test: $(STAMP)
	$(PY) -m pytest --cov --cov-report=term $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# After editing requirements*.txt: re-resolve and re-hash (the README says when and how).
lock: $(STAMP)
	$(VENV)/bin/pip-compile --quiet --generate-hashes --strip-extras --allow-unsafe \
	  --no-emit-index-url --no-emit-find-links -o requirements.lock requirements.txt
	# The dev lock keeps extras: pytest-cov asks for coverage[toml], and --require-hashes
	# refuses an extra-less pin of a package that is asked for with an extra.
	$(VENV)/bin/pip-compile --quiet --generate-hashes --no-strip-extras --allow-unsafe \
	  --no-emit-index-url --no-emit-find-links -c requirements.lock \
	  -o requirements-dev.lock requirements-dev.txt

# docs/API.md and the README's path table, from real answers of the demo data.
api-docs: $(STAMP)
	$(PY) tools/api_reference.py

bench: $(STAMP)
	$(PY) -m pip install --quiet -r requirements-bench.txt
	$(PY) bench/engines.py
	$(PY) bench/imports.py
	$(PY) bench/pages.py
	$(PY) bench/concurrent_imports.py
	$(PY) bench/workers.py
	$(PY) bench/reports.py
	$(PY) bench/exports.py

clean:
	rm -rf $(VENV) instance .pytest_cache test-artifacts
