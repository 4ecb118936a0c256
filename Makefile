# `make demo` and `make test` create (or reuse) a virtual environment in .venv and do all the set-up.
# .venv is the main stack: current JAX, the codec, training, no TensorFlow. `make test` also builds .venv-tf, the
# TensorFlow stage, for the few tests of what only TensorFlow provides (tests marked `tensorflow`).
PYTHON ?= python3
# The TensorFlow stage's interpreter: TensorFlow 2.17 has wheels up to Python 3.12.
PYTHON_TF ?= $(PYTHON)
# The Pythons each stack's pins install on (requirements.txt: jax 0.10.2 and numpy 2.4.6 need 3.11; the main stack
# was tried on each of these), checked before anything is installed.
MAIN_PYTHONS := 3.11 3.12 3.13
TF_PYTHONS := 3.11 3.12
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
VENV_TF ?= .venv-tf
STAMP_TF := $(VENV_TF)/.installed

.PHONY: demo test test-main test-isa test-tf kodak kodak-grm kodak-context clean-venv check-python check-python-tf

# $(call require_python,INTERPRETER,VERSIONS,WHAT,VARIABLE): make stops with one line unless INTERPRETER runs and is
# one of VERSIONS. Expanded when a recipe runs, and only where its environment is still to be built: a venv that
# exists keeps working whatever PYTHON says now.
python_version = $(shell $(1) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
require_python = $(if $(filter $(2),$(call python_version,$(1))),,$(error $(1) is $(or \
  $(addprefix Python ,$(call python_version,$(1))),not found): $(3) needs Python $(2) (choose one with $(4)=python3.12)))

check-python:
	@$(if $(wildcard $(STAMP)),,$(call require_python,$(PYTHON),$(MAIN_PYTHONS),grm_jax,make demo PYTHON))true

check-python-tf:
	@$(if $(wildcard $(STAMP_TF)),,$(call require_python,$(PYTHON_TF),$(TF_PYTHONS),the TensorFlow stage of make \
	  test,make test PYTHON_TF))true

# The package with the dependencies it declares (pyproject.toml), constrained to the pins of requirements.txt: a
# dependency missing from pyproject.toml fails here. A venv left from other pins is rebuilt from scratch.
$(STAMP): requirements.txt pyproject.toml | check-python
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c requirements.txt -e ".[test]"
	@! $(BIN)/python -c "import tensorflow" 2>/dev/null || (echo "TensorFlow in $(VENV)"; exit 1)
	@touch $(STAMP)

demo: check-python $(STAMP)
	$(BIN)/grm roundtrip --force samples/kodim23.png samples/kodim15.png

# results/README.md's Kodak results: the shipped models and Pillow's codecs on Kodak, real files. `make -j2 kodak` runs the two
# evaluations side by side (about 20 minutes on 2 cores). The shipped models are variable-rate: each is measured at
# CompressAI's qualities 1 to 6.
KODAK ?= ../shared/data/kodak
REFERENCE ?= ../shared/data/reference_rd/kodak
LAMBDAS := 0.0018 0.0035 0.0067 0.013 0.025 0.0483
RESULTS ?= results/kodak
kodak-grm: $(STAMP)
	$(BIN)/python evaluate.py --model grm-small $(foreach l,$(LAMBDAS),--lambda $(l)) --name "grm-small (ours)" \
	    --data $(KODAK) --out $(RESULTS)/grm_small.json --codec jpeg --codec webp --codec avif --per-image --force
kodak-context: $(STAMP)
	$(BIN)/python evaluate.py --model context-small $(foreach l,$(LAMBDAS),--lambda $(l)) \
	    --name "context-small (ours, same training)" --data $(KODAK) --out $(RESULTS)/context_small.json --per-image --force
kodak: kodak-grm kodak-context
	$(BIN)/python benchmarks/rd_table.py $(RESULTS)/grm_small.json $(RESULTS)/context_small.json \
	    $(RESULTS)/grm_small.jpeg.json $(RESULTS)/grm_small.webp.json $(RESULTS)/grm_small.avif.json
	$(BIN)/python -m grm_jax.bd $(RESULTS)/grm_small.json --anchor $(RESULTS)/context_small.json
	$(BIN)/python -m grm_jax.bd $(RESULTS)/grm_small.json $(RESULTS)/context_small.json \
	    $(RESULTS)/grm_small.webp.json $(RESULTS)/grm_small.avif.json --anchor $(RESULTS)/grm_small.jpeg.json
	$(BIN)/python -m grm_jax.bd $(RESULTS)/grm_small.json $(RESULTS)/context_small.json \
	    $(RESULTS)/grm_small.avif.json --anchor $(RESULTS)/grm_small.webp.json
	$(BIN)/python -m grm_jax.bd $(RESULTS)/grm_small.json $(RESULTS)/context_small.json \
	    $(RESULTS)/grm_small.webp.json $(RESULTS)/grm_small.avif.json --anchor $(REFERENCE)/vtm.json
	$(BIN)/python -m grm_jax.plot $(RESULTS)/grm_small.json $(RESULTS)/context_small.json \
	    $(RESULTS)/grm_small.jpeg.json $(RESULTS)/grm_small.webp.json $(RESULTS)/grm_small.avif.json \
	    $(REFERENCE)/vtm.json $(REFERENCE)/bpg_444_x265_ycbcr.json $(REFERENCE)/compressai-mbt2018_mse_cuda.json \
	    $(REFERENCE)/compressai-bmshj2018-hyperprior_mse_cuda.json $(REFERENCE)/grm2021-figure-approx.json \
	    --out $(RESULTS)/rd.png --max-bpp 1.2 --force

# The TensorFlow stage: tensorflow-compression's op (the reference the coder is checked against), tf.image,
# tfds, tensorboard; TensorFlow 2.17 holds it at numpy < 2 and jax 0.5.3, the second JAX the portable path is
# checked across.
$(STAMP_TF): requirements-tf.txt pyproject.toml | check-python-tf
	rm -rf $(VENV_TF)
	$(PYTHON_TF) -m venv $(VENV_TF)
	$(VENV_TF)/bin/python -m pip install -q --upgrade pip
	$(VENV_TF)/bin/python -m pip install -q -r requirements-tf.txt
	$(VENV_TF)/bin/python -m pip install -q --no-deps -e .
	@touch $(STAMP_TF)

test: check-python check-python-tf test-main test-isa test-tf

# Every test; those marked `tensorflow` skip here, saying so.
test-main: $(STAMP)
	JAX_PLATFORMS=cpu $(BIN)/python -m pytest -q tests

# The tests marked `cross_isa` (float values stored by another machine, a short encode and decode) again, with XLA
# held to SSE4.2: other vector widths sum in other orders, so a tolerance that holds only on this CPU fails here
# rather than on a user's. XLA's flag names x86-64 instruction sets only; elsewhere the stage says so.
test-isa: $(STAMP)
	@if [ "$$(uname -m)" = x86_64 ]; then \
	  echo "XLA_FLAGS=--xla_cpu_max_isa=SSE4_2 pytest -m cross_isa"; \
	  XLA_FLAGS=--xla_cpu_max_isa=SSE4_2 JAX_PLATFORMS=cpu $(BIN)/python -m pytest -q -m cross_isa tests; \
	else echo "test-isa: XLA's instruction-set flag names x86-64's; nothing to run on $$(uname -m)"; fi

test-tf: $(STAMP_TF)
	JAX_PLATFORMS=cpu $(VENV_TF)/bin/python -m pytest -q -m tensorflow tests

clean-venv:
	rm -rf $(VENV) $(VENV_TF)
