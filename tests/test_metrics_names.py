"""analysis.metrics.names: one name per supplier, used everywhere (issue 28.6)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from analysis import explore
from analysis.errors import BadFile
from analysis.ingest import ingest_file, reference
from analysis.metrics import Params, scorecard, suppliers
from tests.conftest import HEADER, TODAY, fetch, good_row, write_csv

ROOT = Path(__file__).resolve().parents[1]
HUAXIN = "Shenzhen Huaxin Electronics Co., Ltd."


@pytest.fixture
def ref(tmp_path) -> Path:
    """The shipped reference folder, with an alias file that names one supplier."""
    folder = tmp_path / "reference"
    shutil.copytree(ROOT / "data" / "reference", folder)
    (folder / "supplier_aliases.csv").write_text(
        "alias,supplier_id,name\n"
        "SZ Huaxin Electronics Co Ltd,SUP-7,\n"
        f'Huaxin Elec.,SUP-7,"{HUAXIN}"\n',
        encoding="utf-8",
    )
    return folder


def _load(tmp_path, ref, db):
    rows = [
        # the tracker writes the supplier three ways; two of them are aliases
        good_row("H1", supplier_id="SZ Huaxin Electronics Co Ltd",
                 supplier_name="SZ Huaxin Electronics Co Ltd", closed_date="2026-04-03"),
        good_row("H2", supplier_id="Huaxin Elec.", supplier_name="Huaxin Elec.",
                 closed_date="2026-04-02"),
        good_row("H3", supplier_id="SUP-7", supplier_name="Huaxin", closed_date="2026-04-04"),
        # no name in the alias file: the name on its latest case
        good_row("A1", supplier_id="S2", supplier_name="ACME Corp", closed_date="2026-04-01"),
        good_row("A2", supplier_id="S2", supplier_name="Acme Corporation",
                 closed_date="2026-04-05"),
    ]  # fmt: skip
    path = write_csv(tmp_path / "t.csv", rows, [*HEADER, "supplier_name"])
    assert ingest_file(path, db, today=TODAY, reference_dir=ref).inserted == 5


def test_a_supplier_has_one_name_everywhere(tmp_path, ref, db, monkeypatch):
    monkeypatch.setenv("TA_OUTCOMES_REFERENCE", str(ref))
    _load(tmp_path, ref, db)
    assert fetch(db, "SELECT supplier_id, name FROM suppliers ORDER BY 1") == [
        ("S2", "Acme Corporation"), ("SUP-7", HUAXIN)]  # fmt: skip
    # the scorecard (it printed the latest raw spelling before)
    assert scorecard.supplier_name(db, "SUP-7") == HUAXIN
    assert scorecard.supplier_name(db, "S2") == "Acme Corporation"
    # the supplier comparison
    frame = suppliers.observed_expected(db, "2026-04-01", "2026-04-30", Params(min_n=1))
    assert dict(zip(frame["supplier_id"], frame["supplier_name"], strict=True)) == {
        "S2": "Acme Corporation", "SUP-7": HUAXIN}  # fmt: skip
    # explore: grouping by the name no longer splits the aliased supplier
    cases = explore.cases("2026-04-01", "2026-04-30", db=db)
    assert cases.groupby("supplier_name").size().to_dict() == {"Acme Corporation": 2, HUAXIN: 3}
    received = dict(zip(cases["case_id"], cases["supplier_name_as_received"], strict=True))
    assert received["H1"] == "SZ Huaxin Electronics Co Ltd" and received["A1"] == "ACME Corp"
    # the stored case keeps the spelling it was exported with
    assert fetch(db, "SELECT supplier_name FROM cases WHERE case_id = 'H2'") == [("Huaxin Elec.",)]


def test_a_name_added_to_the_alias_file_reaches_the_store_with_the_next_load(tmp_path, ref, db):
    _load(tmp_path, ref, db)
    (ref / "supplier_aliases.csv").write_text("alias,supplier_id,name\nAcme,S2,ACME Corp.\n")
    other = write_csv(tmp_path / "o.csv", [good_row("Z1", supplier_id="S9")])
    ingest_file(other, db, today=TODAY, reference_dir=ref)
    assert fetch(db, "SELECT name FROM suppliers WHERE supplier_id = 'S2'") == [("ACME Corp.",)]


def test_two_names_for_one_supplier_are_refused(tmp_path):
    (tmp_path / "supplier_aliases.csv").write_text(
        "alias,supplier_id,name\nA,S1,Alpha Ltd\nB,S1,Alpha Limited\n"
    )
    with pytest.raises(
        BadFile, match=r"line 3: supplier S1 is named 'Alpha Ltd' and 'Alpha Limited'"
    ):
        reference.supplier_names(tmp_path)


def test_the_scorecard_heads_with_the_one_name(tmp_path, ref, db):
    # it printed "SZ Huaxin Electronics Co Ltd (Shenzhen Huaxin Electronics Co., Ltd.)": the
    # latest case's spelling before the id; a name that is the id itself is said once
    from analysis.report.scorecard import open_scorecard

    _load(tmp_path, ref, db)
    card = open_scorecard(db, "SUP-7", start="2026-04-01", end="2026-04-30")
    assert card.who == f"{HUAXIN} (SUP-7)"
    card.store.close()  # as the scorecard's last section does: the ingest below writes the store
    (ref / "supplier_aliases.csv").write_text(
        f'alias,supplier_id,name\nX,S2,S2\n"{HUAXIN}",SUP-7,\n'
    )
    ingest_file(write_csv(tmp_path / "o.csv", [good_row("Z1")]), db, today=TODAY, reference_dir=ref)
    assert open_scorecard(db, "S2", start="2026-04-01", end="2026-04-30").who == "S2"
