"""The February store the metrics tests share, with every figure worked out by hand beside it."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.metrics import Params
from tests.casefactory import build_store

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
    """The store of :data:`FEBRUARY_CASES` (module scope; re-exported by tests/conftest.py)."""
    return build_store(tmp_path_factory.mktemp("feb") / "cases.duckdb", FEBRUARY_CASES)


def leaves(value):
    """Every scalar inside nested dicts and lists."""
    if isinstance(value, dict):
        for item in value.values():
            yield from leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from leaves(item)
    else:
        yield value
