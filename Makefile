# The two commands a new user needs: `make dev` (the whole service locally) and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV      := .venv
SAM_VENV  := .venv-sam
CHECKOV_VENV := .venv-checkov
PY        := $(VENV)/bin/python
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= eu-central-1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

# make dev PORT=3001 MOTO_PORT=5001 TEMPLATE=path/to/template.yaml CONCURRENCY=20 DEV_ARGS="--no-seed"
# make dev FAULTS="dynamodb.*=0.05,sesv2.*=0.05" FAULT_SEED=42
PORT        ?= 3000
MOTO_PORT   ?= 5000
TEMPLATE    ?= template.yaml
CONCURRENCY ?= 10
FAULTS      ?=
FAULT_SEED  ?=
DEV_ARGS    ?=

.PHONY: catalogs chromium openapi fmt help venv sam-venv checkov-venv lint typecheck template-lint checkov unit integration e2e test dev build bench load smoke clean

help:
	@echo "make dev    run the whole service locally (no AWS account, no Docker)"
	@echo "make test   lint, type-check, validate the template, run every test"
	@echo "make build  sam build (no Docker needed)"
	@echo "make catalogs  extract the texts into messages.pot and merge it into each language's catalog"
	@echo "make bench  cold/warm ratios to raw boto3, AWS calls, package size -> bench/results.md"
	@echo "make smoke URL=https://...  a black-box check of a deployed stack that changes no account"
	@echo "make load   20 users (locust) on the local stack, without and with 5% AWS faults, then"
	@echo "            invariant checks -> load/results.md; exits non-zero when an invariant fails"
	@echo "            (LOAD_ARGS=\"--help\" lists the options, e.g. --duration, --fault-seed, --strict)"

$(VENV)/.installed: requirements-dev.txt layers/pwreset/requirements.txt scripts/find-python.sh
	@python=$$(scripts/find-python.sh) || exit 1; \
	  [ -x $(PY) ] || "$$python" -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

$(SAM_VENV)/.installed: requirements-sam.txt scripts/find-python.sh
	@python=$$(scripts/find-python.sh) || exit 1; \
	  [ -x $(SAM_VENV)/bin/python ] || "$$python" -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install -q -r requirements-sam.txt
	touch $@

$(CHECKOV_VENV)/.installed: requirements-checkov.txt scripts/find-python.sh
	@python=$$(scripts/find-python.sh) || exit 1; \
	  [ -x $(CHECKOV_VENV)/bin/python ] || "$$python" -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install -q -r requirements-checkov.txt
	touch $@

$(VENV)/.bench-installed: bench/requirements.txt $(VENV)/.installed
	$(PY) -m pip install -q -r bench/requirements.txt
	touch $@

$(VENV)/.load-installed: load/requirements.txt $(VENV)/.installed
	$(PY) -m pip install -q -r load/requirements.txt
	touch $@

venv: $(VENV)/.installed
sam-venv: $(SAM_VENV)/.installed
checkov-venv: $(CHECKOV_VENV)/.installed

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: venv
	$(VENV)/bin/mypy layers/pwreset/pwreset layers/pwreset/buildsteps functions local/devstack tests bench load scripts

template-lint: sam-venv
	$(SAM_VENV)/bin/cfn-lint template.yaml
	$(SAM_VENV)/bin/sam validate --lint --template template.yaml --region $(AWS_DEFAULT_REGION)

# Every check passes or is skipped in template.yaml with its reason; prints the counts.
checkov: checkov-venv
	$(CHECKOV_VENV)/bin/checkov --file template.yaml --framework cloudformation --skip-download --compact --quiet

unit: venv
	$(PY) -m pytest tests/unit -q

integration: venv
	$(PY) -m pytest tests/integration -q

e2e: venv $(VENV)/.load-installed
	$(PY) -m pytest tests/e2e -q

# The whole service on this machine: moto on loopback, the handlers in-process, the API on $(PORT).
dev: venv
	PYTHONPATH=local $(PY) -m devstack --port $(PORT) --moto-port $(MOTO_PORT) --template $(TEMPLATE) \
	  --concurrency $(CONCURRENCY) $(if $(FAULTS),--faults '$(FAULTS)') \
	  $(if $(FAULT_SEED),--fault-seed $(FAULT_SEED)) $(DEV_ARGS)

# The browser test drives Debian's Chromium; install it where it is missing (CI runs as root).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser test..."; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

# Branch coverage of pwreset in this process (the e2e tests' local stack is a subprocess, not measured).
# The browser tests get the Chromium found or installed above, and fail (never skip) without one.
test: venv sam-venv checkov-venv chromium $(VENV)/.load-installed
	$(MAKE) --no-print-directory lint typecheck template-lint checkov
	PWRESET_CHROMIUM="$$(command -v chromium || command -v chromium-browser || true)" PWRESET_REQUIRE_BROWSER=1 \
	  $(PY) -m pytest -q --cov=pwreset --cov-branch --cov-report=
	@echo "Branch coverage of pwreset: $$($(PY) -m coverage report --format=total)% (by module: $(PY) -m coverage report)"

build: sam-venv
	PATH="$$(dirname $$(scripts/find-python.sh)):$$PATH" $(SAM_VENV)/bin/sam build --build-in-source --template template.yaml

openapi: venv
	PYTHONPATH=layers/pwreset:local $(PY) -m devstack.openapi

# Texts a person reads: extract them from code and templates into messages.pot and merge it into
# every language's catalog (docs/i18n.md). The .mo files compile themselves on first use.
catalogs: venv
	cd layers/pwreset && ../../$(PY) -m buildsteps.catalogs update

# A report, not a gate: exits 0 whatever the ratios (see bench/results.md); not part of `make test`.
# The catalogs are compiled first, so no measured process compiles one (as none in the layer does).
bench: $(VENV)/.bench-installed build
	cd layers/pwreset && ../../$(PY) -m buildsteps.catalogs compile pwreset/locale
	PYTHONPATH=layers/pwreset:local $(PY) -m bench $(BENCH_ARGS)

# Two runs of 60 s (without, then with faults), each on a fresh local stack; about 5 minutes.
# Exits 1 when an invariant fails (2 when a run could not be carried out); see load/results.md.
load: $(VENV)/.load-installed
	PYTHONPATH=local:. $(PY) -m load $(LOAD_ARGS)

# A deployed stack, from outside (changes no account): make smoke URL=<the PublicUrl output>
# [TOPIC=<the SesEventsTopicArn output>]. `make test` runs it on the local stack (tests/e2e/test_smoke.py).
smoke: venv
	@[ -n "$(URL)" ] || { echo "usage: make smoke URL=https://<PublicUrl output> [TOPIC=<SesEventsTopicArn>]"; exit 2; }
	$(PY) scripts/smoke.py $(URL) $(if $(TOPIC),--topic-arn $(TOPIC))

clean:
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache test-output bench/.work load/.work .coverage

fmt: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .
