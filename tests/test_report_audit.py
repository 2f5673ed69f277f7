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
        dict(case_id="Q3", load_id=2, opened_date="2026-03-03", outcome="open", currency="EUR",
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


def test_audit_scope_by_load_period(audited):
    april = audit.open_audit(db=audited, period="2026-04")
    assert audit.loads_table(april).frame["Load"].tolist() == ["2"]
    assert audit.quarantine_by_reason(april).frame.values.tolist() == [
        ["opened_date: ambiguous; declare date_format", "1", "1",
         "opened_date: ambiguous; declare date_format '01/02/2026'"],
    ]  # fmt: skip
    assert audit.fx_fallbacks(april).frame.values.tolist() == [
        ["EUR", "1", "2026-03-03", "2026-03-03", "2026-02-27"]
    ]
    assert audit.unmapped_categories(april).frame.empty  # Q2 came with load 1


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
    ctx = sections.open_report(db=audited, period="2026-03", min_n=1)
    group = sections.data_quality(ctx)
    assert [t.name for t in group] == [
        "loads",
        "quarantine_by_reason",
        "unmapped_categories",
        "fx_fallbacks",
    ]
    assert group["fx_fallbacks"].frame["Cases"].tolist() == ["1"]
