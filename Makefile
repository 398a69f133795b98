# Two commands do all the set-up: `make run` and `make test`. See README.md.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask
export FLASK_APP := wsgi.py
# `make run` serves on this port: PORT=8080 make run (5000 is taken by AirPlay on macOS).
PORT ?= 5000
# `make test` runs the suite in this many pytest-xdist worker processes, a test file per worker at a time
# (TEST_WORKERS=0: one process, in file order).
TEST_WORKERS ?= 2

.PHONY: run test test-ceph install install-dev browser-deps sysdeps translations messages migrate seed bench screenshots clean

run: install translations migrate seed  ## set up everything and serve on http://127.0.0.1:$(PORT) (default 5000)
	$(FLASK) run --host 127.0.0.1 --port $(PORT)

test: install-dev translations browser-deps  ## install the dev requirements and run the whole suite
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# Stamp files make a second run skip pip when the requirement files did not change.
$(VENV)/.installed: $(PY) requirements.txt
	@bash scripts/sysdeps.sh
	$(PY) -m pip install -q -r requirements.txt
	@touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install -q -r requirements-dev.txt
	@touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# axe-core for the accessibility test, pinned by its package-lock.json; npm ci again only when the lock changes.
AXE_DIR := tests/e2e/axe
$(AXE_DIR)/node_modules/.installed: $(AXE_DIR)/package-lock.json
	@if command -v npm >/dev/null; then npm ci --prefix $(AXE_DIR) --ignore-scripts --no-audit --no-fund --loglevel=error \
	  && touch $@; else echo "npm not found: the accessibility test will be skipped (apt-get install npm)"; fi

browser-deps: $(AXE_DIR)/node_modules/.installed

sysdeps:  ## system libraries the Python packages need (libmagic)
	@bash scripts/sysdeps.sh

translations: install  ## compile the message catalogs
	@$(VENV)/bin/pybabel -q compile -d translations

messages: install  ## extract new strings and update the catalogs
	$(VENV)/bin/pybabel -q extract -F babel.cfg -k _l -o translations/messages.pot .
	$(VENV)/bin/pybabel -q update -i translations/messages.pot -d translations

migrate: install
	$(FLASK) db upgrade

seed: install
	$(FLASK) seed-demo

test-ceph: install-dev translations browser-deps  ## the whole suite with the storage tests on a throwaway Ceph RGW
	bash scripts/ceph-s3.sh up
	TEST_S3=ceph $(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS); status=$$?; bash scripts/ceph-s3.sh down; exit $$status

screenshots: install-dev translations  ## save the README's screenshots under docs/screenshots/
	$(PY) scripts/screenshots.py

# `make bench` runs the upload benchmark; `make bench NAME` another one: concurrent (50 uploads through gunicorn and
# workers), direct (browser to store), pages (1k-1M rows), export (a person's ZIP). PostgreSQL for pages and
# concurrent: BENCH_DATABASE_URL (docs/performance.md, docs/benchmarks.md). BENCH_ARGS=--smoke: one quick run, as CI.
BENCHMARKS := upload concurrent direct pages export
bench: install-dev  ## the upload benchmark; `make bench pages` for the pages at 1k-1M rows (docs/performance.md)
	$(PY) -m bench $(or $(filter $(BENCHMARKS),$(MAKECMDGOALS)),upload) $(BENCH_ARGS)

ifneq ($(filter bench,$(MAKECMDGOALS)),)
$(BENCHMARKS):
	@:
endif

clean:
	rm -rf $(VENV) .pytest_cache $(AXE_DIR)/node_modules
