"""analysis.metrics.blocks: breakdowns, heat map, monthly series and the change against the previous period, by hand."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from analysis.errors import BadParameter
from analysis.metrics import (
    Params,
    block_frame,
    block_frames,
    change_vs_previous,
    heatmap_frame,
    monthly_series,
    outcome_metrics,
)
from analysis.metrics import blocks as metric_blocks
from analysis.metrics.breakdowns import breakdown
from tests.casefactory import build_store, make_case
from tests.metrics_store import FEB, SMALL


def test_outcome_metrics_and_block_frame_are_one_definition(feb_db):
    # The JSON's blocks and the notebooks' frames come from the same code: equal field by field.
    result = outcome_metrics(feb_db, *FEB, params=SMALL)
    overall = block_frame(feb_db, *FEB, None, SMALL)
    assert overall["group"].tolist() == ["all"]
    assert metric_blocks.block_dict(overall.iloc[0]) == _block(result["overall"])
    for by, key in (("category", "by_category"), ("claim_type", "by_claim_type")):
        frame = block_frame(feb_db, *FEB, by, SMALL)
        assert {row["group"]: metric_blocks.block_dict(row) for _, row in frame.iterrows()} == {
            group: _block(block) for group, block in result[key].items()
        }
        # and the groups' pooled rates too
        assert [metric_blocks.json_value(v) for v in frame["pooled_rate"]] == [
            block["pooled_rate"] for block in result[key].values()
        ]


def _block(json_block: dict) -> dict:
    """The block fields of a JSON block (the overall adds its detectable change, a group its
    pooled rate)."""
    return {name: json_block[name] for name in metric_blocks.BLOCK_FIELDS}


def test_block_frames_of_one_scan_equal_each_breakdown_on_its_own(feb_db):
    # the report computes a window's breakdowns together (one grouped scan; evidence, whose
    # cases sit in several groups, on its own): the frames must be block_frame's, value for value
    bys = (None, "category", "claim_type", "escalated", "evidence", "supplier_country")
    frames = block_frames(feb_db, *FEB, bys, SMALL)
    assert set(frames) == set(bys)
    for by in bys:
        pd.testing.assert_frame_equal(frames[by], block_frame(feb_db, *FEB, by, SMALL))
    assert frames["category"].set_index("group")["cases_closed"].sum() == 11
    assert frames[None]["cases_closed"].tolist() == [11]


def test_breakdown_by_evidence_counts_each_kind(feb_db):
    frame = block_frame(feb_db, *FEB, "evidence", SMALL).set_index("group")
    # Closed in February with evidence: M1 [photos], M2 [photos, inspection_report],
    # A1 [photos, video]; the other 8 closed cases have none.
    assert frame["cases_closed"].to_dict() == {
        "inspection_report": 1,
        "none": 8,
        "photos": 3,
        "video": 1,
    }
    # Opened in February: A1 has evidence; M3 M4 A2 E1 E2 E3 M6 (7) have none.
    assert frame.loc["none", "cases_opened"] == 7 and frame.loc["photos", "cases_opened"] == 1
    # photos: M1 (sided), M2 (not), A1 (sided) -> 2 of 3 decided = 0.667 (3 >= min_n 3).
    assert frame.loc["photos", "supplier_sided_rate"] == pytest.approx(2 / 3)
    assert bool(frame.loc["video", "suppressed"])


def test_breakdown_by_escalation_and_unknowns(feb_db):
    frame = block_frame(feb_db, *FEB, "escalated", SMALL).set_index("group")
    # Escalated and closed: M1 M3 A2 E2 = 4; not escalated: the other 7 closed.
    assert frame["cases_closed"].to_dict() == {"escalated": 4, "not_escalated": 7}
    assert frame.loc["escalated", "escalation_rate"] == 1.0
    # decided_by and inspection were never given: everything is 'unknown'.
    assert block_frame(feb_db, *FEB, "decided_by", SMALL)["group"].tolist() == ["unknown"]
    assert block_frame(feb_db, *FEB, "inspection", SMALL)["group"].tolist() == ["unknown"]
    assert block_frame(feb_db, *FEB, "supplier_country", SMALL)["group"].tolist() == ["CN"]
    with pytest.raises(BadParameter, match="breakdown 'colour' unknown"):
        block_frame(feb_db, *FEB, "colour")


def test_order_value_bands(tmp_path):
    values = ["999.99", "1000.00", "4999.99", "5000.00", "19999.99", "20000.00", "100000.00"]
    cases = [
        make_case(
            outcome="no_refund", order_value=v, claim_amount="10.00", closed_date="2026-02-10"
        )
        for v in values
    ]
    # 950 EUR at 1.1 = 1045 USD: banded on the dollar value -> 1k_5k.
    cases.append(
        make_case(outcome="no_refund", currency="EUR", usd_per_unit=1.1, order_value=950,
                  claim_amount=10, closed_date="2026-02-10")
    )  # fmt: skip
    db = build_store(tmp_path / "bands.duckdb", cases)
    frame = block_frame(db, *FEB, "order_value_band", Params(min_n=0))
    # In band order, not alphabetical.
    assert frame["group"].tolist() == ["under_1k", "1k_5k", "5k_20k", "20k_100k", "100k_plus"]
    assert frame["cases_closed"].tolist() == [1, 3, 2, 1, 1]


def test_a_case_without_an_order_value_is_in_no_order_value_band(tmp_path):
    # issue 24.6: a case with no order value fell into the highest band, 100k_plus
    cases = [
        make_case(
            outcome="no_refund", order_value=v, claim_amount="10.00", closed_date="2026-02-10"
        )
        for v in ("500.00", "1.00", "1.00", "150000.00")
    ]
    for case in cases[1:3]:  # (make_case fills a missing order value in from the claim)
        case.update(order_value=None, order_value_usd=None)
    db = build_store(tmp_path / "bands.duckdb", cases)
    frame = block_frame(db, *FEB, "order_value_band", Params(min_n=0))
    assert frame["group"].tolist() == ["under_1k", "100k_plus", "not_recorded"]
    assert frame["cases_closed"].tolist() == [1, 1, 2]
    assert breakdown("order_value_band").label("not_recorded") == "not recorded"


def test_breakdown_by_supplier(tmp_path):
    db = build_store(
        tmp_path / "s.duckdb",
        [
            make_case(supplier_id="S1", outcome="no_refund", closed_date="2026-02-03"),
            make_case(supplier_id="S1", outcome="full_refund", closed_date="2026-02-04"),
            make_case(supplier_id="S2", outcome="no_refund", closed_date="2026-02-05"),
        ],
    )
    frame = block_frame(db, *FEB, "supplier_id", Params(min_n=2)).set_index("group")
    # S1: 1 of 2 sided -> 0.5; S2: 1 decided < 2 -> suppressed.
    assert frame.loc["S1", "supplier_sided_rate"] == 0.5
    assert bool(frame.loc["S2", "suppressed"]) and math.isnan(
        frame.loc["S2", "supplier_sided_rate"]
    )


def test_heatmap_frame(feb_db):
    frame = heatmap_frame(feb_db, *FEB, SMALL)
    pairs = list(zip(frame["category"], frame["claim_type"], strict=True))
    assert pairs == [
        ("apparel_textiles", "damaged"),
        ("apparel_textiles", "quality"),
        ("apparel_textiles", "quantity"),
        ("electronics", "late_shipment"),
        ("electronics", "non_delivery"),
        ("electronics", "quality"),
        ("machinery", "compliance"),
        ("machinery", "quality"),
    ]
    cell = frame.set_index(["category", "claim_type"])
    # machinery x quality: M1 M3 M4 M5 decided, M1 M3 sided -> 2/4 = 0.5.
    assert cell.loc[("machinery", "quality"), "supplier_sided_rate"] == 0.5
    # apparel x quality: A1 A2, 2 decided < 3 -> NaN and flagged suppressed.
    assert math.isnan(cell.loc[("apparel_textiles", "quality"), "supplier_sided_rate"])
    assert bool(cell.loc[("apparel_textiles", "quality"), "suppressed"])
    assert cell.loc[("apparel_textiles", "quality"), "supplier_sided"] == 2


def test_monthly_series(feb_db):
    frame = monthly_series(feb_db, "2026-02-28", months=4, params=SMALL)
    assert frame["month"].tolist() == ["2025-11", "2025-12", "2026-01", "2026-02"]
    # Nov: nothing. Dec: M7 opened. Jan: opened M1 M2 M5 A3 A4 P1 = 6; closed M7 (sided) = 1.
    # Feb: as the overall block (opened 8, closed 11, decided 8, sided 5).
    assert frame["cases_opened"].tolist() == [0, 1, 6, 8]
    assert frame["cases_closed"].tolist() == [0, 0, 1, 11]
    assert frame["decided"].tolist() == [0, 0, 1, 8]
    assert frame["supplier_sided"].tolist() == [0, 0, 1, 5]
    assert frame["suppressed"].tolist() == [True, True, True, False]
    assert frame["supplier_sided_rate"].iloc[3] == pytest.approx(0.625)
    assert frame["supplier_sided_rate"].iloc[:3].isna().all()
    assert frame["complete"].all()
    # The February row is the same block as the JSON's overall (one definition).
    feb_json = outcome_metrics(feb_db, *FEB, params=SMALL)["overall"]
    assert metric_blocks.block_dict(frame.iloc[3]) == _block(feb_json)


def test_monthly_series_stops_at_end(feb_db):
    frame = monthly_series(feb_db, date(2026, 2, 14), months=2, params=Params(min_n=0))
    assert frame["month"].tolist() == ["2026-01", "2026-02"]
    # February up to the 14th: closed M1 (1st) A4 (3rd) M2 (9th) M3 (12th) E2 (13th) M5 (14th)
    # = 6; opened M4 (1st) M3 (2nd) A1 (3rd) A2 (4th) E1 (10th) E2 (11th) = 6.
    assert frame["cases_closed"].tolist() == [1, 6]
    assert frame["cases_opened"].tolist() == [6, 6]
    assert frame["complete"].tolist() == [True, False]
    assert frame["month_end"].tolist() == [date(2026, 1, 31), date(2026, 2, 14)]


def _change_store(db: Path, previous_sided: int, previous_decided: int = 40) -> Path:
    """February: 40 no_refund/full_refund decisions, 30 of them refusals. January (closed on the
    10th): ``previous_decided`` decisions, ``previous_sided`` refusals. Plus two refusals closed
    on 2 January, inside January but outside the 28 days before 1 February."""
    cases = [
        make_case(outcome="no_refund" if i < 30 else "full_refund",
                  opened_date="2026-02-01", closed_date="2026-02-20")
        for i in range(40)
    ] + [
        make_case(outcome="no_refund" if i < previous_sided else "full_refund",
                  opened_date="2026-01-01", closed_date="2026-01-10")
        for i in range(previous_decided)
    ] + [
        make_case(outcome="no_refund", opened_date="2025-12-20", closed_date="2026-01-02")
        for _ in range(2)
    ]  # fmt: skip
    return build_store(db, cases)


def test_change_vs_previous_flags_a_significant_change(tmp_path):
    db = _change_store(tmp_path / "c.duckdb", previous_sided=10)
    # The range 1-28 Feb is compared with the 28 days before: 4-31 January, which leaves out
    # the two cases of 2 January: 30/40 against 10/40.
    # pooled p = 40/80 = 0.5, se = sqrt(0.5 * 0.5 * (1/40 + 1/40)) = 0.111803,
    # z = 0.5 / 0.111803 = 4.472136, p = 2 * (1 - Phi(4.472136)) = 7.744e-6 < 0.05 -> flagged.
    frame = change_vs_previous(db, "2026-02-01:2026-02-28", Params(min_n=30)).set_index("metric")
    assert frame.attrs["previous_start"] == "2026-01-04"
    assert frame.attrs["previous_end"] == "2026-01-31"
    row = frame.loc["supplier_sided_rate"]
    assert (row["current"], row["previous"], row["difference"]) == pytest.approx((0.75, 0.25, 0.5))
    assert row["p_value"] == pytest.approx(7.744e-6, rel=1e-3)
    # the pooled refund ratio's change: 80 monetary cases, so the bootstrap (the delta method
    # only past settings.BOOTSTRAP_MAX_CASES), and the method is named beside the interval
    ratio = frame.loc["refund_ratio_pooled"]
    assert ratio["difference_method"] == "bootstrap"
    assert ratio["difference_ci_low"] <= ratio["difference"] <= ratio["difference_ci_high"]
    assert bool(row["flagged"]) and (row["current_n"], row["previous_n"]) == (40, 40)
    # Nobody escalated in either period: 0/40 against 0/40, p = 1, not flagged.
    assert frame.loc["escalation_rate", "p_value"] == 1.0
    assert not frame.loc["escalation_rate", "flagged"]
    # Counts: difference only, never a test.
    assert frame.loc["decided", "difference"] == 0
    assert pd.isna(frame.loc["decided", "p_value"]) and not frame.loc["decided", "flagged"]

    # As a calendar month, February's previous period is all of January: 42 decided.
    month = change_vs_previous(db, "2026-02", Params(min_n=30)).set_index("metric")
    assert month.attrs["previous"] == "2026-01"
    assert month.loc["decided", "previous"] == 42


def test_change_vs_previous_not_significant(tmp_path):
    db = _change_store(tmp_path / "c.duckdb", previous_sided=26)
    # 30/40 against 26/40: pooled 56/80 = 0.7, se = sqrt(0.7 * 0.3 * 0.05) = 0.102470,
    # z = 0.1 / 0.102470 = 0.975900, p = 0.329 > 0.05 -> not flagged.
    row = (
        change_vs_previous(db, "2026-02-01:2026-02-28")
        .set_index("metric")
        .loc["supplier_sided_rate"]
    )
    assert row["p_value"] == pytest.approx(0.3291, abs=1e-3)
    assert not row["flagged"]


def test_change_vs_previous_needs_both_periods_unsuppressed(tmp_path):
    # January has 9 decided (< min_n_rate 10): however large the change, nothing is flagged or
    # tested.
    db = _change_store(tmp_path / "c.duckdb", previous_sided=0, previous_decided=9)
    frame = change_vs_previous(db, "2026-02-01:2026-02-28").set_index("metric")
    row = frame.loc["supplier_sided_rate"]
    assert pd.isna(row["previous"]) and pd.isna(row["difference"])
    assert pd.isna(row["p_value"]) and not row["flagged"] and not row["comparable"]
    assert frame.attrs["previous_suppressed"] and not frame.attrs["current_suppressed"]
    assert frame.loc["decided", "previous"] == 9
