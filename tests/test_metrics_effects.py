"""analysis.metrics.effects: the adjusted model, by hand where a model can be worked by hand."""

from __future__ import annotations

import pytest

from analysis.metrics import Params
from analysis.metrics.effects import adjusted_effects
from tests.casefactory import build_store
from tests.planted import INSPECTION_ODDS_RATIO, planted_store

YEAR = ("2026-01-01", "2026-12-31")


def _decided(n, sided, supplier_count=20, **extra):
    """n decided cases of which the first ``sided`` were refused, spread over suppliers."""
    return [
        dict(supplier_id=f"S{i % supplier_count}", outcome="no_refund" if i < sided else
             "full_refund", opened_date="2026-03-01", closed_date="2026-03-20", **extra)
        for i in range(n)
    ]  # fmt: skip


def test_one_varying_factor_gives_the_two_by_two_odds_ratio(tmp_path):
    # Only the inspection report varies (one claim type, category, band; no escalation or other
    # evidence): the model is the 2 x 2 table, whose odds ratio is (20/80) / (150/150) = 0.25.
    cases = _decided(100, 20, evidence=["inspection_report"]) + _decided(300, 150)
    db = build_store(tmp_path / "two.duckdb", cases)
    model = adjusted_effects(db, *YEAR)
    assert model.not_fitted is None
    assert (model.decided, model.supplier_sided, model.suppliers) == (400, 170, 20)
    assert model.terms["term"].tolist() == ["inspection_report"]
    term = model.terms.iloc[0]
    assert term["odds_ratio"] == pytest.approx(0.25)
    assert term["raw_odds_ratio"] == pytest.approx(0.25)  # nothing to adjust for
    assert term["ci_low"] < 0.25 < term["ci_high"] < 1 and term["p_value"] < 0.001
    assert term["cases"] == 100
    # the constant factors are said to be left out
    assert "claim_type: the same for every case; left out" in model.notes
    # escalation is in the sensitivity model only, and there it is said to be constant
    assert not any(note.startswith("escalated") for note in model.notes)
    assert "escalated: the same for every case; left out" in model.sensitivity.notes
    contract = model.contract()
    assert [row["term"] for row in contract] == ["inspection_report"]
    assert set(contract[0]) == {
        "term", "odds_ratio", "ci_low", "ci_high", "p_value", "raw_odds_ratio",
        "ame", "ame_ci_low", "ame_ci_high",
    }  # fmt: skip
    # the average marginal effect on the rate: 20/100 with it against 150/300 without: -30 points
    assert term["ame"] == pytest.approx(-0.3)
    assert term["ame_ci_low"] < -0.3 < term["ame_ci_high"] < 0


def test_too_few_cases_is_said_not_fitted(tmp_path):
    db = build_store(tmp_path / "few.duckdb", _decided(199, 90))
    model = adjusted_effects(db, *YEAR)
    assert model.terms is None
    assert model.not_fitted == "only 199 decided case(s); the model is fitted from 200"
    assert model.contract() == {"not_fitted": model.not_fitted}


def test_too_few_events_per_parameter_is_said_not_fitted(tmp_path):
    # 300 cases, 15 supplier-sided; inspection and escalation vary. The main model (escalation
    # left out) has 1 parameter and needs 10 of the rarer outcome: fitted; the sensitivity
    # model adds escalation: 2 parameters need 20.
    cases = (
        _decided(100, 5, evidence=["inspection_report"])
        + _decided(100, 5, escalated_date="2026-03-05")
        + _decided(100, 5)
    )
    model = adjusted_effects(build_store(tmp_path / "epv.duckdb", cases), *YEAR)
    assert model.terms["term"].tolist() == ["inspection_report"] and model.parameters == 1
    assert model.sensitivity.terms is None
    assert model.sensitivity.not_fitted == (
        "15 case(s) of the rarer outcome for 2 parameters; the model needs 10 per parameter (20)"
    )


def test_a_level_with_no_events_is_merged_and_said(tmp_path):
    # Non-delivery claims were all refunded (no event: separation); damaged ones are too few.
    cases = (
        _decided(150, 60, evidence=["inspection_report"])
        + _decided(150, 90)
        + _decided(40, 0, claim_type="non_delivery")
        + _decided(6, 3, claim_type="damaged")
    )
    model = adjusted_effects(build_store(tmp_path / "merge.duckdb", cases), *YEAR)
    assert model.not_fitted is None
    assert "claim_type: damaged, non_delivery merged as 'other levels' (too few cases, or all one way)" in model.notes  # fmt: skip
    claim_terms = model.terms[model.terms["factor"] == "claim_type"]
    assert claim_terms["level"].tolist() == ["other levels"]
    assert claim_terms["reference"].tolist() == ["quality"]  # the commonest level
    assert claim_terms["cases"].tolist() == [46]


def test_a_merged_level_that_still_goes_one_way_is_left_out(tmp_path):
    cases = (
        _decided(150, 60, evidence=["inspection_report"])
        + _decided(150, 90)
        + _decided(40, 0, claim_type="non_delivery")
    )
    model = adjusted_effects(build_store(tmp_path / "out.duckdb", cases), *YEAR)
    assert "claim_type: the merged level still goes all one way; its 40 case(s) are left out" in model.notes  # fmt: skip
    assert model.decided == 340  # counted before the fit; the fit leaves the 40 out
    assert "claim_type" not in set(model.terms["factor"])


def test_the_model_recovers_an_inspection_effect_hidden_by_confounding(tmp_path):
    store = planted_store(tmp_path / "planted.duckdb")
    model = adjusted_effects(store.db, *store.window, Params())
    terms = model.terms.set_index("term")
    inspection = terms.loc["inspection_report"]
    # raw: inspections look nearly useless (they are on the claims refused most) ...
    assert inspection["raw_odds_ratio"] > 0.6
    # ... adjusted for the claim type, the planted odds ratio is recovered
    assert inspection["ci_low"] < INSPECTION_ODDS_RATIO < inspection["ci_high"] < 1
    assert inspection["odds_ratio"] == pytest.approx(INSPECTION_ODDS_RATIO, abs=0.08)
    # and nothing is found where nothing was planted (escalation: in the sensitivity model)
    assert "escalated" not in terms.index
    sensitivity = model.sensitivity.terms.set_index("term")
    assert (
        terms.loc["other_evidence_kinds", "ci_low"]
        < 1
        < terms.loc["other_evidence_kinds", "ci_high"]
    )
    assert sensitivity.loc["escalated", "ci_low"] < 1 < sensitivity.loc["escalated", "ci_high"]


def test_the_grouped_fit_equals_a_case_by_case_fit(tmp_path):
    # The cases are grouped by (supplier, covariates) for speed; odds ratios, intervals and
    # p-values must be those of the plain case-level logistic regression with standard errors
    # clustered by supplier (statsmodels' default small-sample factor, N = cases).
    import duckdb
    import numpy as np
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    store = planted_store(tmp_path / "planted.duckdb")
    model = adjusted_effects(store.db, *store.window)
    with duckdb.connect(str(store.db), read_only=True) as con:
        rows = con.execute(
            """
            SELECT supplier_id, claim_type, category,
                (outcome = 'no_refund')::INT AS sided,
                list_contains(coalesce(evidence, []), 'inspection_report')::INT AS inspection_report,
                len(list_filter(coalesce(evidence, []), lambda e: e <> 'inspection_report'))
                    AS other_evidence_kinds,
                (escalated_date IS NOT NULL)::INT AS escalated,
                CASE WHEN order_value_usd < 1000 THEN 'under_1k' WHEN order_value_usd < 5000
                     THEN '1k_5k' WHEN order_value_usd < 20000 THEN '5k_20k' ELSE '20k_100k'
                     END AS order_value_band
            FROM cases
            """
        ).df()
    refs = {
        f: rows[f].value_counts().index[0] for f in ("claim_type", "category", "order_value_band")
    }
    groups = {"groups": rows["supplier_id"].factorize()[0]}
    for result, extra in ((model, []), (model.sensitivity, ["escalated"])):
        # the main model without escalation, the sensitivity model with it
        formula = "sided ~ " + " + ".join(
            [f"C({f}, Treatment('{r}'))" for f, r in refs.items()]
            + ["inspection_report", "other_evidence_kinds", *extra]
        )
        fit = smf.glm(formula, rows, family=sm.families.Binomial()).fit(
            cov_type="cluster", cov_kwds=groups
        )
        ci = np.exp(fit.conf_int())
        found = result.terms.set_index("term")
        assert found.index.str.startswith("escalated").any() == bool(extra)
        for name in ("inspection_report", "other_evidence_kinds", *extra):
            assert found.loc[name, "odds_ratio"] == pytest.approx(
                np.exp(fit.params[name]), rel=1e-9
            )
            assert found.loc[name, "ci_low"] == pytest.approx(ci.loc[name, 0], rel=1e-9)
            assert found.loc[name, "ci_high"] == pytest.approx(ci.loc[name, 1], rel=1e-9)
            assert found.loc[name, "p_value"] == pytest.approx(fit.pvalues[name], rel=1e-6)
    fit = smf.glm(formula.replace(" + escalated", ""), rows, family=sm.families.Binomial()).fit(
        cov_type="cluster", cov_kwds=groups
    )
    ci = np.exp(fit.conf_int())
    terms = model.terms.set_index("term")
    # the raw comparison beside it: the one-factor case-level fit, clustered the same way
    raw = smf.glm("sided ~ inspection_report", rows, family=sm.families.Binomial()).fit(
        cov_type="cluster", cov_kwds={"groups": rows["supplier_id"].factorize()[0]}
    )
    raw_ci = np.exp(raw.conf_int())
    inspection = terms.loc["inspection_report"]
    assert inspection["raw_odds_ratio"] == pytest.approx(
        np.exp(raw.params["inspection_report"]), rel=1e-9
    )
    assert inspection["raw_ci_low"] == pytest.approx(raw_ci.loc["inspection_report", 0], rel=1e-9)
    assert inspection["raw_ci_high"] == pytest.approx(raw_ci.loc["inspection_report", 1], rel=1e-9)
    # average marginal effects: statsmodels' Logit (case by case, clustered the same way) for
    # the binary term (0 -> 1) and the count (one more), and by hand for a level against the
    # reference (every case moved from quality to compliance)
    main = formula.replace(" + escalated", "")
    logit = smf.logit(main, rows).fit(disp=0, cov_type="cluster", cov_kwds=groups)
    margins = logit.get_margeff(at="overall", method="dydx", dummy=True, count=True)
    frame = margins.summary_frame()
    name = "inspection_report"
    assert terms.loc[name, "ame"] == pytest.approx(frame.loc[name, "dy/dx"], rel=1e-6)
    assert terms.loc[name, "ame_ci_low"] == pytest.approx(
        frame.loc[name, "Conf. Int. Low"], rel=1e-5
    )
    assert terms.loc[name, "ame_ci_high"] == pytest.approx(
        frame.loc[name, "Cont. Int. Hi."], rel=1e-5
    )
    # the count: one more kind of evidence for every case (statsmodels' count effect is the
    # central difference, half of (one more) - (one fewer): not the same question)
    more = rows.assign(other_evidence_kinds=rows["other_evidence_kinds"] + 1)
    by_hand = (logit.predict(more) - logit.predict(rows)).mean()
    assert terms.loc["other_evidence_kinds", "ame"] == pytest.approx(by_hand, rel=1e-6)
    moved = {c: rows.assign(claim_type=c) for c in ("compliance", "quality")}
    by_hand = (logit.predict(moved["compliance"]) - logit.predict(moved["quality"])).mean()
    assert terms.loc["claim_type[compliance]", "ame"] == pytest.approx(by_hand, rel=1e-6)
    compliance = "C(claim_type, Treatment('quality'))[T.compliance]"
    assert terms.loc["claim_type[compliance]", "ci_high"] == pytest.approx(
        ci.loc[compliance, 1], rel=1e-9
    )


def test_cases_left_out_take_their_suppliers_out_of_the_clusters(tmp_path):
    # The 40 non-delivery claims (all refunded: a level that goes one way) are left out, and
    # with them their own 5 suppliers: the standard errors are clustered over the 20 suppliers
    # that remain, as statsmodels' case-by-case fit of the 300 kept cases gives them.
    import numpy as np
    import statsmodels.api as sm

    kept = _decided(150, 60, evidence=["inspection_report"]) + _decided(150, 90)
    left_out = [
        dict(supplier_id=f"X{i % 5}", outcome="full_refund", claim_type="non_delivery",
             opened_date="2026-03-01", closed_date="2026-03-20")
        for i in range(40)
    ]  # fmt: skip
    model = adjusted_effects(build_store(tmp_path / "out.duckdb", kept + left_out), *YEAR)
    assert (model.decided, model.suppliers) == (340, 25)  # counted before the fit
    sided = np.array([c["outcome"] == "no_refund" for c in kept], dtype=float)
    inspection = np.array([bool(c.get("evidence")) for c in kept], dtype=float)
    groups = np.array([int(c["supplier_id"][1:]) for c in kept])
    fit = sm.GLM(sided, sm.add_constant(inspection), family=sm.families.Binomial()).fit(
        cov_type="cluster", cov_kwds={"groups": groups}
    )
    term = model.terms.set_index("term").loc["inspection_report"]
    assert term["odds_ratio"] == pytest.approx((60 / 90) / (90 / 60), rel=1e-9)
    low, high = np.exp(fit.conf_int()[1])
    # (clustered over all 25 suppliers the interval would be 0.40229-0.49102, off by 4e-4)
    assert term["ci_low"] == pytest.approx(low, rel=1e-6)
    assert term["ci_high"] == pytest.approx(high, rel=1e-6)
