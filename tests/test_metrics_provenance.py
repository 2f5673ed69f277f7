"""analysis.metrics.provenance: the store's fingerprint, by hand."""

from __future__ import annotations

import functools
import hashlib
import operator

import duckdb

from analysis.metrics import provenance
from tests.casefactory import build_store
from tests.report_store import CASES


def test_fingerprint_by_hand(store):
    con = duckdb.connect(str(store), read_only=True)
    # The digest, rebuilt from the 64-bit hash of each case's 'case_id:content_hash' line.
    hashes = [
        h
        for (h,) in con.execute("SELECT hash(case_id || ':' || content_hash) FROM cases").fetchall()
    ]
    con.close()
    xor = functools.reduce(operator.xor, hashes, 0)
    expected = hashlib.sha256(f"{len(hashes)}:{sum(hashes)}:{xor}".encode()).hexdigest()
    fingerprint = provenance.data_fingerprint(store)
    assert fingerprint["digest"] == expected
    assert (fingerprint["cases"], fingerprint["loads"], fingerprint["quarantined_rows"]) == (
        8,
        1,
        0,
    )


def test_fingerprint_changes_with_the_data(tmp_path):
    one = build_store(tmp_path / "1.duckdb", [dict(CASES[0])])
    same = build_store(tmp_path / "2.duckdb", [dict(CASES[0])])
    other = build_store(tmp_path / "3.duckdb", [dict(CASES[0], claim_amount=1001)])
    digests = [provenance.data_fingerprint(db)["digest"] for db in (one, same, other)]
    assert digests[0] == digests[1] != digests[2]


def test_as_of_is_the_newest_data_not_the_latest_reload(tmp_path):
    # Issue 28.5: an undated load that changed nothing (an unchanged export loaded again a
    # month later) does not move the as-of date; an export's own date does, changed or not
    import datetime as dt

    from tests.casefactory import make_load

    day = dt.datetime.fromisoformat
    first = make_load(load_id=1, inserted=1, as_of=None, finished_at=day("2026-11-01 09:00"))
    again = make_load(load_id=2, unchanged=1, as_of=None, finished_at=day("2026-12-07 09:00"))
    db = build_store(tmp_path / "a.duckdb", [dict(CASES[0])], loads=[first, again])
    assert provenance.as_of(db) == dt.date(2026, 11, 1)
    assert provenance.last_loaded(db) == day("2026-12-07 09:00")
    dated = make_load(load_id=3, unchanged=1, as_of="2026-11-20", finished_at=day("2026-12-08"))
    db = build_store(tmp_path / "b.duckdb", [dict(CASES[0])], loads=[first, again, dated])
    assert provenance.as_of(db) == dt.date(2026, 11, 20)
    # an undated load that updated a case is the newest data
    updated = make_load(load_id=4, updated=1, as_of=None, finished_at=day("2026-12-09 10:00"))
    db = build_store(tmp_path / "c.duckdb", [dict(CASES[0])], loads=[first, dated, updated])
    assert provenance.as_of(db) == dt.date(2026, 12, 9)
    # no load changed anything: the latest load's day rather than nothing
    db = build_store(tmp_path / "d.duckdb", [dict(CASES[0])], loads=[dict(again, load_id=1)])
    assert provenance.as_of(db) == dt.date(2026, 12, 7)
