"""The per-case flags every metric is built from (``sql/cases.sql``), and their bound values.

:func:`bind` is the one place that turns a window, the parameters, a category and the outcome
classes of :mod:`analysis.vocab` into the parameters of ``cases.sql``; every metric module (and
:mod:`analysis.explore`) goes through it, so a flag means the same everywhere.
"""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd

from analysis import settings, sqlfiles, vocab
from analysis.errors import BadParameter
from analysis.metrics.params import Params, decimal_text
from analysis.metrics.periods import parse_date


def period_cases_sql() -> str:
    """The text of ``analysis/metrics/sql/cases.sql``: one row per case of a window, with flags."""
    return sqlfiles.sql("metrics", "cases.sql")


def as_date(value, what: str) -> date:
    """A date from a date, a Timestamp or ISO text; BadParameter naming ``what`` otherwise."""
    if isinstance(value, pd.Timestamp):
        return value.date()
    return parse_date(value, what)


def window(start, end) -> tuple[date, date]:
    """(start, end) as dates; BadParameter when the window ends before it starts."""
    start, end = as_date(start, "start"), as_date(end, "end")
    if end < start:
        raise BadParameter(f"end {end.isoformat()} is before start {start.isoformat()}")
    return start, end


def bind(
    start: date,
    end: date,
    params: Params,
    category: str | None,
    supplier_id: str | None = None,
) -> dict:
    """The bound parameters of ``cases.sql`` (and of every query built on it)."""
    return {
        "start": start,
        "end": end,
        "category": category,
        "supplier_id": supplier_id,
        "buyer_key": params.buyer_key,
        "threshold": decimal_text(params.threshold),
        "lowball": decimal_text(params.lowball),
        "claim_window": settings.CLAIM_WINDOW_DAYS,
        **vocab.vocabulary().outcome_classes(),
    }


def check_category(con: duckdb.DuckDBPyConnection, category: str | None) -> None:
    """BadParameter unless some case of the store has ``category`` (None passes)."""
    if category is None:
        return
    known = [
        row[0] for row in con.execute("SELECT DISTINCT category FROM cases ORDER BY 1").fetchall()
    ]
    if category not in known:
        shown = ", ".join(known) if known else "none: the store is empty"
        raise BadParameter(
            f"category {category!r}: no case in the store has it (categories: {shown})"
        )


def compose(template: str, **fragments: str) -> str:
    """Fill the {slots} of one of the metric modules' fixed SQL templates with fixed fragments.

    Only SQL text written in analysis/metrics (or its sql files) goes in here, never a value:
    periods, thresholds, categories and outcome classes are always bound parameters.
    """
    return template.format(**fragments)
