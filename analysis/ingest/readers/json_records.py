"""JSON: an array of objects or one object per line; strings stay the text they were."""

from __future__ import annotations

import codecs
import re
from pathlib import Path

import duckdb

from analysis import columns as registry
from analysis.errors import BadFile
from analysis.ingest.mapping import Mapping
from analysis.ingest.readers import common
from analysis.ingest.readers.common import (
    NUMERIC_TYPES,
    RawFile,
    canonical_column,
    first_line,
    typed_number_sql,
    unique_columns,
)
from analysis.ingest.readers.delimited import transcode_to_utf8


def read(con, path: Path, fmt: str, mapping: Mapping) -> RawFile:
    with open(path, "rb") as fh:
        first = fh.read(4)
    if first.startswith(codecs.BOM_UTF8):
        bom_encoding = "utf-8-sig"
    elif first.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        bom_encoding = "utf-16"
    else:
        return _read_json_source(con, path, path, fmt, mapping)
    # DuckDB's JSON reader takes neither a byte-order mark nor UTF-16: read a UTF-8 copy.
    try:
        copy = transcode_to_utf8(path, bom_encoding)
    except UnicodeDecodeError as exc:
        raise BadFile(
            f"{path}: cannot decode as {bom_encoding}: {exc.reason} at byte {exc.start}"
        ) from None
    try:
        return _read_json_source(con, path, copy, fmt, mapping)
    finally:
        copy.unlink(missing_ok=True)


_TEMPORAL_TYPES = ("DATE", "TIME", "TIMESTAMP")


def _json_error(path: Path, exc: BaseException) -> BadFile:
    """DuckDB's JSON error in one line, without the excerpt of the record it quotes (it can hold
    a buyer reference: nothing of a raw record may leave the reader except into the store)."""
    text = first_line(exc)
    duplicate = re.search(r'in record/value (\d+):.*has duplicate key "([^"]*)"', text)
    if duplicate:
        return BadFile(
            f"{path}: cannot read as JSON: record {duplicate[1]} has the key "
            f"'{duplicate[2][:60]}' twice"
        )
    text = re.sub(
        r'(Object|Array|Value|value|object|array) [\[{"].*?(\.\.\.|$)', r"\1 (text withheld)", text
    )
    return BadFile(f"{path}: cannot read as JSON: {text}")


def _read_json_source(con, path: Path, source: Path, fmt: str, mapping: Mapping) -> RawFile:
    """Read JSON records from ``source`` (``path`` itself, or a UTF-8 copy of it)."""
    with open(source, "rb") as fh:
        head = fh.read(4096).lstrip(codecs.BOM_UTF8).lstrip()
    if head[:1] not in (b"[", b"{"):
        raise BadFile(
            f"{path}: not JSON records (expected an array of objects or one object per line)"
        )
    try:
        rel = con.sql(
            "SELECT * FROM read_json(?, format = 'auto', records = 'auto', sample_size = -1, "
            # map_inference_threshold: DuckDB reads records of more than 200 fields as one MAP
            # (refused as "not a list of records"); each field is a column, up to MAX_COLUMNS
            "maximum_object_size = ?, union_by_name = true, map_inference_threshold = -1)",
            params=[str(source), common.MAX_LINE_BYTES],
        )
        columns_types = list(zip(rel.columns, [str(t) for t in rel.types], strict=True))
    except duckdb.Error as exc:
        raise _json_error(path, exc) from None
    names = [c for c, _ in columns_types]
    if names == ["json"] or (
        len(names) == 1
        and not columns_types[0][1].startswith("STRUCT")
        and canonical_column(names[0]) not in mapping.required_columns()
    ):
        raise BadFile(f"{path}: not a list of records (each item must be an object of fields)")
    if len(columns_types) == 1 and columns_types[0][1].startswith("STRUCT("):
        # {"cases": [...]} or similar: a single object wrapping the records.
        raise BadFile(
            f"{path}: not a list of records (the top level is an object with key '{names[0]}'); "
            "export an array of case objects"
        )
    columns = unique_columns(path, names, mapping)
    # Strings that look like dates were typed as DATE or TIMESTAMP by the detection, and a
    # TIMESTAMP WITH TIME ZONE would then be written in this machine's zone: read them again as
    # the text they are ("2026-04-01T23:30:00Z" keeps its own day).
    spec = {n: "VARCHAR" if t.startswith(_TEMPORAL_TYPES) else t for n, t in columns_types}
    selects = []
    for (name, typ), canon in zip(columns_types, columns, strict=True):
        quoted = '"' + name.replace('"', '""') + '"'
        amount = canon in registry.intake_names("amount")
        if typ.endswith("[]"):
            expr = f"array_to_string({quoted}, ';')"  # evidence as a JSON array
        elif typ.startswith(("STRUCT", "MAP")):
            expr = f"to_json({quoted})::VARCHAR"
        elif typ == "JSON":
            # Mixed value types in one field ("C1" here, 3 there): the text of a string without
            # its JSON quotes, a number or a nested value as its JSON text.
            expr = f"json_extract_string({quoted}, '$')"
            if amount:
                expr = (
                    f"CASE WHEN json_type({quoted}) IN ('DOUBLE', 'BIGINT', 'UBIGINT') "
                    f"THEN {typed_number_sql(expr)} ELSE {expr} END"
                )
        elif amount and typ.startswith(NUMERIC_TYPES):
            expr = typed_number_sql(f"{quoted}::VARCHAR")
        else:
            expr = f"{quoted}::VARCHAR"
        selects.append(f'{expr} AS "{canon}"')
    try:
        common.create_raw_input(
            con,
            "SELECT "  # noqa: S608 (identifiers only; values are bound)
            + ", ".join(selects)
            + " FROM read_json(?, format = 'auto', records = true, columns = ?, "
            "maximum_object_size = ?)",
            [str(source), spec, common.MAX_LINE_BYTES],
        )
    except duckdb.Error as exc:
        raise _json_error(path, exc) from None
    n = con.execute("SELECT count(*) FROM raw_input").fetchone()[0]
    return RawFile(path, fmt, columns, n, headers=[str(h) for h in names])
