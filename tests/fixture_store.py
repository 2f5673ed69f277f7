"""A small, fully specified case store for the notebook tests.

200 cases over the 14 months 2025-09 .. 2026-10 in four categories (plus three with a category
text that matched nothing), built by fixed rules from the case number ``i`` (see
:func:`fixture_cases`), plus two hand-written cases that carry what the reports must handle
safely: a hostile supplier name, an e-mail address and a phone number in a description, Markdown
and LaTeX in case text. Two loads (whose counts add up) and three quarantined rows.

The notebook tests compare what the notebooks display with :mod:`analysis.metrics` run on this
store, so the figures need not be worked out here; the rules only make sure every section has
something to show: unsuppressed and suppressed groups at ``min_n=10`` in 2026-Q3, open cases,
EUR amounts, FX fallbacks, lowball decisions, refused high-value claims, compliance cases and a
hostile supplier with enough cases to be named in the supplier comparison (at ``min_n_named=2``).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from tests.casefactory import build_store, make_load, make_quarantine

HOSTILE_SUPPLIER = "<script>alert(1)</script>"
EMAIL = "li.wei@example.com"
PHONE = "+86 138 0013 8000"
CONTACT_DESCRIPTION = (
    f"Buyer: reach me at {EMAIL} or {PHONE}. <img src=x onerror=alert(1)> "
    "$\\href{javascript:alert(1)}{x}$ **bold** [link](javascript:alert(2))"
)
UNMAPPED_TEXT = "Gizmos & <b>Gadgets</b>"

#: The period the notebook tests report on, and the min_n that leaves some groups unsuppressed.
TEST_PERIOD = "2026-Q3"
TEST_MIN_N = 10

CATEGORIES = ["machinery"] * 4 + ["electronics"] * 3 + ["apparel_textiles"] * 2 + ["packaging"]
CLAIM_TYPES = ["quality", "late_shipment", "damaged", "compliance", "quantity", "non_delivery"]
OUTCOMES = [
    "full_refund",
    "partial_refund",
    "no_refund",
    "no_refund",
    "lowball",  # a partial refund of 2% of the claim
    "replacement",
    "withdrawn",
    "cancelled",
]
FIRST_MONTH = date(2025, 9, 1)
#: Cases opened before this date were written by load 1, the others by load 2.
LOAD_2_FROM = date(2026, 6, 1)


def _month(index: int) -> date:
    year, month = divmod(FIRST_MONTH.month - 1 + index, 12)
    return date(FIRST_MONTH.year + year, month + 1, 1)


def fixture_cases() -> list[dict]:
    """The fixture's cases as make_case overrides (198 by rule, 2 by hand)."""
    cases = []
    for i in range(198):
        month_index = i % 14
        opened = _month(month_index) + timedelta(days=(i * 7) % 25)
        outcome = OUTCOMES[i % 8]
        if i % 25 == 24:
            outcome = "out_of_coverage"
        if (month_index >= 12 and i % 3 == 0) or i == 3:
            outcome = "open"
        claim = Decimal(800 + ((i * 37) % 40) * 500)
        case = {
            "case_id": f"FX-{i:04d}",
            "supplier_id": f"S{i % 12 + 1:02d}",
            "supplier_name": f"Supplier {i % 12 + 1:02d} Ltd",
            "category": CATEGORIES[i % 10],
            "claim_type": CLAIM_TYPES[(i // 2) % 6],
            "opened_date": opened,
            "claim_amount": claim,
            "order_value": claim + 200,
            "description": "Goods not as agreed.",
            "load_id": 1 if opened < LOAD_2_FROM else 2,
        }
        if outcome == "lowball":
            case["outcome"] = "partial_refund"
            case["refund_amount"] = (claim * Decimal("0.02")).quantize(Decimal("0.01"))
        else:
            case["outcome"] = outcome
        if outcome != "open":
            case["closed_date"] = opened + timedelta(days=8 + (i * 13) % 40)
            case["decided_by"] = ("agreement", "platform", "external")[(i // 3) % 3]
        if i % 3 == 1:
            case["escalated_date"] = opened + timedelta(days=6)
        if case["claim_type"] == "quality":
            case["inspection"] = "sgs" if i % 4 == 0 else "none"
        case["evidence"] = [
            ["photos", "inspection_report"],
            ["photos"],
            ["chat_log", "contract"],
            None,
        ][i % 4]
        if i % 12 == 6:
            case["supplier_name"] = HOSTILE_SUPPLIER
        if i % 7 == 3:
            case["currency"] = "EUR"
            case["usd_per_unit"] = 1.1
        if i in (10, 50, 90):
            case["category"] = "other"
            case["category_raw"] = UNMAPPED_TEXT
            case["category_mapped"] = False
        if i in (196, 197):
            case["fx_fallback"] = True
            case["currency"] = "EUR"
            case["usd_per_unit"] = 1.1
        cases.append(case)
    # By hand: the $150-on-$10,000 lowball from the public record, by the hostile supplier,
    # with contact details and injection attempts in the description; and a refused $17,000
    # compliance claim by the same supplier (so it is named in the supplier comparison).
    cases.append(
        {
            "case_id": "FX-HOSTILE",
            "supplier_id": "S07",
            "supplier_name": HOSTILE_SUPPLIER,
            "category": "machinery",
            "claim_type": "compliance",
            "outcome": "partial_refund",
            "claim_amount": 10000,
            "refund_amount": 150,
            "opened_date": "2026-07-10",
            "closed_date": "2026-08-20",
            "escalated_date": "2026-07-16",
            "decided_by": "platform",
            "description": CONTACT_DESCRIPTION,
            "load_id": 2,
        }
    )
    cases.append(
        {
            "case_id": "FX-REFUSED",
            "supplier_id": "S07",
            "supplier_name": HOSTILE_SUPPLIER,
            "category": "machinery",
            "claim_type": "compliance",
            "outcome": "no_refund",
            "claim_amount": 17000,
            "refund_amount": 0,
            "opened_date": "2026-08-01",
            "closed_date": "2026-09-15",
            "decided_by": "platform",
            "description": "Falsified CE certificate; machine works, so no refund.",
            "load_id": 2,
        }
    )
    return cases


def build_fixture_store(db_path: Path | str, synthetic: bool = False) -> Path:
    """Write the fixture store to ``db_path``; ``synthetic`` flags every case as demo data."""
    cases = fixture_cases()
    if synthetic:
        for case in cases:
            case["is_synthetic"] = True
    per_load = {1: 0, 2: 0}
    unmapped = {1: 0, 2: 0}
    fallbacks = {1: 0, 2: 0}
    for case in cases:
        per_load[case["load_id"]] += 1
        unmapped[case["load_id"]] += case.get("category_mapped") is False
        fallbacks[case["load_id"]] += bool(case.get("fx_fallback"))
    loads = [
        make_load(
            load_id=1,
            source_file="/srv/exports/cases_2026-06.csv",
            file_sha256="1" * 64,
            started_at="2026-07-02 09:00:00",
            finished_at="2026-07-02 09:00:05",
            inserted=per_load[1],
            quarantined=2,
            unmapped_categories=unmapped[1],
            fx_fallbacks=fallbacks[1],
        ),
        make_load(
            load_id=2,
            source_file="/srv/exports/cases_2026-10.xlsx",
            file_format="xlsx",
            file_sha256="2" * 64,
            started_at="2026-11-02 09:00:00",
            finished_at="2026-11-02 09:00:07",
            inserted=per_load[2],
            quarantined=1,
            unmapped_categories=unmapped[2],
            fx_fallbacks=fallbacks[2],
        ),
    ]
    quarantine = [
        make_quarantine(
            load_id=1,
            source_file="/srv/exports/cases_2026-06.csv",
            file_sha256="1" * 64,
            row_number=7,
            case_id="BAD-1",
            reason="claim_amount: not a number",
            raw_record={"case_id": "BAD-1", "claim_amount": "ten thousand"},
        ),
        make_quarantine(
            load_id=1,
            source_file="/srv/exports/cases_2026-06.csv",
            file_sha256="1" * 64,
            row_number=9,
            case_id="BAD-2",
            reason="opened_date: not a date; currency: unknown code 'XYZ'",
            raw_record={"case_id": "BAD-2", "opened_date": "yesterday", "currency": "XYZ"},
        ),
        make_quarantine(
            load_id=2,
            source_file="/srv/exports/cases_2026-10.xlsx",
            file_sha256="2" * 64,
            row_number=3,
            case_id=None,
            reason="claim_amount: not a number",
            raw_record={"claim_amount": "=1+1"},
        ),
    ]
    meta = {"contains_synthetic": "true"} if synthetic else {"contains_real_data": "true"}
    return build_store(db_path, cases, loads=loads, quarantine=quarantine, meta=meta)
