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
