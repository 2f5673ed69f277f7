"""Partial pooling: every group's rate pulled toward the whole by as much as its size warrants,
and the smallest change a comparison of two periods could have detected.

**Pooled rates (empirical Bayes, beta-binomial).** The groups' true rates are taken as drawn from
one beta distribution whose mean is the overall rate p0 (all groups' events over all their
cases) and whose concentration m (its strength, in cases) is estimated from the groups by
maximising the beta-binomial marginal likelihood (scipy). A group with k events in n cases then
has the posterior Beta(m p0 + k, m (1 - p0) + n - k): its mean, (m p0 + k) / (m + n), is the
pooled rate, a weighted average of the group's own k / n (weight n) and p0 (weight m), so it
always lies between the two; its equal-tailed quantiles are the interval. A small group is
pulled most; a group much larger than m keeps nearly its own rate. When the groups differ by no
more than chance, the likelihood keeps rising with m; m is then capped at the number of cases
the groups hold together (a prior estimated from N cases is worth no more than N cases): every
group sits near the overall rate, with an interval about as wide as that rate's own. The method is
that of the US CMS hospital comparisons' shrinkage, in its simplest, checkable form: m and p0
are plugged in, not integrated over, so the intervals are slightly narrower than a fully
Bayesian model's.

**Detectable change.** For a two-sided test at 1 - confidence with 80% power, two periods with
n1 and n2 cases can tell a change in a rate from chance only when it exceeds
(z_(1-alpha/2) + z_power) sqrt(p (1 - p) (1/n1 + 1/n2)), p the rate of the two periods together
(the normal approximation of the two-proportion z-test the reports use).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import betaln
from scipy.stats import beta, norm

#: The smallest (a prior weaker than a thousandth of a case leaves every group its own rate).
MIN_PRIOR_CASES = 1e-3
#: The power a detectable change is stated at.
POWER = 0.80


def prior_strength(events, cases) -> float:
    """The concentration m of the beta prior (mean fixed at the overall rate) that maximises the
    beta-binomial marginal likelihood of the groups' (events, cases), at most the groups' cases
    together (N); ``nan`` with no case, and N when every case went one way, or there is one
    group."""
    k = np.asarray(events, dtype=float)
    n = np.asarray(cases, dtype=float)
    keep = n > 0
    k, n = k[keep], n[keep]
    if n.sum() == 0:
        return math.nan
    p0 = k.sum() / n.sum()
    most = float(n.sum())
    if p0 in (0.0, 1.0) or len(n) < 2 or most <= MIN_PRIOR_CASES:
        return most

    def minus_log_likelihood(log_m: float) -> float:
        m = math.exp(log_m)
        a, b = m * p0, m * (1 - p0)
        return -float(np.sum(betaln(k + a, n - k + b) - betaln(a, b)))

    bounds = (math.log(MIN_PRIOR_CASES), math.log(most))
    fit = minimize_scalar(minus_log_likelihood, bounds=bounds, method="bounded",
                          options={"xatol": 1e-6})  # fmt: skip
    # the bounded search stops a hair inside a bound when the optimum lies on it
    best = min((fit.x, *bounds), key=minus_log_likelihood)
    return float(math.exp(best))


def pooled_rates(events, cases, confidence: float = 0.95) -> dict:
    """Each group's pooled rate and its posterior interval (see the module's text).

    ``events`` and ``cases`` are per-group counts (arrays of the same length). Returns
    ``{"rate", "ci_low", "ci_high"}`` arrays (NaN for a group with no case), ``overall_rate``
    (p0) and ``prior_cases`` (m). When p0 is 0 or 1 every pooled rate is p0 and its interval
    is the posterior with half a case (Jeffreys) of the outcome no case had.
    """
    k = np.asarray(events, dtype=float)
    n = np.asarray(cases, dtype=float)
    total = n.sum()
    nan = np.full(k.shape, np.nan)
    if total == 0:
        return {"rate": nan, "ci_low": nan.copy(), "ci_high": nan.copy(),
                "overall_rate": math.nan, "prior_cases": math.nan}  # fmt: skip
    p0 = k.sum() / total
    m = prior_strength(k, n)
    a = max(m * p0, 0.5) if p0 == 0.0 else m * p0
    b = max(m * (1 - p0), 0.5) if p0 == 1.0 else m * (1 - p0)
    post_a, post_b = a + k, b + n - k
    rate = np.where(n > 0, (m * p0 + k) / (m + n), np.nan)
    alpha = 1 - confidence
    low = np.where(n > 0, beta.ppf(alpha / 2, post_a, post_b), np.nan)
    high = np.where(n > 0, beta.ppf(1 - alpha / 2, post_a, post_b), np.nan)
    # an interval always holds its own point (floating point at the edges)
    low, high = np.minimum(low, rate), np.maximum(high, rate)
    return {"rate": rate, "ci_low": low, "ci_high": high, "overall_rate": float(p0),
            "prior_cases": float(m)}  # fmt: skip


def detectable_change(
    events_1: int, cases_1: int, events_2: int, cases_2: int, confidence: float = 0.95
) -> float | None:
    """The smallest change in a rate between two periods (cases_1 and cases_2 cases) that a
    two-sided test at 1 - confidence would detect with :data:`POWER` power, as a fraction;
    None when either period has no case; 1.0 when no change at all could be told from chance.
    p is the two periods' rate together (0.5 when it is 0 or 1, the widest case, since a rate
    without spread says nothing of the variance)."""
    if not cases_1 or not cases_2:
        return None
    p = (events_1 + events_2) / (cases_1 + cases_2)
    if p in (0.0, 1.0):
        p = 0.5
    z = norm.ppf(1 - (1 - confidence) / 2) + norm.ppf(POWER)
    return min(1.0, float(z * math.sqrt(p * (1 - p) * (1 / cases_1 + 1 / cases_2))))


#: The pooled supplier-sided rate's fields on a group's block.
POOLED_FIELDS = ("pooled_rate", "pooled_ci_low", "pooled_ci_high")


def add_pooled(
    frame, confidence: float = 0.95, events: str = "supplier_sided", cases: str = "decided"
):
    """``frame`` (one row per group of one breakdown whose groups do not overlap) with the
    groups' pooled supplier-sided rate and interval (:data:`POOLED_FIELDS`; NaN for a group with
    no decided case), ``attrs['pooling']`` holding the overall rate and the prior's strength."""
    frame = frame.copy()
    pooled = pooled_rates(frame[events].to_numpy(), frame[cases].to_numpy(), confidence)
    for field_name, key in zip(POOLED_FIELDS, ("rate", "ci_low", "ci_high"), strict=True):
        frame[field_name] = pooled[key]
    frame.attrs["pooling"] = {
        "overall_rate": None if math.isnan(pooled["overall_rate"]) else pooled["overall_rate"],
        "prior_cases": None if math.isnan(pooled["prior_cases"]) else pooled["prior_cases"],
    }
    return frame
