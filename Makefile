# Two commands matter:  `make demo` (set up, then simulate a real approval event locally)
#                       `make test` (every test and static check)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
SAMVENV := .venv-sam
CHECKOVVENV := .venv-checkov
# pytest with bytecode caching on, even where the environment turns it off (PYTHONDONTWRITEBYTECODE): each xdist
# worker otherwise compiles every module of the project and rewrites every test module's asserts again, run after
# run (about 3.5 s of CPU a worker; the caches are __pycache__/, ignored by git)
PYTEST := env -u PYTHONDONTWRITEBYTECODE $(BIN)/pytest
# `sam build` for the python3.13 runtime needs a python3.13 on PATH that really runs (a pyenv shim for a
# version that is not selected does not): take the first candidate that answers.
PY313_DIR := $(shell for d in $$(ls -d "$$(pyenv root 2>/dev/null || echo $$HOME/.pyenv)"/versions/3.13*/bin 2>/dev/null) $$(dirname "$$(command -v python3.13)" 2>/dev/null); do \
	if "$$d/python3.13" -c 'import sys' >/dev/null 2>&1; then echo "$$d"; break; fi; done)

# The first target is what a bare `make` does: print this list, change nothing.
help:
	@echo "make setup      create .venv with the rollout command and the test tools"
	@echo "make demo       simulate a real approval event locally (scenarios/standard-happy-path.yaml)"
	@echo "make test       every test and static check"
	@echo "make unit | functional | workflow    one test suite"
	@echo "make static     lint typecheck template asl schema sam scan"
	@echo "make bench      every performance figure of issue 13 beside its goal, and a cost per rollout"
	@echo "make pictures   redraw the README's pictures (docs/*.png; same scenario, same picture)"
	@echo "make clean      remove the virtual environments and caches"

pictures: setup
	$(BIN)/rollout simulate scenarios/canary-happy-path.yaml --plot docs/canary-success.png > /dev/null
	$(BIN)/rollout simulate scenarios/canary-alarm-mid-bake.yaml --plot docs/canary-rollback.png > /dev/null
	$(BIN)/python -m rollout_local.console_shot docs/console.png
	$(BIN)/rollout simulate scenarios/canary-verified.yaml --plot docs/canary-verified.png > /dev/null

.PHONY: help pictures setup demo test unit functional workflow static lint typecheck template asl schema sam scan clean bench

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev,simulator]'
	touch $@

demo: setup
	$(BIN)/rollout simulate scenarios/standard-happy-path.yaml

test: setup static
	$(PYTEST)

# the figures of issue 13 beside their goals (README "Benchmark"); BENCH_ARGS=--skip-pytest to leave out pytest
bench: setup
	$(BIN)/python -m rollout_local.bench $(BENCH_ARGS)

unit: setup
	$(PYTEST) tests/unit
functional: setup
	$(PYTEST) tests/functional
workflow: setup
	$(PYTEST) tests/workflow

static: lint typecheck template asl schema sam scan

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

template: setup
	$(BIN)/cfn-lint template.yaml

asl: setup
	$(BIN)/statelint --ignore=URI statemachine/rollout.asl.json

schema: setup
	$(BIN)/python -m rollout_local.schema --check docs/policy.schema.json

$(SAMVENV)/.installed:
	$(PYTHON) -m venv $(SAMVENV)
	$(SAMVENV)/bin/pip install --quiet --disable-pip-version-check aws-sam-cli==1.170.0
	touch $@

sam: $(SAMVENV)/.installed
	SAM_CLI_TELEMETRY=0 $(SAMVENV)/bin/sam validate --lint
	@if [ -n "$(PY313_DIR)" ]; then \
	  PATH="$(PY313_DIR):$$PATH" SAM_CLI_TELEMETRY=0 $(SAMVENV)/bin/sam build --build-dir .aws-sam/build; \
	else echo "sam build skipped: no python3.13 on this machine (the Lambda runtime's interpreter)"; fi

# Security scanning of the template: checkov with the settings and whole-template suppressions in .checkov.yaml
# (each justified there; the rest are justified on their resource). In its own venv: its pins clash with ours.
$(CHECKOVVENV)/.installed:
	$(PYTHON) -m venv $(CHECKOVVENV)
	$(CHECKOVVENV)/bin/pip install --quiet --disable-pip-version-check checkov==3.3.30
	touch $@

scan: $(CHECKOVVENV)/.installed
	$(CHECKOVVENV)/bin/checkov -f template.yaml --config-file .checkov.yaml

clean:
	rm -rf $(VENV) $(SAMVENV) $(CHECKOVVENV) .aws-sam .bench .mypy_cache .ruff_cache
