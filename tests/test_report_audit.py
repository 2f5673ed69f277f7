"""analysis.report.audit (and analysis.metrics.quality): the data-quality tables, by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.report import audit, sections
from tests.casefactory import build_store, make_load, make_quarantine


@pytest.fixture
def audited(tmp_path: Path) -> Path:
    cases = [
        dict(case_id="Q1", load_id=1, opened_date="2026-03-01", outcome="open"),
        dict(case_id="Q2", load_id=1, opened_date="2026-03-02", outcome="open", category="other",
             category_raw="Gizmos <i>", category_mapped=False, supplier_name="Acme"),
        dict(case_id="Q3", load_id=2, opened_date="2026-04-03", outcome="open", currency="EUR",
             usd_per_unit=1.1, fx_fallback=True, fx_rate_date="2026-02-27",
             evidence=["photos"], description="ok"),
    ]  # fmt: skip
    loads = [
        make_load(load_id=1, source_file="/srv/a/one.csv", started_at="2026-03-05 10:00:00",
                  inserted=2, quarantined=2),
        make_load(load_id=2, source_file="/srv/a/two.csv", started_at="2026-04-05 10:00:00",
                  inserted=1, rows_read=5),  # 5 read, 1 accounted for: does not add up
    ]  # fmt: skip
    quarantine = [
        make_quarantine(load_id=1, source_file="/srv/a/one.csv", file_sha256="a" * 64,
                        reason="claim_amount: not a number; currency: unknown code 'XYZ'"),
        make_quarantine(load_id=1, source_file="/srv/a/one.csv", file_sha256="a" * 64,
                        reason="claim_amount: not a number"),
        # a problem that itself contains '; ' stays one reason
        make_quarantine(load_id=2, source_file="/srv/a/two.csv", file_sha256="b" * 64,
                        reason="opened_date: ambiguous; declare date_format '01/02/2026'"),
    ]  # fmt: skip
    return build_store(tmp_path / "q.duckdb", cases, loads=loads, quarantine=quarantine)


def test_loads_table_checks_the_counts_add_up(audited):
    table = audit.loads_table(audit.open_audit(db=audited))
    frame = table.frame.set_index("Load")
    assert frame.loc["1", "Adds up"] == "yes"  # 2 inserted + 2 quarantined = 4 read
    assert frame.loc["2", "Adds up"] == "NO"  # 5 read, 1 inserted
    assert frame.loc["1", "File"] == "one.csv"  # no folder layout in a report
    compact = audit.loads_table(audit.open_audit(db=audited), compact=True)
    assert list(compact.frame.columns)[-1] == "Adds up" and len(compact.frame.columns) == 8


def test_audit_scope_is_the_cases_of_the_period_and_the_loads_that_wrote_them(audited):
    # April: Q3 (opened 3 April), written by load 2, which quarantined the ambiguous date
    april = audit.open_audit(db=audited, period="2026-04")
    assert audit.loads_table(april).frame["Load"].tolist() == ["2"]
    assert audit.quarantine_by_reason(april).frame.values.tolist() == [
        ["opened_date: ambiguous; declare date_format", "1", "1",
         "opened_date: ambiguous; declare date_format '01/02/2026'"],
    ]  # fmt: skip
    assert audit.fx_fallbacks(april).frame.values.tolist() == [
        ["EUR", "1", "2026-04-03", "2026-04-03", "2026-02-27"]
    ]
    assert audit.unmapped_categories(april).frame.empty  # Q2 is a March case
    # March: Q1 and Q2, both from load 1 (made on 5 March; the period is the cases', not the
    # loads': a load of historical data made a year later would count the same)
    march = audit.open_audit(db=audited, period="2026-03")
    assert audit.loads_table(march).frame["Load"].tolist() == ["1"]
    assert "the cases opened or closed in 2026-03" in march.description
    # a period without cases has no loads either
    assert audit.loads_table(audit.open_audit(db=audited, period="2025")).frame.empty


def test_field_coverage(tmp_path):
    # load 1 carried escalated_date with 2 values; load 2 carried no escalation column;
    # load 3 is from before coverage was recorded
    cases = [dict(case_id=f"C{i}", load_id=i) for i in (1, 2, 3)]
    loads = [
        make_load(load_id=1, inserted=1, field_coverage='{"case_id": 3, "escalated_date": 2}',
                  extra_columns='{"state": "State"}'),
        make_load(load_id=2, inserted=1, field_coverage='{"case_id": 5}'),
        make_load(load_id=3, inserted=1),
    ]  # fmt: skip
    db = build_store(tmp_path / "c.duckdb", cases, loads=loads)
    table = audit.field_coverage(audit.open_audit(db=db))
    rows = table.frame.set_index("Field")
    assert rows.loc["case_id"].tolist() == ["2 of 3", "8"]
    assert rows.loc["escalated_date"].tolist() == ["1 of 3", "2"]
    assert rows.loc["evidence"].tolist() == ["not recorded", ""]
    assert table.note == "Columns kept outside the intake format (cases.extra): State (state)."


def test_quarantine_reasons_split(audited):
    scope = audit.open_audit(db=audited)
    # row 1 has two reasons, rows 2 and 3 one each: 'claim_amount' twice, the others once; the
    # quoted value is dropped from the kind of reason and kept in the example
    assert audit.quarantine_by_reason(scope).frame.values.tolist() == [
        ["claim_amount: not a number", "2", "1", "claim_amount: not a number"],
        ["currency: unknown code", "1", "1", "currency: unknown code 'XYZ'"],
        ["opened_date: ambiguous; declare date_format", "1", "1",
         "opened_date: ambiguous; declare date_format '01/02/2026'"],
    ]  # fmt: skip
    assert audit.quarantine_by_file(scope).frame[["File", "Rows"]].values.tolist() == [
        ["one.csv", "2"],
        ["two.csv", "1"],
    ]


def test_unmapped_and_missing_fields(audited):
    scope = audit.open_audit(db=audited)
    unmapped = audit.unmapped_categories(scope)
    assert unmapped.frame.values.tolist() == [["Gizmos <i>", "Other", "1"]]
    assert "Gizmos &lt;i&gt;" in unmapped.to_html()
    missing = audit.missing_fields(scope).frame.set_index("Field")
    # 3 cases: evidence only on Q3; supplier_name filled by the factory for all; no decided case
    assert list(missing.loc["Evidence"]) == ["2", "66.7%"]
    assert list(missing.loc["Supplier name"]) == ["0", "0.0%"]
    assert list(missing.loc["Decided by (decided cases only)"]) == ["0", "–"]


def test_report_data_quality_section(audited):
    ctx = sections.open_report(db=audited, period="2026-04", min_n=1)
    group = sections.data_quality(ctx)
    assert [t.name for t in group] == [
        "loads",
        "quarantine_by_reason",
        "unmapped_categories",
        "fx_fallbacks",
        "field_coverage",
    ]
    assert group["fx_fallbacks"].frame["Cases"].tolist() == ["1"]
