"""analysis.columns: each intake and case column once; everything that lists columns follows it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from analysis import cli, columns, sqlfiles
from analysis.ingest.mapping import Mapping
from tests.conftest import HEADER, fetch, good_row, write_csv

ROOT = Path(__file__).resolve().parents[1]


def test_the_data_dictionary_carries_the_registry_s_tables():
    doc = (ROOT / "docs" / "data-dictionary.md").read_text(encoding="utf-8")
    # the tables between the markers are exactly the registry's (rewrite them with
    # `python -c "from analysis.columns import write_data_dictionary as w; w('docs/data-dictionary.md')"`)
    assert columns.render_data_dictionary(doc) == doc
    for table in columns.data_dictionary_tables().values():
        assert table in doc


def test_the_hash_covers_what_a_case_says_and_not_its_provenance():
    hashed = set(columns.hashed_names())
    assert {"outcome", "refund_amount", "closed_date", "buyer_key", "description"} <= hashed
    assert not hashed & {
        "case_id",
        "content_hash",
        "load_id",
        "source_file",
        "usd_per_unit",
        "updated_at",
    }
    staged = sqlfiles.sql("ingest", "staged.sql")
    assert "hash(" + ", ".join(columns.hashed_names()) + ")::VARCHAR AS content_hash" in staged


def test_the_test_factory_and_the_demo_follow_the_registry():
    from analysis import demo
    from tests import casefactory

    assert demo.COLUMNS == list(columns.intake_names())
    assert set(casefactory.make_case()) >= set(columns.case_names()) - {"content_hash"}


@pytest.fixture
def registry_with_incoterm(monkeypatch):
    """A test double of the registry with one more field: the incoterm of the order."""
    intake = list(columns.INTAKE)
    intake.insert(
        2, columns.IntakeColumn("incoterm", "text", False, "the order's Incoterm", "text")
    )
    cases = list(columns.CASES)
    at = next(i for i, c in enumerate(cases) if c.name == "description")
    cases.insert(at, columns.CaseColumn("incoterm", "VARCHAR", False, "staged", True, "Incoterm"))
    monkeypatch.setattr(columns, "INTAKE", tuple(intake))
    monkeypatch.setattr(columns, "CASES", tuple(cases))
    sqlfiles.sql.cache_clear()
    yield
    sqlfiles.sql.cache_clear()


def test_a_column_added_to_the_registry_reaches_schema_mapping_and_hash(
    registry_with_incoterm, tmp_path
):
    # issue 9: adding a field took seven edits, and missing the content-hash one made a changed
    # case count as "unchanged"
    assert "incoterm           VARCHAR" in columns.cases_ddl()
    assert "incoterm" in columns.hashed_names()
    Mapping.load(_mapping(tmp_path, "columns:\n  Trade term: incoterm\n"))  # a known intake column
    db = tmp_path / "cases.duckdb"
    first = write_csv(tmp_path / "a.csv", [good_row("I1", incoterm="FOB")], [*HEADER, "incoterm"])
    assert cli.main(["ingest", str(first), "--db", str(db)]) == 0
    assert fetch(db, "SELECT incoterm FROM cases") == [("FOB",)]
    changed = write_csv(tmp_path / "b.csv", [good_row("I1", incoterm="CIF")], [*HEADER, "incoterm"])
    assert cli.main(["ingest", str(changed), "--db", str(db)]) == 0
    assert fetch(db, "SELECT updated, unchanged FROM loads WHERE load_id = 2") == [(1, 0)]
    assert fetch(db, "SELECT incoterm FROM cases") == [("CIF",)]


def test_a_registry_entry_of_an_unknown_kind_fails_loudly():
    with pytest.raises(ValueError, match="unknown kind"):
        columns.IntakeColumn("x", "colour", False, "", "")
    with pytest.raises(ValueError, match="names its vocabulary"):
        columns.IntakeColumn("x", "vocab", False, "", "")
    with pytest.raises(ValueError, match="unknown origin"):
        dataclasses.replace(columns.CASES[0], origin="elsewhere")


def _mapping(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "m.yaml"
    path.write_text(text)
    return path


def test_a_loads_column_added_to_the_registry_reaches_the_table_and_the_load_s_row(
    monkeypatch, tmp_path
):
    # issue 25.4: the loads table's columns were stated three times (schema.sql, LoadResult and
    # the INSERT); now the registry states them, and a column the load's result carries (here
    # the reader's note) is recorded with nothing else to edit
    note = columns.LoadColumn("note", "VARCHAR", True, "what the reader says of the file")
    monkeypatch.setattr(columns, "LOADS", (*columns.LOADS, note))
    sqlfiles.sql.cache_clear()
    try:
        db = tmp_path / "cases.duckdb"
        path = write_csv(tmp_path / "a.csv", [good_row("L1"), good_row("L2")])
        assert cli.main(["ingest", str(path), "--db", str(db)]) == 0
        assert fetch(db, "SELECT note, rows_read, inserted, quarantined FROM loads") == [
            ("", 2, 2, 0)
        ]
        table = fetch(
            db,
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'loads' "
            "ORDER BY ordinal_position",
        )
        assert [name for (name,) in table] == [*columns.load_names()]
        assert columns.load_names()[-1] == "note"
    finally:
        sqlfiles.sql.cache_clear()


def test_a_case_column_marked_in_the_registry_reaches_the_period_cases_and_the_blank_counts(
    registry_with_incoterm, monkeypatch, tmp_path
):
    # issue 25.4: metrics/sql/cases.sql and the data-quality blank counts listed their columns by
    # hand; a column marked in the registry now reaches both
    from datetime import date

    from analysis import store
    from analysis.metrics import quality
    from analysis.metrics.case_flags import bind, period_cases_sql
    from analysis.metrics.params import Params

    marked = tuple(
        dataclasses.replace(c, metrics=True, blank_label="Incoterm") if c.name == "incoterm" else c
        for c in columns.CASES
    )
    monkeypatch.setattr(columns, "CASES", marked)
    sqlfiles.sql.cache_clear()
    db = tmp_path / "cases.duckdb"
    rows = [
        good_row("I1", incoterm="FOB"),
        good_row("I2", incoterm=""),
        good_row("I3", incoterm="CIF"),
    ]
    path = write_csv(tmp_path / "a.csv", rows, [*HEADER, "incoterm"])
    assert cli.main(["ingest", str(path), "--db", str(db)]) == 0
    with store.connect(db) as con:
        period = con.execute(
            f"SELECT case_id, incoterm FROM ({period_cases_sql()}) ORDER BY case_id",  # noqa: S608 (fixed SQL)
            bind(date(2026, 3, 1), date(2026, 3, 31), Params(), None),
        ).fetchall()
    assert period == [("I1", "FOB"), ("I2", None), ("I3", "CIF")]
    blanks = quality.missing_fields(quality.AuditScope(store=db))
    assert (blanks["cases"], blanks["incoterm"]) == (3, 1)
