"""analysis.settings: every default in one place; the notebooks' parameters cells agree with it."""

from __future__ import annotations

import ast
from pathlib import Path

import papermill
import pytest

from analysis import settings
from analysis.metrics import Params

ROOT = Path(__file__).resolve().parents[1]
#: Notebook parameter -> the setting its default must equal.
SETTING_OF = {
    "db": settings.DEFAULT_DB_TEXT,
    "threshold": settings.THRESHOLD,
    "lowball": settings.LOWBALL,
    "min_n": settings.MIN_N,
    "confidence": settings.CONFIDENCE,
}


@pytest.mark.parametrize("notebook", sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb")))
def test_the_notebooks_parameter_defaults_are_the_settings(notebook):
    declared = papermill.inspect_notebook(str(ROOT / "notebooks" / notebook))
    checked = 0
    for name, spec in declared.items():
        if name in SETTING_OF:
            assert ast.literal_eval(spec["default"]) == SETTING_OF[name], (notebook, name)
            checked += 1
    assert checked >= 1


def test_the_metric_parameters_default_to_the_settings():
    assert Params() == Params(
        threshold=settings.THRESHOLD, lowball=settings.LOWBALL, min_n=settings.MIN_N,
        confidence=settings.CONFIDENCE,
    )  # fmt: skip


def test_environment_variables_are_read_when_needed(monkeypatch, tmp_path):
    monkeypatch.setenv("TA_OUTCOMES_DB", str(tmp_path / "x.duckdb"))
    monkeypatch.setenv("TA_OUTCOMES_REFERENCE", str(tmp_path / "ref"))
    monkeypatch.setenv("TA_OUTCOMES_BUYER_KEY_FILE", str(tmp_path / "key"))
    monkeypatch.setenv("TA_OUTCOMES_MEMORY_LIMIT", "1GB")
    monkeypatch.setenv("TA_OUTCOMES_LOCK_TIMEOUT", "5")
    monkeypatch.setenv("TA_OUTCOMES_REPORT_LOCK_TIMEOUT", "7")
    assert settings.default_db() == tmp_path / "x.duckdb"
    assert settings.reference_dir() == tmp_path / "ref"
    assert settings.buyer_key_file("anything") == tmp_path / "key"
    assert (settings.memory_limit(), settings.lock_timeout(), settings.report_lock_timeout()) == (
        "1GB", 5.0, 7.0,
    )  # fmt: skip


def test_no_module_reads_an_environment_variable_but_settings():
    readers = [
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "analysis").rglob("*.py")
        if "TA_OUTCOMES_" in p.read_text(encoding="utf-8")
        and p.name != "settings.py"
        and "os.environ" in p.read_text(encoding="utf-8")
    ]
    assert readers == []
