"""What the platform said, and what buyers recovered beyond it (issue 29).

Two sections of the JSON contract, built on the per-case flags of ``sql/cases.sql``
(``is_platform_supplier_sided``, ``has_contrary_evidence``, ``is_taken_further``,
``is_recovered_after``) over the cases closed in the window:

- ``platform_reasons``: the reasons the platform gave for the decisions it made for the
  supplier, by reason, with how many of them it gave although the buyer's evidence held an
  inspection report or a lab test;
- ``beyond_platform``: of those decisions, how many the buyer took further, by route, how many
  recovered something and how much (USD).

Each is ``None`` ("not recorded") when no load behind the window's cases carried its field
(``platform_reason``; ``after_route``); the recovered sums are ``None`` when none carried
``after_refund_amount``. The report's tables (by category and claim type; after how long; what
came back over both stages) come from the same queries.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from analysis import vocab
from analysis.metrics import coverage
from analysis.metrics.case_flags import bind, check_category, compose, period_cases_sql, window
from analysis.metrics.params import Params
from analysis.store import Source, connect

#: The routes beyond the platform that count as taking a case further (every after_route but none).
NO_ROUTE = "none"
#: What a buyer recovered beyond the platform counts as recovered.
RECOVERED = ("recovered_full", "recovered_partial")

_REASONS = """
    WITH period_cases AS ({period_cases})
    SELECT platform_reason AS reason, category, claim_type,
        GROUPING(category, claim_type) AS grouping_id,
        count(*) AS cases,
        count(*) FILTER (WHERE has_contrary_evidence) AS with_contrary_evidence
    FROM period_cases
    WHERE closed_in AND is_platform_supplier_sided AND platform_reason IS NOT NULL
    GROUP BY GROUPING SETS ((platform_reason), (platform_reason, category),
                            (platform_reason, claim_type))
    ORDER BY ALL
"""
#: The denominators: the window's decisions for the supplier, those the platform made, and
#: those of them with a reason recorded (with contrary evidence or not).
_REASON_TOTALS = """
    WITH period_cases AS ({period_cases})
    SELECT count(*) FILTER (WHERE is_decided AND is_supplier_sided) AS supplier_sided,
        count(*) FILTER (WHERE is_platform_supplier_sided) AS platform_supplier_sided,
        count(*) FILTER (WHERE is_platform_supplier_sided AND platform_reason IS NOT NULL) AS with_reason,
        count(*) FILTER (WHERE is_platform_supplier_sided AND platform_reason IS NOT NULL
                 AND has_contrary_evidence) AS with_reason_contrary
    FROM period_cases WHERE closed_in
"""
_ROUTES = """
    WITH period_cases AS ({period_cases})
    SELECT after_route AS route, GROUPING(after_route) AS grouping_id,
        count(*) AS cases,
        count(*) FILTER (WHERE is_taken_further) AS taken,
        count(*) FILTER (WHERE is_recovered_after) AS recovered,
        count(*) FILTER (WHERE is_recovered_after AND after_outcome = 'recovered_full') AS recovered_full,
        count(*) FILTER (WHERE is_taken_further AND after_outcome = 'pending') AS pending,
        coalesce(fsum(after_refund_usd) FILTER (WHERE is_recovered_after), 0) AS recovered_usd,
        count(*) FILTER (WHERE is_recovered_after AND after_refund_usd IS NULL) AS recovered_amount_missing,
        median(after_closed_date - closed_date) FILTER (WHERE is_recovered_after)
            AS median_days_to_recover,
        count(*) FILTER (WHERE is_recovered_after AND after_closed_date IS NOT NULL) AS recovered_dated,
        -- both stages, over the cases whose claim is recorded: the claim, the platform's refund,
        -- and what came back beyond it
        count(*) FILTER (WHERE claim_usd IS NOT NULL) AS with_claim,
        fsum(claim_usd) AS claimed_usd,
        fsum(refund_usd) FILTER (WHERE claim_usd IS NOT NULL) AS platform_refund_usd,
        fsum(after_refund_usd) FILTER (WHERE claim_usd IS NOT NULL AND is_recovered_after)
            AS after_refund_usd
    FROM period_cases
    WHERE closed_in AND is_platform_supplier_sided
    GROUP BY GROUPING SETS ((), (after_route))
    ORDER BY ALL
"""


def _n(value) -> int:
    """A count (0 where the query gave none)."""
    return 0 if pd.isna(value) else int(value)


def _query(db, start, end, params, category, sql: str) -> pd.DataFrame:
    params = params or Params()
    start, end = window(start, end)
    with connect(db) as con:
        check_category(con, category)
        return con.execute(
            compose(sql, period_cases=period_cases_sql()), bind(start, end, params, category)
        ).df()


def _missing(db, start, end, params, category, fields) -> list[str]:
    return coverage.not_recorded(db, start, end, params, category, fields=fields)


def reasons_frame(
    db: Source,
    start: date | str,
    end: date | str,
    params: Params | None = None,
    category: str | None = None,
) -> pd.DataFrame | None:
    """The platform's reasons for the decisions it made for the supplier among the cases closed
    in [start, end]: one row per reason overall (``grouping_id`` 3), per reason and category (1)
    and per reason and claim type (2), with ``cases`` and ``with_contrary_evidence``; its
    ``attrs["totals"]`` holds the denominators (supplier-sided decisions, those the platform
    made, those with a reason, those with a reason and contrary evidence). ``None`` when no
    load behind the window carried ``platform_reason`` (not recorded)."""
    if _missing(db, start, end, params, category, ("platform_reason",)):
        return None
    frame = _query(db, start, end, params, category, _REASONS)
    totals = _query(db, start, end, params, category, _REASON_TOTALS)
    frame.attrs["totals"] = {k: _n(v) for k, v in totals.iloc[0].items()}
    return frame


def platform_reasons(
    db: Source,
    start: date | str,
    end: date | str,
    params: Params | None = None,
    category: str | None = None,
) -> dict | None:
    """The contract's ``platform_reasons``: ``{reason: {"cases", "with_contrary_evidence"}}``
    for every reason of the vocabulary (0 where none was given), or ``None`` (not recorded)."""
    frame = reasons_frame(db, start, end, params, category)
    if frame is None:
        return None
    out = {
        slug: {"cases": 0, "with_contrary_evidence": 0}
        for slug in vocab.vocabulary().slugs("platform_reason")
    }
    for row in frame[frame["grouping_id"] == 3].itertuples():
        out[row.reason] = {
            "cases": _n(row.cases),
            "with_contrary_evidence": _n(row.with_contrary_evidence),
        }
    return out


def routes_frame(
    db: Source,
    start: date | str,
    end: date | str,
    params: Params | None = None,
    category: str | None = None,
) -> pd.DataFrame | None:
    """Of the platform's decisions for the supplier closed in [start, end]: one row for all of
    them (``grouping_id`` 1) and one per route after the platform (0; a NULL route: not
    recorded for that case), with the cases, those taken further, recovered (full, partial),
    pending, the USD recovered, the median days from the platform's decision to the recovery,
    and over the cases with a claim: claimed, refunded by the platform and recovered beyond it
    (USD). ``None`` when no load behind the window carried ``after_route`` (not recorded);
    ``attrs["amounts_recorded"]`` is False when none carried ``after_refund_amount``."""
    fields = ("after_route", "after_refund_amount")
    missing = _missing(db, start, end, params, category, fields)
    if "after_route" in missing:
        return None
    frame = _query(db, start, end, params, category, _ROUTES)
    frame.attrs["amounts_recorded"] = "after_refund_amount" not in missing
    return frame


def beyond_platform(
    db: Source,
    start: date | str,
    end: date | str,
    params: Params | None = None,
    category: str | None = None,
) -> dict | None:
    """The contract's ``beyond_platform``: ``{"platform_supplier_sided", "taken_further",
    "recovered", "recovered_usd", "by_route": {route: {"taken", "recovered", "recovered_usd"}}}``
    with every route but ``none`` listed, or ``None`` (not recorded). The USD sums are ``None``
    when no export behind the window recorded ``after_refund_amount``."""
    frame = routes_frame(db, start, end, params, category)
    if frame is None:
        return None
    amounts = frame.attrs["amounts_recorded"]

    def usd(value) -> float | None:
        return float(value) if amounts else None

    overall = frame[frame["grouping_id"] == 1]
    total = overall.iloc[0] if len(overall) else None
    by_route = {
        slug: {"taken": 0, "recovered": 0, "recovered_usd": usd(0.0)}
        for slug in vocab.vocabulary().slugs("after_route")
        if slug != NO_ROUTE
    }
    for row in frame[(frame["grouping_id"] == 0) & frame["route"].notna()].itertuples():
        if row.route != NO_ROUTE:
            by_route[row.route] = {
                "taken": _n(row.taken),
                "recovered": _n(row.recovered),
                "recovered_usd": usd(row.recovered_usd),
            }
    total = {} if total is None else total
    return {
        "platform_supplier_sided": _n(total.get("cases")),
        "taken_further": _n(total.get("taken")),
        "recovered": _n(total.get("recovered")),
        "recovered_usd": usd(total.get("recovered_usd", 0.0)),
        "by_route": by_route,
    }
