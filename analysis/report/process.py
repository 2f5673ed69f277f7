"""The process section: where the period's closed cases went, and the claim window."""

from __future__ import annotations

import pandas as pd

from analysis.report import figures, fmt
from analysis.report.context import ReportContext, period_text
from analysis.report.display import Table, user_errors_one_line
from analysis.report.labels import label


def _share(n, of) -> str:
    return f"{fmt.count(n)} ({fmt.pct(n / of)})" if of else fmt.count(n)


@user_errors_one_line
def funnel(ctx: ReportContext) -> Table:
    """The path of the closed cases by claim type: negotiated, escalated, decided by the
    platform, for whom."""
    data = figures.funnel(ctx)
    data.attrs["synthetic"] = ctx.synthetic
    frame = pd.DataFrame(
        {
            "Claim type": ["All" if c == "all" else label("claim_type", c) for c in data["claim_type"]],
            "Closed": data["closed"].map(fmt.count),
            "Settled without escalation": [_share(n, c) for n, c in zip(data["negotiated"], data["closed"], strict=True)],
            "Escalated": [_share(n, c) for n, c in zip(data["escalated"], data["closed"], strict=True)],
            "Decided by the platform": [_share(n, e) for n, e in zip(data["platform_decided"], data["escalated"], strict=True)],
            "Platform: for the buyer": [_share(n, d) for n, d in zip(data["platform_for_buyer"], data["platform_decided"], strict=True)],
            "Platform: for the supplier": [_share(n, d) for n, d in zip(data["platform_for_supplier"], data["platform_decided"], strict=True)],
            "Lapsed": [_share(n, c) for n, c in zip(data["lapsed"], data["closed"], strict=True)],
        }
    )  # fmt: skip
    missing = figures.not_recorded(ctx)
    if "escalated_date" in missing:
        # without an escalation column there is no path to follow, only where cases ended
        for column in ("Settled without escalation", "Escalated", "Decided by the platform",
                       "Platform: for the buyer", "Platform: for the supplier"):  # fmt: skip
            frame[column] = fmt.NOT_RECORDED
    elif "decided_by" in missing:
        for column in ("Decided by the platform", "Platform: for the buyer",
                       "Platform: for the supplier"):  # fmt: skip
            frame[column] = fmt.NOT_RECORDED
    caption = (
        f"The path of the cases closed in {period_text(ctx.period)}, by claim type. Settled without "
        "escalation: decided with no escalated_date (shares of closed); escalated: shares of "
        "closed; decided by the platform: decided_by platform, shares of escalated; for the buyer "
        "(decided, not supplier-sided) or the supplier: shares of the platform's decisions; "
        "lapsed (withdrawn, cancelled, out of coverage): shares of closed."
    )
    return Table(frame=frame, caption=caption, name="funnel", data=data)


@user_errors_one_line
def claim_window(ctx: ReportContext) -> Table:
    """The closed cases by whether they were opened within the claim window, and how they ended."""
    data = figures.claim_window(ctx)
    days = data.attrs.get("window_days")
    names = {"in time": f"within {days} days of receipt", "late": f"more than {days} days after receipt",
             "not recorded": "no receipt date recorded"}  # fmt: skip
    frame = pd.DataFrame(
        {
            "Claim made": [names.get(t, t) for t in data["timing"]],
            "Closed": data["closed"].map(fmt.count),
            "Decided": data["decided"].map(fmt.count),
            "Supplier-sided": [_share(n, d) for n, d in zip(data["supplier_sided"], data["decided"], strict=True)],
            "Out of coverage": [_share(n, c) for n, c in zip(data["out_of_coverage"], data["closed"], strict=True)],
            "Lapsed": [_share(n, c) for n, c in zip(data["lapsed"], data["closed"], strict=True)],
        }
    )  # fmt: skip
    caption = (
        f"The cases closed in {period_text(ctx.period)} by when they were opened: Trade "
        f"Assurance expects a dispute within {days} days after the buyer confirms receipt "
        "(received_date). Supplier-sided: shares of decided; out of coverage and lapsed: shares "
        "of closed."
        + (
            " The exports behind these cases did not record received_date: the claim window "
            "cannot be checked."
            if "received_date" in figures.not_recorded(ctx)
            else ""
        )
    )
    return Table(frame=frame, caption=caption, name="claim_window", data=data)
