"""analysis.vocab: the vocabularies of data/reference, the only source of slugs and outcome classes."""

from __future__ import annotations

import functools
import shutil
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from analysis import metrics, sqlfiles, store, vocab
from analysis.errors import BadFile
from tests.conftest import fetch, good_row, write_csv

ROOT = Path(__file__).resolve().parents[1]


def test_outcome_classes_come_from_outcomes_csv():
    words = vocab.vocabulary(ROOT / "data" / "reference")
    assert words.final == ("full_refund", "partial_refund", "no_refund", "replacement",
                           "withdrawn", "cancelled", "out_of_coverage")  # fmt: skip
    assert words.decided == ("full_refund", "partial_refund", "no_refund", "replacement")
    assert words.monetary == ("full_refund", "partial_refund", "no_refund")
    assert words.lapsed == ("withdrawn", "cancelled", "out_of_coverage")
    assert words.buyer_loss == ("cancelled", "out_of_coverage")


def test_display_names_and_resolving_a_spelling():
    words = vocab.vocabulary()
    assert words.display_name("category", "apparel_textiles") == "Apparel & Textiles"
    assert words.display_name("inspection", "bv") == "Bureau Veritas"
    assert words.display_name("coverage", "pre_shipment") == "pre shipment"  # none given
    assert words.resolve("category", " APPAREL & textiles ") == "apparel_textiles"
    assert words.resolve("category", "garments") == "apparel_textiles"
    assert words.resolve("category", "gizmos") is None


# Characters whose letter-or-digit status has not changed between Unicode versions (Python's
# and DuckDB's regular expressions each use their own; code points added recently differ).
SPELLINGS = st.text(st.characters(max_codepoint=0x2FFF, exclude_categories=("Cs",)), max_size=30)


@functools.cache
def _macros():
    con = store.open_duckdb()
    store.run_script(con, sqlfiles.sql("ingest", "macros.sql"))
    return con


@settings(max_examples=150, deadline=None)
@given(st.lists(SPELLINGS, min_size=1, max_size=30))
# found by Hypothesis: Python's final sigma ('AΣ' -> 'aς') and dotted capital I ('İ' -> 'i' and a
# combining dot); DuckDB lowers each character alone
@example(["AΣ", "ΣΑΣ Σ", "İzmir", "\u0130"])
def test_the_python_key_is_the_sql_key(texts):
    sql = (
        _macros()
        .execute(
            "SELECT ta_key(t) FROM unnest(?::VARCHAR[]) WITH ORDINALITY AS u(t, i) ORDER BY i",
            [texts],
        )
        .fetchall()
    )
    assert [vocab.key(t) for t in texts] == [row[0] for row in sql]


def _copy_reference(tmp_path: Path) -> Path:
    folder = tmp_path / "reference"
    shutil.copytree(ROOT / "data" / "reference", folder)
    return folder


def test_an_outcome_added_to_the_csv_is_ingested_and_counted_with_no_code_change(
    tmp_path, monkeypatch
):
    # issue 9: the classes were hard-coded in five places; a new row changed ingest but not metrics
    folder = _copy_reference(tmp_path)
    with open(folder / "outcomes.csv", "a", encoding="utf-8") as fh:
        fh.write("goodwill_credit,Goodwill credit,true,true,true,false,,store credit|goodwill\n")
    monkeypatch.setenv("TA_OUTCOMES_REFERENCE", str(folder))
    db = tmp_path / "cases.duckdb"
    rows = [
        # a credit of 50 on a claim of 1000: monetary, below 10% -> supplier-sided
        good_row("G1", outcome="store credit", refund_amount="50"),
        good_row("G2", outcome="Goodwill credit", refund_amount="900"),
        good_row("N1", outcome="no_refund"),
    ]
    from analysis import cli

    assert cli.main(["ingest", str(write_csv(tmp_path / "g.csv", rows)), "--db", str(db)]) == 0
    assert fetch(db, "SELECT case_id, outcome FROM cases ORDER BY 1") == [
        ("G1", "goodwill_credit"), ("G2", "goodwill_credit"), ("N1", "no_refund"),
    ]  # fmt: skip
    overall = metrics.outcome_metrics(db, "2026-04-01", "2026-04-30")["overall"]
    assert (overall["cases_closed"], overall["decided"], overall["monetary_decisions"]) == (3, 3, 3)
    assert (overall["supplier_sided"], overall["lapsed"]) == (2, 0)
    assert overall["claimed_usd"] == 3000 and overall["refunded_usd"] == 950


def test_a_broken_reference_file_is_one_line(tmp_path):
    folder = _copy_reference(tmp_path)
    with open(folder / "outcomes.csv", "a", encoding="utf-8") as fh:
        fh.write("odd,Odd,false,true,true,false,\n")  # decided but not final
    with pytest.raises(BadFile, match="odd: a decided outcome must be final"):
        vocab.vocabulary(folder)
    (folder / "claim_types.csv").unlink()
    with pytest.raises(BadFile, match="claim_types.csv: reference file missing"):
        vocab.vocabulary(folder)
