"""Shared fixtures: small hand-written intake files and a fixed 'today'."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import duckdb
import pytest

#: The date the ingest tests treat as today (opened_date after it is "in the future").
TODAY = dt.date(2026, 6, 30)

HEADER = [
    "case_id",
    "supplier_id",
    "product_category",
    "claim_type",
    "opened_date",
    "outcome",
    "order_value",
    "claim_amount",
    "currency",
    "refund_amount",
    "closed_date",
]


def good_row(case_id: str = "C1", **overrides) -> dict:
    """A valid closed case; override any field."""
    row = {
        "case_id": case_id,
        "supplier_id": "S1",
        "product_category": "machinery",
        "claim_type": "quality",
        "opened_date": "2026-03-05",
        "outcome": "no_refund",
        "order_value": "1000",
        "claim_amount": "1000",
        "currency": "USD",
        "refund_amount": "0",
        "closed_date": "2026-04-01",
    }
    row.update(overrides)
    return row


def write_csv(path: Path, rows: list[dict], header: list[str] | None = None, **fmt) -> Path:
    """Write rows (dicts) as CSV with ``header`` (default: the keys of the first row)."""
    header = header or list(rows[0].keys())
    with open(path, "w", newline="", encoding=fmt.pop("encoding", "utf-8")) as fh:
        w = csv.DictWriter(fh, fieldnames=header, extrasaction="ignore", **fmt)
        w.writeheader()
        w.writerows(rows)
    return path


def fetch(db: Path, sql: str, params=None) -> list[tuple]:
    """Rows of a query against a closed store."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "store" / "cases.duckdb"


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """The small report store of tests/report_store.py (a test module may define its own)."""
    from tests.report_store import report_store

    return report_store(tmp_path)


from tests.metrics_store import feb_db  # noqa: E402, F401 (the February store, a shared fixture)
