"""Hand-built case stores for tests and fixture notebooks.

A test states only what matters for it; every other NOT NULL column gets a sensible default:

    build_store(tmp_path / "cases.duckdb", [
        make_case(case_id="C1", outcome="no_refund", claim_amount=10000, refund_amount=0,
                  opened_date="2026-01-05", closed_date="2026-02-01"),
    ])

Defaults: currency USD at 1.0 USD per unit (``*_usd`` = amount x ``usd_per_unit``, the rate of
``opened_date``), order value = claim, refund = 0 for no_refund / the claim for full_refund /
half the claim for partial_refund / NULL otherwise, closed 20 days after opening for final
outcomes, supplier S1 in CN, category machinery, claim type quality.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pandas as pd

from analysis import columns
from analysis.store import connect

FINAL_OUTCOMES = (
    "full_refund",
    "partial_refund",
    "no_refund",
    "replacement",
    "withdrawn",
    "cancelled",
    "out_of_coverage",
)
LOADED_AT = "2026-01-01 00:00:00"

_case_numbers = itertools.count(1)
# The column lists come from the registry (analysis/columns.py), typed by their SQL type.
_AMOUNT_COLUMNS = tuple(c.name for c in columns.CASES if c.sql_type.startswith("DECIMAL"))
_DATE_COLUMNS = tuple(c.name for c in columns.CASES if c.sql_type == "DATE")
#: What a case says (the registry's hashed columns, but the flag set by the load itself).
_BUSINESS_COLUMNS = ("case_id", *(n for n in columns.hashed_names() if n != "is_synthetic"))


def _as_date(value) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _as_decimal(value) -> Decimal | None:
    if value is None:
        return None
    # str() first so that 0.1 means 0.1, not its binary approximation.
    return Decimal(str(value))


def make_case(**overrides) -> dict:
    """One case with defaults for every column; ``overrides`` win. Unknown keys are an error."""
    outcome = overrides.get("outcome", "no_refund")
    claim = _as_decimal(overrides.get("claim_amount", 10000))
    opened = _as_date(overrides.get("opened_date", "2026-01-05"))
    if "refund_amount" in overrides:
        refund = _as_decimal(overrides["refund_amount"])
    else:
        refund = {
            "no_refund": Decimal(0),
            "full_refund": claim,
            "partial_refund": (claim / 2).quantize(Decimal("0.01")),
        }.get(outcome)
    if "closed_date" in overrides:
        closed = _as_date(overrides["closed_date"])
    else:
        closed = opened + timedelta(days=20) if outcome in FINAL_OUTCOMES else None
    number = next(_case_numbers)
    case = {
        "case_id": f"CASE{number:06d}",
        "order_id": None,
        "buyer_key": None,
        "supplier_id": "S1",
        "supplier_name": None,
        "supplier_country": "CN",
        "category": "machinery",
        "category_raw": None,
        "category_mapped": True,
        "claim_type": "quality",
        "outcome": outcome,
        "currency": "USD",
        "order_value": claim,
        "claim_amount": claim,
        "refund_amount": refund,
        "inspection_fee": None,
        "usd_per_unit": 1.0,
        "fx_rate_date": None,
        "fx_fallback": False,
        "order_date": None,
        "received_date": None,
        "opened_date": opened,
        "escalated_date": None,
        "escalated": None,  # None: escalated when escalated_date is given (as the ingest does)
        "closed_date": closed,
        "decided_by": None,
        "inspection": None,
        "evidence": None,
        "coverage": None,
        "description": None,
        "extra": None,
        "platform_reason": None,
        "after_route": None,
        "after_outcome": None,
        "after_refund_amount": None,
        "after_closed_date": None,
        "is_synthetic": False,
        "source_file": "tests/fixture.csv",
        "source_row": number,
        "load_id": 1,
        "first_loaded_at": LOADED_AT,
        "updated_at": LOADED_AT,
    }
    unknown = (
        set(overrides)
        - set(case)
        - {
            "order_value_usd",
            "claim_usd",
            "refund_usd",
            "inspection_fee_usd",
            "after_refund_usd",
            "content_hash",
        }
    )
    if unknown:
        raise KeyError(f"make_case: unknown column(s) {sorted(unknown)}")
    case.update(overrides)
    for column in _AMOUNT_COLUMNS:
        case[column] = _as_decimal(case[column])
    for column in _DATE_COLUMNS:
        case[column] = _as_date(case[column])
    if case["order_value"] is None:
        case["order_value"] = case["claim_amount"]
    if case["escalated"] is None:
        case["escalated"] = case["escalated_date"] is not None
    case["supplier_name"] = case["supplier_name"] or f"Supplier {case['supplier_id']}"
    case["category_raw"] = case["category_raw"] or case["category"]
    case["fx_rate_date"] = case["fx_rate_date"] or case["opened_date"]
    rate = float(case["usd_per_unit"])
    for amount, usd in (
        ("order_value", "order_value_usd"),
        ("claim_amount", "claim_usd"),
        ("refund_amount", "refund_usd"),
        ("inspection_fee", "inspection_fee_usd"),
        ("after_refund_amount", "after_refund_usd"),
    ):
        if usd not in case:
            case[usd] = None if case[amount] is None else float(case[amount]) * rate
    if "content_hash" not in case:
        business = {k: case[k] for k in _BUSINESS_COLUMNS}
        case["content_hash"] = hashlib.sha256(
            json.dumps(business, default=str, sort_keys=True).encode()
        ).hexdigest()
    return case


def make_load(**overrides) -> dict:
    """One ``loads`` row; the counts default to a clean load of ``inserted`` rows."""
    load = {
        "load_id": 1,
        "source_file": "/data/raw/fixture.csv",
        "file_sha256": "0" * 64,
        "file_bytes": 1000,
        "file_format": "csv",
        "mapping_file": None,
        "started_at": LOADED_AT,
        "finished_at": LOADED_AT,
        "inserted": 0,
        "updated": 0,
        "unchanged": 0,
        "repeats": 0,
        "quarantined": 0,
        "unmapped_categories": 0,
        "fx_fallbacks": 0,
        "tool_version": "test",
    }
    load.update(overrides)
    if "rows_read" not in overrides:
        load["rows_read"] = sum(
            load[k] for k in ("inserted", "updated", "unchanged", "repeats", "quarantined")
        )
    return load


_quarantine_rows = itertools.count(1)


def make_quarantine(**overrides) -> dict:
    """One ``quarantine`` row (a rejected raw row)."""
    row = {
        "load_id": 1,
        "source_file": "/data/raw/fixture.csv",
        "file_sha256": "0" * 64,
        "row_number": next(_quarantine_rows),
        "case_id": None,
        "reason": "claim_amount: not a number",
        "raw_record": "{}",
        "quarantined_at": LOADED_AT,
    }
    row.update(overrides)
    if not isinstance(row["raw_record"], str):
        row["raw_record"] = json.dumps(row["raw_record"], default=str)
    return row


def _insert(con, table: str, rows: list[dict]) -> None:
    """Insert dict rows into ``table``, casting every value to the column's declared type."""
    if not rows:
        return
    columns = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_name = ? ORDER BY ordinal_position",
        [table],
    ).fetchall()
    types = dict(columns)
    unknown = {k for row in rows for k in row} - set(types)
    if unknown:
        raise KeyError(f"{table}: no column(s) {sorted(unknown)}")
    # Everything travels as text (exact for decimals and dates) and is cast by DuckDB; lists
    # travel as JSON text.
    frame = pd.DataFrame(
        {
            name: [_to_text(row.get(name), types[name]) for row in rows]
            for name, _ in columns
            if any(name in row for row in rows)
        },
        dtype=object,
    )
    selects = []
    for name in frame.columns:
        if types[name].endswith("[]"):
            selects.append(f'CAST(CAST("{name}" AS JSON) AS {types[name]}) AS "{name}"')
        else:
            selects.append(f'CAST("{name}" AS {types[name]}) AS "{name}"')
    con.register("fixture_rows", frame)
    try:
        # Only column names and types read from the schema are formatted in.
        columns = ", ".join(selects)
        insert = f"INSERT INTO {table} BY NAME SELECT {columns} FROM fixture_rows"  # noqa: S608
        con.execute(insert)
    finally:
        con.unregister("fixture_rows")


def _to_text(value, data_type: str) -> str | None:
    if value is None:
        return None
    if data_type.endswith("[]"):
        return json.dumps(list(value))
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def build_store(
    db_path: Path | str,
    cases: list[dict],
    loads: list[dict] | None = None,
    quarantine: list[dict] | None = None,
    meta: dict[str, str] | None = None,
) -> Path:
    """Create (or add to) a store at ``db_path`` holding ``cases``.

    Each case is completed with :func:`make_case` defaults, so plain dicts stating only what
    matters are fine. When ``loads`` is None and there are cases, one clean load (load_id 1)
    accounting for them is recorded, its as-of date the latest day the cases mention.
    """
    db_path = Path(db_path)
    full_cases = [make_case(**case) for case in cases]
    if loads is None:
        # the export describes the latest day its cases mention (the store's as-of date)
        latest = max(
            (d for c in full_cases for d in (c["opened_date"], c["closed_date"]) if d), default=None
        )
        loads = [make_load(inserted=len(full_cases), as_of=latest)] if full_cases else []
    with connect(db_path, read_only=False, quiet=True) as con:
        _insert(con, "loads", [make_load(**load) for load in loads])
        # keep the store's load sequence ahead of the hand-made loads, as real loads leave it
        top = con.execute("SELECT coalesce(max(load_id), 0) FROM loads").fetchone()[0]
        con.execute("SELECT max(nextval('load_id_seq')) FROM range(?)", [top])
        _insert(con, "quarantine", [make_quarantine(**row) for row in quarantine or []])
        _insert(con, "cases", full_cases)
        # one name per supplier, as every load keeps it
        from analysis.store.schema import LATEST_NAME

        con.execute("DELETE FROM suppliers")
        names = f"SELECT supplier_id, {LATEST_NAME} FROM cases GROUP BY ALL"  # noqa: S608 (fixed text)
        con.execute("INSERT INTO suppliers " + names)
        for key, value in (meta or {}).items():
            con.execute("INSERT OR REPLACE INTO store_meta VALUES (?, ?)", [key, str(value)])
    return db_path
