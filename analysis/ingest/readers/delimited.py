"""CSV and TSV: encoding and delimiter detected, every value read as the text it was."""

from __future__ import annotations

import codecs
import csv
import tempfile
from pathlib import Path

import duckdb

from analysis.errors import BadFile
from analysis.ingest.mapping import Mapping
from analysis.ingest.readers import common
from analysis.ingest.readers.common import (
    RawFile,
    Reject,
    first_line,
    second_headers,
    unique_columns,
)


def _sniff_encoding(head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in head[:4096]:
        raise BadFile("binary content (NUL bytes); not a text table")
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the sample's end is still UTF-8.
        if exc.start >= len(head) - 4:
            return "utf-8"
        return "cp1252"


def transcode_to_utf8(path: Path, encoding: str) -> Path:
    """Copy ``path`` to a UTF-8 temp file (streamed), for encodings DuckDB cannot read itself."""
    fd, name = tempfile.mkstemp(prefix="ta-outcomes-", suffix=".csv")
    try:
        with (
            open(path, encoding=encoding, newline="") as src,
            open(fd, "w", encoding="utf-8", newline="") as dst,
        ):
            while chunk := src.read(1 << 20):
                dst.write(chunk)
    except BaseException:
        Path(name).unlink(missing_ok=True)  # a failed attempt leaves no temp file behind
        raise
    return Path(name)


def _transcode(path: Path, encoding: str) -> Path:
    """Transcode to UTF-8; Windows-1252 leaves five bytes undefined, which Latin-1 maps."""
    try:
        return transcode_to_utf8(path, encoding)
    except UnicodeDecodeError:
        if encoding.lower() not in ("cp1252", "windows-1252"):
            raise
        return transcode_to_utf8(path, "latin-1")


def _split(line: str, fmt: str, forced: str | None) -> tuple[str, list[str]]:
    """(delimiter, fields) of one line: the forced delimiter, else the one giving most fields."""
    candidates = [forced] if forced else ["\t"] if fmt == "tsv" else [",", ";", "\t", "|"]

    def fields(d: str) -> list[str]:
        try:
            return next(csv.reader([line], delimiter=d), [])
        except csv.Error:  # a record too long for Python's csv module is not the header
            return []

    best = max(candidates, key=lambda d: len(fields(d)))
    return best, fields(best)


def _header_fields(text: str, fmt: str, mapping: Mapping) -> tuple[str, list[str], int]:
    """Find the header line among the first lines (:func:`common.find_header`: title lines may
    come first) and return (delimiter, column names, lines before it)."""
    lines = text.lstrip("\ufeff").splitlines()  # a file of only a BOM has no lines at all
    head = lines[: max(common.HEADER_SEARCH_ROWS, mapping.header_row or 0)]
    split = [_split(line, fmt, mapping.delimiter) for line in head]
    index = common.find_header([names for _, names in split], mapping)
    if head and index >= len(head):
        raise BadFile(f"header_row {index + 1} is beyond the file's {len(lines)} line(s)")
    if not head or not head[index].strip():
        where = "the first line (the header)" if index == 0 else f"line {index + 1} (the header)"
        raise BadFile(f"{where} is blank")
    delim, names = split[index]
    return delim, names, index


def read(con, path: Path, fmt: str, mapping: Mapping) -> RawFile:
    with open(path, "rb") as fh:
        head = fh.read(1 << 20)
    try:
        encoding = mapping.encoding or _sniff_encoding(head)
    except BadFile as exc:
        raise BadFile(f"{path}: {exc}") from None
    source = path
    try:
        if encoding.replace("_", "-").lower() not in ("utf-8", "utf8"):
            source = _transcode(path, encoding)
        with open(source, "rb") as fh:  # the head only: the file may be gigabytes
            text_head = fh.read(1 << 20).decode("utf-8", errors="replace")
        try:
            delim, names, skip = _header_fields(text_head, fmt, mapping)
        except BadFile as exc:
            raise BadFile(f"{path}: {exc}") from None
        # the mapping is checked against the header before a row is read, as for a workbook
        mapping.check_against(path, [str(n) for n in names])
        columns = unique_columns(path, names, mapping)
        raw = _duckdb_csv_any_newlines(con, path, source, fmt, delim, columns, skip)
        if encoding == "utf-8" and any(r.reason.startswith("encoding") for r in raw.rejects):
            # Not UTF-8 after all (the sample was clean): read it again as Windows-1252.
            source = _transcode(path, "cp1252")
            raw = _duckdb_csv_any_newlines(con, path, source, fmt, delim, columns, skip)
            encoding = "cp1252"
        raw.encoding = encoding
        raw.delimiter = delim
        raw.headers = [str(n) for n in names]
        raw.header_row = skip + 1
        if notice := common.header_notice(skip, mapping.header_row is not None):
            raw.notices.append(notice)
        second_headers(con, path, raw, names)
        return raw
    except UnicodeError as exc:  # a decode error, or a codec's own (UTF-16 without its BOM)
        where = (
            f"{exc.reason} at byte {exc.start}"
            if isinstance(exc, UnicodeDecodeError)
            else first_line(exc)
        )
        told = (
            f" (the encoding {mapping.source or 'the mapping'} sets: is it the file's?)"
            if mapping.encoding
            else ""
        )
        raise BadFile(f"{path}: cannot decode as {encoding}{told}: {where}") from None
    finally:
        if source != path:
            source.unlink(missing_ok=True)


def _normalise_newlines(path: Path, delim: str, n_fields: int) -> Path:
    """A temp copy of UTF-8 ``path`` with every line ending (CRLF, CR, LF) written as LF.

    A lone CR is a line ending only where it ends a record: in a line without quotes whose
    fields add up to the header's only with the CR inside a value (a description typed with a
    stray carriage return), the CR is data, and that value is quoted so it stays one field.
    """
    fd, name = tempfile.mkstemp(prefix="ta-outcomes-", suffix=".csv")
    try:
        # surrogateescape: bytes that are not UTF-8 pass through unchanged, for the encoding check
        with open(path, "rb") as src, open(fd, "wb") as dst:
            for raw_line in src:  # split on LF only
                line = raw_line.decode("utf-8", errors="surrogateescape")
                body = line[:-1] if line.endswith("\n") else line
                if body.endswith("\r"):
                    body = body[:-1]
                if "\r" in body:
                    body = _bare_cr(body, delim, n_fields)
                end = "\n" if line.endswith("\n") else ""
                dst.write((body + end).encode("utf-8", "surrogateescape"))
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name)


def _bare_cr(body: str, delim: str, n_fields: int) -> str:
    """``body`` (one LF-terminated line holding lone CRs) with each CR as a line end or as data."""
    pieces = body.split("\r")
    as_data = (
        '"' not in body
        and body.count(delim) + 1 == n_fields
        and not all(p.count(delim) + 1 == n_fields for p in pieces)
    )
    if not as_data:
        return "\n".join(pieces)
    return delim.join(f'"{f}"' if "\r" in f else f for f in body.split(delim))


def _duckdb_csv_any_newlines(
    con, path: Path, source: Path, fmt: str, delim: str, columns: list[str], skip: int = 0
) -> RawFile:
    """:func:`_duckdb_csv`, retried on a copy with one kind of line ending if it fails.

    DuckDB's strict parser stops at a file that mixes line endings (CRLF and LF, as when
    exports from two tools are concatenated); its lenient mode drops rows instead.
    """
    try:
        return _duckdb_csv(con, path, source, fmt, delim, columns, skip)
    except BadFile:
        copy = _normalise_newlines(source, delim, len(columns))
        try:
            return _duckdb_csv(con, path, copy, fmt, delim, columns, skip)
        finally:
            copy.unlink(missing_ok=True)


def _duckdb_csv(
    con, path: Path, source: Path, fmt: str, delim: str, columns: list[str], skip: int = 0
) -> RawFile:
    col_spec = {name: "VARCHAR" for name in columns}
    try:
        # Explicit columns, quoting and no type sniffing: every value arrives as the text it was.
        # `skip`: the lines above the header (a title), which are not records.
        common.create_raw_input(
            con,
            """
            SELECT *
            FROM read_csv(?, delim = ?, quote = '"', escape = '"', header = true,
                          auto_detect = false, columns = ?, store_rejects = true,
                          max_line_size = ?, strict_mode = true, skip = ?)
            """,
            [str(source), delim, col_spec, common.MAX_LINE_BYTES, skip],
        )
        rejects = con.execute(
            """
            -- (a line too long has no column: coalesce, or arg_min would skip it)
            SELECT line - 1 - ? AS row_number, arg_min(error_type, coalesce(column_idx, 0)),
                   arg_min(error_message, coalesce(column_idx, 0)),
                   arg_min(csv_line, coalesce(column_idx, 0))
            FROM reject_errors GROUP BY line ORDER BY line
            """,
            [skip],
        ).fetchall()
    except duckdb.Error as exc:
        raise BadFile(f"{path}: cannot read as {fmt.upper()}: {first_line(exc)}") from None
    for r in rejects:
        # A quote that is never closed swallows every later line into one value. Quarantining
        # that as one record would silently drop the rows after it (a half-load): refuse the file.
        swallowed = (r[3] or "").rstrip("\r\n").count("\n")
        if "QUOTE" in (r[1] or "").upper() and swallowed >= 1:
            raise BadFile(
                f"{path}: record {int(r[0])} opens a quoted field that is never closed, so the "
                f"{swallowed} line(s) after it cannot be split into records; fix the quote and load again"
            )
    case_index = columns.index("case_id") if "case_id" in columns else None
    reject_list = [
        Reject(
            int(r[0]),
            _reject_reason(r[1], r[2]),
            (r[3] or "")[:10000],
            _leading_field(r[3] or "", delim, case_index),
        )
        for r in rejects
    ]
    n = con.execute("SELECT count(*) FROM raw_input").fetchone()[0]
    if reject_list:
        # Renumber the accepted records around the rejected ones: accepted record k is the k-th
        # record number that is not a reject (DuckDB keeps the file's order).
        con.execute("CREATE OR REPLACE TEMP TABLE _rejected(row_number BIGINT)")
        con.executemany("INSERT INTO _rejected VALUES (?)", [[r.row_number] for r in reject_list])
        con.execute(
            """
            CREATE OR REPLACE TEMP TABLE raw_input AS
            WITH good_numbers AS (
                SELECT range + 1 AS row_number, row_number() OVER (ORDER BY range) AS k
                FROM range(?) WHERE range + 1 NOT IN (SELECT row_number FROM _rejected)
            )
            SELECT g.row_number AS _row, r.* EXCLUDE (_row)
            FROM raw_input r JOIN good_numbers g ON g.k = r._row
            ORDER BY _row
            """,
            [n + len(reject_list)],
        )
        con.execute("DROP TABLE _rejected")
    try:
        con.execute("DELETE FROM reject_errors; DELETE FROM reject_scans")
    except duckdb.Error:
        pass
    return RawFile(path, fmt, columns, n, reject_list)


def _leading_field(line: str, delim: str, index: int | None) -> str | None:
    """Field ``index`` of a record's text, when the text holds it whole (a delimiter after it)."""
    if index is None:
        return None
    try:
        fields = next(csv.reader([line[:10000].split("\n")[0]], delimiter=delim))
    except (csv.Error, StopIteration):
        return None
    value = fields[index].strip() if len(fields) > index + 1 else ""
    return value[:200] or None


def _reject_reason(error_type: str, message: str) -> str:
    kind = (error_type or "").upper()
    if "ENCODING" in kind or "UNICODE" in kind:
        return "encoding: invalid characters for UTF-8"
    if "QUOTE" in kind:
        return "row: unterminated quoted field (the rest of the file is inside the quote)"
    if "TOO MANY" in kind or "MISSING" in kind or "COLUMNS" in kind:
        return f"row: wrong number of fields ({first_line(message)})"
    if "LINE SIZE" in kind:
        return (
            f"row: longer than {common.MAX_LINE_BYTES // (1024 * 1024)} MB (a field too long to load; "
            "shorten it in the export)"
        )
    return f"row: cannot be read ({kind.lower()}: {first_line(message)})"
