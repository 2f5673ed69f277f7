"""analysis.metrics.pooling: partial pooling of groups' rates and the detectable change, by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from analysis.metrics import outcome_metrics, pooling
from tests.metrics_store import FEB, SMALL


def _log_likelihood(m: float, k: list[int], n: list[int]) -> float:
    """The beta-binomial marginal log-likelihood with mean p0, written out with lgamma."""
    p0 = sum(k) / sum(n)
    a, b = m * p0, m * (1 - p0)

    def log_beta(x, y):
        return math.lgamma(x) + math.lgamma(y) - math.lgamma(x + y)

    return sum(log_beta(ki + a, ni - ki + b) - log_beta(a, b) for ki, ni in zip(k, n, strict=True))


def test_the_prior_strength_maximises_the_beta_binomial_likelihood():
    k, n = [2, 8, 5], [10, 10, 10]
    m = pooling.prior_strength(k, n)
    # an independent grid search over m in [0.5, 30], step 0.001
    grid = np.arange(0.5, 30, 0.001)
    best = grid[np.argmax([_log_likelihood(g, k, n) for g in grid])]
    assert m == pytest.approx(best, abs=2e-3)  # 6.028
    assert m == pytest.approx(6.028, abs=1e-3)


def test_a_pooled_rate_is_the_posterior_mean_between_the_group_and_the_whole():
    k, n = [2, 8, 5], [10, 10, 10]
    pooled = pooling.pooled_rates(k, n)
    m, p0 = pooled["prior_cases"], pooled["overall_rate"]
    assert p0 == 0.5
    # (m p0 + k) / (m + n): 2 of 10 -> (3.014 + 2) / 16.028 = 0.3128
    assert pooled["rate"] == pytest.approx(
        [(m * p0 + ki) / (m + ni) for ki, ni in zip(k, n, strict=True)]
    )
    assert pooled["rate"][0] == pytest.approx(0.31283, abs=1e-5)
    # between the raw rate (0.2) and the whole (0.5); the interval holds it
    assert 0.2 < pooled["rate"][0] < 0.5 and 0.5 < pooled["rate"][1] < 0.8
    assert pooled["rate"][2] == pytest.approx(0.5)
    assert (pooled["ci_low"] <= pooled["rate"]).all() and (
        pooled["rate"] <= pooled["ci_high"]
    ).all()
    # the interval is the posterior Beta(m p0 + 2, m (1 - p0) + 8)'s 2.5% and 97.5% points:
    # its density integrated by hand (trapezoids on 200,001 points) up to each end
    a, b = m * p0 + 2, m * (1 - p0) + 8
    x = np.linspace(0, 1, 200_001)[1:-1]
    log_density = (a - 1) * np.log(x) + (b - 1) * np.log1p(-x)
    log_density -= math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)
    cdf = np.cumsum(np.exp(log_density)) * (x[1] - x[0])
    assert np.interp(pooled["ci_low"][0], x, cdf) == pytest.approx(0.025, abs=1e-4)
    assert np.interp(pooled["ci_high"][0], x, cdf) == pytest.approx(0.975, abs=1e-4)
    assert pooled["ci_low"][0] == pytest.approx(0.11860, abs=1e-4)


def test_groups_that_differ_by_no_more_than_chance_are_pooled_to_the_whole():
    # identical rates: the likelihood rises with m, which stops at the cases there are (30)
    pooled = pooling.pooled_rates([3, 3, 3], [10, 10, 10])
    assert pooled["prior_cases"] == pytest.approx(30)
    assert pooled["rate"] == pytest.approx([0.3, 0.3, 0.3])


def test_the_edges():
    nothing = pooling.pooled_rates([0, 0], [0, 0])
    assert math.isnan(nothing["overall_rate"]) and np.isnan(nothing["rate"]).all()
    # every case one way: the whole's rate, an interval from half a case of the other outcome
    zeros = pooling.pooled_rates([0, 0], [3, 5])
    assert zeros["rate"].tolist() == [0.0, 0.0]
    assert zeros["ci_low"].tolist() == [0.0, 0.0] and (zeros["ci_high"] > 0).all()
    # a group without a decided case has no pooled rate
    some = pooling.pooled_rates([1, 0, 4], [2, 0, 6])
    assert math.isnan(some["rate"][1]) and not math.isnan(some["rate"][0])


def test_every_group_of_the_json_is_pooled_between_its_rate_and_the_whole(feb_db):
    result = outcome_metrics(feb_db, *FEB, params=SMALL)
    overall = result["overall"]["supplier_sided"] / result["overall"]["decided"]
    for key in ("by_category", "by_claim_type"):
        assert result["pooling"][key]["overall_rate"] == pytest.approx(overall)
        for group, block in result[key].items():
            if not block["decided"]:
                assert block["pooled_rate"] is None, group
                continue
            raw = block["supplier_sided"] / block["decided"]
            low, high = sorted((raw, overall))
            assert low - 1e-12 <= block["pooled_rate"] <= high + 1e-12, group
            assert block["pooled_ci_low"] <= block["pooled_rate"] <= block["pooled_ci_high"]


def test_the_detectable_change_by_hand():
    # 6 of 15 against 5 of 15: p = 11/30; (1.959964 + 0.841621) sqrt(p (1 - p) (2 / 15))
    p = 11 / 30
    expected = (1.959964 + 0.841621) * math.sqrt(p * (1 - p) * (2 / 15))
    assert pooling.detectable_change(6, 15, 5, 15) == pytest.approx(expected, abs=1e-5)
    assert pooling.detectable_change(6, 15, 5, 15) == pytest.approx(0.49298, abs=1e-5)
    # more cases, a smaller change: 200 a period at 42.5% -> 13.8 points
    assert pooling.detectable_change(80, 200, 90, 200) == pytest.approx(0.13849, abs=1e-5)
    assert pooling.detectable_change(1, 2, 0, 1) == 1.0  # nothing could be told from chance
    assert pooling.detectable_change(1, 2, 0, 0) is None


def test_the_json_states_the_detectable_change_against_the_previous_period(feb_db):
    overall = outcome_metrics(feb_db, *FEB, params=SMALL)["overall"]
    # February 5 of 8 decided against January's 1 of 1 (M7, no_refund): p = 6/9
    p = 6 / 9
    expected = min(1.0, (1.959964 + 0.841621) * math.sqrt(p * (1 - p) * (1 / 8 + 1)))
    assert overall["detectable_change"] == pytest.approx(expected, abs=1e-5)
