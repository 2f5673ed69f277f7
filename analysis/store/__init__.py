"""The case store: schema, connection, lock. The only package that opens DuckDB."""

from analysis.store.connection import (
    DUCKDB_CONFIG,
    SEALED_CONFIG,
    Reader,
    Source,
    connect,
    connect_sealed,
    first_line,
    location_of,
    open_duckdb,
    open_sealed,
    query_df,
    reading,
    run_script,
    writer_lock,
)
from analysis.store.errors import StoreBusy, StoreError, StoreMissing
from analysis.store.lake import is_lake, next_load_id, snapshot_id
from analysis.store.schema import SCHEMA_VERSION, ensure_schema, is_store, meta

__all__ = [
    "DUCKDB_CONFIG",
    "SCHEMA_VERSION",
    "SEALED_CONFIG",
    "Reader",
    "Source",
    "StoreBusy",
    "StoreError",
    "StoreMissing",
    "connect",
    "connect_sealed",
    "ensure_schema",
    "first_line",
    "is_lake",
    "is_store",
    "meta",
    "next_load_id",
    "open_duckdb",
    "open_sealed",
    "location_of",
    "query_df",
    "reading",
    "run_script",
    "snapshot_id",
    "writer_lock",
]
