"""analysis.ingest.pseudonym: one formula for a buyer key, and a store that knows its own key."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from analysis import cli, store
from analysis.ingest import pseudonym
from tests.conftest import fetch, good_row, write_csv


def _hand_key(secret: str, ref: str) -> str:
    return hashlib.sha256(f"{secret}:{ref.strip().lower()}".encode()).hexdigest()[:20]


def test_the_macro_is_the_formula():
    secret = "ab" * 32
    refs = ["Alice@Example.com", "  bob ", "", "   ", "Ünï"]
    assert pseudonym.keys(store.open_duckdb(), secret, refs) == [
        _hand_key(secret, "Alice@Example.com"), _hand_key(secret, "bob"), None, None,
        _hand_key(secret, "Ünï"),
    ]  # fmt: skip


def test_the_fingerprint_tells_secrets_apart_and_reveals_neither():
    one, two = pseudonym.fingerprint("a" * 64), pseudonym.fingerprint("b" * 64)
    assert one != two and len(one) == 16 and "a" * 8 not in one


@pytest.fixture
def keyed(tmp_path) -> Path:
    """A store whose first load keyed two buyers."""
    db = tmp_path / "store" / "cases.duckdb"
    rows = [good_row("K1", buyer_ref="alice@example.com"), good_row("K2", buyer_ref="bob")]
    assert cli.main(["ingest", str(write_csv(tmp_path / "a.csv", rows)), "--db", str(db)]) == 0
    return db


def test_the_first_load_records_the_fingerprint(keyed):
    secret = pseudonym.key_path(keyed).read_text().strip()
    meta = fetch(keyed, "SELECT value FROM store_meta WHERE key = 'buyer_key_fingerprint'")
    assert meta == [(pseudonym.fingerprint(secret),)]
    assert fetch(keyed, "SELECT buyer_key FROM cases WHERE case_id = 'K1'") == [
        (_hand_key(secret, "alice@example.com"),)
    ]


def test_a_lost_key_file_refuses_the_load_instead_of_rekeying(keyed, tmp_path, capsys):
    # issue 14: a new secret was made without a word, so returning buyers got new keys
    pseudonym.key_path(keyed).unlink()
    before = keyed.read_bytes()
    later = write_csv(tmp_path / "b.csv", [good_row("K3", buyer_ref="alice@example.com")])
    code = cli.main(["ingest", str(later), "--db", str(keyed)])
    err = capsys.readouterr().err.strip()
    assert code == 1 and len(err.splitlines()) == 1
    assert f"the buyer-key file {pseudonym.key_path(keyed)} is missing, but 2 stored case(s)" in err
    assert "restore the key file from a backup" in err and "--rekey-buyers" in err
    assert keyed.read_bytes() == before
    assert not pseudonym.key_path(keyed).exists()  # no new key made behind the user's back


def test_a_replaced_key_file_refuses_the_load(keyed, tmp_path, capsys):
    pseudonym.key_path(keyed).write_text("cd" * 32 + "\n")
    later = write_csv(tmp_path / "b.csv", [good_row("K3", buyer_ref="alice@example.com")])
    assert cli.main(["ingest", str(later), "--db", str(keyed)]) == 1
    err = capsys.readouterr().err
    assert f"(fingerprint {pseudonym.fingerprint('cd' * 32)}) is not the one" in err
    assert fetch(keyed, "SELECT count(*) FROM cases") == [(2,)]


def test_rekeying_on_purpose_clears_every_key_and_reloading_keys_them_again(keyed, tmp_path):
    old_secret = pseudonym.key_path(keyed).read_text().strip()
    pseudonym.key_path(keyed).unlink()  # lost for good
    first = tmp_path / "a.csv"  # the first export, loaded again after the re-key
    later = write_csv(tmp_path / "b.csv", [good_row("K3", buyer_ref="carol")])
    assert cli.main(["ingest", str(later), "--db", str(keyed), "--rekey-buyers"]) == 0
    new_secret = pseudonym.key_path(keyed).read_text().strip()
    assert new_secret != old_secret
    # K1, K2's old keys are gone (no two secrets' keys side by side); K3 has the new key
    assert fetch(keyed, "SELECT case_id, buyer_key FROM cases ORDER BY case_id") == [
        ("K1", None), ("K2", None), ("K3", _hand_key(new_secret, "carol")),
    ]  # fmt: skip
    assert cli.main(["ingest", str(first), "--db", str(keyed)]) == 0
    assert fetch(keyed, "SELECT buyer_key FROM cases WHERE case_id = 'K1'") == [
        (_hand_key(new_secret, "alice@example.com"),)
    ]
    meta = fetch(keyed, "SELECT value FROM store_meta WHERE key = 'buyer_key_fingerprint'")
    assert meta == [(pseudonym.fingerprint(new_secret),)]


def test_rekeying_keeps_the_old_key_file_beside(keyed, tmp_path):
    old = pseudonym.key_path(keyed)
    old_secret = old.read_text()
    later = write_csv(tmp_path / "b.csv", [good_row("K3")])
    assert cli.main(["ingest", str(later), "--db", str(keyed), "--rekey-buyers"]) == 0
    (backup,) = old.parent.glob(f"{old.name}.bak-*")
    assert backup.read_text() == old_secret


def test_a_store_from_before_fingerprints_adopts_its_key_file(keyed, tmp_path):
    with store.connect(keyed, read_only=False) as con:
        con.execute("DELETE FROM store_meta WHERE key = 'buyer_key_fingerprint'")
    later = write_csv(tmp_path / "b.csv", [good_row("K3", buyer_ref="alice@example.com")])
    assert cli.main(["ingest", str(later), "--db", str(keyed)]) == 0
    assert (
        len(fetch(keyed, "SELECT value FROM store_meta WHERE key = 'buyer_key_fingerprint'")) == 1
    )
