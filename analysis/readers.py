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

import codecs
import csv
import datetime as dt
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from analysis.errors import BadFile
from analysis.mapping import Mapping

SUPPORTED = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".txt": "csv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".json": "json",
    ".jsonl": "json",
    ".ndjson": "json",
    ".parquet": "parquet",
}
#: Longest CSV record we accept (DuckDB's default is 2 MB; exports carry long descriptions).
MAX_LINE_BYTES = 64 * 1024 * 1024

# Column names that trackers commonly use for an intake column. The mapping file handles the rest.
COLUMN_ALIASES = {
    "category": "product_category",
    "product_category_name": "product_category",
    "claim": "claim_amount",
    "claimed_amount": "claim_amount",
    "claim_value": "claim_amount",
    "refund": "refund_amount",
    "refunded_amount": "refund_amount",
    "order_amount": "order_value",
    "order_total": "order_value",
    "open_date": "opened_date",
    "opened": "opened_date",
    "dispute_opened": "opened_date",
    "close_date": "closed_date",
    "closed": "closed_date",
    "status": "outcome",
    "result": "outcome",
    "dispute_id": "case_id",
    "dispute_no": "case_id",
    "buyer": "buyer_ref",
    "buyer_id": "buyer_ref",
    "inspection_company": "inspection",
    "currency_code": "currency",
    "ccy": "currency",
    "date_opened": "opened_date",
    "opened_at": "opened_date",
    "dispute_date": "opened_date",
    "date_closed": "closed_date",
    "closed_at": "closed_date",
    "resolution_date": "closed_date",
    "claim_reason": "claim_type",
    "dispute_reason": "claim_type",
    "dispute_type": "claim_type",
    "product_type": "product_category",
    "country": "supplier_country",
}


@dataclass
class Reject:
    """A record the reader could not split into fields."""

    row_number: int
    reason: str
    raw_text: str


@dataclass
class RawFile:
    """What was read: the format, the columns found, and the reader's rejects."""

    path: Path
    file_format: str
    columns: list[str]
    rows: int  # records in raw_input
    rejects: list[Reject] = field(default_factory=list)
    encoding: str = "utf-8"
    note: str = ""
    delimiter: str = ","

    @property
    def rows_read(self) -> int:
        return self.rows + len(self.rejects)


def _normalise(name: object) -> str:
    # Letters of any script are kept (a Chinese export's 案件编号 stays a name a mapping can
    # refer to); runs of anything else become one underscore.
    return re.sub(r"[\W_]+", "_", str(name).strip().lower()).strip("_")


def canonical_column(name: str) -> str:
    """`Opened Date ` -> `opened_date`; applies the common aliases."""
    norm = _normalise(name)
    return COLUMN_ALIASES.get(norm, norm)


def canonical_names(names: list, mapping: Mapping) -> list[str]:
    """The intake names of a header: the mapping's renames first, then the common aliases, but an
    alias never takes a name the header (or the mapping) already gives to another column."""
    norms = [_normalise(n) if n is not None else "" for n in names]
    taken = {mapping.rename(n) for n in norms}
    out = []
    for norm in norms:
        if norm in mapping.columns:
            out.append(mapping.columns[norm])
        elif norm in COLUMN_ALIASES and COLUMN_ALIASES[norm] not in taken:
            out.append(COLUMN_ALIASES[norm])
        else:
            out.append(norm)
    return out


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
        "csv": _read_csv,
        "tsv": _read_csv,
        "xlsx": _read_xlsx,
        "json": _read_json,
        "parquet": _read_parquet,
    }[fmt]
    return reader(con, path, fmt, mapping)


# --- CSV / TSV -------------------------------------------------------------------------------


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


def _transcode_to_utf8(path: Path, encoding: str) -> Path:
    """Copy ``path`` to a UTF-8 temp file (streamed), for encodings DuckDB cannot read itself."""
    tmp = tempfile.NamedTemporaryFile(prefix="ta-outcomes-", suffix=".csv", delete=False)
    with (
        open(path, encoding=encoding, newline="") as src,
        open(tmp.name, "w", encoding="utf-8", newline="") as dst,
    ):
        while chunk := src.read(1 << 20):
            dst.write(chunk)
    return Path(tmp.name)


def _transcode(path: Path, encoding: str) -> Path:
    """Transcode to UTF-8; Windows-1252 leaves five bytes undefined, which Latin-1 maps."""
    try:
        return _transcode_to_utf8(path, encoding)
    except UnicodeDecodeError:
        if encoding.lower() not in ("cp1252", "windows-1252"):
            raise
        return _transcode_to_utf8(path, "latin-1")


def _header_fields(text: str, fmt: str) -> tuple[str, list[str]]:
    """Pick the delimiter from the header line and return (delimiter, column names)."""
    lines = text.lstrip("\ufeff").splitlines()  # a file of only a BOM has no lines at all
    first = lines[0] if lines else ""
    if not first.strip():
        raise BadFile("the first line (the header) is blank")
    candidates = ["\t"] if fmt == "tsv" else [",", ";", "\t", "|"]
    best = max(candidates, key=lambda d: len(next(csv.reader([first], delimiter=d))))
    names = next(csv.reader([first], delimiter=best))
    return best, names


def _read_csv(con, path: Path, fmt: str, mapping: Mapping) -> RawFile:
    with open(path, "rb") as fh:
        head = fh.read(1 << 20)
    try:
        encoding = mapping.encoding or _sniff_encoding(head)
    except BadFile as exc:
        raise BadFile(f"{path}: {exc}") from None
    source = path
    if encoding.replace("_", "-").lower() not in ("utf-8", "utf8"):
        source = _transcode(path, encoding)
    try:
        with open(source, "rb") as fh:  # the head only: the file may be gigabytes
            text_head = fh.read(1 << 20).decode("utf-8", errors="replace")
        try:
            delim, names = _header_fields(text_head, fmt)
        except BadFile as exc:
            raise BadFile(f"{path}: {exc}") from None
        if mapping.delimiter:
            delim = mapping.delimiter
            names = next(csv.reader([text_head.lstrip("\ufeff").splitlines()[0]], delimiter=delim))
        columns = _unique_columns(path, names, mapping)
        raw = _duckdb_csv_any_newlines(con, path, source, fmt, delim, columns)
        if encoding == "utf-8" and any(r.reason.startswith("encoding") for r in raw.rejects):
            # Not UTF-8 after all (the sample was clean): read it again as Windows-1252.
            source = _transcode(path, "cp1252")
            raw = _duckdb_csv_any_newlines(con, path, source, fmt, delim, columns)
            encoding = "cp1252"
        raw.encoding = encoding
        raw.delimiter = delim
        return raw
    except UnicodeDecodeError as exc:
        raise BadFile(
            f"{path}: cannot decode as {encoding}: {exc.reason} at byte {exc.start}"
        ) from None
    finally:
        if source != path:
            source.unlink(missing_ok=True)


def _normalise_newlines(path: Path) -> Path:
    """A temp copy of UTF-8 ``path`` with every line ending (CRLF, CR, LF) written as LF."""
    tmp = tempfile.NamedTemporaryFile(prefix="ta-outcomes-", suffix=".csv", delete=False)
    # surrogateescape: bytes that are not UTF-8 pass through unchanged, for the encoding check
    with (
        open(path, encoding="utf-8", errors="surrogateescape", newline=None) as src,
        open(tmp.name, "w", encoding="utf-8", errors="surrogateescape", newline="\n") as dst,
    ):
        while chunk := src.read(1 << 20):
            dst.write(chunk)
    return Path(tmp.name)


def _duckdb_csv_any_newlines(
    con, path: Path, source: Path, fmt: str, delim: str, columns: list[str]
) -> RawFile:
    """:func:`_duckdb_csv`, retried on a copy with one kind of line ending if it fails.

    DuckDB's strict parser stops at a file that mixes line endings (CRLF and LF, as when
    exports from two tools are concatenated); its lenient mode drops rows instead.
    """
    try:
        return _duckdb_csv(con, path, source, fmt, delim, columns)
    except BadFile:
        copy = _normalise_newlines(source)
        try:
            return _duckdb_csv(con, path, copy, fmt, delim, columns)
        finally:
            copy.unlink(missing_ok=True)


def _duckdb_csv(con, path: Path, source: Path, fmt: str, delim: str, columns: list[str]) -> RawFile:
    col_spec = {name: "VARCHAR" for name in columns}
    try:
        # Explicit columns, quoting and no type sniffing: every value arrives as the text it was.
        con.execute(
            """
            CREATE OR REPLACE TEMP TABLE raw_input AS
            SELECT row_number() OVER () AS _row, *
            FROM read_csv(?, delim = ?, quote = '"', escape = '"', header = true,
                          auto_detect = false, columns = ?, store_rejects = true,
                          max_line_size = ?, strict_mode = true)
            """,
            [str(source), delim, col_spec, MAX_LINE_BYTES],
        )
        rejects = con.execute(
            """
            SELECT line - 1 AS row_number, arg_min(error_type, column_idx),
                   arg_min(error_message, column_idx), arg_min(csv_line, column_idx)
            FROM reject_errors GROUP BY line ORDER BY line
            """
        ).fetchall()
    except duckdb.Error as exc:
        raise BadFile(f"{path}: cannot read as {fmt.upper()}: {_first_line(exc)}") from None
    for r in rejects:
        # A quote that is never closed swallows every later line into one value. Quarantining
        # that as one record would silently drop the rows after it (a half-load): refuse the file.
        swallowed = (r[3] or "").rstrip("\r\n").count("\n")
        if "QUOTE" in (r[1] or "").upper() and swallowed >= 1:
            raise BadFile(
                f"{path}: record {int(r[0])} opens a quoted field that is never closed, so the "
                f"{swallowed} line(s) after it cannot be split into records; fix the quote and load again"
            )
    reject_list = [
        Reject(int(r[0]), _reject_reason(r[1], r[2]), (r[3] or "")[:10000]) for r in rejects
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


def _reject_reason(error_type: str, message: str) -> str:
    kind = (error_type or "").upper()
    if "ENCODING" in kind or "UNICODE" in kind:
        return "encoding: invalid characters for UTF-8"
    if "QUOTE" in kind:
        return "row: unterminated quoted field (the rest of the file is inside the quote)"
    if "TOO MANY" in kind or "MISSING" in kind or "COLUMNS" in kind:
        return f"row: wrong number of fields ({_first_line(message)})"
    if "LINE SIZE" in kind:
        return f"row: longer than {MAX_LINE_BYTES // (1024 * 1024)} MB"
    return f"row: cannot be read ({kind.lower()}: {_first_line(message)})"


# --- Excel, JSON, Parquet ---------------------------------------------------------------------


def _cell_text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _read_xlsx(con, path: Path, fmt: str, mapping: Mapping) -> RawFile:
    import openpyxl
    import pyarrow as pa

    try:
        # data_only: a formula cell gives the value Excel last calculated, not the formula text.
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged file
        raise BadFile(
            f"{path}: cannot open as an Excel workbook ({type(exc).__name__}: {_first_line(exc)})"
        ) from None
    try:
        sheet = _pick_sheet(path, book, mapping)
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None or all(v is None for v in header):
            raise BadFile(f"{path}: sheet '{sheet.title}' is empty")
        columns = _unique_columns(path, ["" if v is None else str(v) for v in header], mapping)
        data: list[list[str | None]] = [[] for _ in columns]
        numbers: list[int] = []
        for i, row in enumerate(rows, start=1):
            if row is None or all(v is None for v in row):
                continue  # Excel's trailing blank rows are formatting, not records
            numbers.append(i)
            for j in range(len(columns)):
                data[j].append(_cell_text(row[j]) if j < len(row) else None)
    finally:
        book.close()
    table = pa.table(
        {
            "_row": pa.array(numbers, pa.int64()),
            **{c: pa.array(col, pa.string()) for c, col in zip(columns, data, strict=True)},
        }
    )
    con.register("_xlsx", table)
    con.execute("CREATE OR REPLACE TEMP TABLE raw_input AS SELECT * FROM _xlsx")
    con.unregister("_xlsx")
    return RawFile(path, fmt, columns, len(numbers), note=f"sheet '{sheet.title}'")


def _pick_sheet(path: Path, book, mapping: Mapping):
    if mapping.sheet:
        if mapping.sheet not in book.sheetnames:
            raise BadFile(
                f"{path}: no sheet named '{mapping.sheet}' (sheets: {', '.join(book.sheetnames)})"
            )
        return book[mapping.sheet]
    required = mapping.required_columns()
    candidates = []
    for ws in book.worksheets:
        header = next(ws.iter_rows(values_only=True, max_row=1), None) or ()
        names = set(canonical_names([v for v in header if v is not None], mapping))
        if required <= names:
            candidates.append(ws)
    if len(candidates) > 1:
        names = ", ".join(f"'{ws.title}'" for ws in candidates)
        raise BadFile(
            f"{path}: several sheets hold cases ({names}); name one with `sheet:` in a --mapping file"
        )
    return candidates[0] if candidates else book.worksheets[0]


def _read_json(con, path: Path, fmt: str, mapping: Mapping) -> RawFile:
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
        copy = _transcode_to_utf8(path, bom_encoding)
    except UnicodeDecodeError as exc:
        raise BadFile(
            f"{path}: cannot decode as {bom_encoding}: {exc.reason} at byte {exc.start}"
        ) from None
    try:
        return _read_json_source(con, path, copy, fmt, mapping)
    finally:
        copy.unlink(missing_ok=True)


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
            "maximum_object_size = ?, union_by_name = true)",
            params=[str(source), MAX_LINE_BYTES],
        )
        columns_types = list(zip(rel.columns, [str(t) for t in rel.types], strict=True))
    except duckdb.Error as exc:
        raise BadFile(f"{path}: cannot read as JSON: {_first_line(exc)}") from None
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
    columns = _unique_columns(path, names, mapping)
    selects = []
    for (name, typ), canon in zip(columns_types, columns, strict=True):
        quoted = '"' + name.replace('"', '""') + '"'
        if typ.endswith("[]"):
            expr = f"array_to_string({quoted}, ';')"  # evidence as a JSON array
        elif typ.startswith(("STRUCT", "MAP")):
            expr = f"to_json({quoted})::VARCHAR"
        elif typ == "JSON":
            # Mixed value types in one field ("C1" here, 3 there): the text of a string without
            # its JSON quotes, a number or a nested value as its JSON text.
            expr = f"json_extract_string({quoted}, '$')"
        else:
            expr = f"{quoted}::VARCHAR"
        selects.append(f'{expr} AS "{canon}"')
    try:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE raw_input AS SELECT row_number() OVER () AS _row, "  # noqa: S608 (identifiers only; values are bound)
            + ", ".join(selects)
            + " FROM read_json(?, format = 'auto', records = 'auto', sample_size = -1, "
            "maximum_object_size = ?, union_by_name = true)",
            [str(source), MAX_LINE_BYTES],
        )
    except duckdb.Error as exc:
        raise BadFile(f"{path}: cannot read as JSON: {_first_line(exc)}") from None
    n = con.execute("SELECT count(*) FROM raw_input").fetchone()[0]
    return RawFile(path, fmt, columns, n)


def _read_parquet(con, path: Path, fmt: str, mapping: Mapping) -> RawFile:
    try:
        rel = con.sql("SELECT * FROM read_parquet(?)", params=[str(path)])
        names = rel.columns
    except duckdb.Error as exc:
        raise BadFile(f"{path}: cannot read as Parquet: {_first_line(exc)}") from None
    columns = _unique_columns(path, names, mapping)
    selects = ", ".join(
        '"{}"::VARCHAR AS "{}"'.format(n.replace('"', '""'), c)
        for n, c in zip(names, columns, strict=True)
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE raw_input AS SELECT row_number() OVER () AS _row, {selects} "  # noqa: S608 (identifiers only; values are bound)
        "FROM read_parquet(?)",
        [str(path)],
    )
    n = con.execute("SELECT count(*) FROM raw_input").fetchone()[0]
    return RawFile(path, fmt, columns, n)


# --- shared -----------------------------------------------------------------------------------


def _unique_columns(path: Path, names: list[str], mapping: Mapping) -> list[str]:
    """Canonical, unique column names; a duplicated intake column is an error."""
    from analysis.mapping import INTAKE_COLUMNS

    out: list[str] = []
    seen: set[str] = set()
    for i, canon in enumerate(canonical_names(names, mapping)):
        # a name with no letter or digit at all gets its position
        canon = canon or f"column_{i + 1}"
        if canon in seen:
            if canon in INTAKE_COLUMNS:
                raise BadFile(f"{path}: column '{canon}' appears more than once in the header")
            j = 2
            while f"{canon}_{j}" in seen:
                j += 1
            canon = f"{canon}_{j}"
        seen.add(canon)
        out.append(canon)
    return out


def _first_line(exc: object) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__
