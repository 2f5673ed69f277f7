"""Suppliers compared fairly: observed against expected supplier-sided outcomes for their case mix.

Compliance claims are refused more often than non-delivery claims whatever the supplier, so a
supplier's raw rate mostly says which claims it gets. Indirect standardisation (as hospital
mortality ratios are built) takes the mix out: every decided case of the range gets the
supplier-sided rate of its stratum (category x claim type, over all suppliers); a supplier's
expected count E is the sum of those rates over its decided cases, its observed count O how many
of them were supplier-sided (a lowball counts once: it is one supplier-sided case). O/E above 1
means worse than its cases predict. The interval of O/E is the exact (Garwood) Poisson interval of
O divided by E; a supplier is flagged only when the 99.8% interval lies wholly above (or below) 1,
and named only with at least ``min_n_named`` decided cases: the rest are counted, never listed.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import settings
from analysis.metrics import stats
from analysis.metrics.cases import bind, check_category, compose, period_cases_sql, window
from analysis.metrics.names import with_supplier_names
from analysis.metrics.params import Params
from analysis.store import connect

#: The interval of a flag: a supplier is called out only beyond the 99.8% limits.
FLAG_CONFIDENCE = settings.FLAG_CONFIDENCE
#: The JSON contract's fields of a named supplier.
COMPARISON_FIELDS = (
    "supplier_id", "decided", "supplier_sided", "expected", "oe_ratio", "ci_low", "ci_high", "flag",
)  # fmt: skip

_OBSERVED_EXPECTED = """
    WITH period_cases AS ({period_cases}),
    decided AS (
        SELECT supplier_id, supplier_name, closed_date, load_id, source_row, category,
               claim_type, is_lowball, is_supplier_sided::INTEGER AS sided
        FROM period_cases WHERE closed_in AND is_decided
    ),
    strata AS (
        SELECT category, claim_type, avg(sided) AS stratum_rate FROM decided GROUP BY ALL
    )
    SELECT d.supplier_id,
        -- the name on its latest case: closed last, then loaded last, then last in its file
        -- (a tie on the date alone would leave it to the order the rows are read in)
        arg_max(d.supplier_name, (d.closed_date, d.load_id, d.source_row))
            FILTER (WHERE d.supplier_name IS NOT NULL) AS supplier_name,
        count(*) AS decided,
        sum(d.sided) AS supplier_sided,
        fsum(s.stratum_rate) AS expected,
        count_if(d.is_lowball) AS lowball
    FROM decided d JOIN strata s USING (category, claim_type)
    GROUP BY d.supplier_id
    ORDER BY d.supplier_id
"""


def observed_expected(
    db: Path | str,
    start: date | str,
    end: date | str,
    params: Params | None = None,
    category: str | None = None,
) -> pd.DataFrame:
    """Every supplier with decided cases closed in [start, end]: O, E, O/E and its intervals.

    Columns: supplier_id, supplier_name, decided, supplier_sided (O), expected (E), lowball,
    oe_ratio, ci_low / ci_high (95%, or the report's confidence), ci998_low / ci998_high, flag
    ('high', 'low' or None), named (at least ``min_n_named`` decided cases). The strata rates
    are over all decided cases of the range (of ``category`` when given). ``attrs``: start,
    end, suppliers, named, min_n_named.
    """
    params = params or Params()
    start, end = window(start, end)
    query = compose(_OBSERVED_EXPECTED, period_cases=period_cases_sql())
    with connect(db) as con:
        check_category(con, category)
        frame = con.execute(query, bind(start, end, params, category)).df()
        frame = with_supplier_names(con, frame)  # one name per supplier, as everywhere
    frame["supplier_sided"] = frame["supplier_sided"].astype("int64")
    frame["expected"] = frame["expected"].astype(float)
    e = frame["expected"].where(frame["expected"] > 0)
    frame["oe_ratio"] = frame["supplier_sided"] / e
    observed = frame["supplier_sided"].to_numpy()
    low, high = stats.garwood_many(observed, params.confidence)
    frame["ci_low"] = low / e
    frame["ci_high"] = high / e
    flag_low, flag_high = stats.garwood_many(observed, FLAG_CONFIDENCE)
    frame["ci998_low"] = flag_low / e
    frame["ci998_high"] = flag_high / e
    frame["named"] = frame["decided"] >= params.min_n_named
    # a named supplier is flagged when its 99.8% interval of O/E lies wholly above or below 1
    # (no expectation, E = 0: never flagged; the comparisons with NaN are false)
    flag = np.select(
        [frame["ci998_low"].to_numpy() > 1, frame["ci998_high"].to_numpy() < 1], ["high", "low"], ""
    )
    keep = frame["named"].to_numpy() & (flag != "")
    frame["flag"] = pd.Series(np.where(keep, flag, None), index=frame.index, dtype=object)
    frame.attrs.update(
        start=start.isoformat(),
        end=end.isoformat(),
        suppliers=len(frame),
        named=int(frame["named"].sum()),
        min_n_named=params.min_n_named,
    )
    return frame


def supplier_comparison(
    db: Path | str,
    start: date | str,
    end: date | str,
    params: Params | None = None,
    category: str | None = None,
) -> list[dict]:
    """The JSON contract's ``supplier_comparison``: the named suppliers (at least
    ``min_n_named`` decided cases), worst O/E first, each {supplier_id, decided,
    supplier_sided, expected, oe_ratio, ci_low, ci_high, flag}."""
    return comparison_contract(db, start, end, params, category)["named"]


def comparison_contract(
    db: Path | str,
    start: date | str,
    end: date | str,
    params: Params | None = None,
    category: str | None = None,
) -> dict:
    """``{"named": [...], "counts": {"suppliers": n, "named": m, "unnamed": n - m}}``: the
    named suppliers of :func:`supplier_comparison` and how many suppliers there were."""
    frame = observed_expected(db, start, end, params, category)
    named = frame[frame["named"]].sort_values(["oe_ratio", "supplier_id"], ascending=[False, True])
    records = [
        {k: _plain(row[k]) for k in COMPARISON_FIELDS} for row in named.to_dict(orient="records")
    ]
    counts = {"suppliers": len(frame), "named": len(named), "unnamed": len(frame) - len(named)}
    return {"named": records, "counts": counts}


def funnel_limits(expected: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """The funnel plot's limits of O/E around 1 at ``confidence`` for expected counts E: the
    inverse of the flag rule, so that a point lies beyond a line exactly when its interval
    excludes 1.

    A supplier is flagged high when the lower end of O's exact (Garwood) interval,
    chi2(a/2, 2 O) / 2, is above E; the upper line is the O (taken as continuous) at which that
    lower end equals E, divided by E. Likewise the lower line is where the upper end,
    chi2(1 - a/2, 2 O + 2) / 2, equals E (0 when even O = 0 leaves the interval above E).
    """
    # chi2(p, 2 O) / 2 is the inverse of the regularized lower incomplete gamma P(O, .), and
    # P(O, E) = 1 - Poisson(O - 1; E) for real O: so "chi2(a/2, 2 O) / 2 = E" solves as
    # O = pdtrik(1 - a/2, E) + 1, and "chi2(1 - a/2, 2 O + 2) / 2 = E" as O = pdtrik(a/2, E),
    # for every E at once (the same values as a root search, to 1e-9; tests/test_metrics_suppliers)
    from scipy.special import pdtrik

    alpha = 1 - confidence
    expected = np.asarray(expected, dtype=float)
    usable = np.isfinite(expected) & (expected > 0)
    e = np.where(usable, expected, 1.0)
    with np.errstate(invalid="ignore"):
        high = (pdtrik(1 - alpha / 2, e) + 1) / e
        low_o = pdtrik(alpha / 2, e)
    # where even O = 0 leaves the upper end above E, no count is low enough: the line is at 0
    low = np.where(np.isfinite(low_o) & (low_o > 0), low_o, 0.0) / e
    high = np.where(usable, high, np.nan)
    low = np.where(usable, low, np.nan)
    return low, high


def _plain(value):
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return None if not np.isfinite(value) else float(value)
    return value
