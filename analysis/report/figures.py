"""The figures of a report, computed once each: every section and the findings read them here.

Each function takes the report's :class:`~analysis.report.context.ReportContext` and returns what
the metrics package gives for the report's period, the previous period or the trailing window,
cached on the context (a report shows the same figure in its findings and in its section).
"""

from __future__ import annotations

import pandas as pd

from analysis import metrics
from analysis.metrics import (
    beyond,
    coverage,
    outcomes,
    pooling,
    process,
    resolution,
    suppliers,
    trends,
)
from analysis.metrics import effects as metric_effects
from analysis.report.context import ReportContext


def not_recorded(ctx: ReportContext, which: str = "period") -> list[str]:
    """The fields no export behind the window's cases carried (:mod:`analysis.metrics.coverage`)."""
    span = ctx.window(which)
    return ctx.cached(
        ("not_recorded", which),
        lambda: coverage.not_recorded(ctx.store, span.start, span.end, ctx.params, ctx.category),
    )


def unrecorded_figures(ctx: ReportContext, which: str = "period") -> set[str]:
    """The block fields built on a field the window's exports did not record."""
    return {n for f in not_recorded(ctx, which) for n in coverage.FIELD_FIGURES[f]}


def overall(ctx: ReportContext, which: str = "period") -> pd.Series:
    """The overall block of a window ('period', 'previous' or 'trailing'); the figures of a
    field its exports did not record are NaN (not recorded), never 0."""
    block = ctx.blocks(None, which).iloc[0].copy()
    for name in unrecorded_figures(ctx, which):
        block[name] = float("nan")
    return block


def change(ctx: ReportContext) -> pd.DataFrame:
    return ctx.cached(
        ("change",),
        lambda: trends.change_vs_previous(ctx.store, ctx.period, ctx.params, ctx.category),
    )


def trailing_detectable(ctx: ReportContext) -> dict:
    """The smallest change in the supplier-sided rate that the trailing 12 months, set against
    the 12 months before them, could tell from chance (:func:`pooling.detectable_change`):
    ``{"decided", "decided_before", "detectable_change"}`` (None when either has no decided
    case)."""
    now, before = overall(ctx, "trailing"), overall(ctx, "before_trailing")
    return {
        "decided": int(now["decided"]),
        "decided_before": int(before["decided"]),
        "detectable_change": pooling.detectable_change(
            int(now["supplier_sided"]), int(now["decided"]),
            int(before["supplier_sided"]), int(before["decided"]), ctx.params.confidence,
        ),
    }  # fmt: skip


def change_by(ctx: ReportContext, by: str) -> pd.DataFrame:
    return ctx.cached(
        ("change_by", by),
        lambda: trends.change_by(ctx.store, ctx.period, by, ctx.params, ctx.category),
    )


def monthly(ctx: ReportContext) -> pd.DataFrame:
    return ctx.cached(
        ("monthly",),
        lambda: trends.monthly_series(ctx.store, ctx.end, 12, ctx.params, ctx.category),
    )


def buyer_outcomes(ctx: ReportContext, which: str = "period") -> dict:
    span = ctx.window(which)
    return ctx.cached(
        ("buyer_outcomes", which),
        lambda: outcomes.buyer_outcome_counts(
            ctx.store, span.start, span.end, ctx.params, ctx.category
        ),
    )


def sensitivity(ctx: ReportContext) -> list[dict]:
    return ctx.cached(
        ("sensitivity",),
        lambda: outcomes.sensitivity_table(ctx.store, ctx.start, ctx.end, ctx.params, ctx.category),
    )


def time_to_resolution(ctx: ReportContext, by: str | None) -> dict:
    return ctx.cached(
        ("resolution", by),
        lambda: resolution.time_to_resolution(
            ctx.store, ctx.start, ctx.end, by, ctx.params, ctx.category, as_of=ctx.as_of
        ),
    )


def cohorts(ctx: ReportContext) -> pd.DataFrame:
    return ctx.cached(
        ("cohorts",),
        lambda: resolution.cohorts(
            ctx.store, ctx.end, 12, ctx.params, ctx.category, as_of=ctx.as_of
        ),
    )


def observed_expected(ctx: ReportContext) -> pd.DataFrame:
    span = ctx.trailing
    return ctx.cached(
        ("observed_expected",),
        lambda: suppliers.observed_expected(
            ctx.store, span.start, span.end, ctx.params, ctx.category
        ),
    )


def effects(ctx: ReportContext) -> metric_effects.ModelResult:
    span = ctx.trailing
    return ctx.cached(
        ("effects",),
        lambda: metric_effects.adjusted_effects(
            ctx.store, span.start, span.end, ctx.params, ctx.category
        ),
    )


def funnel(ctx: ReportContext) -> pd.DataFrame:
    return ctx.cached(
        ("funnel",), lambda: process.funnel(ctx.store, ctx.start, ctx.end, ctx.params, ctx.category)
    )


def claim_window(ctx: ReportContext) -> pd.DataFrame:
    return ctx.cached(
        ("claim_window",),
        lambda: process.claim_window(ctx.store, ctx.start, ctx.end, ctx.params, ctx.category),
    )


def heatmap(ctx: ReportContext, which: str = "trailing") -> pd.DataFrame:
    span = ctx.window(which)
    return ctx.cached(
        ("heatmap", which),
        lambda: metrics.heatmap_frame(ctx.store, span.start, span.end, ctx.params, ctx.category),
    )


# issue 29: what the platform said, and what buyers recovered beyond it (None: not recorded)
def platform_reasons(ctx: ReportContext, which: str = "period") -> pd.DataFrame | None:
    """:func:`analysis.metrics.beyond.reasons_frame` of a window."""
    span = ctx.window(which)
    return ctx.cached(
        ("platform_reasons", which),
        lambda: beyond.reasons_frame(ctx.store, span.start, span.end, ctx.params, ctx.category),
    )


def beyond_routes(ctx: ReportContext, which: str = "period") -> pd.DataFrame | None:
    """:func:`analysis.metrics.beyond.routes_frame` of a window."""
    span = ctx.window(which)
    return ctx.cached(
        ("beyond_routes", which),
        lambda: beyond.routes_frame(ctx.store, span.start, span.end, ctx.params, ctx.category),
    )
