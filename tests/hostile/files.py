"""The catalogue of hostile intake files: how to write each one, and what the ingest must do.

Each :class:`Case` writes one file (or folder) into a directory and states the outcome the
ingest owes it: either a load whose counts are given exactly (worked out by hand in the case's
``why``), or a refusal whose one-line message must match ``error`` and name the file.
``CLASSES`` lists the classes of bad input issue 6 asks for; every case belongs to one.
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests import conftest

HEADER = [*conftest.HEADER, "description"]
_AFTER = ["platform_reason", "after_route", "after_outcome", "after_refund_amount",
          "after_closed_date"]  # fmt: skip

#: The classes of bad input the suite must try (issue 6, "Bad files").
CLASSES = (
    "empty",
    "binary",
    "truncated",
    "unterminated_quote",
    "header_only",
    "missing_column",
    "duplicated_column",
    "long_field",
    "encoding",
    "line_endings",
    "spreadsheet",
    "corrupt_xlsx",
    "json_not_records",
    "json_lines_broken",
    "corrupt_parquet",
    "mixed_folder",
    "mapping",
    # issue 14: faults found by trying to break it
    "typed_numbers",
    "glued_exports",
    "zip_bomb",
    "hidden_sheets",
    "bare_cr",
    "privacy_in_errors",
    # issue 24: ordinary mistakes that ended in "internal error" (exit 70) or loaded silently
    "too_many_columns",
    # issue 29: the platform's reason and what the buyer did after it
    "after_platform",
)


def row(case_id: str, **overrides: str) -> dict[str, str]:
    """A valid closed case (opened 2025-03-05, no refund on a 1000 USD claim)."""
    r = dict(
        zip(
            HEADER,
            [
                case_id,
                "S1",
                "machinery",
                "quality",
                "2025-03-05",
                "no_refund",
                "1000",
                "1000",
                "USD",
                "0",
                "2025-04-01",
                "ordinary description",
            ],
            strict=True,
        )
    )
    r.update(overrides)
    return r


def csv_text(
    rows: list[dict], header: list[str] | None = None, delimiter: str = ",", newline: str = "\n"
) -> str:
    """Rows as CSV text (quoting as the csv module does), with the given line ending."""
    buf = io.StringIO()
    w = csv.DictWriter(
        buf,
        fieldnames=header or HEADER,
        delimiter=delimiter,
        lineterminator=newline,
        extrasaction="ignore",
    )
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def five_rows() -> list[dict]:
    return [row(f"C{i}") for i in range(1, 6)]


@dataclass(frozen=True)
class Expect:
    """What the ingest owes a file: exact counts of a load, or a refusal matching ``error``."""

    rows_read: int | None = None
    inserted: int | None = None
    quarantined: int | None = None
    repeats: int = 0
    error: str | None = None  # a regex the one-line message must match (besides the file name)
    exit_code: int = 1  # of `ta-outcomes ingest` (0 for a load)


@dataclass(frozen=True)
class Case:
    id: str
    klass: str
    write: Callable[[Path], Path]  # writes the input into a folder, returns the path to ingest
    expect: Expect
    why: str = ""
    mapping: Callable[[Path], Path] | None = None  # writes a --mapping file, returns its path
    #: after a load: {case_id: {column: value}} that the stored cases must hold, compared as text
    stored: dict[str, dict[str, str]] | None = None
    #: after a load: a regex every quarantine reason of the load must match
    reason: str | None = None


def _bytes(name: str, data: bytes | Callable[[], bytes]) -> Callable[[Path], Path]:
    def write(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(data() if callable(data) else data)
        return path

    return write


def _text(name: str, text: Callable[[], str], encoding: str = "utf-8") -> Callable[[Path], Path]:
    return _bytes(name, lambda: text().encode(encoding))


def _load(read: int, inserted: int, quarantined: int = 0, repeats: int = 0) -> Expect:
    return Expect(
        rows_read=read, inserted=inserted, quarantined=quarantined, repeats=repeats, exit_code=0
    )


def _refuse(pattern: str, exit_code: int = 1) -> Expect:
    return Expect(error=pattern, exit_code=exit_code)


# --- writers that need more than a literal -----------------------------------------------------


def _good_csv() -> str:
    return csv_text(five_rows())


def _buyer_csv() -> str:
    # the five good rows with a buyer column of e-mail addresses
    rows = [r | {"buyer_ref": f"buyer{i}@example.com"} for i, r in enumerate(five_rows())]
    return csv_text(rows, [*HEADER, "buyer_ref"])


def _truncated_mid_row() -> str:
    # 5 rows; the last one cut after 'C5,S1,machinery' -> 3 fields of 12
    text = _good_csv()
    return text[: text.index("C5,") + len("C5,S1,machinery")]


def _truncated_mid_quote() -> str:
    rows = five_rows()
    rows[4]["description"] = 'says, "quoted" and more'  # csv quotes it: "says, ""quoted"" and more"
    text = csv_text(rows)
    return text[: text.index("C5,") + 70]  # cut inside the quoted description


def _unterminated_quote_middle() -> str:
    rows = five_rows()
    text = csv_text(rows)
    # row 3's description opens a quote that is never closed: rows 4 and 5 would be swallowed
    return text.replace(
        "C3,S1,machinery,quality,2025-03-05,no_refund,1000,1000,USD,0,2025-04-01,ordinary",
        'C3,S1,machinery,quality,2025-03-05,no_refund,1000,1000,USD,0,2025-04-01,"ordinary',
    )


def _long_field() -> str:
    # a 6 MB description (DuckDB's default line limit is 2 MB)
    return csv_text(
        [row("L1", description="A" * 6_000_000), row("L2"), row("L3", description="é" * 1_500_000)]
    )


def _mixed_line_endings() -> bytes:
    lines = _good_csv().splitlines()
    ends = ["\r\n", "\r\n", "\n", "\r\n", "\n", "\r\n"]
    return "".join(line + end for line, end in zip(lines, ends, strict=True)).encode()


def _cr_only() -> bytes:
    return _good_csv().replace("\n", "\r").encode()


def _binary_with_nul() -> bytes:
    rng = random.Random(6)
    return bytes(rng.getrandbits(8) for _ in range(20_000)) + b"\x00"


def _binary_without_nul() -> bytes:
    return bytes(range(1, 256)) * 40


def _header_then_garbage() -> bytes:
    # a valid header, then random bytes with no NUL: the header is text, the rest is not records
    rng = random.Random(66)
    junk = bytes(rng.choice(range(1, 256)) for _ in range(30_000))
    return (",".join(HEADER) + "\n").encode() + junk


def _xlsx(path: Path, sheets: dict[str, list[list]]) -> Path:
    import openpyxl

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for r in rows:
            ws.append(r)
    wb.save(path)
    return path


def _xlsx_several_sheets(folder: Path) -> Path:
    # Notes + Cases (3 rows) + Summary: only 'Cases' has the intake columns
    return _xlsx(
        folder / "several_sheets.xlsx",
        {
            "Notes": [["read me"], ["exported by hand"]],
            "Cases": [HEADER] + [list(row(f"X{i}").values()) for i in range(1, 4)],
            "Summary": [["total", "=COUNTA(Cases!A:A)-1"]],
        },
    )


def _xlsx_formulas(folder: Path) -> Path:
    # row 1 plain; row 2's claim_amount is a formula with no cached value (openpyxl writes none),
    # so it reads as blank: the claim is not recorded (NULL, never 0); row 3 holds
    # formula-looking TEXT in supplier_name/description, which must load as text.
    r3 = row("F3", description='=HYPERLINK("http://evil","click")')
    header = [*HEADER, "supplier_name"]
    rows = [
        header,
        [*row("F1").values(), "Plain Ltd"],
        [*row("F2", claim_amount="=G3*1").values(), "Formula Ltd"],
        [*r3.values(), "@SUM(A1:A9)"],
    ]
    path = _xlsx(folder / "formulas.xlsx", {"Cases": rows})
    # openpyxl stores a string starting with '=' as a formula: make row 3's cells text again
    import openpyxl

    wb = openpyxl.load_workbook(path)
    ws = wb["Cases"]
    ws.cell(row=4, column=12).value = '=HYPERLINK("http://evil","click")'
    ws.cell(row=4, column=12).data_type = "s"
    wb.save(path)
    return path


def _xlsx_two_case_sheets(folder: Path) -> Path:
    return _xlsx(
        folder / "two_case_sheets.xlsx",
        {
            "2025": [HEADER, list(row("A1").values())],
            "2026": [HEADER, list(row("B1").values())],
        },
    )


def _zip_not_xlsx(folder: Path) -> Path:
    path = folder / "not_a_workbook.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("hello.txt", "a zip file, but not a workbook")
    return path


def _parquet_good_then_corrupt(folder: Path) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = folder / "corrupt_middle.parquet"
    table = pa.table({k: [r[k] for r in five_rows()] for k in HEADER})
    pq.write_table(table, path)
    data = bytearray(path.read_bytes())
    mid = len(data) // 2
    data[mid : mid + 64] = os.urandom(64)  # garble the column chunks, keep the footer
    path.write_bytes(bytes(data))
    return path


def _mixed_folder(folder: Path) -> Path:
    d = folder / "mixed"
    d.mkdir()
    (d / "1_good.csv").write_text(csv_text([row("M1"), row("M2")]))
    (d / "2_empty.csv").write_bytes(b"")
    (d / "3_good.json").write_text(json.dumps([row("M3")]))
    (d / "4_corrupt.xlsx").write_bytes(b"PK\x03\x04garbage")
    (d / "5_missing.csv").write_text(csv_text([row("M9")], header=HEADER[:3]))
    (d / "6_good.jsonl").write_text(
        json.dumps(row("M4")) + "\n" + json.dumps(row("M5", claim_amount="x")) + "\n"
    )
    (d / "notes.txt.bak").write_text("ignored: not an intake file type")
    return d


CHINESE_HEADER = [
    "案件编号",
    "供应商",
    "类目",
    "投诉类型",
    "开启日期",
    "结果",
    "订单金额",
    "索赔金额",
    "币种",
    "退款金额",
    "关闭日期",
    "描述",
]


def _chinese_csv() -> str:
    return csv_text(
        [dict(zip(CHINESE_HEADER, r.values(), strict=True)) for r in five_rows()[:2]],
        CHINESE_HEADER,
    )


# --- issue 14 -----------------------------------------------------------------------------------


def _typed_xlsx(folder: Path) -> Path:
    # numbers typed in cells (and a formula's cached value) are numbers, not text to re-read
    import openpyxl

    path = folder / "typed.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Cases"
    ws.append(HEADER)
    ws.append(["T1", "S1", "machinery", "quality", "2025-03-05", "partial_refund",
               100.5, 12.345, "USD", 1.234, "2025-04-01", "typed"])  # fmt: skip
    ws.append(["T2", "S1", "machinery", "quality", "2025-03-05", "partial_refund",
               5000, 4000, "USD", 5.5, "2025-04-01", "typed"])  # fmt: skip
    wb.save(path)
    return path


def _typed_json() -> str:
    return json.dumps(
        [
            {
                **row("T1"),
                "order_value": 100.5,
                "claim_amount": 12.345,
                "refund_amount": 1.234,
                "outcome": "partial_refund",
            },
            {
                **row("T2"),
                "order_value": 5000,
                "claim_amount": 4000,
                "refund_amount": 5.500,
                "outcome": "partial_refund",
            },
        ]  # fmt: skip
    )


def _typed_parquet(folder: Path) -> Path:
    import duckdb

    path = folder / "typed.parquet"
    con = duckdb.connect()
    con.execute(
        f"""COPY (SELECT * REPLACE ('partial_refund' AS outcome,
                     100.500::DECIMAL(12, 3) AS order_value, 12.345::DECIMAL(12, 3) AS claim_amount,
                     5.500::DOUBLE AS refund_amount,
                     TIMESTAMPTZ '2025-04-01 23:30:00+00' AS closed_date)
                  FROM read_csv('{folder}/typed_src.csv', all_varchar = true))
           TO '{path}' (FORMAT parquet)"""  # noqa: S608 (the test's own paths)
    )
    return path


def _typed_parquet_writer(folder: Path) -> Path:
    (folder / "typed_src.csv").write_text(csv_text([row("T1")]))
    return _typed_parquet(folder)


def _glued(reordered: bool) -> str:
    first = csv_text([row("G1"), row("G2")])
    header = (
        ["supplier_id", "case_id", *HEADER[2:6], "claim_amount", "order_value", *HEADER[8:]]
        if reordered
        else HEADER
    )
    second = csv_text([row("G3", order_value="800", claim_amount="800")], header=header)
    return first + second


def _xlsx_bomb(part: str) -> Callable[[Path], Path]:
    # a tiny workbook whose directory says one part inflates to 40 MB (1000x its packed size)
    def write(folder: Path) -> Path:
        path = folder / "bomb.xlsx"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("[Content_Types].xml", "<Types/>")
            z.writestr(part, b" " * 40_000_000)
        return path

    return write


def _xlsx_with_hidden(folder: Path, hidden_has_cases: bool) -> Path:
    import openpyxl

    path = folder / "hidden.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Template"
    ws.append(HEADER)  # a header-only template sheet
    ws.sheet_state = "hidden"
    cases = wb.create_sheet("Cases")
    cases.append(HEADER)
    for r in five_rows()[:3]:
        cases.append(list(r.values()))
    if hidden_has_cases:
        cases.sheet_state = "hidden"
        wb.create_sheet("Notes").append(["just", "notes"])
    wb.save(path)
    return path


def _bare_cr_in_lf_file() -> str:
    rows = five_rows()
    rows[2]["description"] = "first line\rsecond line"  # a lone CR typed into a value
    return csv_text(rows).replace('"first line\rsecond line"', "first line\rsecond line")


def _wide_csv() -> str:
    """The five rows with 2,001 extra columns: 2,013 columns, past the limit of 2,000."""
    extra = [f"x{i}" for i in range(2001)]
    rows = [{**r, **dict.fromkeys(extra, "v")} for r in five_rows()]
    return csv_text(rows, header=[*HEADER, *extra])


def _wide_json(extra_fields: int) -> Callable[[], str]:
    """The five rows as JSON records, each with ``extra_fields`` more fields."""

    def text() -> str:
        extra = {f"x{i}": "v" for i in range(extra_fields)}
        return json.dumps([{**r, **extra} for r in five_rows()])

    return text


def _mapping(text: str) -> Callable[[Path], Path]:
    def write(folder: Path) -> Path:
        path = folder / "mapping.yaml"
        path.write_text(text)
        return path

    return write


CASES: list[Case] = [
    # --- empty and binary
    Case("empty_csv", "empty", _bytes("empty.csv", b""), _refuse(r"the file is empty")),
    Case("empty_json", "empty", _bytes("empty.json", b""), _refuse(r"the file is empty")),
    Case(
        "bom_only_csv",
        "empty",
        _bytes("bom.csv", b"\xef\xbb\xbf"),
        _refuse(r"header\) is blank"),
        why="a UTF-8 BOM and nothing else (was an IndexError traceback)",
    ),
    Case(
        "whitespace_only_csv",
        "empty",
        _bytes("blank.csv", b"  \n\n \n"),
        _refuse(r"header\) is blank"),
    ),
    Case(
        "binary_with_nul",
        "binary",
        _bytes("binary.csv", _binary_with_nul),
        _refuse(r"binary content"),
    ),
    Case("binary_without_nul", "binary", _bytes("binary2.csv", _binary_without_nul), _refuse(r".")),
    Case(
        "header_then_garbage", "binary", _bytes("garbage.csv", _header_then_garbage), _refuse(r".")
    ),
    Case(
        "zip_named_csv",
        "binary",
        _bytes("zip.csv", b"PK\x03\x04" + b"\x14" * 200),
        _refuse(r"required column\(s\) missing"),
    ),
    # --- truncated
    Case(
        "truncated_mid_row",
        "truncated",
        _text("cut_row.csv", _truncated_mid_row),
        _load(5, 4, 1),
        why="5 records: C1-C4 load; C5 has 3 of 12 fields -> quarantined (was counted 3 times)",
    ),
    Case(
        "truncated_mid_quote",
        "truncated",
        _text("cut_quote.csv", _truncated_mid_quote),
        _load(5, 4, 1),
        why="C5's quoted description is cut at end of file: that one record is quarantined",
    ),
    Case(
        "truncated_json",
        "truncated",
        _text("cut.json", lambda: json.dumps(five_rows())[:-40]),
        _refuse(r"cannot read as JSON"),
    ),
    # --- an unterminated quote in the middle would swallow rows 4-5 into row 3: refused
    Case(
        "unterminated_quote_middle",
        "unterminated_quote",
        _text("quote.csv", _unterminated_quote_middle),
        _refuse(r"record 3 opens a quoted field that is never closed"),
    ),
    # --- header only
    Case(
        "header_only_csv",
        "header_only",
        _text("hdr.csv", lambda: ",".join(HEADER) + "\n"),
        _refuse(r"header only"),
    ),
    Case(
        "header_only_no_newline",
        "header_only",
        _text("hdr2.csv", lambda: ",".join(HEADER)),
        _refuse(r"header only"),
    ),
    Case(
        "header_only_xlsx",
        "header_only",
        lambda f: _xlsx(f / "hdr.xlsx", {"Cases": [HEADER]}),
        _refuse(r"header only"),
    ),
    Case(
        "empty_json_array",
        "header_only",
        _bytes("none.json", b"[]"),
        _refuse(r"not a list of records"),
    ),
    # --- missing or duplicated required columns
    Case(
        "missing_outcome",
        "missing_column",
        _text(
            "no_outcome.csv", lambda: csv_text(five_rows(), [h for h in HEADER if h != "outcome"])
        ),
        _refuse(r"required column\(s\) missing: outcome"),
    ),
    Case(
        "missing_everything",
        "missing_column",
        _text("one_col.csv", lambda: "notes\nhello\n"),
        _refuse(r"required column\(s\) missing: case_id, supplier_id"),
    ),
    Case(
        "duplicated_case_id",
        "duplicated_column",
        _text("dup.csv", lambda: csv_text(five_rows(), ["case_id", *HEADER])),
        _refuse(r"column 'case_id' appears more than once"),
    ),
    Case(
        "duplicated_by_alias",
        "duplicated_column",
        _text(
            "dup2.csv",
            lambda: "Status,Result," + ",".join(h for h in HEADER if h != "outcome") + "\n",
        ),
        _refuse(r"column 'outcome' appears more than once"),
        why="'Status' and 'Result' are both aliases of outcome (a literal outcome column would win)",
    ),
    # --- very long fields
    Case(
        "six_mb_description",
        "long_field",
        _text("long.csv", _long_field),
        _load(3, 3),
        why="3 rows, a 6 MB and a 3 MB (UTF-8) description: all load",
    ),
    # --- encodings
    Case(
        "utf16_bom",
        "encoding",
        _text(
            "u16.csv", lambda: csv_text([row("E1", description="café ü €"), row("E2")]), "utf-16"
        ),
        _load(2, 2),
    ),
    Case(
        "cp1252_euro",
        "encoding",
        _text(
            "win.csv",
            lambda: csv_text(
                [
                    row(
                        "E1",
                        order_value="€1.234,56",
                        claim_amount="€1.000,00",
                        currency="",
                        description="Preis 1.234,56 €",
                    )
                ],
                delimiter=";",
            ),
            "cp1252",
        ),
        _load(1, 1),
    ),
    Case(
        "latin1",
        "encoding",
        _text(
            "latin1.csv",
            lambda: csv_text([row("E1", description="Ångström ñ ü ß"), row("E2")]),
            "latin-1",
        ),
        _load(2, 2),
    ),
    Case(
        "utf8_bom",
        "encoding",
        _bytes("bom8.csv", lambda: b"\xef\xbb\xbf" + _good_csv().encode()),
        _load(5, 5),
    ),
    Case(
        "utf16_without_bom",
        "encoding",
        _text("u16le.csv", _good_csv, "utf-16-le"),
        _refuse(r"binary content|encoding"),
    ),
    Case(
        "json_utf8_bom",
        "encoding",
        _bytes("bom.json", lambda: b"\xef\xbb\xbf" + json.dumps(five_rows()).encode()),
        _load(5, 5),
    ),
    Case(
        "json_utf16_bom",
        "encoding",
        _text("u16.json", lambda: json.dumps(five_rows()[:2], ensure_ascii=False), "utf-16"),
        _load(2, 2),
    ),
    # --- line endings
    Case("mixed_crlf_lf", "line_endings", _bytes("mixed.csv", _mixed_line_endings), _load(5, 5)),
    Case("cr_only", "line_endings", _bytes("cr.csv", _cr_only), _load(5, 5)),
    Case(
        "lf_then_cr",
        "line_endings",
        _bytes("lfcr.csv", lambda: _good_csv().replace("\n", "\r", 2).encode()),
        _load(5, 5),
        why="DuckDB's lenient mode loses a row here; the reader normalises instead",
    ),
    # --- spreadsheets
    Case(
        "xlsx_several_sheets",
        "spreadsheet",
        _xlsx_several_sheets,
        _load(3, 3),
        why="only sheet 'Cases' has the intake columns; its 3 rows load",
    ),
    Case(
        "xlsx_formulas",
        "spreadsheet",
        _xlsx_formulas,
        _load(3, 3, 0),
        why="F2's formula claim has no cached value: it loads with claim_amount NULL (not "
        "recorded), decided by its outcome alone; F1, F3 load as they are",
    ),
    Case(
        "xlsx_two_case_sheets",
        "spreadsheet",
        _xlsx_two_case_sheets,
        _refuse(r"several sheets hold cases"),
    ),
    Case(
        "xlsx_zip_garbage",
        "corrupt_xlsx",
        _bytes("garbage.xlsx", lambda: b"PK\x03\x04" + os.urandom(4000)),
        _refuse(r"cannot open as an Excel workbook"),
    ),
    Case(
        "xlsx_zip_not_workbook",
        "corrupt_xlsx",
        _zip_not_xlsx,
        _refuse(r"cannot open as an Excel workbook"),
    ),
    Case(
        "xlsx_plain_text",
        "corrupt_xlsx",
        _text("text.xlsx", _good_csv),
        _refuse(r"cannot open as an Excel workbook"),
    ),
    # --- JSON that is not a list of records
    Case(
        "json_object_wrapper",
        "json_not_records",
        _text("wrap.json", lambda: json.dumps({"cases": five_rows()})),
        _refuse(r"not a list of records"),
    ),
    Case(
        "json_scalar",
        "json_not_records",
        _bytes("scalar.json", b"42"),
        _refuse(r"not JSON records"),
    ),
    Case(
        "json_string",
        "json_not_records",
        _bytes("string.json", b'"hello"'),
        _refuse(r"not JSON records"),
    ),
    Case(
        "json_nested_arrays",
        "json_not_records",
        _bytes("nested.json", b"[[1,2],[3,4]]"),
        _refuse(r"not a list of records"),
    ),
    Case(
        "json_list_of_scalars",
        "json_not_records",
        _bytes("scalars.json", b"[1, 2, 3]"),
        _refuse(r"not a list of records"),
    ),
    Case(
        "json_mixed_items",
        "json_not_records",
        _text("mixed.json", lambda: json.dumps([row("J1"), 5, "x", None])),
        _refuse(r"not a list of records"),
    ),
    Case(
        "json_deeply_nested",
        "json_not_records",
        _bytes("deep.json", b"[" * 5000 + b"]" * 5000),
        # a list of lists, no record in it: DuckDB 1.5.5 reads the 5,000 levels and the file is
        # refused for what it is (DuckDB 2.0.1 stopped at its depth limit: "cannot read as JSON")
        _refuse(r"not a list of records"),
    ),
    Case(
        "json_mixed_value_types",
        "json_not_records",
        _text(
            "types.json",
            lambda: json.dumps(
                [
                    {**row("J1"), "order_value": 1000},
                    {**row("J2"), "order_value": "x"},
                    {**row("J3"), "case_id": 3},
                ]
            ),
        ),
        _load(3, 2, 1),
        why="J1 and case 3 load (case_id 3 as text '3', not '\"3\"'); J2's 'x' is quarantined",
    ),
    # --- JSON lines with a broken line
    Case(
        "jsonl_broken_line",
        "json_lines_broken",
        _text(
            "broken.jsonl",
            lambda: (
                "\n".join(
                    [json.dumps(row("K1")), '{"case_id": "K2", broken', json.dumps(row("K3"))]
                )
                + "\n"
            ),
        ),
        _refuse(r"cannot read as JSON"),
    ),
    Case(
        "jsonl_blank_lines",
        "json_lines_broken",
        _text(
            "blanks.jsonl",
            lambda: "\n\n" + json.dumps(row("K1")) + "\n\n" + json.dumps(row("K2")) + "\n",
        ),
        _load(2, 2),
    ),
    # --- Parquet
    Case(
        "parquet_random_bytes",
        "corrupt_parquet",
        _bytes("rand.parquet", lambda: b"PAR1" + os.urandom(2000) + b"PAR1"),
        _refuse(r"cannot read as Parquet"),
    ),
    Case(
        "parquet_text",
        "corrupt_parquet",
        _text("text.parquet", _good_csv),
        _refuse(r"cannot read as Parquet"),
    ),
    Case(
        "parquet_garbled_pages",
        "corrupt_parquet",
        _parquet_good_then_corrupt,
        _refuse(r"cannot read as Parquet|cannot read"),
    ),
    # --- a mapping file the readers cannot use
    Case(
        "mapping_unknown_encoding",
        "mapping",
        _text("m.csv", _good_csv),
        _refuse(r"not a known text encoding", 1),
        mapping=_mapping("encoding: klingon\n"),
    ),
    Case(
        "mapping_long_delimiter",
        "mapping",
        _text("m.csv", _good_csv),
        _refuse(r"delimiter must be one character"),
        mapping=_mapping('delimiter: ";;"\n'),
    ),
    Case(
        "mapping_bad_date_format",
        "mapping",
        _text("m.csv", _good_csv),
        _refuse(r"not a valid strftime pattern"),
        mapping=_mapping('date_format: "%Q/%m"\n'),
    ),
    Case(
        "mapping_copies_the_buyer_column",
        "mapping",
        _text("m.csv", _buyer_csv),
        _refuse(r"columns\.buyer_ref: the buyer column goes to buyer_ref only"),
        why="issue 24.4: the buyer's raw e-mail would be stored in description too",
        mapping=_mapping("columns:\n  buyer_ref: [buyer_ref, description]\n"),
    ),
    Case(
        "mapping_fallback_from_the_buyer_column",
        "mapping",
        _text("m.csv", _buyer_csv),
        _refuse(r"fallbacks\.description: the buyer column goes to buyer_ref only"),
        why="issue 24.4: a blank description would be filled with the buyer's raw reference",
        mapping=_mapping("fallbacks:\n  description: buyer_ref\n"),
    ),
    Case(
        "chinese_header_mapped",
        "mapping",
        _text("cn.csv", _chinese_csv),
        _load(2, 2),
        why="column names in Chinese, mapped by a --mapping file (they used to canonicalise to '')",
        mapping=_mapping(
            "columns:\n"
            + "".join(f"  {cn}: {en}\n" for cn, en in zip(CHINESE_HEADER, HEADER, strict=True))
        ),
    ),
    Case(
        "chinese_header_unmapped",
        "missing_column",
        _text("cn2.csv", _chinese_csv),
        _refuse(r"required column\(s\) missing: case_id.*found: 案件编号"),
    ),
    Case(
        "header_of_symbols",
        "missing_column",
        _text("sym.csv", lambda: "???,***,!!!\n1,2,3\n"),
        _refuse(r"found: column__1, column__2, column__3"),
    ),
    # --- issue 14: numbers that are already numbers keep their value (were x1000)
    Case(
        "xlsx_typed_numbers",
        "typed_numbers",
        _typed_xlsx,
        _load(2, 2),
        why="cells holding 12.345 and 1.234 are numbers, not '1.234' thousands text, and keep their third "
        "decimal (issue 24.6: were stored as 12.35 and 1.23)",
        stored={
            "T1": {"claim_amount": "12.345", "refund_amount": "1.234", "order_value": "100.500"},
            "T2": {"refund_amount": "5.500"},
        },  # fmt: skip
    ),
    Case(
        "json_typed_numbers",
        "typed_numbers",
        _text("typed.json", _typed_json),
        _load(2, 2),
        stored={
            "T1": {"claim_amount": "12.345", "refund_amount": "1.234"},
            "T2": {"refund_amount": "5.500"},
        },  # fmt: skip
    ),
    Case(
        "parquet_decimal_and_timestamptz",
        "typed_numbers",
        _typed_parquet_writer,
        _load(1, 1),
        why="DECIMAL(12,3) 100.500 is 100.5 (was 100,500); a TIMESTAMPTZ is its UTC day",
        stored={
            "T1": {
                "order_value": "100.500",
                "claim_amount": "12.345",
                "refund_amount": "5.500",
                "closed_date": "2025-04-01",
            }
        },  # fmt: skip
    ),
    # --- two exports glued together
    Case(
        "glued_reordered_header",
        "glued_exports",
        _text("glued.csv", lambda: _glued(reordered=True)),
        _refuse(r"record 3 is a second header with the columns in another order"),
        why="the rows after it were read with case_id and supplier_id swapped",
    ),
    Case(
        "glued_same_header",
        "glued_exports",
        _text("glued2.csv", lambda: _glued(reordered=False)),
        _load(4, 3, 1),
        why="the second header in the same order is one quarantined record, G1-G3 load",
        stored={"G3": {"supplier_id": "S1", "order_value": "800.000"}},
        reason=r"^row: repeats the header line",
    ),
    # --- workbooks that would exhaust memory and time
    Case(
        "xlsx_shared_strings_bomb",
        "zip_bomb",
        _xlsx_bomb("xl/sharedStrings.xml"),
        _refuse(r"refused unread: its part xl/sharedStrings.xml would inflate"),
    ),
    Case(
        "xlsx_sheet_whitespace_bomb",
        "zip_bomb",
        _xlsx_bomb("xl/worksheets/sheet1.xml"),
        _refuse(r"a zip bomb"),
    ),
    # --- hidden sheets are skipped, and the load line says so
    Case(
        "xlsx_hidden_template_sheet",
        "hidden_sheets",
        lambda f: _xlsx_with_hidden(f, hidden_has_cases=False),
        _load(3, 3),
        why="a hidden header-only template no longer makes it 'several sheets hold cases'",
    ),
    Case(
        "xlsx_only_cases_sheet_hidden",
        "hidden_sheets",
        lambda f: _xlsx_with_hidden(f, hidden_has_cases=True),
        _refuse(r"the only sheet with cases, 'Cases', is hidden"),
        why="it loaded silently before",
    ),
    # --- a lone CR typed into an unquoted value of an LF file is data, not a line end
    Case(
        "bare_cr_inside_lf_file",
        "bare_cr",
        _text("cr_in_value.csv", _bare_cr_in_lf_file),
        _load(5, 5),
        why="read 6 for 5 before: the CR split C3 in two",
        stored={"C3": {"description": "first line\rsecond line", "closed_date": "2025-04-01"}},
    ),
    # --- an error message never echoes a record's text
    Case(
        "json_duplicate_key",
        "privacy_in_errors",
        _text(
            "dup.json",
            lambda: '[{"case_id": "D1", "buyer_ref": "alice@example.com", "case_id": "D2"}]',
        ),
        _refuse(r"^(?!.*alice).*record 1 has the key 'case_id' twice"),
    ),
    Case(
        "mapping_not_yaml_object",
        "mapping",
        _text("m.csv", _good_csv),
        _refuse(r"must be a YAML object"),
        mapping=_mapping("- just\n- a list\n"),
    ),
    # --- issue 24: mapping files trusted too far, and ordinary mistakes that were exit 70
    Case(
        "mapping_value_keys_collide",
        "mapping",
        _text("m.csv", _good_csv),
        _refuse(
            r"values\.outcome: 'no_refund' and 'No-Refund' are the same text once case and "
            r"punctuation are ignored"
        ),  # fmt: skip
        why="both keys matched every row: 'internal error: counts do not add up', exit 70",
        mapping=_mapping(
            "values:\n  outcome:\n    no_refund: no_refund\n    No-Refund: no_refund\n"
        ),
    ),
    Case(
        "mapping_value_key_of_punctuation",
        "mapping",
        _text("m.csv", _good_csv),
        _refuse(r"values\.outcome\.-: '-' has no letter or digit, so it would match a blank cell"),
        why="its key was that of a blank cell: a blank outcome became no_refund",
        mapping=_mapping('values:\n  outcome:\n    "-": no_refund\n'),
    ),
    Case(
        "mapping_duplicate_key",
        "mapping",
        _text("m.csv", _good_csv),
        _refuse(
            r"line 2, column 1: the key 'currency' is given twice in one object \(first on "
            r"line 1\)"
        ),  # fmt: skip
        why="the last value was kept silently",
        mapping=_mapping("currency: USD\ncurrency: EUR\n"),
    ),
    Case(
        "mapping_currency_an_object",
        "mapping",
        _text("m.csv", _good_csv),
        _refuse(r"currency: must be one value \(a text\), not a list or an object"),
        mapping=_mapping("currency: {a: b}\n"),
    ),
    Case(
        "mapping_name_with_comment_mark",
        "mapping",
        _text("m.csv", _good_csv),
        _refuse(r"line 2, column 3: the name 'Order #' holds ' #'.*must be in quotes"),
        why="YAML read 'Order' and a comment; the error had no line and no hint",
        mapping=_mapping("columns:\n  Order #: case_id\n"),
    ),
    Case(
        "mapping_nested_thousands_deep",
        "mapping",
        _text("m.csv", _good_csv),
        _refuse(r"line 1, column \d+: nested deeper than 4 levels"),
        why="RecursionError: internal error, exit 70",
        mapping=_mapping("columns:" + " {a:" * 3000 + "}" * 3000 + "\n"),
    ),
    Case(
        "mapping_over_the_size_limit",
        "mapping",
        _text("m.csv", _good_csv),
        _refuse(r"a mapping file is at most 8 MB"),
        why="--mapping /dev/zero read 1.6 GB in 3 s",
        mapping=_mapping("# " + "x" * (8 * 1024 * 1024) + "\n"),
    ),
    Case(
        "mapping_codec_that_is_no_text_encoding",
        "mapping",
        _text("m.csv", _good_csv),
        _refuse(r"encoding 'rot13' is not a known text encoding"),
        why="LookupError: internal error, exit 70",
        mapping=_mapping("encoding: rot13\n"),
    ),
    Case(
        "mapping_encoding_utf16_of_a_utf8_file",
        "encoding",
        _text("m.csv", _good_csv),
        _refuse(
            r"cannot decode as utf-16 \(the encoding .*mapping.yaml sets: is it the file's\?\)"
        ),
        why="UnicodeError (UTF-16 without its BOM): internal error, exit 70",
        mapping=_mapping("encoding: utf-16\n"),
    ),
    Case(
        "mapping_encoding_utf32_of_a_utf8_file",
        "encoding",
        _text("m.csv", _good_csv),
        _refuse(
            r"cannot decode as utf-32 \(the encoding .*mapping.yaml sets: is it the file's\?\)"
        ),
        why="UnicodeDecodeError while transcoding: internal error, exit 70",
        mapping=_mapping("encoding: utf-32\n"),
    ),
    Case(
        "csv_with_2013_columns",
        "too_many_columns",
        _text("wide.csv", _wide_csv),
        _refuse(r"2,013 columns; a file may have at most 2,000"),
        why="20,000 columns ran out of memory (exit 70); no limit was set",
    ),
    Case(
        "json_with_312_fields",
        "too_many_columns",
        _text("wide.json", _wide_json(300)),
        _load(5, 5),
        why="records of more than 200 fields were read as one MAP: 'not a list of records'",
    ),
    Case(
        "json_with_2012_fields",
        "too_many_columns",
        _text("wider.json", _wide_json(2000)),
        _refuse(r"2,012 columns; a file may have at most 2,000"),
    ),
    # issue 29: a reason nobody listed, a route ending before the platform's decision, a
    # negative recovery: each quarantined with its reason, never stored as something else
    Case(
        "after_platform_values_that_cannot_be",
        "after_platform",
        _text(
            "after.csv",
            lambda: csv_text(
                [
                    row(
                        "A1",
                        platform_reason="operational",
                        after_route="PayPal",
                        after_outcome="recovered_full",
                        after_refund_amount="1000",
                        after_closed_date="2025-05-01",
                    ),
                    row("A2", platform_reason="supplier was nice"),
                    row("A3", after_route="chargeback", after_closed_date="2025-03-20"),
                    row("A4", after_route="legal", after_refund_amount="-5"),
                ],
                [*HEADER, *_AFTER],
            ),
        ),
        _load(4, 1, 3),
        stored={
            "A1": {
                "platform_reason": "product_operational",
                "after_route": "paypal",
                "after_refund_usd": "1000.0",
            }
        },
        reason=r"^(platform_reason: unknown value 'supplier was nice'|after_closed_date: before "
        r"closed_date \(2025-03-20 < 2025-04-01\)|after_refund_amount: negative)$",
    ),
]

#: The mixed folder is checked on its own (several files, several results); it still counts.
MIXED_FOLDER = Case(
    "mixed_folder",
    "mixed_folder",
    _mixed_folder,
    Expect(exit_code=1),
    why="1_good (2), 3_good (1) and 6_good (2 read: 1 in, 1 quarantined) load; "
    "2_empty, 4_corrupt and 5_missing are refused, one line each",
)
