"""What helps buyers win: the adjusted effect of each case characteristic on a supplier-sided outcome.

A logistic regression (statsmodels GLM, binomial) of supplier-sided on claim type, category, an
inspection report in the evidence, the number of other evidence kinds, escalation and the
order-value band, over the decided cases of a range, with standard errors clustered by supplier
(many cases of one supplier are not independent evidence). Effects are adjusted odds ratios with
their 95% intervals and p-values; beside each, the raw (unadjusted) odds ratio of the same
comparison, so a reader sees what adjustment changed (an inspection report is commonest in the
claims that are refused most: raw and adjusted can differ a lot).

The model is fitted only with enough data: at least MODEL_MIN_CASES decided cases and
MODEL_EVENTS_PER_PARAMETER cases of the rarer outcome per parameter. A level of a factor with
fewer than that many cases, or in which every case went one way (perfect separation), is merged
with the others like it; a merged level that still goes one way is left out with its cases; the
result says so. The cases are grouped by (supplier, covariates) with their counts in SQL; the
estimate is statsmodels' GLM over the covariate patterns, and the cluster-robust covariance is
formed over the suppliers' rows in one pass (see :func:`_fit`), so ten million cases cost seconds.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from analysis import settings
from analysis.metrics import breakdowns as bd
from analysis.metrics import coverage
from analysis.metrics.case_flags import bind, check_category, compose, period_cases_sql, window
from analysis.metrics.params import Params
from analysis.store import Source, connect

#: The factors of the model: (name, kind). Categorical factors get one term per level against
#: the commonest level; binary and count factors one term each.
FACTORS = (
    ("claim_type", "categorical"),
    ("category", "categorical"),
    ("inspection_report", "binary"),
    ("other_evidence_kinds", "count"),
    ("order_value_band", "categorical"),
)
#: Adjusted for only in the sensitivity model: escalation follows a dispute going badly (a
#: consequence of the outcome's course, not a characteristic the case had before it), so holding
#: it equal would bias the evidence effects. The main model leaves it out; the sensitivity
#: model adds it, to show how much that choice moves them.
SENSITIVITY_FACTORS = (("escalated", "binary"),)
#: The field a factor is read from, where the exports may not have recorded it.
FACTOR_FIELDS = {
    "inspection_report": "evidence",
    "other_evidence_kinds": "evidence",
    "escalated": "escalated_date",
    "order_value_band": "claim_amount",
}
MERGED = "other levels"
#: The contract's fields of a term (the raw odds ratio beside the adjusted one).
TERM_FIELDS = (
    "term", "odds_ratio", "ci_low", "ci_high", "p_value", "raw_odds_ratio",
    "ame", "ame_ci_low", "ame_ci_high",
)  # fmt: skip

#: The decided cases closed in the range, grouped by (supplier, covariates) with their counts:
#: the covariate patterns (a few thousand rows at most) and, per (supplier, pattern), the counts
#: the clustered standard errors are formed from (one row per supplier and pattern).
_GROUPS = """
    WITH period_cases AS ({period_cases})
    -- the supplier as a 64-bit hash: a cluster label only (two of a million suppliers share
    -- one with a chance below 1e-7), far cheaper to move and group than its text
    SELECT hash(supplier_id) AS supplier_hash, claim_type, category,
        has_inspection_report::INTEGER AS inspection_report,
        other_evidence_kinds,
        is_escalated::INTEGER AS escalated,
        {band} AS order_value_band,
        count(*) AS n,
        count_if(is_supplier_sided) AS k
    FROM period_cases WHERE closed_in AND is_decided
    GROUP BY ALL
"""
_PATTERNS = """
    CREATE TEMP TABLE effect_patterns AS
    SELECT row_number() OVER (ORDER BY {covariates}) - 1 AS pattern, *
    FROM (
        SELECT {covariates}, sum(n)::BIGINT AS n, sum(k)::BIGINT AS k
        FROM effect_groups GROUP BY ALL
    )
"""
_ROWS = """
    SELECT p.pattern, g.supplier_hash, g.n, g.k
    FROM effect_groups g JOIN effect_patterns p ON {same_pattern}
"""
COVARIATES = tuple(name for name, _ in FACTORS + SENSITIVITY_FACTORS)


@dataclass
class ModelResult:
    """A fitted model's terms (adjusted and raw), or why it was not fitted."""

    terms: pd.DataFrame | None = None
    not_fitted: str | None = None
    decided: int = 0
    supplier_sided: int = 0
    parameters: int = 0
    suppliers: int = 0
    notes: list[str] = field(default_factory=list)
    references: dict[str, str] = field(default_factory=dict)
    #: the same model with SENSITIVITY_FACTORS added (None on the sensitivity model itself)
    sensitivity: ModelResult | None = None

    def contract(self) -> list[dict] | dict:
        """The JSON contract's ``adjusted_effects``: the terms, or ``{"not_fitted": reason}``."""
        if self.terms is None:
            return {"not_fitted": self.not_fitted}
        return [
            {k: (None if pd.isna(row[k]) else row[k]) for k in TERM_FIELDS}
            for row in self.terms.to_dict(orient="records")
        ]


def groups_sql() -> str:
    """The window's decided cases grouped by (supplier, covariates), with n and k: the model's
    one pass over the cases (parameters: :func:`analysis.metrics.case_flags.bind`)."""
    return compose(
        _GROUPS, period_cases=period_cases_sql(), band=bd.breakdown("order_value_band").key_sql
    )


def _grouped(db, start, end, params, category) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(patterns, rows): the covariate patterns with their counts n and k, indexed by pattern
    number; and one row per (supplier, pattern): pattern, cluster (0.. per supplier), n, k."""
    query = "CREATE TEMP TABLE effect_groups AS " + groups_sql()
    same = " AND ".join(f"g.{c} IS NOT DISTINCT FROM p.{c}" for c in COVARIATES)
    with connect(db) as con:
        check_category(con, category)
        con.execute(query, bind(start, end, params, category))
        con.execute(_PATTERNS.format(covariates=", ".join(COVARIATES)))
        patterns = con.execute("SELECT * FROM effect_patterns ORDER BY pattern").df()
        rows = con.execute(_ROWS.format(same_pattern=same)).df()
    patterns = patterns.set_index("pattern")
    rows["cluster"] = pd.factorize(rows.pop("supplier_hash"))[0]
    return patterns, rows


def _merge_levels(data: pd.DataFrame, factor: str, minimum: int, notes: list[str]) -> pd.DataFrame:
    """Merge the levels of ``factor`` that are too small or go all one way into one level."""
    totals = data.groupby(factor, observed=True).agg(n=("n", "sum"), k=("k", "sum"))
    weak = totals[(totals["n"] < minimum) | (totals["k"] == 0) | (totals["k"] == totals["n"])]
    if len(weak) == 0 or len(weak) == len(totals):
        return data
    names = ", ".join(str(v) for v in weak.index)
    data = data.copy()
    if isinstance(data[factor].dtype, pd.CategoricalDtype):
        data[factor] = data[factor].cat.add_categories([MERGED])
    data[factor] = data[factor].where(~data[factor].isin(weak.index), MERGED)
    notes.append(f"{factor}: {names} merged as '{MERGED}' (too few cases, or all one way)")
    merged = data[data[factor] == MERGED]
    if merged["k"].sum() in (0, merged["n"].sum()):
        notes.append(f"{factor}: the merged level still goes all one way; its {int(merged['n'].sum())} "
                     "case(s) are left out")  # fmt: skip
        data = data[data[factor] != MERGED]
    return data


def _terms(data: pd.DataFrame, factors: list[tuple[str, str]], references: dict) -> list[tuple]:
    """The model's terms after the constant: (term, factor, level), level None for a binary or
    count factor; categorical levels in text order, the reference level left out."""
    terms = []
    for name, kind in factors:
        if kind == "categorical":
            levels = sorted((lv for lv in data[name].unique() if lv != references[name]), key=str)
            terms += [(f"{name}[{lv}]", name, lv) for lv in levels]
        else:
            terms.append((name, name, None))
    return terms


def _column(data: pd.DataFrame, factor: str, level) -> np.ndarray:
    """One column of the design: a level's 0/1 indicator, or the factor's own values."""
    values = data[factor]
    return (values == level).to_numpy(float) if level is not None else values.to_numpy(float)


def _design(data: pd.DataFrame, terms: list[tuple]) -> pd.DataFrame:
    columns = {"const": np.ones(len(data))}
    columns.update({term: _column(data, factor, level) for term, factor, level in terms})
    return pd.DataFrame(columns, index=data.index)


@dataclass
class Clusters:
    """The (supplier, pattern) rows of the fitted patterns as a sparse suppliers x patterns
    layout (CSR: each supplier's rows together), in which the scores are summed; built once for
    all the fits."""

    pattern_position: np.ndarray  # each row's pattern, as a position in the patterns frame
    row_start: np.ndarray  # where each supplier's rows start (CSR index pointer)
    n: np.ndarray
    k: np.ndarray
    suppliers: int

    @classmethod
    def of(cls, rows: pd.DataFrame, patterns: pd.DataFrame) -> Clusters:
        """The rows whose pattern is in ``patterns`` (a level left out leaves its rows out)."""
        from scipy.sparse import coo_array

        pattern = rows["pattern"].to_numpy()
        position = np.full(int(pattern.max()) + 1 if len(pattern) else 0, -1)
        position[patterns.index.to_numpy()] = np.arange(len(patterns))
        pattern_position = position[pattern]
        kept = np.flatnonzero(pattern_position >= 0)
        cluster = rows["cluster"].to_numpy()[kept]
        if len(kept) == len(rows):
            suppliers = int(cluster.max()) + 1 if len(cluster) else 0
        else:  # number the suppliers that still have a fitted case 0..G-1
            cluster, uniques = pd.factorize(cluster)
            suppliers = len(uniques)
        # each (supplier, pattern) pair is one row (the rows are grouped by both), so the CSR
        # layout (a counting sort, in C) of the rows' numbers says where each row goes
        layout = coo_array(
            (np.arange(1, len(kept) + 1, dtype=float), (cluster, pattern_position[kept])),
            shape=(suppliers, len(patterns)),
        ).tocsr()
        order = kept[layout.data.astype(np.int64) - 1]
        return cls(
            pattern_position=layout.indices.astype(np.int64),
            row_start=layout.indptr,
            n=rows["n"].to_numpy(float)[order],
            k=rows["k"].to_numpy(float)[order],
            suppliers=suppliers,
        )


def _fit(
    patterns: pd.DataFrame, clusters: Clusters, terms: list[tuple], confidence: float
) -> pd.DataFrame:
    """The logistic regression of k of n on ``terms``, standard errors clustered by supplier.

    The estimate comes from statsmodels' GLM on the cases grouped by the terms' covariates
    alone (a few thousand rows at most: the maximum-likelihood estimate does not depend on how
    cases are grouped). The cluster-robust ("sandwich") covariance, which does depend on the
    suppliers, is then formed exactly as statsmodels' ``cov_type="cluster"`` forms it: bread =
    the inverse information (the grouped fit's), meat = the sum over suppliers of the outer
    product of each supplier's score, times the small-sample factor G/(G-1) (N-1)/(N-K) with
    N the number of cases. A supplier's score is the sum over its (supplier, pattern) rows of
    x (k - n p), x and p the pattern's: one sparse (suppliers x patterns) product with the
    patterns' design. At ten million cases a GLM over every supplier's rows took minutes;
    this takes one pass. tests/test_metrics_effects.py checks the result against statsmodels'
    own case-by-case fit.
    """
    from scipy.sparse import csr_matrix
    from scipy.special import expit
    from scipy.stats import norm
    from statsmodels.genmod.families import Binomial
    from statsmodels.genmod.generalized_linear_model import GLM
    from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning

    factors = list(dict.fromkeys(factor for _, factor, _ in terms))
    fitted = (
        patterns.groupby(factors, sort=False, dropna=False, observed=True)[["n", "k"]]
        .sum()
        .reset_index()
    )
    exog = _design(fitted, terms)
    endog = np.column_stack([fitted["k"], fitted["n"] - fitted["k"]]).astype(float)
    # With as many covariate patterns as parameters (a raw, one-factor comparison) the fit
    # reproduces each pattern's proportion exactly, which statsmodels takes for perfect
    # prediction; such a model is separated only if a pattern went all one way.
    saturated = len(fitted) <= exog.shape[1]
    if saturated and ((fitted["k"] == 0) | (fitted["k"] == fitted["n"])).any():
        raise ValueError("a covariate pattern went all one way (perfect separation)")
    with warnings.catch_warnings():
        # a separation or convergence warning makes the estimates meaningless: a failure here
        warnings.simplefilter("ignore" if saturated else "error", PerfectSeparationWarning)
        warnings.simplefilter("error", ConvergenceWarning)
        # the working regression's scale has no residual degree of freedom when saturated; a
        # binomial model's scale is 1 and that estimate is never used
        warnings.filterwarnings(
            "ignore", "(divide by zero|invalid value) encountered in scalar divide", RuntimeWarning
        )
        fit = GLM(endog, exog, family=Binomial()).fit()
    coef = np.asarray(fit.params)
    bread = np.asarray(fit.normalized_cov_params)  # (X' W X)^-1, binomial scale 1
    design = _design(patterns, terms).to_numpy()  # every pattern's x
    p = expit(design @ coef)
    residual = clusters.k - clusters.n * p[clusters.pattern_position]
    by_supplier = csr_matrix(
        (residual, clusters.pattern_position, clusters.row_start),
        shape=(clusters.suppliers, len(patterns)),
    )
    scores = by_supplier @ design  # each supplier's score: sum of x (k - n p) over its rows
    meat = scores.T @ scores
    cases, k, g = float(clusters.n.sum()), design.shape[1], clusters.suppliers
    factor = g / (g - 1) * (cases - 1) / (cases - k)
    covariance = factor * bread @ meat @ bread
    se = np.sqrt(np.clip(np.diag(covariance), 0, None))  # rounding leaves a zero at -1e-20
    z = float(norm.ppf(1 - (1 - confidence) / 2))
    effect, effect_se = _marginal_effects(design, patterns["n"].to_numpy(float), terms, coef,
                                          covariance)  # fmt: skip
    return pd.DataFrame(
        {
            "term": exog.columns,
            "coef": coef,
            "odds_ratio": np.exp(coef),
            "ci_low": np.exp(coef - z * se),
            "ci_high": np.exp(coef + z * se),
            "p_value": 2
            * norm.sf(np.abs(np.divide(coef, se, where=se > 0, out=np.full_like(coef, np.inf)))),
            "ame": effect,
            "ame_ci_low": effect - z * effect_se,
            "ame_ci_high": effect + z * effect_se,
        }
    ).set_index("term")


def _marginal_effects(design, weights, terms, coef, covariance) -> tuple[np.ndarray, np.ndarray]:
    """Each term's average marginal effect on the supplier-sided rate, and its standard error.

    Over every case (each pattern weighted by its cases): the mean of p(x1) - p(x0), where x1
    gives the case the term (a level: that level, the factor's other levels off; a binary term:
    1; a count: one more) and x0 does not (the reference level; 0; the case's own count). The
    standard error by the delta method with the model's (supplier-clustered) covariance: the
    gradient of the mean difference in the coefficients is the mean of p'(x1) x1 - p'(x0) x0.
    The constant gets none (NaN)."""
    from scipy.special import expit

    kinds = dict(FACTORS + SENSITIVITY_FACTORS)
    total = weights.sum()
    effect = np.full(len(coef), np.nan)
    effect_se = np.full(len(coef), np.nan)
    for j, (_, factor, level) in enumerate(terms, start=1):
        x0, x1 = design.copy(), design.copy()
        if level is None and kinds.get(factor) == "count":
            x1[:, j] += 1
        else:
            siblings = [i for i, (_, f, _) in enumerate(terms, start=1) if f == factor]
            x0[:, siblings] = 0
            x1[:, siblings] = 0
            x1[:, j] = 1
        p0, p1 = expit(x0 @ coef), expit(x1 @ coef)
        effect[j] = weights @ (p1 - p0) / total
        gradient = ((weights * p1 * (1 - p1)) @ x1 - (weights * p0 * (1 - p0)) @ x0) / total
        effect_se[j] = np.sqrt(max(float(gradient @ covariance @ gradient), 0.0))
    return effect, effect_se


def adjusted_effects(
    db: Source,
    start: date | str,
    end: date | str,
    params: Params | None = None,
    category: str | None = None,
) -> ModelResult:
    """The adjusted (and raw) odds ratios of a supplier-sided outcome over the decided cases
    closed in [start, end]; see the module's docstring for the model and its rules."""
    params = params or Params()
    start, end = window(start, end)
    # the covariate patterns (indexed by pattern) and the (supplier, pattern) rows
    patterns, rows = _grouped(db, start, end, params, category)
    missing = coverage.not_recorded(db, start, end, params, category)
    main = _model(patterns, rows, params, category, missing, FACTORS)
    main.sensitivity = _model(
        patterns, rows, params, category, missing, FACTORS + SENSITIVITY_FACTORS
    )
    return main


def _model(patterns, rows, params, category, missing, factors) -> ModelResult:
    """The model of ``factors`` over the grouped cases (see the module's docstring)."""
    result = ModelResult(
        decided=int(rows["n"].sum()),
        supplier_sided=int(rows["k"].sum()),
        suppliers=int(rows["cluster"].max()) + 1 if len(rows) else 0,
    )
    if result.decided < settings.MODEL_MIN_CASES:
        result.not_fitted = (
            f"only {result.decided} decided case(s); the model is fitted from "
            f"{settings.MODEL_MIN_CASES}"
        )
        return result
    epp = settings.MODEL_EVENTS_PER_PARAMETER
    factors = [(name, kind) for name, kind in factors if name != "category" or category is None]
    # a factor whose field the exports did not record is no characteristic of the cases
    for name, kind in list(factors):
        source = FACTOR_FIELDS.get(name)
        if source in missing:
            factors.remove((name, kind))
            result.notes.append(f"{name}: {source} not recorded in these exports; left out")
    for name, kind in factors:
        if kind == "categorical":
            patterns = _merge_levels(patterns, name, epp, result.notes)
    kept = []
    for name, kind in factors:
        if patterns[name].nunique() < 2:
            result.notes.append(f"{name}: the same for every case; left out")
        else:
            kept.append((name, kind))
    for name, kind in kept:
        if kind == "categorical":
            result.references[name] = str(
                patterns.groupby(name, observed=True)["n"]
                .sum()
                .sort_values(ascending=False)
                .index[0]
            )
    terms = _terms(patterns, kept, result.references)
    result.parameters = len(terms)
    rarer = int(min(patterns["k"].sum(), (patterns["n"] - patterns["k"]).sum()))
    if rarer < epp * result.parameters:
        result.not_fitted = (
            f"{rarer} case(s) of the rarer outcome for {result.parameters} parameters; the model "
            f"needs {epp} per parameter ({epp * result.parameters})"
        )
        return result
    clusters = Clusters.of(rows, patterns)  # outside the try: a fault here is no unfittable model
    try:
        adjusted = _fit(patterns, clusters, terms, params.confidence)
    except Exception as exc:  # separation, singular design, no convergence
        result.not_fitted = (
            f"the model could not be fitted ({type(exc).__name__}: {str(exc)[:120]})"
        )
        return result
    raw_rows = {}
    for name, _ in kept:
        single = [t for t in terms if t[1] == name]
        try:
            raw = _fit(patterns, clusters, single, params.confidence)
        except Exception:  # noqa: S112 - a raw comparison that cannot be fitted is left empty
            continue
        for term, _, _ in single:
            raw_rows[term] = raw.loc[term]
    terms = adjusted.drop(index="const").reset_index()
    for column in ("odds_ratio", "ci_low", "ci_high", "p_value"):
        terms[f"raw_{column}"] = [
            raw_rows[t][column] if t in raw_rows else np.nan for t in terms["term"]
        ]
    terms["factor"] = [t.split("[")[0] for t in terms["term"]]
    terms["level"] = [t.split("[")[1].rstrip("]") if "[" in t else None for t in terms["term"]]
    terms["reference"] = [result.references.get(f) for f in terms["factor"]]
    terms["cases"] = [
        # a binary term (no level; NaN in a string column) counts the cases that have it
        int(patterns.loc[patterns[f] == (1 if pd.isna(lv) else lv), "n"].sum())
        if f != "other_evidence_kinds" else int(patterns["n"].sum())
        for f, lv in zip(terms["factor"], terms["level"], strict=True)
    ]  # fmt: skip
    result.terms = terms.drop(columns="coef")
    return result
