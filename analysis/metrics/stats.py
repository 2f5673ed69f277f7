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
