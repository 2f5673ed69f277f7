"""`ta-outcomes ingest` as a user runs it: exit codes, one-line messages, the printed counts."""

from __future__ import annotations

import subprocess
import sys

from analysis import cli
from tests.conftest import fetch, good_row, write_csv


def test_ingest_prints_counts_and_exits_zero(tmp_path, db, capsys):
    path = write_csv(
        tmp_path / "a.csv",
        [
            good_row("C1", opened_date="2025-03-05", closed_date="2025-04-01"),
            good_row("C2", claim_amount="x", opened_date="2025-03-05"),
        ],
    )
    assert cli.main(["ingest", str(path), "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "a.csv: read 2 = inserted 1 + updated 0 + unchanged 0 + repeats 0 + quarantined 1" in out
    assert fetch(db, "SELECT count(*) FROM cases") == [(1,)]


def test_bad_file_among_good_ones_exits_one_and_names_the_file(tmp_path, db, capsys):
    good = write_csv(
        tmp_path / "1-good.csv",
        [good_row("C1", opened_date="2025-03-05", closed_date="2025-04-01")],
    )
    (tmp_path / "2-bad.csv").write_text("case_id\nX\n")
    assert cli.main(["ingest", str(tmp_path), "--db", str(db)]) == 1
    captured = capsys.readouterr()
    err_lines = [line for line in captured.err.splitlines() if line.strip()]
    # the new store is announced (a mistyped --db must not pass unnoticed), then the one failure
    assert err_lines[0] == f"ta-outcomes ingest: creating a new store at {db}"
    assert len(err_lines) == 2 and "2-bad.csv: required column(s) missing" in err_lines[1]
    assert "1 file(s) FAILED" in captured.out
    assert fetch(db, "SELECT count(*) FROM cases") == [(1,)] and good.exists()


def test_missing_path_and_unsupported_type(tmp_path, db, capsys):
    assert cli.main(["ingest", str(tmp_path / "nope.csv"), "--db", str(db)]) == 1
    assert "nope.csv: no such file or folder" in capsys.readouterr().err
    (tmp_path / "notes.docx").write_text("x")
    assert cli.main(["ingest", str(tmp_path / "notes.docx"), "--db", str(db)]) == 1
    assert "unsupported file type '.docx'" in capsys.readouterr().err


def test_no_traceback_from_the_console_script(tmp_path, db):
    (tmp_path / "empty.csv").write_bytes(b"")
    run = subprocess.run(
        [sys.executable, "-m", "analysis", "ingest", str(tmp_path / "empty.csv"), "--db", str(db)],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 1
    assert run.stderr.strip().endswith("empty.csv: the file is empty")
    lines = run.stderr.strip().splitlines()
    assert "Traceback" not in run.stderr and len(lines) == 2  # "creating a new store", the error
    assert lines[0].startswith("ta-outcomes ingest: creating a new store at ")


def test_a_folder_ingested_again_says_nothing_new_per_file(tmp_path, db, capsys):
    # Issue 28.4: one line per file already loaded, and the total says how many
    raw = tmp_path / "raw"
    raw.mkdir()
    write_csv(raw / "a.csv", [good_row("C1")])
    write_csv(raw / "b.csv", [good_row("C2")])
    assert cli.main(["ingest", str(raw), "--db", str(db)]) == 0
    write_csv(raw / "c.csv", [good_row("C3")])
    capsys.readouterr()
    assert cli.main(["ingest", str(raw), "--db", str(db)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"{raw / 'a.csv'}: nothing new (the same content as a.csv, loaded on ")
    assert out[0].endswith(" as load 1; not read)")
    assert out[1].endswith(" as load 2; not read)")
    assert "c.csv: read 1 = inserted 1 + updated 0" in out[2]
    assert out[3] == (
        "total over 1 file(s): read 1 = inserted 1 + updated 0 + unchanged 0 + repeats 0 + "
        "quarantined 0; 2 file(s) nothing new (not read)"
    )
