"""analysis.metrics.scorecard: the supplier's own figures."""

from __future__ import annotations

import pytest

from analysis.errors import BadParameter
from analysis.metrics.scorecard import supplier_name
from tests.casefactory import build_store


def test_the_name_is_the_one_on_the_latest_case_ties_broken_by_load_and_row(tmp_path):
    # an open case counts by its opened date; on the same latest day the later load, then the
    # later record, gives the name
    db = build_store(
        tmp_path / "names.duckdb",
        [
            dict(supplier_id="S1", supplier_name="First", closed_date="2026-03-10", source_row=1),
            dict(supplier_id="S1", supplier_name="Open Later", outcome="open", closed_date=None,
                 opened_date="2026-04-02", source_row=2),
            dict(supplier_id="S1", supplier_name="Row 9", closed_date="2026-04-02", source_row=9),
            dict(supplier_id="S1", supplier_name="Row 4", closed_date="2026-04-02", source_row=4),
            dict(supplier_id="S2", supplier_name="Load 1", closed_date="2026-04-02", source_row=5),
            dict(supplier_id="S2", supplier_name="Load 2", closed_date="2026-04-02", source_row=1,
                 load_id=2),
        ],
    )  # fmt: skip
    assert supplier_name(db, "S1") == "Row 9"
    assert supplier_name(db, "S2") == "Load 2"
    with pytest.raises(BadParameter, match="no case in the store has it"):
        supplier_name(db, "S3")
