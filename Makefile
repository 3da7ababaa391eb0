# Every verb creates (or reuses) the virtual environment in .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck unit venv image clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check uv
	@$(BIN)/uv pip install -q --compile-bytecode --python $(BIN)/python -e '.[dev]'
	@touch $(STAMP)

## demo: a sandbox with demo data, read through the core, the source and the tap (Meltano),
## then a reverse-ETL round trip through the target
demo: $(STAMP)
	@$(BIN)/python scripts/demo

## image: the Airbyte images of source-personyze and destination-personyze (needs a Docker
## daemon; makes a local Debian base with debootstrap when no registry is reachable)
image: $(STAMP)
	@bash scripts/build_images.sh

## test: lint, type-check, architecture contracts, then the whole test suite; where a Docker
## daemon answers, the images are built first and the image tests run against them
test: lint typecheck
ifneq ($(findstring not image_tests,$(PYTEST_ARGS)),)
	@$(BIN)/python -m pytest $(PYTEST_ARGS)
else
	@if docker info >/dev/null 2>&1; then \
		$(MAKE) --no-print-directory image && $(BIN)/python -m pytest $(PYTEST_ARGS); \
	else \
		echo "Docker daemon not reachable: image tests skipped"; \
		$(BIN)/python -m pytest -m 'not image_tests' $(PYTEST_ARGS); \
	fi
endif

lint: $(STAMP)
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .
	@$(BIN)/lint-imports --no-cache

typecheck: $(STAMP)
	@$(BIN)/mypy connectors personyze_sandbox source_personyze tap_personyze target_personyze

unit: $(STAMP)
	@$(BIN)/python -m pytest tests/unit

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
