"""analysis.metrics.outcomes: the JSON contract of `ta-outcomes metrics`, every figure worked out by hand."""

from __future__ import annotations

import json

import pytest

from analysis.errors import BadParameter
from analysis.metrics import (
    BLOCK_FIELDS,
    Params,
    block_frame,
    change_vs_previous,
    heatmap_frame,
    monthly_series,
    outcome_metrics,
    supplier_comparison,
    time_to_resolution,
)
from analysis.metrics import blocks as metric_blocks
from analysis.metrics.pooling import POOLED_FIELDS
from analysis.store import StoreMissing
from tests.casefactory import build_store, make_case
from tests.metrics_store import FEB, SMALL, leaves


def test_overall_block_by_hand(feb_db):
    result = outcome_metrics(feb_db, *FEB, params=SMALL)
    o = result["overall"]
    # Opened in February: M3 M4 A1 A2 E1 E2 E3 M6 = 8.
    # Closed in February: M1 M2 M3 M4 M5 A1 A2 A3 A4 E1 E2 = 11 (M6 closes in March, M7 in Jan).
    # Decided: M1 M2 M3 M4 M5 A1 A2 A3 = 8; lapsed A4 (withdrawn) E1 (cancelled) E2 (ooc) = 3.
    # Monetary = decided - replacement (M5) = 7.
    assert {k: o[k] for k in ("cases_opened", "cases_closed", "decided", "lapsed")} == {
        "cases_opened": 8,
        "cases_closed": 11,
        "decided": 8,
        "lapsed": 3,
    }
    assert (o["withdrawn"], o["cancelled"], o["out_of_coverage"]) == (1, 1, 1)
    assert (o["replacement"], o["monetary_decisions"]) == (1, 7)
    # Supplier-sided (refund < 10% of claim): M1 (0), M3 (1.5%), A1 (0), A2 (4.9995%), A3 (5%)
    # = 5. Not: M2 (exactly 10%), M4 (100%). Rate 5/8 = 0.625; Wilson 5/8 = [0.305742, 0.863156].
    assert o["supplier_sided"] == 5
    assert o["supplier_sided_rate"] == pytest.approx(0.625)
    assert o["supplier_sided_ci_low"] == pytest.approx(0.305742, abs=1e-5)
    assert o["supplier_sided_ci_high"] == pytest.approx(0.863156, abs=1e-5)
    # claimed_usd = 10000 + 1000 + 10000 + 2000 + 1100 (A1) + 2200 (A2) + 1000 = 27300
    # refunded_usd = 0 + 100 + 150 + 2000 + 0 + 109.989 (99.99 EUR x 1.1) + 50 = 2409.989
    assert o["claimed_usd"] == pytest.approx(27300.0)
    assert o["refunded_usd"] == pytest.approx(2409.989)
    assert o["refund_ratio_pooled"] == pytest.approx(2409.989 / 27300)  # 0.0882780
    # Ratios sorted: 0 (M1), 0 (A1), 0.015 (M3), 0.049995 (A2), 0.05 (A3), 0.1 (M2), 1 (M4):
    # the 4th of 7 is the median.
    assert o["refund_ratio_median"] == pytest.approx(0.049995)
    # Lowball (0 < refund < 5%): M3, A2 = 2. Not A3 (exactly 5%), not M1/A1 (zero).
    assert o["lowball"] == 2
    # Escalated among the 11 closed: M1 M3 A2 E2 = 4 -> 4/11.
    assert o["escalated"] == 4
    assert o["escalation_rate"] == pytest.approx(4 / 11)
    # Days to close sorted: 2 6 10 10 20 20 20 20 25 27 36 -> 6th of 11 = 20.
    assert o["median_days_to_close"] == 20
    assert o["suppressed"] is False


def test_json_contract_keys_and_types(feb_db):
    result = outcome_metrics(feb_db, *FEB, params=SMALL)
    assert result["start"] == "2026-02-01" and result["end"] == "2026-02-28"
    assert result["params"] == {
        "threshold": 0.10, "lowball": 0.05, "min_n": 3, "confidence": 0.95, "min_n_rate": 3,
        "min_n_named": 30,
    }  # fmt: skip
    assert result["category"] is None and result["synthetic_cases"] == 0
    assert list(result["overall"]) == [
        *BLOCK_FIELDS,
        "detectable_change",
        "previous_start",
        "previous_end",
    ]
    assert (result["overall"]["previous_start"], result["overall"]["previous_end"]) == (
        "2026-01-01",
        "2026-01-31",
    )  # February is a calendar month: compared with January
    assert list(result["by_category"]["machinery"]) == [*BLOCK_FIELDS, *POOLED_FIELDS]
    assert list(result["pooling"]) == ["by_category", "by_claim_type"]
    # Every slug with a case opened or closed in February, and no other (packaging, P1, is out).
    assert list(result["by_category"]) == ["apparel_textiles", "electronics", "machinery"]
    assert list(result["by_claim_type"]) == [
        "compliance",
        "damaged",
        "late_shipment",
        "non_delivery",
        "quality",
        "quantity",
    ]
    # JSON-ready: only plain Python scalars, no NaN.
    json.dumps(result, allow_nan=False)
    assert {type(v) for v in leaves(result)} <= {int, float, str, bool, type(None)}


def test_by_category_blocks_by_hand(feb_db):
    by_category = outcome_metrics(feb_db, *FEB, params=SMALL)["by_category"]
    m = by_category["machinery"]
    # machinery: opened M3 M4 M6 = 3; closed M1..M5 = 5, all decided; M5 replacement.
    # supplier-sided M1 M3 -> 2/5 = 0.4, Wilson [0.117621, 0.769276].
    # claimed 10000 + 1000 + 10000 + 2000 = 23000; refunded 0 + 100 + 150 + 2000 = 2250.
    # ratios 0, 0.015, 0.1, 1 -> median (0.015 + 0.1) / 2 = 0.0575.
    # escalated M1 M3 = 2/5; days 27 20 10 20 20 -> median 20.
    assert (m["cases_opened"], m["cases_closed"], m["decided"], m["lapsed"]) == (3, 5, 5, 0)
    assert (m["replacement"], m["monetary_decisions"], m["supplier_sided"]) == (1, 4, 2)
    assert m["supplier_sided_rate"] == pytest.approx(0.4)
    assert (m["supplier_sided_ci_low"], m["supplier_sided_ci_high"]) == pytest.approx(
        (0.117621, 0.769276), abs=1e-5
    )
    assert (m["claimed_usd"], m["refunded_usd"]) == pytest.approx((23000, 2250))
    assert m["refund_ratio_pooled"] == pytest.approx(2250 / 23000)
    assert m["refund_ratio_median"] == pytest.approx(0.0575)
    assert (m["lowball"], m["escalation_rate"], m["median_days_to_close"]) == (1, 0.4, 20)

    a = by_category["apparel_textiles"]
    # apparel: opened A1 A2 = 2; closed A1..A4 = 4; decided A1 A2 A3 = 3, all supplier-sided:
    # 3/3 = 1.0, Wilson [3 / (3 + 1.959964^2), 1] = [0.438503, 1].
    # claimed 1100 + 2200 + 1000 = 4300 USD; refunded 0 + 109.989 + 50 = 159.989 USD.
    # days 25 20 36 6 -> sorted 6 20 25 36 -> median (20 + 25) / 2 = 22.5.
    assert (a["cases_opened"], a["cases_closed"], a["decided"], a["withdrawn"]) == (2, 4, 3, 1)
    assert a["supplier_sided_rate"] == 1.0
    assert a["supplier_sided_ci_low"] == pytest.approx(0.438503, abs=1e-5)
    assert (a["claimed_usd"], a["refunded_usd"]) == pytest.approx((4300, 159.989))
    assert a["refund_ratio_pooled"] == pytest.approx(159.989 / 4300)
    assert a["refund_ratio_median"] == pytest.approx(0.049995)  # 0, 0.049995, 0.05
    assert (a["lowball"], a["escalation_rate"], a["median_days_to_close"]) == (1, 0.25, 22.5)

    e = by_category["electronics"]
    # electronics: opened E1 E2 E3 = 3, closed E1 E2 = 2 (both lapsed), decided 0 < 3:
    # suppressed; counts and sums stay, every rate/ratio/interval/median is null.
    assert e["suppressed"] is True
    assert (e["cases_opened"], e["cases_closed"], e["decided"], e["lapsed"]) == (3, 2, 0, 2)
    assert (e["cancelled"], e["out_of_coverage"], e["escalated"]) == (1, 1, 1)
    assert e["claimed_usd"] == 0.0 and e["refunded_usd"] == 0.0
    for name in metric_blocks.SUPPRESSIBLE:
        assert e[name] is None, name


def test_by_claim_type_blocks(feb_db):
    by_type = outcome_metrics(feb_db, *FEB, params=SMALL)["by_claim_type"]
    q = by_type["quality"]
    # quality: closed M1 M3 M4 M5 A1 A2 = 6 decided; sided M1 M3 A1 A2 = 4 -> 4/6;
    # lowball M3 A2 = 2; escalated M1 M3 A2 = 3/6; opened M3 M4 A1 A2 E3 M6 = 6.
    assert (q["cases_opened"], q["decided"], q["supplier_sided"], q["lowball"]) == (6, 6, 4, 2)
    assert q["supplier_sided_rate"] == pytest.approx(4 / 6)
    assert q["escalation_rate"] == pytest.approx(0.5)
    # compliance (M2, exactly 10%) and quantity (A3, 5%): one decided case each -> suppressed.
    assert by_type["compliance"]["supplier_sided"] == 0
    assert by_type["quantity"]["supplier_sided"] == 1
    assert by_type["compliance"]["suppressed"] and by_type["quantity"]["suppressed"]


def test_all_groups_suppressed_with_default_min_n(feb_db):
    # Default min_n = 30 and 8 decided cases: the whole period and every group are suppressed.
    result = outcome_metrics(feb_db, *FEB)
    blocks = [result["overall"], *result["by_category"].values(), *result["by_claim_type"].values()]
    assert all(b["suppressed"] for b in blocks)
    assert all(b[name] is None for b in blocks for name in metric_blocks.SUPPRESSIBLE)
    # ...while the counts and sums are unchanged.
    assert result["overall"]["decided"] == 8 and result["overall"]["supplier_sided"] == 5
    assert result["overall"]["claimed_usd"] == pytest.approx(27300.0)


def test_min_n_boundary_is_inclusive(feb_db):
    # machinery has exactly 5 decided cases: shown at min_n 5, suppressed at min_n 6.
    assert not outcome_metrics(feb_db, *FEB, Params(min_n=5))["by_category"]["machinery"][
        "suppressed"
    ]
    assert outcome_metrics(feb_db, *FEB, Params(min_n=6))["by_category"]["machinery"]["suppressed"]


def test_category_filter(feb_db):
    result = outcome_metrics(feb_db, *FEB, params=SMALL, category="apparel_textiles")
    assert result["category"] == "apparel_textiles"
    assert list(result["by_category"]) == ["apparel_textiles"]
    only = result["by_category"]["apparel_textiles"]
    assert {k: result["overall"][k] for k in BLOCK_FIELDS} == {k: only[k] for k in BLOCK_FIELDS}
    # apparel's claim types: A1 A2 quality, A3 quantity, A4 damaged.
    assert list(result["by_claim_type"]) == ["damaged", "quality", "quantity"]
    with pytest.raises(BadParameter, match="no case in the store has it"):
        outcome_metrics(feb_db, *FEB, category="toys_sports")


def test_bad_window_and_missing_store(feb_db, tmp_path):
    with pytest.raises(BadParameter, match="is before start"):
        outcome_metrics(feb_db, "2026-02-28", "2026-02-01")
    with pytest.raises(BadParameter, match="not a valid date"):
        outcome_metrics(feb_db, "2026-02-30", "2026-03-01")
    with pytest.raises(StoreMissing):
        outcome_metrics(tmp_path / "nothing.duckdb", *FEB)


def test_threshold_boundary_is_exact_decimal(tmp_path):
    db = build_store(
        tmp_path / "t.duckdb",
        [
            # 7.00 of 100.00 at threshold 0.07: exactly at the threshold, not supplier-sided.
            # (In floating point 0.07 * 100 = 7.000000000000001 and 7.0 would count.)
            make_case(outcome="partial_refund", claim_amount="100.00", refund_amount="7.00",
                      closed_date="2026-02-10"),
            # 6.99 of 100.00: below, supplier-sided.
            make_case(outcome="partial_refund", claim_amount="100.00", refund_amount="6.99",
                      closed_date="2026-02-10"),
            # In EUR at 1.1: 70.00 of 1000.00 -> exactly 7% in either currency: not sided.
            make_case(outcome="partial_refund", currency="EUR", usd_per_unit=1.1,
                      claim_amount="1000.00", refund_amount="70.00", closed_date="2026-02-10"),
        ],
    )  # fmt: skip
    o = outcome_metrics(db, *FEB, Params(threshold=0.07, min_n=0))["overall"]
    assert (o["decided"], o["supplier_sided"]) == (3, 1)
    # At the default 10% all three are below the threshold.
    assert outcome_metrics(db, *FEB, Params(min_n=0))["overall"]["supplier_sided"] == 3


def test_a_third_decimal_counts_in_the_threshold_and_lowball_rules(tmp_path):
    # issue 24.6: amounts were weighed at the cent (0.125 KWD as 0.13), so a refund just under
    # half its claim (0.125 of 0.251: 49.8%) did not count as below a threshold of one half
    db = build_store(
        tmp_path / "kwd.duckdb",
        [
            make_case(outcome="partial_refund", currency="KWD", claim_amount="0.251",
                      refund_amount="0.125", closed_date="2026-02-10"),
            # exactly one half: not below it
            make_case(outcome="partial_refund", currency="KWD", claim_amount="0.250",
                      refund_amount="0.125", closed_date="2026-02-10"),
        ],
    )  # fmt: skip
    result = outcome_metrics(db, *FEB, Params(threshold=0.5, lowball=0.5, min_n=0))
    assert (result["overall"]["supplier_sided"], result["overall"]["lowball"]) == (1, 1)
    half = next(
        r for r in result["sensitivity"] if r["threshold"] == 0.5 and not r["lapsed_counted"]
    )
    assert half["supplier_sided"] == 1


def test_lowball_edges(tmp_path):
    db = build_store(
        tmp_path / "l.duckdb",
        [
            make_case(outcome="no_refund", refund_amount=0, closed_date="2026-02-10"),  # refusal
            make_case(outcome="partial_refund", refund_amount="0.01", closed_date="2026-02-10"),
            make_case(outcome="partial_refund", refund_amount="499.99", closed_date="2026-02-10"),
            make_case(outcome="partial_refund", refund_amount="500.00", closed_date="2026-02-10"),
            make_case(outcome="partial_refund", refund_amount="999.99", closed_date="2026-02-10"),
        ],
    )
    # Claims of 10,000: lowball below 500 and above 0 -> 0.01 and 499.99 = 2.
    # Supplier-sided below 1,000: all five.
    o = outcome_metrics(db, *FEB, Params(min_n=0))["overall"]
    assert (o["lowball"], o["supplier_sided"]) == (2, 5)
    # A lowball threshold of 0.10 also catches 500.00 and 999.99 (still not the zero refund).
    assert outcome_metrics(db, *FEB, Params(lowball=0.10, min_n=0))["overall"]["lowball"] == 4


def test_no_decided_cases(tmp_path):
    db = build_store(
        tmp_path / "n.duckdb",
        [
            make_case(outcome="withdrawn", opened_date="2026-02-01", closed_date="2026-02-05",
                      escalated_date="2026-02-03"),  # 4 days, escalated
            make_case(outcome="cancelled", opened_date="2026-02-01", closed_date="2026-02-11"),
        ],
    )  # fmt: skip
    o = outcome_metrics(db, *FEB, Params(min_n=0))["overall"]
    # Nothing decided: no supplier-sided rate or interval and no money, even with min_n 0.
    assert (o["cases_closed"], o["decided"], o["lapsed"], o["monetary_decisions"]) == (2, 0, 2, 0)
    assert o["supplier_sided_rate"] is None and o["supplier_sided_ci_low"] is None
    assert o["refund_ratio_pooled"] is None and o["refund_ratio_median"] is None
    assert o["claimed_usd"] == 0.0
    # ...but the closed cases still have an escalation rate (1/2) and median days ((4+10)/2).
    assert (o["escalation_rate"], o["median_days_to_close"]) == (0.5, 7.0)
    assert o["suppressed"] is False


def test_open_cases_only(tmp_path):
    db = build_store(
        tmp_path / "o.duckdb",
        [make_case(outcome="open", opened_date=f"2026-02-{d:02d}") for d in (3, 9, 27)],
    )
    result = outcome_metrics(db, *FEB)
    o = result["overall"]
    assert o["cases_opened"] == 3
    assert all(o[k] == 0 for k in ("cases_closed", "decided", "lapsed", "supplier_sided"))
    assert o["suppressed"] is True
    assert all(o[k] is None for k in metric_blocks.SUPPRESSIBLE)
    assert list(result["by_category"]) == ["machinery"]
    # The month before has nothing at all: a zero block, no groups.
    january = outcome_metrics(db, "2026-01-01", "2026-01-31")
    assert january["overall"]["cases_opened"] == 0 and january["by_category"] == {}


def test_empty_store(tmp_path):
    db = build_store(tmp_path / "e.duckdb", [])
    result = outcome_metrics(db, *FEB, Params(min_n=0))
    assert result["overall"]["cases_closed"] == 0
    assert result["overall"]["supplier_sided_rate"] is None
    assert result["by_category"] == {} and result["by_claim_type"] == {}
    # Every other view copes with nothing: zero rows, or zero blocks where a row is promised.
    assert block_frame(db, *FEB)["cases_opened"].tolist() == [0]
    assert block_frame(db, *FEB, "evidence").empty
    assert heatmap_frame(db, *FEB).empty
    months = monthly_series(db, "2026-02-28", months=2)
    assert months["month"].tolist() == ["2026-01", "2026-02"]
    assert months["decided"].tolist() == [0, 0] and months["suppressed"].all()
    change = change_vs_previous(db, "2026-02").set_index("metric")
    assert change.loc["decided", "current"] == 0 and not change["flagged"].any()
    resolution = time_to_resolution(db, *FEB)
    assert resolution["overall"]["n"] == 0 and resolution["groups"] == {}
    assert supplier_comparison(db, *FEB) == []


def test_currency_conversion_sums(tmp_path):
    db = build_store(
        tmp_path / "fx.duckdb",
        [
            # 1000 EUR at 1.1 -> 1100 USD claimed, 400.50 EUR -> 440.55 USD refunded
            make_case(outcome="partial_refund", currency="EUR", usd_per_unit=1.1,
                      claim_amount=1000, refund_amount="400.50", closed_date="2026-02-10"),
            # 500 GBP at 1.25 -> 625 USD claimed, all refunded
            make_case(outcome="full_refund", currency="GBP", usd_per_unit=1.25,
                      claim_amount=500, closed_date="2026-02-11"),
            # 2000 USD, nothing back
            make_case(outcome="no_refund", claim_amount=2000, closed_date="2026-02-12"),
        ],
    )  # fmt: skip
    o = outcome_metrics(db, *FEB, Params(min_n=0))["overall"]
    # claimed 1100 + 625 + 2000 = 3725; refunded 440.55 + 625 + 0 = 1065.55
    assert o["claimed_usd"] == pytest.approx(3725.0)
    assert o["refunded_usd"] == pytest.approx(1065.55)
    assert o["refund_ratio_pooled"] == pytest.approx(1065.55 / 3725)  # 0.286054
    # Per-case ratios in the original currency: 0.4005, 1, 0 -> median 0.4005
    assert o["refund_ratio_median"] == pytest.approx(0.4005)


def test_every_closed_case_is_counted_for_the_buyer(feb_db):
    result = outcome_metrics(feb_db, *FEB, params=SMALL)
    # Closed in February (11): money back M2 (exactly 10%), M4 (full); a token M3 (1.5%),
    # A2 (4.9995%), A3 (5%); nothing M1, A1; replaced M5; cancelled E1; out of coverage E2;
    # withdrawn A4.
    assert result["buyer_outcomes"] == {
        "money_back": 2, "token": 3, "nothing": 2, "replacement": 1, "cancelled": 1,
        "out_of_coverage": 1, "withdrawn": 1,
    }  # fmt: skip
    assert sum(result["buyer_outcomes"].values()) == result["overall"]["cases_closed"]
    o = result["overall"]
    # lost: token 3 + nothing 2 + cancelled 1 + out of coverage 1 = 7 of 11 - 1 withdrawn = 10
    assert (o["buyer_lost"], o["buyer_lost_base"]) == (7, 10)
    assert o["buyer_lost_rate"] == pytest.approx(0.7)
    # Wilson 7/10: [0.396778, 0.892211]
    assert (o["buyer_lost_ci_low"], o["buyer_lost_ci_high"]) == pytest.approx(
        (0.396778, 0.892211), abs=1e-5
    )
    # all the money claimed in closed cases: the 27300 decided on money, M5's 3000 (replaced)
    # and 10000 each for A4, E1, E2 (the factory's default claim) = 60300; refunds 2409.989
    assert o["claimed_usd_closed"] == pytest.approx(60300.0)
    assert o["refunded_usd_closed"] == pytest.approx(2409.989)
    assert o["refund_ratio_closed"] == pytest.approx(2409.989 / 60300)


def test_the_buyer_lost_rate_follows_the_small_group_rule(feb_db):
    # 10 in its denominator: shown from min_n_rate 10, withheld from 11
    shown = outcome_metrics(feb_db, *FEB, params=Params(min_n=11, min_n_rate=10))["overall"]
    assert shown["buyer_lost_rate"] == pytest.approx(0.7)
    withheld = outcome_metrics(feb_db, *FEB, params=Params(min_n=11, min_n_rate=11))["overall"]
    assert withheld["buyer_lost_rate"] is None and withheld["buyer_lost"] == 7


def test_the_sensitivity_table_by_hand(feb_db):
    table = outcome_metrics(feb_db, *FEB, params=SMALL)["sensitivity"]
    rows = {(r["threshold"], r["lapsed_counted"]): r for r in table}
    assert list(rows) == [(0.1, False), (0.1, True), (0.25, False), (0.25, True),
                          (0.5, False), (0.5, True)]  # fmt: skip
    # Below 10%: M1 M3 A1 A2 A3 = 5 of 8 decided; with E1 (cancelled) and E2 (out of coverage)
    # counted as losses 7 of 10 (the withdrawal A4 is not a loss). Below 25% and 50% M2 (10%)
    # joins: 6 of 8, 8 of 10 (M4 got everything back).
    assert [(r["supplier_sided"], r["denominator"]) for r in table] == [
        (5, 8), (7, 10), (6, 8), (8, 10), (6, 8), (8, 10),
    ]  # fmt: skip
    assert rows[(0.1, False)]["rate"] == pytest.approx(0.625)
    # the headline's own threshold gives the headline's own figures
    assert rows[(0.1, False)]["supplier_sided"] == 5
    assert (rows[(0.1, True)]["ci_low"], rows[(0.1, True)]["ci_high"]) == pytest.approx(
        (0.396778, 0.892211), abs=1e-5
    )


def test_the_contract_carries_the_new_figures(feb_db):
    result = outcome_metrics(feb_db, *FEB, params=SMALL)
    assert result["synthetic"] is False
    assert {"buyer_outcomes", "sensitivity", "supplier_comparison", "adjusted_effects",
            "as_of"} <= set(result)  # fmt: skip
    assert result["params"]["min_n_rate"] == 3 and result["params"]["min_n_named"] == 30
    # eight decided cases cannot carry a model, and nobody has 30 decided cases
    assert result["adjusted_effects"] == {
        "not_fitted": "only 8 decided case(s); the model is fitted from 200"
    }
    assert result["adjusted_effects_with_escalation"] == result["adjusted_effects"]
    assert result["supplier_comparison"] == []
    assert {"buyer_lost_rate", "buyer_lost_ci_low", "buyer_lost_ci_high"} <= set(result["overall"])
    json.dumps(result, allow_nan=False)
