"""The outcome report's sections, in notebook order (the notebook calls ``sections.<name>``).

Each section is one function of a module of its own, built on :mod:`analysis.metrics` through the
report's figures (:mod:`analysis.report.figures`, each computed once); here they are gathered in
the order the report shows them. There is no SQL in this package.
"""

from __future__ import annotations

from analysis.report.audit import data_quality
from analysis.report.beyond import beyond_platform, platform_said
from analysis.report.case_lists import NOTABLE_KINDS, notable_cases
from analysis.report.context import (
    ReportContext,
    open_report,
    period_text,
    resolve_db,
    resolve_period,
)
from analysis.report.display import RECORD_MIME, Banner, Findings, Table, TableGroup, show_table
from analysis.report.effects import adjusted_effects
from analysis.report.findings import findings
from analysis.report.groups import (
    change_by,
    heatmap,
    outcomes_by,
    refund_ratio_by,
    supplier_sided_by,
)
from analysis.report.headline import banner, buyer_outcomes, headline, sensitivity
from analysis.report.labels import label
from analysis.report.methodology import methodology
from analysis.report.p_chart import trend
from analysis.report.process import claim_window, funnel
from analysis.report.resolution import cohorts, time_to_resolution
from analysis.report.stamp import stamp
from analysis.report.supplier_facts import small_suppliers
from analysis.report.suppliers import supplier_comparison

__all__ = [
    # the report, in order
    "open_report",
    "banner",
    "findings",
    "headline",
    "buyer_outcomes",
    "sensitivity",
    "supplier_sided_by",
    "heatmap",
    "change_by",
    "refund_ratio_by",
    "trend",
    "time_to_resolution",
    "cohorts",
    "funnel",
    "claim_window",
    "platform_said",
    "beyond_platform",
    "outcomes_by",
    "adjusted_effects",
    "supplier_comparison",
    "small_suppliers",
    "notable_cases",
    "data_quality",
    "methodology",
    "stamp",
    # what they return, and helpers
    "NOTABLE_KINDS",
    "RECORD_MIME",
    "Banner",
    "Findings",
    "ReportContext",
    "Table",
    "TableGroup",
    "label",
    "period_text",
    "resolve_db",
    "resolve_period",
    "show_table",
]
