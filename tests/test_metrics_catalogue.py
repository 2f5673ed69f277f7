"""analysis.metrics.catalogue: each figure declared once, and every consumer derived from it.

A catalogue entry must reach the JSON of ``ta-outcomes metrics``, the block of any breakdown, the
definitions page (docs/metrics.md) and, for the headline's figures, the report's headline table;
the worked example of docs/architecture.md (``full_refund_rate``) is checked by hand here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from analysis import explore
from analysis.metrics import (
    block_frame,
    blocks,
    catalogue,
    coverage,
    definitions,
    outcome_metrics,
    trends,
)
from analysis.report import sections
from tests.casefactory import build_store, make_case
from tests.metrics_store import FEB, SMALL

DOC = Path(__file__).resolve().parents[1] / "docs" / "metrics.md"


def test_every_entry_reaches_the_json_the_block_and_the_definitions_page(feb_db):
    result = outcome_metrics(feb_db, *FEB, params=SMALL)
    frame = block_frame(feb_db, *FEB, by="category", params=SMALL)
    doc = DOC.read_text("utf-8")
    defined = {name for name, _ in definitions.DEFINITIONS}
    for m in catalogue.METRICS:
        if not m.block:
            assert m.name not in result["overall"]
            continue
        for name in (m.name, *m.interval_fields):
            assert name in result["overall"], name
            assert name in result["by_category"]["machinery"], name
            assert name in frame.columns, name
            assert f"`{name}`" in doc, name
        # a figure is defined in words: its own definition, or a framing term that names it
        framing = " ".join(text for term, text in definitions.DEFINITIONS if term != m.name)
        assert m.name in defined or re.search(rf"\b{m.name}\b", framing), m.name
    fields = catalogue.block_fields()
    assert list(result["overall"])[: len(fields)] == list(fields)


def test_the_headline_table_has_a_row_for_each_headline_entry(feb_db):
    ctx = sections.open_report(db=feb_db, period="2026-02", min_n=3)
    table = sections.headline(ctx)
    labels = table.frame["Figure"].tolist()
    level = "95%"
    expected = [
        f"{m.label} ({level} interval)" if m.interval else m.label
        for m in map(catalogue.metric, catalogue.HEADLINE)
    ]
    assert labels == expected
    rows = table.frame.set_index("Figure")
    # February by hand (tests/metrics_store.py): 8 decided, 5 supplier-sided; 3 lapsed, one of each
    assert rows.loc["Decided", "2026-02"] == "8"
    assert rows.loc["Lapsed", "2026-02"] == "3 (1 withdrawn, 1 cancelled, 1 out of coverage)"
    assert rows.loc["Supplier-sided rate (95% interval)", "2026-02"].startswith("62.5% (30.6")
    assert rows.loc["Refunded of claimed, monetary decisions (USD)", "2026-02"] == (
        "$2,410 of $27,300"
    )


def test_derived_sets_follow_the_entries():
    # every rate or ratio compared gets a test only when the catalogue says so
    assert trends._TESTED == {
        "supplier_sided_rate": ("supplier_sided", "decided"),
        "escalation_rate": ("escalated", "cases_closed"),
        "buyer_lost_rate": ("buyer_lost", "buyer_lost_base"),
        "full_refund_rate": ("full_refunds", "monetary_decisions"),
    }
    assert set(trends._TESTED) <= set(trends._COMPARED)
    # the figures an unrecorded claim amount blanks are those that need it, intervals included
    assert coverage.FIELD_FIGURES["escalated_date"] == ("escalated", "escalation_rate")
    assert "lowball" in coverage.FIELD_FIGURES["claim_amount"]
    assert "supplier_sided_rate" not in coverage.FIELD_FIGURES["claim_amount"]
    # the small-group rule: withheld below min_n_rate decided, or on the rate's own denominator
    assert "full_refund_ci_high" in blocks.SUPPRESSIBLE
    assert "buyer_lost_rate" not in blocks.SUPPRESSIBLE
    assert explore.FLAGS["full_refund"] == "is_full_refund"
    with pytest.raises(KeyError, match="no metric 'nope'"):
        catalogue.metric("nope")


def test_full_refund_rate_by_hand(feb_db):
    o = outcome_metrics(feb_db, *FEB, params=SMALL)["overall"]
    # monetary decisions closed in February: M1 (0), M2 (10%), M3 (1.5%), M4 (100%), A1 (0),
    # A2 (5%), A3 (5%) = 7; refunded in full: M4 = 1. Wilson 1 of 7 at 95% = [0.025680, 0.513128]
    assert (o["full_refunds"], o["monetary_decisions"]) == (1, 7)
    assert o["full_refund_rate"] == pytest.approx(1 / 7)
    assert o["full_refund_ci_low"] == pytest.approx(0.0256796, abs=1e-6)
    assert o["full_refund_ci_high"] == pytest.approx(0.5131278, abs=1e-6)


def test_full_refunds_without_amounts_count_by_their_outcome(tmp_path):
    db = build_store(tmp_path / "cases.duckdb", [
        make_case(case_id="F1", outcome="full_refund", claim_amount=None, refund_amount=None),
        make_case(case_id="F2", outcome="full_refund", claim_amount=100, refund_amount=100),
        make_case(case_id="P1", outcome="partial_refund", claim_amount=100, refund_amount=99.99),
        make_case(case_id="N1", outcome="no_refund", claim_amount=None, refund_amount=None),
    ])  # fmt: skip
    o = outcome_metrics(db, "2026-01-01", "2026-12-31", params=SMALL)["overall"]
    assert (o["full_refunds"], o["monetary_decisions"]) == (2, 4)


def test_the_sensitivity_row_at_the_reports_threshold_is_the_headline(tmp_path):
    # A no_refund without amounts (an outcome-only export) is supplier-sided by its outcome: the
    # sensitivity table once tested only the amounts and left it out (947 of 2,398 against the
    # headline's 948 in the demo's 12 months).
    db = build_store(tmp_path / "cases.duckdb", [
        make_case(case_id="N1", outcome="no_refund", claim_amount=None, refund_amount=None),
        make_case(case_id="N2", outcome="no_refund", claim_amount=500, refund_amount=0),
        make_case(case_id="F1", outcome="full_refund", claim_amount=None, refund_amount=None),
        make_case(case_id="P1", outcome="partial_refund", claim_amount=100, refund_amount=30),
    ])  # fmt: skip
    result = outcome_metrics(db, "2026-01-01", "2026-12-31", params=SMALL)
    at_threshold = [
        r for r in result["sensitivity"] if r["threshold"] == 0.10 and not r["lapsed_counted"]
    ]
    assert [(r["supplier_sided"], r["denominator"]) for r in at_threshold] == [(2, 4)]
    assert result["overall"]["supplier_sided"] == 2
    # at 50%: N1, N2 and P1 (30 < 50); the full refund never
    at_half = [
        r for r in result["sensitivity"] if r["threshold"] == 0.5 and not r["lapsed_counted"]
    ]
    assert at_half[0]["supplier_sided"] == 3


def test_the_median_refund_ratio_has_its_order_statistics_interval(tmp_path):
    # 20 money decisions with ratios 0.00, 0.01, ..., 0.19 (refund i of a claim of 100): the
    # median is 0.095; at 95%, z = 1.96: j = floor(10 - 1.96 sqrt(20) / 2) = floor(5.617) = 5,
    # k = ceil(1 + 10 + 4.383) = 16: the 5th and 16th smallest, 0.04 and 0.15. (It holds the
    # median with probability P(5 <= B <= 15), B ~ Binomial(20, 1/2): 98.8%.)
    db = build_store(tmp_path / "cases.duckdb", [
        make_case(case_id=f"M{i}", outcome="partial_refund" if i else "no_refund",
                  claim_amount=100, refund_amount=i)
        for i in range(20)
    ])  # fmt: skip
    o = outcome_metrics(db, "2026-01-01", "2026-12-31", params=SMALL)["overall"]
    assert o["refund_ratio_median"] == pytest.approx(0.095)
    assert (o["refund_ratio_median_ci_low"], o["refund_ratio_median_ci_high"]) == (
        pytest.approx(0.04),
        pytest.approx(0.15),
    )
    # 3 values: j = floor(1.5 - 1.96 sqrt(3) / 2) = -1, no interval at 95%
    few = build_store(tmp_path / "few.duckdb", [
        make_case(case_id=f"F{i}", outcome="partial_refund", claim_amount=100, refund_amount=i + 1)
        for i in range(3)
    ])  # fmt: skip
    o = outcome_metrics(few, "2026-01-01", "2026-12-31", params=SMALL)["overall"]
    assert o["refund_ratio_median"] == pytest.approx(0.02)
    assert o["refund_ratio_median_ci_low"] is None and o["refund_ratio_median_ci_high"] is None
