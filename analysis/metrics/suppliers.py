"""Suppliers: who keeps ending up on the supplier's side."""

from __future__ import annotations

import numbers
from datetime import date
from pathlib import Path

import pandas as pd

from analysis.errors import BadParameter
from analysis.metrics.cases import as_date, bind, check_category, compose, period_cases_sql
from analysis.metrics.params import Params
from analysis.metrics.periods import trailing_months
from analysis.store import connect

_WATCHLIST = """
    WITH period_cases AS ({period_cases})
    SELECT
        supplier_id,
        arg_max(supplier_name, closed_date) FILTER (WHERE supplier_name IS NOT NULL)
            AS supplier_name,
        count_if(closed_in AND is_decided) AS decided,
        count_if(closed_in AND is_supplier_sided) AS supplier_sided,
        count_if(closed_in AND is_lowball) AS lowball,
        count_if(closed_in AND (is_supplier_sided OR is_lowball)) AS flagged_cases,
        coalesce(fsum(claim_usd) FILTER (WHERE closed_in AND is_monetary), 0) AS claimed_usd,
        coalesce(fsum(refund_usd) FILTER (WHERE closed_in AND is_monetary), 0) AS refunded_usd,
        array_to_string(
            list_sort(list_distinct(list(category) FILTER (WHERE closed_in AND is_decided))), ', '
        ) AS categories
    FROM period_cases
    GROUP BY supplier_id
    HAVING count_if(closed_in AND (is_supplier_sided OR is_lowball)) >= $min_cases
    ORDER BY supplier_sided + lowball DESC, supplier_id
"""


def supplier_watchlist(
    db: Path | str,
    end: date | str,
    params: Params | None = None,
    months: int = 12,
    min_cases: int = 2,
    category: str | None = None,
) -> pd.DataFrame:
    """Suppliers with repeated supplier-sided or lowball outcomes in the trailing ``months``.

    The window runs from the first day of the month ``months - 1`` months before ``end``'s to
    ``end`` (closed_date). A supplier is listed when at least ``min_cases`` of its monetary
    decisions were supplier-sided or lowball (a case counts once, in ``flagged_cases``).
    Columns: supplier_id, supplier_name, decided, supplier_sided, lowball, flagged_cases,
    claimed_usd, refunded_usd, categories (of its decided cases, comma-separated); sorted by
    supplier_sided + lowball, highest first, then supplier_id.
    """
    params = params or Params()
    end = as_date(end, "end")
    if isinstance(min_cases, bool) or not isinstance(min_cases, numbers.Integral) or min_cases < 1:
        raise BadParameter(f"min_cases must be a whole number of at least 1, got {min_cases!r}")
    start = trailing_months(end, months).start
    query = compose(_WATCHLIST, period_cases=period_cases_sql())
    with connect(db) as con:
        check_category(con, category)
        frame = con.execute(
            query, bind(start, end, params, category) | {"min_cases": min_cases}
        ).df()
    frame.attrs.update(start=start.isoformat(), end=end.isoformat())
    return frame


# --------------------------------------------------------------------------------------------
# Presentation
# --------------------------------------------------------------------------------------------
