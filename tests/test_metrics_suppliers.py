"""analysis.metrics.suppliers: observed against expected for the case mix, by hand.

The expected counts are leave-one-out (each supplier against the OTHER suppliers' rates), and
the limits come from the exact distribution of O, a sum of Bernoulli trials with those rates:
in the fixture below a supplier's trials share one or two rates, so the distributions are
binomials, worked out by hand. Binomial(4, 1/4): P(0..4) = 81, 108, 54, 12, 1 (/256).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.metrics import Params
from analysis.metrics.suppliers import funnel_limits, observed_expected, supplier_comparison
from tests.casefactory import build_store
from tests.planted import planted_store, suppliers_store

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
    # S1: O = 3 (the lowball once); E from the others' rate of its stratum, S2's 1 of 4:
    # E = 4 x 1/4 = 1 (with its own cases inside it was 4 x 4/8 = 2: O/E 1.5, now 3).
    s1 = frame.loc["S1"]
    assert (s1["decided"], s1["supplier_sided"], s1["lowball"]) == (4, 3, 1)
    assert (s1["expected"], s1["oe_ratio"], s1["outside_stratum"]) == (1.0, 3.0, 0)
    # O ~ Binomial(4, 1/4): P(O >= 3) = 13/256, P(O <= 3) = 255/256; at 95% the counts not
    # rejected are 0..3 (P(O >= 3) > 2.5%, P(O >= 4) = 1/256 is not): the interval turned
    # around O = 3: (3 - (3 - 1)) / 1 to (3 + (1 - 0)) / 1
    assert (s1["p_high"], s1["p_low"]) == pytest.approx((13 / 256, 255 / 256), abs=1e-15)
    assert (s1["ci_low"], s1["ci_high"]) == pytest.approx((1.0, 4.0))
    # at 99.8% even O = 4 (1/256 > 0.1%) is within: S1 could not be flagged at all
    assert np.isnan(s1["detectable_oe"]) and (s1["ci998_low"], s1["ci998_high"]) == (0.0, 4.0)
    # S2: stratum A against S1's 3 of 4 (4 x 3/4); stratum C against S4's one case, refunded:
    # 0 of 1, moved half a case in to 0.5 / 2 = 1/4 (a rate of 0 would make that case certain)
    s2 = frame.loc["S2"]
    assert (s2["decided"], s2["supplier_sided"], s2["expected"]) == (5, 2, 3.25)
    assert s2["oe_ratio"] == pytest.approx(2 / 3.25)
    # O ~ Binomial(4, 3/4) + Bernoulli(1/4): P(x) = (3/4 B(x) + 1/4 B(x - 1)), in 256ths:
    # 0.75, 9.25, 43.5, 94.5, 87.75, 20.25
    assert (s2["p_high"], s2["p_low"]) == pytest.approx((246 / 256, 53.5 / 256), abs=1e-15)
    # 95% (6.4 / 256 in each tail): not rejected 1..5
    assert (s2["ci_low"], s2["ci_high"]) == pytest.approx(
        ((2 - (5 - 3.25)) / 3.25, (2 + (3.25 - 1)) / 3.25)
    )
    # 99.8%: even O = 5 (20.25 / 256) is within: S2 could not be flagged high
    assert np.isnan(s2["detectable_oe"])
    # S3 alone in its stratum and its claim type: compared with all the others' cases (5 of 10
    # supplier-sided): E = 2 x 1/2 (with its own cases it was its own O: O/E 1 whatever it did)
    s3 = frame.loc["S3"]
    assert (s3["supplier_sided"], s3["expected"], s3["oe_ratio"]) == (2, 1.0, 2.0)
    assert s3["outside_stratum"] == 2 and s3["p_high"] == pytest.approx(0.25)
    # S4: O = 0 where the other supplier's one case of its stratum was supplier-sided: 1 of 1,
    # moved half a case in: E = 1 - 0.5 / 2 = 3/4, and P(O <= 0) = 1/4
    s4 = frame.loc["S4"]
    assert (s4["decided"], s4["supplier_sided"], s4["expected"], s4["oe_ratio"]) == (
        1,
        0,
        0.75,
        0.0,
    )
    assert (s4["p_high"], s4["p_low"]) == (1.0, 0.25)
    # named from min_n_named = 5 decided: S2 exactly at the limit, S1 one short.
    assert frame["named"].to_dict() == {"S1": False, "S2": True, "S3": False, "S4": False}
    # nobody is flagged: S2 is within (and the unnamed are never flagged)
    assert frame["flag"].isna().all()
    assert frame.attrs["named"] == 1 and frame.attrs["suppliers"] == 4
    # every supplier has a shrunk O/E between 1 and its own O/E (pulled toward 1), its interval
    # around it, and a probability
    for supplier in ("S1", "S2", "S3", "S4"):
        row = frame.loc[supplier]
        assert (
            min(1.0, row["oe_ratio"]) - 1e-9 <= row["shrunk_oe"] <= max(1.0, row["oe_ratio"]) + 1e-9
        )
        assert row["shrunk_ci_low"] < row["shrunk_oe"] < row["shrunk_ci_high"]
        assert 0 <= row["prob_excess"] <= 1


def test_a_stratum_no_other_supplier_has_falls_back_to_its_claim_type(tmp_path):
    db = build_store(
        tmp_path / "fallback.duckdb",
        [
            _case("S1", "no_refund", "electronics", "compliance"),
            _case("S1", "full_refund", "electronics", "compliance"),
            _case("S2", "no_refund", "machinery", "compliance"),
            _case("S2", "no_refund", "machinery", "compliance"),
            _case("S2", "full_refund", "machinery", "quality"),
            _case("S3", "no_refund", "machinery", "quality"),
            _case("S3", "full_refund", "machinery", "quality"),
        ],
    )
    frame = observed_expected(db, *YEAR).set_index("supplier_id")
    # S1: nobody else has (electronics, compliance): the others' compliance cases, S2's 2 of 2,
    #     all one way: moved half a case in, 1 - 0.5 / 3 = 5/6 (x 2 cases)
    # S2: (machinery, compliance) is its own: the others' compliance, S1's 1 of 2 (2 x 1/2);
    #     (machinery, quality) against S3's 1 of 2 (1 x 1/2)
    # S3: (machinery, quality) against S2's 0 of 1: 0.5 / 2 = 1/4 (x 2 cases)
    assert frame["expected"].to_dict() == pytest.approx({"S1": 5 / 3, "S2": 1.5, "S3": 0.5})
    assert frame["outside_stratum"].to_dict() == {"S1": 2, "S2": 2, "S3": 0}


def test_a_named_supplier_is_flagged_from_the_exact_tail(tmp_path):
    # S1: 10 cases of stratum A against S2's 1 of 2 there: E = 10 x 1/2, O ~ Binomial(10, 1/2):
    # P(O >= 10) = 1/1024 <= 0.1%, P(O >= 9) = 11/1024 is not: flagged from O = 10, O/E 2
    def store(sided: int):
        cases = [_case("S1", "no_refund")] * sided + [_case("S1", "full_refund")] * (10 - sided)
        cases += [_case("S2", "no_refund"), _case("S2", "full_refund")]
        return build_store(tmp_path / f"flag{sided}.duckdb", cases)

    ten = store(10)
    frame = observed_expected(ten, *YEAR, Params(min_n_named=10)).set_index("supplier_id")
    s1 = frame.loc["S1"]
    assert (s1["expected"], s1["detectable_oe"], s1["flag"]) == (5.0, 2.0, "high")
    assert s1["p_high"] == pytest.approx(1 / 1024, abs=1e-15)
    # the 99.8% interval turned around O = 10: its lower end (10 - (9 - 5)) / 5 is above 1
    assert s1["ci998_low"] == pytest.approx(6 / 5)
    nine = observed_expected(store(9), *YEAR, Params(min_n_named=10)).set_index("supplier_id")
    assert nine.loc["S1", "flag"] is None and nine.loc["S1", "ci998_low"] == pytest.approx(1.0)
    # one more case required than it has: unnamed, never flagged
    assert observed_expected(ten, *YEAR, Params(min_n_named=11))["flag"].isna().all()


def test_the_contract_lists_the_named_suppliers_only(mix_db):
    named = supplier_comparison(mix_db, *YEAR, Params(min_n_named=5))
    assert [row["supplier_id"] for row in named] == ["S2"]
    frame = observed_expected(mix_db, *YEAR, Params(min_n_named=5)).set_index("supplier_id")
    assert named[0] == pytest.approx(
        {"supplier_id": "S2", "decided": 5, "supplier_sided": 2, "expected": 3.25,
         "oe_ratio": 2 / 3.25, "ci_low": 0.25 / 3.25, "ci_high": 4.25 / 3.25, "flag": None,
         "detectable_oe": None,
         **{k: frame.loc["S2", k] for k in ("shrunk_oe", "shrunk_ci_low", "shrunk_ci_high",
                                            "prob_excess")}},
        abs=1e-12,
    )  # fmt: skip
    assert {type(v) for v in named[0].values()} <= {str, int, float, type(None)}
    # one more required case and nobody is named; with 4, S1 joins, listed by prob_excess
    # (nobody is flagged), not by O/E
    assert supplier_comparison(mix_db, *YEAR, Params(min_n_named=6)) == []
    both = supplier_comparison(mix_db, *YEAR, Params(min_n_named=4))
    by_probability = sorted(both, key=lambda row: -row["prob_excess"])
    assert [row["supplier_id"] for row in both] == [row["supplier_id"] for row in by_probability]
    assert {row["supplier_id"] for row in both} == {"S1", "S2"}


def test_a_category_restricts_the_strata_too(mix_db):
    # within home_garden only stratum C: S2 against S4's 0 of 1, S4 against S2's 1 of 1 (each
    # moved half a case in)
    frame = observed_expected(mix_db, *YEAR, Params(), category="home_garden")
    assert frame.set_index("supplier_id")["expected"].to_dict() == {"S2": 0.25, "S4": 0.75}


def test_funnel_limits_come_from_the_flags_exact_distribution():
    # A supplier of m cases all at the overall rate 0.4 has E = 0.4 m and O ~ Binomial(m, 0.4):
    # the lines are the ends of the counts the flag's exact test does not reject, over E.
    from analysis.metrics.stats import poisson_binomial_tests

    cases = np.array([1, 5, 25, 100, 400])
    expected = 0.4 * cases
    low, high = funnel_limits(expected, 0.998, 0.4)
    exact = poisson_binomial_tests(np.arange(5), cases, np.full(5, 0.4), np.zeros(5, int), (0.998,))
    assert high * expected == pytest.approx(exact["high_0.998"], abs=1e-9)
    assert low * expected == pytest.approx(exact["low_0.998"], abs=1e-9)
    # by hand, m = 5: P(O >= 5) = 0.4^5 = 1.0% > 0.1%: even 5 of 5 is within, the line at 5 / 2
    assert high[1] == 2.5 and low[1] == 0.0
    assert (low < 1).all() and (high > 1).all()
    assert np.all(np.diff(high[1:]) < 0) and np.all(np.diff(low) >= 0)  # narrowing in E
    # no expected count (or no rate), no line
    nothing_low, nothing_high = funnel_limits(np.array([0.0, np.nan, -1.0]), 0.95, 0.4)
    assert np.isnan(nothing_low).all() and np.isnan(nothing_high).all()
    assert np.isnan(funnel_limits(np.array([3.0]), 0.95, 0.0)[1]).all()


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


@pytest.fixture(scope="module")
def planted_suppliers(tmp_path_factory):
    return suppliers_store(tmp_path_factory.mktemp("planted") / "suppliers.duckdb")


def test_on_planted_suppliers_the_comparison_finds_the_bad_and_only_them(planted_suppliers):
    store = planted_suppliers
    frame = observed_expected(store.db, *store.window).set_index("supplier_id")
    bad, null = frame.loc[list(store.bad)], frame.loc[list(store.null)]
    # the five bad suppliers of 40-120 cases are flagged (on this seed all five; the old rule,
    # Poisson limits with the supplier's own cases inside E, left BAD1's 25 of 40 within)
    assert (bad["flag"] == "high").all()
    # MIX's raw rate is well above everyone's, but only because of its claims: not flagged
    overall = frame["supplier_sided"].sum() / frame["decided"].sum()
    mix = frame.loc["MIX"]
    assert mix["supplier_sided"] / mix["decided"] > overall + 0.05
    assert mix["flag"] is None and mix["ci998_low"] <= 1 <= mix["ci998_high"]
    # at most a couple of the 150 ordinary suppliers are flagged, either way
    assert null["flag"].notna().sum() <= 2
    assert frame.loc["GOOD", "flag"] == "low"
    # TINY refused all 6 of its cases: too few to be named, so neither flagged nor listed
    assert not frame.loc["TINY", "named"] and frame.loc["TINY", "flag"] is None
    listed = [row["supplier_id"] for row in supplier_comparison(store.db, *store.window)]
    assert "TINY" not in listed and set(listed) == set(frame.index[frame["decided"] >= 30])
    # the probability of a real excess sets every bad supplier apart from every null one
    assert bad["prob_excess"].min() > 0.8 > 0.5 > null["prob_excess"].max()
    assert null["prob_excess"].median() < 0.1
    # the shrunk O/E lies between 1 and the raw one: a bad supplier's excess is pulled in, not away
    assert ((bad["shrunk_oe"] > 1) & (bad["shrunk_oe"] < bad["oe_ratio"])).all()
    # listed flagged first, then by probability, never by O/E
    assert listed[:6] == [
        *frame[frame["flag"] == "high"].sort_values("prob_excess", ascending=False).index,
        "GOOD",
    ]
