# ta-outcomes: `make demo` then `make test` do all set-up on a fresh machine (Python >= 3.11 and make).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DB     ?= data/cases.duckdb

.DEFAULT_GOAL := help
.PHONY: help install lock demo test test-fast lint format lab bench clean-demo

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

# The environment is installed from requirements.lock (every package pinned, with its hashes;
# `make lock` writes it from pyproject.toml) by uv, which fetches and unpacks in parallel: a fresh
# machine installs in seconds where pip took minutes. uv itself comes from PyPI, pinned, and shows
# its progress. CI installs the same lock through this same target.
UV_VERSION := 0.13.9
UV         := $(BIN)/uv
$(STAMP): pyproject.toml requirements.lock
	@echo "== make install: creating $(VENV) and installing ta-outcomes with its dev extras from"
	@echo "   requirements.lock (DuckDB, pandas, statsmodels, matplotlib, JupyterLab, papermill,"
	@echo "   ruff, pytest...) with uv: 10 to 60 seconds on a fresh machine, progress follows."
	@echo "   Later runs are instant while pyproject.toml and requirements.lock are unchanged."
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --progress-bar on --disable-pip-version-check uv==$(UV_VERSION)
	$(UV) pip install --python $(BIN)/python --require-hashes -r requirements.lock
	$(UV) pip install --python $(BIN)/python --no-deps -e .
	@touch $(STAMP)
	@echo "== make install: done ($(VENV) is ready)"

install: $(STAMP)  ## create .venv and install the project with its dev extras (cheap when up to date)

lock: install  ## rewrite requirements.lock from pyproject.toml (after changing a dependency range)
	$(UV) pip compile pyproject.toml --extra dev --generate-hashes --universal \
	  --python-version 3.11 --quiet -o requirements.lock

demo: install  ## generate the synthetic demo data, load it, render the latest month's report
	$(BIN)/ta-outcomes demo --db $(DB)
	$(BIN)/ta-outcomes report outcome_report --last month --db $(DB) --no-progress

test: install  ## lint, then the whole test suite (notebooks and a headless-Chromium check included)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n 2 -q

test-fast: install  ## the inner loop: lint and every test that runs no notebook, browser or slow case
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n 2 -q -m "not slow and not browser and not notebook"

lint: install  ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install  ## ruff format
	$(BIN)/ruff format .

lab: install  ## JupyterLab on notebooks/ with the project's kernel; ARGS="--no-browser --port 8899"
	$(BIN)/jupyter lab --notebook-dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root,) $(ARGS)

bench: install  ## the speed goals, measured (docs/performance.md); TASKS="small,1M,10M,demo,test" to choose
	$(BIN)/python bench/run.py $(if $(TASKS),--tasks $(TASKS),)

clean-demo:  ## remove the demo store, demo exports and reports
	rm -rf data/raw/demo data/cases.duckdb data/cases.duckdb.wal data/cases.duckdb.lock
	find reports -mindepth 1 ! -name .gitkeep -exec rm -rf {} +
