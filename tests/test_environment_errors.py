"""A machine that refuses is not a bug (issue 14): a full disk, an --out that cannot be written.

Each case gives one line naming the path and the cause, exit 74, a truthful run.json, and the
notify command run with the failure. The full disk is a real one: a small tmpfs mounted for the
test (the sandbox and CI run as root); where mounting is not allowed, the same guarantees are
checked with the disk error injected where the writes happen.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from analysis import cli, errors, settings
from analysis.publish import runner
from tests.casefactory import build_store, make_case
from tests.conftest import HEADER, fetch, good_row, write_csv

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "tests" / "notebooks"


@contextlib.contextmanager
def small_disk(path: Path, size: str = "2000k"):
    """A tmpfs of ``size`` at ``path``; None when this machine does not allow mounting.

    The size holds a store with a case or two and its WAL, not the 30,000-row file: a store of
    schema 5 is one 256 KB block larger than before (its suppliers table), so 1500k became
    2000k."""
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True)  # fmt: skip
    if done.returncode != 0:
        yield None
        return
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def _many_rows(path: Path, n: int) -> Path:
    rows = [
        good_row(f"C{i}", supplier_id=f"S{i % 50}", description="x" * (10 + i % 50))
        for i in range(n)
    ]
    return write_csv(path, rows, [*HEADER, "description"])


def test_a_full_disk_during_an_ingest_is_one_line_and_the_next_ingest_works(
    tmp_path, capsys, monkeypatch
):
    with small_disk(tmp_path / "disk") as disk:
        if disk is None:  # no mount here: the commit fails as DuckDB fails it on a full disk
            disk = tmp_path / "disk"
            from analysis.ingest import load

            def full(con, state):
                raise __import__("duckdb").IOException(
                    f'IO Error: Could not write file "{disk}/cases.duckdb.wal": No space left on device'
                )

            monkeypatch.setattr(load.pseudonym, "apply", full)
        db = disk / "cases.duckdb"
        assert (
            cli.main(
                ["ingest", str(write_csv(tmp_path / "a.csv", [good_row("A1")])), "--db", str(db)]
            )
            == 0
        )
        capsys.readouterr()
        code = cli.main(["ingest", str(_many_rows(tmp_path / "big.csv", 30_000)), "--db", str(db)])
        err = capsys.readouterr().err.strip()
        assert code == 74, err
        assert len(err.splitlines()) == 1 and "No space left on device" in err
        assert "internal error" not in err and "cannot rollback" not in err
        monkeypatch.undo()
        # room again (the big file never made it in): the next load works and the counts add up
        code = cli.main(
            ["ingest", str(write_csv(tmp_path / "b.csv", [good_row("B1")])), "--db", str(db)]
        )
        assert code == 0, capsys.readouterr().err
        assert fetch(db, "SELECT case_id FROM cases ORDER BY 1") == [("A1",), ("B1",)]
        assert fetch(db, "SELECT count(*) FROM loads") == [(2,)]


@pytest.fixture
def report_store(tmp_path) -> Path:
    cases = [make_case(outcome="no_refund", opened_date="2026-10-02", closed_date="2026-10-20")]
    return build_store(tmp_path / "store" / "cases.duckdb", cases)


def _report(db: Path, out: Path, *extra: str) -> list[str]:
    return ["report", "ok", "--period", "2026-10", "--db", str(db), "--out", str(out),
            "--no-progress", *extra]  # fmt: skip


def _notify(tmp_path: Path) -> tuple[str, Path]:
    record = tmp_path / "notified.json"
    script = tmp_path / "notify.py"
    script.write_text(
        "import json, os, sys; json.dump({'argv': sys.argv[1:], 'error': os.environ['TA_REPORT_ERROR']}, "
        f"open({str(record)!r}, 'w'))"
    )
    return f"{sys.executable} {script}", record


@pytest.mark.parametrize("kind", ["a file", "under /proc"])
def test_an_out_that_cannot_be_made_is_one_line_naming_it(
    kind, report_store, tmp_path, capsys, monkeypatch
):
    monkeypatch.setattr(settings, "notebooks_dir", lambda: NOTEBOOKS)
    out = tmp_path / "reports.txt" if kind == "a file" else Path("/proc/nope")
    if kind == "a file":
        out.write_text("not a folder")
    notify_cmd, record = _notify(tmp_path)
    code = cli.main(_report(report_store, out, "--notify-cmd", notify_cmd))
    err = capsys.readouterr().err.strip()
    assert code == 74 and len(err.splitlines()) == 1, err
    assert f"--out {out}: cannot create the report folder {out}/ok/2026-10" in err
    assert "internal error" not in err
    notified = json.loads(record.read_text())
    assert notified["argv"][0] == "failed" and str(out) in notified["error"]


@pytest.mark.notebook
def test_a_full_disk_while_publishing_records_the_failure_and_tells_the_scheduler(
    report_store, tmp_path, capsys, monkeypatch
):
    # issue 14: run.json still said "ok" and --notify-cmd never ran
    monkeypatch.setattr(settings, "notebooks_dir", lambda: NOTEBOOKS)
    out = tmp_path / "reports"
    assert cli.main(_report(report_store, out)) == 0  # a good run first: run.json says ok
    capsys.readouterr()
    real = runner.write_atomic

    def disk_full(path, text):
        if Path(path).name == "metrics.json":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real(path, text)

    monkeypatch.setattr(runner, "write_atomic", disk_full)
    notify_cmd, record = _notify(tmp_path)
    code = cli.main(_report(report_store, out, "--notify-cmd", notify_cmd))
    err = capsys.readouterr().err.strip()
    metrics_json = out / "ok" / "2026-10" / "metrics.json"
    assert code == 74 and len(err.splitlines()) == 1, err
    assert f"cannot write {metrics_json}: No space left on device" in err
    run = json.loads((out / "ok" / "2026-10" / "run.json").read_text())
    assert run["status"] == "failed" and "No space left on device" in run["error"]
    assert run["last_good"]["html"] == "ok_2026-10.html"  # the last good report is kept
    notified = json.loads(record.read_text())
    assert notified["argv"][0] == "failed" and "No space left on device" in notified["error"]


def test_environment_problem_names_the_path_and_the_cause():
    exc = OSError(errno.EROFS, os.strerror(errno.EROFS), "/mnt/ro/x.html")
    assert (
        str(errors.environment_problem(exc)) == "cannot write /mnt/ro/x.html: Read-only file system"
    )
    assert errors.environment_problem(ValueError("x")) is None


def _as_a_user_who_cannot_write(folder: Path) -> list[str] | None:
    """The command prefix that runs a process unable to write ``folder`` (mode 0555): as root,
    every capability that bypasses file permissions dropped with setpriv; None where neither
    works (then the test is skipped, saying why)."""
    if os.geteuid() != 0:
        return []
    prefix = ["setpriv", "--inh-caps=-all", "--bounding-set=-all", "--"]
    probe = subprocess.run([*prefix, "touch", str(folder / "probe")], capture_output=True)
    return prefix if probe.returncode != 0 else None


def test_a_store_folder_that_cannot_be_written_is_one_line_exit_74(tmp_path):
    # issue 24.12: the lock file exists, the folder cannot be written: DuckDB cannot create the
    # store. It was "cannot open as a DuckDB case store" (as if the file were foreign), exit 2.
    folder = tmp_path / "store"
    folder.mkdir()
    (folder / "cases.duckdb.lock").touch()
    folder.chmod(0o555)
    export = write_csv(tmp_path / "a.csv", [good_row("A1")])
    try:
        prefix = _as_a_user_who_cannot_write(folder)
        if prefix is None:
            pytest.skip("this machine lets the test's user write a folder of mode 0555")
        run = subprocess.run(
            [*prefix, sys.executable, "-m", "analysis", "ingest", str(export),
             "--db", str(folder / "cases.duckdb")],
            cwd=ROOT, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    finally:
        folder.chmod(0o755)
    lines = [
        line
        for line in run.stderr.splitlines()
        if not line.startswith("ta-outcomes ingest: creating")
    ]
    assert run.returncode == 74, run.stderr
    assert len(lines) == 1 and "Traceback" not in run.stderr, run.stderr
    assert f"cannot open {folder / 'cases.duckdb'}" in lines[0]
    assert "Permission denied" in lines[0]
    assert lines[0].endswith("; check this user's permissions on it and its folder")
    assert sorted(p.name for p in folder.iterdir()) == ["cases.duckdb.lock"]
