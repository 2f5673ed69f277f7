"""Outcome metrics (analysis/metrics.py) on hand-built stores; every figure worked out by hand."""

from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from analysis import metrics
from analysis.errors import BadParameter
from analysis.metrics import (
    BLOCK_FIELDS,
    DEFINITIONS,
    Params,
    block_frame,
    change_vs_previous,
    heatmap_frame,
    monthly_series,
    outcome_metrics,
    supplier_watchlist,
    time_to_resolution,
)
from analysis.metrics import blocks as metric_blocks
from analysis.report import console
from analysis.store import StoreMissing
from tests.casefactory import build_store, make_case

FEB = ("2026-02-01", "2026-02-28")
SMALL = Params(min_n=3)  # small enough for the hand-built groups to show their rates

# The February store. Days to close in brackets; all amounts USD unless stated.
FEBRUARY_CASES = [
    # machinery
    dict(case_id="M1", category="machinery", claim_type="quality", outcome="no_refund",
         claim_amount=10000, refund_amount=0, opened_date="2026-01-05",
         closed_date="2026-02-01", escalated_date="2026-01-12", evidence=["photos"]),  # [27]
    # refund exactly 10% of the claim: NOT supplier-sided
    dict(case_id="M2", category="machinery", claim_type="compliance", outcome="partial_refund",
         claim_amount=1000, refund_amount=100, opened_date="2026-01-20",
         closed_date="2026-02-09", evidence=["photos", "inspection_report"]),  # [20]
    # $150 on $10,000: supplier-sided and lowball
    dict(case_id="M3", category="machinery", claim_type="quality", outcome="partial_refund",
         claim_amount=10000, refund_amount=150, opened_date="2026-02-02",
         closed_date="2026-02-12", escalated_date="2026-02-06"),  # [10]
    dict(case_id="M4", category="machinery", claim_type="quality", outcome="full_refund",
         claim_amount=2000, refund_amount=2000, opened_date="2026-02-01",
         closed_date="2026-02-21"),  # [20]
    dict(case_id="M5", category="machinery", claim_type="quality", outcome="replacement",
         claim_amount=3000, refund_amount=None, opened_date="2026-01-25",
         closed_date="2026-02-14"),  # [20]
    # apparel, two of them in EUR at 1.1 USD per EUR
    dict(case_id="A1", category="apparel_textiles", claim_type="quality", outcome="no_refund",
         currency="EUR", usd_per_unit=1.1, claim_amount=1000, refund_amount=0,
         opened_date="2026-02-03", closed_date="2026-02-28",
         evidence=["photos", "video"]),  # [25] claim 1100 USD
    # 99.99 of 2000 EUR = 4.9995%: lowball and supplier-sided
    dict(case_id="A2", category="apparel_textiles", claim_type="quality",
         outcome="partial_refund", currency="EUR", usd_per_unit=1.1, claim_amount=2000,
         refund_amount="99.99", opened_date="2026-02-04", closed_date="2026-02-24",
         escalated_date="2026-02-10"),  # [20] claim 2200 USD, refund 109.989 USD
    # exactly 5%: supplier-sided but NOT lowball
    dict(case_id="A3", category="apparel_textiles", claim_type="quantity",
         outcome="partial_refund", claim_amount=1000, refund_amount=50,
         opened_date="2026-01-10", closed_date="2026-02-15"),  # [36]
    dict(case_id="A4", category="apparel_textiles", claim_type="damaged", outcome="withdrawn",
         opened_date="2026-01-28", closed_date="2026-02-03"),  # [6]
    # electronics: lapsed and open only
    dict(case_id="E1", category="electronics", claim_type="late_shipment", outcome="cancelled",
         opened_date="2026-02-10", closed_date="2026-02-20"),  # [10]
    dict(case_id="E2", category="electronics", claim_type="non_delivery",
         outcome="out_of_coverage", opened_date="2026-02-11", closed_date="2026-02-13",
         escalated_date="2026-02-12"),  # [2]
    dict(case_id="E3", category="electronics", claim_type="quality", outcome="open",
         opened_date="2026-02-20"),
    # intake only: opened in February, closed in March
    dict(case_id="M6", category="machinery", claim_type="quality", outcome="no_refund",
         opened_date="2026-02-25", closed_date="2026-03-02"),
    # before the period: opened December, closed 31 January
    dict(case_id="M7", category="machinery", claim_type="quality", outcome="no_refund",
         opened_date="2025-12-01", closed_date="2026-01-31"),
    # neither opened nor closed in February: packaging must not appear at all
    dict(case_id="P1", category="packaging", claim_type="quality", outcome="open",
         opened_date="2026-01-15"),
]  # fmt: skip


@pytest.fixture(scope="module")
def feb_db(tmp_path_factory) -> Path:
    return build_store(tmp_path_factory.mktemp("feb") / "cases.duckdb", FEBRUARY_CASES)


def _leaves(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    else:
        yield value


# ------------------------------------------------------------------------------ the JSON block


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
    assert result["params"] == {"threshold": 0.10, "lowball": 0.05, "min_n": 3, "confidence": 0.95}
    assert result["category"] is None and result["synthetic_cases"] == 0
    assert list(result["overall"]) == list(BLOCK_FIELDS)
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
    assert {type(v) for v in _leaves(result)} <= {int, float, str, bool, type(None)}


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
    assert result["overall"] == result["by_category"]["apparel_textiles"]
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


# --------------------------------------------------------------------------------------- edges


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
    assert supplier_watchlist(db, "2026-02-28").empty


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


# --------------------------------------------------------------------------------- breakdowns


def test_outcome_metrics_and_block_frame_are_one_definition(feb_db):
    # The JSON's blocks and the notebooks' frames come from the same code: equal field by field.
    result = outcome_metrics(feb_db, *FEB, params=SMALL)
    overall = block_frame(feb_db, *FEB, None, SMALL)
    assert overall["group"].tolist() == ["all"]
    assert metric_blocks.block_dict(overall.iloc[0]) == result["overall"]
    for by, key in (("category", "by_category"), ("claim_type", "by_claim_type")):
        frame = block_frame(feb_db, *FEB, by, SMALL)
        assert {
            row["group"]: metric_blocks.block_dict(row) for _, row in frame.iterrows()
        } == result[key]


def test_breakdown_by_evidence_counts_each_kind(feb_db):
    frame = block_frame(feb_db, *FEB, "evidence", SMALL).set_index("group")
    # Closed in February with evidence: M1 [photos], M2 [photos, inspection_report],
    # A1 [photos, video]; the other 8 closed cases have none.
    assert frame["cases_closed"].to_dict() == {
        "inspection_report": 1,
        "none": 8,
        "photos": 3,
        "video": 1,
    }
    # Opened in February: A1 has evidence; M3 M4 A2 E1 E2 E3 M6 (7) have none.
    assert frame.loc["none", "cases_opened"] == 7 and frame.loc["photos", "cases_opened"] == 1
    # photos: M1 (sided), M2 (not), A1 (sided) -> 2 of 3 decided = 0.667 (3 >= min_n 3).
    assert frame.loc["photos", "supplier_sided_rate"] == pytest.approx(2 / 3)
    assert bool(frame.loc["video", "suppressed"])


def test_breakdown_by_escalation_and_unknowns(feb_db):
    frame = block_frame(feb_db, *FEB, "escalated", SMALL).set_index("group")
    # Escalated and closed: M1 M3 A2 E2 = 4; not escalated: the other 7 closed.
    assert frame["cases_closed"].to_dict() == {"escalated": 4, "not_escalated": 7}
    assert frame.loc["escalated", "escalation_rate"] == 1.0
    # decided_by and inspection were never given: everything is 'unknown'.
    assert block_frame(feb_db, *FEB, "decided_by", SMALL)["group"].tolist() == ["unknown"]
    assert block_frame(feb_db, *FEB, "inspection", SMALL)["group"].tolist() == ["unknown"]
    assert block_frame(feb_db, *FEB, "supplier_country", SMALL)["group"].tolist() == ["CN"]
    with pytest.raises(BadParameter, match="breakdown 'colour' unknown"):
        block_frame(feb_db, *FEB, "colour")


def test_order_value_bands(tmp_path):
    values = ["999.99", "1000.00", "4999.99", "5000.00", "19999.99", "20000.00", "100000.00"]
    cases = [
        make_case(
            outcome="no_refund", order_value=v, claim_amount="10.00", closed_date="2026-02-10"
        )
        for v in values
    ]
    # 950 EUR at 1.1 = 1045 USD: banded on the dollar value -> 1k_5k.
    cases.append(
        make_case(outcome="no_refund", currency="EUR", usd_per_unit=1.1, order_value=950,
                  claim_amount=10, closed_date="2026-02-10")
    )  # fmt: skip
    db = build_store(tmp_path / "bands.duckdb", cases)
    frame = block_frame(db, *FEB, "order_value_band", Params(min_n=0))
    # In band order, not alphabetical.
    assert frame["group"].tolist() == ["under_1k", "1k_5k", "5k_20k", "20k_100k", "100k_plus"]
    assert frame["cases_closed"].tolist() == [1, 3, 2, 1, 1]


def test_breakdown_by_supplier(tmp_path):
    db = build_store(
        tmp_path / "s.duckdb",
        [
            make_case(supplier_id="S1", outcome="no_refund", closed_date="2026-02-03"),
            make_case(supplier_id="S1", outcome="full_refund", closed_date="2026-02-04"),
            make_case(supplier_id="S2", outcome="no_refund", closed_date="2026-02-05"),
        ],
    )
    frame = block_frame(db, *FEB, "supplier_id", Params(min_n=2)).set_index("group")
    # S1: 1 of 2 sided -> 0.5; S2: 1 decided < 2 -> suppressed.
    assert frame.loc["S1", "supplier_sided_rate"] == 0.5
    assert bool(frame.loc["S2", "suppressed"]) and math.isnan(
        frame.loc["S2", "supplier_sided_rate"]
    )


def test_heatmap_frame(feb_db):
    frame = heatmap_frame(feb_db, *FEB, SMALL)
    pairs = list(zip(frame["category"], frame["claim_type"], strict=True))
    assert pairs == [
        ("apparel_textiles", "damaged"),
        ("apparel_textiles", "quality"),
        ("apparel_textiles", "quantity"),
        ("electronics", "late_shipment"),
        ("electronics", "non_delivery"),
        ("electronics", "quality"),
        ("machinery", "compliance"),
        ("machinery", "quality"),
    ]
    cell = frame.set_index(["category", "claim_type"])
    # machinery x quality: M1 M3 M4 M5 decided, M1 M3 sided -> 2/4 = 0.5.
    assert cell.loc[("machinery", "quality"), "supplier_sided_rate"] == 0.5
    # apparel x quality: A1 A2, 2 decided < 3 -> NaN and flagged suppressed.
    assert math.isnan(cell.loc[("apparel_textiles", "quality"), "supplier_sided_rate"])
    assert bool(cell.loc[("apparel_textiles", "quality"), "suppressed"])
    assert cell.loc[("apparel_textiles", "quality"), "supplier_sided"] == 2


# ------------------------------------------------------------------------------ monthly series


def test_monthly_series(feb_db):
    frame = monthly_series(feb_db, "2026-02-28", months=4, params=SMALL)
    assert frame["month"].tolist() == ["2025-11", "2025-12", "2026-01", "2026-02"]
    # Nov: nothing. Dec: M7 opened. Jan: opened M1 M2 M5 A3 A4 P1 = 6; closed M7 (sided) = 1.
    # Feb: as the overall block (opened 8, closed 11, decided 8, sided 5).
    assert frame["cases_opened"].tolist() == [0, 1, 6, 8]
    assert frame["cases_closed"].tolist() == [0, 0, 1, 11]
    assert frame["decided"].tolist() == [0, 0, 1, 8]
    assert frame["supplier_sided"].tolist() == [0, 0, 1, 5]
    assert frame["suppressed"].tolist() == [True, True, True, False]
    assert frame["supplier_sided_rate"].iloc[3] == pytest.approx(0.625)
    assert frame["supplier_sided_rate"].iloc[:3].isna().all()
    assert frame["complete"].all()
    # The February row is the same block as the JSON's overall (one definition).
    feb_json = outcome_metrics(feb_db, *FEB, params=SMALL)["overall"]
    assert metric_blocks.block_dict(frame.iloc[3]) == feb_json


def test_monthly_series_stops_at_end(feb_db):
    frame = monthly_series(feb_db, date(2026, 2, 14), months=2, params=Params(min_n=0))
    assert frame["month"].tolist() == ["2026-01", "2026-02"]
    # February up to the 14th: closed M1 (1st) A4 (3rd) M2 (9th) M3 (12th) E2 (13th) M5 (14th)
    # = 6; opened M4 (1st) M3 (2nd) A1 (3rd) A2 (4th) E1 (10th) E2 (11th) = 6.
    assert frame["cases_closed"].tolist() == [1, 6]
    assert frame["cases_opened"].tolist() == [6, 6]
    assert frame["complete"].tolist() == [True, False]
    assert frame["month_end"].tolist() == [date(2026, 1, 31), date(2026, 2, 14)]


# ----------------------------------------------------------------------- change vs previous


def _change_store(db: Path, previous_sided: int, previous_decided: int = 40) -> Path:
    """February: 40 no_refund/full_refund decisions, 30 of them refusals. January (closed on the
    10th): ``previous_decided`` decisions, ``previous_sided`` refusals. Plus two refusals closed
    on 2 January, inside January but outside the 28 days before 1 February."""
    cases = [
        make_case(outcome="no_refund" if i < 30 else "full_refund",
                  opened_date="2026-02-01", closed_date="2026-02-20")
        for i in range(40)
    ] + [
        make_case(outcome="no_refund" if i < previous_sided else "full_refund",
                  opened_date="2026-01-01", closed_date="2026-01-10")
        for i in range(previous_decided)
    ] + [
        make_case(outcome="no_refund", opened_date="2025-12-20", closed_date="2026-01-02")
        for _ in range(2)
    ]  # fmt: skip
    return build_store(db, cases)


def test_change_vs_previous_flags_a_significant_change(tmp_path):
    db = _change_store(tmp_path / "c.duckdb", previous_sided=10)
    # The range 1-28 Feb is compared with the 28 days before: 4-31 January, which leaves out
    # the two cases of 2 January: 30/40 against 10/40.
    # pooled p = 40/80 = 0.5, se = sqrt(0.5 * 0.5 * (1/40 + 1/40)) = 0.111803,
    # z = 0.5 / 0.111803 = 4.472136, p = 2 * (1 - Phi(4.472136)) = 7.744e-6 < 0.05 -> flagged.
    frame = change_vs_previous(db, "2026-02-01:2026-02-28", Params(min_n=30)).set_index("metric")
    assert frame.attrs["previous_start"] == "2026-01-04"
    assert frame.attrs["previous_end"] == "2026-01-31"
    row = frame.loc["supplier_sided_rate"]
    assert (row["current"], row["previous"], row["difference"]) == pytest.approx((0.75, 0.25, 0.5))
    assert row["p_value"] == pytest.approx(7.744e-6, rel=1e-3)
    assert bool(row["flagged"]) and (row["current_n"], row["previous_n"]) == (40, 40)
    # Nobody escalated in either period: 0/40 against 0/40, p = 1, not flagged.
    assert frame.loc["escalation_rate", "p_value"] == 1.0
    assert not frame.loc["escalation_rate", "flagged"]
    # Counts: difference only, never a test.
    assert frame.loc["decided", "difference"] == 0
    assert pd.isna(frame.loc["decided", "p_value"]) and not frame.loc["decided", "flagged"]

    # As a calendar month, February's previous period is all of January: 42 decided.
    month = change_vs_previous(db, "2026-02", Params(min_n=30)).set_index("metric")
    assert month.attrs["previous"] == "2026-01"
    assert month.loc["decided", "previous"] == 42


def test_change_vs_previous_not_significant(tmp_path):
    db = _change_store(tmp_path / "c.duckdb", previous_sided=26)
    # 30/40 against 26/40: pooled 56/80 = 0.7, se = sqrt(0.7 * 0.3 * 0.05) = 0.102470,
    # z = 0.1 / 0.102470 = 0.975900, p = 0.329 > 0.05 -> not flagged.
    row = (
        change_vs_previous(db, "2026-02-01:2026-02-28")
        .set_index("metric")
        .loc["supplier_sided_rate"]
    )
    assert row["p_value"] == pytest.approx(0.3291, abs=1e-3)
    assert not row["flagged"]


def test_change_vs_previous_needs_both_periods_unsuppressed(tmp_path):
    # January has 20 decided (< 30): however large the change, nothing is flagged or tested.
    db = _change_store(tmp_path / "c.duckdb", previous_sided=0, previous_decided=20)
    frame = change_vs_previous(db, "2026-02-01:2026-02-28").set_index("metric")
    row = frame.loc["supplier_sided_rate"]
    assert pd.isna(row["previous"]) and pd.isna(row["difference"])
    assert pd.isna(row["p_value"]) and not row["flagged"] and not row["comparable"]
    assert frame.attrs["previous_suppressed"] and not frame.attrs["current_suppressed"]
    assert frame.loc["decided", "previous"] == 20


# -------------------------------------------------------------------------- time to resolution


@pytest.fixture(scope="module")
def km_db(tmp_path_factory) -> Path:
    march = dict(category="machinery", outcome="no_refund")
    cases = [
        dict(march, case_id="K1", opened_date="2026-03-01", closed_date="2026-03-03"),  # 2
        dict(march, case_id="K2", opened_date="2026-03-01", closed_date="2026-03-04"),  # 3
        dict(march, case_id="K3", outcome="open", opened_date="2026-03-28"),  # open: censored 3
        dict(march, case_id="K4", opened_date="2026-03-02", closed_date="2026-03-07"),  # 5
        # closed after the end (10 April): censored at 31 March - 23 March = 8
        dict(march, case_id="K5", opened_date="2026-03-23", closed_date="2026-04-10"),
        # a withdrawal is a resolution too
        dict(march, case_id="K6", outcome="withdrawn", opened_date="2026-03-01",
             closed_date="2026-03-11"),  # 10
        # opened in February: not in March's curve
        dict(march, case_id="K0", opened_date="2026-02-20", closed_date="2026-03-05"),
        dict(case_id="X1", category="electronics", opened_date="2026-03-10",
             closed_date="2026-03-11"),  # 1
        dict(case_id="X2", category="electronics", outcome="open",
             opened_date="2026-03-15"),  # censored 16
    ]  # fmt: skip
    return build_store(tmp_path_factory.mktemp("km") / "cases.duckdb", cases)


def test_time_to_resolution_by_hand(km_db):
    result = time_to_resolution(km_db, "2026-03-01", "2026-03-31", params=Params(min_n=6))
    overall = result["overall"]
    # All 8 opened in March: 1, 2, 3, 3+, 5, 8+, 10, 16+ (+ = censored).
    # t=1: 7/8 = 0.875; t=2: x 6/7 = 0.75; t=3: 6 at risk -> x 5/6 = 0.625;
    # t=5: 4 at risk (5, 8+, 10, 16+) -> x 3/4 = 0.46875 <= 0.5 -> median 5;
    # t=10: 2 at risk -> x 1/2 = 0.234375.
    assert (overall["n"], overall["events"], overall["censored"]) == (8, 5, 3)
    assert overall["curve"]["days"].tolist() == [0, 1, 2, 3, 5, 10]
    assert overall["curve"]["survival"].tolist() == pytest.approx(
        [1, 0.875, 0.75, 0.625, 0.46875, 0.234375]
    )
    assert overall["median"] == 5
    # machinery (6 cases: 2, 3, 3+, 5, 8+, 10) is the worked example of test_stats:
    # S = 5/6, 2/3, 4/9, 0 -> median 5, interval (2, 10).
    machinery = result["groups"]["machinery"]
    assert machinery["median"] == 5 and not machinery["suppressed"]
    assert (machinery["median_ci_low"], machinery["median_ci_high"]) == (2, 10)
    # electronics: 2 cases < min_n 6 -> suppressed, no curve or median; counts stay.
    electronics = result["groups"]["electronics"]
    assert electronics["suppressed"] and electronics["median"] is None
    assert electronics["curve"] is None and (electronics["n"], electronics["events"]) == (2, 1)
    summary = result["summary"]
    assert summary["group"].tolist() == ["all", "electronics", "machinery"]
    assert summary["n"].tolist() == [8, 2, 6]


def test_time_to_resolution_without_groups_and_by_evidence(km_db):
    result = time_to_resolution(km_db, "2026-03-01", "2026-03-31", by=None, params=Params(min_n=0))
    assert result["groups"] == {} and result["overall"]["median"] == 5
    # No case has evidence: one group 'none' holding all 8, and the overall counts each once.
    by_evidence = time_to_resolution(km_db, "2026-03-01", "2026-03-31", by="evidence",
                                     params=Params(min_n=0))  # fmt: skip
    assert list(by_evidence["groups"]) == ["none"]
    assert by_evidence["overall"]["n"] == 8 and by_evidence["groups"]["none"]["n"] == 8


def test_time_to_resolution_end_moves_the_censoring(km_db):
    # Ending on 6 March: opened K1 K2 K4 K6 (1-2 March). K1 (2) and K2 (3) closed; K4 (closes
    # on the 7th) censored at 4; K6 (11th) censored at 5. S: 3/4 at 2, 1/2 at 3 -> median 3.
    result = time_to_resolution(km_db, "2026-03-01", "2026-03-06", by=None, params=Params(min_n=0))
    assert (result["overall"]["n"], result["overall"]["events"]) == (4, 2)
    assert result["overall"]["median"] == 3


# ------------------------------------------------------------------------------- watchlist


def test_supplier_watchlist(tmp_path):
    def case(supplier, outcome, refund, closed, **extra):
        return make_case(supplier_id=supplier, outcome=outcome, claim_amount=1000,
                         refund_amount=refund, closed_date=closed, **extra)  # fmt: skip

    db = build_store(
        tmp_path / "w.duckdb",
        [
            # S1: a refusal and a 1% lowball (both sided) and a full refund; machinery + apparel.
            case("S1", "no_refund", 0, "2026-03-01", supplier_name="Acme Old"),
            case("S1", "partial_refund", 10, "2026-06-01", supplier_name="Acme Ltd",
                 category="apparel_textiles"),
            case("S1", "full_refund", 1000, "2026-05-01"),
            # S2: two lowball offers: sided 2 + lowball 2 = 4, ranked first.
            case("S2", "partial_refund", 20, "2026-07-01"),
            case("S2", "partial_refund", 30, "2026-08-01"),
            # S3: one refusal in the window, one the day before it starts.
            case("S3", "no_refund", 0, "2026-04-01"),
            case("S3", "no_refund", 0, "2025-12-31"),
            # S4: full refunds only. S5: refunds exactly at 10% -> not sided.
            case("S4", "full_refund", 1000, "2026-04-01"),
            case("S4", "full_refund", 1000, "2026-04-02"),
            case("S5", "partial_refund", 100, "2026-04-01"),
            case("S5", "partial_refund", 100, "2026-04-02"),
        ],
    )  # fmt: skip
    frame = supplier_watchlist(db, "2026-12-31")  # window 2026-01-01 .. 2026-12-31
    assert frame.attrs["start"] == "2026-01-01"
    assert frame["supplier_id"].tolist() == ["S2", "S1"]
    s2, s1 = frame.iloc[0], frame.iloc[1]
    assert (s2["decided"], s2["supplier_sided"], s2["lowball"], s2["flagged_cases"]) == (2, 2, 2, 2)
    assert (s2["claimed_usd"], s2["refunded_usd"]) == (2000, 50)
    assert (s1["decided"], s1["supplier_sided"], s1["lowball"], s1["flagged_cases"]) == (3, 2, 1, 2)
    assert (s1["claimed_usd"], s1["refunded_usd"]) == (3000, 1010)
    assert s1["supplier_name"] == "Acme Ltd"  # the name on its latest closed case
    assert s1["categories"] == "apparel_textiles, machinery"
    # min_cases 1 adds S3 (one refusal in the window); 3 leaves nobody.
    assert supplier_watchlist(db, "2026-12-31", min_cases=1)["supplier_id"].tolist() == [
        "S2",
        "S1",
        "S3",
    ]
    assert supplier_watchlist(db, "2026-12-31", min_cases=3).empty
    with pytest.raises(BadParameter):
        supplier_watchlist(db, "2026-12-31", min_cases=0)


# -------------------------------------------------------------------- parameters and docs


def test_params_validation():
    assert Params().as_dict() == {
        "threshold": 0.10,
        "lowball": 0.05,
        "min_n": 30,
        "confidence": 0.95,
    }
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


def test_docs_carry_every_definition():
    doc = (Path(__file__).resolve().parent.parent / "docs" / "metrics.md").read_text("utf-8")
    # The generated section of docs/metrics.md is exactly DEFINITIONS.
    assert metrics.definitions_markdown() in doc
    for name, text in DEFINITIONS:
        assert text in doc, name
    names = [name for name, _ in DEFINITIONS]
    assert len(names) == len(set(names))
    # Every field of the JSON block is defined or explained in the doc.
    for field in BLOCK_FIELDS:
        assert f"`{field}`" in doc, field


def test_format_table(feb_db):
    table = console.format_table(outcome_metrics(feb_db, *FEB, params=SMALL))
    lines = table.splitlines()
    assert lines[0] == "Trade Assurance dispute outcomes, 2026-02-01 to 2026-02-28"
    assert "  supplier-sided 5 of 8 decided: 62.5% (30.6%–86.3%)" in lines
    machinery = next(line for line in lines if line.strip().startswith("machinery"))
    assert "40.0% (11.8%–76.9%)" in machinery
    electronics = next(line for line in lines if line.strip().startswith("electronics"))
    assert "suppressed" in electronics
