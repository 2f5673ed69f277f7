"""analysis.metrics.suppliers: observed against expected for the case mix, by hand.

Garwood (exact Poisson) intervals used below, from the chi-square table:
O = 0: 95% (0, 3.6889); O = 2: 95% (0.2422, 7.2247); O = 3: 95% (0.6187, 8.7673).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.metrics import Params
from analysis.metrics.suppliers import funnel_limits, observed_expected, supplier_comparison
from tests.casefactory import build_store
from tests.planted import planted_store

YEAR = ("2026-01-01", "2026-12-31")


def _case(supplier, outcome, category="machinery", claim_type="quality", **extra):
    refund = {"no_refund": 0, "full_refund": 1000, "partial_refund": 10}[outcome]
    return dict(supplier_id=supplier, outcome=outcome, category=category, claim_type=claim_type,
                claim_amount=1000, refund_amount=refund, opened_date="2026-03-01",
                closed_date="2026-03-20", **extra)  # fmt: skip


@pytest.fixture(scope="module")
def mix_db(tmp_path_factory):
    cases = [
        # Stratum A (machinery, quality): S1 3 sided of 4 (one a 1% lowball: it counts once),
        # S2 1 sided of 4: the stratum's rate 4 / 8 = 0.5.
        _case("S1", "no_refund"), _case("S1", "no_refund"), _case("S1", "partial_refund"),
        _case("S1", "full_refund"),
        _case("S2", "no_refund"), _case("S2", "full_refund"), _case("S2", "full_refund"),
        _case("S2", "full_refund"),
        # Stratum B (electronics, compliance): S3 alone, 2 sided of 2: rate 1.0, so its own
        # cases are all it is compared with: O = E = 2.
        _case("S3", "no_refund", "electronics", "compliance"),
        _case("S3", "no_refund", "electronics", "compliance"),
        # Stratum C (home_garden, damaged): S2 sided, S4 refunded: rate 0.5.
        _case("S2", "no_refund", "home_garden", "damaged"),
        _case("S4", "full_refund", "home_garden", "damaged"),
        # not decided (withdrawn) and closed outside the range: not counted anywhere
        dict(supplier_id="S4", outcome="withdrawn", opened_date="2026-03-01",
             closed_date="2026-03-05"),
        _case("S4", "no_refund") | {"opened_date": "2025-11-01", "closed_date": "2025-12-01"},
    ]  # fmt: skip
    return build_store(tmp_path_factory.mktemp("oe") / "cases.duckdb", cases)


def test_observed_and_expected_by_hand(mix_db):
    frame = observed_expected(mix_db, *YEAR, Params(min_n_named=5)).set_index("supplier_id")
    assert frame.index.tolist() == ["S1", "S2", "S3", "S4"]
    # S1: O = 3 (the lowball once), E = 4 x 0.5 = 2.
    s1 = frame.loc["S1"]
    assert (s1["decided"], s1["supplier_sided"], s1["lowball"]) == (4, 3, 1)
    assert s1["expected"] == pytest.approx(2.0)
    assert s1["oe_ratio"] == pytest.approx(1.5)
    assert (s1["ci_low"], s1["ci_high"]) == pytest.approx((0.6187 / 2, 8.7673 / 2), abs=1e-4)
    # S2: O = 1 + 1 = 2, E = 4 x 0.5 + 1 x 0.5 = 2.5 over two strata.
    s2 = frame.loc["S2"]
    assert (s2["decided"], s2["supplier_sided"]) == (5, 2)
    assert s2["expected"] == pytest.approx(2.5)
    assert s2["oe_ratio"] == pytest.approx(0.8)
    assert (s2["ci_low"], s2["ci_high"]) == pytest.approx((0.2422 / 2.5, 7.2247 / 2.5), abs=1e-4)
    # S3 alone in its stratum: E is its own O, so O/E = 1 whatever it did.
    s3 = frame.loc["S3"]
    assert (s3["supplier_sided"], s3["expected"], s3["oe_ratio"]) == (2, 2.0, 1.0)
    # S4: O = 0 against E = 0.5: O/E 0, the interval from 0 up to 3.6889 / 0.5.
    s4 = frame.loc["S4"]
    assert (s4["decided"], s4["supplier_sided"], s4["expected"]) == (1, 0, 0.5)
    assert (s4["oe_ratio"], s4["ci_low"]) == (0.0, 0.0)
    assert s4["ci_high"] == pytest.approx(3.6889 / 0.5, abs=1e-3)
    # named from min_n_named = 5 decided: S2 exactly at the limit, S1 one short.
    assert frame["named"].to_dict() == {"S1": False, "S2": True, "S3": False, "S4": False}
    # nobody is flagged on a handful of cases, and the unnamed are never flagged
    assert frame["flag"].isna().all()
    assert frame.attrs["named"] == 1 and frame.attrs["suppliers"] == 4


def test_the_contract_lists_the_named_suppliers_only(mix_db):
    named = supplier_comparison(mix_db, *YEAR, Params(min_n_named=5))
    assert [row["supplier_id"] for row in named] == ["S2"]
    assert named[0] == pytest.approx(
        {"supplier_id": "S2", "decided": 5, "supplier_sided": 2, "expected": 2.5,
         "oe_ratio": 0.8, "ci_low": 0.2422 / 2.5, "ci_high": 7.2247 / 2.5, "flag": None},
        abs=1e-4,
    )  # fmt: skip
    assert {type(v) for v in named[0].values()} <= {str, int, float, type(None)}
    # one more required case and nobody is named; with 4, S1 joins, worst O/E first
    assert supplier_comparison(mix_db, *YEAR, Params(min_n_named=6)) == []
    both = supplier_comparison(mix_db, *YEAR, Params(min_n_named=4))
    assert [row["supplier_id"] for row in both] == ["S1", "S2"]


def test_a_category_restricts_the_strata_too(mix_db):
    frame = observed_expected(mix_db, *YEAR, Params(), category="home_garden")
    assert frame.set_index("supplier_id")["expected"].to_dict() == {"S2": 0.5, "S4": 0.5}


def test_funnel_limits_are_the_flag_rule_inverted():
    # At an O on the upper line, the lower end of O's exact interval is exactly E (and at an O
    # on the lower line, the upper end is): a point is beyond a line exactly when it is flagged.
    from scipy.stats import chi2

    expected = np.array([0.5, 3.0, 31.5, 100.0])
    low, high = funnel_limits(expected, 0.998)
    assert chi2.ppf(0.001, 2 * high * expected) / 2 == pytest.approx(expected, rel=1e-9)
    # with E = 0.5 or 3 not even O = 0 falls below (the upper end for O = 0 is 3.45)
    assert low[:2].tolist() == [0.0, 0.0]
    assert chi2.ppf(0.999, 2 * low[2:] * expected[2:] + 2) / 2 == pytest.approx(
        expected[2:], rel=1e-9
    )
    assert (low < 1).all() and (high > 1).all()
    assert np.all(np.diff(high) < 0) and np.all(np.diff(low) >= 0)  # a funnel: narrowing in E
    # no expected count, no line
    nothing_low, nothing_high = funnel_limits(np.array([0.0, np.nan, -1.0]), 0.95)
    assert np.isnan(nothing_low).all() and np.isnan(nothing_high).all()


def test_the_comparison_flags_the_real_excess_not_the_case_mix(tmp_path):
    # MIX gets mostly compliance claims (refused far more for everyone) and behaves like the
    # rest within each stratum; BAD gets the common mix but refuses more within each stratum.
    store = planted_store(tmp_path / "planted.duckdb")
    frame = observed_expected(store.db, *store.window).set_index("supplier_id")
    mix, bad = frame.loc["MIX"], frame.loc["BAD"]
    overall = frame["supplier_sided"].sum() / frame["decided"].sum()
    # the raw rates: both well above the overall rate
    assert mix["supplier_sided"] / mix["decided"] > overall + 0.15
    assert bad["supplier_sided"] / bad["decided"] > overall + 0.15
    # against their mix: only BAD is flagged
    assert bad["flag"] == "high" and bad["ci998_low"] > 1
    assert pd.isna(mix["flag"]) and mix["ci_low"] < 1 < mix["ci_high"]
    flagged = frame[frame["flag"].notna()].index.tolist()
    assert flagged == ["BAD"]


def test_a_suppliers_name_is_the_one_on_its_latest_case_ties_broken_by_load_and_row(tmp_path):
    # S1: three names closed the same (latest) day in one load: the last record's ('A Co', row 9,
    # though it is neither stored last nor last in the alphabet); S2: the same day in two loads:
    # the later load's, whatever the row.
    db = build_store(
        tmp_path / "names.duckdb",
        [
            {
                **_case("S1", "no_refund", supplier_name="Old Co", source_row=1),
                "closed_date": "2026-03-10",
            },
            _case("S1", "no_refund", supplier_name="B Co", source_row=5),
            _case("S1", "full_refund", supplier_name="A Co", source_row=9),
            _case("S1", "full_refund", supplier_name="C Co", source_row=7),
            _case("S2", "no_refund", supplier_name="Earlier Load", source_row=8, load_id=1),
            _case("S2", "no_refund", supplier_name="Later Load", source_row=1, load_id=2),
        ],
    )
    names = observed_expected(db, *YEAR).set_index("supplier_id")["supplier_name"]
    assert names.to_dict() == {"S1": "A Co", "S2": "Later Load"}
