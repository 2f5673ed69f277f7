"""analysis.report.methodology: every definition, the parameters used, the limits."""

from __future__ import annotations

from analysis import metrics
from analysis.report import sections
from tests.report_store import context


def test_methodology_has_every_definition_and_the_limits(store):
    group = sections.methodology(context(store))
    terms = group["definitions"].frame["Term"].tolist()
    assert terms == [name for name, _ in metrics.DEFINITIONS]
    # context(store) runs with min_n 2, so min_n_rate is 2 too (it may not exceed min_n)
    assert group["parameters_used"].frame.values.tolist()[2:5] == [
        ["min_n_rate", "2", "a rate is given from this many decided cases"],
        ["min_n", "2", "a rate on fewer decided cases is marked 'few cases'"],
        ["min_n_named", "30", "a supplier is named from this many decided cases"],
    ]
    limits = group["limitations"].frame.iloc[:, 0].tolist()
    assert len(limits) >= 3 and all("`" not in item for item in limits)
