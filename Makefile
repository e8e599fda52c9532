# kv-gateway: the two commands are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8080
# The suite runs on every core (pytest-xdist), a test file per worker at a time; set
# PYTEST_PARALLEL= to run it in one process.
PYTEST_PARALLEL ?= -n auto --dist loadfile
# The demo journal systems that `make run` starts beside the gateway: fhir-rest on PEER_PORT,
# RIVTA on the port after it.
PEER_PORT ?= $(shell echo $$(( $(PORT) + 11 )))
RIVTA_PEER_PORT := $(shell echo $$(( $(PEER_PORT) + 1 )))

# make run: embedded default (SQLite under ./var), demo directory, demo clients.
RUN_ENV := KVGW_DATABASE_URL=sqlite:///var/kv-gateway.db \
	KVGW_PUBLIC_BASE_URL=http://127.0.0.1:$(PORT) \
	KVGW_PORT=$(PORT) \
	KVGW_LOG_FORMAT=console \
	KVGW_JOURNAL_POLL_SECONDS=3

.PHONY: run test install lint typecheck pytest profiles bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "kv-gateway needs Python 3.11 or newer (PYTHON=$(PYTHON))")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	@mkdir -p var
	$(RUN_ENV) $(BIN)/kv-gateway db upgrade
	$(RUN_ENV) $(BIN)/kv-gateway seed demo --fhir-peer http://127.0.0.1:$(PEER_PORT)/fhir --fhir-rest-profile demo \
		--rivta-peer http://127.0.0.1:$(RIVTA_PEER_PORT)/ProcessMedicalStatementRequest/1/rivtabp21
	$(RUN_ENV) $(BIN)/kv-gateway clients demo
	$(RUN_ENV) $(BIN)/kv-gateway inbox demo-user
	$(RUN_ENV) $(BIN)/kv-gateway inbox demo-request
	$(RUN_ENV) $(BIN)/kv-gateway serve --demo-peers --demo-peer-port $(PEER_PORT)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy gateway adapters

pytest: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_PARALLEL) $(PYTEST_ARGS)

test: lint typecheck pytest

profiles:
	bash profiles/build.sh

bench: $(STAMP)
	$(BIN)/python benchmarks/fhir_store_throughput.py

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache test-artifacts
