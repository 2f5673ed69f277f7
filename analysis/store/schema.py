"""The store's tables: created when a store is new, and checked before anything is written.

``cases`` is generated from the column registry (:func:`analysis.columns.cases_ddl`); the other
tables are in ``analysis/store/sql/schema.sql``. A store carries its marker in ``store_meta``
(``schema_version``): a DuckDB file that holds tables but no marker is somebody else's database,
and nothing is ever written into it.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from analysis import columns as registry
from analysis import sqlfiles
from analysis.store.connection import StoreError

SCHEMA_VERSION = "5"
TABLES = frozenset({"cases", "quarantine", "loads", "store_meta"})
#: What brings a store of an older version up to this one (run by a writer, in order).
MIGRATIONS = {
    "2": (
        "ALTER TABLE loads ADD COLUMN IF NOT EXISTS as_of DATE",
        "ALTER TABLE loads ADD COLUMN IF NOT EXISTS field_coverage VARCHAR",
    ),
    # amounts are optional (issue 11); the export's own columns are kept
    "3": (
        *(
            f"ALTER TABLE cases ALTER COLUMN {column} DROP NOT NULL"
            for column in (
                "currency",
                "order_value",
                "claim_amount",
                "usd_per_unit",
                "fx_rate_date",
                "order_value_usd",
                "claim_usd",
            )
        ),  # fmt: skip
        "ALTER TABLE cases ADD COLUMN IF NOT EXISTS extra VARCHAR",
        "ALTER TABLE loads ADD COLUMN IF NOT EXISTS extra_columns VARCHAR",
    ),
    # issue 24.6: amounts keep a third decimal (KWD, BHD, ...); the export's own columns are
    # kept with their names in order (a file's column order is no change of the case); the
    # content hash is then taken again, as the load takes it, so that re-loading what the
    # store holds reports it unchanged
    "4": (
        *(
            f"ALTER TABLE cases ALTER COLUMN {column} TYPE {registry.AMOUNT_TYPE}"
            for column in registry.intake_names("amount")
        ),
        "UPDATE cases SET extra = to_json(map_from_entries(list_sort(map_entries("
        "extra::JSON::MAP(VARCHAR, VARCHAR)))))::VARCHAR WHERE extra IS NOT NULL",
        f"UPDATE cases SET content_hash = hash({', '.join(registry.hashed_names())})::VARCHAR",  # noqa: S608 (registry identifiers)
    ),
}


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {
        r[0]
        for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE NOT temporary AND database_name = current_database()"
        ).fetchall()
    }


def is_store(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether ``con`` is a ta-outcomes store (its tables and its marker)."""
    if not TABLES <= _tables(con):
        return False
    return (
        con.execute("SELECT count(*) FROM store_meta WHERE key = 'schema_version'").fetchone()[0]
        > 0
    )


def ensure_schema(con: duckdb.DuckDBPyConnection, db: Path | str = "") -> None:
    """Create the store's tables in an empty database; refuse a database that holds others.

    Idempotent, and writes nothing when the schema is already there, so a refused load leaves
    the file byte-for-byte as it was. Raises :class:`StoreError` for a DuckDB file with tables
    of its own (written into, it would become neither its owner's database nor a store).
    """
    have = _tables(con)
    if have and is_store(con):
        _migrate(con)
        return
    if have:
        shown = ", ".join(sorted(have)[:8]) + (" ..." if len(have) > 8 else "")
        raise StoreError(
            f"{db}: a DuckDB database that is not a ta-outcomes case store (it holds the "
            f"table(s) {shown}); nothing was written to it. Give --db a new file or a case store"
        )
    con.execute(sqlfiles.sql("store", "schema.sql"))
    con.execute(
        "INSERT INTO store_meta VALUES ('schema_version', ?) ON CONFLICT DO NOTHING",
        [SCHEMA_VERSION],
    )


def _migrate(con: duckdb.DuckDBPyConnection) -> None:
    """Bring an older store up to :data:`SCHEMA_VERSION` (nothing is written when it is current)."""
    version = meta(con).get("schema_version", SCHEMA_VERSION)
    while version != SCHEMA_VERSION and version in MIGRATIONS:
        for statement in MIGRATIONS[version]:
            con.execute(statement)
        version = str(int(version) + 1)
        con.execute("UPDATE store_meta SET value = ? WHERE key = 'schema_version'", [version])


def meta(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """The store_meta table as a dict."""
    return dict(con.execute("SELECT key, value FROM store_meta").fetchall())
