"""Intervals, tests and survival curves, all delegated to statsmodels.

Kept in one module so that every figure in the JSON, the notebooks and the reports uses the
same methods: Wilson score intervals for proportions, the pooled two-proportion z-test for
changes, and the Kaplan-Meier estimator (Greenwood variance) for time to resolution.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.stats import chi2, norm
from statsmodels.duration.survfunc import SurvfuncRight
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    proportions_ztest,
)

from analysis.errors import BadParameter

#: Tolerance when comparing a Kaplan-Meier estimate with 0.5: products of fractions such as
#: 3/4 * 2/3 come out of floating point a hair above or below 0.5.
_SURVIVAL_TOLERANCE = 1e-9


def _check_confidence(confidence: float) -> None:
    if not 0 < confidence < 1:
        raise BadParameter(f"confidence must be between 0 and 1 (exclusive), got {confidence}")


def wilson(k: int, n: int, confidence: float = 0.95) -> tuple[float | None, float | None]:
    """Wilson score interval for ``k`` successes out of ``n``; ``(None, None)`` when n == 0."""
    _check_confidence(confidence)
    if n == 0:
        return None, None
    if not 0 <= k <= n:
        raise ValueError(f"wilson: need 0 <= k <= n, got k={k}, n={n}")
    low, high = proportion_confint(k, n, alpha=1 - confidence, method="wilson")
    low, high = _around(np.array([low]), np.array([high]), np.array([k / n]))
    return float(low[0]), float(high[0])


def _around(low: np.ndarray, high: np.ndarray, rate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The interval made to hold its own rate, within [0, 1].

    In exact arithmetic the Wilson interval always contains k/n; in floating point its upper end
    for k = n comes back as 0.9999999999999999 for 613 of the sizes 1-2,000 (and its lower end
    for k = 0 a hair above 0), which a chart then draws as a negative error bar.
    """
    return np.clip(np.minimum(low, rate), 0.0, 1.0), np.clip(np.maximum(high, rate), 0.0, 1.0)


def wilson_many(
    k: np.ndarray | pd.Series, n: np.ndarray | pd.Series, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised :func:`wilson` for columns of counts; NaN where n == 0."""
    _check_confidence(confidence)
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    low = np.full(k.shape, np.nan)
    high = np.full(k.shape, np.nan)
    ok = n > 0
    if ok.any():
        low[ok], high[ok] = proportion_confint(k[ok], n[ok], alpha=1 - confidence, method="wilson")
        low[ok], high[ok] = _around(low[ok], high[ok], k[ok] / n[ok])
    return low, high


def two_proportion_test(k1: int, n1: int, k2: int, n2: int) -> dict:
    """Pooled two-proportion z-test of k1/n1 against k2/n2 (statsmodels ``proportions_ztest``).

    Returns ``diff`` (k1/n1 - k2/n2), ``z`` and the two-sided ``p_value``; all None when
    either sample is empty. When both proportions are 0 (or both 1) there is no variance and
    no difference: z = 0, p = 1.
    """
    if n1 == 0 or n2 == 0:
        return {"diff": None, "z": None, "p_value": None}
    diff = k1 / n1 - k2 / n2
    if k1 + k2 in (0, n1 + n2):
        return {"diff": diff, "z": 0.0, "p_value": 1.0}
    z, p_value = proportions_ztest(np.array([k1, k2]), np.array([n1, n2]))
    return {"diff": diff, "z": float(z), "p_value": float(p_value)}


def kaplan_meier(durations, events, confidence: float = 0.95, min_at_risk: int = 0) -> dict:
    """Kaplan-Meier estimate of the survival function ("still open after t days").

    ``durations``: days from opening to closure (event) or to the censoring date;
    ``events``: True where the case closed, False where it is censored (still open).
    ``min_at_risk``: the curve stops before the first day with fewer cases at risk than this
    (the estimate beyond rests on a handful of cases: one closure there moves it by a lot).

    Returns a dict:

    - ``curve``: DataFrame [days, survival, ci_low, ci_high, at_risk], one row per day on which a
      case closed (plus a first row at day 0 with survival 1 when nothing closed on day 0); the
      survival holds from that day until the next row. Pointwise intervals use statsmodels'
      Greenwood standard error on the log(-log) scale.
    - ``median``: the smallest day t of the curve with S(t) <= 0.5 (None when the curve never
      gets there: more than half the cases still open where the curve stops).
    - ``median_ci_low`` / ``median_ci_high``: the first days at which the interval's lower and
      upper bands reach 0.5 (the band inverted, as R's survfit does): on whole days the interval
      always holds the median, and is never empty; ``median_ci_high`` is None when the upper
      band has not reached 0.5 where the curve stops.
    - ``n`` (cases), ``events`` (closures), ``censored``, ``stopped_at`` (the first day left out
      for having fewer than ``min_at_risk`` cases at risk, or None).
    """
    _check_confidence(confidence)
    durations = np.asarray(durations, dtype=float)
    events = np.asarray(events, dtype=bool)
    n = int(durations.size)
    n_events = int(events.sum())
    # Before the first closure every case is open: S = 1 (exactly, so its interval is [1, 1]).
    start_row = pd.DataFrame(
        {"days": [0.0], "survival": [1.0], "ci_low": [1.0], "ci_high": [1.0], "at_risk": [n]}
    )
    result = {
        "curve": start_row.iloc[:0] if n == 0 else start_row,
        "median": None,
        "median_ci_low": None,
        "median_ci_high": None,
        "n": n,
        "events": n_events,
        "censored": n - n_events,
        "stopped_at": None,
    }
    if n == 0 or n_events == 0:
        return result

    fit = SurvfuncRight(durations, events.astype(float))
    times = fit.surv_times.astype(float)
    surv = fit.surv_prob.astype(float)
    se = fit.surv_prob_se.astype(float)
    at_risk = fit.n_risk.astype(int)

    z = float(norm.ppf(1 - (1 - confidence) / 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        # log(-log S) transform: S^exp(+-z*se/(S*|log S|)) keeps the band inside [0, 1].
        sigma = se / (surv * np.abs(np.log(surv)))
        ci_low = np.power(surv, np.exp(z * sigma))
        ci_high = np.power(surv, np.exp(-z * sigma))
    ci_low = np.where(surv <= 0, 0.0, np.nan_to_num(ci_low, nan=0.0))
    ci_high = np.where(surv <= 0, 0.0, np.nan_to_num(ci_high, nan=1.0))
    curve = pd.DataFrame(
        {"days": times, "survival": surv, "ci_low": ci_low, "ci_high": ci_high, "at_risk": at_risk}
    )
    if min_at_risk:
        short = curve["at_risk"] < min_at_risk
        if short.any():
            result["stopped_at"] = float(curve.loc[short.idxmax(), "days"])
            curve = curve[~short.cumsum().astype(bool)]
    if times[0] > 0:
        curve = pd.concat([start_row, curve], ignore_index=True)
    result["curve"] = curve.reset_index(drop=True)

    def first_day(column: str) -> float | None:
        reached = np.flatnonzero(curve[column].to_numpy() <= 0.5 + _SURVIVAL_TOLERANCE)
        return float(curve["days"].to_numpy()[reached[0]]) if reached.size else None

    result["median"] = first_day("survival")
    result["median_ci_low"] = first_day("ci_low")
    result["median_ci_high"] = first_day("ci_high")
    return result


def garwood(count: int, confidence: float = 0.95) -> tuple[float, float | None]:
    """The exact (Garwood) interval of a Poisson mean from an observed ``count``.

    lower = chi2.ppf(a/2, 2k)/2 (0 when k = 0), upper = chi2.ppf(1 - a/2, 2k + 2)/2.
    """
    low, high = garwood_many(np.array([count]), confidence)
    return float(low[0]), float(high[0])


def garwood_many(counts, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """:func:`garwood` for an array of counts at once (one vectorised call, for the thousands
    of suppliers of a year)."""
    _check_confidence(confidence)
    alpha = 1 - confidence
    counts = np.asarray(counts, dtype=float)
    # once per distinct count, then spread back: a million suppliers' counts take a few hundred
    # values (845,000 suppliers' O over 12 months of the 10M bench store: 115), and chi2.ppf
    # over every count took 1.0 s of the comparison's two intervals there (now 0.1 s). The same
    # values to the last bit but one: scipy's own result for a count moves by an ulp with the
    # array around it, as it did before
    distinct, where = np.unique(counts, return_inverse=True)
    with np.errstate(invalid="ignore"):
        low = np.where(distinct == 0, 0.0, chi2.ppf(alpha / 2, 2 * distinct) / 2)
    high = chi2.ppf(1 - alpha / 2, 2 * distinct + 2) / 2
    return low[where].reshape(counts.shape), high[where].reshape(counts.shape)


def difference_interval(
    k1: int, n1: int, k2: int, n2: int, confidence: float = 0.95
) -> tuple[float | None, float | None]:
    """Newcombe's interval for k1/n1 - k2/n2 (statsmodels ``confint_proportions_2indep``)."""
    _check_confidence(confidence)
    if n1 == 0 or n2 == 0:
        return None, None
    low, high = confint_proportions_2indep(
        k1, n1, k2, n2, method="newcomb", compare="diff", alpha=1 - confidence
    )
    return float(low), float(high)


def bootstrap_ratio_difference(
    claimed_1, refunded_1, claimed_2, refunded_2, confidence: float = 0.95,
    resamples: int = 2000, seed: int = 0,
) -> tuple[float | None, float | None]:  # fmt: skip
    """A percentile bootstrap interval for sum(refunded_1)/sum(claimed_1) - the same of 2.

    Cases are resampled within each period (``resamples`` times, a seeded generator, so the
    interval is the same on every run).
    """
    _check_confidence(confidence)
    c1, r1 = np.asarray(claimed_1, float), np.asarray(refunded_1, float)
    c2, r2 = np.asarray(claimed_2, float), np.asarray(refunded_2, float)
    if len(c1) == 0 or len(c2) == 0:
        return None, None
    rng = np.random.default_rng(seed)
    diffs = np.empty(resamples)
    for b in range(resamples):
        i1 = rng.integers(0, len(c1), len(c1))
        i2 = rng.integers(0, len(c2), len(c2))
        s1, s2 = c1[i1].sum(), c2[i2].sum()
        diffs[b] = (r1[i1].sum() / s1 if s1 else np.nan) - (r2[i2].sum() / s2 if s2 else np.nan)
    diffs = diffs[np.isfinite(diffs)]
    if not diffs.size:
        return None, None
    alpha = 1 - confidence
    low, high = np.quantile(diffs, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def delta_ratio_many(
    n, sum_c, sum_r, sum_cc, sum_rr, sum_rc, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """The delta-method interval of R = sum(r) / sum(c) over n cases, one per row, from the sums
    of the cases' values, squares and products: variance n / (n - 1) sum((r - R c)^2) / sum(c)^2
    with sum((r - R c)^2) = sum(r^2) - 2 R sum(r c) + R^2 sum(c^2). Clipped to [0, 1] (a share of
    money); NaN for fewer than 2 cases or nothing claimed. The same variance as
    :func:`delta_ratio_difference`."""
    _check_confidence(confidence)
    n, c, r = (np.asarray(x, dtype=float) for x in (n, sum_c, sum_r))
    cc, rr, rc = (np.asarray(x, dtype=float) for x in (sum_cc, sum_rr, sum_rc))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = r / c
        residual = np.clip(rr - 2 * ratio * rc + ratio**2 * cc, 0, None)
        variance = n / (n - 1) * residual / c**2
        half = float(norm.ppf(1 - (1 - confidence) / 2)) * np.sqrt(variance)
    ok = (n >= 2) & (c > 0)
    low = np.where(ok, np.clip(ratio - half, 0, 1), np.nan)
    high = np.where(ok, np.clip(ratio + half, 0, 1), np.nan)
    return low, high


def delta_ratio_difference(
    claimed_1, refunded_1, claimed_2, refunded_2, confidence: float = 0.95
) -> tuple[float | None, float | None]:
    """The large-sample (delta-method, linearised) interval for sum(refunded_1)/sum(claimed_1)
    - the same of 2: each ratio R = sum(r)/sum(c) has variance n/(n-1) sum((r - R c)^2) /
    sum(c)^2, the two periods are independent. The percentile bootstrap tends to this interval
    as the cases grow; past many thousands of cases the two agree to the Monte Carlo noise of the
    bootstrap, which would cost seconds per report (tests/test_metrics_stats.py compares them)."""
    _check_confidence(confidence)
    parts = []
    for claimed, refunded in ((claimed_1, refunded_1), (claimed_2, refunded_2)):
        c, r = np.asarray(claimed, float), np.asarray(refunded, float)
        total = c.sum()
        if len(c) < 2 or not total:
            return None, None
        ratio = r.sum() / total
        variance = len(c) / (len(c) - 1) * np.square(r - ratio * c).sum() / total**2
        parts.append((ratio, variance))
    (ratio_1, var_1), (ratio_2, var_2) = parts
    half = float(norm.ppf(1 - (1 - confidence) / 2)) * math.sqrt(var_1 + var_2)
    return float(ratio_1 - ratio_2 - half), float(ratio_1 - ratio_2 + half)


def ratio_difference_method(n_1: int, n_2: int, bootstrap_max_cases: int = 20_000) -> str:
    """Which interval :func:`ratio_difference_interval` gives for periods of ``n_1`` and ``n_2``
    cases: ``"bootstrap"`` or ``"delta method"``."""
    return "delta method" if n_1 + n_2 > bootstrap_max_cases else "bootstrap"


def ratio_difference_interval(
    claimed_1, refunded_1, claimed_2, refunded_2, confidence: float = 0.95,
    resamples: int = 2000, seed: int = 0, bootstrap_max_cases: int = 20_000,
) -> tuple[float | None, float | None]:  # fmt: skip
    """The interval of a difference of two pooled ratios: the percentile bootstrap
    (:func:`bootstrap_ratio_difference`) up to ``bootstrap_max_cases`` cases in the two periods
    together, the delta method (:func:`delta_ratio_difference`) beyond."""
    if (
        ratio_difference_method(len(claimed_1), len(claimed_2), bootstrap_max_cases)
        == "delta method"
    ):
        return delta_ratio_difference(claimed_1, refunded_1, claimed_2, refunded_2, confidence)
    return bootstrap_ratio_difference(
        claimed_1, refunded_1, claimed_2, refunded_2, confidence, resamples, seed
    )


def adjust_p_values(p_values) -> list[float | None]:
    """Benjamini-Hochberg adjusted p-values (statsmodels ``multipletests``, fdr_bh); None stays."""
    values = list(p_values)
    present = [i for i, p in enumerate(values) if p is not None and math.isfinite(p)]
    out: list[float | None] = [None] * len(values)
    if present:
        _, adjusted, _, _ = multipletests([values[i] for i in present], method="fdr_bh")
        for i, p in zip(present, adjusted, strict=True):
            out[i] = float(p)
    return out


def homogeneity_test(successes, totals) -> dict:
    """Pearson's chi-square test that several groups share one rate (scipy ``chi2_contingency``
    on the groups x {success, failure} table, no continuity correction).

    Returns ``{"chi2", "dof", "p_value", "groups"}``; the p-value is None with fewer than two
    groups or when every case is one way (no variation to test).
    """
    from scipy.stats import chi2_contingency

    k = np.asarray(successes, dtype=float)
    n = np.asarray(totals, dtype=float)
    keep = n > 0
    k, n = k[keep], n[keep]
    table = np.column_stack([k, n - k])
    if len(k) < 2 or (table.sum(axis=0) == 0).any():
        return {"chi2": None, "dof": max(len(k) - 1, 0), "p_value": None, "groups": int(len(k))}
    statistic, p_value, dof, _ = chi2_contingency(table, correction=False)
    return {
        "chi2": float(statistic),
        "dof": int(dof),
        "p_value": float(p_value),
        "groups": int(len(k)),
    }


# -- the exact distribution of a supplier's count: Poisson-binomial ----------------------------


def poisson_binomial_pmf(p) -> np.ndarray:
    """The distribution of the number of successes among independent Bernoulli trials with
    success probabilities ``p``: ``pmf[x] = P(X = x)``, x = 0..len(p).

    The textbook recursion, one trial at a time: after trial j, P(x) = P(x) (1 - p_j) +
    P(x - 1) p_j. Every step is a convex combination of non-negative numbers, so nothing
    cancels and the result is exact to rounding (tests/test_metrics_stats.py checks it against
    enumerating every outcome).
    """
    p = np.asarray(p, dtype=float).ravel()
    if ((p < 0) | (p > 1) | ~np.isfinite(p)).any():
        raise ValueError("poisson_binomial_pmf: every probability must be in [0, 1]")
    pmf = np.zeros(p.size + 1)
    pmf[0] = 1.0
    for j, pj in enumerate(p):
        pmf[1 : j + 2] = pmf[1 : j + 2] * (1 - pj) + pmf[: j + 1] * pj
        pmf[0] *= 1 - pj
    return pmf


def _pmf_rows(probabilities: np.ndarray) -> np.ndarray:
    """The Poisson-binomial pmf of every row of ``probabilities`` (rows x trials, a trial of
    probability 0 being no trial at all) at once: the recursion of :func:`poisson_binomial_pmf`
    run over the columns, every row in one array operation."""
    rows, trials = probabilities.shape
    pmf = np.zeros((rows, trials + 1))
    pmf[:, 0] = 1.0
    for j in range(trials):
        pj = probabilities[:, j : j + 1]
        moved = pmf[:, : j + 1] * pj
        pmf[:, : j + 2] *= 1 - pj
        pmf[:, 1 : j + 2] += moved
    return pmf


def poisson_binomial_tests(
    group, trials, p, observed, confidences=(0.95,)
) -> dict[str, np.ndarray]:
    """Exact one-sided tail probabilities of many Poisson-binomial counts, and the central
    range of each distribution at each of ``confidences``.

    The trials come grouped: cell c holds ``trials[c]`` trials of probability ``p[c]`` in group
    ``group[c]`` (groups numbered 0..G-1, every group with at least one cell); ``observed[g]`` is
    group g's count. A supplier's decided cases fall into a handful of strata, each with one
    expected probability, so the cells are few. Groups are taken in bands of like size (up to
    a power of 2 trials), each band's distributions computed together (:func:`_pmf_rows`): the
    work is about the sum of the squared group sizes, with a Python step per trial of the
    largest group of each band, never per group.

    Returns arrays over the groups: ``at_least`` = P(X >= observed), ``at_most`` =
    P(X <= observed), ``trials`` (the group's number of trials), and for each confidence c,
    ``low_c`` / ``high_c``: the smallest x with P(X <= x) > (1 - c)/2 and the largest x with
    P(X >= x) > (1 - c)/2 (the counts a two-sided exact test at level 1 - c does not reject:
    ``observed`` above ``high_c`` exactly when ``at_least`` <= (1 - c)/2).
    """
    group = np.asarray(group, dtype=np.int64)
    trials = np.asarray(trials, dtype=np.int64)
    p = np.asarray(p, dtype=float)
    observed = np.asarray(observed, dtype=np.int64)
    groups = observed.size
    for c in confidences:
        _check_confidence(c)
    if ((p < 0) | (p > 1) | ~np.isfinite(p)).any():
        raise ValueError("poisson_binomial_tests: every probability must be in [0, 1]")
    size = np.bincount(group, weights=trials, minlength=groups).astype(np.int64)
    out = {"at_least": np.full(groups, np.nan), "at_most": np.full(groups, np.nan)}
    out["trials"] = size
    for c in confidences:
        out[f"low_{c:g}"] = np.zeros(groups, dtype=np.int64)
        out[f"high_{c:g}"] = np.zeros(groups, dtype=np.int64)
    band = np.where(size > 1, np.ceil(np.log2(np.maximum(size, 1))), 0).astype(np.int64)
    # the groups in order of band, then number; each band's groups take the rows 0.. of its
    # matrix, and each group's cases (its cells' trials repeated) the columns 0..size-1: cells
    # sorted the same way make every band's cases one contiguous run
    by_band = np.lexsort((np.arange(groups), band))
    row_of = np.empty(groups, dtype=np.int64)
    band_sorted = band[by_band]
    band_start = np.flatnonzero(np.r_[True, band_sorted[1:] != band_sorted[:-1]])
    row_of[by_band] = np.arange(groups) - np.repeat(band_start, np.diff(np.r_[band_start, groups]))
    rank = np.empty(groups, dtype=np.int64)
    rank[by_band] = np.arange(groups)
    order = np.argsort(rank[group], kind="stable")
    cell_group, cell_trials = group[order], trials[order]
    case_group = np.repeat(cell_group, cell_trials)
    case_p = np.repeat(p[order], cell_trials)
    first = np.zeros(groups, dtype=np.int64)
    first[by_band] = np.r_[0, np.cumsum(size[by_band])[:-1]]
    case_pos = np.arange(case_group.size) - first[case_group]
    case_edges = np.r_[0, np.cumsum(size[by_band])][np.r_[band_start, groups]]
    for i, start in enumerate(band_start):
        stop = band_start[i + 1] if i + 1 < band_start.size else groups
        members = by_band[start:stop]
        cases = slice(case_edges[i], case_edges[i + 1])
        width = int(size[members].max())
        probabilities = np.zeros((members.size, width))
        probabilities[row_of[case_group[cases]], case_pos[cases]] = case_p[cases]
        pmf = _pmf_rows(probabilities)
        cdf = np.minimum(np.cumsum(pmf, axis=1), 1.0)
        # P(X >= x) summed from the top, so that a small upper tail is not 1 - (almost 1)
        sf = np.minimum(np.cumsum(pmf[:, ::-1], axis=1)[:, ::-1], 1.0)
        rows = np.arange(members.size)
        o = observed[members]
        out["at_most"][members] = cdf[rows, o]
        out["at_least"][members] = sf[rows, o]
        for c in confidences:
            half = (1 - c) / 2
            out[f"low_{c:g}"][members] = (cdf <= half).sum(axis=1)
            out[f"high_{c:g}"][members] = (sf > half).sum(axis=1) - 1
    return out


# -- shrinkage: a random intercept per supplier on the log-odds --------------------------------

#: Gauss-Hermite nodes per supplier of the adaptive quadrature (each placed around the
#: supplier's own posterior mode, so few are needed: 7 agree with direct numerical integration
#: to 1e-7 in the tests).
QUADRATURE_NODES = 7
#: The range searched for the spread tau of the suppliers' log-odds (a tau at the lower end
#: means the suppliers differ by no more than chance).
TAU_BOUNDS = (0.01, 5.0)
#: each round of the fit of tau looks this far (on log tau) from where its nodes were placed,
#: and the fit has settled when a round moves it less than _TAU_SETTLED
_TAU_STEP = 0.5
_TAU_SETTLED = 0.02
#: ... or when a round raises the marginal log-likelihood (computed with the nodes placed for
#: its own tau) by less than this: a likelihood ratio of 1.001, nothing the data can tell. Near
#: tau = 0 the likelihood is that flat, and the rounds crept and cycled instead (a 1M store:
#: 0.0100, 0.0105, ... 0.0131, 0.0100 again, each step worth 0.001; 40 rounds, 14 s, and the
#: answer wherever the cap cut the cycle; a 10M store: 137 s of a report's 240)
_TAU_GAIN = 1e-3
#: tau is first fitted on the groups of at least _LARGE_GROUP cases, when there are enough
_LARGE_GROUP = 30
_LARGE_GROUPS_ENOUGH = 200


def _log_expit(x: np.ndarray) -> np.ndarray:
    return -np.logaddexp(0.0, -x)


def _expit(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _sum_by(group: np.ndarray, values: np.ndarray, groups: int) -> np.ndarray:
    return np.bincount(group, weights=values, minlength=groups)


def _posterior_mode(group, trials, successes, offset, groups, tau, start) -> np.ndarray:
    """Each group's mode of log-likelihood(b) - b^2 / (2 tau^2) by Newton's method, all groups
    at once (the function is strictly concave; steps are capped at 1 on the log-odds). The mode
    only centres the quadrature: to 1e-6 is far more than it needs."""
    b = start.copy()
    observed = _sum_by(group, successes, groups)
    for _ in range(30):
        fitted = _expit(offset + b[group])
        gradient = observed - _sum_by(group, trials * fitted, groups) - b / tau**2
        curvature = _sum_by(group, trials * fitted * (1 - fitted), groups) + 1 / tau**2
        step = np.clip(gradient / curvature, -1.0, 1.0)
        b += step
        if np.abs(step).max() < 1e-6:
            break
    return b


def _nodes(group, trials, successes, offset, groups, tau, start):
    """The quadrature nodes b (groups x nodes), the log of each node's weight times the
    group's likelihood there (without the prior), and the expected count at each node."""
    x, w = np.polynomial.hermite.hermgauss(QUADRATURE_NODES)
    mode = _posterior_mode(group, trials, successes, offset, groups, tau, start)
    fitted = _expit(offset + mode[group])
    scale = 1 / np.sqrt(_sum_by(group, trials * fitted * (1 - fitted), groups) + 1 / tau**2)
    b = mode[:, None] + np.sqrt(2) * scale[:, None] * x[None, :]
    # log L(b) = sum k log expit(eta) + (n - k) log expit(-eta), and log expit(-eta) =
    # log expit(eta) - eta: so log L(b) = sum n log expit(eta) - sum (n - k)(offset + b), whose
    # second part is two sums per group: one transcendental per cell and node
    failures = trials - successes
    fixed = _sum_by(group, failures * offset, groups)
    failed = _sum_by(group, failures, groups)
    loglik = np.empty_like(b)
    counts = np.empty_like(b)
    for q in range(x.size):
        log_fitted = _log_expit(offset + b[group, q])
        loglik[:, q] = _sum_by(group, trials * log_fitted, groups) - fixed - failed * b[:, q]
        counts[:, q] = _sum_by(group, trials * np.exp(log_fitted), groups)
    # AGHQ: the integral of f(b) = sqrt(2) s sum_q w_q exp(x_q^2) f(mode + sqrt(2) s x_q)
    log_weight = np.log(w)[None, :] + x[None, :] ** 2 + np.log(np.sqrt(2) * scale)[:, None]
    return mode, b, log_weight + loglik, counts


def _fit_tau(group, trials, successes, offset, groups, tau, mode):
    """tau by maximum marginal likelihood: (tau, mode, nodes, log weights x likelihood at the
    nodes, expected counts at the nodes).

    Nodes placed for one tau integrate well only near it: a tau far smaller squeezes the prior
    between them, and a search over the whole range then finds a false maximum there. So each
    round searches log tau within :data:`_TAU_STEP` of the tau its nodes were placed for, and the
    nodes are placed again at the answer, until it moves by less than :data:`_TAU_SETTLED`.

    Each round's likelihood at its own tau (its nodes placed for it, so exact to the quadrature)
    is the judge: a round that is worse than the best so far (the search from the best's nodes
    found a false maximum) is not taken; the next tries halfway back toward the best, until
    that step is under :data:`_TAU_SETTLED` and the best is the answer. A round that gains less
    than :data:`_TAU_GAIN` over the best has settled on a flat likelihood. Without this judge
    the rounds cycled (see :data:`_TAU_GAIN`)."""
    from scipy.optimize import minimize_scalar

    floor, ceiling = np.log(TAU_BOUNDS)
    best = None  # (minus log-likelihood at its own tau, (tau, mode, nodes, base, counts))
    for _ in range(40):
        start = best[1][1] if best else mode
        mode, b, base, counts = _nodes(group, trials, successes, offset, groups, tau, start)
        squared = b**2

        def minus_loglik(log_tau, base=base, squared=squared):
            t = np.exp(log_tau)
            return -_logsumexp_rows(base - squared / (2 * t**2)).sum() + groups * log_tau

        here = np.log(tau)
        at_here = minus_loglik(here)
        if best is not None and at_here > best[0]:  # worse: back off toward the best
            step = (here - np.log(best[1][0])) / 2
            if abs(step) < _TAU_SETTLED:
                return best[1]
            tau = float(np.exp(here - step))
            continue
        gain = np.inf if best is None else best[0] - at_here
        best = (at_here, (tau, mode, b, base, counts))
        if gain < _TAU_GAIN:
            break
        bounds = (max(floor, here - _TAU_STEP), min(ceiling, here + _TAU_STEP))
        fit = minimize_scalar(minus_loglik, bounds=bounds, method="bounded",
                              options={"xatol": 1e-4})  # fmt: skip
        if abs(fit.x - here) < _TAU_SETTLED:
            return float(np.exp(fit.x)), mode, b, base, counts
        tau = float(np.exp(fit.x))
    return best[1]


def _log_prior(b: np.ndarray, tau: float) -> np.ndarray:
    return -0.5 * np.log(2 * np.pi) - np.log(tau) - b**2 / (2 * tau**2)


def _logsumexp_rows(a: np.ndarray) -> np.ndarray:
    top = a.max(axis=1, keepdims=True)
    return (top + np.log(np.exp(a - top).sum(axis=1, keepdims=True)))[:, 0]


def random_intercept_logit(
    group, trials, successes, offset, groups: int, threshold: float = 1.2,
    confidence: float = 0.95,
) -> dict:  # fmt: skip
    """Shrunk observed/expected ratios from a random-intercept logistic model.

    Each case i of group (supplier) g is supplier-sided with probability
    expit(offset_i + b_g), ``offset_i`` the log-odds of its expected probability, and the b_g are
    drawn from Normal(0, tau^2). The cases come in cells (``trials[c]`` cases of one offset in
    group ``group[c]``, ``successes[c]`` of them successes). tau is fitted by maximum marginal
    likelihood (empirical Bayes): each group's integral over b by adaptive Gauss-Hermite
    quadrature (:data:`QUADRATURE_NODES` nodes around its posterior mode), the nodes placed
    again at the fitted tau until it settles. Given tau, each group's posterior of b follows;
    its O/E as a function of b is R(b) = sum_i expit(offset_i + b) / sum_i expit(offset_i).

    Returns ``tau`` and arrays over the groups: ``shrunk_oe`` = the posterior mean of R(b) (the
    posterior expected count over the count expected at b = 0); ``shrunk_ci_low`` /
    ``shrunk_ci_high`` = R at the posterior mean of b -/+ z sd (the posterior of b read as
    normal with the quadrature's mean and sd, at ``confidence``); ``prob_excess`` = P(R(b) >
    ``threshold``) under the same normal posterior (0 when even every case supplier-sided would
    not reach it); ``b_mean``, ``b_sd``. Everything is array arithmetic over cells and groups x
    nodes, never a loop over groups.
    """
    _check_confidence(confidence)
    group = np.asarray(group, dtype=np.int64)
    trials = np.asarray(trials, dtype=float)
    successes = np.asarray(successes, dtype=float)
    offset = np.asarray(offset, dtype=float)
    # the cells in one order whatever order they came in: the fit sums over them and stops
    # within a tolerance, so the same cells in another order (a store's parallel scan, a lake's
    # Parquet files) gave figures differing from the 9th digit at 10M cases
    order = np.lexsort((successes, trials, offset, group))
    group, trials, successes, offset = group[order], trials[order], successes[order], offset[order]
    cases = _sum_by(group, trials, groups)
    # a first tau from the larger groups alone (few cells, much of the information), so that
    # the pass over every cell starts close to its answer and settles at once
    tau = 0.5
    large = cases >= _LARGE_GROUP
    if large.sum() >= _LARGE_GROUPS_ENOUGH:
        keep = large[group]
        renumber = np.cumsum(large) - 1
        tau = _fit_tau(renumber[group[keep]], trials[keep], successes[keep], offset[keep],
                       int(large.sum()), tau, np.zeros(int(large.sum())))[0]  # fmt: skip
    tau, mode, b, base, expected = _fit_tau(
        group, trials, successes, offset, groups, tau, np.zeros(groups)
    )
    log_post = base + _log_prior(b, tau)
    weight = np.exp(log_post - log_post.max(axis=1, keepdims=True))
    weight /= weight.sum(axis=1, keepdims=True)
    b_mean = (weight * b).sum(axis=1)
    b_sd = np.sqrt(np.maximum((weight * (b - b_mean[:, None]) ** 2).sum(axis=1), 0.0))
    at_zero = _sum_by(group, trials * _expit(offset), groups)
    shrunk = (weight * expected).sum(axis=1) / at_zero
    z = float(norm.ppf(1 - (1 - confidence) / 2))

    def ratio(at: np.ndarray) -> np.ndarray:
        return _sum_by(group, trials * _expit(offset + at[group]), groups) / at_zero

    # where R(b) = threshold: R rises with b from 0 to (cases / expected). Started from the
    # quadrature nodes (R is known there: the root lies between the last node below the
    # threshold and the first above), then Newton's method kept inside that bracket
    reachable = cases > threshold * at_zero
    at_nodes = expected / at_zero[:, None]
    below = (at_nodes < threshold).sum(axis=1)
    rows = np.arange(groups)
    lo = np.where(below > 0, b[rows, np.maximum(below - 1, 0)], 0.0)
    hi = np.where(below < b.shape[1], b[rows, np.minimum(below, b.shape[1] - 1)], 50.0)
    lo, hi = np.maximum(lo, 0.0), np.maximum(hi, 0.0)
    # the start: R interpolated linearly between the bracket's nodes (R(0) = 1 where no node is
    # below); from the last node where every node is below
    r_lo = np.where(below > 0, at_nodes[rows, np.maximum(below - 1, 0)], 1.0)
    r_hi = at_nodes[rows, np.minimum(below, b.shape[1] - 1)]
    with np.errstate(divide="ignore", invalid="ignore"):
        between = lo + (threshold - r_lo) / (r_hi - r_lo) * (hi - lo)
    inner = (below < b.shape[1]) & np.isfinite(between) & (between > lo) & (between < hi)
    root = np.where(inner, between, np.where(below < b.shape[1], hi, lo))
    for _ in range(100):
        fitted = _expit(offset + root[group])
        value = _sum_by(group, trials * fitted, groups) - threshold * at_zero
        slope = _sum_by(group, trials * fitted * (1 - fitted), groups)
        lo = np.where(value < 0, root, lo)
        hi = np.where(value >= 0, root, hi)
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = root - value / slope
        inside = np.isfinite(newton) & (newton >= lo) & (newton <= hi)
        new = np.where(inside, newton, (lo + hi) / 2)
        done = np.abs(new - root)[reachable].max(initial=0.0) < 1e-8
        root = new
        if done:
            break
    with np.errstate(divide="ignore", invalid="ignore"):
        prob = np.where(reachable, norm.sf((root - b_mean) / b_sd), 0.0)
    return {
        "tau": tau,
        "shrunk_oe": shrunk,
        "shrunk_ci_low": ratio(b_mean - z * b_sd),
        "shrunk_ci_high": ratio(b_mean + z * b_sd),
        "prob_excess": prob,
        "b_mean": b_mean,
        "b_sd": b_sd,
    }
