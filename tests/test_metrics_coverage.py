"""analysis.metrics.coverage: the fields a window's exports did not record."""

from __future__ import annotations

import dataclasses

from analysis import columns
from analysis.metrics import breakdowns, catalogue, coverage, effects


def test_every_field_a_figure_a_breakdown_or_a_factor_needs_is_one_the_registry_lists():
    # issue 25.4: coverage.py listed the fields by hand, beside the catalogue's `needs`, the
    # breakdowns and the model's factors; a field needed but not listed was never "not recorded"
    needed = {m.needs for m in catalogue.METRICS if m.needs}
    needed |= {b.needs for b in breakdowns.BY_NAME.values() if b.needs}
    needed |= set(effects.FACTOR_FIELDS.values())
    assert needed <= set(coverage.FIELD_FIGURES)
    assert tuple(coverage.FIELD_FIGURES) == columns.NOT_RECORDED_FIELDS
    assert coverage.BREAKDOWN_FIELDS == {
        "inspection": "inspection",
        "evidence": "evidence",
        "escalated": "escalated_date",
        "decided_by": "decided_by",
    }
    assert coverage.FIELD_FIGURES["escalated_date"] == ("escalated", "escalation_rate")


def test_the_columns_that_record_a_field_come_from_the_registry(monkeypatch):
    # escalation is recorded by its date or by the yes/no column (issue 28): the registry's
    # `records`, so a second recorder is one registry edit
    assert coverage._recorders(("escalated_date", "evidence")) == {
        "fields": ["escalated_date", "escalated_date", "evidence"],
        "recorders": ["escalated_date", "escalated", "evidence"],
    }
    intake = tuple(
        dataclasses.replace(c, records="evidence") if c.name == "inspection" else c
        for c in columns.INTAKE
    )
    monkeypatch.setattr(columns, "INTAKE", intake)
    assert coverage._recorders(("evidence",))["recorders"] == ["evidence", "inspection"]
