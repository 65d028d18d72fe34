# Catalog normalization platform. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | md5sum | cut -c1-12)

.DEFAULT_GOAL := help
.PHONY: help install up down destroy status demo test test-unit test-integration lint format \
        typecheck schemas migrate topics summary clean eval bench bench-micro chaos test-alerts \
        check-deploy

help: ## Show this help
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,embedded,bench]"
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP) ## Create .venv and install the project with its dev, embedded and bench extras

up: install ## Start the embedded stack (broker, Postgres, Redis, LLM emulator, six services, search)
	$(BIN)/python -m catalog.devstack up

down: ## Stop every process of the embedded stack (data in .stack/ is kept)
	@test -x $(BIN)/python && $(BIN)/python -m catalog.devstack down || true

destroy: ## Stop the stack and delete its data
	@test -x $(BIN)/python && $(BIN)/python -m catalog.devstack destroy || rm -rf .stack

status: install ## Which stack processes are running
	$(BIN)/python -m catalog.devstack status

demo: up ## Run the sample feed through the platform and print the summary (stack stays up)
	set -a && source .stack/stack.env && set +a && \
	  $(BIN)/catalog publish data/sample/listings.jsonl --wait --timeout 600 && \
	  $(BIN)/catalog summary
	@echo "The stack is still running: 'make down' stops it."

summary: install ## Print the catalog summary of the running stack
	set -a && source .stack/stack.env && set +a && $(BIN)/catalog summary

migrate: install ## Apply SQL migrations to the configured database (CATALOG_POSTGRES__DSN)
	$(BIN)/catalog migrate

topics: install ## Create the Kafka topics on the configured broker
	$(BIN)/catalog topics create

test: install ## Unit and integration tests with coverage (gate: 80%)
	$(BIN)/python -m pytest --cov --cov-report=term --cov-report=xml -q

test-unit: install ## Unit tests only (no servers)
	$(BIN)/python -m pytest tests/unit -q

test-integration: install ## Integration tests only (starts the embedded stack)
	$(BIN)/python -m pytest tests/integration -q

chaos: install ## Crash/fault/outage run on a private stack; fails on any loss or duplicate
	$(BIN)/python -m catalog.chaos $(CHAOS_ARGS)

test-alerts: ## promtool: check the alert rules and run their unit tests (apt-get install prometheus)
	@command -v promtool >/dev/null || { echo "promtool not found: apt-get install prometheus"; exit 1; }
	promtool check rules deploy/prometheus/alerts.yml
	promtool test rules deploy/prometheus/tests/*.yml

check-deploy: install ## Helm lint/render, Kubernetes schema validation, partition guards, alert rules, compose files
	bash scripts/check_deploy.sh

lint: install ## ruff (lint + format check) and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install ## Apply ruff formatting and autofixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

eval: install ## Quality figures: grouping on Abt-Buy valid, WDC Products valid and the held-back latam-grocery half, WDC PAVE, Chilean titles, brands from titles (WDC Products, WDC PAVE), dev set, recommendations vs popularity, known-item search (../shared/data when present)
	$(BIN)/python -m catalog.evaluation
	$(BIN)/python -m catalog.evaluation.brands
	$(BIN)/python -m catalog.evaluation.semantic_cache
	$(BIN)/python -m catalog.evaluation.recommendations
	$(BIN)/python -m catalog.evaluation.search

bench: install ## End-to-end benchmark, six services on a private stack: bench/results/<date>.json + plots (BENCH_ARGS="--count 100000")
	$(BIN)/python benchmarks/bench_e2e.py $(BENCH_ARGS)

bench-micro: install ## Run every other benchmarks/bench_*.py in turn (medians and ratios to targets)
	@set -e; for bench in benchmarks/bench_*.py; do \
	  [ "$$bench" = benchmarks/bench_e2e.py ] && continue; \
	  echo "== $$bench"; $(BIN)/python $$bench; done

schemas: install ## Regenerate the JSON Schema files under schemas/json/
	$(BIN)/python -m schemas

clean: down ## Remove caches and build artefacts (keeps .venv and .stack)
	rm -rf .pytest_cache .mypy_cache .ruff_cache .coverage* coverage.xml build *.egg-info
