"""analysis.metrics.trends: the p-chart and group-by-group changes with adjusted p-values."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from analysis.metrics import Params
from analysis.metrics.trends import change_by, p_chart
from tests.casefactory import build_store


def test_p_chart_by_hand():
    months = pd.DataFrame({"decided": [10, 20, 40, 0], "supplier_sided": [2, 14, 8, 0]})
    chart = p_chart(months)
    # p0 = 24 / 70 = 0.342857; p0 (1 - p0) = 0.225306; half = 3 sqrt(0.225306 / n):
    # n = 10: 0.450306 -> [0, 0.793163]; n = 20: 0.318414 -> [0.024443, 0.661271];
    # n = 40: 0.225153 -> [0.117704, 0.568010].
    assert chart["p_chart_centre"].iloc[0] == pytest.approx(24 / 70)
    assert chart["p_chart_low"].tolist()[:3] == pytest.approx([0.0, 0.024443, 0.117704], abs=1e-6)
    assert chart["p_chart_high"].tolist()[:3] == pytest.approx(
        [0.793163, 0.661271, 0.568010], abs=1e-6
    )
    # month 2 (14 of 20 = 0.7) lies above its limit; months 1 and 3 (0.2) inside; month 4 has
    # no decided case: no limits, no verdict
    assert [None if pd.isna(c) else c for c in chart["control"]] == [None, "above", None, None]
    assert math.isnan(chart["p_chart_high"].iloc[3])


def _decided(category, closed, n, sided):
    return [
        dict(category=category, outcome="no_refund" if i < sided else "full_refund",
             opened_date=closed[:8] + "01", closed_date=closed)
        for i in range(n)
    ]  # fmt: skip


def test_change_by_adjusts_for_the_groups_tested(tmp_path):
    cases = (
        _decided("machinery", "2026-03-15", 20, 16) + _decided("machinery", "2026-02-15", 20, 4)
        + _decided("electronics", "2026-03-15", 10, 5)
        + _decided("electronics", "2026-02-15", 10, 5)
        + _decided("apparel_textiles", "2026-03-15", 5, 5)
        + _decided("apparel_textiles", "2026-02-15", 12, 0)
    )  # fmt: skip
    db = build_store(tmp_path / "change.duckdb", cases)
    frame = change_by(db, "2026-03", "category", Params(min_n=10)).set_index("group")
    assert frame.attrs["tested"] == 2  # apparel has 5 decided in March: not compared
    machinery = frame.loc["machinery"]
    # 16/20 against 4/20: pooled 0.5, se sqrt(0.25 x 2/20) = 0.158114, z = 3.794733,
    # p = 0.000148; electronics 5/10 against 5/10: p = 1. Benjamini-Hochberg with 2 tests:
    # 0.000148 x 2 / 1 = 0.000296, 1 x 2 / 2 = 1.
    assert machinery["difference"] == pytest.approx(0.6)
    assert machinery["p_value"] == pytest.approx(0.0001478, rel=1e-3)
    assert machinery["p_adjusted"] == pytest.approx(2 * 0.0001478, rel=1e-3)
    assert bool(machinery["flagged"]) is True
    electronics = frame.loc["electronics"]
    assert electronics["p_value"] == pytest.approx(1.0) and electronics["p_adjusted"] == 1.0
    assert bool(electronics["flagged"]) is False
    apparel = frame.loc["apparel_textiles"]
    assert not apparel["tested"] and pd.isna(apparel["p_value"]) and not bool(apparel["flagged"])
    assert (apparel["current_decided"], apparel["previous_decided"]) == (5, 12)
