"""analysis.metrics.params: the metric parameters, validated once."""

from __future__ import annotations

import pytest

from analysis.errors import BadParameter
from analysis.metrics import (
    Params,
)


def test_params_validation():
    assert Params().as_dict() == {
        "threshold": 0.10,
        "lowball": 0.05,
        "min_n": 30,
        "confidence": 0.95,
        "min_n_rate": 10,
        "min_n_named": 30,
    }
    # min_n_rate defaults to 10, or to min_n when that is lower; it may not exceed min_n
    assert Params(min_n=5).min_n_rate == 5 and Params(min_n=12).min_n_rate == 10
    assert Params(min_n=12, min_n_rate="12").min_n_rate == 12
    with pytest.raises(BadParameter, match=r"min_n_rate \(11\) must not be above min_n \(10\)"):
        Params(min_n=10, min_n_rate=11)
    # Text from papermill or -p KEY=VALUE is accepted and normalised.
    assert Params(threshold="0.2", min_n="5") == Params(threshold=0.2, min_n=5)
    assert Params(threshold=0, lowball=1, min_n=0).min_n == 0
    for bad, needle in [
        (dict(threshold=-0.1), "threshold must be between 0 and 1"),
        (dict(threshold=1.5), "threshold must be between 0 and 1"),
        (dict(threshold="ten"), "threshold must be a number"),
        (dict(threshold=float("nan")), "finite"),
        (dict(lowball=2), "lowball must be between 0 and 1"),
        (dict(min_n=-1), "min_n must be 0 or more"),
        (dict(min_n=2.5), "min_n must be a whole number"),
        (dict(min_n=True), "min_n must be a whole number"),
        (dict(confidence=1.0), "confidence must be between 0 and 1"),
        (dict(confidence=0), "confidence must be between 0 and 1"),
    ]:
        with pytest.raises(BadParameter, match=needle):
            Params(**bad)
