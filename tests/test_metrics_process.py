"""analysis.metrics.process: the dispute funnel and the claim window, by hand."""

from __future__ import annotations

import pytest

from analysis.metrics.process import claim_window, funnel
from tests.casefactory import build_store

MARCH = ("2026-03-01", "2026-03-31")


@pytest.fixture(scope="module")
def process_db(tmp_path_factory):
    quality = dict(claim_type="quality", opened_date="2026-03-01", closed_date="2026-03-20")
    cases = [
        # quality: settled between the parties (decided, never escalated) ...
        dict(quality, outcome="full_refund", received_date="2026-02-20"),
        # ... escalated and decided by the platform: one for the buyer, two for the supplier
        dict(quality, outcome="full_refund", escalated_date="2026-03-05", decided_by="platform",
             received_date="2026-02-20"),
        dict(quality, outcome="no_refund", escalated_date="2026-03-05", decided_by="platform",
             received_date="2026-02-20"),
        dict(quality, outcome="partial_refund", refund_amount=100, escalated_date="2026-03-05",
             decided_by="platform"),  # 1% of the claim: for the supplier
        # escalated, then withdrawn: lapsed after escalation
        dict(quality, outcome="withdrawn", escalated_date="2026-03-05"),
        # opened 40 days after receipt: out of coverage; and one 31 days after, refused
        dict(quality, outcome="out_of_coverage", received_date="2026-01-20"),
        dict(quality, outcome="no_refund", received_date="2026-01-29"),
        # non-delivery: cancelled without escalation, opened exactly 30 days after receipt
        dict(claim_type="non_delivery", outcome="cancelled", opened_date="2026-03-01",
             closed_date="2026-03-10", received_date="2026-01-30"),
        # still open, and closed in April: not in March's funnel
        dict(claim_type="quality", outcome="open", opened_date="2026-03-10"),
        dict(claim_type="quality", outcome="no_refund", opened_date="2026-03-10",
             closed_date="2026-04-02"),
    ]  # fmt: skip
    return build_store(tmp_path_factory.mktemp("process") / "cases.duckdb", cases)


def test_funnel_by_hand(process_db):
    frame = funnel(process_db, *MARCH).set_index("claim_type")
    assert frame.index.tolist() == ["non_delivery", "quality", "all"]
    quality = frame.loc["quality"]
    # 7 closed: not escalated 3 (the settled one, out of coverage, the late refusal), of which
    # decided ("negotiated") 2; escalated 4, decided by the platform 3: 1 for the buyer, 2 for
    # the supplier; lapsed 2 (withdrawn, out of coverage).
    assert quality[["closed", "not_escalated", "negotiated", "escalated"]].tolist() == [7, 3, 2, 4]
    assert quality[["platform_decided", "platform_for_buyer", "platform_for_supplier"]].tolist() == [
        3, 1, 2,
    ]  # fmt: skip
    assert quality["lapsed"] == 2
    assert frame.loc["non_delivery", ["closed", "not_escalated", "lapsed"]].tolist() == [1, 1, 1]
    assert frame.loc["all", "closed"] == 8 and frame.loc["all", "escalated"] == 4
    assert (frame["closed"] == frame["not_escalated"] + frame["escalated"]).all()


def test_claim_window_by_hand(process_db):
    frame = claim_window(process_db, *MARCH).set_index("timing")
    assert frame.attrs["window_days"] == 30
    # late (more than 30 days after receipt): the out-of-coverage case (40) and the refusal
    # (31); exactly 30 days (non-delivery) is in time, as are the three received 20 Feb.
    assert frame.loc["late", ["closed", "decided", "supplier_sided", "out_of_coverage"]].tolist() == [
        2, 1, 1, 1,
    ]  # fmt: skip
    assert frame.loc["in time", ["closed", "decided", "supplier_sided", "lapsed"]].tolist() == [
        4, 3, 1, 1,
    ]  # fmt: skip
    # no received_date: the 1% decision and the withdrawal
    assert frame.loc["not recorded", ["closed", "decided"]].tolist() == [2, 1]
    assert frame["closed"].sum() == 8
