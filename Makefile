# make demo: install into .venv, then run the main job offline on built-in defaults.
# make test: install into .venv, then run the test suite.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test lint bench clean broker

install: $(STAMP)

# torch is pinned so pip takes the local CPU build instead of several GB of CUDA wheels.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[all,dev]'
	touch $(STAMP)

demo: install
	$(BIN)/drsn-edge demo --out demo-out

test: install
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check drsn_edge tests benchmarks

clean:
	rm -rf $(VENV) demo-out .pytest_cache
