"""One supplier's record over a range, beside everyone's: the supplier scorecard's figures.

Every figure is one of the metrics (blocks, the O/E comparison, Kaplan-Meier, notable cases)
restricted to the supplier's cases (``supplier_id``) and shown beside the same figure over all
suppliers. Whether the supplier is *judged* follows the comparison's rule: from ``min_n_named``
decided cases; below it the figures are shown and said to be too few.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from analysis.errors import BadParameter
from analysis.metrics import coverage, suppliers
from analysis.metrics.blocks import block_dict, block_frame
from analysis.metrics.case_flags import window
from analysis.metrics.names import supplier_names
from analysis.metrics.outcomes import buyer_outcome_counts
from analysis.metrics.params import Params
from analysis.store import Source, connect


def supplier_name(db: Source, supplier_id: str) -> str | None:
    """The supplier's one name (:mod:`analysis.metrics.names`: the alias file's, else the name
    on its latest case), or BadParameter for an unknown supplier."""
    with connect(db) as con:
        (count,) = con.execute(
            "SELECT count(*) FROM cases WHERE supplier_id = ?", [supplier_id]
        ).fetchone()
        name = supplier_names(con, [supplier_id]).get(supplier_id)
    if not count:
        raise BadParameter(f"supplier {supplier_id!r}: no case in the store has it")
    return name


def named_suppliers(
    db: Source, start: date | str, end: date | str, params: Params | None = None
) -> list[str]:
    """The suppliers with at least ``min_n_named`` decided cases closed in [start, end], by id
    (what ``--each supplier`` renders and a scorecard may judge)."""
    frame = suppliers.observed_expected(db, start, end, params)
    return sorted(frame.loc[frame["named"], "supplier_id"].tolist())


def against_mix(
    db: Source,
    start: date | str,
    end: date | str,
    supplier_id: str,
    params: Params | None = None,
) -> dict | None:
    """The supplier's row of the O/E comparison over [start, end] (observed, expected, O/E,
    intervals, flag, named), or None when it has no decided case there."""
    frame = suppliers.observed_expected(db, start, end, params)
    row = frame[frame["supplier_id"] == supplier_id]
    if row.empty:
        return None
    record = row.iloc[0].to_dict()
    record["suppliers"] = len(frame)
    return record


def supplier_block(
    db: Source,
    start: date | str,
    end: date | str,
    supplier_id: str,
    params: Params | None = None,
) -> dict:
    """The supplier's block over [start, end]: ``outcome_metrics``' ``overall`` for its cases
    only (what its scorecard shows and the catalogue lists), with the figures of a field no load
    behind the window recorded set to None."""
    params = params or Params()
    row = block_frame(db, start, end, None, params, supplier_id=supplier_id).iloc[0]
    return coverage.blank_figures(block_dict(row), coverage.not_recorded(db, start, end, params))


def beside_everyone(
    db: Source,
    start: date | str,
    end: date | str,
    supplier_id: str,
    by: str | None = None,
    params: Params | None = None,
) -> pd.DataFrame:
    """The block of each group of ``by`` (None: the whole range) for the supplier's cases, with
    everyone's block beside it (columns prefixed ``all_``), one row per group the supplier has."""
    params = params or Params()
    start, end = window(start, end)
    own = block_frame(db, start, end, by, params, supplier_id=supplier_id)
    everyone = block_frame(db, start, end, by, params).add_prefix("all_")
    merged = own.merge(everyone, left_on="group", right_on="all_group", how="left")
    merged = merged[(merged["cases_closed"] > 0) | (merged["cases_opened"] > 0) | (by is None)]
    return merged.drop(columns="all_group").reset_index(drop=True)


def buyer_outcomes_beside_everyone(
    db: Source,
    start: date | str,
    end: date | str,
    supplier_id: str,
    params: Params | None = None,
) -> pd.DataFrame:
    """What the buyers of the supplier's closed cases came away with, beside everyone's."""
    from analysis.metrics.case_flags import bind, check_category, compose, period_cases_sql

    params = params or Params()
    start, end = window(start, end)
    query = compose(
        "WITH period_cases AS ({period_cases}) SELECT buyer_outcome, count(*) AS cases "
        "FROM period_cases WHERE closed_in GROUP BY ALL",
        period_cases=period_cases_sql(),
    )
    with connect(db) as con:
        check_category(con, None)
        own = dict(con.execute(query, bind(start, end, params, None, supplier_id)).fetchall())
    everyone = buyer_outcome_counts(db, start, end, params)
    kinds = list(dict.fromkeys([*everyone, *own]))
    return pd.DataFrame(
        {
            "kind": kinds,
            "cases": [int(own.get(k, 0)) for k in kinds],
            "all_cases": [int(everyone.get(k, 0)) for k in kinds],
        }
    )
