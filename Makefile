# clawrent: `make run` serves on http://127.0.0.1:3001, `make test` runs the whole suite.
SHELL := /bin/bash
CARGO ?= cargo
PSQL_ADMIN ?= psql -h 127.0.0.1 -U postgres -d postgres -qAt

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-z][a-z0-9-]*:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

.PHONY: services
services: ## Start local Postgres and Redis when they are not answering (installs them as root)
	@deploy/local-services.sh

.PHONY: run
run: services ## Start Postgres/Redis if needed, migrate, and serve on 127.0.0.1:3001
	$(CARGO) run -p clawrent-api --bin clawrent -- serve

.PHONY: migrate
migrate: services ## Create the database if missing and apply migrations
	$(CARGO) run -p clawrent-api --bin clawrent -- migrate

.PHONY: openapi
openapi: ## Regenerate openapi/openapi.json from the code
	$(CARGO) run -q -p clawrent-api --bin clawrent -- openapi > openapi/openapi.json

.PHONY: fmt
fmt: ## Format the code
	$(CARGO) fmt --all

.PHONY: lint
lint: ## cargo fmt --check and clippy with warnings as errors
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

.PHONY: test-tools
test-tools:
	@deploy/test-tools.sh > /dev/null

.PHONY: clean-test-dbs
clean-test-dbs: ## Drop databases left by interrupted test runs
	@for db in $$($(PSQL_ADMIN) -c "SELECT datname FROM pg_database WHERE datname LIKE 'clawrent\_t\_%'"); do \
		$(PSQL_ADMIN) -c "DROP DATABASE IF EXISTS $$db WITH (FORCE)" || true; done

.PHONY: k8s-validate
k8s-validate: ## Render and validate the Kubernetes manifests against the schemas
	@k8s/validate.sh

.PHONY: bench
bench: services ## Browse latency at 1k vs 1M agents (release build; writes docs/benchmarks-browse.json)
	$(CARGO) build --release -p clawrent-api
	python3 tests/bench/browse.py

.PHONY: bench-tools
bench-tools:
	@deploy/bench-tools.sh

.PHONY: bench-settlement
bench-settlement: services bench-tools ## Settlements/s at 8 and 32 clients vs pgbench simple-update (writes docs/benchmarks.md section)
	$(CARGO) run --release -q -p clawrent-tests --bin bench-settlement

.PHONY: bench-sessions
bench-sessions: services bench-tools ## Session end, message sends and history pages over HTTP vs their Postgres ceilings (writes docs/benchmarks-sessions.json and a docs/benchmarks.md section)
	$(CARGO) build --release -q -p clawrent-api --bin clawrent
	$(CARGO) run --release -q -p clawrent-tests --bin bench-sessions

.PHONY: test
test: services test-tools clean-test-dbs lint k8s-validate ## The whole suite: lint, unit and black-box tests, manifests
	$(CARGO) build --workspace --bins
	RUST_TEST_THREADS=$${RUST_TEST_THREADS:-4} $(CARGO) test --workspace --no-fail-fast
