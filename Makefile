# Two commands set a fresh machine up: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DB ?= $(or $(JINEF_DB),var/registry.sqlite)

.PHONY: install run test lint typecheck pytest bench clean

install: $(STAMP)

# Re-install only when the project's dependency list changes: quick when already done.
$(STAMP): pyproject.toml
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 2
DEVKEY := $(dir $(DB))dev-key.txt
SERVICE_DB := $(basename $(DB)).service.sqlite

# Build the default registry if missing, make a development key once (printed each time), then serve.
run: install
	@test -f $(DB) || $(BIN)/jinef build --db $(DB)
	@(test -s $(DEVKEY) && test -f $(SERVICE_DB)) || $(BIN)/jinef keys create --db $(DB) --org development --scopes lookup,geocode,reverse,match,metrics > $(DEVKEY)
	@echo "development key (X-API-Key): $$(cat $(DEVKEY))  — kept in $(DEVKEY)"
	@echo "serving on http://$(HOST):$(PORT)  (docs: /docs)"
	$(BIN)/jinef serve --db $(DB) --host $(HOST) --port $(PORT) --workers $(WORKERS)

lint: install
	$(BIN)/ruff check jinef tests bench

typecheck: install
	$(BIN)/mypy

pytest: install
	$(BIN)/pytest

test: lint typecheck pytest

bench: install
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) var .mypy_cache .pytest_cache .ruff_cache
