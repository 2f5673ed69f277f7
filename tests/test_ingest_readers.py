"""Readers: column names, formats, sheets."""

import duckdb
import openpyxl
import pytest

from analysis.errors import BadFile
from analysis.ingest import readers
from analysis.ingest.mapping import Mapping
from analysis.ingest.readers import common
from tests.conftest import good_row


def test_canonical_column_names_and_aliases():
    assert readers.canonical_column(" Opened Date ") == "opened_date"
    assert readers.canonical_column("Category") == "product_category"
    assert readers.canonical_column("Refund") == "refund_amount"
    assert readers.canonical_column("Case-ID") == "case_id"


def test_unsupported_extension(tmp_path):
    with pytest.raises(BadFile, match=r"unsupported file type '\.pdf'"):
        readers.detect_format(tmp_path / "x.pdf")


def _sheet(wb, title, rows):
    ws = wb.create_sheet(title)
    for r in rows:
        ws.append(r)


def test_workbook_picks_the_one_sheet_with_cases(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.title = "Notes"
    wb.active.append(["just notes"])
    _sheet(wb, "Cases", [list(good_row()), list(good_row("C1").values()), [None] * 11])
    wb.save(tmp_path / "w.xlsx")
    con = duckdb.connect()
    raw = readers.read_raw(con, tmp_path / "w.xlsx", Mapping())
    assert raw.rows == 1 and raw.note == "sheet 'Cases'"
    assert con.execute("SELECT _row, case_id FROM raw_input").fetchall() == [(1, "C1")]


def test_workbook_with_two_case_sheets_is_refused(tmp_path):
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title in ("2025", "2026"):
        _sheet(wb, title, [list(good_row()), list(good_row("C1").values())])
    wb.save(tmp_path / "two.xlsx")
    with pytest.raises(BadFile, match="several sheets hold cases"):
        readers.read_raw(duckdb.connect(), tmp_path / "two.xlsx", Mapping())
    raw = readers.read_raw(duckdb.connect(), tmp_path / "two.xlsx", Mapping(sheet="2026"))
    assert raw.rows == 1


def test_formula_cells_give_their_cached_value(tmp_path):
    # openpyxl writes formulas without a cached value: such a cell reads as empty, and the
    # ingest then quarantines the row for the missing amount rather than storing '=A1*2'.
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(list(good_row()))
    row = list(good_row("F1").values())
    row[7] = "=G2*1"
    ws.append(row)
    wb.save(tmp_path / "f.xlsx")
    con = duckdb.connect()
    readers.read_raw(con, tmp_path / "f.xlsx", Mapping())
    assert con.execute("SELECT claim_amount FROM raw_input").fetchone() == (None,)


def test_json_that_is_not_records(tmp_path):
    (tmp_path / "obj.json").write_text('{"cases": [{"case_id": "C1"}]}')
    with pytest.raises(BadFile, match="not a list of records"):
        readers.read_raw(duckdb.connect(), tmp_path / "obj.json", Mapping())
    (tmp_path / "scalar.json").write_text("42")
    with pytest.raises(BadFile, match="not JSON records"):
        readers.read_raw(duckdb.connect(), tmp_path / "scalar.json", Mapping())


def test_duplicated_intake_column(tmp_path):
    (tmp_path / "d.csv").write_text("case_id,Case ID,supplier_id\nA,B,S\n")
    with pytest.raises(BadFile, match="column 'case_id' appears more than once"):
        readers.read_raw(duckdb.connect(), tmp_path / "d.csv", Mapping())


def test_made_up_column_names_never_take_a_files_own_name(tmp_path):
    # issue 24.6: the second 'note' took 'note_2' and the file's own 'note_2' became 'note_2_2'
    header = ["Note", "note", "note_2", "***", "Column 5", "NOTE"]
    assert common.unique_columns(tmp_path / "f.csv", header, Mapping()) == [
        "note", "note__2", "note_2", "column__4", "column_5", "note__3"]  # fmt: skip
    # a name depends only on the columns before it: the same in a longer export
    assert common.unique_columns(tmp_path / "g.csv", header[:2], Mapping()) == ["note", "note__2"]
    (tmp_path / "n.csv").write_text("case_id,note,note,note_2\nA,first,second,own\n")
    con = duckdb.connect()
    raw = readers.read_raw(con, tmp_path / "n.csv", Mapping())
    assert raw.columns == ["case_id", "note", "note__2", "note_2"]
    assert con.execute("SELECT note, note__2, note_2 FROM raw_input").fetchall() == [
        ("first", "second", "own")]  # fmt: skip


def test_aliases_never_shadow_a_real_column_and_the_mapping_wins():
    # 'status' is an alias of outcome, but this header has an outcome column of its own.
    assert readers.canonical_names(["Status", "Outcome", "Currency Code"], Mapping()) == [
        "status", "outcome", "currency"]  # fmt: skip
    # The mapping decides before any alias: here 'Category' holds the claim type.
    mapping = Mapping(columns={"category": "claim_type"})
    assert readers.canonical_names(["Category", "Product Type"], mapping) == [
        "claim_type", "product_category"]  # fmt: skip


def test_a_record_too_long_is_quarantined_with_its_case_id(tmp_path, monkeypatch):
    # issue 14: a 200 MB field came out as "row: cannot be read (: None)" and no case id
    monkeypatch.setattr(readers.common, "MAX_LINE_BYTES", 1024 * 1024)
    path = tmp_path / "long.csv"
    path.write_text(
        "case_id,supplier_id,description\nC1,S1,short\nC2,S1," + "x" * 2_000_000 + "\nC3,S1,ok\n"
    )
    raw = readers.read_raw(duckdb.connect(), path, Mapping())
    (reject,) = raw.rejects
    assert (reject.row_number, reject.case_id) == (2, "C2")
    assert reject.reason.startswith("row: longer than 1 MB (a field too long to load")
    assert raw.rows == 2


def test_timestamps_with_a_zone_give_the_same_day_on_every_machine(tmp_path):
    # issue 14: a Parquet TIMESTAMPTZ (an instant) is read as its UTC day; a JSON string keeps its
    # own text; neither depends on the machine's TZ (here a machine 8 hours east of UTC)
    import subprocess
    import sys

    con = duckdb.connect()
    con.execute(
        "COPY (SELECT TIMESTAMPTZ '2025-04-01 23:30:00+00' AS closed_date) "
        f"TO '{tmp_path / 'tz.parquet'}' (FORMAT parquet)"
    )
    (tmp_path / "tz.json").write_text('[{"case_id": "C1", "closed_date": "2025-04-01T23:30:00Z"}]')
    script = (
        "import duckdb, sys; from pathlib import Path; from analysis.ingest import readers;"
        "from analysis.ingest.mapping import Mapping; con = duckdb.connect();"
        "[print(readers.read_raw(con, Path(p), Mapping()) and "
        "con.execute('SELECT closed_date FROM raw_input').fetchone()[0]) for p in sys.argv[1:]]"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "tz.parquet"), str(tmp_path / "tz.json")],
        env={**__import__("os").environ, "TZ": "Asia/Shanghai"},
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:2] == ["2025-04-01 23:30:00", "2025-04-01T23:30:00Z"]


def test_a_transcoded_csv_leaves_no_temp_file(tmp_path, monkeypatch):
    # b"\x81" is not Windows-1252: the first transcoding fails, Latin-1 takes over; both attempts,
    # and the mixed-line-ending copy, used to leave their temp files behind
    import tempfile

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    header = ",".join(good_row()).encode()
    values = ",".join(good_row("C1").values()).encode()
    path = tmp_path / "odd.csv"
    path.write_bytes(header + b"\r\n" + values.replace(b"C1", b"C1\x81", 1) + b"\n")
    con = duckdb.connect()
    raw = readers.read_raw(con, path, Mapping())
    assert raw.encoding == "cp1252" and raw.rows == 1
    assert con.execute("SELECT case_id FROM raw_input").fetchall() == [("C1\x81",)]
    assert list(scratch.iterdir()) == []


def test_records_are_numbered_in_file_order_across_parallel_row_groups(tmp_path):
    # 300,000 records: more than two of DuckDB's row groups (122,880 rows), read by two threads;
    # the number each record gets is its place in the file, as the quarantine reports it
    path = tmp_path / "many.csv"
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("n,text\n")
        fh.writelines(f"{i},row {i}\n" for i in range(1, 300_001))
    con = duckdb.connect()
    con.execute("SET threads = 2")
    common.create_raw_input(con, "SELECT * FROM read_csv(?, all_varchar = true)", [str(path)])
    count, out_of_place = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE _row <> n::BIGINT) FROM raw_input"
    ).fetchone()
    assert (count, out_of_place) == (300_000, 0)
    # the work table is gone
    assert con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = '_raw_read'"
    ).fetchone() == (0,)


def test_a_file_with_its_own_rowid_column_is_numbered_in_file_order(tmp_path):
    # the file's 'RowID' column (normalised to 'rowid') hides DuckDB's row id: the slow numbering
    path = tmp_path / "rowid.csv"
    path.write_text("RowID,text\n7,a\n3,b\n5,c\n", encoding="utf-8")
    con = duckdb.connect()
    raw = readers.read_raw(con, path, Mapping())
    assert raw.rows_read == 3
    rows = con.execute("SELECT _row, rowid, text FROM raw_input ORDER BY _row").fetchall()
    assert rows == [(1, "7", "a"), (2, "3", "b"), (3, "5", "c")]


# Issue 28.1: trackers start with a title row and a blank line; the header is found, the load
# line says on which row, and the rows above it are not records.
TITLE = "Dispute tracker - Harbour Sourcing Ltd - exported 1 Dec 2026"


def _titled_csv(path, rows, header=None):
    header = header or list(good_row())
    lines = [TITLE + "," * (len(header) - 1), "," * (len(header) - 1), ",".join(header)]
    lines += [",".join(str(r[h]) for h in header) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _titled_xlsx(path, rows, header=None):
    header = header or list(good_row())
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Tracker"
    ws.append([TITLE])
    ws.append([])
    ws.append(header)
    for r in rows:
        ws.append([r[h] for h in header])
    _sheet(wb, "Summary", [["Cases by month"], ["2026-11", 3]])
    wb.save(path)
    return path


@pytest.mark.parametrize("write", [_titled_csv, _titled_xlsx], ids=["csv", "xlsx"])
def test_the_header_below_title_rows_is_found_and_named(write, tmp_path):
    path = write(tmp_path / f"t.{'csv' if write is _titled_csv else 'xlsx'}",
                 [good_row("C1"), good_row("C2")])  # fmt: skip
    con = duckdb.connect()
    raw = readers.read_raw(con, path, Mapping())
    assert raw.header_row == 3 and raw.rows == 2 and not raw.rejects
    assert "header on row 3 (detected; rows 1-2 above it skipped: not records)" in raw.notices
    # records are numbered from the header down: the first case is record 1
    assert con.execute("SELECT _row, case_id FROM raw_input ORDER BY 1").fetchall() == [
        (1, "C1"), (2, "C2")]  # fmt: skip


def test_a_header_on_the_first_row_says_nothing(tmp_path):
    from tests.conftest import write_csv

    raw = readers.read_raw(duckdb.connect(), write_csv(tmp_path / "a.csv", [good_row()]), Mapping())
    assert raw.header_row == 1 and not any("header on row" in n for n in raw.notices)


def test_a_record_below_a_title_is_rejected_with_its_record_number(tmp_path):
    path = _titled_csv(tmp_path / "t.csv", [good_row("C1"), good_row("C2")])
    text = path.read_text().splitlines()
    text[4] += ",one field too many"  # the second record (file line 5)
    path.write_text("\n".join(text) + "\n")
    raw = readers.read_raw(duckdb.connect(), path, Mapping())
    assert raw.rows == 1 and [r.row_number for r in raw.rejects] == [2]
    assert raw.rows_read == 2  # the title and the blank line are not records


def test_header_row_in_the_mapping_overrides_the_detection(tmp_path):
    # the title row holds intake names itself (a pasted header above the real one): the guess
    # takes row 1; header_row: 2 names the right one
    header = list(good_row())
    path = tmp_path / "h.csv"
    path.write_text(
        ",".join(header) + "\n" + ",".join(h.upper() for h in header) + "\n"
        + ",".join(good_row("C9").values()) + "\n", encoding="utf-8",
    )  # fmt: skip
    raw = readers.read_raw(duckdb.connect(), path, Mapping(header_row=2))
    assert raw.header_row == 2 and raw.rows == 1
    assert "header on row 2 (header_row in the mapping; row 1 above it skipped: not records)" in (
        raw.notices
    )
    with pytest.raises(BadFile, match=r"header_row 9 is beyond the file's 3 line\(s\)"):
        readers.read_raw(duckdb.connect(), path, Mapping(header_row=9))
    xlsx = _titled_xlsx(tmp_path / "t.xlsx", [good_row("C1")])
    with pytest.raises(BadFile, match=r"sheet 'Tracker': the header's row 2 is blank"):
        readers.read_raw(duckdb.connect(), xlsx, Mapping(header_row=2, sheet="Tracker"))


def test_header_row_must_be_a_row_number(tmp_path):
    for bad in ("0", "three", "-1"):
        (tmp_path / "m.yaml").write_text(f"header_row: {bad}\n")
        with pytest.raises(BadFile, match="m.yaml: header_row: must be a row number from 1"):
            Mapping.load(tmp_path / "m.yaml")
    (tmp_path / "m.yaml").write_text("header_row: 3\n")
    assert Mapping.load(tmp_path / "m.yaml").header_row == 3


@pytest.mark.parametrize("write", [_titled_csv, _titled_xlsx], ids=["csv", "xlsx"])
def test_a_mapping_is_checked_against_a_workbook_as_against_a_csv(write, tmp_path):
    # the export's own names, one of them not in the file: the same refusal for both formats,
    # naming the mapping's key and the header's columns (not the title's)
    names = {"case_id": "Ref", "supplier_id": "Vendor", "product_category": "Category",
             "claim_type": "Issue", "opened_date": "Opened", "outcome": "Status"}  # fmt: skip
    header = [names.get(h, h) for h in good_row()]
    rows = [{names.get(k, k): v for k, v in good_row("C1").items()}]
    path = write(tmp_path / f"t.{'csv' if write is _titled_csv else 'xlsx'}", rows, header)
    (tmp_path / "m.yaml").write_text(
        "columns:\n  Ref: case_id\n  Vendor: supplier_id\n  Issue: claim_type\n"
        "  Opened: opened_date\n  Status: outcome\n  Order #: order_id\n".replace(
            "Order #", '"Order #"'
        )
    )
    mapping = Mapping.load(tmp_path / "m.yaml")
    with pytest.raises(BadFile) as refused:
        readers.read_raw(duckdb.connect(), path, mapping)
    message = str(refused.value)
    assert "m.yaml: columns: 'Order #' is not a column of" in message
    assert "(its columns: Ref, Vendor, Category, Issue, Opened, Status," in message
    # without the stray key it loads, header on row 3
    (tmp_path / "m.yaml").write_text(
        "columns:\n  Ref: case_id\n  Vendor: supplier_id\n  Issue: claim_type\n"
        "  Opened: opened_date\n  Status: outcome\n"
    )
    raw = readers.read_raw(duckdb.connect(), path, Mapping.load(tmp_path / "m.yaml"))
    assert raw.header_row == 3 and raw.rows == 1
