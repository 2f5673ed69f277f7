"""analysis.report.methodology: every definition, the parameters used, the limits."""

from __future__ import annotations

from analysis import metrics
from analysis.report import sections
from tests.report_store import context


def test_methodology_has_every_definition_and_the_limits(store):
    group = sections.methodology(context(store))
    terms = group["definitions"].frame["Term"].tolist()
    assert terms == [name for name, _ in metrics.DEFINITIONS]
    assert group["parameters_used"].frame.values.tolist()[2] == [
        "min_n",
        "2",
        "groups with fewer decided cases are suppressed",
    ]
    limits = group["limitations"].frame.iloc[:, 0].tolist()
    assert len(limits) >= 3 and all("`" not in item for item in limits)
