"""Concurrent runs: two ingests at once both land; a read started while an ingest writes waits
(bounded, with a message) and then sees the whole load; two runs of one report do not interleave.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from filelock import FileLock

from analysis import metrics, store
from analysis.errors import UserError
from tests.conftest import fetch
from tests.hostile.files import HEADER, csv_text, row

#: make test-fast leaves these out (make test runs them)
pytestmark = pytest.mark.notebook

ROOT = Path(__file__).resolve().parents[1]


def _big_csv(path: Path, prefix: str, n: int) -> Path:
    # n valid cases opened in March 2025, closed with no refund; buyer b<i % 50>
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(",".join(HEADER) + ",buyer_ref\n")
        for i in range(n):
            fh.write(
                f"{prefix}{i},S{i % 40},machinery,quality,2025-03-{1 + i % 28:02d},no_refund,"
                f"{1000 + i % 97},{900 + i % 89},USD,0,2025-04-01,d,buyer-{i % 50}\n"
            )
    return path


def _ingest(path: Path, db: Path, err) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "analysis", "ingest", str(path), "--db", str(db)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=err,
        text=True,
    )


@pytest.mark.slow
def test_two_ingests_at_once_both_land(tmp_path):
    # a fresh store: the two processes also race to create the store and its buyer-key secret
    db = tmp_path / "store" / "cases.duckdb"
    a = _big_csv(tmp_path / "a.csv", "A", 30_000)
    b = _big_csv(tmp_path / "b.csv", "B", 20_000)
    pa = _ingest(a, db, subprocess.PIPE)
    pb = _ingest(b, db, subprocess.PIPE)
    out_a, err_a = pa.communicate(timeout=300)
    out_b, err_b = pb.communicate(timeout=300)
    assert (pa.returncode, pb.returncode) == (0, 0), err_a + err_b
    assert "read 30000 = inserted 30000" in out_a and "read 20000 = inserted 20000" in out_b
    loads = fetch(
        db,
        "SELECT regexp_extract(source_file, '[^/]+$'), rows_read, inserted FROM loads ORDER BY 1",
    )
    assert loads == [("a.csv", 30000, 30000), ("b.csv", 20000, 20000)]
    assert fetch(db, "SELECT count(*) FROM cases") == [(50_000,)]
    # both processes keyed the buyers with the same (non-empty) secret: buyer-7 is one key
    assert fetch(db, "SELECT count(DISTINCT buyer_key) FROM cases") == [(50,)]
    assert all("Traceback" not in e for e in (err_a, err_b))


def _wait_until_locked(db: Path, proc: subprocess.Popen, timeout: float = 60) -> None:
    """Until the ingest holds the store itself (DuckDB refuses a reader: a lock conflict)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        assert proc.poll() is None, "the ingest ended before it was seen holding the store"
        try:
            store.open_duckdb(db, read_only=True).close()
        except duckdb.Error as exc:
            if "lock" in str(exc).lower():
                return  # held by the ingest
            raise
        time.sleep(0.01)
    raise AssertionError("the ingest never took the store")


@pytest.mark.slow
def test_a_read_during_an_ingest_waits_then_sees_the_whole_load(tmp_path, capfd):
    db = tmp_path / "store" / "cases.duckdb"
    first = tmp_path / "first.csv"
    first.write_text(csv_text([row("F1"), row("F2", outcome="full_refund", refund_amount="1000")]))
    subprocess.run(
        [sys.executable, "-m", "analysis", "ingest", str(first), "--db", str(db)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    start, end = dt.date(2025, 3, 1), dt.date(2025, 4, 30)
    before = metrics.outcome_metrics(db, start, end)
    big = _big_csv(tmp_path / "big.csv", "G", 200_000)
    capfd.readouterr()

    proc = _ingest(big, db, subprocess.PIPE)
    _wait_until_locked(db, proc)
    during = metrics.outcome_metrics(db, start, end)  # must wait for the ingest's lock
    waited = capfd.readouterr().err
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert "waiting for another ta-outcomes process to release" in waited
    assert "lock acquired after" in waited
    after = metrics.outcome_metrics(db, start, end)
    # the read saw the store with the whole load in it: not the old one, not a part
    assert during == after
    assert during != before


def test_a_waiting_read_gives_up_after_its_bound_with_one_line(tmp_path):
    db = tmp_path / "cases.duckdb"
    with store.connect(db, read_only=False):
        pass
    # another process holds the store open for writing for a few seconds
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time, duckdb; c = duckdb.connect(sys.argv[1]); print('held', flush=True); "
         "time.sleep(5)", str(db)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        with (
            pytest.raises(UserError, match=rf"still held by PID {holder.pid} .* after 0.3 s"),
            store.connect(db, timeout=0.3),
        ):
            pass
    finally:
        holder.kill()
        holder.wait()
    with store.connect(db) as con:  # free again: it opens at once
        assert con.execute("SELECT count(*) FROM cases").fetchone() == (0,)


def test_first_ingest_never_uses_an_empty_buyer_secret(tmp_path):
    """The key file appears whole (written beside, then linked into place), so a racing first
    ingest never sees it empty; a key file found empty or truncated is damaged and the ingest
    refuses rather than key buyers with a plain hash anyone can recompute."""
    from analysis import ingest
    from analysis.ingest import pseudonym

    db = tmp_path / "store" / "cases.duckdb"
    key = pseudonym.key_path(db)
    key.parent.mkdir(parents=True)
    key.write_text("")  # truncated
    path = tmp_path / "a.csv"
    path.write_text(csv_text([row("Z1")], header=[*HEADER]))
    with pytest.raises(UserError, match="buyer-key file is damaged"):
        ingest.ingest_file(path, db)
    assert not db.exists()


@pytest.mark.slow
def test_two_runs_of_one_report_do_not_interleave(tmp_path):
    """While one run of outcome_report 2025-03 holds the report's lock, a second run waits (with a
    message) and writes nothing; it completes once the first is done."""
    db = tmp_path / "store" / "cases.duckdb"
    src = _big_csv(tmp_path / "c.csv", "R", 200)
    subprocess.run(
        [sys.executable, "-m", "analysis", "ingest", str(src), "--db", str(db)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    out = tmp_path / "reports"
    report_dir = out / "outcome_report" / "2025-03"
    report_dir.mkdir(parents=True)
    first_run = FileLock(str(report_dir / ".lock"))  # stands for a run in progress
    first_run.acquire()
    err_path = tmp_path / "second.err"
    with open(err_path, "w") as err:
        second = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "analysis",
                "report",
                "outcome_report",
                "--period",
                "2025-03",
                "--db",
                str(db),
                "--out",
                str(out),
                "--no-progress",
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
        try:
            t0 = time.monotonic()
            while (
                "another run of outcome_report 2025-03 is in progress" not in err_path.read_text()
            ):
                assert second.poll() is None, err_path.read_text()
                assert time.monotonic() - t0 < 120
                time.sleep(0.05)
            time.sleep(0.5)
            # waiting: nothing of the second run is in the report folder
            assert sorted(p.name for p in report_dir.iterdir()) == [".lock"]
        finally:
            first_run.release()
        stdout, _ = second.communicate(timeout=300)
    assert second.returncode == 0, err_path.read_text()
    assert stdout.strip().endswith("outcome_report_2025-03.html")
    assert (report_dir / "outcome_report_2025-03.html").exists()


def test_an_ingest_during_a_report_waits_and_the_report_reads_one_state(tmp_path, monkeypatch):
    # issue 14: each section opened the store on its own, so one report mixed store states
    # (646 decided cases in metrics.json, 1,046 in the headline, a stamp of yet another store)
    import json
    import threading

    from analysis import settings
    from analysis.publish import command
    from tests.casefactory import build_store, make_case

    monkeypatch.setattr(settings, "notebooks_dir", lambda: ROOT / "tests" / "notebooks")
    db = build_store(tmp_path / "store" / "cases.duckdb", [
        make_case(case_id=f"R{i}", opened_date="2026-10-02", closed_date="2026-10-20")
        for i in range(2)
    ])  # fmt: skip
    trace, out = tmp_path / "trace.txt", tmp_path / "reports"
    hold, err_path = tmp_path / "release", tmp_path / "ingest.err"
    done: dict = {}

    def report() -> None:
        done["code"] = command.main("ok", period="2026-10", db=db, out=out, progress=False,
                                   params=[f"trace_file={trace}", "run_tag=r",
                                           f"hold_file={hold}"])  # fmt: skip

    thread = threading.Thread(target=report)
    thread.start()
    t0 = time.monotonic()
    while not (trace.exists() and "begin r" in trace.read_text()):
        assert time.monotonic() - t0 < 120, "the report never began"
        time.sleep(0.05)
    export = tmp_path / "more.csv"
    export.write_text(csv_text([row("R9", opened_date="2026-10-03", closed_date="2026-10-21")]))
    with err_path.open("w") as err_file:
        ingest = _ingest(export, db, err_file)
        # the report holds its notebook until the ingest is seen waiting (no race on timing)
        while "waiting for another process to close" not in err_path.read_text():
            assert ingest.poll() is None, err_path.read_text()  # it must not land meanwhile
            assert time.monotonic() - t0 < 120, "the ingest never waited"
            time.sleep(0.05)
        hold.touch()
        thread.join(timeout=300)
        ingest.communicate(timeout=300)
    err = err_path.read_text()
    assert done["code"] == 0 and ingest.returncode == 0, err
    report_dir = out / "ok" / "2026-10"
    figures = json.loads((report_dir / "metrics.json").read_text())
    run = json.loads((report_dir / "run.json").read_text())
    notebook = (report_dir / "ok_2026-10.ipynb").read_text()
    # one state: the two cases of the store as the run began, everywhere in the report
    assert figures["overall"]["cases_closed"] == 2 and run["data"]["cases"] == 2
    assert "2 cases closed between 2026-10-01 and 2026-10-31" in notebook
    assert fetch(db, "SELECT count(*) FROM cases") == [(3,)]  # and then the ingest landed
