"""The pooled store (analysis/store/lake.py): a DuckLake whose catalog lives in a private
PostgreSQL server started for these tests (initdb/pg_ctl on a unix socket in a temporary folder,
run as the ``postgres`` user when the tests run as root: initdb refuses root).

Without PostgreSQL's binaries the tests are skipped, saying so (CI installs Debian's
``postgresql``: .ci/run). The ones that load several files or start processes are marked slow
(``make test`` runs them; ``make test-fast`` does not).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from analysis import cli, store
from analysis.ingest import load
from analysis.store import lake
from tests import pg_server
from tests.conftest import TODAY, good_row, write_csv

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def postgres():
    """A private PostgreSQL server (tests/pg_server.py) for the session, stopped at the end."""
    try:
        server = pg_server.start()
    except pg_server.Unavailable as exc:
        pytest.skip(f"{exc}: the DuckLake tests need a private PostgreSQL server")
    try:
        yield server
    finally:
        pg_server.stop(server)


@pytest.fixture
def pool(postgres, tmp_path, monkeypatch):
    """A new, empty PostgreSQL database for a lake: (its ducklake: name, its data path)."""
    monkeypatch.setenv("TA_OUTCOMES_BUYER_KEY_FILE", str(tmp_path / "pool-buyer.key"))
    return postgres.createdb("lake_" + uuid.uuid4().hex[:12]), tmp_path / "lake-data"


def _cli(*args: str, env: dict | None = None, **popen) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "analysis", *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )


def _state(db: str) -> dict:
    """What a reader of the lake sees: its snapshot and the tables' contents."""
    with store.connect(db) as con:
        return {
            "snapshot": store.snapshot_id(con),
            "cases": con.execute(
                "SELECT count(*), sum(hash(case_id, content_hash, load_id)) FROM cases"
            ).fetchall(),
            "loads": con.execute(
                "SELECT load_id, source_file, inserted, updated FROM loads ORDER BY load_id"
            ).fetchall(),
            "quarantine": con.execute("SELECT count(*) FROM quarantine").fetchall(),
            "meta": con.execute("SELECT * FROM store_meta ORDER BY key").fetchall(),
        }


def _two_files(tmp_path: Path) -> tuple[Path, Path]:
    a = write_csv(
        tmp_path / "agency_a.csv",
        [good_row(f"A{i}", supplier_id="S1", buyer_ref=f"Buyer {i}") for i in range(5)],
    )
    b = write_csv(
        tmp_path / "agency_b.csv",
        [good_row(f"B{i}", supplier_id="S2", outcome="full_refund", refund_amount="1000")
         for i in range(3)] + [good_row("B9", claim_amount="-5")],  # (quarantined: negative)
    )  # fmt: skip
    return a, b


def test_lake_schema_is_the_store_schema_without_keys_or_sequence():
    ddl = (
        "CREATE SEQUENCE IF NOT EXISTS s START 1;\nCREATE TABLE t (a BIGINT PRIMARY KEY, b INT);\n"
    )
    assert lake.lake_ddl(ddl).strip() == "CREATE TABLE t (a BIGINT, b INT);"


@pytest.mark.slow
def test_two_ingests_from_two_processes_at_once_both_land(pool, tmp_path):
    # a new lake: the two processes' first attaches race too (one creates the catalog, the
    # other meets its duplicate key and retries), then their loads (one may retry after the
    # other's commit)
    db, data = pool
    a, b = _two_files(tmp_path)
    runs = [_cli("ingest", str(f), "--db", db, "--data-path", str(data)) for f in (a, b)]
    outs = [p.communicate(timeout=120) for p in runs]
    assert [p.returncode for p in runs] == [0, 0], outs
    state = _state(db)
    assert state["cases"][0][0] == 8
    assert [row[0] for row in state["loads"]] == [1, 2]
    assert sorted((Path(r[1]).name, r[2]) for r in state["loads"]) == [
        ("agency_a.csv", 5),
        ("agency_b.csv", 3),
    ]
    meta = dict(state["meta"])
    assert meta["last_load_id"] == "2" and meta["schema_version"] == store.SCHEMA_VERSION


@pytest.mark.slow
def test_a_load_meeting_another_loads_commit_retries_and_says_so(pool, tmp_path, monkeypatch):
    db, data = pool
    lake.use_data_path(db, data)
    a, b = _two_files(tmp_path)
    load.ingest_paths([a], db, today=TODAY)
    real = store.next_load_id
    calls = []

    def meanwhile(con):
        # while this load's transaction is open, another member's load commits (first try only)
        load_id = real(con)
        if not calls:
            calls.append(load_id)
            monkeypatch.setattr(store, "next_load_id", real)
            (other,) = load.ingest_paths([b], db, today=TODAY)
            assert other.ok and other.load_id == 2
            monkeypatch.setattr(store, "next_load_id", meanwhile)
        return load_id

    monkeypatch.setattr(store, "next_load_id", meanwhile)
    c = write_csv(tmp_path / "agency_c.csv", [good_row("C1", supplier_id="S3")])
    (result,) = load.ingest_paths([c], db, today=TODAY)
    assert calls == [2]  # the first try took id 2, which the other load committed first
    assert result.ok and result.load_id == 3 and result.inserted == 1
    assert "committed at attempt 2, after a conflict with another load" in load.format_result(
        result
    )
    state = _state(db)
    assert state["cases"][0][0] == 9
    assert [row[0] for row in state["loads"]] == [1, 2, 3]


@pytest.mark.slow
def test_a_new_pools_first_loads_racing_for_the_key_file_both_key_with_the_winner(
    pool, tmp_path, monkeypatch
):
    # two members' first loads into a new pool, one key path: each found no key file and made
    # a secret; the later one either met the other's file at its commit and failed (the
    # two-process test above, in one full run of the suite) or, a moment later, moved the
    # winner's file aside as if re-keying. Now it loads again with the secret that won.
    from analysis.ingest import pseudonym

    db, data = pool
    lake.use_data_path(db, data)
    key_file = Path(os.environ["TA_OUTCOMES_BUYER_KEY_FILE"])
    winner = "b" * 64
    real = pseudonym.check

    def meanwhile(con, db, rekey=False):
        state = real(con, db, rekey=rekey)
        if state.new_file and not key_file.exists():  # the other member's key lands first
            pseudonym._write_new(key_file, winner)
        return state

    monkeypatch.setattr(pseudonym, "check", meanwhile)
    a, _ = _two_files(tmp_path)
    (result,) = load.ingest_paths([a], db, today=TODAY)
    assert result.ok and result.inserted == 5
    assert "committed at attempt 2, after a conflict with another load" in load.format_result(
        result
    )
    assert key_file.read_text().strip() == winner
    with store.connect(db) as con:
        meta = dict(con.execute("SELECT * FROM store_meta").fetchall())
        stored = con.execute("SELECT buyer_key FROM cases WHERE case_id = 'A3'").fetchone()[0]
        expected = pseudonym.keys(con, winner, ["Buyer 3"])[0]
    assert meta[pseudonym.META_KEY] == pseudonym.fingerprint(winner)
    assert stored == expected  # keyed with the winner's secret, not the lost one


def test_a_member_with_another_buyer_key_is_refused(pool, tmp_path, monkeypatch, capsys):
    db, data = pool
    a, b = _two_files(tmp_path)
    assert cli.main(["ingest", str(a), "--db", db, "--data-path", str(data)]) == 0
    before = _state(db)
    own = tmp_path / "own.key"
    own.write_text("f" * 64 + "\n")
    capsys.readouterr()
    for key, says in ((own, "is not the one this store's buyers were keyed with"),
                      (tmp_path / "none.key", "is missing, but 5 stored case(s) were keyed")):  # fmt: skip
        monkeypatch.setenv("TA_OUTCOMES_BUYER_KEY_FILE", str(key))
        assert cli.main(["ingest", str(b), "--db", db]) == 1
        err = capsys.readouterr().err
        assert says in err and "ask the pool's keeper for it" in err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
        assert _state(db) == before


@pytest.mark.slow
def test_a_load_killed_midway_leaves_the_lake_as_it_was(pool, tmp_path, capsys):
    db, data = pool
    a, _ = _two_files(tmp_path)
    assert cli.main(["ingest", str(a), "--db", db, "--data-path", str(data)]) == 0
    before = _state(db)
    # the same cases changed, and new ones: the killed load had deleted and inserted cases
    changed = write_csv(
        tmp_path / "agency_a_2.csv",
        [good_row(f"A{i}", outcome="full_refund", refund_amount="1000") for i in range(8)],
    )
    # stops inside the load's transaction, after its cases are written and before its COMMIT
    # (record.sql, the load's row, is the last script of the transaction)
    stall = (
        "import sys, time\n"
        "from analysis import store\n"
        "run = store.run_script\n"
        "def stall(con, sql, params=None):\n"
        "    run(con, sql, params)\n"
        "    if 'INSERT INTO loads' in sql:\n"
        "        print('MIDWAY', flush=True)\n"
        "        time.sleep(120)\n"
        "store.run_script = stall\n"
        "from analysis.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", stall, "ingest", str(changed), "--db", db],
        cwd=ROOT, env=os.environ.copy(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert proc.stdout.readline().strip() == "MIDWAY"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert _state(db) == before
    # and the same load, run again, completes
    capsys.readouterr()
    assert cli.main(["ingest", str(changed), "--db", db]) == 0
    assert "inserted 3 + updated 5 + unchanged 0" in capsys.readouterr().out


def _compare(file_value, lake_value, where: str, differences: list) -> None:
    """Every field equal; floats to 1e-9 relative (sums of doubles in another row order)."""
    if isinstance(file_value, dict) and isinstance(lake_value, dict):
        if set(file_value) != set(lake_value):
            differences.append((where, sorted(set(file_value) ^ set(lake_value))))
        for key in set(file_value) & set(lake_value):
            _compare(file_value[key], lake_value[key], f"{where}.{key}", differences)
    elif isinstance(file_value, list) and isinstance(lake_value, list):
        if len(file_value) != len(lake_value):
            differences.append((where, len(file_value), len(lake_value)))
        for i, (x, y) in enumerate(zip(file_value, lake_value, strict=False)):
            _compare(x, y, f"{where}[{i}]", differences)
    elif isinstance(file_value, float) and isinstance(lake_value, float):
        if not math.isclose(file_value, lake_value, rel_tol=1e-9, abs_tol=1e-12):
            differences.append((where, file_value, lake_value))
    elif file_value != lake_value or type(file_value) is not type(lake_value):
        differences.append((where, file_value, lake_value))


@pytest.mark.slow
def test_the_lakes_metrics_equal_a_file_stores_loaded_with_the_same_files(pool, tmp_path, capsys):
    from analysis.demo import generate

    db, data = pool
    lake.use_data_path(db, data)
    files = generate(tmp_path / "raw", n_cases=150, seed=7, today=dt.date(2026, 11, 30))
    file_db = tmp_path / "file" / "cases.duckdb"
    for target in (file_db, db):
        results = load.ingest_paths(files, target, synthetic=True, today=dt.date(2026, 11, 30))
        assert all(r.ok for r in results)
    capsys.readouterr()
    outputs = []
    for target in (str(file_db), db):
        argv = ["metrics", "--start", "2025-12-01", "--end", "2026-11-30", "--db", target]
        assert cli.main(argv) == 0
        outputs.append(json.loads(capsys.readouterr().out))
    file_metrics, lake_metrics = outputs
    assert file_metrics["overall"]["cases_closed"] > 50  # a real comparison, not of blanks
    differences: list = []
    _compare(file_metrics, lake_metrics, "", differences)
    assert differences == []


def test_a_missing_lake_is_one_line_saying_how_to_create_it(pool, capsys):
    db, _ = pool
    argv = ["metrics", "--start", "2026-01-01", "--end", "2026-01-31", "--db", db]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "no lake in this catalog yet" in err and "--data-path DIR" in err


def test_a_lakes_name_pins_a_snapshot_and_the_stamp_names_it_without_the_host():
    db = "ducklake:postgres:dbname=pool host=/run/pg user=agency7"
    assert lake.split(db) == (db, None)
    assert lake.pinned(db, 12) == db + "#snapshot=12"
    assert lake.split(db + "#snapshot=12") == (db, 12)
    assert lake.pinned(db + "#snapshot=12", 3) == db + "#snapshot=3"
    assert lake.describe(db + "#snapshot=12") == "DuckLake PostgreSQL pool, snapshot 12"
    assert lake.describe("ducklake:/shared/pool.ducklake") == "DuckLake pool.ducklake"


@pytest.mark.slow
def test_as_of_snapshot_reads_the_lake_as_it_was(pool, tmp_path, capsys):
    db, data = pool
    lake.use_data_path(db, data)
    a, b = _two_files(tmp_path)
    load.ingest_paths([a], db, today=TODAY)
    with store.connect(db) as con:
        then = store.snapshot_id(con)
    argv = ["metrics", "--start", "2026-04-01", "--end", "2026-04-30", "--db", db]
    capsys.readouterr()
    assert cli.main(argv) == 0
    before = json.loads(capsys.readouterr().out)
    load.ingest_paths([b], db, today=TODAY)
    assert lake.pin(db) != lake.pinned(db, then)  # the lake moved on
    assert cli.main([*argv, "--as-of-snapshot", str(then)]) == 0
    old = json.loads(capsys.readouterr().out)
    assert old == before and old["overall"]["cases_closed"] == 5
    assert cli.main(argv) == 0
    assert json.loads(capsys.readouterr().out)["overall"]["cases_closed"] == 8
    # a file store has no snapshots: one line, exit 2
    assert cli.main([*argv[:-1], str(tmp_path / "x.duckdb"), "--as-of-snapshot", "1"]) == 2
    assert "--as-of-snapshot is for a lake" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.notebook
def test_a_report_renders_from_the_lake_and_its_stamp_names_the_snapshot(pool, tmp_path):
    from analysis.publish import command

    db, data = pool
    lake.use_data_path(db, data)
    a, b = _two_files(tmp_path)
    load.ingest_paths([a, b], db, today=TODAY)
    pinned = lake.pin(db)
    code = command.main(
        name="data_quality", period="2026-04", last=None, db=db, out=tmp_path / "reports",
        params=[], notify_cmd=None, progress=False,
    )  # fmt: skip
    assert code == 0
    (html,) = (tmp_path / "reports" / "data_quality" / "2026-04").glob("*.html")
    text = html.read_text(encoding="utf-8")
    snapshot = lake.split(pinned)[1]
    assert f"DuckLake PostgreSQL {db.split('dbname=')[1].split()[0]}, snapshot {snapshot}" in text
    assert "host=" not in text


@pytest.mark.slow
def test_export_store_takes_a_file_store_into_a_new_lake_and_back(pool, tmp_path, capsys):
    db, data = pool
    a, b = _two_files(tmp_path)
    member = tmp_path / "member" / "cases.duckdb"
    load.ingest_paths([a, b], member, today=TODAY)
    assert (
        cli.main(["export-store", "--db", str(member), "--to", db, "--data-path", str(data)]) == 0
    )
    assert "cases 8" in capsys.readouterr().out
    home = tmp_path / "home" / "cases.duckdb"
    assert cli.main(["export-store", "--db", db, "--to", str(home)]) == 0
    capsys.readouterr()
    tables = "SELECT * FROM {} ORDER BY ALL"
    with store.connect(member) as m, store.connect(db) as p, store.connect(home) as h:
        for table in ("cases", "loads", "quarantine", "suppliers"):
            rows = m.execute(tables.format(table)).fetchall()
            assert rows and p.execute(tables.format(table)).fetchall() == rows
            assert h.execute(tables.format(table)).fetchall() == rows
        assert dict(p.execute("SELECT * FROM store_meta").fetchall())["last_load_id"] == "2"
        assert "last_load_id" not in dict(h.execute("SELECT * FROM store_meta").fetchall())
    # both go on loading where the store was: the next load is load 3
    c = write_csv(tmp_path / "agency_c.csv", [good_row("C1", supplier_id="S3")])
    for target in (db, home):
        (result,) = load.ingest_paths([c], target, today=TODAY)
        assert result.load_id == 3 and result.inserted == 1
    # a target holding a store is refused, one line, nothing written
    assert cli.main(["export-store", "--db", str(member), "--to", db]) == 2
    assert "already holds a case store" in capsys.readouterr().err
    assert cli.main(["export-store", "--db", db, "--to", str(home)]) == 2
    assert "exists: export-store writes a new file only" in capsys.readouterr().err


def test_explore_works_on_a_lake_and_refuses_sql_typed_by_hand(pool, tmp_path):
    from analysis import explore
    from analysis.errors import BadParameter

    db, data = pool
    lake.use_data_path(db, data)
    load.ingest_paths(list(_two_files(tmp_path)), db, today=TODAY)
    cases = explore.cases("2026-04-01", "2026-04-30", db=db)
    assert len(cases) == 8 and int(cases["supplier_sided"].sum()) == 5
    with pytest.raises(BadParameter, match="runs no SQL typed by hand on a lake"):
        explore.query("SELECT count(*) FROM cases", db=db)


def test_a_password_in_db_is_refused_before_anything_connects(capsys):
    db = "ducklake:postgres:dbname=pool host=db.example.org user=a7 password=hunter2"
    argv = ["metrics", "--start", "2026-01-01", "--end", "2026-01-31", "--db", db]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "no password in --db" in err and "hunter2" not in err


@pytest.mark.slow
def test_a_load_out_of_retries_is_one_line_and_loads_nothing(pool, tmp_path, monkeypatch):
    db, data = pool
    lake.use_data_path(db, data)
    a, b = _two_files(tmp_path)
    load.ingest_paths([a], db, today=TODAY)
    real = store.next_load_id

    def meanwhile(con):
        load_id = real(con)
        monkeypatch.setattr(store, "next_load_id", real)
        assert load.ingest_paths([b], db, today=TODAY)[0].ok  # another load commits first
        return load_id

    monkeypatch.setattr(store, "next_load_id", meanwhile)
    monkeypatch.setattr(lake, "RETRIES", 1)
    c = write_csv(tmp_path / "agency_c.csv", [good_row("C1", supplier_id="S3")])
    with pytest.raises(store.StoreBusy, match="nothing of it was loaded: try again later") as err:
        load.ingest_paths([c], db, today=TODAY)
    assert err.value.exit_code == 75
    state = _state(db)
    assert state["cases"][0][0] == 8 and [row[0] for row in state["loads"]] == [1, 2]
