"""The dispute process, measured: where cases go between opening and outcome, and the claim window.

Trade Assurance's own process: a claim within the claim window after the buyer confirms receipt,
three days of negotiation, escalation to the platform from day 4 (automatic around day 7), a
decision by the platform. The funnel follows the period's closed cases along it, by claim type:
closed without escalation (settled between the parties), escalated, decided by the platform,
and how the decided ones ended.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from analysis import settings
from analysis.metrics.case_flags import bind, check_category, compose, period_cases_sql, window
from analysis.metrics.params import Params
from analysis.store import Source, connect

_FUNNEL = """
    WITH period_cases AS ({period_cases})
    SELECT {group} AS claim_type,
        count(*) AS closed,
        count_if(NOT is_escalated) AS not_escalated,
        count_if(NOT is_escalated AND is_decided) AS negotiated,
        count_if(is_escalated) AS escalated,
        count_if(is_escalated AND decided_by = 'platform') AS platform_decided,
        count_if(is_escalated AND decided_by = 'platform' AND is_decided AND NOT is_supplier_sided)
            AS platform_for_buyer,
        count_if(is_escalated AND decided_by = 'platform' AND is_supplier_sided)
            AS platform_for_supplier,
        count_if(is_lapsed) AS lapsed
    FROM period_cases WHERE closed_in
    GROUP BY GROUPING SETS ((claim_type), ())
    ORDER BY GROUPING(claim_type), claim_type
"""
_CLAIM_WINDOW = """
    WITH period_cases AS ({period_cases})
    SELECT CASE WHEN received_date IS NULL THEN 'not recorded'
                WHEN opened_late THEN 'late' ELSE 'in time' END AS timing,
        count(*) AS closed,
        count_if(is_decided) AS decided,
        count_if(is_supplier_sided) AS supplier_sided,
        count_if(outcome = 'out_of_coverage') AS out_of_coverage,
        count_if(is_lapsed) AS lapsed
    FROM period_cases WHERE closed_in
    GROUP BY ALL ORDER BY timing
"""
FUNNEL_STEPS = (
    "closed", "not_escalated", "negotiated", "escalated", "platform_decided",
    "platform_for_buyer", "platform_for_supplier", "lapsed",
)  # fmt: skip


def funnel(
    db: Source,
    start: date | str,
    end: date | str,
    params: Params | None = None,
    category: str | None = None,
) -> pd.DataFrame:
    """The path of the cases closed in [start, end], by claim type and in all (claim_type 'all').

    ``closed`` = ``not_escalated`` + ``escalated``; ``negotiated``: decided without escalation;
    ``platform_decided``: escalated and decided by the platform (decided_by = platform), of
    which ``platform_for_buyer`` (not supplier-sided) and ``platform_for_supplier``;
    ``lapsed``: withdrawn, cancelled, out of coverage (at any step).
    """
    params = params or Params()
    start, end = window(start, end)
    query = compose(_FUNNEL, period_cases=period_cases_sql(), group="claim_type")
    with connect(db) as con:
        check_category(con, category)
        frame = con.execute(query, bind(start, end, params, category)).df()
    frame["claim_type"] = frame["claim_type"].fillna("all")
    for column in FUNNEL_STEPS:
        frame[column] = frame[column].fillna(0).astype("int64")
    return frame


def claim_window(
    db: Source,
    start: date | str,
    end: date | str,
    params: Params | None = None,
    category: str | None = None,
) -> pd.DataFrame:
    """The cases closed in [start, end] by whether they were opened within the claim window
    (CLAIM_WINDOW_DAYS days after the buyer confirmed receipt): 'in time', 'late', or 'not
    recorded' (no received_date), with how they ended."""
    params = params or Params()
    start, end = window(start, end)
    query = compose(_CLAIM_WINDOW, period_cases=period_cases_sql())
    with connect(db) as con:
        check_category(con, category)
        frame = con.execute(query, bind(start, end, params, category)).df()
    frame.attrs["window_days"] = settings.CLAIM_WINDOW_DAYS
    return frame
