"""analysis.store.connection: readers and writers sharing a store, and what is never opened.

The processes that hold a store here are real ones (a short Python child holding a DuckDB
connection), because DuckDB's file locks are per process.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from analysis import cli, store
from analysis.errors import UserError
from tests.casefactory import build_store, make_case
from tests.conftest import fetch, good_row, write_csv
from tests.readonly import unwritable_store

ROOT = Path(__file__).resolve().parents[1]


def _holder(db: Path, read_only: bool, seconds: float) -> subprocess.Popen:
    """A child process that holds ``db`` open (read-only or for writing) for ``seconds``."""
    proc = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time, duckdb; "
         "c = duckdb.connect(sys.argv[1], read_only=sys.argv[2] == '1'); "
         "c.execute('SELECT count(*) FROM cases').fetchone(); print('held', flush=True); "
         "time.sleep(float(sys.argv[3]))",
         str(db), "1" if read_only else "0", str(seconds)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout.readline().strip() == "held"
    return proc


@pytest.fixture
def small_store(tmp_path) -> Path:
    return build_store(tmp_path / "s" / "cases.duckdb", [make_case(case_id="A")])


def test_readers_take_no_lock_file(small_store):
    Path(f"{small_store}.lock").unlink()  # left by the writer that built the store
    with store.connect(small_store) as con:
        assert con.execute("SELECT count(*) FROM cases").fetchone() == (1,)
    assert not Path(f"{small_store}.lock").exists()


def test_readers_run_beside_each_other(small_store):
    holder = _holder(small_store, read_only=True, seconds=3)
    try:
        t0 = time.monotonic()
        with store.connect(small_store, timeout=2) as con:  # no wait for another reader
            assert con.execute("SELECT count(*) FROM cases").fetchone() == (1,)
        assert time.monotonic() - t0 < 1.5
    finally:
        holder.kill()
        holder.wait()


def test_a_store_the_user_cannot_write_can_be_read(small_store):
    # issue 14: every read opened <db>.lock for writing, so a read-only store failed (exit 70).
    # Run `ta-outcomes metrics` as a process that cannot write the store, its folder or a lock
    # file beside it (issue 32: by permissions, so it runs wherever the checkout lives).
    with unwritable_store(small_store) as target:
        result = target.run(
            [sys.executable, "-m", "analysis", "metrics", "--db", str(target.db),
             "--start", "2026-01-01", "--end", "2026-01-31"],
            cwd=ROOT,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert '"cases_opened": 1' in result.stdout
        assert sorted(p.name for p in target.folder.iterdir()) == ["cases.duckdb"]


def test_a_writer_waits_for_a_reader_then_lands(small_store, tmp_path, capfd):
    # issue 15: a notebook's read-only connection made the next ingest fail at once (exit 1)
    holder = _holder(small_store, read_only=True, seconds=2)
    try:
        export = write_csv(tmp_path / "b.csv", [good_row("B1")])
        code = cli.main(["ingest", str(export), "--db", str(small_store)])
    finally:
        holder.kill()
        holder.wait()
    err = capfd.readouterr().err
    assert code == 0, err
    assert f"waiting for another process to close {small_store} (PID {holder.pid} " in err
    assert "restart that kernel" in err and "lock acquired after" in err
    assert fetch(small_store, "SELECT count(*) FROM cases") == [(2,)]


def test_a_writer_gives_up_with_one_line_and_changes_nothing(
    small_store, tmp_path, capfd, monkeypatch
):
    monkeypatch.setenv("TA_OUTCOMES_LOCK_TIMEOUT", "1")
    before = small_store.read_bytes()
    holder = _holder(small_store, read_only=True, seconds=8)
    try:
        export = write_csv(tmp_path / "b.csv", [good_row("B1")])
        code = cli.main(["ingest", str(export), "--db", str(small_store)])
    finally:
        holder.kill()
        holder.wait()
    err = capfd.readouterr().err.strip().splitlines()
    assert code == 75
    assert err[-1].startswith(
        f"ta-outcomes ingest: {small_store}: still held by PID {holder.pid} ("
    )
    assert err[-1].endswith(
        "after 1 s; close that connection (con.close(); a report notebook: run its last cell) "
        "or restart that notebook's kernel, then run this again; the store is unchanged"
    )
    assert small_store.read_bytes() == before


def test_a_foreign_duckdb_file_is_refused_unchanged(tmp_path, capsys):
    # issue 14: pointed at another DuckDB database, ingest created its tables inside it, even
    # when the input file itself was refused as empty
    db = tmp_path / "theirs.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE invoices (n INTEGER); INSERT INTO invoices VALUES (1)")
    con.close()
    before = db.read_bytes()
    (tmp_path / "empty.csv").write_text("")
    for export in (write_csv(tmp_path / "a.csv", [good_row("A1")]), tmp_path / "empty.csv"):
        code = cli.main(["ingest", str(export), "--db", str(db)])
        err = capsys.readouterr().err.strip()
        assert code == 2 and len(err.splitlines()) == 1, err
        assert (
            f"{db}: a DuckDB database that is not a ta-outcomes case store (it holds the table(s) invoices)"
            in err
        )
        assert db.read_bytes() == before
    assert fetch(db, "SELECT table_name FROM duckdb_tables()") == [("invoices",)]


def test_a_sqlite_file_is_refused_without_fetching_an_extension(tmp_path, capsys, monkeypatch):
    # issue 14: DuckDB tried to download its sqlite extension over the network
    db = tmp_path / "cases.sqlite"
    sqlite3.connect(db).execute("CREATE TABLE t (x)").connection.commit()
    monkeypatch.setenv("HOME", str(tmp_path))  # no extension cache to fall back on
    before = db.read_bytes()
    code = cli.main(["metrics", "--db", str(db), "--start", "2026-01-01", "--end", "2026-01-31"])
    err = capsys.readouterr().err.strip()
    assert (
        code == 2
        and err == f"ta-outcomes metrics: {db}: a SQLite database, not a DuckDB case store"
    )
    assert db.read_bytes() == before
    assert not (tmp_path / ".duckdb").exists()


def test_every_connection_has_extension_autoloading_off(small_store):
    with store.connect(small_store) as con:
        settings = dict(
            con.execute(
                "SELECT name, value FROM duckdb_settings() WHERE name IN "
                "('autoload_known_extensions', 'autoinstall_known_extensions')"
            ).fetchall()
        )
    assert settings == {
        "autoload_known_extensions": "false",
        "autoinstall_known_extensions": "false",
    }


def test_a_new_store_is_not_left_behind_when_its_first_file_is_refused(tmp_path, capsys):
    db = tmp_path / "new" / "cases.duckdb"
    (tmp_path / "empty.csv").write_text("")
    assert cli.main(["ingest", str(tmp_path / "empty.csv"), "--db", str(db)]) == 1
    assert not db.exists() and not Path(f"{db}.wal").exists()
    assert not (db.parent / ".ta-outcomes-buyer.key").exists()


def test_a_missing_store_is_one_line_saying_how_to_make_one(tmp_path):
    with pytest.raises(UserError, match=r"no case store here yet. Create it with `make demo`"):
        with store.connect(tmp_path / "none.duckdb"):
            pass


# -- a run's reader (analysis.store.Reader) ------------------------------------------------------


def test_a_reader_opens_the_store_once_and_each_query_has_its_own_connection(small_store):
    reader = store.Reader(small_store)
    assert not reader.is_open  # opened by its first use
    with store.connect(reader) as first:
        first.execute("CREATE TEMP TABLE mine AS SELECT 1 AS x")
    assert reader.is_open
    opened = reader._con
    with store.connect(reader) as second:
        assert second is not first and second is not opened
        # the first connection's temp table went with it: nothing carries over between queries
        assert second.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'mine'"
        ).fetchone() == (0,)
        assert second.execute("SELECT case_id FROM cases").fetchall() == [("A",)]
    assert reader._con is opened  # the same connection served both
    reader.close()
    assert not reader.is_open


def test_a_closed_reader_lets_a_writer_in_and_opens_again_when_used(small_store):
    reader = store.Reader(small_store).open()
    reader.close()
    # closed for real: another process can write the store now
    writer = _holder(small_store, read_only=False, seconds=0)
    writer.wait()
    assert writer.returncode == 0
    with store.connect(reader) as con:  # a notebook cell run again after the report's end
        assert con.execute("SELECT count(*) FROM cases").fetchone() == (1,)
    assert reader.is_open
    reader.close()


def test_an_ingest_beside_an_open_reader_waits_until_it_is_closed_then_lands(small_store, tmp_path):
    export = write_csv(tmp_path / "b.csv", [good_row("B1")])
    err = tmp_path / "ingest.err"
    with store.Reader(small_store) as reader, err.open("w") as stderr:
        ingest = subprocess.Popen(
            [sys.executable, "-m", "analysis", "ingest", str(export), "--db", str(small_store)],
            stderr=stderr, stdout=subprocess.DEVNULL, cwd=ROOT,
            env={**os.environ, "TA_OUTCOMES_LOCK_TIMEOUT": "60"},
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while "waiting for another process" not in err.read_text() and time.monotonic() < deadline:
            assert ingest.poll() is None, err.read_text()
            time.sleep(0.05)
        with store.connect(reader) as con:  # the reader still reads the one state it opened
            assert con.execute("SELECT count(*) FROM cases").fetchone() == (1,)
    assert ingest.wait(timeout=120) == 0, err.read_text()
    assert f"waiting for another process to close {small_store} (PID {os.getpid()} " in (
        err.read_text()
    )
    assert "lock acquired after" in err.read_text()
    assert fetch(small_store, "SELECT count(*) FROM cases") == [(2,)]


def test_a_writer_beside_an_open_reader_of_its_own_process_is_told_to_close_it(
    small_store, tmp_path, capsys
):
    export = write_csv(tmp_path / "b.csv", [good_row("B1")])
    with store.Reader(small_store).open():
        # DuckDB refuses to open a file for writing in a process that holds it read-only
        assert cli.main(["ingest", str(export), "--db", str(small_store)]) != 0
    err = capsys.readouterr().err
    assert "this process holds the store open for reading" in err
    assert "ctx.store.close()" in err
    assert cli.main(["ingest", str(export), "--db", str(small_store)]) == 0
    assert fetch(small_store, "SELECT count(*) FROM cases") == [(2,)]


def test_reading_closes_only_the_reader_it_opened(small_store):
    with store.reading(small_store) as reader:
        with store.connect(reader) as con:
            con.execute("SELECT 1").fetchall()
        assert reader.is_open
    assert not reader.is_open
    outer = store.Reader(small_store).open()
    with store.reading(outer) as reader:
        assert reader is outer
    assert outer.is_open  # the caller's reader: its run closes it
    outer.close()


def test_a_reader_does_not_write(small_store):
    with store.Reader(small_store) as reader, pytest.raises(ValueError, match="a Reader reads"):
        with store.connect(reader, read_only=False):
            pass


def test_a_store_of_a_newer_duckdb_says_to_rebuild_it_from_its_raw_exports(tmp_path):
    # issue 31 pinned DuckDB 1.5.5: a store written by the 2.0.1 this project ran before is
    # refused by DuckDB with its storage version; the message says what to do about it
    from analysis.store import connection

    refused = duckdb.IOException(
        "IO Error: Trying to read a database file with version number 999, but we can only read "
        "versions between 64 and 68."
    )
    error = connection._open_error(tmp_path / "cases.duckdb", refused)
    assert isinstance(error, store.StoreError)
    assert str(error) == (
        f"{tmp_path / 'cases.duckdb'}: written by a newer DuckDB (storage version 999) than this "
        f"project's {duckdb.__version__}; rebuild it from its raw exports into a new store "
        "(`ta-outcomes ingest data/raw/ --db NEW.duckdb`: the same files give the same cases with "
        "the same buyer key) and use that"
    )
