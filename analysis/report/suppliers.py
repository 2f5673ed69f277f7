"""Suppliers compared fairly: observed against expected for their case mix, named only when
they have enough cases."""

from __future__ import annotations

import pandas as pd

from analysis import settings
from analysis.report import figures, fmt
from analysis.report.context import ReportContext
from analysis.report.display import Table, user_errors_one_line


@user_errors_one_line
def supplier_comparison(ctx: ReportContext) -> Table:
    """The named suppliers (at least min_n_named decided cases in the trailing 12 months) with
    O, E, O/E and its interval and flag, worst first; the others only counted."""
    data = figures.observed_expected(ctx)
    data.attrs.update(synthetic=ctx.synthetic, confidence=ctx.params.confidence)
    p = ctx.params
    named = data[data["named"]].sort_values(["oe_ratio", "supplier_id"], ascending=[False, True])
    level = f"{100 * p.confidence:g}%"
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
            "Expected for its mix (E)": named["expected"].map(lambda e: f"{e:.1f}"),
            f"O/E ({level} interval)": [
                fmt.DASH if fmt.missing(r) else f"{r:.2f} ({lo:.2f}{fmt.DASH}{hi:.2f})"
                for r, lo, hi in zip(named["oe_ratio"], named["ci_low"], named["ci_high"], strict=True)
            ],
            f"Beyond the {fmt.FLAG_LIMITS}": [
                {"high": "more than expected", "low": "fewer than expected"}.get(f, "within")
                if isinstance(f, str) else "within"
                for f in named["flag"]
            ],
        }
    )  # fmt: skip
    unnamed = int((~data["named"]).sum())
    span = ctx.trailing
    caption = (
        f"Suppliers against their case mix, decided cases closed from {span.start.isoformat()} to "
        f"{span.end.isoformat()}: O = the supplier's supplier-sided decisions; E = the sum over its "
        "decided cases of the supplier-sided rate of the case's category and claim type over all "
        "suppliers (what its mix of cases predicts). O/E above 1: more supplier-sided outcomes "
        f"than its cases predict. Interval: exact Poisson ({level}); a supplier is called out only "
        f"when the {fmt.level(settings.FLAG_CONFIDENCE)} interval lies wholly above or below 1. Only suppliers with at least "
        f"{p.min_n_named} decided cases are named, worst O/E first; {fmt.count(unnamed)} "
        "supplier(s) with fewer are in the funnel plot but not listed. The store does not know how "
        "many orders each supplier fulfilled without a dispute: this compares disputes, not "
        "suppliers' whole trade."
    )
    note = f"{len(named)} supplier(s) named; {unnamed} with fewer than {p.min_n_named} decided cases not named."
    return Table(frame=frame, caption=caption, name="supplier_comparison", data=data, note=note)
