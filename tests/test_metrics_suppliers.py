"""analysis.metrics.suppliers, by hand."""

from __future__ import annotations

import pytest

from analysis.errors import BadParameter
from analysis.metrics import (
    supplier_watchlist,
)
from tests.casefactory import build_store, make_case


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
