# cutover: every target sets up what it needs, so a fresh clone can run any of them.
#   make plan ENV=production   render, build, then a Terraform plan (AWS, or the local emulator)
#   make rehearse              the whole release on this machine (SCENARIO=<name>, ENV=<env>)
#   make test-fast             the unit tier: no Terraform, PostgreSQL, moto, browser (< 1 min)
#   make test                  the whole test suite on every core (what CI runs)
SHELL        := bash
.SHELLFLAGS  := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON       ?= python3
ENV          ?= production
VENV         := .venv
PY           := $(VENV)/bin/python
CUTOVER      := $(PY) -m cutover
CHECKOV_VENV := .venv-checkov
CHECKOV      := $(CHECKOV_VENV)/bin/checkov
CHECKOV_ARGS ?=
# The tiers (markers in pyproject.toml, given by tests/tiers.py): test-fast leaves these out.
TIER_MARKERS := terraform or checkov or postgres or moto or browser or node or slow
# make test: pytest-xdist on every core; tests that share one expensive fixture carry an
# xdist_group and run on one worker (--dist loadgroup). PYTEST_ARGS=... adds options.
XDIST        ?= -n auto --dist loadgroup
PYTEST_ARGS  ?=
ENVS          = $(patsubst config/%.release.yaml,%,$(wildcard config/*.release.yaml))

.PHONY: help setup doctor render render-check goldens fmt fmt-check validate scan build plan apply deploy rehearse rehearse-matrix sandbox test test-fast bench bench-smoke lint report-screenshot clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 16

$(VENV)/.installed: requirements/dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements/dev.txt -e .
	touch $@

$(CHECKOV_VENV)/.installed: requirements/checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements/checkov.txt
	touch $@

# Node tools the tests run (asl-validator), exactly as tools/package-lock.json pins them.
NODE_TOOLS   := tools/node_modules/.installed

$(NODE_TOOLS): tools/package.json tools/package-lock.json
	npm ci --prefix tools --no-audit --no-fund --loglevel=error
	touch $@

setup: $(VENV)/.installed $(CHECKOV_VENV)/.installed $(NODE_TOOLS) ## create .venv, .venv-checkov and tools/node_modules (idempotent)

doctor: $(VENV)/.installed ## what the targets need and how to get what is missing
	$(CUTOVER) doctor

render: $(VENV)/.installed ## render terraform/envs/<env>/ and the JSON Schema from config/
	$(CUTOVER) render --all

render-check: $(VENV)/.installed ## fail if anything generated is stale (CI's drift gate)
	$(CUTOVER) render --all --check

goldens: $(VENV)/.installed ## regenerate tests/golden/*/expected (read the diff before committing)
	$(PY) -m tests.golden.regenerate

fmt: $(VENV)/.installed ## terraform fmt the hand-written modules
	$(CUTOVER) terraform fmt

fmt-check: $(VENV)/.installed ## fail if any Terraform file is not formatted
	$(CUTOVER) terraform fmt --check

validate: render build ## terraform init (offline mirror if any) + validate for every environment
	$(CUTOVER) terraform validate --all

scan: render $(CHECKOV_VENV)/.installed ## checkov on every environment (skips come from the spec)
	@for env in $(ENVS); do \
	  echo "== checkov terraform/envs/$$env"; \
	  BC_SKIP_MAPPING=TRUE $(CHECKOV) --quiet --compact --framework terraform --skip-download \
	    --download-external-modules false \
	    --directory terraform/envs/$$env --config-file terraform/envs/$$env/.checkov.yaml $(CHECKOV_ARGS); \
	done

build: $(VENV)/.installed ## package each function and the dependency layer into build/
	$(PY) functions/build.py

plan: render build ## terraform plan ENV=<env>, saved for `make apply` (AWS, or the local emulator)
	$(CUTOVER) plan --env $(ENV)

apply: $(VENV)/.installed ## apply exactly the plan saved by `make plan ENV=<env>` (AWS only)
	$(CUTOVER) apply --env $(ENV)

deploy: $(VENV)/.installed ## ship the versions `make apply` published through CodeDeploy (FUNCTION=name for one)
	$(CUTOVER) deploy --env $(ENV) $(if $(FUNCTION),--function $(FUNCTION),--all)

rehearse: render $(VENV)/.installed ## rehearse the release on this machine (SCENARIO=healthy, ENV=production)
	$(PY) functions/build.py --no-layer
	$(CUTOVER) rehearse $(if $(filter command line environment,$(origin ENV)),--env $(ENV)) --scenario $(or $(SCENARIO),healthy)

sandbox: render build ## a simulated AWS with the release behind it, on 127.0.0.1 (ENV=...; stop: cutover sandbox down --env ENV)
	@$(CUTOVER) sandbox up --env $(ENV) $(if $(SPEED),--speed $(SPEED))

test: setup build ## every test, on every core: generator, functions, Terraform, PostgreSQL, moto, browser
	$(PY) -m pytest $(XDIST) $(PYTEST_ARGS)

test-fast: $(VENV)/.installed ## the unit tier: no Terraform, PostgreSQL, moto or browser, nothing slow (< 1 min)
	$(PY) -m pytest -q $(XDIST) -m "not ($(TIER_MARKERS))" $(PYTEST_ARGS)

bench: $(VENV)/.installed build ## every benchmark row; writes bench/results/latest.json and docs/performance.md
	$(PY) bench/run.py

bench-smoke: $(VENV)/.installed build ## every benchmark row once, few rounds, nothing written (what the tests run)
	$(PY) bench/run.py --quick

rehearse-matrix: $(VENV)/.installed build ## every shipped scenario: 3 seeds x both readings of AppConfig's undocumented case
	CUTOVER_REHEARSAL_SEEDS=3 $(PY) -m pytest -q tests/rehearsal/test_scenarios.py

report-screenshot: $(VENV)/.installed ## redraw docs/images/rehearsal-report.png from a real rehearsal (needs Debian's chromium)
	$(PY) -m tests.rehearsal.make_screenshot

lint: $(VENV)/.installed ## ruff, and the package layers (import-linter, on the installed wheel)
	$(VENV)/bin/ruff check cutover generator functions tests bench
	$(PY) -m pytest -q tests/tooling/test_packaging.py

clean: ## remove virtualenvs, builds, caches and Terraform working files
	rm -rf $(VENV) $(CHECKOV_VENV) tools/node_modules .cache build reports .pytest_cache .hypothesis .ruff_cache
	find terraform -name .terraform -type d -prune -exec rm -rf {} +
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
