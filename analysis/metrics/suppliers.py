"""Suppliers compared fairly: observed against expected supplier-sided outcomes for their case mix.

Compliance claims are refused more often than non-delivery claims whatever the supplier, so a
supplier's raw rate mostly says which claims it gets. Indirect standardisation (as hospital
mortality ratios are built) takes the mix out: each decided case of a supplier gets the
supplier-sided rate of its stratum (category x claim type) over the OTHER suppliers' decided
cases of the range (leave-one-out: with its own cases inside, a big supplier's expectation is
pulled toward what it did); a supplier's expected count E is the sum of those rates over its
decided cases, its observed count O how many of them were supplier-sided (a lowball counts
once). O/E above 1 means worse than its cases predict. A stratum no other supplier has cases in
falls back to the other suppliers' cases of the same claim type, then to all their cases.

O is a sum of independent Bernoulli trials with those rates, so under "no worse, no better
than the others" it has a Poisson-binomial distribution, computed exactly
(:func:`analysis.metrics.stats.poisson_binomial_tests`). A named supplier (``min_n_named``
decided cases) is flagged when O lies in either 0.1% tail of it (99.8% two-sided); its O/E
interval is the distribution's central range turned around its own O, so the 99.8% interval
excludes 1 exactly when it is flagged, and ``detectable_oe`` is the smallest O/E its E could
flag. Beside the flag, a random-intercept logistic model (:func:`analysis.metrics.stats.
random_intercept_logit`, the stratum rates as offsets) shrinks each supplier's O/E toward 1 by
how little its cases pin down, with an interval and ``prob_excess``: the probability that its
true O/E exceeds ``settings.EXCESS_OE``. The unnamed are counted, never listed or flagged.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from analysis import settings
from analysis.metrics import stats
from analysis.metrics.case_flags import bind, check_category, compose, period_cases_sql, window
from analysis.metrics.names import with_supplier_names
from analysis.metrics.params import Params
from analysis.store import Source, connect

#: The interval of a flag: a supplier is called out only beyond the 99.8% limits.
FLAG_CONFIDENCE = settings.FLAG_CONFIDENCE
#: prob_excess is the probability that a supplier's true O/E exceeds this.
EXCESS_OE = settings.EXCESS_OE
#: The JSON contract's fields of a named supplier.
COMPARISON_FIELDS = (
    "supplier_id", "decided", "supplier_sided", "expected", "oe_ratio", "ci_low", "ci_high", "flag",
    "shrunk_oe", "shrunk_ci_low", "shrunk_ci_high", "prob_excess", "detectable_oe",
)  # fmt: skip

# One row per (supplier, stratum) of the window's decided cases: the cells everything below is
# built from (a supplier's cases fall in a handful of strata, so there are few per supplier).
_CELLS = """
    CREATE TEMP TABLE supplier_cells AS
    WITH period_cases AS ({period_cases})
    SELECT supplier_id, category, claim_type,
        count(*) AS n,
        count_if(is_supplier_sided) AS k,
        count_if(is_lowball) AS lowball,
        -- the name on the supplier's latest case: closed last, then loaded last, then last in
        -- its file (a tie on the date alone would leave it to the order the rows are read in)
        arg_max(supplier_name, (closed_date, load_id, source_row))
            FILTER (WHERE supplier_name IS NOT NULL) AS name,
        -- (a struct with named fields: DuckDB 1.5 stores no unnamed struct in a table)
        max(struct_pack(closed_date, load_id, source_row))
            FILTER (WHERE supplier_name IS NOT NULL) AS name_key
    FROM period_cases WHERE closed_in AND is_decided
    GROUP BY ALL
"""
# Each cell's expected rate from the OTHER suppliers' cases: of its stratum; when no other
# supplier has a case there, of its claim type (any category); else of all their cases; NULL
# only when no other supplier has a decided case at all. A rate of exactly 0 or 1 (every one of
# those m cases one way) is moved half a case in, to 0.5 / (m + 1) or 1 - 0.5 / (m + 1): taken
# as a probability, 0 or 1 would make the supplier's count certain on the word of a few cases.
_RATES = """
    CREATE TEMP TABLE supplier_rates AS
    WITH strata AS (
        SELECT category, claim_type, sum(n) AS n, sum(k) AS k FROM supplier_cells GROUP BY ALL
    ),
    types AS (SELECT claim_type, sum(n) AS n, sum(k) AS k FROM supplier_cells GROUP BY ALL),
    own_types AS (
        SELECT supplier_id, claim_type, sum(n) AS n, sum(k) AS k FROM supplier_cells GROUP BY ALL
    ),
    own AS (
        SELECT supplier_id, sum(n) AS n, sum(k) AS k,
            row_number() OVER (ORDER BY supplier_id) - 1 AS supplier_index
        FROM supplier_cells GROUP BY supplier_id
    ),
    everyone AS (SELECT sum(n) AS n, sum(k) AS k FROM supplier_cells),
    referenced AS (
        SELECT c.supplier_id, c.n, c.k, c.lowball, c.name, c.name_key, o.supplier_index,
            CASE WHEN s.n > c.n THEN 'stratum' WHEN t.n > ot.n THEN 'claim_type'
                 WHEN e.n > o.n THEN 'all' END AS reference,
            CASE WHEN s.n > c.n THEN s.n - c.n WHEN t.n > ot.n THEN t.n - ot.n
                 WHEN e.n > o.n THEN e.n - o.n END AS reference_cases,
            CASE WHEN s.n > c.n THEN s.k - c.k WHEN t.n > ot.n THEN t.k - ot.k
                 WHEN e.n > o.n THEN e.k - o.k END AS reference_sided
        FROM supplier_cells c
        JOIN strata s USING (category, claim_type)
        JOIN types t USING (claim_type)
        JOIN own_types ot USING (supplier_id, claim_type)
        JOIN own o USING (supplier_id)
        CROSS JOIN everyone e
    )
    SELECT *,
        CASE WHEN reference_sided = 0 THEN 0.5 / (reference_cases + 1)
             WHEN reference_sided = reference_cases THEN 1 - 0.5 / (reference_cases + 1)
             ELSE reference_sided / reference_cases END AS rate
    FROM referenced
"""
_SUPPLIERS = """
    SELECT supplier_id,
        arg_max(name, name_key) AS supplier_name,
        sum(n)::BIGINT AS decided,
        sum(k)::BIGINT AS supplier_sided,
        fsum(n * rate) AS expected,
        sum(lowball)::BIGINT AS lowball,
        coalesce(sum(n) FILTER (WHERE reference <> 'stratum'), 0)::BIGINT AS outside_stratum
    FROM supplier_rates
    GROUP BY supplier_index, supplier_id
    ORDER BY supplier_index
"""
_CELL_ROWS = "SELECT supplier_index, n, k, rate FROM supplier_rates"


def observed_expected(
    db: Source,
    start: date | str,
    end: date | str,
    params: Params | None = None,
    category: str | None = None,
) -> pd.DataFrame:
    """Every supplier with decided cases closed in [start, end]: O, E, O/E, its exact limits and
    flag, and the shrunk O/E.

    Columns: supplier_id, supplier_name, decided, supplier_sided (O), expected (E, leave-one-out),
    lowball, outside_stratum (decided cases whose rate came from their claim type or from all
    cases: no other supplier had their stratum), oe_ratio, p_high / p_low (exact P(X >= O) and
    P(X <= O) with no excess), ci_low / ci_high (the report's confidence), ci998_low /
    ci998_high, detectable_oe, flag ('high', 'low' or None), shrunk_oe, shrunk_ci_low,
    shrunk_ci_high, prob_excess, named (at least ``min_n_named`` decided cases). The rates are
    over the decided cases of the range (of ``category`` when given). ``attrs``: start, end,
    suppliers, named, min_n_named, tau (the model's spread of the suppliers' log-odds).
    """
    params = params or Params()
    start, end = window(start, end)
    with connect(db) as con:
        check_category(con, category)
        con.execute(
            compose(_CELLS, period_cases=period_cases_sql()), bind(start, end, params, category)
        )
        con.execute(_RATES)
        frame = con.execute(_SUPPLIERS).df()
        frame = with_supplier_names(con, frame)  # one name per supplier, as everywhere
        cells = con.execute(_CELL_ROWS).fetchnumpy()
    frame["expected"] = frame["expected"].astype(float)
    e = frame["expected"].where(frame["expected"] > 0)
    frame["oe_ratio"] = frame["supplier_sided"] / e
    frame["named"] = frame["decided"] >= params.min_n_named
    _judge(frame, cells, params.confidence)
    frame.attrs.update(
        start=start.isoformat(),
        end=end.isoformat(),
        suppliers=len(frame),
        named=int(frame["named"].sum()),
        min_n_named=params.min_n_named,
    )
    return frame


def _judge(frame: pd.DataFrame, cells: dict, confidence: float) -> None:
    """The exact limits, flag, detectable O/E and shrunk O/E of every supplier, in place."""
    groups = len(frame)
    index = np.asarray(cells["supplier_index"], dtype=np.int64)
    n = np.asarray(cells["n"], dtype=np.int64)
    k = np.asarray(cells["k"], dtype=np.int64)
    rate = np.asarray(pd.to_numeric(pd.Series(cells["rate"]), errors="coerce"), dtype=float)
    observed = frame["supplier_sided"].to_numpy(np.int64)
    expected = frame["expected"].to_numpy(float)
    # E NULL: no other supplier had a decided case, nothing to compare with; E = 0: every
    # other supplier's rate was 0 for these cases, and O/E has no value
    usable = np.isfinite(expected) & (expected > 0)
    for column in ("p_high", "p_low", "ci_low", "ci_high", "ci998_low", "ci998_high",
                   "detectable_oe", "shrunk_oe", "shrunk_ci_low", "shrunk_ci_high",
                   "prob_excess"):  # fmt: skip
        frame[column] = np.nan
    frame["flag"] = pd.Series([None] * groups, index=frame.index, dtype=object)
    if not groups:
        return
    tests = stats.poisson_binomial_tests(
        index, n, np.nan_to_num(rate, nan=0.0), observed, (confidence, FLAG_CONFIDENCE)
    )
    e = np.where(usable, expected, np.nan)
    frame["p_high"] = np.where(usable, tests["at_least"], np.nan)
    frame["p_low"] = np.where(usable, tests["at_most"], np.nan)
    for level, prefix in ((confidence, "ci"), (FLAG_CONFIDENCE, "ci998")):
        # the central range [low, high] of O's distribution turned around the supplier's own
        # O: O/E - (high - E)/E to O/E + (E - low)/E. The lower end is above 1 exactly when O
        # is above high, i.e. in the upper tail: the interval at the flag level excludes 1
        # exactly when the supplier is flagged
        low, high = tests[f"low_{level:g}"], tests[f"high_{level:g}"]
        frame[f"{prefix}_low"] = np.maximum(observed - (high - e), 0.0) / e
        frame[f"{prefix}_high"] = (observed + (e - low)) / e
    # the smallest count that would be flagged high, as an O/E (none when even every case
    # supplier-sided would be within the limits)
    first_flagged = tests[f"high_{FLAG_CONFIDENCE:g}"] + 1
    frame["detectable_oe"] = np.where(first_flagged <= tests["trials"], first_flagged / e, np.nan)
    half = (1 - FLAG_CONFIDENCE) / 2
    named = frame["named"].to_numpy() & usable
    flag = np.select(
        [named & (tests["at_least"] <= half), named & (tests["at_most"] <= half)],
        ["high", "low"],
        "",
    )
    frame["flag"] = pd.Series(np.where(flag != "", flag, None), index=frame.index, dtype=object)
    _shrink(frame, index, n, k, rate, usable, confidence)


def _shrink(frame, index, n, k, rate, usable, confidence) -> None:
    """The random-intercept model's shrunk O/E, interval and prob_excess, in place."""
    if usable.sum() < 2:
        return  # one supplier: no spread between suppliers to estimate
    keep = usable[index]
    p = rate[keep]  # strictly between 0 and 1 (see _RATES): the log-odds are finite
    renumber = np.cumsum(usable) - 1
    fit = stats.random_intercept_logit(
        renumber[index[keep]], n[keep], k[keep], np.log(p / (1 - p)), int(usable.sum()),
        threshold=EXCESS_OE, confidence=confidence,
    )  # fmt: skip
    for column in ("shrunk_oe", "shrunk_ci_low", "shrunk_ci_high", "prob_excess"):
        values = np.full(len(frame), np.nan)
        values[usable] = fit[column]
        frame[column] = values
    frame.attrs["tau"] = fit["tau"]


def ranked(frame: pd.DataFrame) -> pd.DataFrame:
    """The suppliers in the order they are listed: flagged high, then flagged low, then the rest
    by prob_excess (highest first), then by id. Never by O/E: ranks of noisy ratios are mostly
    noise, and the flag and the probability say how sure a place is."""
    group = frame["flag"].map({"high": 0, "low": 1}).fillna(2)
    order = pd.DataFrame(
        {"group": group, "prob": -frame["prob_excess"].fillna(-1), "id": frame["supplier_id"]}
    ).sort_values(["group", "prob", "id"])
    return frame.loc[order.index]


def supplier_comparison(
    db: Source,
    start: date | str,
    end: date | str,
    params: Params | None = None,
    category: str | None = None,
) -> list[dict]:
    """The JSON contract's ``supplier_comparison``: the named suppliers (at least
    ``min_n_named`` decided cases) in the order of :func:`ranked`, each with the fields of
    :data:`COMPARISON_FIELDS`."""
    return comparison_contract(db, start, end, params, category)["named"]


def comparison_contract(
    db: Source,
    start: date | str,
    end: date | str,
    params: Params | None = None,
    category: str | None = None,
) -> dict:
    """``{"named": [...], "counts": {"suppliers": n, "named": m, "unnamed": n - m}}``: the
    named suppliers of :func:`supplier_comparison` and how many suppliers there were."""
    frame = observed_expected(db, start, end, params, category)
    named = ranked(frame[frame["named"]])
    records = [
        {k: _plain(row[k]) for k in COMPARISON_FIELDS} for row in named.to_dict(orient="records")
    ]
    counts = {"suppliers": len(frame), "named": len(named), "unnamed": len(frame) - len(named)}
    return {"named": records, "counts": counts}


def funnel_limits(
    expected: np.ndarray, confidence: float, rate: float
) -> tuple[np.ndarray, np.ndarray]:
    """The funnel plot's limits of O/E around 1 at ``confidence`` for expected counts E, from the
    same exact distribution as the flag, for a supplier whose every case has the rate ``rate``
    (the window's overall supplier-sided rate): O ~ Binomial(m, rate) with m = E / rate cases
    (rounded, at least 1). The lines are at low / E and high / E, [low, high] the counts that
    exact two-sided test does not reject (as :func:`analysis.metrics.stats.poisson_binomial_tests`
    gives them): a point above the upper line is a count in the upper tail. A real supplier's
    cases have their own rates, so its own limits differ a little from the line at its E.
    """
    from scipy.stats import binom

    expected = np.asarray(expected, dtype=float)
    good_rate = 0 < rate < 1
    usable = np.isfinite(expected) & (expected > 0) & good_rate
    rate = rate if good_rate else 0.5
    half = (1 - confidence) / 2
    cases = np.maximum(np.round(np.where(usable, expected, rate) / rate), 1)
    # binom.isf(q) is the smallest x with P(X > x) <= q: the largest x with P(X >= x) > q;
    # binom.ppf(q) the smallest x with P(X <= x) >= q
    high = binom.isf(half, cases, rate)
    low = binom.ppf(half, cases, rate)
    e = cases * rate
    return np.where(usable, low / e, np.nan), np.where(usable, high / e, np.nan)


def _plain(value):
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return None if not np.isfinite(value) else float(value)
    return value
