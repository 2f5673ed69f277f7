"""Excel workbooks (python-calamine): the zip checked for bombs first, hidden sheets skipped,
typed numbers kept, rows streamed to DuckDB in batches."""

from __future__ import annotations

import datetime as dt
import decimal
import itertools
import sys
import zipfile
from pathlib import Path

from analysis import columns as registry
from analysis.errors import BadFile
from analysis.ingest.mapping import Mapping
from analysis.ingest.readers import common
from analysis.ingest.readers.common import (
    RawFile,
    canonical_names,
    first_line,
    missing_columns_error,
    plain_number,
    second_headers,
    typed_number_text,
    unique_columns,
)

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
            f"{path}: cannot open as an Excel workbook (not a zip archive: {first_line(exc)})"
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
        return typed_number_text(value) if amount else plain_number(value)
    return str(value)


def _open_workbook(path: Path):
    from python_calamine import CalamineWorkbook

    _check_workbook_zip(path)
    try:
        # calamine gives a formula cell the value Excel last calculated, never the formula.
        return CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises several types for a damaged file
        raise BadFile(
            f"{path}: cannot open as an Excel workbook ({type(exc).__name__}: {first_line(exc)})"
        ) from None


def _sheet(path: Path, book, name: str):
    try:
        return book.get_sheet_by_name(name)
    except Exception as exc:
        raise BadFile(
            f"{path}: cannot read sheet '{name}' ({type(exc).__name__}: {first_line(exc)})"
        ) from None


def read(con, path: Path, fmt: str, mapping: Mapping) -> RawFile:
    import pyarrow as pa

    book = _open_workbook(path)
    name, sheet, notice = _pick_sheet(path, book, mapping)
    rows = iter(sheet.iter_rows())
    skip, header, rows = _header(path, name, rows, mapping)
    names = [_cell_text(v) or "" for v in header]
    # The header decides before a single row is read: a sheet of a million rows without the
    # intake columns is refused at once. The mapping is checked first, as for a CSV.
    mapping.check_against(path, names)
    columns = unique_columns(path, names, mapping)
    error = missing_columns_error(path, columns, mapping, skip + 1)
    if error is not None:
        raise error
    amount = [c in registry.intake_names("amount") for c in columns]
    total = max(getattr(sheet, "height", 0) - 1 - skip, 0)
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
    raw = RawFile(path, fmt, columns, n_rows, note=f"sheet '{name}'", headers=list(names))
    raw.header_row = skip + 1
    for line in (notice, common.header_notice(skip, mapping.header_row is not None)):
        if line:
            raw.notices.append(line)
    second_headers(con, path, raw, names)
    return raw


def _header(path: Path, name: str, rows, mapping: Mapping):
    """(rows above the header, the header's cells, the rows after it): the header is found
    among the first rows (:func:`common.find_header`)."""
    head: list[list] = []
    for row in rows:
        head.append(list(row))
        if len(head) >= max(common.HEADER_SEARCH_ROWS, mapping.header_row or 0):
            break
    if not head or all(all(v in (None, "") for v in r) for r in head):
        raise BadFile(f"{path}: sheet '{name}' is empty")
    index = common.find_header([[_cell_text(v) or "" for v in r] for r in head], mapping)
    if index >= len(head):
        raise BadFile(
            f"{path}: header_row {index + 1} is beyond sheet '{name}''s {len(head)} row(s)"
        )
    if all(v in (None, "") for v in head[index]):
        raise BadFile(f"{path}: sheet '{name}': the header's row {index + 1} is blank")
    return index, head[index], itertools.chain(head[index + 1 :], rows)


def _visible(meta) -> bool:
    return str(getattr(meta, "visible", "visible")).lower().endswith("visible")


def _holds_cases(sheet, required: set[str], mapping: Mapping) -> bool:
    """A sheet holds cases when its header has the required columns and a record follows it."""
    rows = iter(sheet.iter_rows())
    try:
        _, header, rows = _header(Path(), "", rows, mapping)
    except BadFile:  # empty, or header_row beyond its rows
        return False
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
