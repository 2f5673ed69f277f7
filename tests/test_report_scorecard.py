"""analysis.report.scorecard: the supplier scorecard's sentences and tables."""

from __future__ import annotations

import pytest

from analysis.metrics.suppliers import observed_expected
from analysis.report import scorecard
from tests.casefactory import build_store
from tests.planted import suppliers_store


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    return suppliers_store(tmp_path_factory.mktemp("planted") / "suppliers.duckdb")


def test_the_scorecard_leads_with_the_fair_comparison(planted):
    sc = scorecard.open_scorecard(planted.db, supplier_id="BAD3", start=planted.window[0],
                                  end=planted.window[1])  # fmt: skip
    sentences = scorecard.scorecard_findings(sc).sentences
    row = observed_expected(planted.db, *planted.window).set_index("supplier_id").loc["BAD3"]
    # first: against its case mix, with the shrunk O/E, the probability and the flag
    assert sentences[0] == (
        f"Against its mix of categories and claim types, {sc.who} had {row['supplier_sided']} "
        f"supplier-sided decisions of 80 in 2026-01-01 to 2026-12-31 where the other suppliers' "
        f"rates predict {row['expected']:.1f} (O/E {row['oe_ratio']:.2f}, 95% interval "
        f"{row['ci_low']:.2f} to {row['ci_high']:.2f}): more than its case mix predicts, beyond "
        f"the 99.8% limits. Shrunk toward 1 for how little its cases pin down, its O/E is "
        f"{row['shrunk_oe']:.2f} ({row['shrunk_ci_low']:.2f} to {row['shrunk_ci_high']:.2f}), "
        f"and the probability that its true O/E is above 1.2 is {row['prob_excess']:.2f}."
    )
    # second: the raw rate, against the OTHER suppliers' (its own 80 cases left out)
    assert sentences[1].startswith(f"Raw, whatever the claims: {row['supplier_sided']} of 80 ")
    frame = observed_expected(planted.db, *planted.window)
    others_k = int(frame["supplier_sided"].sum() - row["supplier_sided"])
    others_n = int(frame["decided"].sum() - 80)
    assert f"against {100 * others_k / others_n:.1f}% (" in sentences[1]
    assert sentences[1].endswith("for the other suppliers; the raw rates differ with the mix of "
                                 "claims each supplier gets, which the comparison above takes out.")  # fmt: skip
    table = scorecard.scorecard_against_mix(sc).frame.set_index("Figure")["Value"]
    assert table["P(true O/E > 1.2)"] == f"{row['prob_excess']:.2f}"
    assert table["Could be flagged from O/E"] == f"{row['detectable_oe']:.2f}"


def test_an_ordinary_supplier_is_within_and_says_what_it_would_have_needed(tmp_path):
    # three suppliers of 20 cases, 10 supplier-sided each: E = 10 from the others' 20 of 40,
    # flagged only from 18 of 20 (Binomial(20, 1/2): P(O >= 18) = 211 / 2^20): O/E 1.8
    cases = [
        dict(supplier_id=s, outcome="no_refund" if i < 10 else "full_refund",
             claim_amount=1000, opened_date="2026-03-01", closed_date="2026-03-10")
        for s in ("S1", "S2", "S3") for i in range(20)
    ]  # fmt: skip
    db = build_store(tmp_path / "within.duckdb", cases)
    sc = scorecard.open_scorecard(db, supplier_id="S2", period="2026-03", min_n_named=20)
    first = scorecard.scorecard_findings(sc).sentences[0]
    assert "where the other suppliers' rates predict 10.0 (O/E 1.00, 95% interval" in first
    assert ": within the 99.8% limits (it would have needed an O/E of at least 1.80 to be " in first
    few = scorecard.open_scorecard(db, supplier_id="S2", period="2026-03", min_n_named=21)
    assert scorecard.scorecard_findings(few).sentences[0] == (
        "With 20 decided case(s) in 2026-03 (2026-03-01 to 2026-03-31), fewer than 21, the data "
        "cannot say whether this "
        "supplier is worse or better than its mix of cases predicts."
    )
