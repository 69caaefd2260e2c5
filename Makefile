# Two commands set a fresh machine up: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DB ?= $(or $(JINEF_DB),var/registry.sqlite)

.PHONY: install run test lint typecheck pytest pg bench clean

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

# The PostgreSQL engine is tested against a real local server: scripts/pg-up.sh installs/starts one
# if needed and prints its DSN. If it cannot, the PostgreSQL tests fail and say why (never skip).
pytest: install
	@dsn="$${JINEF_TEST_PG_DSN:-$$(scripts/pg-up.sh || echo unavailable)}"; \
	JINEF_TEST_PG_DSN="$$dsn" $(BIN)/pytest

# Start the local PostgreSQL for the tests and print its DSN.
pg:
	@scripts/pg-up.sh

test: lint typecheck pytest

bench: install
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) var .mypy_cache .pytest_cache .ruff_cache
