"""What helps buyers win: the adjusted model's odds ratios beside the raw comparisons."""

from __future__ import annotations

import pandas as pd

from analysis.report import figures, fmt
from analysis.report.context import ReportContext
from analysis.report.display import Table, user_errors_one_line
from analysis.report.labels import label

_FACTOR_NAMES = {
    "claim_type": "Claim type",
    "category": "Category",
    "inspection_report": "Inspection report in the evidence",
    "other_evidence_kinds": "Each further kind of evidence",
    "escalated": "Escalated to the platform",
    "order_value_band": "Order value",
}


def _term_label(row, short: bool = False) -> str:
    """'Claim type: Compliance (against Quality (not as agreed))'; short: without the reference
    (the chart's axis; the table and the caption name the reference)."""
    name = _FACTOR_NAMES.get(row["factor"], row["factor"])
    if row["level"] is None or pd.isna(row["level"]):
        return name
    level = f"{name}: {label(row['factor'], row['level'])}"
    return level if short else f"{level} (against {label(row['factor'], row['reference'])})"


@user_errors_one_line
def adjusted_effects(ctx: ReportContext) -> Table:
    """The model's adjusted odds ratios with intervals and p-values, beside the raw ones, over
    the trailing 12 months; or why the model was not fitted."""
    model = figures.effects(ctx)
    p = ctx.params
    level = f"{100 * p.confidence:g}%"
    span = ctx.trailing
    if model.terms is None:
        frame = pd.DataFrame({"The model was not fitted": [model.not_fitted]})
        data = pd.DataFrame()
    else:
        data = model.terms.copy()
        data.attrs.update(synthetic=ctx.synthetic, confidence=p.confidence)
        data["label"] = [_term_label(row) for _, row in data.iterrows()]
        data["short_label"] = [_term_label(row, short=True) for _, row in data.iterrows()]
        frame = pd.DataFrame(
            {
                "Characteristic": data["label"],
                "Cases": data["cases"].map(fmt.count),
                f"Adjusted odds ratio ({level} interval)": [
                    f"{fmt.odds_ratio(o)} ({fmt.odds_ratio(lo)}{fmt.DASH}{fmt.odds_ratio(hi)})"
                    for o, lo, hi in zip(data["odds_ratio"], data["ci_low"], data["ci_high"], strict=True)
                ],
                "p": data["p_value"].map(fmt.p_value),
                "Raw odds ratio": [
                    f"{fmt.odds_ratio(o)} ({fmt.odds_ratio(lo)}{fmt.DASH}{fmt.odds_ratio(hi)})"
                    if not fmt.missing(o) else fmt.DASH
                    for o, lo, hi in zip(data["raw_odds_ratio"], data["raw_ci_low"], data["raw_ci_high"], strict=True)
                ],
            }
        )  # fmt: skip
    notes = "; ".join(model.notes)
    caption = (
        f"What goes with a supplier-sided outcome, over the {fmt.count(model.decided)} decided "
        f"cases closed from {span.start.isoformat()} to {span.end.isoformat()} "
        f"({fmt.count(model.suppliers)} suppliers): a logistic regression on claim type, category, "
        "an inspection report in the evidence, the number of other evidence kinds, escalation "
        "and the order-value band, with standard errors clustered by supplier. An odds ratio "
        "below 1 goes with fewer supplier-sided outcomes (better for the buyer), the other "
        "characteristics held equal; the raw odds ratio compares the same groups with nothing "
        "held equal. Categorical characteristics are compared with their commonest level. These "
        "are associations in observational data, not proof of cause: escalation, for one, is "
        "also a consequence of a dispute going badly." + (f" Levels: {notes}." if notes else "")
    )
    return Table(
        frame=frame, caption=caption, name="adjusted_effects", data=data, record=model.contract(),
        quiet=model.terms is None, fold=f"Not modelled: {model.not_fitted}." if model.terms is None else "",
    )  # fmt: skip
