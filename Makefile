# Every verb creates (or reuses) the virtual environment in .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck unit venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check uv
	@$(BIN)/uv pip install -q --python $(BIN)/python -e '.[dev]'
	@touch $(STAMP)

## demo: a sandbox with demo data, read through the core, the source and the tap (Meltano),
## then a reverse-ETL round trip through the target
demo: $(STAMP)
	@$(BIN)/python scripts/demo

## test: lint, type-check, architecture contracts, then the whole test suite
test: lint typecheck
	@$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .
	@$(BIN)/lint-imports --no-cache

typecheck: $(STAMP)
	@$(BIN)/mypy connectors personyze_sandbox

unit: $(STAMP)
	@$(BIN)/python -m pytest tests/unit

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
