# Everything a newcomer needs: `make run` serves, `make test` checks. Both set up
# .venv from pyproject.toml first (only again when pyproject.toml changes).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PACKAGES := schema resolvers webhooks storage server dashboard mlflow_api

.PHONY: run test lint typecheck pytest mlflow-peer schema bench fuzz clean chromium

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/modelreg db upgrade
	$(BIN)/modelreg serve

# MLflow's install for the import tests (bench/mlflow_server.py: one to three minutes
# from PyPI on a fresh checkout, nothing after) runs beside lint and typecheck, and
# pytest starts when both are done. A failed lint leaves the install to finish alone.
test: $(STAMP)
	@mkdir -p .bench
	@$(BIN)/python -m bench.mlflow_server > .bench/mlflow-install.log 2>&1 & installer=$$!; \
	$(MAKE) --no-print-directory lint typecheck || exit 1; \
	wait $$installer; installed=$$?; cat .bench/mlflow-install.log; exit $$installed
	$(MAKE) --no-print-directory pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/hadolint Dockerfile

typecheck: $(STAMP)
	$(BIN)/mypy --strict $(PACKAGES) tests bench

pytest: $(STAMP) mlflow-peer
	$(BIN)/pytest

# The dashboard's browser tests drive Debian's Chromium (Playwright's own browser
# download is not used); they skip without it, and fail under CI=true. Needs root.
chromium:
	@test -x /usr/bin/chromium || (apt-get update && apt-get install -y chromium)

# MLflow's server in .bench/mlflow-venv, for the import tests and the bench's peer:
# installed before pytest starts (about a minute from PyPI, once), not inside a test.
mlflow-peer: $(STAMP)
	$(BIN)/python -m bench.mlflow_server

# Re-export schema/schema.graphql after changing the GraphQL surface.
schema: $(STAMP)
	$(BIN)/python -m schema.export

bench: $(STAMP)
	$(BIN)/python -m bench.run

# Reads at 1k, 100k and 1M versions on SQLite and PostgreSQL (see bench/scale.py).
bench-scale: $(STAMP)
	$(BIN)/python -m bench.scale

# schemathesis's GraphQL fuzzer against a seeded `modelreg serve`; schemathesis
# lives in .fuzz/venv (made on first use). Fails when any response was
# INTERNAL_SERVER_ERROR or 5xx. `make fuzz FUZZ_SECONDS=600` runs longer.
FUZZ_SECONDS ?= 120
FUZZ_EXAMPLES ?= 100
fuzz: $(STAMP)
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m bench.fuzz

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
