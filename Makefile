# ta-outcomes: `make demo` then `make test` do all set-up on a fresh machine (Python >= 3.11 and make).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DB     ?= data/cases.duckdb

.DEFAULT_GOAL := help
.PHONY: help install demo test test-fast lint format lab bench clean-demo

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

# pip's own progress is shown (no --quiet): a first install downloads and builds for minutes,
# and a silent terminal for that long looks like a hang.
$(STAMP): pyproject.toml
	@echo "== make install: creating $(VENV) and installing ta-outcomes with its dev extras"
	@echo "   (DuckDB, pandas, statsmodels, matplotlib, JupyterLab, papermill, ruff, pytest...):"
	@echo "   a first install takes 1 to 5 minutes, depending on the network and the machine;"
	@echo "   pip's progress follows. Later runs are instant while pyproject.toml is unchanged."
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --progress-bar on --upgrade pip
	$(BIN)/python -m pip install --progress-bar on -e '.[dev]'
	@touch $(STAMP)
	@echo "== make install: done ($(VENV) is ready)"

install: $(STAMP)  ## create .venv and install the project with its dev extras (cheap when up to date)

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

bench: install  ## benchmarks at 1M and 10M cases (see docs/performance.md); ROWS="1000000" to choose
	$(BIN)/python bench/run.py $(if $(ROWS),--rows $(ROWS),)

clean-demo:  ## remove the demo store, demo exports and reports
	rm -rf data/raw/demo data/cases.duckdb data/cases.duckdb.wal data/cases.duckdb.lock
	find reports -mindepth 1 ! -name .gitkeep -exec rm -rf {} +
