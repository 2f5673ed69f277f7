"""analysis.metrics.dossier: one case against Trade Assurance's rules, each rule by hand."""

from __future__ import annotations

from datetime import date

import pytest

from analysis.errors import BadParameter
from analysis.metrics import Params
from analysis.metrics.dossier import (
    Check,
    case_record,
    checks,
    comparable,
    comparable_outcomes,
    day_number,
    evidence_comparison,
    money,
)
from tests.casefactory import build_store

D = date.fromisoformat


def _case(**kw) -> dict:
    base = {"opened_date": D("2026-03-01"), "received_date": None, "escalated_date": None,
            "closed_date": D("2026-03-20"), "outcome": "no_refund", "claim_type": "damaged",
            "decided_by": None, "inspection": None, "evidence": None, "has_inspection_report": False}  # fmt: skip
    return base | kw


def _rule(result: list[Check], rule: str) -> Check:
    (check,) = [c for c in result if c.rule == rule]
    return check


def test_days_count_from_the_opening_day():
    assert day_number(D("2026-03-01"), D("2026-03-01")) == 1
    assert day_number(D("2026-03-01"), D("2026-03-04")) == 4


@pytest.mark.parametrize(
    ("received", "status", "detail"),
    [
        (None, "not recorded", "no receipt date recorded: the claim window cannot be checked"),
        ("2026-01-30", "met", "opened 30 days after receipt, within 30"),  # exactly 30: in time
        ("2026-01-29", "missed", "opened 31 days after receipt (2026-01-29 to 2026-03-01); "
                                 "disputes are opened within 30 days"),
    ],
)  # fmt: skip
def test_claim_window(received, status, detail):
    check = _rule(checks(_case(received_date=D(received) if received else None)), "claim window")
    assert (check.status, check.detail) == (status, detail)


@pytest.mark.parametrize(
    ("escalated", "negotiation", "escalation"),
    [
        # day 3: the three days of negotiation were not over
        ("2026-03-03", ("missed", "escalated on day 3, before the 3 days of negotiation were over"),
         ("met", "escalated on day 3, by day 8")),
        # day 4: the first day either side may escalate
        ("2026-03-04", ("met", "3 days of negotiation before escalation on day 4"),
         ("met", "escalated on day 4, by day 8")),
        # day 8: the last day of the automatic escalation
        ("2026-03-08", ("met", "3 days of negotiation before escalation on day 8"),
         ("met", "escalated on day 8, by day 8")),
        # day 9: later than the automatic escalation
        ("2026-03-09", ("met", "3 days of negotiation before escalation on day 9"),
         ("missed", "escalated on day 9, after day 8, when unresolved disputes are escalated "
                    "automatically")),
    ],
)  # fmt: skip
def test_negotiation_and_escalation(escalated, negotiation, escalation):
    result = checks(_case(escalated_date=D(escalated)))
    assert (_rule(result, "negotiation").status, _rule(result, "negotiation").detail) == negotiation
    assert (_rule(result, "escalation").status, _rule(result, "escalation").detail) == escalation


def test_a_case_never_escalated():
    # settled between the parties: nothing to escalate
    settled = _rule(checks(_case()), "escalation")
    assert (settled.status, settled.detail) == (
        "not applicable",
        "not escalated: settled between buyer and supplier (closed on day 20)",
    )
    assert not [c for c in checks(_case()) if c.rule == "negotiation"]
    # still open past day 8 and not escalated: the automatic escalation did not happen
    stuck = _rule(checks(_case(outcome="open", closed_date=None)), "escalation")
    assert stuck.status == "missed" and "still open and not escalated after day 8" in stuck.detail
    # decided by the platform without an escalation date: the export left it out
    platform = _rule(checks(_case(decided_by="platform")), "escalation")
    assert platform.status == "not recorded"


@pytest.mark.parametrize(
    ("case", "status", "detail"),
    [
        (dict(claim_type="quality", inspection="sgs", inspection_fee=350.0, currency="USD"),
         "met", "an inspection report is in the evidence (sgs); fee 350.0 USD"),
        (dict(claim_type="compliance", evidence=["inspection_report"], has_inspection_report=True),
         "met", "an inspection report is in the evidence"),
        (dict(claim_type="quality", inspection="none", evidence=["photos"]),
         "missed", "no inspection report: a quality (not as agreed) dispute is decided on one, by a designated "
                   "company, paid up front by the buyer"),
        (dict(claim_type="quality"), "not recorded",
         "neither an inspection nor the evidence is recorded; a quality (not as agreed) dispute is decided on an "
         "inspection report"),
        (dict(claim_type="late_shipment"), "not applicable",
         "a late shipment claim does not rest on an inspection report"),
    ],
)  # fmt: skip
def test_inspection(case, status, detail):
    check = _rule(checks(_case(**case)), "inspection")
    assert (check.status, check.detail) == (status, detail)


def test_money():
    # the $150 on $10,000 of the public record: a lowball, covered up to what was paid
    result = money({"claim_amount": 10000.0, "order_value": 8000.0, "refund_amount": 150.0,
                    "currency": "USD", "is_lowball": True, "is_supplier_sided": True})  # fmt: skip
    assert result["covered"] == 8000.0 and result["refund_ratio"] == pytest.approx(0.015)
    assert result["lowball"] and result["supplier_sided"]
    # without amounts: nothing is made up
    blank = money({"claim_amount": None, "order_value": None, "refund_amount": None})
    assert (blank["covered"], blank["refund_ratio"]) == (None, None)


@pytest.fixture
def dossier_store(tmp_path):
    q = dict(category="machinery", claim_type="quality", supplier_id="S2")
    cases = [
        dict(q, case_id="D1", outcome="partial_refund", claim_amount=10000, refund_amount=150,
             supplier_id="S1",
             opened_date="2026-03-01", received_date="2026-02-20", escalated_date="2026-03-05",
             closed_date="2026-03-30", evidence=["photos"], buyer_key="SECRET-BUYER"),
        # comparable: machinery x quality closed in the 12 months to 30 March
        dict(q, case_id="K1", outcome="no_refund", evidence=["photos"], closed_date="2026-02-01"),
        dict(q, case_id="K2", outcome="no_refund", evidence=["photos"], closed_date="2026-02-02"),
        dict(q, case_id="K3", outcome="full_refund", evidence=["photos", "inspection_report"],
             closed_date="2026-02-03"),
        dict(q, case_id="K4", outcome="full_refund", evidence=["inspection_report"],
             closed_date="2026-02-04"),
        dict(q, case_id="K5", outcome="withdrawn", closed_date="2026-02-05"),
        # not comparable: the case's own supplier; another claim type; closed more than 12
        # months before
        dict(q, case_id="X0", outcome="no_refund", supplier_id="S1", closed_date="2026-02-06"),
        dict(category="machinery", claim_type="damaged", case_id="X1", closed_date="2026-02-01"),
        dict(q, case_id="X2", opened_date="2024-01-01", closed_date="2024-02-01"),
    ]  # fmt: skip
    for c in cases:
        c.setdefault("opened_date", "2026-01-05")
    return build_store(tmp_path / "d.duckdb", cases)


def test_the_case_record_leaves_the_buyer_out(dossier_store):
    record = case_record(dossier_store, "D1")
    assert "buyer_key" not in record
    assert (record["is_lowball"], record["is_supplier_sided"]) == (True, True)
    assert record["escalated_date"] == D("2026-03-05")
    with pytest.raises(BadParameter, match="case 'NOPE': no such case in the store"):
        case_record(dossier_store, "NOPE")


def test_comparable_cases_and_what_went_with_better_outcomes(dossier_store):
    record = case_record(dossier_store, "D1")
    frame = comparable(dossier_store, record)
    assert sorted(frame["case_id"]) == ["K1", "K2", "K3", "K4", "K5"]
    assert frame.attrs == {"start": "2025-04-01", "end": "2026-03-30"}
    outcomes = comparable_outcomes(frame)
    # decided K1-K4, supplier-sided K1 K2: 2 of 4; Wilson 2/4 = 15.0%-85.0%
    assert (outcomes["closed"], outcomes["decided"], outcomes["supplier_sided"]) == (5, 4, 2)
    assert (outcomes["ci_low"], outcomes["ci_high"]) == pytest.approx(
        (0.150036, 0.849964), abs=1e-5
    )
    assert outcomes["buyer_outcomes"] == {"nothing": 2, "money_back": 2, "withdrawn": 1}
    evidence = evidence_comparison(frame).set_index(["evidence", "group"])
    # with an inspection report: K3 K4, neither sided (0 of 2); without: K1 K2, both (2 of 2)
    assert evidence.loc[("inspection_report", "with"), ["decided", "supplier_sided"]].tolist() == [
        2,
        0,
    ]
    assert evidence.loc[
        ("inspection_report", "without"), ["decided", "supplier_sided"]
    ].tolist() == [2, 2]
    # photos: K1 K2 K3 with (2 of 3), K4 without (0 of 1)
    assert evidence.loc[("photos", "with"), "rate"] == pytest.approx(2 / 3)
    assert evidence.loc[("photos", "without"), "decided"] == 1
    assert Params().threshold == 0.10


def test_a_blank_escalation_date_from_an_export_without_escalations_is_not_recorded(tmp_path):
    # issue 24.8: the export of load 1 had no escalation column, so its case E1 (which the buyer
    # did escalate) has no date: "not escalated: settled between buyer and supplier" stated what
    # the dossier did not know. Load 2 recorded escalation dates (1 of its 2 rows had one), so
    # its blank for N1 means "not escalated".
    import json

    from tests.casefactory import make_case

    without = {"received_date": 2, "claim_amount": 2}  # no escalated_date: not carried
    carried = {"received_date": 2, "claim_amount": 2, "escalated_date": 1}
    db = build_store(
        tmp_path / "e.duckdb",
        [make_case(case_id="E1", load_id=1, opened_date="2026-03-01", closed_date="2026-03-20"),
         make_case(case_id="N1", load_id=2, opened_date="2026-03-01", closed_date="2026-03-20"),
         make_case(case_id="Y1", load_id=2, opened_date="2026-03-01", closed_date="2026-03-20",
                   escalated_date="2026-03-05")],
        loads=[dict(load_id=1, inserted=1, field_coverage=json.dumps(without)),
               dict(load_id=2, inserted=2, field_coverage=json.dumps(carried))],
    )  # fmt: skip
    e1 = case_record(db, "E1")
    assert e1["fields_not_recorded"] == ["escalated_date", "evidence", "inspection", "decided_by"]
    escalation = _rule(checks(e1), "escalation")
    assert (escalation.status, escalation.detail) == (
        "not recorded",
        "the export this case came from recorded no escalation dates: whether and when it was "
        "escalated is not known",
    )
    n1 = case_record(db, "N1")
    assert "escalated_date" not in n1["fields_not_recorded"]
    assert _rule(checks(n1), "escalation").detail == (
        "not escalated: settled between buyer and supplier (closed on day 20)"
    )
    assert _rule(checks(case_record(db, "Y1")), "escalation").status == "met"


def test_money_says_whether_the_outcome_is_a_decision_about_money(dossier_store):
    # issue 24.8: a replacement's refund / claim (0.00 of the claim) says nothing about it
    record = case_record(dossier_store, "D1")  # a partial refund: money
    assert (money(record)["monetary"], money(record)["final"]) == (True, True)
    assert money(record)["refund_ratio"] == pytest.approx(0.015)
    replaced = money({"outcome": "replacement", "is_monetary": False, "is_final": True,
                      "claim_amount": 10865.68, "refund_amount": 0.0, "currency": "USD"})  # fmt: skip
    assert (replaced["outcome"], replaced["monetary"], replaced["final"]) == (
        "replacement", False, True,
    )  # fmt: skip
    withdrawn = case_record(dossier_store, "K5")
    assert (money(withdrawn)["monetary"], money(withdrawn)["final"]) == (False, True)


def test_escalated_without_a_date_invents_no_day():
    # Issue 28.2: a yes in the export's escalated column, no date: both rules "not recorded"
    result = checks(_case(escalated=True, decided_by="platform"))
    assert _rule(result, "negotiation").status == "not recorded"
    assert (_rule(result, "escalation").status, _rule(result, "escalation").detail) == (
        "not recorded",
        "escalated to the platform (the export says so), on a day not recorded: whether it "
        "came by the automatic escalation's day cannot be checked",
    )
    assert not any("day " in c.detail and "escalated on day" in c.detail for c in result)
