"""The case store: schema, connection, lock. The only package that opens DuckDB."""

from analysis.store.connection import (
    DUCKDB_CONFIG,
    SEALED_CONFIG,
    Reader,
    Source,
    connect,
    connect_sealed,
    first_line,
    open_duckdb,
    open_sealed,
    path_of,
    query_df,
    reading,
    run_script,
    writer_lock,
)
from analysis.store.errors import StoreBusy, StoreError, StoreMissing
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
    "is_store",
    "meta",
    "open_duckdb",
    "open_sealed",
    "path_of",
    "query_df",
    "reading",
    "run_script",
    "writer_lock",
]
