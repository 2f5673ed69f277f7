"""analysis.metrics.beyond: what the platform said, and what buyers recovered beyond it (issue 29)."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from analysis.ingest import load
from analysis.metrics import beyond
from analysis.metrics.outcomes import outcome_metrics
from analysis.metrics.params import Params
from tests.conftest import HEADER, TODAY, good_row, write_csv

AFTER = ["decided_by", "evidence", "platform_reason", "after_route", "after_outcome",
         "after_refund_amount", "after_closed_date"]  # fmt: skip
#: How a tracker writes each slug (synonyms of data/reference/vocabularies.csv, and the slug).
REASON_SPELLINGS = {
    "product_operational": ["operational", "Machine works", "functions normally"],
    "normal_variation": ["dye variation", "Colour variation is normal", "normal_variation"],
    "insufficient_evidence": ["no evidence", "evidence not sufficient"],
    "outside_claim_window": ["late claim", "claim too late"],
    "unofficial_channel": ["not in Trade Assurance chat"],
    "shipped_on_time": ["shipped_on_time"],
}
ROUTE_SPELLINGS = {
    "none": ["none"], "chargeback": ["chargeback", "card chargeback"], "paypal": ["PayPal"],
    "legal": ["lawyer"], "arbitration": ["HKIAC"], "supplier_settlement": ["settlement"],
}  # fmt: skip
WINDOW = ("2026-01-01", "2026-06-30")


def _held_out(seed: int = 29) -> tuple[list[dict], list[dict]]:
    """An export of 60 closed cases with the new columns in trackers' spellings, and the same
    cases as plain Python values (slugs, numbers, dates) to compute the figures from."""
    rng = random.Random(seed)
    rows, truth = [], []
    for k in range(60):
        opened = date(2026, 1, 5) + timedelta(days=rng.randrange(90))
        closed = opened + timedelta(days=rng.randrange(5, 40))
        claim = rng.randrange(500, 20000)
        outcome = rng.choice(["no_refund", "partial_refund", "full_refund", "withdrawn"])
        refund = {"no_refund": 0, "full_refund": claim, "withdrawn": None}.get(
            outcome, rng.choice([claim // 50, claim // 2])
        )
        decided_by = rng.choice(["platform", "platform", "agreement"])
        evidence = rng.choice(["photos", "photos; inspection_report", "lab test, photos", ""])
        reason = rng.choice([None, *REASON_SPELLINGS]) if decided_by == "platform" else None
        route = rng.choice([None, *ROUTE_SPELLINGS])
        after = None if route in (None, "none") else rng.choice(
            ["recovered_full", "recovered_partial", "nothing", "pending"])  # fmt: skip
        amount = {"recovered_full": claim - (refund or 0), "recovered_partial": claim // 4}.get(
            after
        )
        after_closed = closed + timedelta(days=rng.randrange(10, 45)) if amount else None
        truth.append({
            "closed": closed, "outcome": outcome, "claim": claim, "refund": refund,
            "decided_by": decided_by, "evidence": evidence, "reason": reason, "route": route,
            "after": after, "amount": amount, "after_closed": after_closed,
        })  # fmt: skip
        rows.append(good_row(
            f"H{k:03d}", opened_date=opened.isoformat(), closed_date=closed.isoformat(),
            outcome=outcome, order_value=str(claim), claim_amount=str(claim),
            refund_amount="" if refund is None else str(refund), decided_by=decided_by,
            evidence=evidence,
            platform_reason=rng.choice(REASON_SPELLINGS[reason]) if reason else "",
            after_route=rng.choice(ROUTE_SPELLINGS[route]) if route else "",
            after_outcome=after or "",
            after_refund_amount=f"USD {amount:,}" if amount else "",
            after_closed_date=after_closed.strftime("%d %b %Y") if after_closed else "",
        ))  # fmt: skip
    return rows, truth


def _independently(truth: list[dict], threshold: float = 0.10) -> tuple[dict, dict]:
    """The two sections computed in plain Python from the export's own values."""
    reasons, routes = {}, {}
    sided = [
        t for t in truth
        if t["outcome"] != "withdrawn" and t["refund"] < threshold * t["claim"]
        and (t["decided_by"] == "platform" or t["reason"])
    ]  # fmt: skip
    for t in sided:
        if t["reason"]:
            r = reasons.setdefault(t["reason"], {"cases": 0, "with_contrary_evidence": 0})
            r["cases"] += 1
            r["with_contrary_evidence"] += ("inspection" in t["evidence"]) or (
                "lab" in t["evidence"]
            )
        if t["route"] not in (None, "none"):
            r = routes.setdefault(t["route"], {"taken": 0, "recovered": 0, "recovered_usd": 0.0})
            r["taken"] += 1
            if t["after"] in ("recovered_full", "recovered_partial"):
                r["recovered"] += 1
                r["recovered_usd"] += t["amount"]
    beyond_ = {
        "platform_supplier_sided": len(sided),
        "taken_further": sum(r["taken"] for r in routes.values()),
        "recovered": sum(r["recovered"] for r in routes.values()),
        "recovered_usd": sum(r["recovered_usd"] for r in routes.values()),
    }
    return reasons, {**beyond_, "by_route": routes}


def test_a_held_out_export_gives_the_independent_counts_and_sums(tmp_path):
    # Issue 29.1-3: an export with the new columns, in trackers' spellings, loads and gives
    # exactly the counts and USD sums computed from its own values in plain Python.
    rows, truth = _held_out()
    db = tmp_path / "cases.duckdb"
    path = write_csv(tmp_path / "held_out.csv", rows, [*HEADER, *AFTER])
    (r,) = load.ingest_paths([path], db, today=TODAY)
    assert (r.inserted, r.quarantined) == (60, 0)
    want_reasons, want_beyond = _independently(truth)
    assert want_beyond["platform_supplier_sided"] >= 15 and want_beyond["recovered"] >= 3
    result = outcome_metrics(db, *WINDOW)
    got = result["platform_reasons"]
    assert {k: v for k, v in got.items() if v["cases"]} == want_reasons
    assert set(got) >= {"product_operational", "not_covered", "buyer_fault", "other"}
    got = result["beyond_platform"]
    assert {k: got[k] for k in ("platform_supplier_sided", "taken_further", "recovered")} == {
        k: want_beyond[k] for k in ("platform_supplier_sided", "taken_further", "recovered")
    }
    assert got["recovered_usd"] == pytest.approx(want_beyond["recovered_usd"])
    # (whole dollars in USD: the sums are exact)
    assert {k: v for k, v in got["by_route"].items() if v["taken"]} == want_beyond["by_route"]
    assert "none" not in got["by_route"] and got["by_route"].keys() >= {"paypal", "other"}


def _tiny(tmp_path, header, rows):
    db = tmp_path / "cases.duckdb"
    load.ingest_paths([write_csv(tmp_path / "t.csv", rows, header)], db, today=TODAY)
    return db


#: Four platform decisions for the supplier (the sections' test store; also tests/test_report_beyond.py):
#: A1 "operational" with an inspection report, charged back, USD 900 back; A2 "machine works"
#: with a lab test, HKIAC, pending; A3 "dye variation" with photos, no route; A4 no reason,
#: paypal, nothing.
PLATFORM_ROWS = [
    good_row("A1", decided_by="platform", evidence="photos; inspection_report",
             platform_reason="operational", after_route="chargeback",
             after_outcome="recovered_partial", after_refund_amount="900",
             after_closed_date="2026-05-01"),
    good_row("A2", decided_by="platform", evidence="lab test", platform_reason="machine works",
             after_route="HKIAC", after_outcome="pending"),
    good_row("A3", decided_by="platform", evidence="photos", platform_reason="dye variation",
             after_route="none"),
    good_row("A4", decided_by="platform", after_route="paypal", after_outcome="nothing"),
]  # fmt: skip


def test_the_sections_by_hand(tmp_path):
    # Four platform decisions for the supplier, one decision for the buyer, one by agreement:
    #   A1 "operational" with an inspection report, charged back, USD 900 back after 30 days
    #   A2 "machine works" with a lab test, HKIAC, pending
    #   A3 "dye variation" with photos, no route
    #   A4 no reason recorded, paypal, nothing
    #   A5 full refund (not supplier-sided): its reason and route count nowhere
    #   A6 supplier-sided by agreement without a reason: not the platform's decision
    rows = [
        *PLATFORM_ROWS,
        good_row("A5", decided_by="platform", outcome="full_refund", refund_amount="1000",
                 platform_reason="operational", after_route="legal",
                 after_outcome="recovered_full", after_refund_amount="50"),
        good_row("A6", decided_by="agreement", after_route="legal"),
    ]  # fmt: skip
    db = _tiny(tmp_path, [*HEADER, *AFTER], rows)
    reasons = beyond.platform_reasons(db, *WINDOW)
    assert reasons["product_operational"] == {"cases": 2, "with_contrary_evidence": 2}
    assert reasons["normal_variation"] == {"cases": 1, "with_contrary_evidence": 0}
    assert sum(v["cases"] for v in reasons.values()) == 3
    got = beyond.beyond_platform(db, *WINDOW)
    assert {k: v for k, v in got.items() if k != "by_route"} == {
        "platform_supplier_sided": 4, "taken_further": 3, "recovered": 1, "recovered_usd": 900.0}  # fmt: skip
    assert got["by_route"]["chargeback"] == {"taken": 1, "recovered": 1, "recovered_usd": 900.0}
    assert got["by_route"]["arbitration"] == {"taken": 1, "recovered": 0, "recovered_usd": 0.0}
    assert got["by_route"]["legal"] == {"taken": 0, "recovered": 0, "recovered_usd": 0.0}
    frame = beyond.routes_frame(db, *WINDOW)
    overall = frame[frame["grouping_id"] == 1].iloc[0]
    # A1 closed 2026-04-01, recovered 2026-05-01; four claims of 1000, nothing from the platform
    assert overall["median_days_to_recover"] == 30 and overall["claimed_usd"] == 4000
    assert (overall["platform_refund_usd"], overall["after_refund_usd"]) == (0, 900)
    by_type = beyond.reasons_frame(db, *WINDOW)
    assert by_type.attrs["totals"] == {"supplier_sided": 5, "platform_supplier_sided": 4,
                                       "with_reason": 3, "with_reason_contrary": 2}  # fmt: skip


def test_an_old_export_without_the_columns_says_not_recorded(tmp_path):
    # An export from before issue 29 loads as before; both sections are null (not recorded),
    # never zero. One that carries after_route but no amounts: its USD sums are null.
    db = _tiny(tmp_path, HEADER, [good_row("O1"), good_row("O2")])
    result = outcome_metrics(db, *WINDOW, params=Params())
    assert result["platform_reasons"] is None and result["beyond_platform"] is None
    rows = [good_row("O3", decided_by="platform", after_route="chargeback",
                     after_outcome="recovered_full")]  # fmt: skip
    (tmp_path / "later").mkdir()
    db2 = _tiny(tmp_path / "later", [*HEADER, "decided_by", "after_route", "after_outcome"], rows)
    got = beyond.beyond_platform(db2, *WINDOW)
    assert (got["taken_further"], got["recovered"], got["recovered_usd"]) == (1, 1, None)
    assert got["by_route"]["chargeback"] == {"taken": 1, "recovered": 1, "recovered_usd": None}
    assert beyond.platform_reasons(db2, *WINDOW) is None


def test_an_unknown_reason_is_quarantined_with_its_text(tmp_path):
    # A reason the vocabulary does not know is never stored as something else.
    db = tmp_path / "cases.duckdb"
    path = write_csv(
        tmp_path / "u.csv", [good_row("U1", platform_reason="supplier is nice")],
        [*HEADER, "platform_reason"],
    )  # fmt: skip
    (r,) = load.ingest_paths([path], db, today=TODAY)
    assert r.quarantined == 1
    from tests.conftest import fetch

    assert fetch(db, "SELECT reason FROM quarantine") == [
        ("platform_reason: unknown value 'supplier is nice'",)
    ]
