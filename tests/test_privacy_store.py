"""Buyer references never enter the store: not in cases, not in the quarantine's raw records (also
for lines the reader itself rejected), not anywhere in the store's bytes. Tables leaving for a
spreadsheet have formula injection neutralised."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

import duckdb

from analysis import cli
from analysis.ingest import pseudonym
from analysis.report import privacy
from tests.conftest import fetch
from tests.hostile.files import HEADER, csv_text, row

REFS = ["Zebulon.Quixote-4417@buyer-mail.example", "ACCT-9Q7X-KZW3-UNIQUE", "Márta Ödönné Xylofon"]
CONTROL = "SUPPLIER-CONTROL-MARKER-7Q3Z"  # a value that IS stored: proves the byte search sees text


def _files(folder: Path) -> list[Path]:
    header = [*HEADER, "buyer_ref", "supplier_name"]
    good = [
        row("P1") | {"buyer_ref": REFS[0], "supplier_name": CONTROL},
        row("P2") | {"buyer_ref": REFS[1], "supplier_name": CONTROL},
        # quarantined by the staging rules (unreadable amount), raw record kept
        row("P3", claim_amount="lots") | {"buyer_ref": REFS[2], "supplier_name": CONTROL},
    ]
    text = csv_text(good, header)
    # two lines the reader rejects: 15 fields of 14, and 13 (supplier_name missing)
    surplus = ",".join([*row("P4").values(), REFS[0], CONTROL, "surplus"])
    stray = ",".join([*row("P5").values(), REFS[1]])
    a = folder / "a.csv"
    a.write_text(text + surplus + "\n" + stray + "\n")
    b = folder / "b.json"
    b.write_text(
        json.dumps(
            [
                row("P6") | {"buyer_ref": REFS[2], "supplier_name": CONTROL},
                row("P7", outcome="maybe") | {"buyer_ref": REFS[0]},
            ]
        )
    )
    return [a, b]


def _store_bytes(db: Path) -> bytes:
    # every file of the store's folder: the database, any log, the lock and the key file
    return b"".join(p.read_bytes() for p in sorted(db.parent.iterdir()) if p.is_file())


def test_buyer_references_never_enter_the_store(tmp_path):
    db = tmp_path / "store" / "cases.duckdb"
    files = _files(tmp_path)
    assert cli.main(["ingest", *map(str, files), "--db", str(db)]) == 0
    # a.csv: 5 read = P1, P2 inserted + P3 (amount), P4 (fields), P5 (fields) quarantined;
    # b.json: 2 read = P6 inserted + P7 (outcome) quarantined
    assert fetch(db, "SELECT rows_read, inserted, quarantined FROM loads ORDER BY load_id") == [
        (5, 2, 3),
        (2, 1, 1),
    ]

    blob = _store_bytes(db)
    assert CONTROL.encode() in blob  # the byte search does see stored text
    for ref in REFS:
        for variant in {ref, ref.lower(), ref.upper()}:
            assert variant.encode() not in blob, variant
            assert variant.encode("utf-16-le") not in blob

    # and no text column of any table holds one, whatever its compression on disk
    con = duckdb.connect(str(db), read_only=True)
    try:
        columns = con.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE data_type LIKE 'VARCHAR%'"
        ).fetchall()
        for table, column in columns:
            for ref in REFS:
                hits = con.execute(
                    f'SELECT count(*) FROM "{table}" WHERE lower(CAST("{column}" AS VARCHAR)) LIKE ?',  # noqa: S608 (catalog identifiers)
                    [f"%{ref.lower()}%"],
                ).fetchone()[0]
                assert hits == 0, (table, column, ref)
        # the keys stand in for them: the same buyer, the same key, in cases and quarantine
        secret = pseudonym.secret_for(db)
        key0 = _key(secret, REFS[0])
        assert con.execute("SELECT buyer_key FROM cases WHERE case_id = 'P1'").fetchone() == (key0,)
        raw_p4 = con.execute(
            "SELECT raw_record FROM quarantine WHERE row_number = 4 AND source_file LIKE '%a.csv'"
        ).fetchone()[0]
        assert f"buyer_key:{key0}" in raw_p4
        raw_p5 = con.execute(
            "SELECT raw_record FROM quarantine WHERE row_number = 5 AND source_file LIKE '%a.csv'"
        ).fetchone()[0]
        assert f"buyer_key:{_key(secret, REFS[1])}" in raw_p5
    finally:
        con.close()


def test_buyer_key_is_keyed_not_a_plain_hash(tmp_path):
    # without the local key file nobody can test a guessed reference against a key
    import hashlib

    db = tmp_path / "store" / "cases.duckdb"
    path = tmp_path / "k.csv"
    path.write_text(csv_text([row("Q1") | {"buyer_ref": REFS[1]}], [*HEADER, "buyer_ref"]))
    assert cli.main(["ingest", str(path), "--db", str(db)]) == 0
    (key,) = fetch(db, "SELECT buyer_key FROM cases")[0]
    for guess in (REFS[1], REFS[1].lower(), ":" + REFS[1].lower()):
        assert hashlib.sha256(guess.encode()).hexdigest()[:20] != key
    assert (
        len(pseudonym.secret_for(db)) == 64 and pseudonym.key_path(db).stat().st_mode & 0o077 == 0
    )


def test_spreadsheet_export_of_hostile_store_values_is_neutralised(tmp_path):
    # values as a hostile export leaves them in the store -> CSV for a spreadsheet
    db = tmp_path / "store" / "cases.duckdb"
    path = tmp_path / "f.csv"
    formulas = [
        '=HYPERLINK("http://evil","x")',
        "+1+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(A1:A2)",
        "\t=1+1",
    ]
    path.write_text(
        csv_text(
            [row(f"F{i}") | {"supplier_name": f, "description": f} for i, f in enumerate(formulas)],
            [*HEADER, "supplier_name"],
        )
    )
    assert cli.main(["ingest", str(path), "--db", str(db)]) == 0
    frame = (
        duckdb.connect(str(db), read_only=True)
        .execute(
            "SELECT case_id, supplier_name, description, claim_amount FROM cases ORDER BY case_id"
        )
        .df()
    )
    out = io.StringIO()
    privacy.neutralise_formulas(frame).to_csv(out, index=False)
    cells = [c for r in csv.reader(io.StringIO(out.getvalue())) for c in r]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert '\'=HYPERLINK("http://evil","x")' in cells and "'@SUM(A1:A2)" in cells


def _key(secret: str, ref: str) -> str:
    """A buyer key worked out by hand: SHA-256 of secret ':' the trimmed, lower-cased reference."""
    return hashlib.sha256(f"{secret}:{ref.strip().lower()}".encode()).hexdigest()[:20]
