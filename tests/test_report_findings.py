"""analysis.report.findings and the sections it reads: the answer in words, written from figures.

The sentences are checked word for word on the small report store (period 2026-03), where every
number is worked out in tests/report_store.py, and on the planted store, where the supplier
comparison and the model have something to find.
"""

from __future__ import annotations

import pytest

from analysis.report import sections
from tests.casefactory import build_store
from tests.planted import planted_store
from tests.report_store import context


def test_findings_on_the_small_store(store):
    findings = sections.findings(context(store, min_n=2))
    # the month first (issue 26.3): A-E closed (A-D decided, E withdrawn), B-F opened; C is the
    # lowball (150 < 0.05 x 10,000) and the compliance case; no refusal reaches $10,000
    assert findings.sentences[:2] == [
        "In 2026-03, 5 cases closed (4 with a decision, 1 withdrawn, cancelled or out of "
        "coverage) and 5 opened.",
        "Notable cases closed in 2026-03: 1 lowball decision: C ($10,000 claimed, $150 back); "
        "1 compliance case: C ($10,000 claimed, $150 back).",
    ]
    del findings.sentences[:2]
    assert findings.sentences[0] == (
        "2 of 4 claims decided in 2026-03 (50.0%, 15.0%–85.0%) ended on the supplier's side: the "
        "buyer got back less than 10% of the claim."
    )
    # no lapse cost the buyer (E was withdrawn): the lost-for-the-buyer figure equals 2 of 4
    assert findings.sentences[1] == (
        "Counting the 0 claims that lapsed at the buyer's cost (cancelled for missing evidence, "
        "or out of coverage), 2 of 4 buyers who did not withdraw (50.0%, 15.0%–85.0%) came away "
        "with nothing or a token."
    )
    # all the money of the closed cases: 13000 decided on money, D's 500, E's 1000
    assert findings.sentences[2] == (
        # 2150 / 14500 over A, B, C, D, E (D replaced and E withdrawn: nothing back in money);
        # residuals r - R c: -148.3, 1703.4, -1332.8, -74.1, -148.3, squares summed 4,727,450;
        # variance 5/4 x that / 14500^2 = 0.02811, half-width 1.96 x 0.1676 = 0.329
        "Of $14,500 claimed in the cases closed in 2026-03, $2,150 came back as refunds: 14.8% "
        "(0.0%–47.7%) of everything claimed, lapsed and replaced claims counting as nothing back "
        "in money (the headline's pooled refund ratio, 16.5%, counts only the decisions about "
        "money)."
    )
    assert findings.sentences[3] == (
        "Against 2026-02 (50.0% of 2 decided) the rate moved by +0.0 pts (-53.6 pts to +53.6 "
        "pts): a change not shown by these data (p = 1.000, two-proportion test)."
    )
    # six decided cases in 12 months: no model, and why
    assert (
        "What goes with winning was not modelled for the 12 months: only 6 decided case(s); "
        "the model is fitted from 200." in findings.sentences
    )
    assert findings.sentences[-1] == (
        "Of 4 suppliers with decided claims in the 12 months, 0 had at least 30 and are "
        "compared with what their case mix predicts; none had enough cases to be named."
    )
    assert findings.record["decided"] == 4 and findings.record["rate"] == 0.5


def test_a_rate_on_too_few_cases_is_said_as_such(store):
    findings = sections.findings(context(store, min_n=5))  # min_n_rate 5 > 4 decided
    # the 12 months hold 6 decided (A, B, C, D, G, H), 3 supplier-sided (A, C, G): Wilson 95%
    # of 3/6 is (0.5 + 0.3201 -+ 0.5124) / 1.6403 = 18.8% to 81.2%
    assert findings.sentences[2] == (
        "4 decided claims are too few for rates by group (from 5 a rate is more than 'few "
        "cases'): the rates by category, claim type and supplier are read from the 12 months to "
        "2026-03 (6 decided), beside the period's counts."
    )
    assert findings.sentences[3] == (
        "2 of 4 claims decided in 2026-03 ended on the supplier's side: too few decided claims "
        "for a rate (a rate is given from 5); over the 12 months to 2026-03, 3 of 6 did (50.0%, "
        "18.8%–81.2%)."
    )
    assert (
        "The rate is not compared with 2026-02: a period has fewer than 5 decided claims."
        in findings.sentences
    )
    # the buyer-lost rate has 4 in its denominator: it is not said at all
    assert not any(s.startswith("Counting the") for s in findings.sentences)


def test_the_threshold_is_read_never_restated(store):
    findings = sections.findings(context(store, min_n=2, threshold=0.25))
    assert findings.sentences[2].endswith("the buyer got back less than 25% of the claim.")


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    return planted_store(tmp_path_factory.mktemp("planted") / "cases.duckdb")


def test_findings_name_the_real_excess_and_the_hidden_inspection_effect(planted):
    ctx = sections.open_report(db=planted.db, period="2026-12")
    sentences = sections.findings(ctx).sentences
    model = next(s for s in sentences if s.startswith("Over the 3,100 claims decided"))
    assert "with claim type, category, order value and the other evidence held equal" in model
    assert "an inspection report in the evidence went with 0.3" in model
    assert "escalation" not in model  # nothing was planted there, and nothing is said
    supplier = sentences[-1]
    assert "beyond the 99.8% limits, more than expected: Supplier BAD (observed" in supplier
    assert "MIX" not in supplier


def test_the_adjusted_effects_table_shows_raw_beside_adjusted(planted):
    table = sections.adjusted_effects(sections.open_report(db=planted.db, period="2026-12"))
    rows = table.frame.set_index("Characteristic")
    inspection = rows.loc["Inspection report in the evidence"]
    assert (
        inspection["Cases"]
        == f"{int(table.data.set_index('term').loc['inspection_report', 'cases']):,}"
    )
    assert inspection["Adjusted odds ratio (95% interval)"].startswith("0.3")
    assert inspection["Raw odds ratio"].startswith(("0.7", "0.8", "0.9"))
    assert "Claim type: Compliance (against Quality (not as agreed))" in rows.index
    assert table.record[0].keys() == {
        "term", "odds_ratio", "ci_low", "ci_high", "p_value", "raw_odds_ratio",
        "ame", "ame_ci_low", "ame_ci_high",
    }  # fmt: skip


def test_the_supplier_comparison_names_only_suppliers_with_enough_cases(planted):
    table = sections.supplier_comparison(sections.open_report(db=planted.db, period="2026-12"))
    # 42 suppliers: 40 with 70 cases, MIX and BAD with 150: every one has 30 decided
    assert len(table.frame) == 42
    first = table.frame.iloc[0]
    assert first["Supplier (id)"] == "Supplier BAD (BAD)"
    assert first["Beyond the 99.8% limits"] == "more than expected"
    assert (table.frame["Beyond the 99.8% limits"] != "within").sum() == 1
    # issue 30.3: the page lists the one flagged and the next 25 (PAGE_ROWS); the CSV all 42
    assert table.page_rows == 26 and table.cut
    assert table.note == (
        "42 supplier(s) named; 0 with fewer than 30 decided cases not named. This page lists the "
        "1 called out and the next 25; the other 16 named are in the table's CSV (Download CSV), "
        "which holds all 42."
    )
    assert table.to_html().count("<tr>") == 26  # the body rows (pandas styles the header row)
    rows = table._repr_mimebundle_()["text/csv"].splitlines()
    assert len(rows) == 1 + 42 and rows[1].startswith("Supplier BAD (BAD),")
    few = sections.supplier_comparison(
        sections.open_report(db=planted.db, period="2026-12", min_n_named=100)
    )
    assert few.frame["Supplier (id)"].tolist()[:1] == ["Supplier BAD (BAD)"] and len(few.frame) == 2
    assert few.note == "2 supplier(s) named; 40 with fewer than 100 decided cases not named."
    assert not few.cut and "text/csv" not in few._repr_mimebundle_()  # all on the page


def test_buyer_outcomes_and_sensitivity_sections(store):
    ctx = context(store, min_n=2)
    outcomes = sections.buyer_outcomes(ctx).frame.set_index("The buyer came away with")
    # March closed A-E: A nothing, B money back, C a token, D replaced, E withdrawn (20% each)
    march = outcomes["Closed in 2026-03"].tolist()
    assert march == ["1 (20.0%)", "1 (20.0%)", "1 (20.0%)", "1 (20.0%)", "0 (0.0%)",
                     "0 (0.0%)", "1 (20.0%)"]  # fmt: skip
    # 12 months: G (nothing) and H (money back) join
    assert outcomes["Closed in the 12 months"].tolist()[:3] == ["2 (28.6%)", "1 (14.3%)",
                                                              "2 (28.6%)"]  # fmt: skip
    table = sections.sensitivity(ctx)
    # below 10%, 25%, 50%: A and C (2 of 4); no lapse cost the buyer, so "counted" is the same
    assert table.frame["Cases"].tolist() == ["2 of 4"] * 6
    assert "This report's threshold is 10%." in table.caption


def test_change_by_says_what_the_data_cannot_tell(store):
    table = sections.change_by(context(store, min_n=2), "category")
    rows = table.frame.set_index("Category")
    # machinery: 1 of 2 decided in March (A, B), 1 of 2 in February (G, H): p = 1, adjusted 1
    assert rows.loc["Machinery", "Test"] == (
        "p = 1.000 adjusted (p = 1.000 alone): not shown by these data"
    )
    # electronics had no decided case in February: not compared
    assert rows.loc["Electronics", "Test"] == "not compared (fewer than 2 decided in a period)"
    assert "1 groups were tested at once" in table.caption


def test_funnel_and_claim_window_sections(store):
    ctx = context(store, min_n=2)
    funnel = sections.funnel(ctx).frame.set_index("Claim type")
    # March closed A-E: A escalated and decided by the platform, for the supplier
    assert funnel.loc["All", "Closed"] == "5"
    assert funnel.loc["All", "Escalated"] == "1 (20.0%)"
    assert funnel.loc["All", "Platform: for the supplier"] == "1 (100.0%)"
    window = sections.claim_window(ctx).frame
    assert window["Claim made"].tolist() == ["no receipt date recorded"]


def test_when_nobody_is_flagged_the_findings_say_what_could_have_been(tmp_path, store):
    # three suppliers of 20 cases, 10 supplier-sided each, in one stratum: each against the
    # others' 20 of 40, E = 10, O ~ Binomial(20, 1/2): P(O >= 17) = 1,351 / 2^20 = 0.13% is
    # within the 99.8% limits, P(O >= 18) = 211 / 2^20 = 0.02% beyond: flagged from 18, O/E 1.8
    cases = [
        dict(supplier_id=s, outcome="no_refund" if i < 10 else "full_refund",
             claim_amount=1000, opened_date="2026-03-01", closed_date="2026-03-10")
        for s in ("S1", "S2", "S3") for i in range(20)
    ]  # fmt: skip
    db = build_store(tmp_path / "within.duckdb", cases)
    sentence = sections.findings(context(db, min_n_named=20)).sentences[-1]
    assert sentence == (
        "Of 3 suppliers with decided claims in the 12 months, 3 had at least 20 and are "
        "compared with what their case mix predicts; none had more supplier-sided outcomes than "
        "its mix predicts beyond the 99.8% limits. With 10.0 expected supplier-sided outcomes "
        "(the median named supplier's), a supplier needs O/E of at least 1.80 to be flagged: "
        "smaller excesses are not ruled out."
    )
    # the report store's two named suppliers (E 1/3 and 5/3 on two cases each) could not be
    # flagged whatever they did
    two = sections.findings(context(store, min_n_named=2)).sentences[-1]
    assert two.endswith(
        "With 0.3 expected supplier-sided outcomes (the median named supplier's), no count of "
        "its cases could have been flagged."
    )


def test_a_p_chart_inside_its_limits_says_what_it_could_have_seen(tmp_path):
    # 25 decided claims closed in each of the 12 months to 2026-03, 10 of them supplier-sided:
    # p0 = 40%, no month outside; a month of 25 had to move by 3 sqrt(0.4 x 0.6 / 25) = 29.4 pts
    cases = [
        dict(outcome="no_refund" if i < 10 else "full_refund", claim_amount=100,
             opened_date=f"{year}-{month:02d}-01", closed_date=f"{year}-{month:02d}-10")
        for year, month in [(2025, m) for m in range(4, 13)] + [(2026, m) for m in (1, 2, 3)]
        for i in range(25)
    ]  # fmt: skip
    db = build_store(tmp_path / "steady.duckdb", cases)
    sentences = sections.findings(context(db)).sentences
    trend = next(s for s in sentences if s.startswith("Over the 12 months to"))
    assert trend.endswith(
        "of 300 decided claims were supplier-sided; no month lay outside the p-chart's 3-sigma "
        "limits. With a median of 25 decided claims a month, a month's rate had to move by about "
        "29.4 points from 40.0% to fall outside them: smaller or gradual changes are not ruled out."
    )
    assert "no more than chance" not in " ".join(sentences)


def test_escalation_is_a_sensitivity_check_not_held_equal(planted):
    from analysis.metrics.effects import adjusted_effects

    ctx = sections.open_report(db=planted.db, period="2026-12")
    model = adjusted_effects(planted.db, ctx.trailing.start, ctx.trailing.end)
    main = model.terms.set_index("term")
    other = model.sensitivity.terms.set_index("term")
    assert "escalated" not in main.index and "escalated" in other.index
    sentences = sections.findings(ctx).sentences
    why = next(s for s in sentences if s.startswith("Escalation is not held equal"))
    assert why == (
        "Escalation is not held equal: it follows a dispute going badly, so adjusting for it "
        "would bias the evidence effects; adjusted for it as well (a sensitivity check), the odds "
        "ratios would be: an inspection report in the evidence "
        f"{other.loc['inspection_report', 'odds_ratio']:.2f} (against "
        f"{main.loc['inspection_report', 'odds_ratio']:.2f}), each further kind of evidence "
        f"{other.loc['other_evidence_kinds', 'odds_ratio']:.2f} (against "
        f"{main.loc['other_evidence_kinds', 'odds_ratio']:.2f})."
    )
    table = sections.adjusted_effects(ctx)
    last = table.frame.iloc[-1]
    assert last["Characteristic"] == "Escalated to the platform"
    assert last["Adjusted odds ratio (95% interval)"] == "not in the main model"
    assert last["Adjusted for escalation too (sensitivity)"].startswith(
        f"{other.loc['escalated', 'odds_ratio']:.2f} ("
    )
    assert "escalated" not in set(table.data["term"])  # the forest draws the main model only
    # the average marginal effect beside each odds ratio, in rate points, and in the findings
    effect = table.frame.set_index("Characteristic").loc[
        "Inspection report in the evidence", "On the rate, on average (95% interval)"
    ]
    ame = main.loc["inspection_report", ["ame", "ame_ci_low", "ame_ci_high"]] * 100
    assert effect == "{:+.1f} pts ({:+.1f} pts to {:+.1f} pts)".format(*ame)
    assert main.loc["inspection_report", "ame"] < -0.1  # the planted effect: many points
    model_sentence = next(s for s in sentences if s.startswith("Over the 3,100 claims decided"))
    assert "{:+.1f} pts on the supplier-sided rate on average ({:+.1f} pts to".format(*ame[:2]) in (
        model_sentence
    )
    assert "Escalation is left out" in table.caption


def test_the_flagged_suppliers_are_said_in_the_tables_order_not_by_o_e(tmp_path):
    from tests.planted import suppliers_store

    store = suppliers_store(tmp_path / "suppliers.duckdb")
    ctx = sections.open_report(db=store.db, period="2026-12")
    sentence = sections.findings(ctx).sentences[-1]
    table = sections.supplier_comparison(ctx)
    flagged = [s for s, f in zip(table.frame["Supplier (id)"], table.frame["Beyond the 99.8% limits"],
                                 strict=True) if f == "more than expected"]  # fmt: skip
    named = [s.split(" (")[0] for s in flagged]
    assert len(named) == 5 and "more than expected: " + named[0] + " (observed" in sentence
    positions = [sentence.index(name + " (observed") for name in named]
    assert positions == sorted(
        positions
    )  # BAD5 (probability 1.00) first, though BAD3's O/E is higher
    data = table.data.set_index("supplier_id")
    assert data.loc["BAD3", "oe_ratio"] > data.loc["BAD5", "oe_ratio"]
    assert sentence.index("BAD5 (observed") < sentence.index("BAD3 (observed")


def _decided(month: str, sided: int, total: int) -> list[dict]:
    """``total`` decided claims closed on the 10th of ``month``, ``sided`` of them no refund."""
    return [
        dict(case_id=f"D{month}-{i}", outcome="no_refund" if i < sided else "full_refund",
             claim_amount=1000, opened_date=f"{month}-01", closed_date=f"{month}-10")
        for i in range(total)
    ]  # fmt: skip


def test_a_change_not_shown_says_what_the_counts_could_have_shown(tmp_path):
    # 2026-03: 4 of 10; 2026-02: 5 of 10 (not significant). The trailing 12 months
    # (2025-04..2026-03) add 2025-06's 8 of 20: 17 of 40; the 12 months before them
    # (2024-04..2025-03) hold 2024-06's 20 of 40.
    from tests.casefactory import build_store

    cases = (
        _decided("2026-03", 4, 10) + _decided("2026-02", 5, 10) + _decided("2025-06", 8, 20)
        + _decided("2024-06", 20, 40) + _decided("2024-03", 9, 9)  # 2024-03: before both
    )  # fmt: skip
    db = build_store(tmp_path / "cases.duckdb", cases)
    z = 1.959964 + 0.841621  # z_0.975 + z_0.80
    month = z * (9 / 20 * 11 / 20 * (1 / 10 + 1 / 10)) ** 0.5  # 0.6233
    year = z * (37 / 80 * 43 / 80 * (1 / 40 + 1 / 40)) ** 0.5  # 0.3124
    assert (round(100 * month), round(100 * year)) == (62, 31)
    sentences = sections.findings(sections.open_report(db=db, period="2026-03")).sentences
    assert (
        "With 10 decided claims in 2026-03 and 10 in 2026-02, only a change of more than 62 "
        "points could be told from chance (two-sided test at 5%, 80% power); the 12 months to "
        "2026-03 (40 decided) against the 12 months before them (40) can show 31."
    ) in sentences


def test_no_detectable_sentence_when_the_change_is_significant(tmp_path):
    # 2026-03: 0 of 30; 2026-02: 30 of 30: p < 0.001, the change is flagged
    from tests.casefactory import build_store

    db = build_store(
        tmp_path / "cases.duckdb", _decided("2026-03", 0, 30) + _decided("2026-02", 30, 30)
    )
    sentences = sections.findings(sections.open_report(db=db, period="2026-03")).sentences
    assert any("a significant change" in s for s in sentences)
    assert not any(s.startswith("With 30 decided claims") for s in sentences)


def test_the_detectable_sentence_on_the_small_store(store):
    sentences = sections.findings(context(store, min_n=2)).sentences
    assert sentences[6] == (
        "With 4 decided claims in 2026-03 and 2 in 2026-02, no change in the rate could be told "
        "from chance (two-sided test at 5%, 80% power); the 12 months to 2026-03 cannot be set "
        "against the 12 months before them (no decided claim in one of the two)."
    )


def test_the_month_names_a_few_notable_cases_of_each_kind_and_counts_the_rest(tmp_path):
    # 7 compliance cases closed in March 2026: the findings name the first 5 (LEAD_CASES) by id
    # and count the other 2, which the notable-cases section lists
    from analysis import settings
    from tests.casefactory import build_store

    db = build_store(tmp_path / "c.duckdb", [
        dict(case_id=f"C{i}", claim_type="compliance", outcome="no_refund", claim_amount=1000,
             opened_date="2026-03-01", closed_date="2026-03-10")
        for i in range(7)
    ])  # fmt: skip
    sentences = sections.findings(context(db)).sentences
    lead = next(s for s in sentences if s.startswith("Notable cases closed in 2026-03"))
    assert settings.LEAD_CASES == 5
    assert lead.count("($1,000 claimed, nothing back)") == 5
    assert lead.endswith(" and 2 more (section 9).")
    assert lead.startswith("Notable cases closed in 2026-03: 7 compliance cases: ")
