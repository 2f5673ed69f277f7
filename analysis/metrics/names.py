"""One name per supplier: ``suppliers.name``, kept by every load (the ``name`` column of
``data/reference/supplier_aliases.csv`` where it gives one, else the name on the supplier's
latest case). The scorecard, the supplier comparison, the case lists, the dossier and
``explore`` all show this name, so an aliased supplier is one group under one name everywhere;
the spelling each case was exported with stays in ``cases.supplier_name``.
"""

from __future__ import annotations

from collections.abc import Iterable

import duckdb
import pandas as pd


def supplier_names(con: duckdb.DuckDBPyConnection, supplier_ids: Iterable) -> dict[str, str]:
    """{supplier_id: its one name} of the given suppliers (a supplier without a name is left
    out)."""
    ids = sorted({str(s) for s in supplier_ids if isinstance(s, str)})
    if not ids:
        return {}
    rows = con.execute(
        "SELECT supplier_id, name FROM suppliers WHERE supplier_id IN (SELECT unnest(?)) "
        "AND name IS NOT NULL",
        [ids],
    ).fetchall()
    return dict(rows)


def with_supplier_names(
    con: duckdb.DuckDBPyConnection, frame: pd.DataFrame, as_received: bool = False
) -> pd.DataFrame:
    """``frame`` (with ``supplier_id`` and ``supplier_name`` columns) with each supplier's one
    name in ``supplier_name``; with ``as_received``, the names as exported are kept beside it
    in ``supplier_name_as_received``."""
    if frame.empty or "supplier_id" not in frame or "supplier_name" not in frame:
        return frame
    names = supplier_names(con, frame["supplier_id"].unique())
    out = frame.copy()
    if as_received:
        at = out.columns.get_loc("supplier_name") + 1
        out.insert(at, "supplier_name_as_received", out["supplier_name"])
    named = out["supplier_id"].map(names).astype(object)
    out["supplier_name"] = named.where(named.notna(), None)
    return out
