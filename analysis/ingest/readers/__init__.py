"""Read one intake file into a DuckDB temp table of text columns.

Whatever the format, the result is the temp table ``raw_input``: a ``_row`` column (the data record's
number in the file, from 1, header not counted) and one VARCHAR column per source column, named by
:func:`canonical_column` (after the mapping's renames). Records the reader itself cannot split
(a CSV line with too many columns, an unterminated quote) come back as :class:`Reject` rows, to be
quarantined with their reason, so that every record of the file is accounted for.

A file that is not a table at all (empty, binary, header only, not a list of records) raises
:class:`analysis.errors.BadFile` with one line naming the file and the problem.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from analysis.errors import BadFile
from analysis.ingest.mapping import Mapping
from analysis.ingest.readers import common, delimited, excel, json_records, parquet
from analysis.ingest.readers.common import (
    COLUMN_ALIASES,
    SUPPORTED,
    RawFile,
    Reject,
    canonical_column,
    canonical_names,
    missing_columns_error,
    typed_number_text,
)

__all__ = [
    "COLUMN_ALIASES",
    "SUPPORTED",
    "RawFile",
    "Reject",
    "canonical_column",
    "canonical_names",
    "common",
    "detect_format",
    "missing_columns_error",
    "read_raw",
    "typed_number_text",
]


def detect_format(path: Path) -> str:
    """The intake format of ``path`` from its extension, else :class:`BadFile`."""
    fmt = SUPPORTED.get(path.suffix.lower())
    if fmt is None:
        raise BadFile(
            f"{path}: unsupported file type '{path.suffix or '(none)'}'; "
            "expected .csv, .tsv, .xlsx, .json, .jsonl or .parquet"
        )
    return fmt


def read_raw(con: duckdb.DuckDBPyConnection, path: Path, mapping: Mapping | None = None) -> RawFile:
    """Read ``path`` into the temp table ``raw_input`` (see the module docstring)."""
    mapping = mapping or Mapping()
    fmt = detect_format(path)
    if path.stat().st_size == 0:
        raise BadFile(f"{path}: the file is empty")
    con.execute("DROP TABLE IF EXISTS raw_input")
    reader = {
        "csv": delimited.read,
        "tsv": delimited.read,
        "xlsx": excel.read,
        "json": json_records.read,
        "parquet": parquet.read,
    }[fmt]
    return reader(con, path, fmt, mapping)
