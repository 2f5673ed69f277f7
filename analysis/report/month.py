"""What happened in the period, first: the cases closed and opened, and each notable case by id.

A small agency's month holds 15 to 25 closed cases: too few for rates by group, but every one of
them is a fact the reader knows by its id. The report leads with those facts, then says in one
sentence where its rates come from when the month alone cannot carry them (the trailing 12
months).
"""

from __future__ import annotations

from analysis import metrics, settings
from analysis.report import figures, fmt
from analysis.report.context import ReportContext

#: How each kind of notable case is named in the lead.
_KIND_WORDS = {
    "lowball": ("lowball decision", "lowball decisions"),
    "refused_high_value": (
        f"refused claim of {fmt.usd(settings.HIGH_VALUE_USD)} or more",
        f"refused claims of {fmt.usd(settings.HIGH_VALUE_USD)} or more",
    ),
    "compliance": ("compliance case", "compliance cases"),
}


def notable(ctx: ReportContext, kind: str):
    """The period's notable cases of ``kind`` (:func:`analysis.metrics.notable_cases`), once per
    report: (rows, how many in all)."""
    return ctx.cached(
        ("notable", kind),
        lambda: metrics.notable_cases(
            ctx.store, ctx.start, ctx.end, kind, ctx.params, ctx.category
        ),
    )


def _case_text(row) -> str:
    claim = "" if fmt.missing(row.claim_usd) else f"{fmt.usd(row.claim_usd)} claimed"
    if row.outcome == "no_refund":
        back = "nothing back"
    elif row.is_monetary and not fmt.missing(row.refund_usd):
        back = f"{fmt.usd(row.refund_usd)} back"
    else:
        back = row.outcome.replace("_", " ")
    return f"{fmt.identifier(row.case_id, 40)} ({', '.join(t for t in (claim, back) if t)})"


def lead(ctx: ReportContext) -> list[str]:
    """The period's facts: cases closed and opened, each notable case by id, and where the rates
    come from when the period's decided cases are too few to carry them."""
    now = figures.overall(ctx)
    when = ctx.period.title
    sentences = [
        f"In {when}, {fmt.count(now['cases_closed'])} cases closed ({fmt.count(now['decided'])} "
        f"with a decision, {fmt.count(now['lapsed'])} withdrawn, cancelled or out of coverage) "
        f"and {fmt.count(now['cases_opened'])} opened."
    ]
    parts = []
    for kind, words in _KIND_WORDS.items():
        rows, total = notable(ctx, kind)
        if not total:
            continue
        named = rows.head(settings.LEAD_CASES)
        listed = ", ".join(_case_text(r) for r in named.itertuples())
        more = (
            f" and {fmt.count(total - len(named))} more (section 9)" if total > len(named) else ""
        )
        parts.append(f"{fmt.count(total)} {words[total != 1]}: {listed}{more}")
    sentences.append(
        f"Notable cases closed in {when}: " + "; ".join(parts) + "."
        if parts
        else f"No lowball decision, refused high-value claim or compliance case closed in {when}."
    )
    p = ctx.params
    if 0 < now["decided"] < p.min_n:
        year = figures.overall(ctx, "trailing")
        sentences.append(
            f"{fmt.count(now['decided'])} decided claims are too few for rates by group (from "
            f"{p.min_n} a rate is more than 'few cases'): the rates by category, claim type and "
            f"supplier are read from the {fmt.TRAILING} to {when} "
            f"({fmt.count(year['decided'])} decided), beside the period's counts."
        )
    return sentences
