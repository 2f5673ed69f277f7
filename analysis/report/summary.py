"""The one-page client summary (notebooks/client_summary.ipynb): the answer in a few sentences,
one chart and the client's own cases, for an agency to send a client.

It is the outcome report of one client (``buyer_key``, from ``--client NAME``) cut to what fits on
one A4 page: every figure is the outcome report's own (:mod:`analysis.report.figures`), the
client's beside the whole store's over the same 12 months.
"""

from __future__ import annotations

import dataclasses

import pandas as pd

from analysis import metrics, settings
from analysis.report import figures, fmt, month
from analysis.report.case_lists import refund_texts
from analysis.report.context import ReportContext, open_report, period_text
from analysis.report.display import Findings, Table, user_errors_one_line
from analysis.report.labels import label
from analysis.report.resolution import cohorts

__all__ = ["answer", "client_cases", "months", "open_summary"]

open_summary = open_report
months = cohorts


def _everyone(ctx: ReportContext) -> ReportContext:
    """The same report over every client (its own figure cache)."""
    return dataclasses.replace(
        ctx, params=dataclasses.replace(ctx.params, buyer_key=None), _cache={}
    )


def _sided(block, whose: str = "") -> str:
    """'2 of [your] 6 decided claims' and, from min_n_rate decided, the rate and its interval."""
    whose = f"{whose} " if whose else ""
    counts = (
        f"{fmt.count(block['supplier_sided'])} of {whose}{fmt.count(block['decided'])} decided "
        "claims"
    )
    if block["suppressed"]:
        return counts
    low, high = block["supplier_sided_ci_low"], block["supplier_sided_ci_high"]
    return f"{counts} ({fmt.pct(block['supplier_sided_rate'])}, {fmt.interval(low, high)})"


@user_errors_one_line
def answer(ctx: ReportContext) -> Findings:
    """Four or five sentences: the period's cases and how they ended, the money, the cases to
    look at, the 12 months, and the same 12 months over every client of the store."""
    now, year = figures.overall(ctx), figures.overall(ctx, "trailing")
    whose = "your" if ctx.params.buyer_key else "the"
    when, p = ctx.period.title, ctx.params
    first = (
        f"In {when}, {fmt.count(now['cases_closed'])} of {whose} cases closed and "
        f"{fmt.count(now['cases_opened'])} opened; "
        + (
            f"{_sided(now)} ended on the supplier's side (the buyer got back less than "
            f"{100 * p.threshold:g}% of the claim)."
            if now["decided"]
            else "none was decided."
        )
    )
    sentences = [first]
    if now["claimed_usd_closed"]:
        # the share with its interval, as the outcome report's findings give it
        share = fmt.rate_ci(
            now["refund_ratio_closed"], now["refund_ratio_closed_ci_low"],
            now["refund_ratio_closed_ci_high"], bool(now["suppressed"]), p.min_n_rate,
            bool(now["few_cases"]),
        )  # fmt: skip
        sentences.append(
            f"Of {fmt.usd(now['claimed_usd_closed'])} claimed in them, "
            f"{fmt.usd(now['refunded_usd_closed'])} came back as refunds"
            + ("." if share == fmt.DASH else f": {share} of everything claimed.")
        )
    sentences.append(month.lead(ctx)[1])  # the notable cases, by id
    if (ctx.trailing.start, ctx.trailing.end) != (ctx.start, ctx.end):
        # (a summary of 12 months already said it)
        sentences.append(
            f"Over the {fmt.TRAILING} to {when}, {_sided(year, whose)} ended on the supplier's "
            "side."
        )
    if ctx.params.buyer_key:
        everyone = figures.overall(_everyone(ctx), "trailing")
        sentences.append(f"Across all our clients in the same months, {_sided(everyone)} did.")
    return Findings(sentences, record={"sentences": sentences}, name="summary")


@user_errors_one_line
def client_cases(ctx: ReportContext, limit: int = settings.SUMMARY_CASES) -> Table:
    """The cases closed in the period (the client's own), largest claims first."""
    data, total = metrics.notable.closed_cases(
        ctx.store, ctx.start, ctx.end, ctx.params, ctx.category, limit
    )
    frame = pd.DataFrame(
        {
            "Case": data["case_id"].map(fmt.identifier),
            "Supplier": [
                fmt.name_or_id(name, sid, 60)  # an id is never masked (issue 24.7)
                for name, sid in zip(data["supplier_name"], data["supplier_id"], strict=True)
            ],
            "Claim": [label("claim_type", t) for t in data["claim_type"]],
            "Claimed (USD)": data["claim_usd"].map(fmt.usd),
            "Outcome": refund_texts(data),
        }
    )
    caption = (
        f"The cases closed in {period_text(ctx.period)}, largest claims first: the amount "
        "refunded and its share of the claim, or the outcome when no money was decided (US "
        "dollars at the ECB rate of the opening date)."
    )
    note = f"Showing {len(frame)} of {total} cases." if total > len(frame) else f"{total} case(s)."
    return Table(frame=frame, caption=caption, name="client_cases", data=data, note=note)
