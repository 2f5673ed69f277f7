"""Notable cases: the single cases behind the numbers (lowballs, refused high-value claims,
compliance cases), largest claims first."""

from __future__ import annotations

from datetime import date

import pandas as pd

from analysis import settings
from analysis.errors import BadParameter
from analysis.metrics.case_flags import bind, check_category, compose, period_cases_sql, window
from analysis.metrics.names import with_supplier_names
from analysis.metrics.params import Params
from analysis.store import Source, connect

# The per-case flags come from cases.sql (the one definition of supplier-sided and lowball);
# only the fixed predicates below are placed into the query text.
PREDICATES = {
    "lowball": "p.is_lowball",
    "refused_high_value": "p.outcome = 'no_refund' AND p.claim_usd >= $high_value",
    "compliance": "p.claim_type = 'compliance'",
}
KINDS = tuple(PREDICATES)
_NOTABLE_SQL = """
WITH period_cases AS ({period_cases})
SELECT p.case_id, p.supplier_id, p.supplier_name, p.category, p.claim_type, p.outcome,
       p.is_monetary, c.currency, p.claim_usd, p.refund_usd, p.closed_date,
       left(c.description, 2000) AS description,
       count(*) OVER () AS total
FROM period_cases AS p JOIN cases AS c USING (case_id)
WHERE p.closed_in AND {predicate}
ORDER BY p.claim_usd DESC, p.case_id
LIMIT $limit
"""


def notable_cases(
    db: Source,
    start: date | str,
    end: date | str,
    kind: str,
    params: Params | None = None,
    category: str | None = None,
    limit: int = settings.NOTABLE_LIMIT,
    high_value_usd: float = settings.HIGH_VALUE_USD,
    supplier_id: str | None = None,
) -> tuple[pd.DataFrame, int]:
    """The cases of ``kind`` closed in [start, end], largest claims first: (at most ``limit``
    rows, how many there are in all).

    ``kind``: 'lowball' (0 < refund < lowball x claim), 'refused_high_value' (no refund on a
    claim of at least ``high_value_usd``), 'compliance' (claim type compliance, any outcome).
    """
    if kind not in PREDICATES:
        raise BadParameter(f"notable cases: kind {kind!r} unknown; use one of {', '.join(KINDS)}")
    params = params or Params()
    start, end = window(start, end)
    bound = bind(start, end, params, category, supplier_id) | {"limit": int(limit)}
    if kind == "refused_high_value":
        bound["high_value"] = float(high_value_usd)
    query = compose(_NOTABLE_SQL, period_cases=period_cases_sql(), predicate=PREDICATES[kind])
    with connect(db) as con:
        check_category(con, category)
        data = with_supplier_names(con, con.execute(query, bound).df())
    total = int(data["total"].iloc[0]) if len(data) else 0
    return data.drop(columns="total"), total


def closed_cases(
    db: Source,
    start: date | str,
    end: date | str,
    params: Params | None = None,
    category: str | None = None,
    limit: int = settings.NOTABLE_LIMIT,
) -> tuple[pd.DataFrame, int]:
    """Every case closed in [start, end] (of one client, with ``params.buyer_key``), largest
    claims first, with the columns of :func:`notable_cases`: (at most ``limit`` rows, how many
    there are in all)."""
    params = params or Params()
    start, end = window(start, end)
    bound = bind(start, end, params, category) | {"limit": int(limit)}
    query = compose(_NOTABLE_SQL, period_cases=period_cases_sql(), predicate="TRUE")
    with connect(db) as con:
        check_category(con, category)
        data = with_supplier_names(con, con.execute(query, bound).df())
    total = int(data["total"].iloc[0]) if len(data) else 0
    return data.drop(columns="total"), total
