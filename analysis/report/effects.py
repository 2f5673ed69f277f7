"""What helps buyers win: the adjusted model's odds ratios beside the raw comparisons."""

from __future__ import annotations

import numpy as np
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
        # the sensitivity model (escalation held equal too) beside each term, and its
        # escalation term as a last row of the table (not of the data: the forest plot draws
        # the main model's terms only)
        other = model.sensitivity.terms if model.sensitivity is not None else None
        other = other.set_index("term") if other is not None else pd.DataFrame()
        for column in ("odds_ratio", "ci_low", "ci_high"):
            data[f"sensitivity_{column}"] = [
                other.loc[t, column] if t in other.index else np.nan for t in data["term"]
            ]
        data.attrs.update(synthetic=ctx.synthetic, confidence=p.confidence)
        data["label"] = [_term_label(row) for _, row in data.iterrows()]
        data["short_label"] = [_term_label(row, short=True) for _, row in data.iterrows()]
        extra = other[~other.index.isin(data["term"])].reset_index() if len(other) else other

        def ratio(o, lo, hi) -> str:
            return (fmt.DASH if fmt.missing(o) else
                    f"{fmt.odds_ratio(o)} ({fmt.odds_ratio(lo)}{fmt.DASH}{fmt.odds_ratio(hi)})")  # fmt: skip

        def points(a, lo, hi) -> str:
            return (fmt.DASH if fmt.missing(a) else
                    f"{fmt.points(a)} ({fmt.points(lo)} to {fmt.points(hi)})")  # fmt: skip

        adjusted = f"Adjusted odds ratio ({level} interval)"
        effect = f"On the rate, on average ({level} interval)"
        sensitivity = "Adjusted for escalation too (sensitivity)"
        frame = pd.DataFrame(
            {
                "Characteristic": data["label"],
                "Cases": data["cases"].map(fmt.count),
                adjusted: [ratio(o, lo, hi) for o, lo, hi in
                           zip(data["odds_ratio"], data["ci_low"], data["ci_high"], strict=True)],
                "p": data["p_value"].map(fmt.p_value),
                "Raw odds ratio": [
                    ratio(o, lo, hi)
                    for o, lo, hi in zip(data["raw_odds_ratio"], data["raw_ci_low"], data["raw_ci_high"], strict=True)
                ],
                effect: [points(a, lo, hi) for a, lo, hi in
                         zip(data["ame"], data["ame_ci_low"], data["ame_ci_high"], strict=True)],
                sensitivity: [
                    ratio(o, lo, hi)
                    for o, lo, hi in zip(data["sensitivity_odds_ratio"], data["sensitivity_ci_low"],
                                         data["sensitivity_ci_high"], strict=True)
                ],
            }
        )  # fmt: skip
        rows = [
            {"Characteristic": _term_label(row), "Cases": fmt.count(row["cases"]),
             adjusted: "not in the main model", "p": fmt.DASH,
             "Raw odds ratio": ratio(row["raw_odds_ratio"], row["raw_ci_low"], row["raw_ci_high"]),
             effect: fmt.DASH,
             sensitivity: f"{ratio(row['odds_ratio'], row['ci_low'], row['ci_high'])}, "
                          f"{fmt.p_value(row['p_value'])}"}
            for _, row in (extra.iterrows() if len(extra) else [])
        ]  # fmt: skip
        frame = pd.concat([frame, pd.DataFrame(rows, columns=frame.columns)], ignore_index=True)
    notes = "; ".join(model.notes)
    caption = (
        f"What goes with a supplier-sided outcome, over the {fmt.count(model.decided)} decided "
        f"cases closed from {span.start.isoformat()} to {span.end.isoformat()} "
        f"({fmt.count(model.suppliers)} suppliers): a logistic regression on claim type, category, "
        "an inspection report in the evidence, the number of other evidence kinds and the "
        "order-value band, with standard errors clustered by supplier. Escalation is left out: "
        "it follows a dispute going badly, so holding it equal would bias the evidence effects; "
        "the last column is the same model with escalation added (a sensitivity check), and its "
        "escalation term is the last row. An odds ratio "
        "below 1 goes with fewer supplier-sided outcomes (better for the buyer), the other "
        "characteristics held equal; the raw odds ratio compares the same groups with nothing "
        "held equal. 'On the rate': the average marginal effect, in percentage points: the mean "
        "over the cases of the model's supplier-sided probability with the characteristic (a "
        "level against the commonest; one more kind of evidence) minus without it (delta-method "
        "interval). Categorical characteristics are compared with their commonest level. These "
        "are associations in observational data, not proof of cause."
        + (f" Levels: {notes}." if notes else "")
    )
    return Table(
        frame=frame, caption=caption, name="adjusted_effects", data=data, record=model.contract(),
        quiet=model.terms is None, fold=f"Not modelled: {model.not_fitted}." if model.terms is None else "",
    )  # fmt: skip
