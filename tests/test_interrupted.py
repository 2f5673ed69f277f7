"""An ingest killed with SIGKILL at a random moment leaves the store as it was before that file
(DuckDB's transaction: nothing of the file is visible), the store opens, and re-running the
same ingest completes with the right counts.

A real `python -m analysis ingest` process on a 200,000-row file is killed after random delays
spread over its run time (measured first on an uninterrupted run of the same file).
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import fetch
from tests.hostile.files import csv_text, row

pytestmark = pytest.mark.slow

N_ROWS = 200_000
KILLS = 4
ROOT = Path(__file__).resolve().parents[1]


def _write_big_csv(path: Path) -> None:
    # 200,000 valid cases; every 1000th has an unreadable claim -> 200 quarantined
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(
            "case_id,supplier_id,product_category,claim_type,opened_date,outcome,order_value,"
            "claim_amount,currency,refund_amount,closed_date,description,buyer_ref\n"
        )
        for i in range(N_ROWS):
            claim = "n/a?" if i % 1000 == 999 else str(900 + i % 89)
            fh.write(
                f"K{i},S{i % 500},machinery,quality,2025-03-{1 + i % 28:02d},no_refund,"
                f"{1000 + i % 97},{claim},USD,0,2025-04-01,description {i},buyer{i % 1000}\n"
            )


def _state(db: Path) -> dict[str, list]:
    """What a reader sees: the tables' contents (opening the store is itself part of the check)."""
    return {
        "cases": fetch(db, "SELECT count(*), sum(hash(case_id, content_hash, load_id)) FROM cases"),
        "loads": fetch(
            db,
            "SELECT load_id, source_file, rows_read, inserted, updated, unchanged, "
            "repeats, quarantined FROM loads ORDER BY load_id",
        ),
        "quarantine": fetch(
            db, "SELECT count(*), sum(hash(file_sha256, row_number, reason)) FROM quarantine"
        ),
        "meta": fetch(db, "SELECT * FROM store_meta ORDER BY key"),
    }


def _ingest_cmd(path: Path, db: Path) -> list[str]:
    return [sys.executable, "-m", "analysis", "ingest", str(path), "--db", str(db)]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """(big file, base store, the base state, the complete state, the uninterrupted run time)."""
    folder = tmp_path_factory.mktemp("interrupted")
    big = folder / "big.csv"
    _write_big_csv(big)
    base_db = folder / "base" / "cases.duckdb"
    small = folder / "small.csv"
    small.write_text(csv_text([row("A1"), row("A2"), row("A3", order_value="-5")]))
    subprocess.run(_ingest_cmd(small, base_db), check=True, capture_output=True, cwd=ROOT)
    base_state = _state(base_db)

    ref_db = shutil.copytree(base_db.parent, folder / "ref") / base_db.name
    t0 = time.monotonic()
    run = subprocess.run(_ingest_cmd(big, ref_db), capture_output=True, text=True, cwd=ROOT)
    duration = time.monotonic() - t0
    assert run.returncode == 0, run.stderr
    # 200,000 read = 199,800 inserted + 200 quarantined (every 1000th claim is 'n/a?')
    assert (
        f"read {N_ROWS} = inserted {N_ROWS - 200} + updated 0 + unchanged 0 + repeats 0 + quarantined 200"
        in run.stdout
    )
    return big, base_db, base_state, _state(ref_db), duration


def test_sigkill_at_random_moments_leaves_the_store_as_before(setup, tmp_path):
    big, base_db, base_state, complete_state, duration = setup
    rng = random.Random(int(os.environ.get("TA_KILL_SEED", "20261127")))
    # spread over the run: from just after start-up to just before the end (the write is last)
    delays = sorted(rng.uniform(0.25 * duration, 0.97 * duration) for _ in range(KILLS))
    outcomes = []
    for k, delay in enumerate(delays):
        db = shutil.copytree(base_db.parent, tmp_path / f"kill{k}") / base_db.name
        proc = subprocess.Popen(
            _ingest_cmd(big, db), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(delay)
        finished_first = proc.poll() is not None  # on a quiet machine a late delay can miss
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        state = _state(db)  # DuckDB opens the store (replaying its log if any)
        if finished_first:
            assert proc.returncode == 0 and state == complete_state
            outcomes.append("finished")
            continue
        if state == base_state:
            outcomes.append("before")
        else:
            # the kill came after COMMIT: then the whole file is there, never a part of it
            assert state == complete_state, f"kill after {delay:.2f}s left a partial store"
            outcomes.append("complete")
        assert proc.returncode == -signal.SIGKILL
    # the delays must really have hit the ingest while it ran, not only after it finished
    assert outcomes.count("before") >= KILLS // 2, (delays, outcomes, duration)

    # re-running the killed ingest completes, with the counts of an uninterrupted run
    # (the latest kill that landed mid-write, so the store holds the earlier load only)
    k = max(i for i, outcome in enumerate(outcomes) if outcome == "before")
    killed = tmp_path / f"kill{k}" / base_db.name
    run = subprocess.run(
        _ingest_cmd(big, killed), capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert run.returncode == 0, run.stderr
    assert (
        f"read {N_ROWS} = inserted {N_ROWS - 200} + updated 0 + unchanged 0 + repeats 0 "
        "+ quarantined 200" in run.stdout
    )
    state = _state(killed)
    # 2 earlier cases (A3 was quarantined) + 199,800; load ids come from a sequence, so the
    # loads are compared without them
    assert state["cases"][0][0] == complete_state["cases"][0][0] == 2 + N_ROWS - 200
    assert [r[1:] for r in state["loads"]] == [r[1:] for r in complete_state["loads"]]
    assert state["quarantine"][0][0] == complete_state["quarantine"][0][0] == 1 + 200
