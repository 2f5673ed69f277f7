"""Metrics: every figure a report shows, defined once.

The layers: ``sql/cases.sql`` (the per-case flags) and :mod:`~analysis.metrics.case_flags` (their
bound values) -> :mod:`~analysis.metrics.blocks` (the block of counts, sums, rates, intervals and
suppression, by any breakdown of :mod:`~analysis.metrics.breakdowns`, month or period) ->
:mod:`~analysis.metrics.outcomes` (the JSON contract of ``ta-outcomes metrics``). Beside them:
:mod:`~analysis.metrics.resolution` (time to resolution), :mod:`~analysis.metrics.suppliers`,
:mod:`~analysis.metrics.notable`, :mod:`~analysis.metrics.quality` (data quality),
:mod:`~analysis.metrics.provenance` (the store's fingerprint), :mod:`~analysis.metrics.stats`
(intervals and tests) and :mod:`~analysis.metrics.periods`. Every definition in plain words is in
:mod:`~analysis.metrics.definitions` (the source of docs/metrics.md).
"""

import importlib

#: What ``from analysis.metrics import NAME`` gives, and the module that defines it. Imported on
#: first use (PEP 562): the report runner and the CLI read ``metrics.params`` and
#: ``metrics.periods`` before any figure, and should not pay scipy's and statsmodels' imports
#: for that (about 1 s of a report's start, before its kernel can start).
_EXPORTS = {
    "BLOCK_FIELDS": "blocks",
    "block_frame": "blocks",
    "block_frames": "blocks",
    "heatmap_frame": "blocks",
    "BREAKDOWNS": "breakdowns",
    "ORDER_VALUE_BANDS": "breakdowns",
    "DEFINITIONS": "definitions",
    "DEFINITIONS_VERSION": "definitions",
    "LIMITATIONS": "definitions",
    "definitions_markdown": "definitions",
    "write_definitions": "definitions",
    "adjusted_effects": "effects",
    "notable_cases": "notable",
    "outcome_metrics": "outcomes",
    "Params": "params",
    "claim_window": "process",
    "funnel": "process",
    "cohorts": "resolution",
    "time_to_resolution": "resolution",
    "observed_expected": "suppliers",
    "supplier_comparison": "suppliers",
    "change_by": "trends",
    "change_vs_previous": "trends",
    "monthly_series": "trends",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    """An exported name, or a submodule (``metrics.stats``), imported when first asked for."""
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
        globals()[name] = value  # imported once
        return value
    if not name.startswith("__"):
        try:
            return importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise  # a module that exists but fails to import is not a missing name
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
