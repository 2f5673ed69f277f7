"""analysis.store.schema: the store's tables, its marker, and the cases table from the registry."""

from __future__ import annotations

import pytest

from analysis import columns, store
from analysis.store import schema


def test_an_empty_database_becomes_a_store_with_its_marker():
    con = store.open_duckdb()
    schema.ensure_schema(con)
    assert schema.is_store(con)
    assert store.meta(con) == {"schema_version": schema.SCHEMA_VERSION}
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert tables == set(schema.TABLES)


def test_the_cases_table_is_the_registry():
    con = store.open_duckdb()
    schema.ensure_schema(con)
    described = con.execute(
        "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
        "WHERE table_name = 'cases' ORDER BY ordinal_position"
    ).fetchall()
    expected = [
        (c.name, c.sql_type.replace(" ", ""), "NO" if c.not_null else "YES") for c in columns.CASES
    ]
    assert [(n, t.replace(" ", ""), null) for n, t, null in described] == expected


def test_ensure_schema_writes_nothing_to_a_store_and_refuses_a_foreign_database():
    con = store.open_duckdb()
    schema.ensure_schema(con)
    con.execute("INSERT INTO store_meta VALUES ('x', 'y')")
    schema.ensure_schema(con)  # idempotent
    assert store.meta(con)["x"] == "y"
    foreign = store.open_duckdb()
    foreign.execute("CREATE TABLE cases (x INTEGER)")  # a table named like ours is not a store
    with pytest.raises(store.StoreError, match="not a ta-outcomes case store .* cases"):
        schema.ensure_schema(foreign, "theirs.duckdb")
    assert foreign.execute("SELECT count(*) FROM duckdb_tables()").fetchone() == (1,)


def _as_version_4(db):
    """The store ``db`` as a version-4 store had it: no escalated column, the hash without it."""
    import duckdb

    old_hash = ", ".join(
        n for n in columns.hashed_names() if n != "escalated" and n not in schema._V6_COLUMNS
    )
    con = duckdb.connect(str(db))
    con.execute("ALTER TABLE cases DROP COLUMN escalated")
    for name in schema._V6_COLUMNS:  # (version 6's, issue 29)
        con.execute(f"ALTER TABLE cases DROP COLUMN {name}")
    con.execute("DROP TABLE suppliers")
    con.execute(f"UPDATE cases SET content_hash = hash({old_hash})::VARCHAR")  # noqa: S608 (identifiers only)
    con.execute("UPDATE store_meta SET value = '4' WHERE key = 'schema_version'")
    con.close()


def test_a_version_4_store_is_read_and_migrated_with_escalated_and_its_hashes(tmp_path):
    # Issue 28.2: escalated became a column of its own, in the content hash. A store of the
    # version before reads as if it had the column (a report needs no writer first), and the
    # first write migrates it: the column from the date, every hash recomputed, so re-loading
    # the same export leaves every case unchanged.
    from analysis.ingest import load
    from tests.conftest import HEADER, TODAY, fetch, good_row, write_csv

    db = tmp_path / "cases.duckdb"
    rows = [good_row("C1", escalated_date="2026-03-10", supplier_name="Acme Trading"),
            good_row("C2", supplier_name="ACME", closed_date="2026-03-30")]  # fmt: skip
    path = write_csv(tmp_path / "a.csv", rows, [*HEADER, "escalated_date", "supplier_name"])
    load.ingest_paths([path], db, today=TODAY)
    _as_version_4(db)
    with store.connect(db) as con:  # read-only: shown as the current version
        assert con.execute("SELECT case_id, escalated FROM cases ORDER BY 1").fetchall() == [
            ("C1", True), ("C2", False)]  # fmt: skip
        assert con.execute("SELECT * FROM suppliers").fetchall() == [("S1", "Acme Trading")]
    assert fetch(db, "SELECT value FROM store_meta WHERE key = 'schema_version'") == [("4",)]
    (again,) = load.ingest_paths([path], db, today=TODAY)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)
    assert fetch(db, "SELECT case_id, escalated FROM cases ORDER BY 1") == [
        ("C1", True), ("C2", False)]  # fmt: skip
    assert fetch(db, "SELECT value FROM store_meta WHERE key = 'schema_version'") == [
        (schema.SCHEMA_VERSION,)]  # fmt: skip
    assert fetch(db, "SELECT * FROM suppliers") == [("S1", "Acme Trading")]


def _as_version_5(db):
    """The store ``db`` as a version-5 store had it: no platform reason or after-platform
    columns, the content hash without them."""
    import duckdb

    old_hash = ", ".join(n for n in columns.hashed_names() if n not in schema._V6_COLUMNS)
    con = duckdb.connect(str(db))
    for name in schema._V6_COLUMNS:
        con.execute(f"ALTER TABLE cases DROP COLUMN {name}")
    con.execute(f"UPDATE cases SET content_hash = hash({old_hash})::VARCHAR")  # noqa: S608 (identifiers only)
    con.execute("UPDATE store_meta SET value = '5' WHERE key = 'schema_version'")
    con.close()


def test_a_version_5_store_is_read_and_migrated_with_the_after_platform_columns(tmp_path):
    # Issue 29.1: the platform's reason and what the buyer did after it are columns of their
    # own, in the content hash. A version-5 store reads as if it had them (NULL: not recorded),
    # and its first writer migrates it: the columns added, every hash recomputed, so re-loading
    # the export it came from leaves every case unchanged; a newer export fills them in.
    from analysis.ingest import load
    from tests.conftest import HEADER, TODAY, fetch, good_row, write_csv

    db = tmp_path / "cases.duckdb"
    path = write_csv(tmp_path / "a.csv", [good_row("C1"), good_row("C2")], HEADER)
    load.ingest_paths([path], db, today=TODAY)
    _as_version_5(db)
    with store.connect(db) as con:  # read-only: shown as the current version
        assert con.execute(
            "SELECT case_id, platform_reason, after_route, after_refund_usd FROM cases ORDER BY 1"
        ).fetchall() == [("C1", None, None, None), ("C2", None, None, None)]
    (again,) = load.ingest_paths([path], db, today=TODAY)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)
    assert fetch(db, "SELECT value FROM store_meta WHERE key = 'schema_version'") == [("6",)]
    newer = good_row("C1", platform_reason="Machine works", after_route="chargeback",
                     after_outcome="recovered_partial", after_refund_amount="400",
                     after_closed_date="2026-05-20")  # fmt: skip
    header = [*HEADER, "platform_reason", "after_route", "after_outcome", "after_refund_amount",
              "after_closed_date"]  # fmt: skip
    (third,) = load.ingest_paths([write_csv(tmp_path / "b.csv", [newer], header)], db, today=TODAY)
    assert (third.inserted, third.updated, third.unchanged) == (0, 1, 0)
    assert fetch(db, "SELECT platform_reason, after_route, after_outcome, after_refund_amount, "
                     "after_refund_usd, after_closed_date::VARCHAR FROM cases WHERE case_id = 'C1'") == [
        ("product_operational", "chargeback", "recovered_partial", 400, 400.0, "2026-05-20")]  # fmt: skip
