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
