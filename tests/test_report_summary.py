"""analysis.report.summary: the one-page client summary's sentences, by hand."""

from __future__ import annotations

from analysis.report import summary
from tests.report_store import context


def test_the_money_sentence_gives_the_share_with_its_interval(store):
    # March: A, B, C, D, E closed with claims of 1000 + 2000 + 10000 + 500 + 1000 = $14,500 and
    # $2,150 refunded; the delta interval of that share by hand in tests/test_report_findings.py
    sentences = summary.answer(context(store)).sentences
    assert sentences[1] == (
        "Of $14,500 claimed in them, $2,150 came back as refunds: 14.8% (0.0%–47.7%) of "
        "everything claimed."
    )
    assert any(s.startswith("Over the 12 months to 2026-03,") for s in sentences)


def test_a_summary_of_twelve_months_does_not_say_them_twice(store):
    # the period is the trailing window itself: its sentence would repeat the first one
    ctx = context(store, period="2025-04-01:2026-03-31")
    assert (ctx.trailing.start, ctx.trailing.end) == (ctx.start, ctx.end)
    sentences = summary.answer(ctx).sentences
    assert not any(s.startswith("Over the 12 months") for s in sentences)
