"""The trend section: the trailing 12 months, month by month, as a p-chart."""

from __future__ import annotations

import pandas as pd

from analysis.report import figures, fmt
from analysis.report.context import ReportContext
from analysis.report.display import Table, user_errors_one_line
from analysis.report.headline import rate_rule


@user_errors_one_line
def trend(ctx: ReportContext) -> Table:
    """One row per month of the 12 calendar months ending with the period's last, with the
    p-chart's limits and whether the month lies outside them."""
    data = figures.monthly(ctx)
    p = ctx.params
    data.attrs.update(min_n=p.min_n, min_n_rate=p.min_n_rate, synthetic=ctx.synthetic)
    frame = pd.DataFrame(
        {
            "Month": [
                m + ("" if c else " (partial)")
                for m, c in zip(data["month"], data["complete"], strict=True)
            ],
            "Opened": data["cases_opened"].map(fmt.count),
            "Closed": data["cases_closed"].map(fmt.count),
            "Decided": data["decided"].map(fmt.count),
            "Supplier-sided rate (interval)": fmt.rate_ci_column(data, p.min_n_rate),
            "p-chart limits": [
                fmt.DASH if fmt.missing(lo) else f"{fmt.pct(lo)}{fmt.DASH}{fmt.pct(hi)}"
                for lo, hi in zip(data["p_chart_low"], data["p_chart_high"], strict=True)
            ],
            "Outside": [
                {"above": "above", "below": "below"}.get(c, "") if isinstance(c, str) else ""
                for c in data["control"]
            ],
            "Escalation rate": fmt.rate_column(data, "escalation_rate", p.min_n_rate),
        }
    )
    centre = data["p_chart_centre"].iloc[0] if len(data) else None
    caption = (
        f"The 12 calendar months to {ctx.end.isoformat()}: intake (opened) by month of opening, "
        "outcomes by month of closing. Supplier-sided rate = supplier-sided / decided. The "
        f"p-chart's centre is the 12 months' pooled rate ({fmt.pct(centre)}); its limits are 3 "
        "standard errors for each month's number of decided cases, so a month outside them is "
        f"more than chance. Escalation rate = escalated / closed. {rate_rule(ctx)}"
    )
    return Table(frame=frame, caption=caption, name="trend", data=data)
