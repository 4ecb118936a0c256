# `make demo` and `make test` create (or reuse) a virtual environment in .venv and do all the set-up.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test clean-venv

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	$(BIN)/python -m pip install -q --no-deps -e .
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/grm estimate samples/kodim23.png samples/kodim15.png

test: $(STAMP)
	JAX_PLATFORMS=cpu $(BIN)/python -m pytest -q tests

clean-venv:
	rm -rf $(VENV)
