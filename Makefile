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

run: install
	@test -f $(DB) || $(BIN)/jinef build --db $(DB)
	$(BIN)/jinef stats --db $(DB)

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
