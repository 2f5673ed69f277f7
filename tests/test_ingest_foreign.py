"""Exports nobody here wrote: a complaint database's CSV in its own column names, without money
amounts, closing dates or an escalation column, with US dates and columns of its own.

The same export and mapping are the worked example of docs/data-dictionary.md
(``docs/examples/complaints.csv`` and ``complaints.yaml``); this file checks, by hand, what the
ingest makes of them and what the metrics and the report then say.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from analysis import cli, ingest
from analysis.errors import BadFile, BadParameter
from analysis.ingest.mapping import Mapping
from analysis.metrics import Params, change_vs_previous, outcome_metrics
from analysis.report import sections
from tests.casefactory import build_store, make_case
from tests.conftest import TODAY, fetch, good_row, write_csv

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "docs" / "examples"
MONTH = ("2026-03-01", "2026-03-31")


@pytest.fixture
def complaints(tmp_path) -> Path:
    db = tmp_path / "complaints.duckdb"
    results = ingest.ingest_paths(
        [EXAMPLES / "complaints.csv"], db, EXAMPLES / "complaints.yaml", today=TODAY
    )
    (result,) = results
    assert result.ok, result.error
    return db


def test_the_worked_example_loads(complaints):
    (load,) = fetch(
        complaints,
        "SELECT rows_read, inserted, quarantined, field_coverage, extra_columns FROM loads",
    )
    # 8 complaints: 7 load; 'CX8' has neither date and is quarantined
    assert load[:3] == (8, 7, 1)
    coverage = json.loads(load[3])
    # the file carried these (a constant and a fallback count as carried) ...
    assert set(coverage) == {
        "case_id", "supplier_id", "supplier_name", "product_category", "claim_type",
        "opened_date", "outcome", "closed_date", "description",
    }  # fmt: skip
    assert coverage["closed_date"] == 7 and coverage["description"] == 5
    # ... and the rest is kept, under the export's own headers
    assert json.loads(load[4]) == {
        "sub_issue": "Sub-issue", "state": "State", "consumer_disputed": "Consumer disputed?",
    }  # fmt: skip


def test_what_each_mapping_key_did(complaints):
    rows = dict(
        (r[0], r[1:])
        for r in fetch(
            complaints,
            "SELECT case_id, supplier_id, supplier_name, claim_type, outcome, opened_date::VARCHAR, "
            "closed_date::VARCHAR, claim_amount, currency, category, extra FROM cases",
        )
    )
    cx1 = rows["CX1"]
    # Company fills supplier_id and supplier_name; Issue matched a value map
    assert cx1[:4] == ("ACME CORP", "ACME CORP", "quality", "full_refund")
    # US dates, read month first because the column shows it (03/14/2026)
    assert cx1[4] == "2026-03-02"
    # no closing date column: the fallback "Date sent to company"
    assert cx1[5] == "2026-03-09"
    # no amounts, no currency: NULL, never 0
    assert cx1[6:8] == (None, None)
    assert cx1[8] == "other"  # constants: product_category
    assert json.loads(cx1[9]) == {
        "sub_issue": "Wrong amount",
        "state": "CA",
        "consumer_disputed": "No",
    }
    # an issue text in no value map takes the default
    assert rows["CX4"][2] == "other"
    assert rows["CX3"][3] == "no_refund"  # "Closed with explanation"
    assert rows["CX6"][3] == "partial_refund"


def test_metrics_say_not_recorded_and_decide_by_outcome(complaints):
    result = outcome_metrics(complaints, *MONTH, Params(min_n=1))
    assert result["not_recorded"] == [
        "escalated_date", "evidence", "inspection", "decided_by", "received_date", "claim_amount",
    ]  # fmt: skip
    o = result["overall"]
    # closed in March: CX1 full refund, CX2 and CX3 no refund, CX5 replacement, CX6 a partial
    # refund without amounts (undetermined), CX7 withdrawn; CX4 is open.
    assert (o["cases_closed"], o["decided"], o["undetermined"], o["lapsed"]) == (6, 4, 1, 1)
    # supplier-sided by outcome alone: the two refusals of 4 decided
    assert (o["supplier_sided"], o["supplier_sided_rate"]) == (2, 0.5)
    # money and escalation were not recorded: null, never 0 or 0%
    for name in ("claimed_usd", "refunded_usd", "refund_ratio_pooled", "escalated",
                 "escalation_rate", "claimed_usd_closed"):  # fmt: skip
        assert o[name] is None, name
    assert result["buyer_outcomes"]["undetermined"] == 1
    assert result["buyer_outcomes"]["money_back"] == 1 and result["buyer_outcomes"]["nothing"] == 2
    # no test is run on a figure that was not recorded
    change = change_vs_previous(complaints, "2026-03", Params(min_n=1)).set_index("metric")
    assert (
        change.loc["escalation_rate", "p_value"] is None
        or change["p_value"].isna()["escalation_rate"]
    )
    assert not change.loc["escalation_rate", "comparable"]


def test_the_report_says_not_recorded(complaints):
    ctx = sections.open_report(db=complaints, period="2026-03", min_n=1)
    headline = sections.headline(ctx).frame.set_index("Figure")
    assert headline.loc["Escalation rate", "2026-03"] == "not recorded"
    assert headline.loc["Escalation rate", "Test"] == "not tested: not recorded in these exports"
    assert (
        headline.loc["Refunded of claimed, monetary decisions (USD)", "2026-03"] == "not recorded"
    )
    by = sections.outcomes_by(ctx, ["escalated", "evidence"], which="period").frame
    assert by["Group"].tolist() == [
        "not recorded (escalated_date not in these exports)",
        "not recorded (evidence not in these exports)",
    ]
    funnel = sections.funnel(ctx).frame
    assert set(funnel["Escalated"]) == {"not recorded"}
    coverage = sections.data_quality(ctx)["field_coverage"].frame.set_index("Field")
    assert coverage.loc["escalated_date", "Loads that carried it"] == "not recorded"
    assert coverage.loc["closed_date", "Loads that carried it"] == "1 of 1"


def test_the_load_line_names_the_store_and_the_reasons(tmp_path, capsys):
    db = tmp_path / "new.duckdb"
    code = cli.main(["ingest", str(EXAMPLES / "complaints.csv"), "--db", str(db), "--mapping",
                     str(EXAMPLES / "complaints.yaml")])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0
    assert err.splitlines()[0] == f"ta-outcomes ingest: creating a new store at {db}"
    assert f"(load 1 into {db})" in out
    assert (
        "quarantined for: closed_date: missing for final outcome (1); opened_date: missing (1)]"
        in out
    )
    # a second load into the existing store says nothing about creating one
    cli.main(["ingest", str(EXAMPLES / "complaints.csv"), "--db", str(db), "--mapping",
              str(EXAMPLES / "complaints.yaml")])  # fmt: skip
    assert "creating" not in capsys.readouterr().err


def test_real_exports_are_refused_by_a_demo_store(tmp_path):
    db = build_store(tmp_path / "demo.duckdb", [make_case(is_synthetic=True)],
                     meta={"contains_synthetic": "true"})  # fmt: skip
    export = write_csv(tmp_path / "real.csv", [good_row("R1")])
    with pytest.raises(BadParameter) as err:
        ingest.ingest_file(export, db, today=TODAY)
    assert str(err.value) == (
        f"{db} holds the synthetic demo cases; loading real exports into it would mix them (and "
        "label them synthetic). Use another --db, or `make clean-demo` first; --allow-mixed "
        "loads them anyway"
    )
    assert fetch(db, "SELECT count(*) FROM cases") == [(1,)]
    assert ingest.ingest_file(export, db, today=TODAY, allow_mixed=True).inserted == 1
    assert cli.main(["ingest", str(export), "--db", str(db)]) == 2  # the CLI: one line, exit 2


def test_supplier_aliases_are_applied(tmp_path):
    reference = tmp_path / "reference"
    shutil.copytree(ROOT / "data" / "reference", reference)
    (reference / "supplier_aliases.csv").write_text(
        "alias,supplier_id\nAcme Corp.,SUP-1\nACME  corporation,SUP-1\n"
    )
    rows = [good_row("A1", supplier_id="acme corp"), good_row("A2", supplier_id="Acme Corporation"),
            good_row("A3", supplier_id="Other Ltd")]  # fmt: skip
    db = tmp_path / "a.duckdb"
    ingest.ingest_file(
        write_csv(tmp_path / "a.csv", rows), db, today=TODAY, reference_dir=reference
    )
    assert fetch(db, "SELECT case_id, supplier_id FROM cases ORDER BY 1") == [
        ("A1", "SUP-1"), ("A2", "SUP-1"), ("A3", "Other Ltd"),
    ]  # fmt: skip
    (reference / "supplier_aliases.csv").write_text("alias,supplier_id\nAcme,SUP-1\nACME,SUP-2\n")
    with pytest.raises(BadFile, match=r"lines 2 and 3: the aliases 'Acme' \(SUP-1\) and 'ACME' "
                       r"\(SUP-2\) are one alias"):  # fmt: skip
        ingest.ingest_file(write_csv(tmp_path / "b.csv", rows), tmp_path / "b.duckdb",
                           today=TODAY, reference_dir=reference)  # fmt: skip


def _reference_with_aliases(tmp_path: Path, text: str | bytes) -> Path:
    reference = tmp_path / "reference"
    shutil.copytree(ROOT / "data" / "reference", reference, dirs_exist_ok=True)
    target = reference / "supplier_aliases.csv"
    target.write_bytes(text if isinstance(text, bytes) else text.encode())
    return reference


@pytest.mark.parametrize(
    ("aliases", "message"),
    [
        # issue 24.3: a chain moved V0's cases onto V1 and V1's onto V2; a cycle swapped them
        ("alias,supplier_id\nV0,V1\nv1.,V2\n",
         "lines 2 and 3: a chain: 'V0' -> V1 and 'v1.' -> V2; aliases are applied once"),
        ("alias,supplier_id\nV1,V2\nV2,V1\n",
         "lines 2 and 3: a cycle: 'V1' -> V2 and 'V2' -> V1; aliases are applied once"),
        # two spellings of one alias (even for the same supplier) doubled the rows: exit 70
        ("alias,supplier_id\nAcme Corp.,SUP-1\nACME corp,SUP-1\n",
         "lines 2 and 3: the aliases 'Acme Corp.' (SUP-1) and 'ACME corp' (SUP-1) are one alias"),
        # an unquoted comma in a company name made a new supplier
        ("alias,supplier_id\nAcme, Inc.,SUP-1\n",
         "line 2: 3 fields where the header has 2 (a name holding a comma must be in double quotes)"),
        ("alias,supplier_id\nAcme\n", "line 2: 1 fields where the header has 2"),
        # issue 24.2: '?' had the key of a blank supplier_id, which became SUP-1
        ("alias,supplier_id\n?,SUP-1\n",
         "line 2: alias '?' has no letter or digit, so it would match a blank supplier_id"),
        ("alias,supplier_id\nN/A,SUP-1\n",
         "alias 'N/A' is how an export writes a blank (not recorded), and a blank supplier_id is "
         "never an alias"),
    ],
)  # fmt: skip
def test_supplier_aliases_that_would_move_cases_are_refused(tmp_path, aliases, message):
    reference = _reference_with_aliases(tmp_path, aliases)
    rows = [good_row("A1", supplier_id="V1"), good_row("A2", supplier_id="V2")]
    with pytest.raises(BadFile) as err:
        ingest.ingest_file(write_csv(tmp_path / "a.csv", rows), tmp_path / "a.duckdb",
                           today=TODAY, reference_dir=reference)  # fmt: skip
    assert message in str(err.value) and "supplier_aliases.csv" in str(err.value)
    assert not (tmp_path / "a.duckdb").exists()


def test_supplier_aliases_with_a_bom_are_read_and_a_blank_never_matches(tmp_path):
    # issue 24.3: a spreadsheet's "CSV UTF-8" starts with a BOM: it was "needs the columns"
    # issue 24.2: the alias 'N-A' has the key of the blank marker 'n/a', which it used to match
    reference = _reference_with_aliases(
        tmp_path, b'\xef\xbb\xbfalias,supplier_id\r\n"Acme, Inc.",SUP-1\r\nN-A,SUP-2\r\n'
    )
    rows = [good_row("A1", supplier_id="acme inc"), good_row("A2", supplier_id="n/a"),
            good_row("A3", supplier_id="n-a")]  # fmt: skip
    db = tmp_path / "a.duckdb"
    result = ingest.ingest_file(
        write_csv(tmp_path / "a.csv", rows), db, today=TODAY, reference_dir=reference
    )
    assert (result.inserted, result.quarantined) == (2, 1)
    assert fetch(db, "SELECT case_id, supplier_id FROM cases ORDER BY 1") == [
        ("A1", "SUP-1"), ("A3", "SUP-2"),
    ]  # fmt: skip
    assert fetch(db, "SELECT case_id, reason FROM quarantine") == [("A2", "supplier_id: missing")]


def test_an_alias_cycle_is_one_line_exit_1_and_the_store_unchanged(tmp_path, monkeypatch, capsys):
    db = tmp_path / "store" / "a.duckdb"
    assert cli.main(["ingest", str(write_csv(tmp_path / "a.csv", [good_row("A1")])),
                     "--db", str(db)]) == 0  # fmt: skip
    before = db.read_bytes()
    capsys.readouterr()
    monkeypatch.setenv(
        "TA_OUTCOMES_REFERENCE",
        str(_reference_with_aliases(tmp_path, "alias,supplier_id\nS1,S2\nS2,S1\n")),
    )
    export = write_csv(tmp_path / "b.csv", [good_row("B1", supplier_id="S1")])
    assert cli.main(["ingest", str(export), "--db", str(db)]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "supplier_aliases.csv: lines 2 and 3: a cycle" in err
    assert db.read_bytes() == before


def test_a_mapping_naming_a_column_the_file_lacks_is_refused_before_anything_loads(tmp_path):
    mapping = tmp_path / "m.yaml"
    mapping.write_text("columns:\n  Compnay: supplier_id\n")
    db = tmp_path / "x.duckdb"
    results = ingest.ingest_paths([EXAMPLES / "complaints.csv"], db, mapping, today=TODAY)
    assert results[0].error.startswith(
        f"{mapping}: columns: 'Compnay' is not a column of complaints.csv"
    )
    assert results[0].error.endswith("closest: 'Company'")
    assert not db.exists()


def test_value_map_keys_are_the_files_text(tmp_path):
    # `Yes:` in YAML is the word Yes (349 of 349 rows were quarantined when it was a boolean)
    mapping = tmp_path / "m.yaml"
    mapping.write_text("values:\n  outcome:\n    Yes: full_refund\n    No: no_refund\n")
    rows = [good_row("Y1", outcome="Yes", refund_amount="1000"), good_row("Y2", outcome="No")]
    db = tmp_path / "y.duckdb"
    result = ingest.ingest_file(write_csv(tmp_path / "y.csv", rows), db, Mapping.load(mapping),
                                today=TODAY)  # fmt: skip
    assert (result.inserted, result.quarantined) == (2, 0)
    assert fetch(db, "SELECT outcome FROM cases ORDER BY case_id") == [
        ("full_refund",),
        ("no_refund",),
    ]


def test_a_file_without_amounts_loads_with_null_amounts(tmp_path):
    header = ["case_id", "supplier_id", "product_category", "claim_type", "opened_date", "outcome",
              "closed_date"]  # fmt: skip
    rows = [good_row("N1"), good_row("N2", outcome="full_refund")]
    db = tmp_path / "n.duckdb"
    result = ingest.ingest_file(write_csv(tmp_path / "n.csv", rows, header), db, today=TODAY)
    assert (result.inserted, result.quarantined) == (2, 0)
    assert fetch(db, "SELECT claim_amount, order_value, currency, claim_usd FROM cases") == [
        (None, None, None, None), (None, None, None, None),
    ]  # fmt: skip


def test_a_closed_pipe_ends_quietly(complaints):
    # `ta-outcomes metrics --format table | head -1` ended with "internal error (BrokenPipeError)"
    run = subprocess.run(
        f"{sys.executable} -m analysis metrics --db {complaints} --start 2026-03-01 "
        "--end 2026-03-31 --format table | head -1",
        shell=True, capture_output=True, text=True, cwd=ROOT, check=False,
    )  # fmt: skip
    assert run.stdout.startswith("Trade Assurance dispute outcomes, 2026-03-01 to 2026-03-31")
    assert "Error" not in run.stderr and "internal error" not in run.stderr


# --- issue 28: a tracker as a spreadsheet exports it -----------------------------------------
# docs/examples/harbour-tracker-2026-12-01.csv: a title row and a blank row above the header,
# its own column names, an "Escalated?" yes/no column, evidence as yes/no columns, a TOTAL row;
# docs/examples/harbour-tracker.yaml was written from the data dictionary alone. The workbook is
# the same sheet as Excel keeps it (typed dates and amounts, a TRUE cell), with a second sheet.

HARBOUR = EXAMPLES / "harbour-tracker-2026-12-01.csv"
HARBOUR_MAP = EXAMPLES / "harbour-tracker.yaml"
HARBOUR_TODAY = dt.date(2026, 12, 7)
#: the sheet's "Escalated?" column, read by hand: yes for these, no or blank for HS-102, 104,
#: 106, 107, 110; HS-111 says "?" (quarantined); the TOTAL row is no case
ESCALATED_IN_THE_SHEET = {"HS-101", "HS-103", "HS-105", "HS-108", "HS-109"}


def _harbour_xlsx(path: Path) -> Path:
    import csv

    import openpyxl

    with open(HARBOUR, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    header = rows[2]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Tracker"
    ws.append([rows[0][0]])
    ws.append([])
    ws.append(header)
    for row in rows[3:]:
        cells: list = []
        for name, text in zip(header, row, strict=True):
            if name in ("Opened", "Closed") and text:
                cells.append(dt.datetime.strptime(text, "%d/%m/%Y"))
            elif name in ("Order value", "Claimed", "Refunded") and text:
                cells.append(float(text.replace("$", "").replace(",", "")))
            elif name == "Escalated?" and text == "TRUE":
                cells.append(True)  # Excel's boolean cell
            else:
                cells.append(text or None)
        ws.append(cells)
    summary = wb.create_sheet("Summary")
    summary.append(["Open disputes", 3])
    summary.append(["Escalated", 5])
    wb.save(path)
    return path


def _harbour_cases(db: Path) -> list[tuple]:
    return fetch(
        db,
        "SELECT case_id, order_id, supplier_id, category, claim_type, outcome, escalated, "
        "escalated_date, evidence, order_value, claim_amount, refund_amount, opened_date, "
        "closed_date, description, extra FROM cases ORDER BY case_id",
    )


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_tracker_with_title_rows_loads_unedited(fmt, tmp_path):
    path = HARBOUR if fmt == "csv" else _harbour_xlsx(tmp_path / "harbour-tracker-2026-12-01.xlsx")
    db = tmp_path / "harbour.duckdb"
    (r,) = ingest.ingest_paths([path], db, HARBOUR_MAP, today=HARBOUR_TODAY)
    assert r.ok, r.error
    line = ingest.format_result(r)
    assert "[header on row 3 (detected; rows 1-2 above it skipped: not records) | " in line
    assert "as of 2026-12-01 (the date in the file's name)" in line
    # 12 records below the header: 10 cases, HS-111's "?" and the TOTAL row quarantined
    assert (r.rows_read, r.inserted, r.quarantined) == (12, 10, 2)
    reasons = dict(fetch(db, "SELECT row_number, reason FROM quarantine"))
    assert reasons[11] == "escalated: not a yes or no '?'"
    assert reasons[12].startswith("supplier_id: missing; product_category: missing")
    # escalation counts match the sheet; no date is made up for them
    escalated = fetch(db, "SELECT case_id, escalated_date FROM cases WHERE escalated")
    assert {c for c, _ in escalated} == ESCALATED_IN_THE_SHEET
    assert all(day is None for _, day in escalated)
    result = outcome_metrics(db, "2026-01-01", "2026-11-30", Params(min_n=1))
    assert "escalated_date" not in result["not_recorded"]
    # closed: HS-101, 102, 103, 105, 106, 107, 108, 109; escalated among them: 5 of 8
    assert (result["overall"]["cases_closed"], result["overall"]["escalated"]) == (8, 5)
    assert result["overall"]["escalation_rate"] == 5 / 8
    cases = {c[0]: c for c in _harbour_cases(db)}
    assert cases["HS-101"][8] == ["inspection_report", "photos"]  # both flags yes
    assert cases["HS-102"][8] is None  # both no
    assert cases["HS-103"][9:12] == (Decimal("4300.00"), Decimal("4300.00"), Decimal("150.00"))
    assert cases["HS-103"][12:14] == (dt.date(2026, 3, 14), dt.date(2026, 4, 20))
    assert all(c[15] is None for c in cases.values())  # every column mapped: nothing extra


def test_the_workbook_and_the_csv_give_the_same_cases(tmp_path):
    csv_db, xlsx_db = tmp_path / "c.duckdb", tmp_path / "x.duckdb"
    ingest.ingest_paths([HARBOUR], csv_db, HARBOUR_MAP, today=HARBOUR_TODAY)
    xlsx = _harbour_xlsx(tmp_path / "harbour-tracker-2026-12-01.xlsx")
    ingest.ingest_paths([xlsx], xlsx_db, HARBOUR_MAP, today=HARBOUR_TODAY)
    assert _harbour_cases(csv_db) == _harbour_cases(xlsx_db)


def test_a_tracker_folder_loaded_twice_loads_nothing_the_second_time(tmp_path, capsys):
    from analysis.metrics import provenance

    folder = tmp_path / "raw"
    folder.mkdir()
    shutil.copy(HARBOUR, folder)
    _harbour_xlsx(folder / "harbour-tracker-2026-12-01.xlsx")
    db = tmp_path / "harbour.duckdb"
    first = ingest.ingest_paths([folder], db, HARBOUR_MAP, today=HARBOUR_TODAY)
    # the workbook holds the same cases: unchanged
    assert [(r.inserted, r.unchanged, r.seen_before) for r in first] == [
        (10, 0, None),
        (0, 10, None),
    ]
    as_of, loads, before = (
        provenance.as_of(db),
        fetch(db, "SELECT count(*) FROM loads"),
        db.read_bytes(),
    )
    assert as_of == dt.date(2026, 12, 1)
    again = ingest.ingest_paths([folder], db, HARBOUR_MAP, today=HARBOUR_TODAY)
    assert [(r.ok, r.inserted, r.unchanged) for r in again] == [(True, 0, 0), (True, 0, 0)]
    assert all(r.seen_before for r in again)
    assert ingest.format_result(again[0]).endswith(" as load 1; not read)")
    assert provenance.as_of(db) == as_of and fetch(db, "SELECT count(*) FROM loads") == loads
    assert db.read_bytes() == before
