"""analysis.report.console: `ta-outcomes metrics --format table`."""

from __future__ import annotations

from analysis.metrics import (
    outcome_metrics,
)
from analysis.report import console
from tests.metrics_store import FEB, SMALL


def test_format_table(feb_db):
    table = console.format_table(outcome_metrics(feb_db, *FEB, params=SMALL))
    lines = table.splitlines()
    assert lines[0] == "Trade Assurance dispute outcomes, 2026-02-01 to 2026-02-28"
    assert "  supplier-sided 5 of 8 decided: 62.5% (30.6%–86.3%)" in lines
    machinery = next(line for line in lines if line.strip().startswith("machinery"))
    assert "40.0% (11.8%–76.9%)" in machinery
    electronics = next(line for line in lines if line.strip().startswith("electronics"))
    assert "count only (n<3)" in electronics
    # the buyer's side and the parts a month of eight decided cases cannot carry
    assert "  buyer got nothing or a token, lapses counted: 7 of 10: 70.0% (39.7%–89.2%)" in lines
    assert (
        "  buyers came away with: money back 2, token 3, nothing 2, replacement 1, cancelled 1, "
        "out of coverage 1, withdrawn 1"
    ) in lines
    assert "  (none)" in lines  # no supplier with 30 decided cases
    assert "  not fitted: only 8 decided case(s); the model is fitted from 200" in lines


def test_a_supplier_without_an_expected_count_is_a_dash_not_a_crash(tmp_path):
    from analysis.metrics import Params
    from tests.casefactory import build_store

    # one supplier alone in the window: nobody else to take its expected rates from, E none;
    # S2's only case is outside the window
    db = build_store(
        tmp_path / "alone.duckdb",
        [
            dict(supplier_id="S1", outcome="no_refund", claim_amount=100,
                 opened_date="2026-02-01", closed_date="2026-02-05"),
            dict(supplier_id="S1", outcome="full_refund", claim_amount=100,
                 opened_date="2026-02-01", closed_date="2026-02-05"),
            dict(supplier_id="S2", outcome="no_refund", claim_amount=100,
                 opened_date="2025-02-01", closed_date="2025-02-05"),
        ],
    )  # fmt: skip
    lines = console.format_table(outcome_metrics(db, *FEB, params=Params(min_n_named=2)))
    assert "  S1: O 1 of 2 decided, E –, O/E –; shrunk –, P(true O/E > 1.2) –" in lines.splitlines()
