# Two commands do all the set-up: `make run` and `make test`. See README.md.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask
export FLASK_APP := wsgi.py
# `make run` serves on this port: PORT=8080 make run (5000 is taken by AirPlay on macOS).
PORT ?= 5000

.PHONY: run test test-ceph install install-dev sysdeps translations messages migrate seed bench screenshots clean

run: install translations migrate seed  ## set up everything and serve on http://127.0.0.1:$(PORT) (default 5000)
	$(FLASK) run --host 127.0.0.1 --port $(PORT)

test: install-dev translations  ## install the dev requirements and run the whole suite
	$(PY) -m pytest $(PYTEST_ARGS)

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

test-ceph: install-dev translations  ## the whole suite with the storage tests on a throwaway Ceph RGW
	bash scripts/ceph-s3.sh up
	TEST_S3=ceph $(PY) -m pytest $(PYTEST_ARGS); status=$$?; bash scripts/ceph-s3.sh down; exit $$status

screenshots: install-dev translations  ## save the README's screenshots under docs/screenshots/
	$(PY) scripts/screenshots.py

# `make bench` runs the upload benchmark, `make bench pages` the page benchmark (PostgreSQL: see docs/performance.md),
# `make bench direct` the direct-upload benchmark (docs/benchmarks.md);
# BENCH_ARGS=--smoke runs one quick repetition, as CI does.
BENCHMARKS := upload pages direct
bench: install-dev  ## the upload benchmark; `make bench pages` for the pages at 1k-1M rows (docs/performance.md)
	$(PY) -m bench $(or $(filter $(BENCHMARKS),$(MAKECMDGOALS)),upload) $(BENCH_ARGS)

ifneq ($(filter bench,$(MAKECMDGOALS)),)
$(BENCHMARKS):
	@:
endif

clean:
	rm -rf $(VENV) .pytest_cache
