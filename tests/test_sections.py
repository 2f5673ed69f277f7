"""Tests for analysis.sections: the report tables, on small stores worked out by hand."""

from __future__ import annotations

import functools
import hashlib
import operator
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from analysis import metrics, paths, sections
from analysis.errors import BadParameter
from analysis.privacy import EMAIL_MASK, PHONE_MASK
from analysis.store import StoreMissing
from tests.casefactory import build_store, make_load, make_quarantine

HOSTILE = "<script>alert(1)</script>"
DESCRIPTION = "Call me: +86 138 0013 8000 or li@example.com <b>now</b>"

# The small store most tests use. Report period 2026-03, previous period 2026-02.
#
#   id  category     outcome         claim   refund  opened      closed      notes
#   A   machinery    no_refund        1000        0  2026-02-20  2026-03-05  escalated, supplier S9
#   B   machinery    full_refund      2000     2000  2026-03-01  2026-03-11
#   C   electronics  partial_refund  10000      150  2026-03-02  2026-03-22  lowball, compliance,
#                                                                            hostile supplier S7
#   D   electronics  replacement       500        -  2026-03-03  2026-03-13
#   E   machinery    withdrawn        1000        -  2026-03-05  2026-03-15
#   F   machinery    open             1000        -  2026-03-10  -
#   G   machinery    no_refund        1000        0  2026-01-10  2026-02-10  supplier S9
#   H   machinery    full_refund      1000     1000  2026-01-15  2026-02-15
CASES = [
    dict(case_id="A", category="machinery", outcome="no_refund", claim_amount=1000,
         opened_date="2026-02-20", closed_date="2026-03-05", escalated_date="2026-02-27",
         supplier_id="S9", supplier_name="Nine Ltd", decided_by="platform"),
    dict(case_id="B", category="machinery", outcome="full_refund", claim_amount=2000,
         opened_date="2026-03-01", closed_date="2026-03-11", supplier_id="S1",
         decided_by="agreement"),
    dict(case_id="C", category="electronics", outcome="partial_refund", claim_amount=10000,
         refund_amount=150, opened_date="2026-03-02", closed_date="2026-03-22",
         claim_type="compliance", supplier_id="S7", supplier_name=HOSTILE,
         description=DESCRIPTION, decided_by="platform"),
    dict(case_id="D", category="electronics", outcome="replacement", claim_amount=500,
         opened_date="2026-03-03", closed_date="2026-03-13", supplier_id="S2",
         decided_by="agreement"),
    dict(case_id="E", category="machinery", outcome="withdrawn", claim_amount=1000,
         opened_date="2026-03-05", closed_date="2026-03-15", supplier_id="S2"),
    dict(case_id="F", category="machinery", outcome="open", claim_amount=1000,
         opened_date="2026-03-10", supplier_id="S2"),
    dict(case_id="G", category="machinery", outcome="no_refund", claim_amount=1000,
         opened_date="2026-01-10", closed_date="2026-02-10", supplier_id="S9",
         supplier_name="Nine Ltd"),
    dict(case_id="H", category="machinery", outcome="full_refund", claim_amount=1000,
         opened_date="2026-01-15", closed_date="2026-02-15", supplier_id="S1"),
]  # fmt: skip


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return build_store(tmp_path / "cases.duckdb", CASES)


def context(db: Path, min_n: int = 2, **kwargs) -> sections.ReportContext:
    return sections.open_report(
        db=db, period=kwargs.pop("period", "2026-03"), min_n=min_n, **kwargs
    )


# -- formatting ------------------------------------------------------------------------------


def test_formatters():
    assert sections.fmt_pct(0.41234) == "41.2%"
    assert sections.fmt_pct(None) == "–"
    assert sections.fmt_pct(float("nan")) == "–"
    assert sections.fmt_count(12345) == "12,345"
    assert sections.fmt_usd(12345.6) == "$12,346"
    assert sections.fmt_days(23.0) == "23" and sections.fmt_days(23.5) == "23.5"
    assert sections.fmt_points(0.031) == "+3.1 pts"
    assert sections.fmt_signed(-2) == "-2"
    assert sections.fmt_rate_ci(0.5, 0.15, 0.85, False, 30) == "50.0% (15.0%–85.0%)"
    assert sections.fmt_rate_ci(None, None, None, True, 30) == "suppressed (n<30)"
    assert sections.fmt_rate_ci(None, None, None, False, 30) == "–"


def test_labels_come_from_the_reference_files():
    assert sections.label("category", "apparel_textiles") == "Apparel & Textiles"
    assert sections.label("claim_type", "quality") == "Quality (not as agreed)"
    assert sections.label("order_value_band", "1k_5k") == "$1k–5k"
    assert sections.label("evidence", "inspection_report") == "inspection report"
    assert sections.label("category", None) == "unknown"


# -- display objects: escaping, captions, records ----------------------------------------------


def test_show_table_escapes_cells_headers_and_caption():
    frame = pd.DataFrame({"<th>": [HOSTILE, "$x^2$ **b**"], "n": ["1", "2"]})
    table = sections.show_table(frame, caption="a <i>caption</i>", name="t", record={"k": 1.5})
    html = table.to_html()
    assert "<script>" not in html and "<i>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<caption>a &lt;i&gt;caption&lt;/i&gt;</caption>" in html
    assert "&lt;th&gt;" in html  # the header text too
    assert "mathjax_ignore" in html  # $...$ is not typeset in JupyterLab
    bundle = table._repr_mimebundle_()
    assert bundle[sections.RECORD_MIME] == {"name": "t", "data": {"k": 1.5}}
    assert HOSTILE in bundle["text/plain"]  # plain text is never rendered as HTML


def test_empty_table_shows_none_and_no_header():
    table = sections.show_table(pd.DataFrame({"a": []}), caption="Nothing here")
    html = table.to_html()
    assert "<table" not in html
    assert "Nothing here" in html and "None." in html


def test_record_is_plain_json():
    table = sections.show_table(
        pd.DataFrame({"a": [1]}),
        "c",
        record={"nan": float("nan"), "day": date(2026, 3, 1), "n": pd.Series([2]).iloc[0]},
    )
    data = table._repr_mimebundle_()[sections.RECORD_MIME]["data"]
    assert data == {"nan": None, "day": "2026-03-01", "n": 2}
    assert type(data["n"]) is int


# -- finding the store, reading the parameters ------------------------------------------------


def test_resolve_db_tries_the_path_then_the_project_root(tmp_path, monkeypatch):
    root = tmp_path / "project"
    (root / "data").mkdir(parents=True)
    (root / "data" / "cases.duckdb").write_bytes(b"")
    elsewhere = tmp_path / "notebooks"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setattr(paths, "PROJECT_ROOT", root)
    assert sections.resolve_db("data/cases.duckdb") == root / "data" / "cases.duckdb"
    # a path that exists from the current folder wins
    (elsewhere / "data").mkdir()
    (elsewhere / "data" / "cases.duckdb").write_bytes(b"")
    assert sections.resolve_db("data/cases.duckdb") == Path("data/cases.duckdb")


def test_missing_store_says_what_to_do_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "PROJECT_ROOT", tmp_path / "root")
    with pytest.raises(StoreMissing) as caught:
        sections.open_report(db=tmp_path / "none.duckdb", period="2026-03")
    message = str(caught.value)
    assert "make demo" in message and "ta-outcomes ingest" in message
    # In a notebook IPython shows this instead of a traceback.
    assert caught.value._render_traceback_() == [f"StoreMissing: {message}"]


def test_period_resolution():
    assert sections.resolve_period("", today=date(2026, 4, 15)).label == "2026-03"
    assert sections.resolve_period("2026-Q3").start == date(2026, 7, 1)
    explicit = sections.resolve_period("2026-10", start="2026-01-05", end="2026-02-20")
    assert (explicit.start, explicit.end, explicit.kind) == (
        date(2026, 1, 5),
        date(2026, 2, 20),
        "range",
    )
    # the runner injects a period with its own dates: the calendar period is kept
    same = sections.resolve_period("2026-Q3", start="2026-07-01", end="2026-09-30")
    assert (same.label, same.kind) == ("2026-Q3", "quarter")
    assert (
        sections.resolve_period("2026-01-01_2026-03-31", start="2026-01-01", end="2026-03-31").kind
        == "range"
    )
    with pytest.raises(BadParameter, match="both start and end"):
        sections.resolve_period(start="2026-01-05")
    with pytest.raises(BadParameter, match="not understood"):
        sections.resolve_period("last spring")


def test_open_report_validates_parameters(store):
    ctx = context(store, threshold="0.2", min_n="5")
    assert ctx.params == metrics.Params(threshold=0.2, min_n=5)
    assert ctx.previous.label == "2026-02"
    assert ctx.category is None and ctx.synthetic is False
    with pytest.raises(BadParameter, match="threshold must be between 0 and 1"):
        context(store, threshold=1.5)
    with pytest.raises(BadParameter, match="category 'toys'.*electronics, machinery") as caught:
        context(store, category="toys")
    assert caught.value._render_traceback_()[0].startswith("BadParameter: category 'toys'")


def test_banner_flags_synthetic_stores(tmp_path, store):
    assert context(store).synthetic is False
    assert sections.banner(context(store)).to_html().count("SYNTHETIC") == 0
    demo = build_store(tmp_path / "demo.duckdb", [dict(CASES[0], is_synthetic=True)])
    html = sections.banner(context(demo)).to_html()
    assert "SYNTHETIC DATA" in html
    # store_meta alone is enough (e.g. a store whose demo cases were all replaced later)
    meta_only = build_store(
        tmp_path / "meta.duckdb", CASES[:1], meta={"contains_synthetic": "true"}
    )
    assert context(meta_only).synthetic is True


# -- 1. headline -----------------------------------------------------------------------------


def test_headline_by_hand(store):
    table = sections.headline(context(store, min_n=2))
    rows = {row["Figure"]: row for _, row in table.frame.iterrows()}
    assert list(table.frame.columns) == ["Figure", "2026-03", "2026-02", "Change", "Test"]
    # March: opened B, C, D, E, F (A opened in February); closed A-E; decided A-D; lapsed E.
    # February: opened A; closed and decided G, H.
    assert list(rows["Cases opened"])[1:4] == ["5", "1", "+4"]
    assert list(rows["Cases closed"])[1:4] == ["5", "2", "+3"]
    assert list(rows["Decided"])[1:4] == ["4", "2", "+2"]
    assert rows["Lapsed"]["2026-03"] == "1 (1 withdrawn, 0 cancelled, 0 out of coverage)"
    # Supplier-sided: A (no refund) and C (150 < 0.1 x 10000) of 4 decided = 50%; Wilson 95%
    # for 2/4: centre (0.5 + 1.96^2/8) / (1 + 1.96^2/4) = 0.5, half-width
    # 1.96 * sqrt(0.25/4 + 1.96^2/64) / 1.9604 = 0.3499 -> 15.0%-85.0%.
    # February: G of G, H = 1/2 -> Wilson 9.5%-90.5%. Same proportion: z = 0, p = 1.
    row = rows["Supplier-sided rate (95% interval)"]
    assert list(row)[1:] == [
        "50.0% (15.0%–85.0%)",
        "50.0% (9.5%–90.5%)",
        "+0.0 pts",
        "p = 1.000: no significant change",
    ]
    # Money over monetary decisions A, B, C: refunded 0 + 2000 + 150 of 1000 + 2000 + 10000.
    assert rows["Refunded of claimed (USD)"]["2026-03"] == "$2,150 of $13,000"
    assert rows["Refund ratio, pooled"]["2026-03"] == "16.5%"  # 2150 / 13000 = 0.1654
    assert rows["Refund ratio, pooled"]["2026-02"] == "50.0%"  # 1000 / 2000
    assert rows["Refund ratio, median case"]["2026-03"] == "1.5%"  # median of 0, 1, 0.015
    assert list(rows["Lowball decisions"])[1:4] == ["1", "0", "+1"]  # C: 0 < 150 < 500
    # Escalated: A of 5 closed = 20% against 0 of 2. Pooled p = 1/7, se = sqrt(1/7 * 6/7 *
    # (1/5 + 1/2)) = 0.2928, z = 0.2 / 0.2928 = 0.683, two-sided p = 0.495.
    assert list(rows["Escalation rate"])[1:] == [
        "20.0%",
        "0.0%",
        "+20.0 pts",
        "p = 0.495: no significant change",
    ]
    # Days to close in March: A 13, B 10, C 20, D 10, E 10 -> median 10; February 31 and 31.
    assert list(rows["Median days to close"])[1:4] == ["10", "31", "-21"]


def test_headline_record_is_the_metrics_result(store):
    ctx = context(store)
    record = sections.headline(ctx)._repr_mimebundle_()[sections.RECORD_MIME]["data"]
    params = metrics.Params(min_n=2)
    assert record["current"] == metrics.outcome_metrics(store, "2026-03-01", "2026-03-31", params)
    assert record["previous"] == metrics.outcome_metrics(store, "2026-02-01", "2026-02-28", params)
    assert record["period"] == "2026-03" and record["previous_period"] == "2026-02"


def test_headline_shows_suppression(store):
    # min_n = 3: March has 4 decided (shown), February 2 (suppressed): no test.
    rows = sections.headline(context(store, min_n=3)).frame.set_index("Figure")
    row = rows.loc["Supplier-sided rate (95% interval)"]
    assert row["2026-02"] == "suppressed (n<3)"
    assert row["Test"] == "not tested: a period is suppressed"


# -- 2 and 3: breakdowns ------------------------------------------------------------------------


def test_supplier_sided_by_category(store):
    table = sections.supplier_sided_by(context(store, min_n=3), "category")
    # machinery: closed A, B, E; decided A, B (2 < 3: suppressed). electronics: decided C, D (2).
    # All: 4 decided, 2 supplier-sided.
    assert table.frame.values.tolist() == [
        ["Electronics", "2", "1", "suppressed (n<3)"],
        ["Machinery", "2", "1", "suppressed (n<3)"],
        ["All", "4", "2", "50.0% (15.0%–85.0%)"],
    ]
    assert table.data["is_overall"].tolist() == [False, False, True]
    assert "divided by decided cases" in table.caption


def test_refund_ratio_by_category(store):
    table = sections.refund_ratio_by(context(store, min_n=2), "category")
    # electronics: monetary C only: 150 / 10000 = 1.5% (D is a replacement).
    # machinery: A and B: 2000 / 3000 = 66.7%; median of 0 and 1 = 50%.
    assert table.frame.values.tolist() == [
        ["Electronics", "1", "$10,000", "$150", "1.5%", "1.5%"],
        ["Machinery", "2", "$3,000", "$2,000", "66.7%", "50.0%"],
        ["All", "3", "$13,000", "$2,150", "16.5%", "1.5%"],
    ]


def test_heatmap_table(store):
    table = sections.heatmap(context(store, min_n=2))
    # electronics: C (compliance, supplier-sided) and D (quality, replacement): 1 decided each;
    # machinery quality: A and B decided, A supplier-sided: 50% of 2.
    assert table.frame.values.tolist() == [
        ["Electronics", "– (n=1)", "– (n=1)"],
        ["Machinery", "", "50.0% (n=2)"],
    ]
    assert list(table.frame.columns) == ["Category", "Compliance", "Quality (not as agreed)"]


def test_outcomes_by_escalation_drops_groups_without_closed_cases(store):
    table = sections.outcomes_by(context(store, min_n=2), ["escalated", "decided_by"])
    groups = table.frame[["Breakdown", "Group"]].values.tolist()
    # escalated: A; not escalated: B, C, D, E (F is open: counted nowhere here).
    # decided_by: agreement B, D; platform A, C; unknown E (withdrawn, no decider).
    assert groups == [
        ["Escalation", "escalated to the platform"],
        ["Escalation", "not escalated"],
        ["Decided by", "agreement"],
        ["Decided by", "platform"],
        ["Decided by", "unknown"],
    ]
    rows = table.frame.set_index("Group")
    # not escalated: decided B, C, D; supplier-sided C: 1/3 = 33.3% (Wilson 6.1%-79.2%)
    assert rows.loc["not escalated", "Supplier-sided rate (interval)"] == "33.3% (6.1%–79.2%)"
    assert rows.loc["escalated to the platform", "Decided"] == "1"


def test_trend_has_twelve_months(store):
    table = sections.trend(context(store, min_n=2))
    assert table.frame["Month"].tolist()[0] == "2025-04"
    assert table.frame["Month"].tolist()[-1] == "2026-03"
    march = table.frame.iloc[-1]
    # outcomes by month of closing (A-E), intake by month of opening (B-F)
    assert list(march)[1:5] == ["5", "5", "4", "50.0% (15.0%–85.0%)"]
    february = table.frame.iloc[-2]
    assert list(february)[1:4] == ["1", "2", "2"]
    assert table.frame.iloc[0]["Supplier-sided rate (interval)"] == "suppressed (n<2)"


def test_time_to_resolution(store):
    table = sections.time_to_resolution(context(store, min_n=2), "category")
    rows = table.frame.set_index("Category")
    # Opened in March: B 10 days, C 20, D 10, E 10 resolved; F open, censored at 31 - 10 = 21.
    # At day 10: 3 of 5 resolve -> S = 0.4 <= 0.5: the median is 10 days.
    assert list(rows.loc["All"])[:3] == ["5", "4", "1"]
    assert rows.loc["All"].iloc[3].startswith("10 (")
    assert table.source["overall"]["median"] == 10


# -- 7. notable cases ------------------------------------------------------------------------


def test_notable_lowball_masks_and_keeps_text_raw_for_escaping(store):
    table = sections.notable_cases(context(store), "lowball")
    assert table.frame["Case"].tolist() == ["C"]
    row = table.frame.iloc[0]
    assert row["Supplier"] == HOSTILE  # raw in the frame ...
    assert row["Refunded (USD)"] == "$150 (1.5%)"  # 150 / 10000
    assert row["Claimed (USD)"] == "$10,000"
    assert row["Category"] == "Electronics, Compliance"
    assert row["Description"] == f"Call me: {PHONE_MASK} or {EMAIL_MASK} <b>now</b>"
    html = table.to_html()  # ... and escaped in the HTML
    assert HOSTILE not in html and "&lt;script&gt;" in html and "<b>now" not in html
    assert table.note == "1 case(s)."


def test_notable_refused_and_compliance(store):
    ctx = context(store)
    refused = sections.notable_cases(ctx, "refused_high_value", high_value_usd=1000)
    assert refused.frame[["Case", "Refunded (USD)"]].values.tolist() == [["A", "$0 (no refund)"]]
    # G is February's
    assert sections.notable_cases(ctx, "refused_high_value").frame.empty  # nothing >= $10,000
    assert sections.notable_cases(ctx, "compliance").frame["Case"].tolist() == ["C"]
    with pytest.raises(BadParameter, match="kind 'other'"):
        sections.notable_cases(ctx, "other")


def test_notable_limit_and_order(tmp_path):
    cases = [
        dict(case_id=f"L{k}", outcome="partial_refund", claim_amount=1000 * k, refund_amount=k,
             opened_date="2026-03-01", closed_date="2026-03-20")
        for k in range(1, 6)
    ]  # fmt: skip
    db = build_store(tmp_path / "l.duckdb", cases)
    table = sections.notable_cases(context(db), "lowball", limit=3)
    assert table.frame["Case"].tolist() == ["L5", "L4", "L3"]  # largest claims first
    assert table.note == "Showing 3 of 5 cases."


def test_long_descriptions_are_masked_before_clipping(tmp_path):
    # an e-mail address straddling the clipping point must not survive half-masked
    text = "x" * 150 + " contact: someone.long@example.com"
    db = build_store(
        tmp_path / "d.duckdb",
        [dict(case_id="X", outcome="partial_refund", claim_amount=10000, refund_amount=1,
              opened_date="2026-03-01", closed_date="2026-03-02", description=text)],
    )  # fmt: skip
    shown = sections.notable_cases(context(db), "lowball").frame.loc[0, "Description"]
    assert "someone" not in shown and shown.endswith("…") and len(shown) == 160


# -- 8. watchlist ------------------------------------------------------------------------------


def test_watchlist(store):
    table = sections.watchlist(context(store))
    # S9: A (March) and G (February), both no refund: 2 flagged in the trailing 12 months.
    # S7's single lowball (C) is not enough.
    assert table.frame[
        ["Supplier", "Supplier id", "Decided", "Supplier-sided", "Lowball"]
    ].values.tolist() == [["Nine Ltd", "S9", "2", "2", "0"]]


# -- 9. data quality ---------------------------------------------------------------------------


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
    table = sections.loads_table(sections.open_audit(db=audited))
    frame = table.frame.set_index("Load")
    assert frame.loc["1", "Adds up"] == "yes"  # 2 inserted + 2 quarantined = 4 read
    assert frame.loc["2", "Adds up"] == "NO"  # 5 read, 1 inserted
    assert frame.loc["1", "File"] == "one.csv"  # no folder layout in a report
    compact = sections.loads_table(sections.open_audit(db=audited), compact=True)
    assert list(compact.frame.columns)[-1] == "Adds up" and len(compact.frame.columns) == 8


def test_audit_scope_by_load_period(audited):
    april = sections.open_audit(db=audited, period="2026-04")
    assert sections.loads_table(april).frame["Load"].tolist() == ["2"]
    assert sections.quarantine_by_reason(april).frame.values.tolist() == [
        ["opened_date: ambiguous; declare date_format", "1", "1",
         "opened_date: ambiguous; declare date_format '01/02/2026'"],
    ]  # fmt: skip
    assert sections.fx_fallbacks(april).frame.values.tolist() == [
        ["EUR", "1", "2026-03-03", "2026-03-03", "2026-02-27"]
    ]
    assert sections.unmapped_categories(april).frame.empty  # Q2 came with load 1


def test_quarantine_reasons_split(audited):
    scope = sections.open_audit(db=audited)
    # row 1 has two reasons, rows 2 and 3 one each: 'claim_amount' twice, the others once; the
    # quoted value is dropped from the kind of reason and kept in the example
    assert sections.quarantine_by_reason(scope).frame.values.tolist() == [
        ["claim_amount: not a number", "2", "1", "claim_amount: not a number"],
        ["currency: unknown code", "1", "1", "currency: unknown code 'XYZ'"],
        ["opened_date: ambiguous; declare date_format", "1", "1",
         "opened_date: ambiguous; declare date_format '01/02/2026'"],
    ]  # fmt: skip
    assert sections.quarantine_by_file(scope).frame[["File", "Rows"]].values.tolist() == [
        ["one.csv", "2"],
        ["two.csv", "1"],
    ]


def test_unmapped_and_missing_fields(audited):
    scope = sections.open_audit(db=audited)
    unmapped = sections.unmapped_categories(scope)
    assert unmapped.frame.values.tolist() == [["Gizmos <i>", "Other", "1"]]
    assert "Gizmos &lt;i&gt;" in unmapped.to_html()
    missing = sections.missing_fields(scope).frame.set_index("Field")
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


# -- 10, 11: methodology and stamp ------------------------------------------------------------


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


def test_limitations_parsing(tmp_path):
    doc = tmp_path / "metrics.md"
    doc.write_text(
        "# x\n## What the data can and cannot say\n\n- It can say `a`\n  and more.\n"
        "- **Not** b.\n\n## Next\n- not this\n",
        encoding="utf-8",
    )
    assert sections._limitations(doc) == ["It can say a and more.", "Not b."]
    assert sections._limitations(tmp_path / "missing.md") == []


def test_fingerprint_by_hand(store):
    con = duckdb.connect(str(store), read_only=True)
    # The digest, rebuilt from the 64-bit hash of each case's 'case_id:content_hash' line.
    hashes = [
        h
        for (h,) in con.execute("SELECT hash(case_id || ':' || content_hash) FROM cases").fetchall()
    ]
    con.close()
    xor = functools.reduce(operator.xor, hashes, 0)
    expected = hashlib.sha256(f"{len(hashes)}:{sum(hashes)}:{xor}".encode()).hexdigest()
    fingerprint = sections.data_fingerprint(store)
    assert fingerprint["digest"] == expected
    assert (fingerprint["cases"], fingerprint["loads"], fingerprint["quarantined_rows"]) == (
        8,
        1,
        0,
    )


def test_fingerprint_changes_with_the_data(tmp_path):
    one = build_store(tmp_path / "1.duckdb", [dict(CASES[0])])
    same = build_store(tmp_path / "2.duckdb", [dict(CASES[0])])
    other = build_store(tmp_path / "3.duckdb", [dict(CASES[0], claim_amount=1001)])
    digests = [sections.data_fingerprint(db)["digest"] for db in (one, same, other)]
    assert digests[0] == digests[1] != digests[2]


def test_stamp(store):
    now = datetime(2026, 4, 2, 8, 30, tzinfo=UTC)
    table = sections.stamp(context(store), now=now)["stamp"]
    items = dict(table.frame.values.tolist())
    assert items["Generated at"] == "2026-04-02 08:30:00 UTC"
    assert items["Parameter db"] == "cases.duckdb"
    assert items["Parameter period"] == "2026-03"
    assert items["Cases in the store"] == "8"
    assert items["Cases closed in the period"] == "5"
    assert items["Data fingerprint (SHA-256)"] == sections.data_fingerprint(store)["digest"]
    assert items["Library duckdb"] == duckdb.__version__
    assert table.record["code"]["analysis"] == items["Code version (analysis)"]
    audit = sections.stamp(sections.open_audit(db=store), now=now)["stamp"]
    assert dict(audit.frame.values.tolist())["Scope"] == "every load in the store"


def test_compliance_cases_show_the_outcome_when_no_money_was_decided(tmp_path):
    cases = [
        dict(case_id="W", claim_type="compliance", outcome="withdrawn", claim_amount=3000,
             opened_date="2026-03-01", closed_date="2026-03-09"),
        dict(case_id="R", claim_type="compliance", outcome="replacement", claim_amount=2000,
             opened_date="2026-03-01", closed_date="2026-03-09"),
        dict(case_id="P", claim_type="compliance", outcome="partial_refund", claim_amount=1000,
             refund_amount=400, opened_date="2026-03-01", closed_date="2026-03-09"),
    ]  # fmt: skip
    db = build_store(tmp_path / "c.duckdb", cases)
    table = sections.notable_cases(context(db), "compliance")
    assert table.frame[["Case", "Category", "Refunded (USD)"]].values.tolist() == [
        ["W", "Machinery", "withdrawn"],
        ["R", "Machinery", "replacement"],
        ["P", "Machinery", "$400 (40.0%)"],
    ]


def test_every_section_works_on_an_empty_store(tmp_path):
    db = build_store(tmp_path / "empty.duckdb", [])
    ctx = context(db, min_n=30)
    headline = sections.headline(ctx).frame.set_index("Figure")
    assert headline.loc["Cases closed", "2026-03"] == "0"
    assert headline.loc["Supplier-sided rate (95% interval)", "Test"] == (
        "not tested: a period is suppressed"
    )
    # only the overall row, suppressed (0 decided < 30)
    assert sections.supplier_sided_by(ctx).frame.values.tolist() == [
        ["All", "0", "0", "suppressed (n<30)"]
    ]
    assert sections.heatmap(ctx).frame.empty
    assert len(sections.trend(ctx).frame) == 12
    assert sections.time_to_resolution(ctx).frame.iloc[0, 1] == "0"
    for kind in sections.NOTABLE_KINDS:
        assert sections.notable_cases(ctx, kind).note == "0 case(s)."
    assert sections.watchlist(ctx).frame.empty
    assert [t.frame.empty for t in sections.data_quality(ctx)] == [True, True, True, True]
    assert dict(sections.stamp(ctx)["stamp"].frame.values.tolist())["Cases in the store"] == "0"
    audit = sections.open_audit(db=db)
    assert sections.missing_fields(audit).frame["Blank"].tolist() == ["0"] * 10
    assert sections.store_overview(audit).frame.iloc[3].tolist() == ["Cases", "0"]


def test_a_breakdown_is_computed_once_per_report(store, monkeypatch):
    ctx = context(store)
    # supplier_sided_by and refund_ratio_by show the same period by category: one block_frame
    # by category and one overall serve both, and each gets its own copy to label.
    calls = []
    real = metrics.block_frame

    def counting(db, start, end, by, *args, **kwargs):
        calls.append(by)
        return real(db, start, end, by, *args, **kwargs)

    monkeypatch.setattr(metrics, "block_frame", counting)
    first = sections.supplier_sided_by(ctx, "category")
    second = sections.refund_ratio_by(ctx, "category")
    assert len(calls) == 2 and set(calls) == {"category", None}
    assert first.data.shape[0] == second.data.shape[0]
