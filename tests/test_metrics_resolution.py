"""analysis.metrics.resolution: Kaplan-Meier time to resolution, by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.metrics import (
    Params,
    time_to_resolution,
)
from tests.casefactory import build_store


@pytest.fixture(scope="module")
def km_db(tmp_path_factory) -> Path:
    march = dict(category="machinery", outcome="no_refund")
    cases = [
        dict(march, case_id="K1", opened_date="2026-03-01", closed_date="2026-03-03"),  # 2
        dict(march, case_id="K2", opened_date="2026-03-01", closed_date="2026-03-04"),  # 3
        dict(march, case_id="K3", outcome="open", opened_date="2026-03-28"),  # open: censored 3
        dict(march, case_id="K4", opened_date="2026-03-02", closed_date="2026-03-07"),  # 5
        # closed after the end (10 April): censored at 31 March - 23 March = 8
        dict(march, case_id="K5", opened_date="2026-03-23", closed_date="2026-04-10"),
        # a withdrawal is a resolution too
        dict(march, case_id="K6", outcome="withdrawn", opened_date="2026-03-01",
             closed_date="2026-03-11"),  # 10
        # opened in February: not in March's curve
        dict(march, case_id="K0", opened_date="2026-02-20", closed_date="2026-03-05"),
        dict(case_id="X1", category="electronics", opened_date="2026-03-10",
             closed_date="2026-03-11"),  # 1
        dict(case_id="X2", category="electronics", outcome="open",
             opened_date="2026-03-15"),  # censored 16
    ]  # fmt: skip
    return build_store(tmp_path_factory.mktemp("km") / "cases.duckdb", cases)


def test_time_to_resolution_by_hand(km_db):
    result = time_to_resolution(km_db, "2026-03-01", "2026-03-31", params=Params(min_n=6))
    overall = result["overall"]
    # All 8 opened in March: 1, 2, 3, 3+, 5, 8+, 10, 16+ (+ = censored).
    # t=1: 7/8 = 0.875; t=2: x 6/7 = 0.75; t=3: 6 at risk -> x 5/6 = 0.625;
    # t=5: 4 at risk (5, 8+, 10, 16+) -> x 3/4 = 0.46875 <= 0.5 -> median 5;
    # t=10: 2 at risk -> x 1/2 = 0.234375.
    assert (overall["n"], overall["events"], overall["censored"]) == (8, 5, 3)
    assert overall["curve"]["days"].tolist() == [0, 1, 2, 3, 5, 10]
    assert overall["curve"]["survival"].tolist() == pytest.approx(
        [1, 0.875, 0.75, 0.625, 0.46875, 0.234375]
    )
    assert overall["median"] == 5
    # machinery (6 cases: 2, 3, 3+, 5, 8+, 10) is the worked example of test_stats:
    # S = 5/6, 2/3, 4/9, 0 -> median 5, interval (2, 10).
    machinery = result["groups"]["machinery"]
    assert machinery["median"] == 5 and not machinery["suppressed"]
    assert (machinery["median_ci_low"], machinery["median_ci_high"]) == (2, 10)
    # electronics: 2 cases < min_n 6 -> suppressed, no curve or median; counts stay.
    electronics = result["groups"]["electronics"]
    assert electronics["suppressed"] and electronics["median"] is None
    assert electronics["curve"] is None and (electronics["n"], electronics["events"]) == (2, 1)
    summary = result["summary"]
    assert summary["group"].tolist() == ["all", "electronics", "machinery"]
    assert summary["n"].tolist() == [8, 2, 6]


def test_time_to_resolution_without_groups_and_by_evidence(km_db):
    result = time_to_resolution(km_db, "2026-03-01", "2026-03-31", by=None, params=Params(min_n=0))
    assert result["groups"] == {} and result["overall"]["median"] == 5
    # No case has evidence: one group 'none' holding all 8, and the overall counts each once.
    by_evidence = time_to_resolution(km_db, "2026-03-01", "2026-03-31", by="evidence",
                                     params=Params(min_n=0))  # fmt: skip
    assert list(by_evidence["groups"]) == ["none"]
    assert by_evidence["overall"]["n"] == 8 and by_evidence["groups"]["none"]["n"] == 8


def test_time_to_resolution_end_moves_the_censoring(km_db):
    # Ending on 6 March: opened K1 K2 K4 K6 (1-2 March). K1 (2) and K2 (3) closed; K4 (closes
    # on the 7th) censored at 4; K6 (11th) censored at 5. S: 3/4 at 2, 1/2 at 3 -> median 3.
    result = time_to_resolution(km_db, "2026-03-01", "2026-03-06", by=None, params=Params(min_n=0))
    assert (result["overall"]["n"], result["overall"]["events"]) == (4, 2)
    assert result["overall"]["median"] == 3
