"""Parquet: typed columns written as intake text without changing a value."""

from __future__ import annotations

from pathlib import Path

import duckdb

from analysis import columns as registry
from analysis.errors import BadFile
from analysis.ingest.mapping import Mapping
from analysis.ingest.readers import common
from analysis.ingest.readers.common import (
    NUMERIC_TYPES,
    RawFile,
    first_line,
    typed_number_sql,
    unique_columns,
)


def read(con, path: Path, fmt: str, mapping: Mapping) -> RawFile:
    try:
        rel = con.sql("SELECT * FROM read_parquet(?)", params=[str(path)])
        names, types = rel.columns, [str(t) for t in rel.types]
    except duckdb.Error as exc:
        raise BadFile(f"{path}: cannot read as Parquet: {first_line(exc)}") from None
    columns = unique_columns(path, names, mapping)
    selects = []
    for name, typ, canon in zip(names, types, columns, strict=True):
        quoted = '"' + name.replace('"', '""') + '"'
        if typ == "TIMESTAMP WITH TIME ZONE":
            # An instant without its zone: read as its UTC day and time, on every machine.
            expr = f"({quoted} AT TIME ZONE 'UTC')::VARCHAR"
        elif canon in registry.intake_names("amount") and typ.startswith(NUMERIC_TYPES):
            expr = typed_number_sql(f"{quoted}::VARCHAR")
        else:
            expr = f"{quoted}::VARCHAR"
        selects.append(f'{expr} AS "{canon}"')
    try:
        common.create_raw_input(
            con,
            "SELECT "  # noqa: S608 (identifiers only; values are bound)
            + ", ".join(selects)
            + " FROM read_parquet(?)",
            [str(path)],
        )
    except duckdb.Error as exc:
        raise BadFile(f"{path}: cannot read as Parquet: {first_line(exc)}") from None
    n = con.execute("SELECT count(*) FROM raw_input").fetchone()[0]
    return RawFile(path, fmt, columns, n, headers=[str(h) for h in names])
