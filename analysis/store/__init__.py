"""The case store: schema, connection, lock. The only package that opens DuckDB."""

from analysis.store.connection import (
    DUCKDB_CONFIG,
    StoreBusy,
    StoreError,
    StoreMissing,
    connect,
    first_line,
    hold,
    holding,
    is_open,
    open_duckdb,
    query_df,
    release,
    run_script,
    writer_lock,
)
from analysis.store.schema import SCHEMA_VERSION, ensure_schema, is_store, meta

__all__ = [
    "DUCKDB_CONFIG",
    "SCHEMA_VERSION",
    "StoreBusy",
    "StoreError",
    "StoreMissing",
    "connect",
    "ensure_schema",
    "first_line",
    "hold",
    "holding",
    "is_open",
    "is_store",
    "meta",
    "open_duckdb",
    "query_df",
    "release",
    "run_script",
    "writer_lock",
]
