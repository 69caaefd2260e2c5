# Two commands set a fresh machine up: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DB ?= $(or $(JINEF_DB),var/registry.sqlite)

.PHONY: install run test lint typecheck pytest pg bench clean browser pdftools vendor-leaflet vendor-vazirmatn vendor-chartjs \
	vendor-swagger-ui vendor-redoc

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
DEVKEY := $(dir $(DB))development-key.txt
SERVICE_DB := $(basename $(DB)).service.sqlite

# Build the default registry if missing, make the development organisation's key once (every scope, so that the
# verification hub, the registry edits and the dashboard can be tried too; for this machine only, never a shared
# server), print it with a postcode of the registry and ready curl lines, then serve (texts go to the sealed
# development outbox: `jinef outbox` shows them).
run: install
	@test -f $(DB) || $(BIN)/jinef build --db $(DB)
	@(test -s $(DEVKEY) && test -f $(SERVICE_DB)) || (umask 077 && $(BIN)/jinef keys create --db $(DB) --org development --scopes all > $(DEVKEY))
	@echo "development key, every scope, for this machine only (X-API-Key): $$(cat $(DEVKEY))  — kept in $(DEVKEY)"
	@echo "try it: a postcode of this registry, its address and point, then a lookup, a geocode and a reverse:"
	@$(BIN)/jinef example --db $(DB) --url http://$(HOST):$(PORT) --key-file $(DEVKEY)
	@echo "serving on http://$(HOST):$(PORT)  (search page: /, API docs: /docs)"
	$(BIN)/jinef serve --db $(DB) --host $(HOST) --port $(PORT) --workers $(WORKERS) --warm --dev-sms-outbox

# ruff, then the layer order (import-linter's contract in pyproject.toml: read and write sides never import each other).
lint: install
	$(BIN)/ruff check jinef tests bench
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy

# The PostgreSQL engine is tested against a real local server: scripts/pg-up.sh installs/starts one
# if needed and prints its DSN; scripts/pg-down.sh stops it afterwards if this run started it. If it cannot,
# the PostgreSQL tests fail and say why (never skip).
pytest: install
	@dsn="$${JINEF_TEST_PG_DSN:-$$(scripts/pg-up.sh || echo unavailable)}"; \
	JINEF_TEST_PG_DSN="$$dsn" $(BIN)/pytest; rc=$$?; scripts/pg-down.sh; exit $$rc

# Start the local PostgreSQL for the tests and print its DSN.
pg:
	@scripts/pg-up.sh

test: lint typecheck browser pdftools pytest

# The browser test drives headless Chromium: install Debian's build once when missing (CI is a clean
# machine, run as root); a machine that has it skips this at no cost.
browser:
	@if test -x /usr/bin/chromium -a -x /usr/bin/chromedriver; then echo "browser: chromium already installed"; else \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver && \
		echo "browser: installed chromium and chromium-driver (apt-get)"; fi

# The certificate tests render PDFs to images with poppler's pdftoppm: install Debian's package once when missing.
pdftools:
	@if test -x /usr/bin/pdftoppm; then echo "pdftools: poppler-utils already installed"; else \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q poppler-utils && \
		echo "pdftools: installed poppler-utils (apt-get)"; fi

VAZIRMATN_VERSION := 33.0.3
VAZIRMATN_DIR := jinef/read/certificates/fonts

# Refresh the certificate's vendored Persian font (Vazirmatn, SIL OFL) from the npm registry; the copied files are
# committed, so a clean clone needs no npm.
vendor-vazirmatn:
	@tmp=$$(mktemp -d) && (cd $$tmp && npm pack --silent vazirmatn@$(VAZIRMATN_VERSION) >/dev/null && \
		tar xzf vazirmatn-$(VAZIRMATN_VERSION).tgz) && mkdir -p $(VAZIRMATN_DIR) && \
		cp $$tmp/package/fonts/ttf/Vazirmatn-Regular.ttf $$tmp/package/fonts/ttf/Vazirmatn-Bold.ttf \
			$$tmp/package/OFL.txt $(VAZIRMATN_DIR)/ && \
		echo "vazirmatn $(VAZIRMATN_VERSION) from npm (npm pack vazirmatn@$(VAZIRMATN_VERSION)): fonts/ttf/Vazirmatn-Regular.ttf, Vazirmatn-Bold.ttf and OFL.txt" \
			> $(VAZIRMATN_DIR)/VERSION && rm -rf $$tmp && ls $(VAZIRMATN_DIR)

LEAFLET_VERSION := 1.9.4
LEAFLET_DIR := jinef/api/static/vendor/leaflet

# Refresh the vendored Leaflet from the npm registry. The copied files are committed, so a clean
# clone (and CI) needs no npm; run this only to change the version.
vendor-leaflet:
	@tmp=$$(mktemp -d) && (cd $$tmp && npm pack --silent leaflet@$(LEAFLET_VERSION) >/dev/null && \
		tar xzf leaflet-$(LEAFLET_VERSION).tgz) && rm -rf $(LEAFLET_DIR) && mkdir -p $(LEAFLET_DIR) && \
		cp -r $$tmp/package/dist/leaflet.js $$tmp/package/dist/leaflet.css $$tmp/package/dist/images \
			$$tmp/package/LICENSE $(LEAFLET_DIR)/ && \
		echo "leaflet $(LEAFLET_VERSION) from npm (npm pack leaflet@$(LEAFLET_VERSION)): dist/ and LICENSE" \
			> $(LEAFLET_DIR)/VERSION && rm -rf $$tmp && ls $(LEAFLET_DIR)

CHARTJS_VERSION := 4.6.1
CHARTJS_DIR := jinef/api/static/vendor/chartjs

# Refresh the vendored Chart.js (the provinces' dashboard's progress charts) from the npm registry, as for Leaflet:
# the copied files are committed, so a clean clone needs no npm.
vendor-chartjs:
	@tmp=$$(mktemp -d) && (cd $$tmp && npm pack --silent chart.js@$(CHARTJS_VERSION) >/dev/null && \
		tar xzf chart.js-$(CHARTJS_VERSION).tgz) && rm -rf $(CHARTJS_DIR) && mkdir -p $(CHARTJS_DIR) && \
		cp $$tmp/package/dist/chart.umd.min.js $(CHARTJS_DIR)/chart.umd.min.js && \
		cp $$tmp/package/LICENSE.md $(CHARTJS_DIR)/LICENSE && \
		echo "chart.js $(CHARTJS_VERSION) from npm (npm pack chart.js@$(CHARTJS_VERSION)): dist/chart.umd.min.js and LICENSE.md" \
			> $(CHARTJS_DIR)/VERSION && rm -rf $$tmp && ls $(CHARTJS_DIR)

SWAGGER_UI_VERSION := 5.35.0
SWAGGER_UI_DIR := jinef/api/static/vendor/swagger-ui

# Refresh the vendored Swagger UI (the API docs at /docs) from the npm registry: only the bundle, its stylesheet and
# the licences; the copied files are committed, so a clean clone needs no npm and /docs works offline.
vendor-swagger-ui:
	@tmp=$$(mktemp -d) && (cd $$tmp && npm pack --silent swagger-ui-dist@$(SWAGGER_UI_VERSION) >/dev/null && \
		tar xzf swagger-ui-dist-$(SWAGGER_UI_VERSION).tgz) && rm -rf $(SWAGGER_UI_DIR) && mkdir -p $(SWAGGER_UI_DIR) && \
		cp $$tmp/package/swagger-ui-bundle.js $$tmp/package/swagger-ui-bundle.js.LICENSE.txt \
			$$tmp/package/swagger-ui.css $$tmp/package/LICENSE $$tmp/package/NOTICE $(SWAGGER_UI_DIR)/ && \
		echo "swagger-ui-dist $(SWAGGER_UI_VERSION) from npm (npm pack swagger-ui-dist@$(SWAGGER_UI_VERSION)): swagger-ui-bundle.js (+ its LICENSE.txt), swagger-ui.css, LICENSE and NOTICE" \
			> $(SWAGGER_UI_DIR)/VERSION && rm -rf $$tmp && ls $(SWAGGER_UI_DIR)

# ReDoc 2 (the API docs at /redoc): 3.x loads as an ES module and reports usage to its vendor unless told not to.
# Its menu shows the vendor's logo from their CDN: the URL is blanked (the image then hides itself), so the page asks
# nothing of any other host.
REDOC_VERSION := 2.5.4
REDOC_DIR := jinef/api/static/vendor/redoc

vendor-redoc:
	@tmp=$$(mktemp -d) && (cd $$tmp && npm pack --silent redoc@$(REDOC_VERSION) >/dev/null && \
		tar xzf redoc-$(REDOC_VERSION).tgz) && rm -rf $(REDOC_DIR) && mkdir -p $(REDOC_DIR) && \
		cp $$tmp/package/bundles/redoc.standalone.js $$tmp/package/bundles/redoc.standalone.js.LICENSE.txt \
			$$tmp/package/LICENSE $(REDOC_DIR)/ && \
		sed -i 's#"https://cdn.redoc.ly/redoc/logo-mini.svg"#"data:,"#' $(REDOC_DIR)/redoc.standalone.js && \
		echo "redoc $(REDOC_VERSION) from npm (npm pack redoc@$(REDOC_VERSION)): bundles/redoc.standalone.js (+ its LICENSE.txt) and LICENSE; the menu logo's CDN URL replaced by data:," \
			> $(REDOC_DIR)/VERSION && rm -rf $$tmp && ls $(REDOC_DIR)

bench: install
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) var .mypy_cache .pytest_cache .ruff_cache
