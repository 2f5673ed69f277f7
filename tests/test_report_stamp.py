"""analysis.report.stamp: the reproducibility stamp."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb

from analysis.metrics import provenance
from analysis.report import audit, sections
from tests.report_store import context


def test_stamp(store):
    now = datetime(2026, 4, 2, 8, 30, tzinfo=UTC)
    table = sections.stamp(context(store), now=now)["stamp"]
    items = dict(table.frame.values.tolist())
    assert items["Generated at"] == "2026-04-02 08:30:00 UTC"
    assert items["Parameter db"] == "cases.duckdb"
    assert items["Parameter period"] == "2026-03"
    assert items["Cases in the store"] == "8"
    assert items["Cases closed in the period"] == "5"
    assert items["Data fingerprint (SHA-256)"] == provenance.data_fingerprint(store)["digest"]
    assert items["Library duckdb"] == duckdb.__version__
    assert table.record["code"]["analysis"] == items["Code version (analysis)"]
    audit_stamp = sections.stamp(audit.open_audit(db=store), now=now)["stamp"]
    assert dict(audit_stamp.frame.values.tolist())["Scope"] == "every load in the store"
