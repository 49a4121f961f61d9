# The two commands a newcomer runs first: `make demo` and `make test`.
# Each creates .venv and installs everything it needs (nothing by hand).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test install bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m host_tools.demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

# Firmware branch coverage per module (coverage.py, branch=True; settings in pyproject.toml;
# the data of the `druglib` subprocesses is combined by `coverage run` itself).
.PHONY: coverage
coverage: $(STAMP)
	$(BIN)/python -m coverage erase
	$(BIN)/python -m coverage run -m pytest -q -p no:cacheprovider
	$(BIN)/python -m coverage report

clean:
	rm -rf $(VENV) out build *.egg-info
