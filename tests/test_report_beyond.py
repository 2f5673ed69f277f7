"""analysis.report.beyond: the sections "What the platform said" and "Beyond the platform"."""

from __future__ import annotations

from analysis.ingest import load
from analysis.report import sections
from tests.conftest import HEADER, TODAY, good_row, write_csv
from tests.test_metrics_beyond import AFTER, PLATFORM_ROWS

ROWS = PLATFORM_ROWS


def _report(tmp_path, rows, header):
    db = tmp_path / "cases.duckdb"
    load.ingest_paths([write_csv(tmp_path / "t.csv", rows, header)], db, today=TODAY)
    return sections.open_report(db=str(db), period="2026-04")


def test_what_the_platform_said_by_hand(tmp_path):
    # 3 reasons recorded of 4 platform refusals closed in April 2026: "operational" twice, both
    # against an inspection report or a lab test; counts only (fewer than min_n_rate cases)
    ctx = _report(tmp_path, ROWS, [*HEADER, *AFTER])
    group = sections.platform_said(ctx)
    table = group["platform_reasons"].frame
    assert list(table["Reason"]) == ["product is operational", "normal variation"]
    assert list(table["Period: cases (share of reasons)"]) == ["2 of 3", "1 of 3"]
    assert list(table["Period: against an inspection report or lab test"]) == ["2 of 2", "0 of 1"]
    assert "decided 4 case(s) for the supplier; 3 record its reason, 2 of them" in (
        group["platform_reasons"].note
    )
    assert list(group["platform_reasons_by_claim_type"].frame.columns) == [
        "Reason",
        "Quality (not as agreed)",
    ]


def test_beyond_the_platform_by_hand(tmp_path):
    ctx = _report(tmp_path, ROWS, [*HEADER, *AFTER])
    group = sections.beyond_platform(ctx)
    routes = group["beyond_routes"].frame.set_index("Route")
    assert routes.loc["All routes", "Period: taken further"] == "3 of 4"
    assert routes.loc["All routes", "Period: recovered"] == "1 of 3"
    assert routes.loc["card chargeback", "Period: recovered (USD)"] == "$900"
    assert routes.loc["card chargeback", "12 months: median time to recover"] == "30 days"
    both = group["beyond_both_stages"].frame.set_index("Figure")["Period"]
    assert both["Claimed (USD)"] == "$4,000"
    assert both["Back to the buyer over both stages"] == "$900 (22.5% of the claims)"


def test_an_old_export_says_not_recorded(tmp_path):
    ctx = _report(tmp_path, [good_row("O1"), good_row("O2")], HEADER)
    for section, field in ((sections.platform_said, "platform_reason"),
                           (sections.beyond_platform, "after_route")):  # fmt: skip
        (table,) = section(ctx)
        assert table.frame.iloc[0, 0] == f"{field}: not recorded"
        assert "not recorded (not zero)" in table.note


def test_a_period_without_a_platform_decision_for_the_supplier_shows_zero(tmp_path):
    # the trailing 12 months hold April's decisions, May none: the period's counts over no case
    # came back NULL (count_if over no row) and the section failed on int(NaN), in 7 of the 10
    # reports of `--each category` on a 250-case store
    db = tmp_path / "cases.duckdb"
    load.ingest_paths([write_csv(tmp_path / "t.csv", ROWS, [*HEADER, *AFTER])], db, today=TODAY)
    ctx = sections.open_report(db=str(db), period="2026-05")
    group = sections.beyond_platform(ctx)
    routes = group["beyond_routes"].frame.set_index("Route")
    assert routes.loc["All routes", "Period: taken further"] == "0"
    assert routes.loc["All routes", "12 months: taken further"] == "3 of 4"
    said = sections.platform_said(ctx)["platform_reasons"].frame
    assert list(said["12 months: cases (share of reasons)"]) == ["2 of 3", "1 of 3"]
