"""Intervals, tests and survival curves, all delegated to statsmodels.

Kept in one module so that every figure in the JSON, the notebooks and the reports uses the
same methods: Wilson score intervals for proportions, the pooled two-proportion z-test for
changes, and the Kaplan-Meier estimator (Greenwood variance) for time to resolution.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.stats import norm
from statsmodels.duration.survfunc import SurvfuncRight
from statsmodels.stats.proportion import proportion_confint, proportions_ztest

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


def _finite_or_none(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def kaplan_meier(durations, events, confidence: float = 0.95) -> dict:
    """Kaplan-Meier estimate of the survival function ("still open after t days").

    ``durations``: days from opening to closure (event) or to the censoring date;
    ``events``: True where the case closed, False where it is censored (still open).

    Returns a dict:

    - ``curve``: DataFrame [days, survival, ci_low, ci_high], one row per day on which a case
      closed (plus a first row at day 0 with survival 1 when nothing closed on day 0); the
      survival holds from that day until the next row. Pointwise intervals use statsmodels'
      Greenwood standard error on the log(-log) scale, the same transform as the median's.
    - ``median``: the smallest day t with S(t) <= 0.5 (None when the curve never gets there:
      more than half the cases are still open at the end of follow-up).
    - ``median_ci_low`` / ``median_ci_high``: statsmodels ``quantile_ci`` (inverted tests on the
      log(-log) scale, Brookmeyer-Crowley); ``median_ci_high`` is None when not reached.
    - ``n`` (cases), ``events`` (closures), ``censored``.
    """
    _check_confidence(confidence)
    durations = np.asarray(durations, dtype=float)
    events = np.asarray(events, dtype=bool)
    n = int(durations.size)
    n_events = int(events.sum())
    # Before the first closure every case is open: S = 1 (exactly, so its interval is [1, 1]).
    start_row = pd.DataFrame({"days": [0.0], "survival": [1.0], "ci_low": [1.0], "ci_high": [1.0]})
    result = {
        "curve": start_row.iloc[:0] if n == 0 else start_row,
        "median": None,
        "median_ci_low": None,
        "median_ci_high": None,
        "n": n,
        "events": n_events,
        "censored": n - n_events,
    }
    if n == 0 or n_events == 0:
        return result

    fit = SurvfuncRight(durations, events.astype(float))
    times = fit.surv_times.astype(float)
    surv = fit.surv_prob.astype(float)
    se = fit.surv_prob_se.astype(float)

    z = float(norm.ppf(1 - (1 - confidence) / 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        # log(-log S) transform: S^exp(+-z*se/(S*|log S|)) keeps the band inside [0, 1].
        sigma = se / (surv * np.abs(np.log(surv)))
        ci_low = np.power(surv, np.exp(z * sigma))
        ci_high = np.power(surv, np.exp(-z * sigma))
    ci_low = np.where(surv <= 0, 0.0, ci_low)
    ci_high = np.where(surv <= 0, 0.0, ci_high)
    curve = pd.DataFrame({"days": times, "survival": surv, "ci_low": ci_low, "ci_high": ci_high})
    if times[0] > 0:
        curve = pd.concat([start_row, curve], ignore_index=True)
    result["curve"] = curve

    reached = np.flatnonzero(surv <= 0.5 + _SURVIVAL_TOLERANCE)
    if reached.size:
        result["median"] = float(times[reached[0]])
    with np.errstate(divide="ignore", invalid="ignore"):
        low, high = fit.quantile_ci(0.5, alpha=1 - confidence, method="cloglog")
    result["median_ci_low"] = _finite_or_none(low)
    result["median_ci_high"] = _finite_or_none(high)
    return result
