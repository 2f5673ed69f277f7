"""The time-to-resolution section: Kaplan-Meier medians censored at the as-of date, and what
became of each opening month's cases."""

from __future__ import annotations

import pandas as pd

from analysis import settings
from analysis.report import figures, fmt
from analysis.report.context import ReportContext, period_text
from analysis.report.display import Table, user_errors_one_line
from analysis.report.labels import label, title


def _median_text(row, min_n_rate: int) -> str:
    if row["suppressed"]:
        return f"no curve (fewer than {min_n_rate} cases opened)"
    if fmt.missing(row["median"]):
        if not fmt.missing(row.get("stopped_at")):
            return (
                f"not reached before the curve stops (day {fmt.days(row['stopped_at'])}: fewer "
                f"than {settings.KM_MIN_AT_RISK} cases at risk)"
            )
        return "not reached (over half are still open)"
    high = "not reached" if fmt.missing(row["median_ci_high"]) else fmt.days(row["median_ci_high"])
    few = f" {fmt.FEW_CASES}" if row["few_cases"] else ""
    return f"{fmt.days(row['median'])} ({fmt.days(row['median_ci_low'])}{fmt.DASH}{high}){few}"


@user_errors_one_line
def time_to_resolution(ctx: ReportContext, by: str = "category") -> Table:
    """Kaplan-Meier medians (with intervals) of days to resolution, by ``by``; curves in source."""
    result = figures.time_to_resolution(ctx, by)
    summary = result["summary"].copy()
    summary["label"] = ["All" if g == "all" else label(by, g) for g in summary["group"]]
    summary.attrs["synthetic"] = ctx.synthetic
    p = ctx.params
    frame = pd.DataFrame(
        {
            title(by): summary["label"],
            "Cases opened": summary["n"].map(fmt.count),
            f"Resolved by {result['as_of']}": summary["events"].map(fmt.count),
            "Still open (censored)": summary["censored"].map(fmt.count),
            f"Median days ({100 * p.confidence:g}% interval)": [
                _median_text(row, p.min_n_rate) for _, row in summary.iterrows()
            ],
        }
    )
    caption = (
        f"Kaplan-Meier time to resolution of the cases opened in {period_text(ctx.period)}: a "
        f"case closed (any final outcome) by the data's as-of date ({result['as_of']}) is "
        "resolved after closed - opened days; a case still open then is censored at as-of - "
        "opened days, so slow cases are followed as long as the data allow. The curves stop where "
        f"fewer than {settings.KM_MIN_AT_RISK} cases are still at risk. Median = first day at "
        "which the curve is at or below one half; its interval is where the band reaches one "
        f"half. A curve needs {p.min_n_rate} cases opened ('{fmt.FEW_CASES}' below {p.min_n})."
    )
    return Table(
        frame=frame, caption=caption, name="time_to_resolution", data=summary, source=result
    )


@user_errors_one_line
def cohorts(ctx: ReportContext) -> Table:
    """For each of the trailing 12 opening months, what had become of its cases by the as-of date."""
    data = figures.cohorts(ctx)
    data.attrs["synthetic"] = ctx.synthetic

    def cell(n, share) -> str:
        return f"{fmt.count(n)} ({fmt.pct(share)})" if not fmt.missing(share) else fmt.count(n)

    frame = pd.DataFrame(
        {
            "Opened in": data["month"],
            "Opened": data["opened"].map(fmt.count),
            "Still open": [cell(n, s) for n, s in zip(data["still_open"], data["still_open_share"], strict=True)],
            "Decided for the buyer": [cell(n, s) for n, s in zip(data["for_buyer"], data["for_buyer_share"], strict=True)],
            "Decided for the supplier": [cell(n, s) for n, s in zip(data["for_supplier"], data["for_supplier_share"], strict=True)],
            "Lapsed": [cell(n, s) for n, s in zip(data["lapsed"], data["lapsed_share"], strict=True)],
        }
    )  # fmt: skip
    caption = (
        f"What had become of each opening month's cases by the data's as-of date "
        f"({data.attrs['as_of']}): still open, decided for the buyer (decided and not "
        "supplier-sided), decided for the supplier (supplier-sided) or lapsed (withdrawn, "
        "cancelled, out of coverage); shares of the cases opened. Recent months have had less "
        "time to close."
    )
    return Table(frame=frame, caption=caption, name="cohorts", data=data)
