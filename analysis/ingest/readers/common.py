"""What every reader shares: the result types, column naming, typed numbers, second headers.

Whatever the format, a reader leaves the temp table ``raw_input``: a ``_row`` column (the data
record's number in the file, from 1, header not counted) and one VARCHAR column per source column,
named by :func:`canonical_column` (after the mapping's renames). Records the reader itself cannot
split come back as :class:`Reject` rows, to be quarantined with their reason, so that every record
of the file is accounted for.
"""

from __future__ import annotations

import decimal
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from analysis import columns as registry
from analysis import sqlfiles
from analysis.errors import BadFile
from analysis.ingest.mapping import Mapping

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
#: The most columns a file may have (docs/data-dictionary.md): the header is counted before a
#: record is read (20,000 columns ran DuckDB out of memory; exports carry tens, or hundreds).
MAX_COLUMNS = 2000

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
    #: The header as the file has it, one name per column of ``columns`` (same order).
    headers: list[str] = field(default_factory=list)
    #: The header's row in the file or sheet, from 1 (the rows above it are not records).
    header_row: int = 1

    @property
    def rows_read(self) -> int:
        return self.rows + len(self.rejects)


def normalise(name: object) -> str:
    # Letters of any script are kept (a Chinese export's 案件编号 stays a name a mapping can
    # refer to); runs of anything else become one underscore.
    return re.sub(r"[\W_]+", "_", str(name).strip().lower()).strip("_")


def canonical_column(name: str) -> str:
    """`Opened Date ` -> `opened_date`; applies the common aliases."""
    norm = normalise(name)
    return COLUMN_ALIASES.get(norm, norm)


def canonical_names(names: list, mapping: Mapping) -> list[str]:
    """The intake names of a header: the mapping's renames first, then the common aliases, but an
    alias never takes a name the header (or the mapping) already gives to another column."""
    norms = [normalise(n) if n is not None else "" for n in names]
    taken = {mapping.rename(n) for n in norms}
    out = []
    for norm in norms:
        if norm in mapping.columns:
            out.append(mapping.rename(norm))
        elif norm in COLUMN_ALIASES and COLUMN_ALIASES[norm] not in taken:
            out.append(COLUMN_ALIASES[norm])
        else:
            out.append(norm)
    return out


#: DuckDB's numeric column types (a typed number, as opposed to text).
NUMERIC_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
                 "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "DECIMAL")  # fmt: skip

#: "1.234" as TEXT is one thousand two hundred and thirty-four (money has two decimals); a value
#: that is already a number must never be re-read that way.
_THREE_DECIMALS = re.compile(r"-?\d+\.\d{3}")


def plain_number(value: int | float | decimal.Decimal) -> str:
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
    text = plain_number(value)
    return text + "0" if _THREE_DECIMALS.fullmatch(text) else text


def typed_number_sql(expr: str) -> str:
    """:func:`typed_number_text` in SQL, over the VARCHAR text of a typed number ``expr``."""
    return f"CASE WHEN regexp_full_match({expr}, '-?\\d+\\.\\d{{3}}') THEN {expr} || '0' ELSE {expr} END"


def missing_columns_error(
    path: Path, columns: list[str], mapping: Mapping, header_row: int = 1
) -> BadFile | None:
    """The one-line refusal of a header that lacks required intake columns, or None."""
    required = mapping.required_columns()
    missing = [c for c in registry.required_names() if c in required and c not in columns]
    if not missing:
        return None
    found = ", ".join(columns[:12]) + (" ..." if len(columns) > 12 else "")
    where = (
        f"found in the header on row {header_row}"
        if header_row > 1
        else f"found: {found}; no row among the first {HEADER_SEARCH_ROWS} holds them"
    )
    if header_row > 1:
        where += f": {found}"
    return BadFile(
        f"{path}: required column(s) missing: {', '.join(missing)} ({where}); "
        "rename them in the export or map them with --mapping (header_row: N names the header's row)"
    )


#: The header is looked for among the first rows of a file or sheet (title rows, a blank line and
#: an "exported on" line come before it in real trackers); `header_row` in a mapping names it.
HEADER_SEARCH_ROWS = 20


def _header_score(names: list, mapping: Mapping) -> tuple[bool, int]:
    """(whether ``names`` can be the header: every required intake column and every export
    column the mapping names, and how many intake or mapped names it holds)."""
    norms = {normalise(n) for n in names if n is not None}
    canon = set(canonical_names(list(names), mapping))
    wanted = set(mapping.columns) | set(mapping.fallbacks.values()) | set(mapping.evidence_flags)
    complete = mapping.required_columns() <= canon and wanted <= norms
    return complete, len(canon & set(registry.intake_names())) + len(norms & wanted)


def find_header(rows: list[list], mapping: Mapping) -> int:
    """The index (from 0) among ``rows`` (a file's or sheet's first rows) of its header.

    The mapping's ``header_row`` when it gives one; else the first row that holds every
    required intake column and every export column the mapping names; else the row holding the
    most of them, if it holds more than the first row does (so that the refusal names the
    columns of the row that looks like the header); else the first row.
    """
    if mapping.header_row is not None:
        return mapping.header_row - 1
    scores = [_header_score(r, mapping) for r in rows[:HEADER_SEARCH_ROWS]]
    for i, (complete, _) in enumerate(scores):
        if complete:
            return i
    if not scores:
        return 0
    best = max(range(len(scores)), key=lambda i: (scores[i][1], -i))
    return best if scores[best][1] > scores[0][1] else 0


def header_notice(index: int, explicit: bool) -> str:
    """What the load line says of a header that is not the first row (empty when it is)."""
    if index == 0:
        return ""
    above = "row 1" if index == 1 else f"rows 1-{index}"
    how = "header_row in the mapping" if explicit else "detected"
    return f"header on row {index + 1} ({how}; {above} above it skipped: not records)"


def second_headers(con, path: Path, raw: RawFile, names: list) -> None:
    """Deal with records that repeat the header: two exports glued into one file.

    A second header in the same column order is one record that is not a case: it becomes a
    reject with that reason. In another order the records after it would be read under the wrong
    names (case_id as supplier_id, a claim as the order value): the file is refused, saying where.
    """
    header = [str(n).strip().lower() for n in names]
    wanted = set(header) - {""}
    key = "case_id" if "case_id" in raw.columns else raw.columns[0]
    # Cheap first: only records whose key column holds a header name can be a header.
    candidates = con.execute(
        sqlfiles.render("ingest", "second_headers.sql", raw_columns=raw.columns, key=key),
        {"names": sorted(wanted)},
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


def unique_columns(path: Path, names: list[str], mapping: Mapping) -> list[str]:
    """Canonical, unique column names; a duplicated intake column is an error.

    A name the reader makes up has a double underscore, which :func:`normalise` never leaves in
    a header's own name, so it can never be taken for (or take the name of) one of the file's
    columns: the second and third ``note`` are ``note__2`` and ``note__3`` (the file's own
    ``note_2`` stays ``note_2``), a header cell with no letter or digit in column 4 is
    ``column__4``. Each depends only on the columns before it, so it is the same in every
    export that starts the same way. More than :data:`MAX_COLUMNS` columns is an error.
    """
    if len(names) > MAX_COLUMNS:
        raise BadFile(
            f"{path}: {len(names):,} columns; a file may have at most {MAX_COLUMNS:,} "
            "(drop the columns the analysis does not need from the export)"
        )
    out: list[str] = []
    seen: dict[str, int] = {}
    for i, canon in enumerate(canonical_names(names, mapping)):
        if not canon:
            out.append(f"column__{i + 1}")
            continue
        if canon in seen:
            if canon in registry.intake_names():
                raise BadFile(f"{path}: column '{canon}' appears more than once in the header")
            seen[canon] += 1
            out.append(f"{canon}__{seen[canon]}")
            continue
        seen[canon] = 1
        out.append(canon)
    return out


def create_raw_input(con, select_sql: str, params: list) -> None:
    """Create the temp table ``raw_input`` from the reader's ``SELECT`` (its columns as text),
    with ``_row``: each record's number in the file, counting from 1.

    The reader's records go into the table in parallel (DuckDB keeps the order the reader gives
    them: ``preserve_insertion_order``, its default); then each is numbered by its row id, set
    in place as a column of its own. ``row_number() OVER ()`` in the same statement forces the
    read onto one thread (at 1M rows, 5.5 s against 3.4 s), and copying the table to add the
    column cost 12 s at 10M rows, with the two copies spilling past the memory limit
    (docs/performance.md); the update in place costs under a second.
    """
    con.execute("CREATE OR REPLACE TEMP TABLE _raw_read AS " + select_sql, params)
    try:
        # a file's own column named 'rowid' (any case) hides the row id, and one named '_row'
        # takes the name: numbered the slow way
        shadowed = con.execute(
            "SELECT count(*) FROM duckdb_columns() WHERE table_name = '_raw_read' "
            "AND lower(column_name) IN ('rowid', '_row')"
        ).fetchone()[0]
        if shadowed:
            con.execute(
                "CREATE OR REPLACE TEMP TABLE raw_input AS "
                "SELECT row_number() OVER () AS _row, * FROM _raw_read"
            )
        else:
            con.execute("ALTER TABLE _raw_read ADD COLUMN _row BIGINT")
            con.execute("UPDATE _raw_read SET _row = rowid + 1")
            con.execute("DROP TABLE IF EXISTS raw_input")
            con.execute("ALTER TABLE _raw_read RENAME TO raw_input")
    finally:
        con.execute("DROP TABLE IF EXISTS _raw_read")


def first_line(exc: object) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__
