"""Notable cases: the single cases behind the numbers, largest claims first, case text masked."""

from __future__ import annotations

from typing import Any

import pandas as pd

from analysis import metrics, settings
from analysis.report import fmt
from analysis.report.context import ReportContext, period_text
from analysis.report.display import Table, user_errors_one_line
from analysis.report.labels import label

NOTABLE_KINDS = metrics.notable.KINDS


def _refund_text(outcome: str, monetary: bool, refund: Any, claim: Any) -> str:
    """'$150 (1.5%)' for a refund, '$0 (no refund)', or the outcome when no money was decided."""
    if outcome == "no_refund":
        return f"{fmt.usd(refund if not fmt.missing(refund) else 0)} (no refund)"
    if fmt.missing(refund) or not monetary:
        return label("outcome", outcome).lower()
    return f"{fmt.usd(refund)} ({fmt.pct(refund / claim)})" if claim else fmt.usd(refund)


def refund_texts(data: pd.DataFrame) -> list[str]:
    """What each case of a case list got back (:func:`_refund_text`), one text per row."""
    return [
        _refund_text(o, m, r, c)
        for o, m, r, c in zip(
            data["outcome"], data["is_monetary"], data["refund_usd"], data["claim_usd"],
            strict=True,
        )
    ]  # fmt: skip


@user_errors_one_line
def notable_cases(
    ctx: ReportContext,
    kind: str,
    limit: int = settings.NOTABLE_LIMIT,
    high_value_usd: float = settings.HIGH_VALUE_USD,
) -> Table:
    """The period's lowball decisions, refused high-value claims or compliance cases.

    ``kind``: 'lowball' (0 < refund < lowball x claim), 'refused_high_value' (no refund on a
    claim of at least ``high_value_usd``), 'compliance' (claim type compliance: falsified or
    missing certificates, safety standards; any final outcome). Largest claims first, at most
    ``limit`` rows. Supplier names and descriptions are masked (e-mails, phone numbers).
    """
    data, total = metrics.notable_cases(
        ctx.store, ctx.start, ctx.end, kind, ctx.params, ctx.category, limit, high_value_usd
    )
    frame = pd.DataFrame(
        {
            "Case": data["case_id"].map(fmt.identifier),
            "Supplier": [
                fmt.name_or_id(name, sid, 80)
                for name, sid in zip(data["supplier_name"], data["supplier_id"], strict=True)
            ],
            "Category": [
                label("category", c)
                + ("" if kind == "compliance" else f", {label('claim_type', t)}")
                for c, t in zip(data["category"], data["claim_type"], strict=True)
            ],
            "Claimed (USD)": data["claim_usd"].map(fmt.usd),
            "Refunded (USD)": refund_texts(data),
            "Description": data["description"].map(fmt.clean_text),
        }
    )
    p = ctx.params
    what = {
        "lowball": f"Lowball decisions: a refund above 0 but below {p.lowball:g} x the claim",
        "refused_high_value": f"Refused high-value claims: no refund on a claim of "
        f"{fmt.usd(high_value_usd)} or more",
        "compliance": "Compliance cases (falsified or missing certificates, safety standards), "
        "any final outcome",
    }[kind]
    caption = (
        f"{what}, closed in {period_text(ctx.period)}; largest claims first. Refunded: the "
        "amount and its share of the claim, or the outcome when no money was decided. Amounts in "
        "US dollars at the ECB rate of the opening date. E-mail addresses and phone numbers in "
        f"the text are hidden; descriptions are cut at {settings.DESCRIPTION_CHARS} characters."
    )
    note = f"Showing {len(frame)} of {total} cases." if total > len(frame) else f"{total} case(s)."
    return Table(frame=frame, caption=caption, name=f"notable_{kind}", data=data, note=note)
