# edge-gate: two commands.  `make demo` and `make test` each set up what they need first.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint typecheck unit fuzz bootstrap-demo bootstrap-test testdata clean

demo: bootstrap-demo
	$(BIN)/edge-gate demo

test: bootstrap-test testdata lint typecheck unit

bootstrap-demo: $(VENV)/.demo-ready
bootstrap-test: $(VENV)/.test-ready

LOCKS := $(wildcard constraints/*.txt)

$(VENV)/.demo-ready: setup.cfg pyproject.toml scripts/bootstrap.sh $(LOCKS)
	scripts/bootstrap.sh demo
	touch $@

$(VENV)/.test-ready: setup.cfg pyproject.toml scripts/bootstrap.sh $(LOCKS) tools/asyncapi/package-lock.json
	scripts/bootstrap.sh test
	touch $@ $(VENV)/.demo-ready

testdata:
	scripts/fetch-test-data.sh

lint:
	$(BIN)/ruff check edge tests scripts models
	$(BIN)/ruff format --check edge tests scripts models
	$(BIN)/lint-imports  # the architecture's import contracts (pyproject.toml, docs/architecture.md)

typecheck:
	$(BIN)/mypy --strict edge

unit:
	$(BIN)/pytest -q -p no:cacheprovider --timeout=300

# hostile-input fuzzing (issue 17): >= 100,000 inputs over every parser of outside bytes;
# `make test` runs the same targets with a small, fixed profile
fuzz: bootstrap-test
	EDGE_FUZZ=1 $(BIN)/pytest -q -p no:cacheprovider tests/fuzz

clean:
	rm -rf $(VENV) .cache .mypy_cache .ruff_cache .pytest_cache build *.egg-info

include mk/install.mk
