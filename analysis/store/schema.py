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
from analysis.columns import hashed_names
from analysis.store.errors import StoreError

SCHEMA_VERSION = "6"
TABLES = frozenset({"cases", "quarantine", "loads", "store_meta", "suppliers"})
#: The tables every version of a store has (with its marker, what makes a database a store).
CORE_TABLES = frozenset({"cases", "quarantine", "loads", "store_meta"})
#: A supplier's name from its cases: the name on its latest case (closed, or else opened, last;
#: then loaded last, then last in its file). ``suppliers.name`` puts the alias file's first.
LATEST_NAME = (
    "arg_max(supplier_name, (coalesce(closed_date, opened_date), load_id, source_row)) "
    "FILTER (WHERE supplier_name IS NOT NULL)"
)
#: The columns of ``cases`` that version 6 added (issue 29).
_V6_COLUMNS = (
    "platform_reason", "after_route", "after_outcome", "after_refund_amount", "after_refund_usd",
    "after_closed_date",
)  # fmt: skip
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
    # kept with their names in order (a file's column order is no change of the case).
    # issue 28: escalated as a fact of its own (a yes/no column gives it without a date).
    # The content hash covers both, so every stored hash is recomputed the way the staging
    # computes it, or re-loading an unchanged export would count every case as updated.
    "4": (
        *(
            f"ALTER TABLE cases ALTER COLUMN {column} TYPE {registry.AMOUNT_TYPE}"
            for column in registry.intake_names("amount")
            if column not in _V6_COLUMNS
        ),
        "UPDATE cases SET extra = to_json(map_from_entries(list_sort(map_entries("
        "extra::JSON::MAP(VARCHAR, VARCHAR)))))::VARCHAR WHERE extra IS NOT NULL",
        "ALTER TABLE cases ADD COLUMN IF NOT EXISTS escalated BOOLEAN",
        "UPDATE cases SET escalated = escalated_date IS NOT NULL",
        "ALTER TABLE cases ALTER COLUMN escalated SET NOT NULL",
        # (over version 5's columns: version 6's are added, and the hash recomputed, by "5")
        f"UPDATE cases SET content_hash = hash({', '.join(n for n in hashed_names() if n not in _V6_COLUMNS)})::VARCHAR",  # noqa: S608 (identifiers from the registry)
        # one name per supplier (the alias file's names arrive with the next load)
        "CREATE TABLE IF NOT EXISTS suppliers (supplier_id VARCHAR NOT NULL, name VARCHAR)",
        "DELETE FROM suppliers",  # (each step may run again after an interrupted migration)
        f"INSERT INTO suppliers SELECT supplier_id, {LATEST_NAME} FROM cases GROUP BY ALL",  # noqa: S608 (fixed text)
    ),
    # issue 29: the platform's stated reason and what the buyer did after its decision; they
    # are in the content hash, so every stored hash is recomputed (NULL for every stored case,
    # as the staging computes it for an export without the columns: re-loading it is unchanged)
    "5": (
        *(
            f"ALTER TABLE cases ADD COLUMN IF NOT EXISTS {c.name} {c.sql_type}"
            for c in registry.CASES
            if c.name in _V6_COLUMNS
        ),
        f"UPDATE cases SET content_hash = hash({', '.join(hashed_names())})::VARCHAR",  # noqa: S608 (identifiers from the registry)
    ),
}
#: What a reader sees of a store of an older version that no writer has migrated yet (a
#: read-only store): temp views of the tables as the current version has them.
READ_VIEWS = {
    "4": {
        "cases": "SELECT *, escalated_date IS NOT NULL AS escalated FROM {cases}",
        "suppliers": f"SELECT supplier_id, {LATEST_NAME} AS name FROM {{cases}} GROUP BY ALL",  # noqa: S608 (fixed text)
    },
    "5": {
        "cases": "SELECT *, "  # noqa: S608 (identifiers from the registry)
        + ", ".join(
            f"NULL::{c.sql_type} AS {c.name}" for c in registry.CASES if c.name in _V6_COLUMNS
        )
        + " FROM {cases}",
    },
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
    if not CORE_TABLES <= _tables(con):
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
    from analysis.store import lake

    ddl = sqlfiles.sql("store", "schema.sql")
    con.execute(lake.lake_ddl(ddl) if lake.on_lake(con) else ddl)
    # (no ON CONFLICT: a lake declares no key on store_meta)
    con.execute(
        "INSERT INTO store_meta SELECT 'schema_version', ? "
        "WHERE NOT EXISTS (SELECT 1 FROM store_meta WHERE key = 'schema_version')",
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


def read_as_current(con: duckdb.DuckDBPyConnection) -> None:
    """On a read-only connection to a store of an older version, show its tables as the current
    version has them (:data:`READ_VIEWS`), so that a report needs no writer to run first."""
    try:
        version = meta(con).get("schema_version", SCHEMA_VERSION)
    except duckdb.Error:  # not a store (yet): nothing to show differently
        return
    if version == SCHEMA_VERSION:
        return
    catalog = '"' + con.execute("SELECT current_database()").fetchone()[0].replace('"', '""') + '"'
    stored = {table: f"{catalog}.main.{table}" for table in CORE_TABLES}
    # each version's views read the one before (a version-4 store takes 4's view of cases, then
    # 5's over it); the last of each table takes the table's own name
    shown: dict[str, str] = {}
    for v in range(int(version), int(SCHEMA_VERSION)):
        for table, select in READ_VIEWS.get(str(v), {}).items():
            name = f"_read_{table}_v{v}"
            con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS " + select.format(**stored))
            stored[table] = shown[table] = name
    for table, name in shown.items():
        con.execute(f"CREATE OR REPLACE TEMP VIEW {table} AS SELECT * FROM {name}")  # noqa: S608 (fixed names)


def meta(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """The store_meta table as a dict."""
    return dict(con.execute("SELECT key, value FROM store_meta").fetchall())
