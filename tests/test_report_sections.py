"""analysis.report.sections: the outcome report's tables, on small stores worked out by hand."""

from __future__ import annotations

import duckdb
import pytest

from analysis import metrics, settings
from analysis.errors import BadParameter
from analysis.report import audit, sections
from analysis.report.privacy import EMAIL_MASK, PHONE_MASK
from tests.casefactory import build_store
from tests.report_store import CASES, HOSTILE, context


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


def test_banner_says_the_datas_date_and_when_the_last_export_was_loaded(tmp_path):
    # Issue 28.5: an unchanged export loaded again on 7 December leaves the data as of 1
    # November, and the banner says when that last export was loaded
    import datetime as dt

    from tests.casefactory import make_load

    day = dt.datetime.fromisoformat
    loads = [
        make_load(load_id=1, inserted=1, as_of=None, finished_at=day("2026-11-01 09:00")),
        make_load(load_id=2, unchanged=1, as_of=None, finished_at=day("2026-12-07 08:30")),
    ]
    db = build_store(tmp_path / "a.duckdb", [dict(CASES[0])], loads=loads)
    record = sections.banner(context(db)).record
    assert (record["as_of"], record["last_loaded"]) == (
        dt.date(2026, 11, 1),
        day("2026-12-07 08:30"),
    )
    html = sections.banner(context(db)).to_html()
    assert "Data as of: 2026-11-01 (the newest data" in html
    assert "Last export loaded: 2026-12-07 08:30." in html


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
    # The difference with Newcombe's interval from the two Wilson intervals:
    # -sqrt((0.5 - 0.150)^2 + (0.905 - 0.5)^2) = -0.536, and +0.536 by symmetry.
    row = rows["Supplier-sided rate (95% interval)"]
    assert list(row)[1:] == [
        "50.0% (15.0%–85.0%)",
        "50.0% (9.5%–90.5%)",
        "+0.0 pts (-53.6 pts to +53.6 pts)",
        "p = 1.000: not shown by these data",
    ]
    # Lost for the buyer: A (nothing) and C (a token) of the 5 closed less E's withdrawal = 2/4;
    # February: G (nothing) of G, H.
    lost = rows["Buyer got nothing or a token, lapses counted (95% interval)"]
    assert list(lost)[1:3] == ["50.0% (15.0%–85.0%)", "50.0% (9.5%–90.5%)"]
    # Money over monetary decisions A, B, C: refunded 0 + 2000 + 150 of 1000 + 2000 + 10000.
    assert rows["Refunded of claimed, monetary decisions (USD)"]["2026-03"] == "$2,150 of $13,000"
    # 2150 / 13000 = 0.1654 with the delta method's interval: residuals r - R c of A, B, C
    # -165.4, 1669.2, -1503.8, squares summed 5,075,236; variance 3/2 x that / 13000^2 = 0.04505,
    # half-width 1.96 x 0.2122 = 0.416: 0 (clipped) to 58.1%. February: 1000 / 2000, residuals
    # -500, 500: variance 2 x 500,000 / 2000^2 = 0.25, half-width 0.98: clipped to 0%-100%.
    pooled = rows["Refund ratio, pooled (95% interval)"]
    assert pooled["2026-03"] == "16.5% (0.0%–58.1%)"
    assert pooled["2026-02"] == "50.0% (0.0%–100.0%)"
    # median of 0, 1, 0.015; its order-statistic interval needs the j-th smallest of 3 with
    # j = floor(3/2 - 1.96 sqrt(3)/2) = -1: too few values for one at 95%
    median = rows["Refund ratio, median case (95% interval)"]
    assert median["2026-03"] == "1.5% (too few for an interval)"
    assert list(rows["Lowball decisions"])[1:4] == ["1", "0", "+1"]  # C: 0 < 150 < 500
    # Escalated: A of 5 closed = 20% against 0 of 2. Pooled p = 1/7, se = sqrt(1/7 * 6/7 *
    # (1/5 + 1/2)) = 0.2928, z = 0.2 / 0.2928 = 0.683, two-sided p = 0.495. Newcombe, from
    # Wilson 1/5 (0.036, 0.624) and 0/2 (0, 0.658): 0.2 - sqrt(0.164^2 + 0.658^2) = -0.478,
    # 0.2 + sqrt(0.424^2 + 0) = 0.624.
    assert list(rows["Escalation rate"])[1:] == [
        "20.0%",
        "0.0%",
        "+20.0 pts (-47.8 pts to +62.4 pts)",
        "p = 0.495: not shown by these data",
    ]
    # Days to close in March: A 13, B 10, C 20, D 10, E 10 -> median 10; February 31 and 31.
    assert list(rows["Median days to close"])[1:4] == ["10", "31", "-21"]


def test_headline_record_is_the_metrics_result(store):
    ctx = context(store)
    record = sections.headline(ctx)._repr_mimebundle_()[sections.RECORD_MIME]["data"]
    params = metrics.Params(min_n=2)
    current = metrics.outcome_metrics(store, "2026-03-01", "2026-03-31", params)
    previous = metrics.outcome_metrics(store, "2026-02-01", "2026-02-28", params)
    fields = metrics.BLOCK_FIELDS
    assert record["current"] == {name: current["overall"][name] for name in fields}
    assert record["previous"] == {name: previous["overall"][name] for name in fields}
    assert record["period"] == "2026-03" and record["previous_period"] == "2026-02"


def test_headline_shows_counts_only_below_min_n_rate(store):
    # min_n 3 (so min_n_rate 3): March has 4 decided (shown), February 2 (counts only): no test
    rows = sections.headline(context(store, min_n=3)).frame.set_index("Figure")
    row = rows.loc["Supplier-sided rate (95% interval)"]
    assert row["2026-02"] == "count only (n<3)"
    assert row["Test"] == "not compared: a period has too few cases"
    assert rows.loc["Decided", "2026-02"] == "2"  # the counts stay


def test_supplier_sided_by_category_beside_the_trailing_months(store):
    table = sections.supplier_sided_by(context(store, min_n=4, min_n_rate=3), "category")
    # March: machinery decided A, B (2 < 3: counts only); electronics C, D (2). All: 4, 2 sided.
    # 12 months: machinery A, B, G, H (4: A and G sided), electronics C, D; all 6, 3 sided.
    # Wilson 2/4: 15.0%-85.0%; 3/6: 18.8%-81.2%; "few cases" below min_n 4.
    assert list(table.frame.columns) == [
        "Category", "Decided 2026-03", "Rate 2026-03", "Decided, 12 months", "Rate, 12 months",
        "Pooled 2026-03", "Pooled, 12 months",
    ]  # fmt: skip
    # Pooled (analysis.metrics.pooling): both groups at 1 of 2 in March, the whole at 2 of 4:
    # no spread, so the prior is as strong as the 4 cases, Beta(2, 2); each group's posterior
    # Beta(2 + 1, 2 + 1) = Beta(3, 3): 50%, 14.7%-85.3%. Over 12 months the whole is 3 of 6
    # (prior Beta(3, 3)): machinery 2 of 4 -> Beta(5, 5), 21.2%-78.8%; electronics 1 of 2 ->
    # Beta(4, 4), 18.4%-81.6%. Every group has a pooled rate, counts-only or not.
    assert table.frame.values.tolist() == [
        ["Electronics", "2", "count only (n<3)", "2", "count only (n<3)",
         "50.0% (14.7%–85.3%)", "50.0% (18.4%–81.6%)"],
        ["Machinery", "2", "count only (n<3)", "4", "50.0% (15.0%–85.0%)",
         "50.0% (14.7%–85.3%)", "50.0% (21.2%–78.8%)"],
        ["All", "4", "50.0% (15.0%–85.0%)", "6", "50.0% (18.8%–81.2%)", "–", "–"],
    ]  # fmt: skip
    assert table.data["is_overall"].tolist() == [False, False, True]
    assert "/ decided cases" in table.caption and "trailing 12 months" in table.caption
    # one group with a rate over the 12 months: nothing to test, and said so
    assert table.note == (
        "Over the 12 months fewer than two category groups have a rate: nothing to compare. "
        "1 category group(s) with fewer than 3 decided cases are left out."
    )
    few = sections.supplier_sided_by(context(store, min_n=5, min_n_rate=3), "category")
    assert few.frame.loc[1, "Rate, 12 months"] == "50.0% (15.0%–85.0%) few cases"


def test_refund_ratio_by_category(store):
    table = sections.refund_ratio_by(context(store, min_n=2), "category")
    # electronics: monetary C only: 150 / 10000 = 1.5% (D is a replacement).
    # machinery: A and B: 2000 / 3000 = 66.7%; median of 0 and 1 = 50%. Over 12 months G and H
    # join: 3000 / 5000 = 60%, median of 0, 0, 1, 1 = 50%.
    assert table.frame.values.tolist() == [
        ["Electronics", "$10,000", "1.5%", "1.5%", "$10,000", "1.5%", "1.5%"],
        ["Machinery", "$3,000", "66.7%", "50.0%", "$5,000", "60.0%", "50.0%"],
        ["All", "$13,000", "16.5%", "1.5%", "$15,000", "21.0%", "1.5%"],
    ]


def test_heatmap_table(store):
    table = sections.heatmap(context(store, min_n=2))
    # electronics: C (compliance, supplier-sided) and D (quality, replacement): 1 decided each;
    # machinery quality over the trailing 12 months: A, B, G, H decided, A and G
    # supplier-sided: 50% of 4.
    assert table.frame.values.tolist() == [
        ["Electronics", "– (n=1)", "– (n=1)"],
        ["Machinery", "", "50.0% (n=4)"],
    ]
    assert list(table.frame.columns) == ["Category", "Compliance", "Quality (not as agreed)"]


def test_outcomes_by_escalation_drops_groups_without_closed_cases(store):
    table = sections.outcomes_by(context(store, min_n=2), ["escalated", "decided_by"])
    groups = table.frame[["Breakdown", "Group"]].values.tolist()
    # Over the trailing 12 months: escalated A; not escalated B, C, D, E, G, H (F is open).
    # decided_by: agreement B, D; platform A, C; unknown E, G, H.
    assert groups == [
        ["Escalation", "escalated to the platform"],
        ["Escalation", "not escalated"],
        ["Decided by", "agreement"],
        ["Decided by", "platform"],
        ["Decided by", "unknown"],
    ]
    rows = table.frame.set_index("Group")
    # not escalated: decided B, C, D, G, H; supplier-sided C, G: 2/5 = 40% (Wilson 11.8-76.9%)
    assert rows.loc["not escalated", "Supplier-sided rate (interval)"] == "40.0% (11.8%–76.9%)"
    assert rows.loc["escalated to the platform", "Decided"] == "1"
    # the period alone, when asked for
    period = sections.outcomes_by(context(store, min_n=2), ["escalated"], which="period")
    assert period.frame.set_index("Group").loc["not escalated", "Closed"] == "4"


def test_trend_has_twelve_months(store):
    table = sections.trend(context(store, min_n=2))
    assert table.frame["Month"].tolist()[0] == "2025-04"
    assert table.frame["Month"].tolist()[-1] == "2026-03"
    march = table.frame.iloc[-1]
    # outcomes by month of closing (A-E), intake by month of opening (B-F)
    assert list(march)[1:5] == ["5", "5", "4", "50.0% (15.0%–85.0%)"]
    february = table.frame.iloc[-2]
    assert list(february)[1:4] == ["1", "2", "2"]
    assert table.frame.iloc[0]["Supplier-sided rate (interval)"] == "count only (n<2)"


def test_time_to_resolution(store, monkeypatch):
    # The store's as-of date is 22 March, the latest day its cases mention (C's closure).
    # Opened in March: B 10 days, C 20, D 10, E 10 resolved; F open, censored at 22 - 10 = 12.
    table = sections.time_to_resolution(context(store, min_n=2), "category")
    rows = table.frame.set_index("Category")
    assert list(rows.columns)[:3] == ["Cases opened", "Resolved by 2026-03-22",
                                      "Still open (censored)"]  # fmt: skip
    assert list(rows.loc["All"])[:3] == ["5", "4", "1"]
    # with 5 cases the curve stops at once (fewer than 10 at risk): no median, and why
    assert rows.loc["All"].iloc[3] == (
        "not reached before the curve stops (day 10: fewer than 10 cases at risk)"
    )
    # without the minimum: at day 10, 3 of 5 resolve -> S = 0.4 <= 0.5: the median is 10 days
    monkeypatch.setattr(settings, "KM_MIN_AT_RISK", 0)
    table = sections.time_to_resolution(context(store, min_n=2), "category")
    assert table.frame.set_index("Category").loc["All"].iloc[3].startswith("10 (")
    assert table.source["overall"]["median"] == 10


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


def test_order_numbers_as_case_and_supplier_ids_are_shown_as_they_are(tmp_path):
    # Issue 24.7: a 16-digit order number used as the case id (and a 16-digit supplier id) is
    # shown verbatim in the notable cases, the scorecard and the dossier's header, never as
    # "[phone hidden]"; a phone number in the description is still masked
    from analysis.report import dossier, scorecard

    case_id, supplier = "2026031512345678", "1688000012345678"
    db = build_store(tmp_path / "o.duckdb", [
        dict(case_id=case_id, supplier_id=supplier, supplier_name=None, outcome="partial_refund",
             claim_amount=20000, refund_amount=1, opened_date="2026-03-01",
             closed_date="2026-03-20", description="call +86 138 0013 8000 now"),
    ])  # fmt: skip
    # casefactory names a supplier "Supplier <id>" when none is given: no name here (in the
    # cases, and in the store's one name per supplier)
    with duckdb.connect(str(db)) as con:
        con.execute("UPDATE cases SET supplier_name = NULL")
        con.execute("UPDATE suppliers SET name = NULL")
    notable = sections.notable_cases(context(db), "lowball")
    assert notable.frame[["Case", "Supplier"]].values.tolist() == [[case_id, supplier]]
    assert notable.frame.loc[0, "Description"] == f"call {PHONE_MASK} now"
    sc = scorecard.open_scorecard(db=str(db), supplier_id=supplier, period="2026-03",
                                  min_n=1, min_n_rate=1, min_n_named=1)  # fmt: skip
    cases = scorecard.scorecard_cases(sc, "lowball")
    assert cases.frame["Case"].tolist() == [case_id]
    assert cases.frame.loc[0, "Description"] == f"call {PHONE_MASK} now"
    assert f"Supplier: {supplier};" in scorecard.scorecard_banner(sc).lines[0]
    nobody = scorecard.open_scorecard(db=str(db), period="2026-03", min_n=1, min_n_rate=1,
                                      min_n_named=1)  # fmt: skip
    assert scorecard.scorecard_banner(nobody).lines[1].endswith(f"by id: {supplier}.")
    dc = dossier.open_dossier(db=str(db), case_id=case_id)
    header = dossier.dossier_banner(dc).lines
    assert header[0].startswith(f"Case {case_id}: ")
    assert header[1].startswith(f"Supplier: {supplier} ({supplier}).")
    assert PHONE_MASK not in " ".join(header)
    assert f"call {PHONE_MASK} now" in dossier.dossier_description(dc).to_html()
    # and in what issues 26 and 29 added: the dossier's title, the month's notable cases, the
    # suppliers too small to rate
    assert dossier.case_title({"case_id": case_id, "supplier_id": supplier,
                               "supplier_name": None, "claim_type": "quality"}).startswith(
        f"case {case_id}: {supplier}, "
    )  # fmt: skip
    march = sections.findings(context(db, min_n_named=5)).sentences
    assert any(case_id in s for s in march) and not any(PHONE_MASK in s for s in march)
    small = sections.small_suppliers(context(db, min_n_named=5)).frame
    assert small["Supplier"].tolist()[:1] == [supplier]


def test_supplier_comparison(store):
    table = sections.supplier_comparison(context(store, min_n_named=2))
    # 12 months, strata: machinery x quality A, B, G, H; S9 (A, G) against S1's 0 of 2 there,
    # moved half a case in: 0.5 / 3 = 1/6, E = 1/3; S1 (B, H) against S9's 2 of 2: 5/6, E = 5/3.
    # O_S9 = 2 ~ Binomial(2, 1/6): P = 25, 10, 1 (/36); at 95% (0.9 / 36 a tail) 0..2 are
    # within: the interval 2 / (1/3) = 6 turned around: (2 - (2 - 1/3)) * 3 to (2 + 1/3) * 3.
    # O_S1 = 0 ~ Binomial(2, 5/6): P = 1, 10, 25 (/36): 0..2 within: 0 to (0 + 5/3) / (5/3).
    # At 99.8% neither could be flagged with 2 cases. S7 and S2 have one case each.
    rows = table.frame.values.tolist()
    assert [row[:7] for row in rows] == [
        ["Nine Ltd (S9)", "2", "2", "0.3", "6.00 (1.00–7.00)", "within", "not at this size"],
        ["Supplier S1 (S1)", "2", "0", "1.7", "0.00 (0.00–1.00)", "within", "not at this size"],
    ]
    # the shrunk O/E and the probability as the model gives them; listed by that probability
    data = table.data.set_index("supplier_id")
    for row, supplier in zip(rows, ["S9", "S1"], strict=True):
        shrunk = data.loc[supplier, ["shrunk_oe", "shrunk_ci_low", "shrunk_ci_high"]].tolist()
        assert row[7] == "{:.2f} ({:.2f}–{:.2f})".format(*shrunk)
        assert row[8] == f"{data.loc[supplier, 'prob_excess']:.2f}"
    assert data.loc["S9", "prob_excess"] > data.loc["S1", "prob_excess"]
    assert table.frame.columns[-1] == "P(true O/E > 1.2)"
    assert "not by O/E" in table.caption and "not a ranking" in table.caption
    assert table.note == "2 supplier(s) named; 2 with fewer than 2 decided cases not named."
    # the hostile name is in the unnamed part: never listed
    assert "script" not in table.frame.to_string()
    assert sections.supplier_comparison(context(store)).frame.empty  # 30 decided: nobody


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
        "not compared: a period has too few cases"
    )
    # only the overall row, counts only (0 decided < 10)
    assert sections.supplier_sided_by(ctx).frame.values.tolist() == [
        ["All", "0", "count only (n<10)", "0", "count only (n<10)", "–", "–"]
    ]
    assert sections.heatmap(ctx).frame.empty
    assert len(sections.trend(ctx).frame) == 12
    assert sections.time_to_resolution(ctx).frame.iloc[0, 1] == "0"
    for kind in sections.NOTABLE_KINDS:
        assert sections.notable_cases(ctx, kind).note == "0 case(s)."
    assert sections.supplier_comparison(ctx).frame.empty
    # the first thing a reader sees says there is nothing to see
    assert sections.banner(ctx).lines[0] == (
        "No case was opened or closed in 2026-03 (2026-03-01 to 2026-03-31): this report has no "
        "data to show."
    )
    assert sections.findings(ctx).sentences == [
        "No case was opened or closed in 2026-03: this report has no data to show for its period."
    ]
    assert sections.adjusted_effects(ctx).frame.values.tolist() == [
        ["only 0 decided case(s); the model is fitted from 200"]
    ]
    assert sections.cohorts(ctx).frame["Opened"].tolist() == ["0"] * 12
    assert sections.funnel(ctx).frame.values.tolist()[-1][1] == "0"
    assert [t.frame.empty for t in sections.data_quality(ctx)] == [True] * 5
    assert dict(sections.stamp(ctx)["stamp"].frame.values.tolist())["Cases in the store"] == "0"
    scope = audit.open_audit(db=db)
    assert audit.missing_fields(scope).frame["Blank"].tolist() == ["0"] * 10
    assert audit.store_overview(scope).frame.iloc[3].tolist() == ["Cases", "0"]


def test_a_breakdown_is_computed_once_per_report(store, monkeypatch):
    ctx = context(store)
    # supplier_sided_by and refund_ratio_by show the same windows by category: one grouped scan
    # per window gives the blocks by category and overall, which serve both; each section gets
    # its own copy to label.
    calls = []
    real_one, real_many = metrics.block_frame, metrics.block_frames

    def one(db, start, end, by, *args, **kwargs):
        calls.append(("block_frame", by))
        return real_one(db, start, end, by, *args, **kwargs)

    def many(db, start, end, bys, *args, **kwargs):
        calls.append(("block_frames", tuple(bys)))
        return real_many(db, start, end, bys, *args, **kwargs)

    monkeypatch.setattr(metrics, "block_frame", one)
    monkeypatch.setattr(metrics, "block_frames", many)
    first = sections.supplier_sided_by(ctx, "category")
    second = sections.refund_ratio_by(ctx, "category")
    # the period and the trailing window: two scans, not eight
    assert calls == [("block_frames", ("category", None))] * 2
    assert first.data.shape[0] == second.data.shape[0]


def test_groups_not_shown_to_differ_are_not_named_highest_or_lowest(store, tmp_path):
    # 12 months: machinery 2 of 4 supplier-sided, electronics 1 of 2 (C, the lowball; D a
    # replacement): one rate, 50%, for both: chi-square p = 1
    table = sections.supplier_sided_by(context(store, min_n=2, min_n_rate=2), "category")
    assert table.note == (
        "Over the 12 months the supplier-sided rates of the 2 category groups with a rate do not "
        "differ by more than chance would give (chi-square test of one common rate, p = 1.000): "
        "these data cannot tell them apart, so none is named highest or lowest."
    )
    # 20 of 20 against 0 of 20: they differ, and the two are named
    cases = [
        dict(category=category, outcome=outcome, claim_amount=100,
             opened_date="2026-03-01", closed_date="2026-03-10")
        for category, outcome in (("machinery", "no_refund"), ("electronics", "full_refund"))
        for _ in range(20)
    ]  # fmt: skip
    apart = sections.supplier_sided_by(
        context(build_store(tmp_path / "apart.duckdb", cases)), "category"
    )
    assert "differ by more than chance would give (chi-square test" in apart.note
    assert (
        "; highest Machinery 100.0% (" in apart.note and ", lowest Electronics 0.0% (" in apart.note
    )


def test_a_long_list_of_suppliers_too_small_to_rate_shows_its_first_rows_and_keeps_all_in_csv(
    store, monkeypatch
):
    # at 1M cases this table held every one of thousands of suppliers (84 MB of page, most of a
    # 160 s export): past REFERENCE_ROWS the page lists the first, the CSV holds all
    from analysis import settings

    whole = sections.small_suppliers(context(store, min_n_named=50))
    assert not whole.cut and len(whole.frame) > 2
    monkeypatch.setattr(settings, "REFERENCE_ROWS", 2)
    table = sections.small_suppliers(context(store, min_n_named=50))
    assert table.cut and table.page_rows == 2
    assert table.frame.equals(whole.frame)  # the whole frame, for the CSV
    # its record, the page's rows (at 10M the whole list was a million rows of JSON in the page)
    record = table._repr_mimebundle_()[sections.RECORD_MIME]["data"]
    assert [r["supplier_id"] for r in record] == whole.data["supplier_id"].tolist()[:2]
    assert len(whole._repr_mimebundle_()[sections.RECORD_MIME]["data"]) == len(whole.frame)
    assert table.note.endswith(
        f"This page lists the first 2 by supplier id; the table's CSV (Download CSV) holds all "
        f"{len(whole.frame)}."
    )
