"""Metrics: every figure a report shows, defined once.

The layers: ``sql/cases.sql`` (the per-case flags) and :mod:`~analysis.metrics.cases` (their
bound values) -> :mod:`~analysis.metrics.blocks` (the block of counts, sums, rates, intervals and
suppression, by any breakdown of :mod:`~analysis.metrics.breakdowns`, month or period) ->
:mod:`~analysis.metrics.outcomes` (the JSON contract of ``ta-outcomes metrics``). Beside them:
:mod:`~analysis.metrics.resolution` (time to resolution), :mod:`~analysis.metrics.suppliers`,
:mod:`~analysis.metrics.notable`, :mod:`~analysis.metrics.quality` (data quality),
:mod:`~analysis.metrics.provenance` (the store's fingerprint), :mod:`~analysis.metrics.stats`
(intervals and tests) and :mod:`~analysis.metrics.periods`. Every definition in plain words is in
:mod:`~analysis.metrics.definitions` (the source of docs/metrics.md).
"""

from analysis.metrics.blocks import BLOCK_FIELDS, block_frame, block_frames, heatmap_frame
from analysis.metrics.breakdowns import BREAKDOWNS, ORDER_VALUE_BANDS
from analysis.metrics.definitions import (
    DEFINITIONS,
    DEFINITIONS_VERSION,
    LIMITATIONS,
    definitions_markdown,
    write_definitions,
)
from analysis.metrics.effects import adjusted_effects
from analysis.metrics.notable import notable_cases
from analysis.metrics.outcomes import outcome_metrics
from analysis.metrics.params import Params
from analysis.metrics.process import claim_window, funnel
from analysis.metrics.resolution import cohorts, time_to_resolution
from analysis.metrics.suppliers import observed_expected, supplier_comparison
from analysis.metrics.trends import change_by, change_vs_previous, monthly_series

__all__ = [
    "adjusted_effects",
    "change_by",
    "claim_window",
    "cohorts",
    "funnel",
    "observed_expected",
    "supplier_comparison",
    "BLOCK_FIELDS",
    "BREAKDOWNS",
    "DEFINITIONS",
    "DEFINITIONS_VERSION",
    "LIMITATIONS",
    "ORDER_VALUE_BANDS",
    "Params",
    "block_frame",
    "block_frames",
    "change_vs_previous",
    "definitions_markdown",
    "heatmap_frame",
    "monthly_series",
    "notable_cases",
    "outcome_metrics",
    "time_to_resolution",
    "write_definitions",
]
