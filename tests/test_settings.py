"""analysis.settings: every default in one place; the notebooks' parameters cells agree with it."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import papermill
import pytest

from analysis import cli, settings
from analysis.errors import BadParameter
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


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("TA_OUTCOMES_LOCK_TIMEOUT", "abc", "TA_OUTCOMES_LOCK_TIMEOUT='abc' is not a number of seconds (e.g. 600)"),
        ("TA_OUTCOMES_LOCK_TIMEOUT", "-1", "TA_OUTCOMES_LOCK_TIMEOUT='-1' is not a number of seconds"),
        ("TA_OUTCOMES_REPORT_LOCK_TIMEOUT", "1h", "TA_OUTCOMES_REPORT_LOCK_TIMEOUT='1h' is not a number"),
        ("TA_OUTCOMES_BATCH_WORKERS", "0", "TA_OUTCOMES_BATCH_WORKERS='0' is not a whole number of reports from 1"),
        ("TA_OUTCOMES_BATCH_WORKERS", "two", "TA_OUTCOMES_BATCH_WORKERS='two' is not a whole number"),
        ("TA_OUTCOMES_MEMORY_LIMIT", "lots", "TA_OUTCOMES_MEMORY_LIMIT='lots' is not a memory size"),
        ("TA_OUTCOMES_MEMORY_LIMIT", "3000", "TA_OUTCOMES_MEMORY_LIMIT='3000' is not a memory size"),
    ],
)  # fmt: skip
def test_a_malformed_environment_value_is_one_line_exit_2(name, value, message, monkeypatch,
                                                           tmp_path, capsys):  # fmt: skip
    # issue 24.12: each was "internal error" (ValueError, DuckDB's ParserException), exit 70
    monkeypatch.setenv(name, value)
    getter = {
        "TA_OUTCOMES_LOCK_TIMEOUT": settings.lock_timeout,
        "TA_OUTCOMES_REPORT_LOCK_TIMEOUT": settings.report_lock_timeout,
        "TA_OUTCOMES_MEMORY_LIMIT": settings.memory_limit,
        "TA_OUTCOMES_BATCH_WORKERS": settings.batch_workers,
    }[name]
    with pytest.raises(BadParameter) as err:
        getter()
    assert message in str(err.value) and err.value.exit_code == 2
    if name in ("TA_OUTCOMES_LOCK_TIMEOUT", "TA_OUTCOMES_MEMORY_LIMIT"):  # what an ingest reads
        export = tmp_path / "a.csv"
        export.write_text("case_id\nC1\n")
        assert cli.main(["ingest", str(export), "--db", str(tmp_path / "x.duckdb")]) == 2
        err_lines = capsys.readouterr().err.strip().splitlines()
        assert err_lines[-1] == f"ta-outcomes ingest: {message}" or message in err_lines[-1]
        assert "internal error" not in err_lines[-1] and "Traceback" not in "".join(err_lines)
        assert not (tmp_path / "x.duckdb").exists()


def test_well_formed_environment_values_are_read(monkeypatch):
    import duckdb

    for text in ("3GB", "512 MB", "1.5GiB", "100kb"):
        monkeypatch.setenv("TA_OUTCOMES_MEMORY_LIMIT", text)
        duckdb.connect().execute("SET memory_limit = ?", [settings.memory_limit()])  # DuckDB agrees
    monkeypatch.setenv("TA_OUTCOMES_LOCK_TIMEOUT", " 0.5 ")
    monkeypatch.setenv("TA_OUTCOMES_REPORT_LOCK_TIMEOUT", "")  # empty: unset
    monkeypatch.setenv("TA_OUTCOMES_DB", "")  # it was Path(""): the current folder as the store
    assert (settings.lock_timeout(), settings.report_lock_timeout()) == (0.5, 3600.0)
    monkeypatch.setenv("TA_OUTCOMES_BATCH_WORKERS", "")
    assert settings.batch_workers() == min(2, os.cpu_count() or 1)
    monkeypatch.setenv("TA_OUTCOMES_BATCH_WORKERS", "1")
    assert settings.batch_workers() == 1
    assert settings.default_db() == Path("data/cases.duckdb")
