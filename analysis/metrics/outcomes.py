"""``ta-outcomes metrics``: the metrics of one period as the JSON contract, and as a table."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from analysis.metrics.blocks import block_dict, empty_blocks, finish_blocks, grouped_blocks
from analysis.metrics.cases import bind, check_category, window
from analysis.metrics.definitions import DEFINITIONS_VERSION
from analysis.metrics.params import Params
from analysis.store import connect


def outcome_metrics(
    db: Path | str,
    start: date | str,
    end: date | str,
    params: Params | None = None,
    category: str | None = None,
) -> dict:
    """The metrics of one period as the JSON contract of ``ta-outcomes metrics``.

    Keys: ``start``, ``end`` (ISO), ``category`` (the filter or None), ``params``,
    ``definitions_version``, ``synthetic_cases`` (cases of the window made by the demo),
    ``overall`` (a block), ``by_category`` and ``by_claim_type`` (blocks keyed by slug, every
    slug with a case opened or closed in the period). A block holds :data:`BLOCK_FIELDS`.
    """
    params = params or Params()
    start, end = window(start, end)
    with connect(db) as con:
        check_category(con, category)
        raw = grouped_blocks(
            con,
            bind(start, end, params, category),
            ("category", "claim_type"),
            [(), ("category",), ("claim_type",)],
        )
    frame = finish_blocks(raw, params)
    # GROUPING(category, claim_type): 3 = neither (overall), 1 = by category, 2 = by claim type.
    overall = frame[frame["grouping_id"] == 3]
    overall_row = (
        overall.iloc[0]
        if len(overall)
        else finish_blocks(empty_blocks(pd.RangeIndex(1)), params).iloc[0]
    )
    by_category = frame[frame["grouping_id"] == 1].sort_values("key_category")
    by_claim_type = frame[frame["grouping_id"] == 2].sort_values("key_claim_type")
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "category": category,
        "params": params.as_dict(),
        "definitions_version": DEFINITIONS_VERSION,
        "synthetic_cases": int(overall_row["synthetic_cases"]),
        "overall": block_dict(overall_row),
        "by_category": {row["key_category"]: block_dict(row) for _, row in by_category.iterrows()},
        "by_claim_type": {
            row["key_claim_type"]: block_dict(row) for _, row in by_claim_type.iterrows()
        },
    }
