# Hulei — one command to run the platform, one to test it. `make help` lists the targets.
# The interpreter the venv is made from: the distribution's CPython when it is 3.11 or newer and
# can make a venv. Debian builds it with profile-guided and link-time optimization and links it
# statically; on it the platform spends ~9 % less CPU a report than on a plain build such as
# pyenv's default (docs/performance.md, "Session 24"), as the deployment's images (official
# python:3.11-slim, also optimized builds) do. `make install PYTHON=…` chooses another.
DISTRO_PYTHON := /usr/bin/python3
ifeq ($(origin PYTHON),undefined)
PYTHON := $(shell $(DISTRO_PYTHON) -c 'import ensurepip, sys; sys.exit(sys.version_info < (3, 11))' \
            >/dev/null 2>&1 && echo $(DISTRO_PYTHON) || echo python3)
endif
VENV   := .venv
BIN    := $(VENV)/bin
# Named after the interpreter, so a venv made from another one is made again.
PYTHON_ID := $(shell $(PYTHON) -c 'import sys; print(sys.version.split()[0] + sys.base_prefix.replace("/", "-"))' \
               2>/dev/null)
STAMP  := $(VENV)/.installed-$(PYTHON_ID)
PYTEST := $(BIN)/python -m pytest
# The AsyncAPI initiative's JSON Schema of AsyncAPI 3.0.0 (npm package @asyncapi/specs), which
# the event catalogue's test validates against; pinned by version and content hash.
ASYNCAPI_SPECS  := 6.11.1
ASYNCAPI_SHA256 := abe96881dbfaad495ccbb6bd8d3fb43ca18a13b9d7564849ccb66f39d5e5b20f
ASYNCAPI_SCHEMA := var/asyncapi/asyncapi-3.0.0.schema.json
COMPOSE := docker compose -p hulei -f deploy/compose/docker-compose.yml --env-file deploy/compose/.env

.DEFAULT_GOAL := help
.PHONY: help install venv postgres-bin chromium asyncapi run bench test test-unit test-integration test-e2e test-deploy test-contract chaos lint fmt clean up down logs deploy/compose/certs

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@if [ -x $(BIN)/python ] && [ ! -e $(STAMP) ] && ls $(VENV)/.installed-* >/dev/null 2>&1; then \
	  echo "$(VENV) was made from another interpreter: making it again from $(PYTHON)"; \
	  rm -rf $(VENV); fi
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) postgres-bin chromium $(ASYNCAPI_SCHEMA) ## create .venv, install the project with its dev tools (and PostgreSQL, chromium)

venv: $(STAMP) ## .venv alone, made again when it was made from another interpreter

# The tests start their own PostgreSQL server from Debian's binaries (initdb, pg_ctl); as root,
# install them when missing. Elsewhere the PostgreSQL suites skip (and fail under CI=true).
postgres-bin: ## PostgreSQL server binaries for the tests (Debian package `postgresql`, as root)
	@if command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update && apt-get install -y postgresql; \
	else echo "no PostgreSQL binaries: install the postgresql package to run its suites"; fi

# The console's browser test drives Debian's chromium through Playwright, which cannot download
# a browser here; a CJK font so the Chinese board renders. As root, installed when missing.
chromium: ## chromium and a CJK font for the console's browser test (Debian packages, as root)
	@if command -v chromium >/dev/null && fc-list :lang=zh 2>/dev/null | grep -q .; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update && apt-get install -y chromium fonts-wqy-zenhei; \
	else echo "no chromium: install the chromium package to run the console's browser test"; fi

$(ASYNCAPI_SCHEMA):
	@mkdir -p $(@D)
	cd $(@D) && npm pack --silent @asyncapi/specs@$(ASYNCAPI_SPECS) >/dev/null \
	  && tar -xzf asyncapi-specs-$(ASYNCAPI_SPECS).tgz 'package/schemas/3.0.0-without-$$id.json' \
	  && mv 'package/schemas/3.0.0-without-$$id.json' $(@F).part \
	  && rm -rf package asyncapi-specs-$(ASYNCAPI_SPECS).tgz
	echo "$(ASYNCAPI_SHA256)  $@.part" | sha256sum -c --quiet && mv $@.part $@

asyncapi: $(STAMP) ## write the event catalogue (AsyncAPI 3) to var/asyncapi.json; the gateway serves it at /asyncapi.json
	$(BIN)/python -m shared.asyncapi --out var/asyncapi.json

run: $(STAMP) ## start NATS, the four services and the gateway with demo data (Ctrl-C stops)
	$(BIN)/python -m deploy.launcher

# The in-process suites on two workers: they mostly wait (servers, fsyncs, bounded polls), so
# two share the two cores. Then the platform as processes, one test at a time, as ever.
test: $(STAMP) $(ASYNCAPI_SCHEMA) ## the whole suite: unit, integration (real NATS + SQLite), end-to-end
	$(PYTEST) -q -n 2 -m "not deploy_full" tests/unit tests/integration --durations=15
	$(PYTEST) -q -m "not deploy_full and not contract_deep" tests/e2e tests/chaos --durations=15

test-deploy: $(STAMP) ## manifests started for real: prod overlay, compose, start-up faults; backup/restore (~2.5 min)
	$(PYTEST) -q -m deploy_full tests/e2e/test_manifests_start.py tests/e2e/test_backup_restore.py tests/e2e/test_makefile_venv.py

test-contract: $(STAMP) ## schemathesis in depth: more examples and call chains for every role (~5 min)
	$(PYTEST) -q -m contract_deep tests/e2e/test_contract.py

test-unit: $(STAMP) $(ASYNCAPI_SCHEMA) ## pure rules only (seconds)
	$(PYTEST) -q tests/unit

test-integration: $(STAMP) ## real NATS servers and SQLite files, in one process
	$(PYTEST) -q tests/integration

test-e2e: $(STAMP) ## the platform as separate processes, as `make run` starts it
	$(PYTEST) -q tests/e2e

bench: $(STAMP) ## floors and platform in one run: the table, JSON in var/bench/ (~15 min; QUICK=1: seconds)
	$(BIN)/python -m tests.bench.run $(if $(QUICK),--quick)

chaos: $(STAMP) ## fault-injection suite, all eight scenarios; prints the table (REPORTS=1000)
	$(BIN)/python -m tests.chaos --reports $(or $(REPORTS),1000)

lint: $(STAMP) ## ruff (check + format check), mypy (strict, tests too), the import contracts
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

fmt: $(STAMP) ## apply ruff fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

deploy/compose/.env: | $(STAMP)  # first run only: .env.example with fresh secrets and key pair
	$(BIN)/python -m deploy.envfile $@

NATS_CERTS := deploy/compose/certs
# First run only: a local CA and the NATS server's certificate (names nats, localhost), both
# ECDSA P-256; the CA key stays here (0600) to issue a new one. Only ca.crt reaches the clients.
$(NATS_CERTS)/server.crt:
	mkdir -p $(NATS_CERTS) && chmod 700 $(NATS_CERTS)
	openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -days 3650 \
	  -subj "/CN=hulei-nats-ca" -keyout $(NATS_CERTS)/ca.key -out $(NATS_CERTS)/ca.crt 2>/dev/null
	openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -subj "/CN=nats" \
	  -keyout $(NATS_CERTS)/server.key -out $(NATS_CERTS)/server.csr 2>/dev/null
	printf 'subjectAltName=DNS:nats,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n' \
	  > $(NATS_CERTS)/server.ext
	openssl x509 -req -in $(NATS_CERTS)/server.csr -CA $(NATS_CERTS)/ca.crt \
	  -CAkey $(NATS_CERTS)/ca.key -CAcreateserial -days 825 -extfile $(NATS_CERTS)/server.ext \
	  -out $(NATS_CERTS)/server.crt 2>/dev/null
	rm -f $(NATS_CERTS)/server.csr $(NATS_CERTS)/server.ext $(NATS_CERTS)/ca.srl
	chmod 600 $(NATS_CERTS)/ca.key $(NATS_CERTS)/server.key
	chmod 644 $(NATS_CERTS)/ca.crt $(NATS_CERTS)/server.crt

deploy/compose/certs: $(NATS_CERTS)/server.crt ## local CA and NATS TLS certificates for compose (first run)

up: deploy/compose/.env $(NATS_CERTS)/server.crt ## docker compose: build and start everything (http://127.0.0.1:8000, traces :16686)
	$(COMPOSE) up -d --build

down: ## docker compose: stop (volumes kept; `$(COMPOSE) down -v` deletes the data)
	$(COMPOSE) down

logs: ## docker compose: follow the logs
	$(COMPOSE) logs -f --tail=200

clean: ## remove local data (var/) and caches; keeps .venv
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
