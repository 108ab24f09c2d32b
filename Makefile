# Two commands matter: `make run` (set up, then chat with the bundled article) and `make test`.
# Set-up is a local virtualenv in .venv. torch is installed first and pinned to a CPU build:
# a bare "torch" requirement would pull a multi-GB CUDA build. On this project's machines pip
# finds torch==2.13.0 (CPU) on local disk; elsewhere set TORCH_INDEX to PyTorch's CPU wheel index
# (see README).
PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0
TORCH_INDEX ?=
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run test index clean bench

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) "$(TORCH)"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[test]"
	touch $(STAMP)

run: setup
	$(BIN)/articlebot repl

index: setup
	$(BIN)/articlebot index

test: setup
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q


# performance benchmark (docs/performance.md): prints a table, writes bench/results/*.json;
# BENCH="--only warm,cold,build" for the quick part (the million-sentence scale run takes ~20 min)
bench: setup
	HF_HUB_OFFLINE=1 $(BIN)/python bench/run.py $(BENCH)

clean:
	rm -rf $(VENV) index/data-* index/manifest.json .pytest_cache
