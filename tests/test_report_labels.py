"""analysis.report.labels: display names from the vocabularies and the breakdowns."""

from __future__ import annotations

from analysis.report import labels


def test_labels_come_from_the_reference_files():
    assert labels.label("category", "apparel_textiles") == "Apparel & Textiles"
    assert labels.label("claim_type", "quality") == "Quality (not as agreed)"
    assert labels.label("order_value_band", "1k_5k") == "$1k–5k"
    assert labels.label("evidence", "inspection_report") == "inspection report"
    assert labels.label("category", None) == "unknown"
