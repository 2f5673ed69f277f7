"""A held-out store the size of a small agency: about 250 cases over 12 months (2025-12 to
2026-11), 15 to 25 closed a month, written as a tracker export (CSV) and loaded by the real
ingest, so buyer references are pseudonymised with the store's own secret.

Seeded and plain: a handful of categories and claim types, about 60 suppliers (most with one
to five cases, a few with more), 25 buyers (``CLIENT_NAMES``: the agency's clients), money in
US dollars between $300 and $40,000, outcomes as such trackers show them (refunds in full
or in part, no refund, withdrawn, cancelled, a few still open). Nothing is planted: the tests
read the figures back from the store.
"""

from __future__ import annotations

import csv
import random
from datetime import date, timedelta
from pathlib import Path

#: The agency's clients (buyer references in the tracker; the store keeps only their keys).
CLIENT_NAMES = tuple(f"Client {name}" for name in (
    "Aurora Imports", "Baltic Home", "Cedar Retail", "Delta Tools", "Ember Goods",
    "Fjord Trading", "Granite Supply", "Harbor Living", "Iris Beauty", "Juniper Kids",
    "Kestrel Auto", "Lumen Lighting", "Maple Garden", "Nimbus Tech", "Orchid Apparel",
    "Pioneer Build", "Quartz Medical", "Raven Sports", "Sable Pack", "Tundra Outdoor",
    "Umber Foods", "Vista Optics", "Willow Crafts", "Xenon Parts", "Yarrow Textiles",
))  # fmt: skip
CATEGORIES = ("electronics", "home_garden", "apparel_textiles", "machinery", "packaging")
CLAIM_TYPES = ("quality", "quantity", "damaged", "late_shipment", "non_delivery", "compliance")
#: Closed cases per month, 2025-12 to 2026-11 (15 to 25).
CLOSED_PER_MONTH = (18, 15, 21, 17, 24, 19, 16, 22, 20, 25, 17, 19)
FIRST_MONTH = date(2025, 12, 1)
#: The report month the tests use (the last of the 12).
PERIOD = "2026-11"
HEADER = (
    "case_id", "buyer_ref", "supplier_id", "supplier_name", "product_category", "claim_type",
    "opened_date", "closed_date", "outcome", "currency", "order_value", "claim_amount",
    "refund_amount", "escalated_date", "description",
)  # fmt: skip


def _month(i: int) -> date:
    year, month = divmod(FIRST_MONTH.month - 1 + i, 12)
    return date(FIRST_MONTH.year + year, month + 1, 1)


def rows(seed: int = 26) -> list[dict]:
    """The tracker's rows (one per case)."""
    rng = random.Random(seed)
    suppliers = [f"SUP-{n:03d}" for n in range(1, 61)]
    weights = [12 if n < 3 else 4 if n < 10 else 1 for n in range(len(suppliers))]
    out = []
    number = 1
    for i, closed_n in enumerate(CLOSED_PER_MONTH):
        start = _month(i)
        days = (_month(i + 1) - start).days
        for _ in range(closed_n):
            closed = start + timedelta(days=rng.randrange(days))
            opened = closed - timedelta(days=rng.randint(8, 70))
            out.append(_case(rng, number, suppliers, weights, opened, closed))
            number += 1
    for _ in range(20):  # still open at the export's date
        opened = date(2026, 11, 30) - timedelta(days=rng.randint(1, 60))
        out.append(_case(rng, number, suppliers, weights, opened, None))
        number += 1
    return out


def _case(rng, number, suppliers, weights, opened, closed) -> dict:
    supplier = rng.choices(suppliers, weights)[0]
    claim = round(rng.choice((300, 800, 1500, 3000, 6000, 12000, 40000)) * rng.uniform(0.7, 1.3))
    if closed is None:
        outcome, refund = "open", ""
    else:
        outcome = rng.choices(
            ("full_refund", "partial_refund", "no_refund", "withdrawn", "cancelled"),
            (30, 30, 25, 8, 7),
        )[0]
        refund = {"full_refund": claim, "no_refund": 0}.get(outcome, "")
        if outcome == "partial_refund":
            refund = round(claim * rng.choice((0.03, 0.08, 0.3, 0.5, 0.7)))
    escalated = opened + timedelta(days=5) if closed and rng.random() < 0.3 else None
    return {
        "case_id": f"AG-{number:04d}",
        "buyer_ref": rng.choice(CLIENT_NAMES),
        "supplier_id": supplier,
        "supplier_name": f"Supplier {supplier[-3:]} Co., Ltd.",
        "product_category": rng.choice(CATEGORIES),
        "claim_type": rng.choices(CLAIM_TYPES, (35, 15, 15, 15, 10, 10))[0],
        "opened_date": opened.isoformat(),
        "closed_date": closed.isoformat() if closed else "",
        "outcome": outcome,
        "currency": "USD",
        "order_value": round(claim * 1.2),
        "claim_amount": claim,
        "refund_amount": refund,
        "escalated_date": escalated.isoformat() if escalated and escalated < closed else "",
        "description": f"Tracker note {number}",
    }


def write_export(path: Path, seed: int = 26) -> Path:
    """The tracker's CSV at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=HEADER)
        writer.writeheader()
        writer.writerows(rows(seed))
    return path


def small_agency_store(folder: Path, seed: int = 26) -> Path:
    """The store at ``folder/cases.duckdb``, loaded from the tracker by the real ingest."""
    from analysis.ingest.load import ingest_paths

    db = folder / "cases.duckdb"
    export = write_export(folder / "raw" / "agency-tracker-2026-11-30.csv", seed)
    results = ingest_paths([export], db, as_of=date(2026, 11, 30))
    assert all(r.error is None for r in results), [r.error for r in results]
    return db
