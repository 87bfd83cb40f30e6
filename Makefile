# pushgate - the two commands a new user needs: `make run` and `make test`.
# Each sets up what it needs from scratch: a virtualenv on the Lambda runtime's Python (3.13),
# dependencies from the lock files, and (for test) the SAM CLI in its own virtualenv.

SHELL := /bin/bash
PYTHON ?= $(shell PYENV_VERSION=3.13.0 pyenv which python 2>/dev/null || command -v python3.13 || command -v python3)
VENV := .venv
SAM_VENV := .venv-sam
SAM_VERSION := 1.170.0
UV_VERSION := 0.13.9
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= us-east-1

.PHONY: setup run test unit load lint-template build check-build lock openapi clean docs-ui browser

$(VENV)/.installed: requirements/dev.lock pyproject.toml
	@$(PYTHON) -c 'import sys; v=sys.version_info[:2]; print(f"Python {v[0]}.{v[1]} from $(PYTHON)"); sys.exit(0 if v==(3,13) else print("warning: the Lambda runtime is Python 3.13") or 0)'
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(VENV)/bin/uv pip sync --quiet --python $(VENV)/bin/python requirements/dev.lock
	$(VENV)/bin/uv pip install --quiet --python $(VENV)/bin/python --no-deps --no-build-isolation -e .
	touch $@

$(SAM_VENV)/.installed:
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(SAM_VENV)/bin/uv pip install --quiet --python $(SAM_VENV)/bin/python aws-sam-cli==$(SAM_VERSION)
	touch $@

setup: $(VENV)/.installed

# An independent Web Push service (npm web-push-testing) for the end-to-end delivery tests.
PUSH_SERVICE := tests/e2e/push-service
$(PUSH_SERVICE)/node_modules/.package-lock.json: $(PUSH_SERVICE)/package-lock.json
	npm ci --no-audit --no-fund --prefix $(PUSH_SERVICE)

# Swagger UI for the local stack's /docs, pinned in docs-ui/package-lock.json (no CDN); without its
# install scripts (swagger-ui-dist's @scarf/scarf would phone home).
DOCS_UI := docs-ui
$(DOCS_UI)/node_modules/.package-lock.json: $(DOCS_UI)/package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund --prefix $(DOCS_UI)

docs-ui: $(DOCS_UI)/node_modules/.package-lock.json

# Debian's Chromium for the browser tests (tests/browser), installed when missing and apt-get is
# usable as root; otherwise those tests skip and say why.
browser:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver) \
			|| echo "warning: could not install chromium: the browser tests will skip"; \
	else echo "note: /usr/bin/chromium is missing and apt-get is not usable as root: the browser tests will skip"; fi

## make run: the local stack of docs/api.md §8 (HTTP API on :3000, WebSocket on :3001)
run: setup docs-ui
	$(VENV)/bin/python -m pushgate_local

## make test: template checks, sam build and the built-artifact import check, then the whole test suite
## (last, so that its summary closes the output)
test: setup lint-template $(PUSH_SERVICE)/node_modules/.package-lock.json docs-ui browser
	$(MAKE) check-build
	$(VENV)/bin/python -m pytest -n 2

unit: setup
	$(VENV)/bin/python -m pytest tests/unit

## make fuzz: tests/fuzz at an on-demand budget (docs/security.md): PUSHGATE_FUZZ_EXAMPLES cases per HTTP
## route and per property (10,000 by default), a random seed printed; PUSHGATE_FUZZ_SEED=N replays a run
.PHONY: fuzz
fuzz: setup
	PUSHGATE_FUZZ_EXAMPLES=$${PUSHGATE_FUZZ_EXAMPLES:-10000} $(VENV)/bin/python -m pytest tests/fuzz -p no:xdist -s

## make load: load test of the local stack (bench/load/run.py; docs/load-test.md). ARGS="--duration 10 --rate 50 --subscribers 1000" for a short run
load: setup
	PYTHONPATH=.:src:layers/shared/python $(VENV)/bin/python -m bench.load.run $(ARGS)

lint-template: setup $(SAM_VENV)/.installed
	$(VENV)/bin/cfn-lint template.yaml
	$(SAM_VENV)/bin/sam validate --lint

build: $(SAM_VENV)/.installed
	$(SAM_VENV)/bin/sam build --cached

check-build: build setup
	$(VENV)/bin/python scripts/check_built_artifact.py

## make lock: re-pin requirements/dev.lock and the Lambda layer's lock after editing requirements/*.in
lock: setup
	$(VENV)/bin/uv pip compile --quiet requirements/dev.in --python-version 3.13 -o requirements/dev.lock
	$(VENV)/bin/uv pip compile --quiet requirements/runtime.in --python-version 3.13 --python-platform x86_64-manylinux_2_28 \
		--no-emit-package boto3 --no-emit-package botocore --no-emit-package s3transfer --no-emit-package jmespath \
		--no-emit-package python-dateutil --no-emit-package six --no-emit-package urllib3 -o layers/deps/requirements.lock

clean:
	rm -rf $(VENV) $(SAM_VENV) .aws-sam
