# `make run` and `make test` are the two commands of the README; each installs what it needs first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test test-fast install browser eval bench bench-server bench-int8 load lint format clean

run: $(STAMP)
	$(BIN)/assistant serve

test: $(STAMP) browser
	$(BIN)/python -m pytest

# The tests that need no local model and no browser: about 12 minutes on 2 cores (311 tests).
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not model and not browser"

# The evaluation suite (about 30 minutes on 2 cores the first time, 6 after: see README) and the speed benchmark.
eval: $(STAMP)
	$(BIN)/assistant eval

bench: $(STAMP)
	$(BIN)/python bench/run.py
	$(BIN)/python bench/scale_server.py --scales $(BENCH_SERVER_SCALES)

# The index on a Chroma server beside the embedded one: ingest pairs and the synthetic indexes (cached in
# ~/.cache/assistant/bench/ once built: 100,000 chunks take about 3 minutes, 1,000,000 about half an hour).
BENCH_SERVER_SCALES ?= 100000
bench-server: $(STAMP)
	$(BIN)/python bench/scale_server.py --scales $(BENCH_SERVER_SCALES)

# The embedding model exported to ONNX Runtime with int8 weights, beside today's torch path (issue 18; about
# 5 minutes): throughput, and what the int8 vectors do to retrieval. The product does not use the export.
bench-int8: $(STAMP)
	$(BIN)/python bench/embedding_int8.py

# 16 sessions (chat and HTTP API) asking with follow-ups for 5 minutes against the local model.
load: $(STAMP)
	$(BIN)/python bench/load.py

# The UI tests drive Debian's Chromium (Playwright must not download a browser of its own).
browser:
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }

install: $(STAMP)

# torch first, alone: asked for by another package it would resolve to a multi-GB CUDA build.
# llama-cpp-python compiles llama.cpp from source (about 6 minutes on 2 cores, once; pip caches the wheel).
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	CMAKE_ARGS="-DLLAVA_BUILD=OFF" $(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# ruff (style and common bugs) and mypy (types: a wrong attribute or argument name fails here).
lint: $(STAMP)
	$(BIN)/ruff check assistant tests bench
	$(BIN)/ruff format --check assistant tests bench
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format assistant tests bench
	$(BIN)/ruff check --fix assistant tests bench

clean:
	rm -rf index
