"""analysis.report.fmt: every way a figure is written."""

from __future__ import annotations

from analysis.report import fmt


def test_formatters():
    assert fmt.pct(0.41234) == "41.2%"
    assert fmt.pct(None) == "–"
    assert fmt.pct(float("nan")) == "–"
    assert fmt.count(12345) == "12,345"
    assert fmt.usd(12345.6) == "$12,346"
    assert fmt.days(23.0) == "23" and fmt.days(23.5) == "23.5"
    assert fmt.points(0.031) == "+3.1 pts"
    assert fmt.signed(-2) == "-2"
    assert fmt.rate_ci(0.5, 0.15, 0.85, False, 30) == "50.0% (15.0%–85.0%)"
    assert fmt.rate_ci(None, None, None, True, 10) == "count only (n<10)"
    assert fmt.rate_ci(0.5, 0.2, 0.8, False, 10, few=True) == "50.0% (20.0%–80.0%) few cases"
    assert fmt.level(0.998) == "99.8%" and fmt.FLAG_LIMITS == "99.8% limits"
    assert fmt.rate_ci(None, None, None, False, 30) == "–"


def test_identifiers_are_clipped_never_masked():
    # a 16-digit Alibaba order number as a case id looks like a phone number to the masking
    order = "2026031512345678"
    assert fmt.identifier(order) == order
    assert fmt.clean_text(f"call {order}") == "call [phone hidden]"  # free text still masked
    assert fmt.identifier("X" * 70, 10) == "XXXXXXXXX…" and fmt.identifier(None) == ""
    assert fmt.name_or_id(None, order) == order
    assert fmt.name_or_id("Li +86 138 0013 8000", order) == "Li [phone hidden]"
