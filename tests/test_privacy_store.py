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
from analysis.ingest import load, pseudonym
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


# -- issue 24.4: no buyer identity from any column: person/contact columns, contact details -------

EMAILS = ["zeb.quixote+ta@buyer-mail.example", "li.wei@example.com.cn"]
PHONES = ["+86 138 0013 8000", "(555) 123-4567", "0049 30 1234567"]
NAME = "Márta Ödönné Xylofon"
ORDER = "2026031512345678"  # a 16-digit order number as the case id: an id is never masked
PERSONAL = ["Buyer Email", "Buyer Phone", "Customer Name", "Contact", "WhatsApp"]


def _personal_row(case_id: str, **overrides: str) -> dict[str, str]:
    return row(
        case_id,
        description=f"call {PHONES[0]} or mail {EMAILS[1]} today {CONTROL}",
        **overrides,
    ) | {
        "buyer_ref": EMAILS[0],
        "order_id": ORDER,
        "Buyer Email": EMAILS[0],
        "Buyer Phone": PHONES[1],
        "Customer Name": NAME,
        "Contact": PHONES[2],
        "WhatsApp": PHONES[0],
        "Consumer disputed?": "No",
        "Order note": f"ring {PHONES[1]} or {EMAILS[0]} {CONTROL}-NOTE",
    }


def test_no_buyer_identity_enters_the_store_from_any_column(tmp_path, capsys):
    db = tmp_path / "store" / "cases.duckdb"
    header = [*HEADER, "buyer_ref", "order_id", *PERSONAL, "Consumer disputed?", "Order note"]
    # P1 loads, P2 is quarantined by the staging rules, the third line (one field too many)
    # by the reader
    good = csv_text([_personal_row(ORDER), _personal_row("P2", claim_amount="lots")], header)
    surplus = csv_text([_personal_row("P3")], header).splitlines()[1] + ",surplus"
    a = tmp_path / "a.csv"
    a.write_text(good + surplus + "\n")
    # a file with no person's column: a line the reader rejects is masked, not withheld
    b = tmp_path / "b.csv"
    b.write_text(
        csv_text([row("B1")]) + ",".join([*row("B2").values()][:-1]) + f",mail {EMAILS[1]},x\n"
    )
    assert cli.main(["ingest", str(a), str(b), "--db", str(db)]) == 0
    out = capsys.readouterr().out
    line_a = next(line for line in out.splitlines() if "a.csv" in line)
    assert line_a.split(": read ")[1].startswith("3 = inserted 1 + updated 0 + unchanged 0 + ")
    assert f"not kept, as naming a person or a contact: {', '.join(PERSONAL)}" in line_a

    case = fetch(db, "SELECT case_id, order_id, description, extra FROM cases WHERE case_id = ?",
                 [ORDER])[0]  # fmt: skip
    assert case[:3] == (
        ORDER,
        ORDER,
        f"call {privacy.PHONE_MASK} or mail {privacy.EMAIL_MASK} today {CONTROL}",
    )
    assert json.loads(case[3]) == {
        "consumer_disputed": "No",
        "order_note": f"ring {privacy.PHONE_MASK} or {privacy.EMAIL_MASK} {CONTROL}-NOTE",
    }
    records = dict(fetch(db, "SELECT case_id, raw_record FROM quarantine"))
    p2 = json.loads(records["P2"])
    assert not {"buyer_email", "buyer_phone", "customer_name", "contact", "whatsapp"} & set(p2)
    assert p2["description"] == case[2] and p2["order_note"] == json.loads(case[3])["order_note"]
    assert p2["buyer_ref"].startswith("buyer_key:") and p2["order_id"] == ORDER
    assert json.loads(records["P3"]) == {"raw_line": load.WITHHELD}
    b2 = json.loads(records["B2"])["raw_line"]
    assert f"mail {privacy.EMAIL_MASK}" in b2 and b2.startswith("B2,S1,")

    # the store's bytes, after a checkpoint has written everything into the database file
    with duckdb.connect(str(db)) as con:
        con.execute("CHECKPOINT")
    blob = _store_bytes(db)
    assert CONTROL.encode() in blob and f"{CONTROL}-NOTE".encode() in blob
    secrets = [*EMAILS, *PHONES, NAME] + ["".join(filter(str.isdigit, p)) for p in PHONES]
    for secret in secrets:
        for variant in {secret, secret.lower(), secret.upper()}:
            assert variant.encode() not in blob, variant
            assert variant.encode("utf-16-le") not in blob, variant
    con = duckdb.connect(str(db), read_only=True)
    try:
        for table, column in con.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE data_type LIKE 'VARCHAR%'"
        ).fetchall():
            for secret in secrets:
                hits = con.execute(
                    f'SELECT count(*) FROM "{table}" WHERE lower(CAST("{column}" AS VARCHAR)) LIKE ?',  # noqa: S608 (catalog identifiers)
                    [f"%{secret.lower()}%"],
                ).fetchone()[0]
                assert hits == 0, (table, column, secret)
    finally:
        con.close()


def test_contact_details_are_masked_whichever_column_fills_the_description(tmp_path):
    # a fallback column (its value trimmed), a value map's replacement and a constant reach the
    # description by other roads than the description column: each is masked as well
    db = tmp_path / "store" / "cases.duckdb"
    header = [*HEADER, "Notes"]
    rows = [
        row("F1", description="") | {"Notes": f"  call {PHONES[0]}  "},
        row("F2", description="see notes") | {"Notes": "x"},
        # with a fallback, a description's own text reaches the view trimmed
        row("F3", description=f"  ring {PHONES[1]} ") | {"Notes": "x"},
    ]
    path = tmp_path / "f.csv"
    path.write_text(csv_text(rows, header))
    mapping = tmp_path / "m.yaml"
    mapping.write_text(
        "fallbacks:\n  description: Notes\n"
        f"values:\n  description:\n    see notes: 'mail {EMAILS[1]}'\n"
    )
    assert cli.main(["ingest", str(path), "--mapping", str(mapping), "--db", str(db)]) == 0
    assert fetch(db, "SELECT case_id, description FROM cases ORDER BY case_id") == [
        ("F1", f"call {privacy.PHONE_MASK}"),
        ("F2", f"mail {privacy.EMAIL_MASK}"),
        ("F3", f"ring {privacy.PHONE_MASK}"),
    ]
