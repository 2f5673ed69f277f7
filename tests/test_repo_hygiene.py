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


def test_make_install_says_what_it_installs_and_shows_its_progress():
    # Issue 28.7: an install must not be silent; issue 30.5: it installs the lock, with uv.
    # `make -n -B` prints the recipe without running it.
    run = subprocess.run(
        ["make", "-n", "-B", "install"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    recipe = run.stdout
    assert "--quiet" not in recipe and " -q " not in recipe  # pip's and uv's progress shown
    assert "--progress-bar on" in recipe
    assert "installing ta-outcomes with its dev extras" in recipe
    assert "10 to 60 seconds" in recipe
    # every package from the lock, checked against its hashes; the project itself on top
    assert "pip install --python .venv/bin/python --require-hashes -r requirements.lock" in recipe
    assert "--no-deps -e ." in recipe


def test_the_lock_pins_every_dependency_of_pyproject():
    # requirements.lock is written by `make lock` from pyproject.toml: a dependency added to
    # pyproject.toml and not locked would be missing from a fresh install (and from CI)
    import re
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    lock = (ROOT / "requirements.lock").read_text("utf-8")
    pinned = {
        re.sub(r"[-_.]+", "-", m.group(1)).lower()
        for m in re.finditer(r"^([A-Za-z0-9._-]+)(?:\[[^]]*\])?==", lock, re.MULTILINE)
    }
    for requirement in wanted:
        name = re.sub(r"[-_.]+", "-", re.match(r"[A-Za-z0-9._-]+", requirement).group(0)).lower()
        assert name in pinned, f"{name} is in pyproject.toml but not in requirements.lock"
    assert "--hash=sha256:" in lock
