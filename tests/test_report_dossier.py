"""analysis.report.dossier: the case dossier's sentences and tables, on a store built by hand."""

from __future__ import annotations

import json

import pytest

from analysis.report import dossier
from tests.casefactory import build_store, make_case


@pytest.fixture
def money_store(tmp_path):
    # R1: goods replaced, 0.00 refunded of 10,865.68 USD claimed; P1: 150 back of 10,000;
    # W1: withdrawn by the buyer. All closed in March 2026.
    cases = [
        make_case(case_id="R1", outcome="replacement", claim_amount=10865.68, refund_amount=0,
                  opened_date="2026-03-01", closed_date="2026-03-20"),
        make_case(case_id="P1", outcome="partial_refund", claim_amount=10000, refund_amount=150,
                  opened_date="2026-03-01", closed_date="2026-03-20"),
        make_case(case_id="W1", outcome="withdrawn", claim_amount=500, refund_amount=0,
                  opened_date="2026-03-01", closed_date="2026-03-20"),
    ]  # fmt: skip
    return build_store(tmp_path / "m.duckdb", cases)


def _money_rows(table) -> dict:
    return dict(zip(table.frame["Amount"], table.frame["Value"], strict=True))


def test_a_replacement_is_said_to_be_one_not_a_share_of_the_claim(money_store):
    # issue 24.8: "0.0% of the claim came back (0.00 of 10,865.68 USD)" for goods replaced
    dc = dossier.open_dossier(db=money_store, case_id="R1", min_n=0)
    sentences = dossier.dossier_findings(dc).sentences
    assert "The goods were replaced (claimed 10,865.68 USD)." in sentences
    assert not [s for s in sentences if "came back" in s]
    rows = _money_rows(dossier.dossier_money(dc))
    assert rows["Refunded"] == "0.00 USD" and rows["Claimed"] == "10,865.68 USD"
    assert rows["Refund / claim"] == "not applicable: the goods were replaced"
    assert (
        rows["Lowball (above 0, below the lowball share)"]
        == "not applicable: the goods were replaced"
    )


def test_a_withdrawn_case_and_a_refund_are_each_said_as_they_are(money_store):
    withdrawn = dossier.open_dossier(db=money_store, case_id="W1", min_n=0)
    assert (
        "No refund was decided: the case ended as withdrawn (claimed 500.00 USD)."
        in dossier.dossier_findings(withdrawn).sentences
    )
    refund = dossier.open_dossier(db=money_store, case_id="P1", min_n=0)
    # 150 / 10,000 = 1.5%, below the lowball share 0.05
    assert "1.5% of the claim came back (150.00 of 10,000.00 USD): a lowball." in (
        dossier.dossier_findings(refund).sentences
    )
    rows = _money_rows(dossier.dossier_money(refund))
    assert rows["Refund / claim"] == "1.5%"
    assert rows["Supplier-sided (below the threshold share)"] == "yes"


def test_the_timeline_says_not_recorded_for_an_export_without_escalation_dates(tmp_path):
    # issue 24.8: the export had no escalation column; the buyer did escalate
    db = build_store(
        tmp_path / "e.duckdb",
        [make_case(case_id="E1", opened_date="2026-03-01", closed_date="2026-03-20")],
        loads=[dict(load_id=1, inserted=1,
                    field_coverage=json.dumps({"received_date": 1, "claim_amount": 1}))],
    )  # fmt: skip
    dc = dossier.open_dossier(db=db, case_id="E1", min_n=0)
    table = dossier.dossier_timeline(dc)
    escalation = table.frame.set_index("Rule").loc["escalation"]
    assert escalation["Status"] == "not recorded"
    assert "settled between buyer and supplier" not in json.dumps(table.record)
    assert dossier.dossier_findings(dc).sentences[0] == (
        "Against Trade Assurance's rules: no rule was missed (not recorded, so not checked: "
        "claim window, escalation, inspection)."
    )
