# The two commands a newcomer runs first: `make demo` and `make test`.
# Each creates .venv and installs everything it needs (nothing by hand).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test install bench clean chromium broker

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m host_tools.demo

test: $(STAMP) chromium broker
	$(BIN)/python -m pytest -q

bench: $(STAMP) broker
	$(BIN)/python bench/run_all.py

# Headless Chromium for the page tests (tests/test_views_browser.py): Debian's
# `chromium`, installed when missing and we can (root with apt-get, as CI runs);
# a failure only makes the browser tests skip, with one printed line.
chromium:
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing Debian chromium for the browser tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1 \
	    || echo "could not install chromium: the browser tests will skip"; \
	else echo "chromium is not installed (needs root and apt-get): the browser tests will skip"; fi
# Firmware branch coverage per module (coverage.py, branch=True; settings in pyproject.toml;
# the data of the `druglib` subprocesses is combined by `coverage run` itself).
.PHONY: coverage
coverage: $(STAMP)
	$(BIN)/python -m coverage erase
	$(BIN)/python -m coverage run -m pytest -q -p no:cacheprovider
	$(BIN)/python -m coverage report
# Mosquitto (Debian package) for the fleet tests and bench: installed when
# missing and we are root with apt; otherwise (or if apt fails) the fleet
# tests skip with one line, and `make test` goes on.
broker:
	@if command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mosquitto >/dev/null) \
	  || echo "mosquitto could not be installed: the fleet tests will skip"; \
	else echo "mosquitto is not installed (apt-get install mosquitto): the fleet tests will skip"; fi

clean:
	rm -rf $(VENV) out build *.egg-info
