"""Intervals, tests and survival curves (analysis/stats.py), checked against hand computations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from analysis.errors import BadParameter
from analysis.metrics.stats import (
    adjust_p_values,
    bootstrap_ratio_difference,
    delta_ratio_difference,
    difference_interval,
    garwood,
    garwood_many,
    homogeneity_test,
    kaplan_meier,
    ratio_difference_interval,
    two_proportion_test,
    wilson,
    wilson_many,
)

Z95 = 1.959963984540054  # the 97.5% normal quantile


def test_wilson_by_hand():
    # k=3, n=10, p=0.3, z^2=3.841459:
    #   denominator 1 + z^2/n = 1.384146
    #   centre (p + z^2/(2n)) / 1.384146 = (0.3 + 0.192073) / 1.384146 = 0.355507
    #   half   z * sqrt(p(1-p)/n + z^2/(4n^2)) / 1.384146
    #          = 1.959964 * sqrt(0.021 + 0.009604) / 1.384146 = 0.247718
    #   -> [0.107789, 0.603225]
    low, high = wilson(3, 10)
    assert low == pytest.approx(0.10779, abs=1e-5)
    assert high == pytest.approx(0.60322, abs=1e-5)


def test_wilson_edges():
    assert wilson(0, 0) == (None, None)
    # k = 0: the interval is [0, z^2 / (n + z^2)] = [0, 3.841459 / 8.841459] = [0, 0.434482]
    low, high = wilson(0, 5)
    assert low == pytest.approx(0.0, abs=1e-12)
    assert high == pytest.approx(Z95**2 / (5 + Z95**2))
    # k = n: [n / (n + z^2), 1] = [5 / 8.841459, 1] = [0.565518, 1]
    low, high = wilson(5, 5)
    assert low == pytest.approx(5 / (5 + Z95**2))
    assert high == pytest.approx(1.0)
    # A lower confidence gives a narrower interval around the same centre.
    low90, high90 = wilson(3, 10, confidence=0.90)
    assert 0.10779 < low90 < high90 < 0.60322
    with pytest.raises(BadParameter):
        wilson(3, 10, confidence=1.0)
    with pytest.raises(ValueError):
        wilson(11, 10)


def test_wilson_many_matches_wilson_and_leaves_empty_groups_nan():
    low, high = wilson_many([3, 0, 5], [10, 0, 8])
    assert (low[0], high[0]) == pytest.approx(wilson(3, 10))
    assert math.isnan(low[1]) and math.isnan(high[1])
    # 5 of 8 by hand: centre (0.625 + 0.240091) / 1.480182 = 0.584450, half 0.278707
    assert (low[2], high[2]) == pytest.approx((0.305742, 0.863156), abs=1e-5)


def test_two_proportion_test_by_hand():
    # 30/100 against 20/100: pooled p = 50/200 = 0.25,
    # se = sqrt(0.25 * 0.75 * (1/100 + 1/100)) = 0.0612372, z = 0.10 / 0.0612372 = 1.632993,
    # two-sided p = 2 * (1 - Phi(1.632993)) = 0.102470
    result = two_proportion_test(30, 100, 20, 100)
    assert result["diff"] == pytest.approx(0.10)
    assert result["z"] == pytest.approx(1.632993, abs=1e-6)
    assert result["p_value"] == pytest.approx(0.102470, abs=1e-6)


def test_two_proportion_test_degenerate():
    # Nothing to compare against.
    assert two_proportion_test(1, 2, 0, 0) == {"diff": None, "z": None, "p_value": None}
    # 0/10 and 0/20 (or 10/10 and 20/20): no variance, no difference.
    assert two_proportion_test(0, 10, 0, 20) == {"diff": 0.0, "z": 0.0, "p_value": 1.0}
    assert two_proportion_test(10, 10, 20, 20) == {"diff": 0.0, "z": 0.0, "p_value": 1.0}


def test_kaplan_meier_with_censoring_by_hand():
    # days:   2   3   3   5   8   10
    # closed: yes yes no  yes no  yes
    # t=2:  6 at risk, 1 closes -> S = 5/6 = 0.833333
    # t=3:  5 at risk (the case censored at 3 is still at risk at 3), 1 closes
    #       -> S = 5/6 * 4/5 = 2/3
    # t=5:  3 at risk (5, 8, 10), 1 closes -> S = 2/3 * 2/3 = 4/9 = 0.444444
    # t=10: 1 at risk, 1 closes -> S = 0
    # median: the first t with S(t) <= 0.5 -> 5
    result = kaplan_meier([2, 3, 3, 5, 8, 10], [True, True, False, True, False, True])
    curve = result["curve"]
    assert curve["days"].tolist() == [0, 2, 3, 5, 10]
    assert curve["survival"].tolist() == pytest.approx([1, 5 / 6, 2 / 3, 4 / 9, 0])
    assert (result["n"], result["events"], result["censored"]) == (6, 4, 2)
    assert result["median"] == 5
    # Pointwise log(-log) interval at t=2: Greenwood sum 1/(6*5) = 1/30, se(log S) = 0.182574,
    # theta = log(-log(5/6)) = log(0.182322) = -1.701983, se(theta) = 0.182574/0.182322 = 1.001385,
    # low = exp(-exp(theta + 1.959964 * 1.001385)) = exp(-exp(0.260696)) = 0.273123
    assert curve.loc[1, "ci_low"] == pytest.approx(0.273123, abs=1e-5)
    assert curve.loc[1, "ci_low"] < 5 / 6 < curve.loc[1, "ci_high"] < 1
    # Median interval (inverted tests, log(-log) scale): |g(S) - g(0.5)| / (g'(S) se) is
    # 1.33 at t=2, 0.75 at t=3, 0.25 at t=5 (all <= 1.96), undefined at S=0 (t=10); the lower
    # limit is the first accepted time (2), the upper the time after the last accepted (10).
    assert (result["median_ci_low"], result["median_ci_high"]) == (2, 10)


def test_kaplan_meier_median_exactly_one_half_and_not_reached():
    # Four closures on days 1-4: S = 3/4, 1/2, 1/4, 0. S(2) is exactly 0.5 -> median 2 (the
    # usual "S(t) <= 0.5" rule; floating point gives 0.5 +- 1e-16 here).
    assert kaplan_meier([1, 2, 3, 4], [True] * 4)["median"] == 2
    # One closure on day 1, three cases still open: S stays at 3/4, the median is not reached.
    result = kaplan_meier([1, 2, 3, 4], [True, False, False, False])
    assert result["median"] is None
    assert result["median_ci_high"] is None


def test_kaplan_meier_empty_and_no_events():
    empty = kaplan_meier([], [])
    assert empty["n"] == 0 and empty["median"] is None and empty["curve"].empty
    # All censored: nobody closed, the curve stays at 1.
    open_only = kaplan_meier([3, 7], [False, False])
    assert open_only["curve"]["survival"].tolist() == [1.0]
    assert (open_only["events"], open_only["censored"], open_only["median"]) == (0, 2, None)


def test_kaplan_meier_closure_on_day_zero_has_no_extra_start_row():
    # Closed the day it opened: S(0) = 1/2 already, so no row (0, 1) is prepended.
    result = kaplan_meier(np.array([0, 4]), np.array([True, True]))
    assert result["curve"]["days"].tolist() == [0, 4]
    assert result["curve"]["survival"].tolist() == pytest.approx([0.5, 0.0])
    assert result["median"] == 0


def test_wilson_interval_always_holds_its_own_rate():
    # statsmodels gives 0.9999999999999999 as the upper end of k = n for 613 of the sizes
    # 1-2,000 (and a lower end a hair above 0 for k = 0): a chart then drew a negative error bar
    for n in range(1, 2001):
        low, high = wilson(n, n)
        assert high == 1.0 and low <= 1.0, n
        low, high = wilson(0, n)
        assert low == 0.0 and high >= 0.0, n
    k = np.arange(1, 2001)
    low, high = wilson_many(k, k)
    assert (high == 1.0).all() and (low <= 1.0).all()
    low, high = wilson_many(np.zeros(2000), k)
    assert (low == 0.0).all()


def test_kaplan_meier_stops_where_too_few_are_at_risk():
    # 14 cases: six close on day 2, three on day 5, then 18, 20, 20, and two still open (33+,
    # 59+). At day 2, 14 at risk: S = 8/14. At day 5 only 8 are at risk: with a minimum of 10
    # the curve stops there (one more closure would move it by an eighth).
    durations = [2] * 6 + [5] * 3 + [18, 20, 20, 33, 59]
    events = [True] * 12 + [False] * 2
    full = kaplan_meier(durations, events)
    assert full["curve"]["days"].tolist() == [0, 2, 5, 18, 20]
    assert full["curve"]["survival"].tolist() == pytest.approx([1, 8 / 14, 5 / 14, 4 / 14, 2 / 14])
    assert full["curve"]["at_risk"].tolist() == [14, 14, 8, 5, 4]
    assert full["median"] == 5 and full["stopped_at"] is None
    stopped = kaplan_meier(durations, events, min_at_risk=10)
    assert stopped["curve"]["days"].tolist() == [0, 2]
    assert stopped["stopped_at"] == 5
    # S = 0.571 where it stops: the median is not reached, and said so (None), never guessed
    assert stopped["median"] is None and stopped["median_ci_high"] is None


def test_kaplan_meier_median_interval_on_whole_days_is_never_empty():
    # Most cases close within a day (20 of 30 on day 1, the rest on day 3): S(1) = 1/3, so the
    # median is day 1; its interval runs from the first day the lower band reaches one half
    # (day 1) to the first the upper band does (day 3 at the latest, where S = 0).
    result = kaplan_meier([1] * 20 + [3] * 10, [True] * 30)
    assert result["median"] == 1
    assert result["median_ci_low"] == 1 and result["median_ci_high"] in (1, 3)
    # and on any whole-day data, low <= median <= high whenever they exist
    rng = np.random.default_rng(5)
    for _ in range(300):
        n = int(rng.integers(1, 60))
        days = rng.integers(0, 6, n)
        closed = rng.random(n) < rng.uniform(0.3, 1)
        r = kaplan_meier(days, closed)
        if r["median"] is not None:
            assert r["median_ci_low"] is not None and r["median_ci_low"] <= r["median"]
            assert r["median_ci_high"] is None or r["median"] <= r["median_ci_high"]


def test_garwood_by_hand():
    # chi-square quantiles: chi2(0.025, 6)/2 = 0.6187, chi2(0.975, 8)/2 = 8.7673
    assert garwood(3) == pytest.approx((0.6187, 8.7673), abs=1e-4)
    assert garwood(0) == pytest.approx((0.0, 3.6889), abs=1e-4)  # upper = -ln(0.025)
    assert garwood(0)[1] == pytest.approx(-math.log(0.025))
    # the array form, for thousands of suppliers at once: the same values, count by count
    low, high = garwood_many([3, 0, 3], 0.95)
    assert low == pytest.approx([0.6187, 0.0, 0.6187], abs=1e-4)
    assert high == pytest.approx([8.7673, 3.6889, 8.7673], abs=1e-4)
    low, high = garwood(3, 0.998)
    assert low < 0.6187 and high > 8.7673


def test_garwood_many_keeps_each_count_in_its_place():
    # computed once per distinct count and spread back: unsorted counts with repeats get
    # exactly the interval of their own count, in their own position
    counts = [5, 0, 2, 5, 1, 0, 2, 40]
    low, high = garwood_many(counts, 0.998)
    for i, k in enumerate(counts):
        # (scipy's chi2.ppf of one count moves by an ulp with the array around it)
        assert (low[i], high[i]) == pytest.approx(garwood(k, 0.998), rel=1e-14, abs=0)
    assert low[1] == 0.0 and low[0] == low[3] and high[2] == high[6]
    assert high[7] > high[0] > high[2] > high[4] > high[1]


def test_difference_interval_by_hand():
    # Newcombe (hybrid Wilson score) for 7/10 - 3/10, from the Wilson intervals
    # 7/10: (0.396778, 0.892211); 3/10: (0.107789, 0.603222); d = 0.4:
    # low = d - sqrt((0.7 - 0.396778)^2 + (0.603222 - 0.3)^2) = 0.4 - 0.428821 = -0.028821
    # high = d + sqrt((0.892211 - 0.7)^2 + (0.3 - 0.107789)^2) = 0.4 + 0.271829 = 0.671829
    low, high = difference_interval(7, 10, 3, 10)
    assert (low, high) == pytest.approx((-0.028821, 0.671829), abs=1e-5)
    assert difference_interval(1, 0, 1, 2) == (None, None)


def test_adjust_p_values_benjamini_hochberg_by_hand():
    # p sorted 0.01, 0.02, 0.03, 0.5 (m = 4): p x m / rank = 0.04, 0.04, 0.04, 0.5, then the
    # running minimum from the top; None stays None and does not count as a test.
    adjusted = adjust_p_values([0.03, None, 0.01, 0.5, 0.02])
    assert adjusted[1] is None
    assert [adjusted[i] for i in (0, 2, 3, 4)] == pytest.approx([0.04, 0.04, 0.5, 0.04])
    assert adjust_p_values([]) == []


def test_homogeneity_test_by_hand():
    # 10/20 and 30/40 against one common rate 40/60: expected 13.33 / 6.67 and 26.67 / 13.33;
    # chi2 = sum (o - e)^2 / e = 11.11/13.33 + 11.11/6.67 + 11.11/26.67 + 11.11/13.33 = 3.75
    result = homogeneity_test([10, 30], [20, 40])
    assert result["chi2"] == pytest.approx(3.75)
    assert result["dof"] == 1 and result["groups"] == 2
    assert result["p_value"] == pytest.approx(0.05281, abs=1e-4)
    # nothing to test: one group, or every case one way
    assert homogeneity_test([3], [10])["p_value"] is None
    assert homogeneity_test([0, 0], [5, 8])["p_value"] is None
    assert homogeneity_test([1, 2, 0], [4, 4, 0])["groups"] == 2  # empty groups do not count


def test_bootstrap_ratio_difference_holds_the_observed_difference_and_repeats():
    claimed_1, refunded_1 = [100, 200, 300, 400], [50, 100, 150, 200]  # 0.5
    claimed_2, refunded_2 = [100, 100, 100, 100], [10, 20, 30, 40]  # 0.25
    first = bootstrap_ratio_difference(claimed_1, refunded_1, claimed_2, refunded_2, seed=1)
    again = bootstrap_ratio_difference(claimed_1, refunded_1, claimed_2, refunded_2, seed=1)
    assert first == again  # seeded: the report shows the same interval on every run
    # period 1 refunds exactly half of every claim: its ratio never varies; period 2's runs
    # from 0.1 to 0.4, so the difference lies within 0.1 .. 0.4
    assert 0.1 <= first[0] < 0.25 < first[1] <= 0.4
    assert bootstrap_ratio_difference([], [], [1], [1]) == (None, None)


def test_delta_interval_by_hand_and_beside_the_bootstrap():
    # by hand: period 1 claims (100, 100), refunds (0, 50): R1 = 0.25, residuals (-25, 25),
    # var1 = 2/1 * 1250 / 200^2 = 0.0625; period 2 claims (100, 100), refunds (100, 100): R2 = 1,
    # residuals 0, var2 = 0; difference -0.75 +- 1.96 * 0.25
    low, high = delta_ratio_difference([100, 100], [0, 50], [100, 100], [100, 100])
    assert (low, high) == pytest.approx((-0.75 - Z95 * 0.25, -0.75 + Z95 * 0.25))
    assert delta_ratio_difference([100], [0], [100, 100], [1, 1]) == (None, None)
    # at thousands of cases the bootstrap tends to it: equal to its Monte Carlo noise
    rng = np.random.default_rng(7)
    claimed_1, claimed_2 = rng.lognormal(8, 1, 6000), rng.lognormal(8, 1, 6000)
    refunded_1 = claimed_1 * rng.beta(2, 5, 6000)
    refunded_2 = claimed_2 * rng.beta(2, 4, 6000)
    delta = delta_ratio_difference(claimed_1, refunded_1, claimed_2, refunded_2)
    boot = bootstrap_ratio_difference(claimed_1, refunded_1, claimed_2, refunded_2, seed=3)
    width = delta[1] - delta[0]
    assert boot == pytest.approx(delta, abs=0.05 * width)
    # the choice: the bootstrap up to bootstrap_max_cases cases, the delta method beyond
    args = (claimed_1, refunded_1, claimed_2, refunded_2, 0.95, 2000, 3)
    assert ratio_difference_interval(*args, bootstrap_max_cases=12_000) == boot
    assert ratio_difference_interval(*args, bootstrap_max_cases=11_999) == delta


# -- the Poisson-binomial distribution -----------------------------------------------------------


def _enumerated(p) -> np.ndarray:
    """P(X = x) by summing the probability of every one of the 2^n outcomes."""
    import itertools

    pmf = np.zeros(len(p) + 1)
    for outcome in itertools.product((0, 1), repeat=len(p)):
        pmf[sum(outcome)] += math.prod(
            q if hit else 1 - q for q, hit in zip(p, outcome, strict=True)
        )
    return pmf


def test_the_poisson_binomial_matches_enumerating_every_outcome():
    from analysis.metrics.stats import poisson_binomial_pmf

    # by hand: trials of 1/2 and 1/4: P(0) = 1/2 x 3/4, P(1) = 1/2 x 3/4 + 1/2 x 1/4, P(2) = 1/8
    assert poisson_binomial_pmf([0.5, 0.25]).tolist() == [0.375, 0.5, 0.125]
    rng = np.random.default_rng(7)
    for n in (1, 3, 8, 12):
        p = rng.uniform(0, 1, n)
        p[0] = 0.0 if n > 3 else p[0]  # a trial that cannot succeed
        assert poisson_binomial_pmf(p) == pytest.approx(_enumerated(p), abs=1e-15)
    with pytest.raises(ValueError):
        poisson_binomial_pmf([0.5, 1.5])


def test_the_grouped_tests_match_each_groups_own_distribution():
    from analysis.metrics.stats import poisson_binomial_pmf, poisson_binomial_tests

    # three groups in cells (group, trials, p); group 1's cells listed apart and out of order;
    # group 2 large enough to land in another band of sizes
    rng = np.random.default_rng(11)
    group = np.array([0, 1, 0, 2, 1, 2])
    trials = np.array([3, 2, 2, 30, 1, 9])
    p = np.array([0.2, 0.9, 0.55, 0.4, 0.05, 0.7])
    observed = np.array([4, 0, 24])
    out = poisson_binomial_tests(group, trials, p, observed, (0.95, 0.998))
    for g in range(3):
        cases = np.repeat(p[group == g], trials[group == g])
        pmf = _enumerated(cases) if cases.size <= 12 else poisson_binomial_pmf(cases)
        o = observed[g]
        assert out["trials"][g] == cases.size
        assert out["at_least"][g] == pytest.approx(pmf[o:].sum(), abs=1e-14)
        assert out["at_most"][g] == pytest.approx(pmf[: o + 1].sum(), abs=1e-14)
        for c in (0.95, 0.998):
            half = (1 - c) / 2
            cdf, sf = np.cumsum(pmf), np.cumsum(pmf[::-1])[::-1]
            assert out[f"low_{c:g}"][g] == min(x for x in range(cases.size + 1) if cdf[x] > half)
            assert out[f"high_{c:g}"][g] == max(x for x in range(cases.size + 1) if sf[x] > half)
    # the rule the flag rests on: observed above high exactly when P(X >= observed) <= half
    for g in range(3):
        assert (observed[g] > out["high_0.998"][g]) == (out["at_least"][g] <= 0.001)
    # group 0 by hand: 3 trials of 0.2 and 2 of 0.55; O = 4: P(X >= 4) =
    #   P(3 of 3) P(>= 1 of 2) + P(2 of 3) P(2 of 2)
    #   = 0.008 x (1 - 0.45^2) + 3 x 0.04 x 0.8 x 0.3025
    assert out["at_least"][0] == pytest.approx(0.008 * (1 - 0.45**2) + 0.096 * 0.3025, abs=1e-15)
    # many groups at once give each group what it gets alone
    sizes = rng.integers(1, 70, 300)
    many_group = np.repeat(np.arange(300), 2)
    many_trials = np.column_stack([sizes // 2, sizes - sizes // 2]).ravel()
    many_p = rng.uniform(0, 1, 600)
    many_obs = rng.integers(0, sizes + 1)
    together = poisson_binomial_tests(many_group, many_trials, many_p, many_obs)
    for g in (0, 17, 299):
        alone = poisson_binomial_tests(
            [0, 0], many_trials[2 * g : 2 * g + 2], many_p[2 * g : 2 * g + 2], [many_obs[g]]
        )
        assert together["at_least"][g] == pytest.approx(alone["at_least"][0], abs=1e-15)
        assert together["high_0.95"][g] == alone["high_0.95"][0]


# -- the random-intercept model --------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_model():
    """Twelve suppliers over two strata (rates 0.4 and 0.7), a spread of 0.6 on the log-odds."""
    from scipy.special import expit

    rng = np.random.default_rng(3)
    group = np.repeat(np.arange(12), 2)
    trials = rng.integers(1, 40, 24).astype(float)
    offset = np.tile([math.log(0.4 / 0.6), math.log(0.7 / 0.3)], 12)
    successes = rng.binomial(trials.astype(int), expit(offset + rng.normal(0, 0.6, 12)[group]))
    return group, trials, successes.astype(float), offset


def test_the_random_intercept_model_matches_direct_numerical_integration(small_model):
    from scipy import integrate, optimize
    from scipy.special import expit

    from analysis.metrics.stats import random_intercept_logit

    group, trials, successes, offset = small_model
    fit = random_intercept_logit(group, trials, successes, offset, 12)

    def likelihood(b, g, tau):
        at = group == g
        eta = offset[at] + b
        log_l = (
            successes[at] * np.log(expit(eta)) + (trials[at] - successes[at]) * np.log(expit(-eta))
        ).sum()
        return math.exp(log_l - b * b / (2 * tau * tau)) / (math.sqrt(2 * math.pi) * tau)

    def integral(f, g, tau, low=-10.0):
        return integrate.quad(
            lambda b: f(b) * likelihood(b, g, tau), low, 10, epsabs=0, epsrel=1e-12, limit=200
        )[0]

    def minus_loglik(log_tau):
        return -sum(math.log(integral(lambda b: 1.0, g, math.exp(log_tau))) for g in range(12))

    best = optimize.minimize_scalar(
        minus_loglik, bounds=(-4, 1.6), method="bounded", options={"xatol": 1e-7}
    )
    tau = math.exp(best.x)
    assert fit["tau"] == pytest.approx(tau, rel=2e-3)
    for g in range(12):
        at = group == g

        def ratio(b, at=at):
            return (trials[at] * expit(offset[at] + b)).sum() / (
                trials[at] * expit(offset[at])
            ).sum()

        total = integral(lambda b: 1.0, g, fit["tau"])
        mean = integral(lambda b: b, g, fit["tau"]) / total
        sd = math.sqrt(integral(lambda b: b * b, g, fit["tau"]) / total - mean**2)
        assert fit["b_mean"][g] == pytest.approx(mean, abs=1e-7)
        assert fit["b_sd"][g] == pytest.approx(sd, abs=1e-7)
        # shrunk O/E: the posterior mean of R(b), exactly (the quadrature)
        assert fit["shrunk_oe"][g] == pytest.approx(
            integral(ratio, g, fit["tau"]) / total, abs=1e-7
        )
        # prob_excess reads the posterior of b as normal: within 0.01 of the exact tail
        root = optimize.brentq(lambda b: ratio(b) - 1.2, -10, 50) if ratio(50) > 1.2 else None
        exact = 0.0 if root is None else integral(lambda b: 1.0, g, fit["tau"], low=root) / total
        assert fit["prob_excess"][g] == pytest.approx(exact, abs=0.01)
        assert fit["shrunk_ci_low"][g] < fit["shrunk_oe"][g] < fit["shrunk_ci_high"][g]


def test_the_model_finds_no_spread_where_there_is_none():
    from analysis.metrics.stats import TAU_BOUNDS, random_intercept_logit

    # 40 suppliers of 20 cases, every one with 8 of 20 at a rate of 0.4: nothing between them
    group = np.arange(40)
    fit = random_intercept_logit(
        group, np.full(40, 20.0), np.full(40, 8.0), np.full(40, math.log(0.4 / 0.6)), 40
    )
    assert fit["tau"] == pytest.approx(TAU_BOUNDS[0], abs=1e-3)
    assert fit["shrunk_oe"] == pytest.approx(np.ones(40), abs=1e-3)
    assert (fit["prob_excess"] < 1e-6).all()


def test_tau_is_the_maximum_of_the_marginal_likelihood_with_many_small_groups():
    # 5,000 suppliers of 4 single cases, a spread of 0.3: their posteriors are mostly prior, so
    # nodes placed for one tau misjudge a much smaller one (a search over the whole range from
    # nodes placed once found a false maximum at tau = 0.01)
    from scipy.special import expit

    from analysis.metrics import stats

    rng = np.random.default_rng(5)
    group = np.repeat(np.arange(5000), 4)
    offset = rng.normal(-0.4, 0.8, 20000)
    successes = rng.binomial(1, expit(offset + rng.normal(0, 0.3, 5000)[group])).astype(float)
    trials = np.ones(20000)
    fit = stats.random_intercept_logit(group, trials, successes, offset, 5000)

    def loglik(tau):  # with nodes placed for this tau: the quadrature is exact to ~1e-7 there
        _, b, base, _ = stats._nodes(group, trials, successes, offset, 5000, tau, np.zeros(5000))
        return stats._logsumexp_rows(base + stats._log_prior(b, tau)).sum()

    best = loglik(fit["tau"])
    for other in (0.01, 0.05, 0.8 * fit["tau"], 1.25 * fit["tau"], 1.0):
        assert best > loglik(other)
    assert 0.15 < fit["tau"] < 0.45


def test_the_delta_interval_of_a_ratio_from_sums_is_the_per_case_one():
    # the block computes the interval from sums (n, sum c, sum r, sum c^2, sum r^2, sum r c);
    # the per-case formula of delta_ratio_difference (against a second sample with no variance:
    # r = R c exactly) gives the same half-width
    import numpy as np

    from analysis.metrics.stats import delta_ratio_difference, delta_ratio_many

    c = np.array([1000.0, 2000.0, 10000.0])
    r = np.array([0.0, 2000.0, 150.0])
    low, high = delta_ratio_many(
        [3], [c.sum()], [r.sum()], [(c * c).sum()], [(r * r).sum()], [(r * c).sum()]
    )
    ratio = r.sum() / c.sum()
    flat = np.array([1.0, 1.0])  # a second ratio of 0 with no variance
    d_low, d_high = delta_ratio_difference(c, r, flat, 0 * flat)
    assert high[0] == pytest.approx(d_high)  # ratio + half-width, below 1
    assert low[0] == 0.0 and d_low < 0  # clipped at 0 (a share of money)
    # by hand: residuals -165.4, 1669.2, -1503.8; 3/2 x 5,075,236 / 13000^2 = 0.045046
    assert high[0] == pytest.approx(ratio + 1.959964 * 0.045046**0.5, abs=1e-5)
    # fewer than 2 cases, or nothing claimed: no interval
    none_low, none_high = delta_ratio_many([1, 2], [10.0, 0.0], [1.0, 0.0], [100.0, 0.0],
                                           [1.0, 0.0], [10.0, 0.0])  # fmt: skip
    assert np.isnan(none_low).all() and np.isnan(none_high).all()


def test_the_random_intercept_model_gives_the_same_figures_whatever_the_order_of_its_cells():
    # issue 31: the 10M lake's shrunk O/E differed from the 10M file store's from the 9th digit
    # (the same cells read in another order; the fit sums over them and stops within a
    # tolerance). Here, unsorted, a shuffle moved them by about 1e-11: now not at all.
    from analysis.metrics.stats import random_intercept_logit

    rng = np.random.default_rng(1)
    groups = 3000
    group = np.repeat(np.arange(groups), rng.integers(1, 6, groups))
    trials = rng.integers(1, 40, len(group))
    rate = rng.uniform(0.05, 0.6, len(group))
    spread = np.exp(rng.normal(0, 0.4, groups))[group]
    successes = rng.binomial(trials, np.clip(rate * spread, 0, 1))
    offset = np.log(rate / (1 - rate))
    fit = random_intercept_logit(group, trials, successes, offset, groups, threshold=1.2)
    shuffle = rng.permutation(len(group))
    again = random_intercept_logit(
        group[shuffle], trials[shuffle], successes[shuffle], offset[shuffle], groups, threshold=1.2
    )
    assert 0.5 < fit["tau"] < 1.0  # a spread between suppliers was found (0.73)
    for key in ("tau", "shrunk_oe", "shrunk_ci_low", "shrunk_ci_high", "prob_excess", "b_sd"):
        assert np.array_equal(fit[key], again[key]), key


def test_the_fit_of_tau_never_cycles_and_ends_on_the_best_tau_it_tried(monkeypatch):
    # 5,000 suppliers of 4 single cases and no spread at all: the search from the nodes of the
    # best tau (0.2097) found a false maximum at 0.127, the rounds climbed back and fell again,
    # and the 40th round's tau was the answer (0.128: wherever the cap cut the cycle). A 1M
    # store's fit cycled the same way near tau = 0.01 (40 rounds, 14 s; 137 s at 10M).
    from scipy.special import expit

    from analysis.metrics import stats

    rng = np.random.default_rng(7)
    group = np.repeat(np.arange(5000), 4)
    offset = rng.normal(-0.4, 0.8, 20000)
    successes = rng.binomial(1, expit(offset)).astype(float)
    trials = np.ones(20000)
    tried = []

    def nodes(group, trials, successes, offset, groups, tau, start):
        out = place(group, trials, successes, offset, groups, tau, start)
        _, b, base, _ = out
        tried.append((tau, stats._logsumexp_rows(base + stats._log_prior(b, tau)).sum()))
        return out

    place = stats._nodes
    monkeypatch.setattr(stats, "_nodes", nodes)
    fit = stats.random_intercept_logit(group, trials, successes, offset, 5000)
    assert len(tried) == 9  # 0.5, 0.303, 0.184, 0.2097, then 0.127 and four steps back
    best_tau, best = max(tried, key=lambda t: t[1])
    assert fit["tau"] == best_tau == pytest.approx(0.2097, abs=1e-4)
    assert sorted(round(t, 4) for t, _ in tried[4:]) == [0.1272, 0.1633, 0.1851, 0.197, 0.2032]
    assert all(value < best for _, value in tried[4:])  # each tried after the best was worse
