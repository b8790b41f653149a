# Hulei — one command to run the platform, one to test it. `make help` lists the targets.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PYTEST := $(BIN)/python -m pytest
COMPOSE := docker compose -p hulei -f deploy/compose/docker-compose.yml --env-file deploy/compose/.env

.DEFAULT_GOAL := help
.PHONY: help install run test test-unit test-integration test-e2e chaos lint fmt clean up down logs

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) ## create .venv and install the project with its dev tools

run: $(STAMP) ## start NATS, the four services and the gateway with demo data (Ctrl-C stops)
	$(BIN)/python -m deploy.launcher

test: $(STAMP) ## the whole suite: unit, integration (real NATS + SQLite), end-to-end
	$(PYTEST) -q

test-unit: $(STAMP) ## pure rules only (seconds)
	$(PYTEST) -q tests/unit

test-integration: $(STAMP) ## real NATS servers and SQLite files, in one process
	$(PYTEST) -q tests/integration

test-e2e: $(STAMP) ## the platform as separate processes, as `make run` starts it
	$(PYTEST) -q tests/e2e

chaos: $(STAMP) ## fault-injection suite, all six scenarios; prints the table (REPORTS=1000)
	$(BIN)/python -m tests.chaos --reports $(or $(REPORTS),1000)

lint: $(STAMP) ## ruff (check + format check) and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

fmt: $(STAMP) ## apply ruff fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

deploy/compose/.env:  # first run only: .env.example with fresh random secrets
	$(PYTHON) -c "import base64, pathlib, re, secrets; \
	new = {'INTERNAL_SECRET': secrets.token_urlsafe(48), 'JWT_SECRET': secrets.token_urlsafe(48), \
	       'AUDIT_KEY': secrets.token_urlsafe(48), \
	       'PII_KEY': base64.b64encode(secrets.token_bytes(32)).decode()}; \
	text = pathlib.Path('deploy/compose/.env.example').read_text(); \
	text = re.sub(r'^(\w+)=.*$$', lambda m: m[1] + '=' + new[m[1]] if m[1] in new else m[0], text, flags=re.M); \
	out = pathlib.Path('$@'); out.touch(mode=0o600); out.write_text(text)"
	@echo "wrote $@ with fresh random secrets; back up PII_KEY"

up: deploy/compose/.env ## docker compose: build and start everything (http://127.0.0.1:8000, traces :16686)
	$(COMPOSE) up -d --build

down: ## docker compose: stop (volumes kept; `$(COMPOSE) down -v` deletes the data)
	$(COMPOSE) down

logs: ## docker compose: follow the logs
	$(COMPOSE) logs -f --tail=200

clean: ## remove local data (var/) and caches; keeps .venv
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
