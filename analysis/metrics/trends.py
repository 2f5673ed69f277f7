"""Trends: the months of a trailing window as a p-chart, and a period against the one before.

A p-chart puts each month's supplier-sided rate against the long-run rate of the window with
3-sigma limits for that month's number of decided cases (p0 +- 3 sqrt(p0 (1 - p0) / n)): a month
outside them is more than chance. A change between two periods is given with its 95% interval
(Newcombe's for a difference of proportions, a seeded bootstrap for the money ratios) beside its
test; when several groups are tested at once, the p-values are adjusted (Benjamini-Hochberg)
before any is called significant. A change the data cannot tell from chance is "not shown by
these data", never "no change".
"""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd

from analysis import settings
from analysis.metrics import breakdowns as bd
from analysis.metrics import catalogue, coverage, pooling, stats
from analysis.metrics.blocks import (
    BLOCK_FIELDS,
    COUNT_FIELDS,
    SUM_FIELDS,
    SUPPRESSIBLE,
    finish_blocks,
    grouped_blocks,
    json_value,
)
from analysis.metrics.case_flags import as_date, bind, check_category, compose, period_cases_sql
from analysis.metrics.params import Params
from analysis.metrics.periods import (
    Period,
    month_starts,
    parse_period,
    previous_period,
    trailing_months,
)
from analysis.store import Source, connect


def monthly_series(
    db: Source,
    end: date | str,
    months: int = 12,
    params: Params | None = None,
    category: str | None = None,
    supplier_id: str | None = None,
) -> pd.DataFrame:
    """One row per calendar month for the ``months`` months up to the one containing ``end``
    (of one supplier's cases with ``supplier_id``).

    Outcome fields count the cases closed in the month, ``cases_opened`` those opened in it.
    Nothing after ``end`` counts: when ``end`` is not a month's last day the last month is
    partial (``complete`` False). Columns: month ('YYYY-MM'), month_start, month_end,
    complete, then every block field (with ``suppressed`` per month).
    """
    params = params or Params()
    end = as_date(end, "end")
    window = trailing_months(end, months)
    start = window.start
    with connect(db) as con:
        check_category(con, category)
        raw = grouped_blocks(
            con,
            bind(start, end, params, category, supplier_id),
            (),
            [()],
            bucket="date_trunc('month', {d})",
            confidence=params.confidence,
        )
    firsts = month_starts(start, end)
    raw["bucket"] = pd.to_datetime(raw["bucket"]).dt.date
    raw = raw.set_index("bucket").reindex(firsts)
    missing = raw["cases_opened"].isna()
    raw.loc[missing, list(COUNT_FIELDS) + list(SUM_FIELDS)] = 0
    frame = finish_blocks(raw, params).reset_index(names="month_start")
    frame["month_end"] = [trailing_months(d, 1).end for d in frame["month_start"]]
    frame["complete"] = frame["month_end"] <= end
    frame["month_end"] = [min(d, end) for d in frame["month_end"]]
    frame.insert(0, "month", [d.strftime("%Y-%m") for d in frame["month_start"]])
    frame = frame[["month", "month_start", "month_end", "complete", *BLOCK_FIELDS]]
    return p_chart(frame)


def p_chart(frame: pd.DataFrame) -> pd.DataFrame:
    """Add the p-chart of the supplier-sided rate to a monthly frame.

    ``p_chart_centre`` = the window's pooled rate p0 (supplier-sided / decided over every
    month); ``p_chart_low`` / ``p_chart_high`` = p0 -+ 3 sqrt(p0 (1 - p0) / n) for each
    month's n decided (clipped to [0, 1]; none for a month without decided cases);
    ``control`` = 'above' / 'below' for a month whose rate lies outside, else None. The rates
    of months with too few decided cases are plotted too: the limits widen with 1/sqrt(n).
    """
    frame = frame.copy()
    decided = frame["decided"].astype(float)
    total = decided.sum()
    p0 = frame["supplier_sided"].sum() / total if total else np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        half = settings.P_CHART_SIGMA * np.sqrt(p0 * (1 - p0) / decided.where(decided > 0))
    raw_rate = (frame["supplier_sided"] / decided.where(decided > 0)).astype(float)
    frame["p_chart_rate"] = raw_rate
    frame["p_chart_centre"] = p0
    frame["p_chart_low"] = (p0 - half).clip(lower=0)
    frame["p_chart_high"] = (p0 + half).clip(upper=1)
    frame["control"] = [
        "above" if r > hi else "below" if r < lo else None
        for r, lo, hi in zip(raw_rate, frame["p_chart_low"], frame["p_chart_high"], strict=True)
    ]
    frame["control"] = frame["control"].where(raw_rate.notna() & (decided > 0), None)
    return frame


#: change_vs_previous: (metric, numerator, denominator) for the proportions that get a test, and
#: every figure compared, from the metric catalogue.
_TESTED = {m.name: (m.numerator_name, m.denominator) for m in catalogue.METRICS if m.tested}
_COMPARED = tuple(m.name for m in catalogue.METRICS if m.compared)
_MONEY = """
    WITH period_cases AS ({period_cases})
    SELECT CASE WHEN closed_date >= $split THEN 'current' ELSE 'previous' END AS bucket,
           claim_usd, refund_usd
    FROM period_cases WHERE closed_in AND is_monetary AND is_decided AND has_amounts
"""


def _two_periods(db, current: Period, previous: Period, params: Params, category, keys=()):
    with connect(db) as con:
        check_category(con, category)
        bound = bind(previous.start, current.end, params, category) | {"split": current.start}
        raw = grouped_blocks(
            con, bound, keys, [keys],
            bucket="CASE WHEN {d} >= $split THEN 'current' ELSE 'previous' END",
            confidence=params.confidence,
        )  # fmt: skip
        money = con.execute(compose(_MONEY, period_cases=period_cases_sql()), bound).df()
    return raw, money


def change_vs_previous(
    db: Source,
    period: Period | str,
    params: Params | None = None,
    category: str | None = None,
) -> pd.DataFrame:
    """The period against the previous one (:func:`analysis.metrics.periods.previous_period`).

    One row per metric: current, previous, difference (current - previous) with its interval
    (``difference_ci_low`` / ``_high``: Newcombe's for the rates, a seeded bootstrap of the cases
    for the pooled refund ratio), p_value (pooled two-proportion z-test, for the rates), the
    test's denominators (current_n, previous_n), ``comparable`` (both periods have their rates:
    at least min_n_rate decided cases), ``flagged`` (comparable and p < 1 - confidence) and, for
    the tested rates, ``detectable_change`` (the smallest change these counts could tell from
    chance at 80% power: :func:`analysis.metrics.pooling.detectable_change`).
    ``attrs`` hold the two periods' labels and dates.
    """
    params = params or Params()
    current = period if isinstance(period, Period) else parse_period(period)
    previous = previous_period(current)
    raw, money = _two_periods(db, current, previous, params, category)
    raw = raw.set_index("bucket").reindex(["current", "previous"])
    missing = raw["cases_opened"].isna()
    raw.loc[missing, list(COUNT_FIELDS) + list(SUM_FIELDS)] = 0
    blocks = finish_blocks(raw, params)
    cur, prev = blocks.loc["current"], blocks.loc["previous"]
    comparable = not cur["suppressed"] and not prev["suppressed"]
    # a figure whose field either period's exports did not record is not compared (nor tested)
    unrecorded = {
        name
        for span in (current, previous)
        for f in coverage.not_recorded(db, span.start, span.end, params, category)
        for name in coverage.FIELD_FIGURES[f]
    }
    rows = []
    for metric in _COMPARED:
        now, before = json_value(cur[metric]), json_value(prev[metric])
        if metric in unrecorded:
            now = before = None
        row = {
            "metric": metric,
            "current": now,
            "previous": before,
            "difference": None if now is None or before is None else now - before,
            "difference_ci_low": None,
            "difference_ci_high": None,
            "p_value": None,
            "flagged": False,
            "current_n": None,
            "previous_n": None,
            "detectable_change": None,
            "comparable": comparable if metric in SUPPRESSIBLE else True,
        }
        if metric in _TESTED:
            k_name, n_name = _TESTED[metric]
            k1, n1, k2, n2 = (
                int(cur[k_name]),
                int(cur[n_name]),
                int(prev[k_name]),
                int(prev[n_name]),
            )
            row["current_n"], row["previous_n"] = n1, n2
            row["detectable_change"] = pooling.detectable_change(k1, n1, k2, n2, params.confidence)
            row["comparable"] = (
                n1 >= params.min_n_rate and n2 >= params.min_n_rate and metric not in unrecorded
            )
            if row["comparable"]:
                test = stats.two_proportion_test(k1, n1, k2, n2)
                row["p_value"] = test["p_value"]
                row["difference_ci_low"], row["difference_ci_high"] = stats.difference_interval(
                    k1, n1, k2, n2, params.confidence
                )
                row["flagged"] = (
                    test["p_value"] is not None and test["p_value"] < 1 - params.confidence
                )
        elif (
            metric == "refund_ratio_pooled" and row["comparable"] and row["difference"] is not None
        ):
            a, b = money[money["bucket"] == "current"], money[money["bucket"] == "previous"]
            row["difference_ci_low"], row["difference_ci_high"] = stats.ratio_difference_interval(
                a["claim_usd"], a["refund_usd"], b["claim_usd"], b["refund_usd"], params.confidence,
                resamples=settings.BOOTSTRAP_RESAMPLES, seed=settings.BOOTSTRAP_SEED,
                bootstrap_max_cases=settings.BOOTSTRAP_MAX_CASES,
            )  # fmt: skip
            row["difference_method"] = stats.ratio_difference_method(
                len(a), len(b), settings.BOOTSTRAP_MAX_CASES
            )
        rows.append(row)
    frame = pd.DataFrame(rows)
    for column in ("current_n", "previous_n"):
        frame[column] = frame[column].astype("Int64")
    frame.attrs.update(
        current=current.label,
        previous=previous.label,
        current_start=current.start.isoformat(),
        current_end=current.end.isoformat(),
        previous_start=previous.start.isoformat(),
        previous_end=previous.end.isoformat(),
        current_suppressed=bool(cur["suppressed"]),
        previous_suppressed=bool(prev["suppressed"]),
        not_recorded=sorted(unrecorded),
    )
    return frame


def change_by(
    db: Source,
    period: Period | str,
    by: str = "category",
    params: Params | None = None,
    category: str | None = None,
) -> pd.DataFrame:
    """The supplier-sided rate of each group of ``by``, this period against the previous one.

    One row per group with cases in either period: decided and rate in each, the difference
    with Newcombe's interval, the z-test's p-value and the Benjamini-Hochberg adjusted p-value
    over the groups tested (those with at least min_n_rate decided cases in both periods);
    ``flagged`` when the adjusted p-value is below 1 - confidence. ``attrs['tested']`` is how
    many groups were tested at once. ``detectable_change``: the smallest change the two
    periods' decided cases could tell from chance (:func:`analysis.metrics.pooling.detectable_change`).
    """
    params = params or Params()
    bd.check(by)
    current = period if isinstance(period, Period) else parse_period(period)
    previous = previous_period(current)
    raw, _ = _two_periods(db, current, previous, params, category, keys=(by,))
    frame = finish_blocks(raw, params)
    key = f"key_{by}"
    rows = []
    for group, part in frame.groupby(key, sort=True):
        cur = part[part["bucket"] == "current"]
        prev = part[part["bucket"] == "previous"]
        k1, n1 = (int(cur["supplier_sided"].sum()), int(cur["decided"].sum()))
        k2, n2 = (int(prev["supplier_sided"].sum()), int(prev["decided"].sum()))
        tested = n1 >= params.min_n_rate and n2 >= params.min_n_rate
        low = high = p = None
        if tested:
            p = stats.two_proportion_test(k1, n1, k2, n2)["p_value"]
            low, high = stats.difference_interval(k1, n1, k2, n2, params.confidence)
        rows.append({
            "group": group, "current_decided": n1, "current_sided": k1,
            "current_rate": k1 / n1 if n1 else None, "previous_decided": n2,
            "previous_sided": k2, "previous_rate": k2 / n2 if n2 else None,
            "difference": (k1 / n1 - k2 / n2) if n1 and n2 else None,
            "difference_ci_low": low, "difference_ci_high": high, "p_value": p, "tested": tested,
            "detectable_change": pooling.detectable_change(k1, n1, k2, n2, params.confidence),
        })  # fmt: skip
    out = pd.DataFrame(rows, columns=[
        "group", "current_decided", "current_sided", "current_rate", "previous_decided",
        "previous_sided", "previous_rate", "difference", "difference_ci_low",
        "difference_ci_high", "p_value", "tested", "detectable_change",
    ])  # fmt: skip
    out["p_adjusted"] = stats.adjust_p_values(out["p_value"].tolist()) if len(out) else []
    out["flagged"] = [
        p is not None and not (isinstance(p, float) and math.isnan(p)) and p < 1 - params.confidence
        for p in out["p_adjusted"]
    ]
    out.attrs.update(by=by, tested=int(out["tested"].sum()), current=current.label,
                     previous=previous.label)  # fmt: skip
    return out
