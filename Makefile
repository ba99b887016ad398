# make demo: install into .venv, then run the main job offline on built-in defaults.
# make test: install into .venv, then run the test suite.
# make wheel: the device install's wheel in dist/.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test lint bench bench-quick system triton-server clean wheel

install: $(STAMP)

# torch is pinned so pip takes the local CPU build instead of several GB of CUDA wheels.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[all,dev]'
	touch $(STAMP)

# What the tests talk to: a real MQTT broker (mosquitto, mosquitto_passwd) and a real browser for the report
# (Chromium + chromedriver). Tests skip, saying why, where these cannot be installed.
SYSTEM_PKGS := mosquitto chromium chromium-driver
system:
	@missing=""; for b in mosquitto mosquitto_passwd chromium chromedriver; do \
	  command -v $$b >/dev/null 2>&1 || test -x /usr/sbin/$$b || missing="$$missing $$b"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then (apt-get install -y -q $(SYSTEM_PKGS) >/dev/null 2>&1 || \
	      (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q $(SYSTEM_PKGS) >/dev/null 2>&1)) || \
	      echo "note: could not install$$missing; their tests will be skipped"; \
	  else echo "note: not root, missing$$missing; their tests will be skipped"; fi; fi

# A real Triton Inference Server for the Triton tests and benchmark: nvidia-pytriton ships the server binary. Its
# Python backend stub is built against the distribution's python3.11; a pyenv 3.11 of another patch level breaks it
# (multiprocessing's resource tracker), so the server side gets its own venv on /usr/bin/python3.11.
TRITON_PY   ?= /usr/bin/python3.11
TRITON_VENV := .venv-triton
triton-server: $(TRITON_VENV)/.installed
$(TRITON_VENV)/.installed:
	@if [ ! -x $(TRITON_PY) ]; then echo "note: no $(TRITON_PY); the Triton server tests will be skipped"; exit 0; fi; \
	$(TRITON_PY) -c 'import ensurepip' 2>/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -q python3.11-venv >/dev/null 2>&1; }; \
	($(TRITON_PY) -m venv $(TRITON_VENV) && \
	 $(TRITON_VENV)/bin/python -m pip install -q --disable-pip-version-check nvidia-pytriton==0.7.0 onnxruntime 'numpy<2' && touch $@) || \
	 echo "note: could not build $(TRITON_VENV); the Triton server tests will be skipped"

# the device install's wheel (pure Python, the zoo's models inside): dist/drsn_edge-VERSION-py3-none-any.whl
wheel: install
	$(BIN)/python -m pip wheel --no-deps -q -w dist .

demo: install
	$(BIN)/drsn-edge demo --out demo-out

test: install system triton-server
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check drsn_edge tests benchmarks
	$(BIN)/lint-imports

bench: install
	$(BIN)/drsn-edge bench cwru-wide --data cwru --labels 4 --data-dir ../shared/data/cwru/12k_drive_end \
	  --out benchmarks/results/cpu-2core

bench-quick: install
	$(BIN)/drsn-edge bench sim-paper --data sim --quick --out bench-out --floor-accuracy 90

clean:
	rm -rf $(VENV) $(TRITON_VENV) demo-out bench-out .pytest_cache
