"""Suppliers compared fairly: observed against expected for their case mix, named only when
they have enough cases."""

from __future__ import annotations

import pandas as pd

from analysis import settings
from analysis.metrics.suppliers import EXCESS_OE, ranked
from analysis.report import figures, fmt
from analysis.report.context import ReportContext
from analysis.report.display import Table, user_errors_one_line


@user_errors_one_line
def supplier_comparison(ctx: ReportContext) -> Table:
    """The named suppliers (at least min_n_named decided cases in the trailing 12 months) with
    O, E, O/E and its exact interval and flag, the shrunk O/E and the probability of a real
    excess: the flagged first, then by that probability (never by O/E); the others only counted."""
    data = figures.observed_expected(ctx)
    data.attrs.update(synthetic=ctx.synthetic, confidence=ctx.params.confidence)
    p = ctx.params
    named = ranked(data[data["named"]])
    level = f"{100 * p.confidence:g}%"
    excess = f"{EXCESS_OE:g}"

    def ratio(r, lo, hi) -> str:
        return fmt.DASH if fmt.missing(r) else f"{r:.2f} ({lo:.2f}{fmt.DASH}{hi:.2f})"

    frame = pd.DataFrame(
        {
            # the name as the tracker spells it, the id that identifies it
            "Supplier (id)": [
                f"{fmt.clean_text(n, 60)} ({fmt.identifier(s, 40)})"
                if not fmt.missing(n) else fmt.identifier(s, 40)
                for n, s in zip(named["supplier_name"], named["supplier_id"], strict=True)
            ],
            "Decided": named["decided"].map(fmt.count),
            "Supplier-sided (O)": named["supplier_sided"].map(fmt.count),
            "Expected from the others (E)": named["expected"].map(
                lambda e: fmt.DASH if fmt.missing(e) else f"{e:.1f}"),
            f"O/E ({level} interval)": [
                ratio(r, lo, hi)
                for r, lo, hi in zip(named["oe_ratio"], named["ci_low"], named["ci_high"], strict=True)
            ],
            f"Beyond the {fmt.FLAG_LIMITS}": [
                {"high": "more than expected", "low": "fewer than expected"}.get(f, "within")
                if isinstance(f, str) else "within"
                for f in named["flag"]
            ],
            "Could be flagged from O/E": named["detectable_oe"].map(
                lambda d: "not at this size" if fmt.missing(d) else f"{d:.2f}"),
            f"Shrunk O/E ({level} interval)": [
                ratio(r, lo, hi)
                for r, lo, hi in zip(named["shrunk_oe"], named["shrunk_ci_low"],
                                     named["shrunk_ci_high"], strict=True)
            ],
            f"P(true O/E > {excess})": named["prob_excess"].map(
                lambda q: fmt.DASH if fmt.missing(q) else f"{q:.2f}"),
        }
    )  # fmt: skip
    unnamed = int((~data["named"]).sum())
    span = ctx.trailing
    caption = (
        f"Suppliers against their case mix, decided cases closed from {span.start.isoformat()} to "
        f"{span.end.isoformat()}: O = the supplier's supplier-sided decisions; E = the sum over its "
        "decided cases of the supplier-sided rate of the case's category and claim type over the "
        "OTHER suppliers (what its mix of cases predicts, its own cases left out). O/E above 1: "
        "more supplier-sided outcomes than its cases predict. Interval and flag: from the exact "
        "distribution of O (a sum of one chance per case, at those rates); a supplier is called "
        f"out only beyond the {fmt.FLAG_LIMITS}, and 'could be flagged from' is the smallest O/E "
        "its E could show there. Shrunk O/E: each supplier pulled toward 1 by how little its cases "
        f"pin down (a random-intercept model of all suppliers), with the probability that its true "
        f"O/E is above {excess}. Listed: the flagged first, then by that probability, not by O/E; "
        "the order is uncertain and is not a ranking (two suppliers' intervals mostly overlap). "
        f"Only suppliers with at least {p.min_n_named} decided cases are named; "
        f"{fmt.count(unnamed)} supplier(s) with fewer are in the funnel plot but not listed. The "
        "store does not know how many orders each supplier fulfilled without a dispute: this "
        "compares disputes, not suppliers' whole trade."
    )
    note = f"{len(named)} supplier(s) named; {unnamed} with fewer than {p.min_n_named} decided cases not named."
    # the flagged are listed first: the page shows them all and the next PAGE_ROWS
    flagged = int(named["flag"].notna().sum())
    page_rows = flagged + settings.PAGE_ROWS
    if len(named) > page_rows:
        note += (
            f" This page lists the {flagged} called out and the next {settings.PAGE_ROWS}; the "
            f"other {len(named) - page_rows} named are in the table's CSV (Download CSV), which "
            f"holds all {len(named)}."
        )
    return Table(frame=frame, caption=caption, name="supplier_comparison", data=data, note=note,
                 page_rows=page_rows)  # fmt: skip
