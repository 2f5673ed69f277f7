"""House rules that keep the repository clean: stripped notebooks, nothing generated committed."""

import json
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebooks_are_committed_without_outputs(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code, "a report notebook has code cells"
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code)
    tagged = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"


def test_report_notebooks_exist():
    assert {p.name for p in NOTEBOOKS} >= {"outcome_report.ipynb", "data_quality.ipynb"}


def test_generated_files_are_ignored():
    probe = [
        "data/cases.duckdb",
        "data/cases.duckdb.wal",
        "data/raw/demo/x.csv",
        "reports/outcome_report/2026-10/outcome_report_2026-10.html",
        "data/.ta-outcomes-buyer.key",
    ]
    run = subprocess.run(["git", "check-ignore", *probe], cwd=ROOT, capture_output=True, text=True)
    assert sorted(run.stdout.split()) == sorted(probe)


def test_make_install_says_what_it_installs_and_shows_pips_progress():
    # Issue 28.7: a first install runs for minutes; it must not be silent. `make -n -B` prints
    # the recipe without running it.
    run = subprocess.run(
        ["make", "-n", "-B", "install"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    recipe = run.stdout
    assert "--quiet" not in recipe and " -q " not in recipe
    assert recipe.count("--progress-bar on") == 2
    assert "installing ta-outcomes with its dev extras" in recipe
    assert "1 to 5 minutes" in recipe
