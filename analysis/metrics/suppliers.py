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
        SELECT supplier_id, supplier_name, closed_date, category, claim_type, is_lowball,
               is_supplier_sided::INTEGER AS sided
        FROM period_cases WHERE closed_in AND is_decided
    ),
    strata AS (
        SELECT category, claim_type, avg(sided) AS stratum_rate, count(*) AS stratum_decided
        FROM decided GROUP BY ALL
    )
    SELECT d.supplier_id,
        arg_max(d.supplier_name, d.closed_date) FILTER (WHERE d.supplier_name IS NOT NULL)
            AS supplier_name,
        count(*) AS decided,
        sum(d.sided) AS supplier_sided,
        fsum(s.stratum_rate) AS expected,
        count_if(d.is_lowball) AS lowball,
        count(DISTINCT (d.category, d.claim_type)) AS strata
    FROM decided d JOIN strata s USING (category, claim_type)
    GROUP BY d.supplier_id
    ORDER BY d.supplier_id
"""


def _flag(o: int, e: float) -> str | None:
    if not e:
        return None
    low, high = stats.garwood(o, FLAG_CONFIDENCE)
    if low / e > 1:
        return "high"
    if high / e < 1:
        return "low"
    return None


def observed_expected(
    db: Path | str,
    start: date | str,
    end: date | str,
    params: Params | None = None,
    category: str | None = None,
) -> pd.DataFrame:
    """Every supplier with decided cases closed in [start, end]: O, E, O/E and its intervals.

    Columns: supplier_id, supplier_name, decided, supplier_sided (O), expected (E), lowball,
    strata, oe_ratio, ci_low / ci_high (95%, or the report's confidence), ci998_low /
    ci998_high, flag ('high', 'low' or None), named (at least ``min_n_named`` decided cases).
    The strata rates are over all decided cases of the range (of ``category`` when given).
    ``attrs``: start, end, suppliers, named, strata_total.
    """
    params = params or Params()
    start, end = window(start, end)
    query = compose(_OBSERVED_EXPECTED, period_cases=period_cases_sql())
    with connect(db) as con:
        check_category(con, category)
        frame = con.execute(query, bind(start, end, params, category)).df()
    frame["supplier_sided"] = frame["supplier_sided"].astype("int64")
    frame["expected"] = frame["expected"].astype(float)
    e = frame["expected"].where(frame["expected"] > 0)
    frame["oe_ratio"] = frame["supplier_sided"] / e
    intervals = [stats.garwood(int(o), params.confidence) for o in frame["supplier_sided"]]
    frame["ci_low"] = [lo for lo, _ in intervals] / e
    frame["ci_high"] = [hi for _, hi in intervals] / e
    flag_intervals = [stats.garwood(int(o), FLAG_CONFIDENCE) for o in frame["supplier_sided"]]
    frame["ci998_low"] = [lo for lo, _ in flag_intervals] / e
    frame["ci998_high"] = [hi for _, hi in flag_intervals] / e
    frame["named"] = frame["decided"] >= params.min_n_named
    frame["flag"] = [
        _flag(int(o), float(x)) if named else None
        for o, x, named in zip(
            frame["supplier_sided"], frame["expected"], frame["named"], strict=True
        )
    ]
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
    from scipy.optimize import brentq
    from scipy.stats import chi2

    alpha = 1 - confidence
    expected = np.asarray(expected, dtype=float)
    low = np.full(expected.shape, np.nan)
    high = np.full(expected.shape, np.nan)
    for i, e in np.ndenumerate(expected):
        if not np.isfinite(e) or e <= 0:
            continue
        ceiling = 10 * e + 50  # chi2(a/2, 2 O) / 2 passes E well before this O
        high[i] = brentq(lambda o, e=e: chi2.ppf(alpha / 2, 2 * o) / 2 - e, 1e-9, ceiling) / e
        if chi2.ppf(1 - alpha / 2, 2) / 2 >= e:
            low[i] = 0.0
        else:
            low[i] = brentq(lambda o, e=e: chi2.ppf(1 - alpha / 2, 2 * o + 2) / 2 - e, 0, e) / e
    return low, high


def _plain(value):
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return None if not np.isfinite(value) else float(value)
    return value
