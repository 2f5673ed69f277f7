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
import decimal
import math
import re
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from analysis.errors import BadFile
from analysis.mapping import AMOUNT_COLUMNS, REQUIRED_COLUMNS, Mapping

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
    case_id: str | None = None


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
    #: What the user should be told about how the file was read (printed on the load line).
    notices: list[str] = field(default_factory=list)

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


#: "1.234" as TEXT is one thousand two hundred and thirty-four (money has two decimals); a value
#: that is already a number must never be re-read that way.
_THREE_DECIMALS = re.compile(r"-?\d+\.\d{3}")


def _plain_number(value: int | float | decimal.Decimal) -> str:
    """The exact decimal text of a number: no exponent, no trailing zeros, 12.0 -> '12'."""
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        # repr is the shortest text that reads back as the same float: 0.1 -> '0.1'
        value = decimal.Decimal(repr(value))
    if isinstance(value, decimal.Decimal):
        text = format(value, "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    return str(value)


def typed_number_text(value: int | float | decimal.Decimal) -> str:
    """A number from a typed cell (Excel, JSON, Parquet) as amount text that keeps its value.

    The amount parser reads a lone separator before exactly three digits as a thousands
    separator ('12.345' -> 12345), a rule for text only. A typed 12.345 gets one trailing zero
    ('12.3450'), the same number, which the parser reads as twelve and a bit.
    """
    text = _plain_number(value)
    return text + "0" if _THREE_DECIMALS.fullmatch(text) else text


def typed_number_sql(expr: str) -> str:
    """:func:`typed_number_text` in SQL, over the VARCHAR text of a typed number ``expr``."""
    return f"CASE WHEN regexp_full_match({expr}, '-?\\d+\\.\\d{{3}}') THEN {expr} || '0' ELSE {expr} END"


def missing_columns_error(path: Path, columns: list[str], mapping: Mapping) -> BadFile | None:
    """The one-line refusal of a header that lacks required intake columns, or None."""
    required = mapping.required_columns()
    missing = [c for c in REQUIRED_COLUMNS if c in required and c not in columns]
    if not missing:
        return None
    found = ", ".join(columns[:12]) + (" ..." if len(columns) > 12 else "")
    return BadFile(
        f"{path}: required column(s) missing: {', '.join(missing)} (found: {found}); "
        "rename them in the export or map them with --mapping"
    )


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
        _second_headers(con, path, raw, names)
        return raw
    except UnicodeDecodeError as exc:
        raise BadFile(
            f"{path}: cannot decode as {encoding}: {exc.reason} at byte {exc.start}"
        ) from None
    finally:
        if source != path:
            source.unlink(missing_ok=True)


def _normalise_newlines(path: Path, delim: str, n_fields: int) -> Path:
    """A temp copy of UTF-8 ``path`` with every line ending (CRLF, CR, LF) written as LF.

    A lone CR is a line ending only where it ends a record: in a line without quotes whose
    fields add up to the header's only with the CR inside a value (a description typed with a
    stray carriage return), the CR is data, and that value is quoted so it stays one field.
    """
    tmp = tempfile.NamedTemporaryFile(prefix="ta-outcomes-", suffix=".csv", delete=False)
    # surrogateescape: bytes that are not UTF-8 pass through unchanged, for the encoding check
    with open(path, "rb") as src, open(tmp.name, "wb") as dst:
        for raw_line in src:  # split on LF only
            line = raw_line.decode("utf-8", errors="surrogateescape")
            body = line[:-1] if line.endswith("\n") else line
            if body.endswith("\r"):
                body = body[:-1]
            if "\r" in body:
                body = _bare_cr(body, delim, n_fields)
            dst.write(
                (body + ("\n" if line.endswith("\n") else "")).encode("utf-8", "surrogateescape")
            )
    return Path(tmp.name)


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
    con, path: Path, source: Path, fmt: str, delim: str, columns: list[str]
) -> RawFile:
    """:func:`_duckdb_csv`, retried on a copy with one kind of line ending if it fails.

    DuckDB's strict parser stops at a file that mixes line endings (CRLF and LF, as when
    exports from two tools are concatenated); its lenient mode drops rows instead.
    """
    try:
        return _duckdb_csv(con, path, source, fmt, delim, columns)
    except BadFile:
        copy = _normalise_newlines(source, delim, len(columns))
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
            -- (a line too long has no column: coalesce, or arg_min would skip it)
            SELECT line - 1 AS row_number, arg_min(error_type, coalesce(column_idx, 0)),
                   arg_min(error_message, coalesce(column_idx, 0)),
                   arg_min(csv_line, coalesce(column_idx, 0))
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
        return f"row: wrong number of fields ({_first_line(message)})"
    if "LINE SIZE" in kind:
        return (
            f"row: longer than {MAX_LINE_BYTES // (1024 * 1024)} MB (a field too long to load; "
            "shorten it in the export)"
        )
    return f"row: cannot be read ({kind.lower()}: {_first_line(message)})"


# --- Excel -----------------------------------------------------------------------------------

#: A workbook is a zip of XML parts. Its directory is checked before anything is parsed: a part
#: that would inflate more than XLSX_MAX_RATIO times its compressed size (beyond a few MB), or
#: parts adding up to more than XLSX_MAX_INFLATED bytes, refuse the file unread. Real workbooks
#: compress 5-20x; the bombs of issue 14 inflate 380-1000x.
XLSX_MAX_RATIO = 100
XLSX_RATIO_FLOOR = 8 * 1024**2
XLSX_MAX_INFLATED = 4 * 1024**3
#: A sheet with more rows than this reports its progress on stderr while it is read.
PROGRESS_ROWS = 100_000
#: Rows handed to DuckDB at a time, so a maximum-size sheet is never held whole in Python.
XLSX_BATCH_ROWS = 50_000


def _check_workbook_zip(path: Path) -> None:
    """Refuse a workbook that is not a zip archive, or whose directory promises a zip bomb."""
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise BadFile(
            f"{path}: cannot open as an Excel workbook (not a zip archive: {_first_line(exc)})"
        ) from None
    inflated = 0
    for entry in entries:
        inflated += entry.file_size
        ratio = entry.file_size / max(entry.compress_size, 1)
        if entry.file_size > XLSX_RATIO_FLOOR and ratio > XLSX_MAX_RATIO:
            raise BadFile(
                f"{path}: refused unread: its part {entry.filename} would inflate {ratio:,.0f} "
                f"times to {entry.file_size / 1024**2:,.0f} MB (a zip bomb; workbooks compress "
                f"5 to 20 times, the limit is {XLSX_MAX_RATIO})"
            )
    if inflated > XLSX_MAX_INFLATED:
        raise BadFile(
            f"{path}: refused unread: its parts would inflate to {inflated / 1024**3:,.1f} GB "
            f"(limit {XLSX_MAX_INFLATED / 1024**3:g} GB); export the cases as CSV instead"
        )


def _cell_text(value, amount: bool = False) -> str | None:
    """A cell's value as intake text. A typed number keeps its value (:func:`typed_number_text`
    for amounts; other columns get its plain text, 12345.0 -> '12345')."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int | float | decimal.Decimal):
        return typed_number_text(value) if amount else _plain_number(value)
    return str(value)


def _open_workbook(path: Path):
    from python_calamine import CalamineWorkbook

    _check_workbook_zip(path)
    try:
        # calamine gives a formula cell the value Excel last calculated, never the formula.
        return CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises several types for a damaged file
        raise BadFile(
            f"{path}: cannot open as an Excel workbook ({type(exc).__name__}: {_first_line(exc)})"
        ) from None


def _sheet(path: Path, book, name: str):
    try:
        return book.get_sheet_by_name(name)
    except Exception as exc:
        raise BadFile(
            f"{path}: cannot read sheet '{name}' ({type(exc).__name__}: {_first_line(exc)})"
        ) from None


def _read_xlsx(con, path: Path, fmt: str, mapping: Mapping) -> RawFile:
    import pyarrow as pa

    book = _open_workbook(path)
    name, sheet, notice = _pick_sheet(path, book, mapping)
    rows = iter(sheet.iter_rows())
    header = next(rows, None)
    if header is None or all(v in (None, "") for v in header):
        raise BadFile(f"{path}: sheet '{name}' is empty")
    names = [_cell_text(v) or "" for v in header]
    columns = _unique_columns(path, names, mapping)
    # The header decides before a single row is read: a sheet of a million rows without the
    # intake columns is refused at once.
    error = missing_columns_error(path, columns, mapping)
    if error is not None:
        raise error
    amount = [c in AMOUNT_COLUMNS for c in columns]
    total = max(getattr(sheet, "height", 0) - 1, 0)
    progress = total > PROGRESS_ROWS
    con.execute("DROP TABLE IF EXISTS raw_input")
    data: list[list[str | None]] = [[] for _ in columns]
    numbers: list[int] = []
    n_rows = 0
    width = len(columns)

    def flush() -> None:
        table = pa.table(
            {
                "_row": pa.array(numbers, pa.int64()),
                **{c: pa.array(col, pa.string()) for c, col in zip(columns, data, strict=True)},
            }
        )
        con.register("_xlsx", table)
        exists = con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'raw_input' AND temporary"
        ).fetchone()[0]
        con.execute(
            "INSERT INTO raw_input SELECT * FROM _xlsx"
            if exists
            else "CREATE TEMP TABLE raw_input AS SELECT * FROM _xlsx"
        )
        con.unregister("_xlsx")
        for col in data:
            col.clear()
        numbers.clear()

    for i, row in enumerate(rows, start=1):
        if all(v in (None, "") for v in row):
            continue  # Excel's blank rows are formatting, not records
        numbers.append(i)
        n_rows += 1
        for j in range(width):
            data[j].append(_cell_text(row[j], amount[j]) if j < len(row) else None)
        if len(numbers) >= XLSX_BATCH_ROWS:
            flush()
        if progress and i % PROGRESS_ROWS == 0:
            print(
                f"{path.name}: sheet '{name}': {i:,} of {total:,} rows read",
                file=sys.stderr,
                flush=True,
            )
    flush()
    raw = RawFile(path, fmt, columns, n_rows, note=f"sheet '{name}'")
    if notice:
        raw.notices.append(notice)
    _second_headers(con, path, raw, names)
    return raw


def _visible(meta) -> bool:
    return str(getattr(meta, "visible", "visible")).lower().endswith("visible")


def _holds_cases(sheet, required: set[str], mapping: Mapping) -> bool:
    """A sheet holds cases when its header has the required columns and a record follows it."""
    rows = iter(sheet.iter_rows())
    header = next(rows, None) or []
    names = set(canonical_names([_cell_text(v) or "" for v in header], mapping))
    if not required <= names:
        return False
    return any(not all(v in (None, "") for v in row) for row in rows)


def _pick_sheet(path: Path, book, mapping: Mapping):
    """(name, sheet, notice) of the sheet to read: the mapping's ``sheet:``, else the one visible
    sheet that holds cases. Hidden sheets are skipped, and the notice says so."""
    metas = list(book.sheets_metadata)
    names = [m.name for m in metas]
    if mapping.sheet:
        if mapping.sheet not in names:
            raise BadFile(f"{path}: no sheet named '{mapping.sheet}' (sheets: {', '.join(names)})")
        return mapping.sheet, _sheet(path, book, mapping.sheet), ""
    hidden = [m.name for m in metas if not _visible(m)]
    visible = [m.name for m in metas if _visible(m)]
    required = mapping.required_columns()
    sheets = {name: _sheet(path, book, name) for name in visible}
    candidates = [name for name, sheet in sheets.items() if _holds_cases(sheet, required, mapping)]
    if len(candidates) > 1:
        shown = ", ".join(f"'{n}'" for n in candidates)
        raise BadFile(
            f"{path}: several sheets hold cases ({shown}); name one with `sheet:` in a --mapping file"
        )
    skipped = f"hidden sheet(s) skipped: {', '.join(repr(n) for n in hidden)}" if hidden else ""
    if candidates:
        return candidates[0], sheets[candidates[0]], skipped
    with_cases = [n for n in hidden if _holds_cases(_sheet(path, book, n), required, mapping)]
    if with_cases:
        raise BadFile(
            f"{path}: the only sheet with cases, '{with_cases[0]}', is hidden; hidden sheets are "
            f"skipped unless named: add `sheet: {with_cases[0]}` to a --mapping file to load it"
        )
    if not visible:
        raise BadFile(f"{path}: the workbook has no visible sheet")
    return visible[0], sheets[visible[0]], skipped


# --- JSON ------------------------------------------------------------------------------------


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


_NUMERIC_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
                  "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "DECIMAL")  # fmt: skip
_TEMPORAL_TYPES = ("DATE", "TIME", "TIMESTAMP")


def _json_error(path: Path, exc: BaseException) -> BadFile:
    """DuckDB's JSON error in one line, without the excerpt of the record it quotes (it can hold
    a buyer reference: nothing of a raw record may leave the reader except into the store)."""
    text = _first_line(exc)
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
            "maximum_object_size = ?, union_by_name = true)",
            params=[str(source), MAX_LINE_BYTES],
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
    columns = _unique_columns(path, names, mapping)
    # Strings that look like dates were typed as DATE or TIMESTAMP by the detection, and a
    # TIMESTAMP WITH TIME ZONE would then be written in this machine's zone: read them again as
    # the text they are ("2026-04-01T23:30:00Z" keeps its own day).
    spec = {n: "VARCHAR" if t.startswith(_TEMPORAL_TYPES) else t for n, t in columns_types}
    selects = []
    for (name, typ), canon in zip(columns_types, columns, strict=True):
        quoted = '"' + name.replace('"', '""') + '"'
        amount = canon in AMOUNT_COLUMNS
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
        elif amount and typ.startswith(_NUMERIC_TYPES):
            expr = typed_number_sql(f"{quoted}::VARCHAR")
        else:
            expr = f"{quoted}::VARCHAR"
        selects.append(f'{expr} AS "{canon}"')
    try:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE raw_input AS SELECT row_number() OVER () AS _row, "  # noqa: S608 (identifiers only; values are bound)
            + ", ".join(selects)
            + " FROM read_json(?, format = 'auto', records = true, columns = ?, "
            "maximum_object_size = ?)",
            [str(source), spec, MAX_LINE_BYTES],
        )
    except duckdb.Error as exc:
        raise _json_error(path, exc) from None
    n = con.execute("SELECT count(*) FROM raw_input").fetchone()[0]
    return RawFile(path, fmt, columns, n)


def _read_parquet(con, path: Path, fmt: str, mapping: Mapping) -> RawFile:
    try:
        rel = con.sql("SELECT * FROM read_parquet(?)", params=[str(path)])
        names, types = rel.columns, [str(t) for t in rel.types]
    except duckdb.Error as exc:
        raise BadFile(f"{path}: cannot read as Parquet: {_first_line(exc)}") from None
    columns = _unique_columns(path, names, mapping)
    selects = []
    for name, typ, canon in zip(names, types, columns, strict=True):
        quoted = '"' + name.replace('"', '""') + '"'
        if typ == "TIMESTAMP WITH TIME ZONE":
            # An instant without its zone: read as its UTC day and time, on every machine.
            expr = f"({quoted} AT TIME ZONE 'UTC')::VARCHAR"
        elif canon in AMOUNT_COLUMNS and typ.startswith(_NUMERIC_TYPES):
            expr = typed_number_sql(f"{quoted}::VARCHAR")
        else:
            expr = f"{quoted}::VARCHAR"
        selects.append(f'{expr} AS "{canon}"')
    try:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE raw_input AS SELECT row_number() OVER () AS _row, "  # noqa: S608 (identifiers only; values are bound)
            + ", ".join(selects)
            + " FROM read_parquet(?)",
            [str(path)],
        )
    except duckdb.Error as exc:
        raise BadFile(f"{path}: cannot read as Parquet: {_first_line(exc)}") from None
    n = con.execute("SELECT count(*) FROM raw_input").fetchone()[0]
    return RawFile(path, fmt, columns, n)


# --- shared -----------------------------------------------------------------------------------


def _second_headers(con, path: Path, raw: RawFile, names: list) -> None:
    """Deal with records that repeat the header: two exports glued into one file.

    A second header in the same column order is one record that is not a case: it becomes a
    reject with that reason. In another order the records after it would be read under the wrong
    names (case_id as supplier_id, a claim as the order value): the file is refused, saying where.
    """
    header = [str(n).strip().lower() for n in names]
    wanted = set(header) - {""}
    key = "case_id" if "case_id" in raw.columns else raw.columns[0]
    quoted = ", ".join('"' + c.replace('"', '""') + '"' for c in raw.columns)
    # Cheap first: only records whose key column holds a header name can be a header.
    candidates = con.execute(
        f'SELECT _row, {quoted} FROM raw_input WHERE lower(trim("{key}")) IN (SELECT unnest(?)) '  # noqa: S608 (identifiers only; values are bound)
        "ORDER BY _row LIMIT 100",
        [sorted(wanted)],
    ).fetchall()
    repeats = []
    for row_number, *values in candidates:
        texts = ["" if v is None else str(v).strip().lower() for v in values]
        filled = [t for t in texts if t]
        if len(filled) < max(2, len(wanted) // 2) or not set(filled) <= wanted:
            continue
        if texts != header[: len(texts)]:
            raise BadFile(
                f"{path}: record {row_number} is a second header with the columns in another "
                "order (two exports glued together?); the records after it would be read under "
                f"the wrong column names. Split the file before record {row_number} and load "
                "each part"
            )
        repeats.append((row_number, raw.delimiter.join(str(v or "") for v in values)))
    if repeats:
        con.execute(
            "DELETE FROM raw_input WHERE _row IN (SELECT unnest(?))", [[r for r, _ in repeats]]
        )
        raw.rows -= len(repeats)
        raw.rejects.extend(
            Reject(r, "row: repeats the header line (two exports glued together?)", text)
            for r, text in repeats
        )
        raw.rejects.sort(key=lambda r: r.row_number)


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
