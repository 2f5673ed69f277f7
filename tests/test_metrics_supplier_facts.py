"""analysis.metrics.supplier_facts: what happened with each supplier, as counts, by hand."""

from __future__ import annotations

import pytest

from analysis.metrics import Params
from analysis.metrics import supplier_facts as facts
from tests.casefactory import build_store

# 2026-03, threshold 0.1, lowball 0.05, high value $5,000:
#   S1  A no_refund 8000 (supplier-sided, refused high-value)   B partial 150 of 10000 (sided,
#       lowball)   C full_refund   D open (opened in March: a case, not closed)
#   S2  E no_refund 1000 (sided, below the high value)   F withdrawn (closed, not decided)
#   S3  G no_refund, closed in 2026-01: outside the window
CASES = [
    dict(case_id="A", supplier_id="S1", outcome="no_refund", claim_amount=8000,
         opened_date="2026-02-20", closed_date="2026-03-05"),
    dict(case_id="B", supplier_id="S1", outcome="partial_refund", claim_amount=10000,
         refund_amount=150, opened_date="2026-03-01", closed_date="2026-03-10"),
    dict(case_id="C", supplier_id="S1", outcome="full_refund", claim_amount=2000,
         opened_date="2026-03-02", closed_date="2026-03-12"),
    dict(case_id="D", supplier_id="S1", outcome="open", opened_date="2026-03-20"),
    dict(case_id="E", supplier_id="S2", supplier_name="Two Ltd", outcome="no_refund",
         claim_amount=1000, opened_date="2026-03-03", closed_date="2026-03-13"),
    dict(case_id="F", supplier_id="S2", supplier_name="Two Ltd", outcome="withdrawn", opened_date="2026-03-04",
         closed_date="2026-03-14"),
    dict(case_id="G", supplier_id="S3", outcome="no_refund", opened_date="2026-01-01",
         closed_date="2026-01-20"),
]  # fmt: skip


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    return build_store(tmp_path_factory.mktemp("facts") / "cases.duckdb", CASES)


def test_each_suppliers_counts_by_hand(db):
    frame = facts.supplier_facts(db, "2026-03-01", "2026-03-31", Params(min_n_named=3),
                                 high_value_usd=5000)  # fmt: skip
    assert frame.drop(columns="supplier_name").to_dict(orient="records") == [
        dict(supplier_id="S1", cases=4, closed=3, decided=3, supplier_sided=2, lowballs=1,
             refused_high_value=1, named=True),
        dict(supplier_id="S2", cases=2, closed=2, decided=1, supplier_sided=1, lowballs=0,
             refused_high_value=0, named=False),
    ]  # fmt: skip
    assert frame["supplier_name"].tolist() == ["Supplier S1", "Two Ltd"]
    assert facts.decided_bands(frame) == [("1", 1), ("2-4", 1)]


def test_the_report_lists_only_the_suppliers_too_small_to_rate(tmp_path):
    from analysis.report import sections

    # the same cases, a trailing window of 12 months to 2026-03 (S3's January case is in it)
    store = build_store(tmp_path / "cases.duckdb", CASES)
    ctx = sections.open_report(db=store, period="2026-03", min_n=2, min_n_named=3)
    table = sections.small_suppliers(ctx, high_value_usd=5000)
    assert table.frame.values.tolist() == [
        ["S2 \u2014 Two Ltd", "2", "2", "1", "1", "0", "0"],
        ["S3 \u2014 Supplier S3", "1", "1", "1", "1", "0", "1"],  # no refund on $10,000
    ]
    assert list(table.frame.columns)[-1] == "Refused, claim $5,000+"
    assert table.caption.startswith(
        "What happened with each supplier with fewer than 3 decided cases (min_n_named), "
        "2025-04-01 to 2026-03-31: counts of single cases, never rated, ranked or compared"
    )
