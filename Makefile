# `make demo` and `make test` create (or reuse) a virtual environment in .venv and do all the set-up.
# `make test` also tests the current-JAX stack (no TensorFlow) in .venv-current.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
VENV_CURRENT ?= .venv-current
STAMP_CURRENT := $(VENV_CURRENT)/.installed

.PHONY: demo test test-pinned test-current kodak kodak-grm kodak-context clean-venv

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	$(BIN)/python -m pip install -q --no-deps -e .
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/grm roundtrip samples/kodim23.png samples/kodim15.png

# The README's results: the shipped models and Pillow's codecs on Kodak, real files. `make -j2 kodak` runs the two
# evaluations side by side (about 20 minutes on 2 cores). The shipped models are variable-rate: each is measured at
# CompressAI's qualities 1 to 6.
KODAK ?= ../shared/data/kodak
REFERENCE ?= ../shared/data/reference_rd/kodak
LAMBDAS := 0.0018 0.0035 0.0067 0.013 0.025 0.0483
RESULTS ?= results/kodak
kodak-grm: $(STAMP)
	$(BIN)/python evaluate.py --model models/grm-small $(foreach l,$(LAMBDAS),--lambda $(l)) --name "grm-small (ours)" \
	    --data $(KODAK) --out $(RESULTS)/grm_small.json --codec jpeg --codec webp --codec avif --per-image
kodak-context: $(STAMP)
	$(BIN)/python evaluate.py --model models/context-small $(foreach l,$(LAMBDAS),--lambda $(l)) \
	    --name "context-small (ours, same training)" --data $(KODAK) --out $(RESULTS)/context_small.json --per-image
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
	    --out $(RESULTS)/rd.png --max-bpp 1.2

# The current stack installs the package itself with its declared dependencies (pyproject.toml), constrained to
# the pins of requirements-current.txt: a dependency missing from pyproject.toml fails here. No TensorFlow.
$(STAMP_CURRENT): requirements-current.txt pyproject.toml
	@test -x $(VENV_CURRENT)/bin/python || $(PYTHON) -m venv $(VENV_CURRENT)
	$(VENV_CURRENT)/bin/python -m pip install -q --upgrade pip
	$(VENV_CURRENT)/bin/python -m pip install -q -c requirements-current.txt -e ".[test]"
	@! $(VENV_CURRENT)/bin/python -c "import tensorflow" 2>/dev/null || (echo "TensorFlow in $(VENV_CURRENT)"; exit 1)
	@touch $(STAMP_CURRENT)

test: test-pinned test-current

test-pinned: $(STAMP)
	JAX_PLATFORMS=cpu $(BIN)/python -m pytest -q tests

# Every test that does not need TensorFlow; the others skip with their reason (-rs lists them).
test-current: $(STAMP_CURRENT)
	JAX_PLATFORMS=cpu $(VENV_CURRENT)/bin/python -m pytest -q -rs tests

clean-venv:
	rm -rf $(VENV) $(VENV_CURRENT)
