"""analysis.metrics: the package's names, imported on first use."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from analysis import metrics


def test_every_exported_name_is_its_modules_own():
    for name, module in metrics._EXPORTS.items():
        assert getattr(metrics, name) is getattr(
            importlib.import_module(f"analysis.metrics.{module}"), name
        ), name
    assert sorted(metrics.__all__) == sorted(metrics._EXPORTS)


def test_a_submodule_is_an_attribute_and_a_missing_name_an_attribute_error():
    assert metrics.stats is importlib.import_module("analysis.metrics.stats")
    with pytest.raises(AttributeError, match="no attribute 'no_such_metric'"):
        metrics.no_such_metric  # noqa: B018


def test_reading_params_and_periods_imports_no_statistics():
    # the report runner reads these before its kernel starts (docs/performance.md)
    code = (
        "import sys\n"
        "from analysis.metrics import Params, periods\n"
        "Params(); periods.parse_period('2026-10')\n"
        "print(sorted(m for m in ('scipy', 'statsmodels', 'pandas') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
