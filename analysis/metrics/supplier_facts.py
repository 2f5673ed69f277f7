"""What happened with each supplier, as counts: the suppliers too small to be rated.

A supplier with fewer than ``min_n_named`` decided cases is never rated, ranked or compared with
its case mix (:mod:`analysis.metrics.suppliers`), but an agency still wants its own history with
it: how many cases, how many decided, how many ended on the supplier's side, how many lowballs and
refused high-value claims. These are counts of single cases, listed by supplier id; the lowball and
refused-claim tests are the notable cases' own (:data:`analysis.metrics.notable.PREDICATES`).
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from analysis import settings
from analysis.metrics.case_flags import bind, check_category, compose, period_cases_sql, window
from analysis.metrics.names import with_supplier_names
from analysis.metrics.notable import PREDICATES
from analysis.metrics.params import Params
from analysis.store import Source, connect

_FACTS_SQL = """
WITH period_cases AS ({period_cases})
SELECT p.supplier_id, any_value(p.supplier_name) AS supplier_name,
       count(*) AS cases,
       count(*) FILTER (WHERE p.closed_in) AS closed,
       count(*) FILTER (WHERE p.closed_in AND p.is_decided) AS decided,
       count(*) FILTER (WHERE p.closed_in AND p.is_supplier_sided) AS supplier_sided,
       count(*) FILTER (WHERE p.closed_in AND {lowball}) AS lowballs,
       count(*) FILTER (WHERE p.closed_in AND {refused}) AS refused_high_value
FROM period_cases AS p
GROUP BY p.supplier_id
ORDER BY p.supplier_id
"""
#: The counts of :func:`supplier_facts`, in table order.
COUNT_COLUMNS = (
    "cases", "closed", "decided", "supplier_sided", "lowballs", "refused_high_value",
)  # fmt: skip


def supplier_facts(
    db: Source,
    start: date | str,
    end: date | str,
    params: Params | None = None,
    category: str | None = None,
    high_value_usd: float = settings.HIGH_VALUE_USD,
) -> pd.DataFrame:
    """One row per supplier with a case opened or closed in [start, end], by supplier id:
    ``supplier_id``, ``supplier_name`` (its one name), ``cases`` (opened or closed in the
    window), and of the cases closed in it ``closed``, ``decided``, ``supplier_sided``,
    ``lowballs`` (0 < refund < lowball x claim) and ``refused_high_value`` (no refund on a claim
    of at least ``high_value_usd``); ``named``: at least ``min_n_named`` decided cases (the
    suppliers the reports rate; the others are counted only)."""
    params = params or Params()
    start, end = window(start, end)
    query = compose(_FACTS_SQL, period_cases=period_cases_sql(),
                    lowball=PREDICATES["lowball"], refused=PREDICATES["refused_high_value"])  # fmt: skip
    bound = bind(start, end, params, category) | {"high_value": float(high_value_usd)}
    with connect(db) as con:
        check_category(con, category)
        frame = with_supplier_names(con, con.execute(query, bound).df())
    for column in COUNT_COLUMNS:
        frame[column] = frame[column].astype("int64")
    frame["named"] = frame["decided"] >= params.min_n_named
    return frame[["supplier_id", "supplier_name", *COUNT_COLUMNS, "named"]]


#: The bands of decided cases :func:`decided_bands` counts suppliers in.
BANDS = ((0, 0), (1, 1), (2, 4), (5, 9), (10, 29), (30, None))


def decided_bands(frame: pd.DataFrame) -> list[tuple[str, int]]:
    """How many suppliers of :func:`supplier_facts` have how many decided cases:
    ``[("1", 40), ("2-4", 10), ...]``, the empty bands left out."""
    out = []
    for low, high in BANDS:
        inside = frame["decided"] >= low
        if high is not None:
            inside &= frame["decided"] <= high
        if int(inside.sum()):
            text = str(low) if low == high else f"{low}-{high}" if high else f"{low} or more"
            out.append((text, int(inside.sum())))
    return out
