"""Findings: the report's answer in a few sentences, each written from the figures.

Every sentence carries its number, its interval, its denominator and, where it compares, its
test; a finding the data do not support is said as such ("too few decided cases for a rate",
"not shown by these data"), never as "no change". No sentence restates a parameter as a literal:
thresholds, limits and levels are read from the report's parameters.
"""

from __future__ import annotations

from analysis import settings
from analysis.metrics.pooling import POWER
from analysis.metrics.suppliers import ranked
from analysis.report import figures, fmt, month
from analysis.report.context import ReportContext
from analysis.report.display import Findings, user_errors_one_line
from analysis.report.labels import label

#: The model's factors a finding may speak of (what a buyer can act on, and escalation); the
#: claim-type and category terms are the adjustment, shown in the section's table.
_ACTIONABLE = {
    "inspection_report": "an inspection report in the evidence",
    "other_evidence_kinds": "each further kind of evidence",
}


def _share(threshold: float) -> str:
    return f"{100 * threshold:g}%"


def _rate_sentence(ctx: ReportContext) -> str:
    now = figures.overall(ctx)
    p, when = ctx.params, ctx.period.title
    if now["decided"] == 0:
        return f"No claim decided in {when} (none closed with a decision)."
    if now["suppressed"]:
        year = figures.overall(ctx, "trailing")
        longer = (
            ""
            if year["suppressed"]
            else f"; over the {fmt.TRAILING} to {when}, {fmt.count(year['supplier_sided'])} of "
            f"{fmt.count(year['decided'])} did ({fmt.pct(year['supplier_sided_rate'])}, "
            f"{fmt.interval(year['supplier_sided_ci_low'], year['supplier_sided_ci_high'])})"
        )
        return (
            f"{fmt.count(now['supplier_sided'])} of {fmt.count(now['decided'])} claims decided in "
            f"{when} ended on the supplier's side: too few decided claims for a rate (a rate is "
            f"given from {p.min_n_rate}){longer}."
        )
    few = " (few cases: read the interval)" if now["few_cases"] else ""
    return (
        f"{fmt.count(now['supplier_sided'])} of {fmt.count(now['decided'])} claims decided in "
        f"{when} ({fmt.pct(now['supplier_sided_rate'])}, {fmt.interval(now['supplier_sided_ci_low'], now['supplier_sided_ci_high'])}) "
        f"ended on the supplier's side: the buyer got back less than {_share(p.threshold)} of the "
        f"claim{few}."
    )


def _lost_sentence(ctx: ReportContext) -> str | None:
    now = figures.overall(ctx)
    if now["buyer_lost_base"] == 0 or fmt.missing(now["buyer_lost_rate"]):
        return None
    lapses = now["cancelled"] + now["out_of_coverage"]
    return (
        f"Counting the {fmt.count(lapses)} claims that lapsed at the buyer's cost (cancelled for "
        f"missing evidence, or out of coverage), {fmt.count(now['buyer_lost'])} of "
        f"{fmt.count(now['buyer_lost_base'])} buyers who did not withdraw "
        f"({fmt.pct(now['buyer_lost_rate'])}, {fmt.interval(now['buyer_lost_ci_low'], now['buyer_lost_ci_high'])}) "
        "came away with nothing or a token."
    )


def _money_sentence(ctx: ReportContext) -> str | None:
    now = figures.overall(ctx)
    if not now["claimed_usd_closed"]:
        return None
    p = ctx.params
    share = fmt.rate_ci(
        now["refund_ratio_closed"], now["refund_ratio_closed_ci_low"],
        now["refund_ratio_closed_ci_high"], bool(now["suppressed"]), p.min_n_rate,
        bool(now["few_cases"]),
    )  # fmt: skip
    # two money shares are on the page: say which this is, and how it differs from the headline's
    pooled = (
        ""
        if fmt.missing(now["refund_ratio_pooled"]) or bool(now["suppressed"])
        else f" (the headline's pooled refund ratio, {fmt.pct(now['refund_ratio_pooled'])}, "
        "counts only the decisions about money)"
    )
    return (
        f"Of {fmt.usd(now['claimed_usd_closed'])} claimed in the cases closed in "
        f"{ctx.period.title}, {fmt.usd(now['refunded_usd_closed'])} came back as refunds: "
        f"{share} of everything claimed, lapsed and replaced claims counting as nothing back in "
        f"money{pooled}."
    )


def _change_sentence(ctx: ReportContext) -> str | None:
    change = figures.change(ctx).set_index("metric").loc["supplier_sided_rate"]
    previous = ctx.previous.title
    if not bool(change["comparable"]):
        return (
            f"The rate is not compared with {previous}: a period has fewer than "
            f"{ctx.params.min_n_rate} decided claims."
        )
    verdict = (
        "a significant change" if bool(change["flagged"]) else "a change not shown by these data"
    )
    return (
        f"Against {previous} ({fmt.pct(change['previous'])} of {fmt.count(change['previous_n'])} "
        f"decided) the rate moved by {fmt.points(change['difference'])} "
        f"({fmt.points(change['difference_ci_low'])} to {fmt.points(change['difference_ci_high'])}): "
        f"{verdict} ({fmt.p_value(change['p_value'])}, two-proportion test)."
    )


def _detectable_sentence(ctx: ReportContext) -> str | None:
    """What the counts could have shown, when the change against the previous period is not
    significant: the smallest change they could tell from chance, and the trailing 12 months'
    against the 12 before them (a change not shown is not "no change")."""
    change = figures.change(ctx).set_index("metric").loc["supplier_sided_rate"]
    smallest = change["detectable_change"]
    if bool(change["flagged"]) or fmt.missing(smallest):
        return None
    n1, n2 = fmt.count(change["current_n"]), fmt.count(change["previous_n"])
    head = f"With {n1} decided claims in {ctx.period.title} and {n2} in {ctx.previous.title}, "
    head += (
        "no change in the rate could be told from chance"
        if smallest >= 1
        else f"only a change of more than {100 * smallest:.0f} points could be told from chance"
    )
    test = f"two-sided test at {fmt.level(1 - ctx.params.confidence)}, {fmt.level(POWER)} power"
    longer = figures.trailing_detectable(ctx)
    if longer["detectable_change"] is None:
        tail = (
            f"the {fmt.TRAILING} to {ctx.period.title} cannot be set against the "
            f"{fmt.TRAILING} before them (no decided claim in one of the two)"
        )
    else:
        tail = (
            f"the {fmt.TRAILING} to {ctx.period.title} ({fmt.count(longer['decided'])} decided) "
            f"against the {fmt.TRAILING} before them ({fmt.count(longer['decided_before'])}) "
            f"can show {100 * longer['detectable_change']:.0f}"
        )
    return f"{head} ({test}); {tail}."


def _trend_sentence(ctx: ReportContext) -> str | None:
    months = figures.monthly(ctx)
    decided = int(months["decided"].sum())
    if decided == 0:
        return None
    outside = months[months["control"].notna()]
    base = (
        f"Over the {fmt.TRAILING} to {ctx.period.title}, {fmt.pct(months['p_chart_centre'].iloc[0])} "
        f"of {fmt.count(decided)} decided claims were supplier-sided"
    )
    if outside.empty:
        return (
            base
            + f"; no month lay outside the p-chart's {fmt.SIGMA_LIMITS}. "
            + _p_chart_reach(months)
        )
    listed = ", ".join(
        f"{row.month} ({fmt.pct(row.p_chart_rate)}, {row.control} its limits)"
        for row in outside.itertuples()
    )
    return base + f"; outside the p-chart's {fmt.SIGMA_LIMITS}: {listed}."


def _p_chart_reach(months) -> str:
    """What the p-chart could have seen: how far a month of the median number of decided cases
    must move from the pooled rate to fall outside the limits (a chart inside its limits is not
    'no change')."""
    p0 = float(months["p_chart_centre"].iloc[0])
    n = float(months.loc[months["decided"] > 0, "decided"].median())
    reach = settings.P_CHART_SIGMA * (p0 * (1 - p0) / n) ** 0.5
    return (
        f"With a median of {fmt.count(round(n))} decided claims a month, a month's rate had to "
        f"move by about {100 * reach:.1f} points from {fmt.pct(p0)} to fall outside them: "
        "smaller or gradual changes are not ruled out."
    )


def _effect_sentences(ctx: ReportContext) -> list[str]:
    model = figures.effects(ctx)
    months = settings.TRAILING_MONTHS
    if model.terms is None:
        return [
            f"What goes with winning was not modelled for the {months} months: {model.not_fitted}."
        ]
    level = fmt.level(ctx.params.confidence)
    parts = []
    for row in model.terms.itertuples():
        if row.factor not in _ACTIONABLE or fmt.missing(row.ci_low):
            continue
        if row.ci_low <= 1 <= row.ci_high:
            continue
        raw = (
            ""
            if fmt.missing(row.raw_odds_ratio)
            else f"; {fmt.odds_ratio(row.raw_odds_ratio)} before adjustment"
        )
        parts.append(
            f"{_ACTIONABLE[row.factor]} went with {fmt.odds_ratio(row.odds_ratio)} times the odds "
            f"of a supplier-sided outcome ({fmt.odds_ratio(row.ci_low)} to "
            f"{fmt.odds_ratio(row.ci_high)}, {fmt.p_value(row.p_value)}{raw}), "
            f"{fmt.points(row.ame)} on the supplier-sided rate on average "
            f"({fmt.points(row.ame_ci_low)} to {fmt.points(row.ame_ci_high)})"
        )
    scope = (
        f"Over the {fmt.count(model.decided)} claims decided in the {months} months, with claim "
        "type, category, order value and the other evidence held equal"
    )
    if not parts:
        sentences = [
            scope + ": no evidence term's interval excludes 1, so these data do not show what "
            "goes with winning."
        ]
    else:
        sentences = [
            f"{scope} ({level} intervals; associations, not proof of cause): "
            + "; ".join(parts)
            + "."
        ]
    return sentences + _escalation_sentence(model)


def _escalation_sentence(model) -> list[str]:
    """Why escalation is not held equal, and what holding it equal would change."""
    why = (
        "Escalation is not held equal: it follows a dispute going badly, so adjusting for it "
        "would bias the evidence effects"
    )
    other = model.sensitivity
    if other is None or other.terms is None:
        return [why + "."]
    main = model.terms.set_index("term")
    with_it = other.terms.set_index("term")
    moved = [
        f"{_ACTIONABLE[term]} {fmt.odds_ratio(with_it.loc[term, 'odds_ratio'])} (against "
        f"{fmt.odds_ratio(main.loc[term, 'odds_ratio'])})"
        for term in _ACTIONABLE
        if term in main.index and term in with_it.index
    ]
    if not moved:
        return [why + "."]
    return [why + "; adjusted for it as well (a sensitivity check), the odds ratios would be: "
            + ", ".join(moved) + "."]  # fmt: skip


def _supplier_sentence(ctx: ReportContext) -> str:
    frame = figures.observed_expected(ctx)
    named = frame[frame["named"]]
    p = ctx.params
    head = (
        f"Of {fmt.count(len(frame))} suppliers with decided claims in the {fmt.TRAILING}, "
        f"{fmt.count(len(named))} had at least {p.min_n_named} and are compared with what their "
        "case mix predicts"
    )
    # in the table's order (by the probability of a real excess), not ranked by O/E
    high = ranked(named[named["flag"] == "high"])
    if named.empty:
        return head + "; none had enough cases to be named."
    if high.empty:
        return (
            head + f"; none had more supplier-sided outcomes than its mix predicts beyond the "
            f"{fmt.FLAG_LIMITS}. {_what_could_be_seen(named)}"
        )
    listed = "; ".join(
        f"{fmt.name_or_id(r.supplier_name, r.supplier_id, 60)} "
        f"(observed {fmt.count(r.supplier_sided)}, expected {r.expected:.1f}, O/E {r.oe_ratio:.2f})"
        for r in high.itertuples()
    )
    return head + f"; beyond the {fmt.FLAG_LIMITS}, more than expected: {listed}."


def _what_could_be_seen(named) -> str:
    """What a named supplier of typical size could have shown: the smallest O/E that the median
    named supplier's expected count could flag (none found means little beside it)."""
    usable = named[named["expected"] > 0].sort_values(["expected", "supplier_id"])
    if usable.empty:
        return "No named supplier had an expected count to be compared with."
    typical = usable.iloc[(len(usable) - 1) // 2]
    size = (
        f"With {typical['expected']:.1f} expected supplier-sided outcomes (the median named "
        "supplier's)"
    )
    if fmt.missing(typical["detectable_oe"]):
        return size + ", no count of its cases could have been flagged."
    return (
        size + f", a supplier needs O/E of at least {typical['detectable_oe']:.2f} to be flagged: "
        "smaller excesses are not ruled out."
    )


@user_errors_one_line
def findings(ctx: ReportContext) -> Findings:
    """The report's answer, in sentences written from its figures (the first section)."""
    now = figures.overall(ctx)
    if not now["cases_opened"] and not now["cases_closed"]:
        sentences = [
            f"No case was opened or closed in {ctx.period.title}"
            + (f" in {label('category', ctx.category)}" if ctx.category else "")
            + ": this report has no data to show for its period."
        ]
        return Findings(sentences, record={"no_data": True, "sentences": sentences})
    sentences = month.lead(ctx) + [_rate_sentence(ctx)]
    sentences += [
        s
        for s in (
            _lost_sentence(ctx),
            _money_sentence(ctx),
            _change_sentence(ctx),
            _detectable_sentence(ctx),
        )
        if s
    ]
    sentences += [s for s in (_trend_sentence(ctx),) if s]
    sentences += _effect_sentences(ctx)
    sentences.append(_supplier_sentence(ctx))
    return Findings(
        sentences,
        record={
            "no_data": False,
            "sentences": sentences,
            "supplier_sided": int(now["supplier_sided"]),
            "decided": int(now["decided"]),
            "rate": None
            if fmt.missing(now["supplier_sided_rate"])
            else float(now["supplier_sided_rate"]),
        },
    )
