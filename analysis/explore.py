"""Exploring the store from a notebook, with the reports' own definitions.

    from analysis import explore

    q3 = explore.cases("2026-07-01", "2026-09-30")          # the cases closed in Q3, with flags
    q3.supplier_sided.sum()                                  # = the metrics' supplier_sided
    explore.rates(q3, ["category", "claim_type"])            # rate, n and Wilson interval per group
    explore.query("SELECT outcome, count(*) FROM cases WHERE opened_date >= ? GROUP BY 1",
                  ["2026-01-01"])
    explore.figures("2026-07-01", "2026-09-30")["category"]  # the metrics as tidy frames

Every call opens the store read-only and closes it before it returns, so a notebook never holds
the store between cells: a scheduled ingest (which waits for readers) is never kept waiting by an
idle kernel, and the store may be one the analyst cannot write. The per-case flags are those of
``analysis/metrics/sql/cases.sql``, the same SQL every metric is built from, so a number worked
out here agrees with the report's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb
import pandas as pd

from analysis import columns as registry
from analysis import settings
from analysis.errors import BadParameter
from analysis.metrics import breakdowns as bd
from analysis.metrics import catalogue, periods, stats
from analysis.metrics.blocks import block_frame
from analysis.metrics.case_flags import bind, check_category, compose, period_cases_sql, window
from analysis.metrics.names import with_supplier_names
from analysis.metrics.outcomes import outcome_metrics
from analysis.metrics.params import Params
from analysis.store import Reader, Source, connect, connect_sealed, first_line, reading

#: The per-case flags of cases.sql, under the names a notebook reads them by.
FLAGS = catalogue.FLAGS
_CASES = """
    WITH period_cases AS ({period_cases})
    SELECT c.* EXCLUDE (buyer_key), {flags}{extra}
    FROM cases c JOIN period_cases f USING (case_id)
    WHERE {which}
    ORDER BY c.{order}, c.case_id
"""
_EXTRA_KEY = re.compile(r"\w+")


def _db(db: Source | None) -> Source:
    """The store to read: a run's :class:`analysis.store.Reader` as given, else the path found
    as a report finds it."""
    from analysis.report.context import resolve_db

    if isinstance(db, Reader):
        return db
    return resolve_db(db if db is not None else settings.DEFAULT_DB_TEXT)


def default_window(today: date | None = None) -> tuple[date, date]:
    """The 12 whole months up to the last complete one: what a notebook explores by default."""
    last = periods.last_complete("month", today)
    span = periods.trailing_months(last.end, settings.TRAILING_MONTHS)
    return span.start, last.end


def cases(
    start: date | str | None = None,
    end: date | str | None = None,
    by: str = "closed",
    category: str | None = None,
    db: Source | None = None,
    extra: list[str] | tuple[str, ...] = (),
    **params: Any,
) -> pd.DataFrame:
    """The cases whose ``closed_date`` (``by="closed"``) or ``opened_date`` (``by="opened"``)
    falls in [start, end] (default: :func:`default_window`): every stored column (the buyer key
    left out) and the per-case flags of the metric definitions (:data:`FLAGS`: ``decided``,
    ``supplier_sided``, ``lowball``, ``lapsed``, ``buyer_outcome``, ...). ``extra`` names columns
    of the exports kept in ``cases.extra`` to add as columns, under their own names: a name the
    frame already has (``decided``, ``outcome``, ...) or a name given twice is refused
    (:class:`BadParameter`, saying how to read it with :func:`query`), never renamed;
    ``params`` are the metric parameters (``threshold``, ``lowball``, ...).

    ``cases(s, e).supplier_sided.sum()`` is the metrics' ``supplier_sided`` for the same period
    and parameters; ``by="opened"`` gives the intake.
    """
    if by not in ("closed", "opened"):
        raise BadParameter(f"by must be 'closed' or 'opened', got {by!r}")
    if start is None and end is None:
        start, end = default_window()
    start, end = window(start, end)
    metric_params = Params(**params)
    for key in extra:
        if not _EXTRA_KEY.fullmatch(str(key)):
            raise BadParameter(
                f"extra: {key!r} is not a column name of cases.extra (letters, digits, _)"
            )
    # a key of cases.extra named like a column the frame already has (a stored column or a
    # flag) is refused, never renamed: DuckDB would call one of the two 'decided_1' (its
    # column names ignore case)
    taken = set(FLAGS) | (set(registry.case_names()) - {"buyer_key"})
    for i, key in enumerate(extra):
        why = (
            "is already a column of the frame (a per-case flag or a stored column)"
            if str(key).lower() in taken
            else "is named twice"
            if str(key).lower() in {str(k).lower() for k in extra[:i]}
            else None
        )
        if why:
            raise BadParameter(
                f"extra: {key!r} {why}; read that key of cases.extra with explore.query and "
                f"json_extract_string(extra, '$.{key}')"
            )
    flags = ", ".join(f"f.{column} AS {name}" for name, column in FLAGS.items())
    # a key of cases.extra becomes a column: its name is checked above, its path is bound
    extra_sql = "".join(
        f', json_extract_string(c.extra, ${"x" + str(i)}) AS "{key}"' for i, key in enumerate(extra)
    )
    query = compose(
        _CASES,
        period_cases=period_cases_sql(),
        flags=flags,
        extra=extra_sql,
        which="f.closed_in" if by == "closed" else "f.opened_in",
        order="closed_date" if by == "closed" else "opened_date",
    )
    bound = bind(start, end, metric_params, category) | {
        f"x{i}": f"$.{key}" for i, key in enumerate(extra)
    }
    with connect(_db(db)) as con:
        check_category(con, category)
        frame = con.execute(query, bound).df()
        # one name per supplier (grouping by it never splits an aliased supplier); the
        # spelling each case was exported with stays beside it
        frame = with_supplier_names(con, frame, as_received=True)
    frame.attrs.update(start=start.isoformat(), end=end.isoformat(), by=by)
    return frame


def query(sql: str, params: list | dict | None = None, db: Source | None = None) -> pd.DataFrame:
    """Any read-only SQL over the store's tables (``cases``, ``loads``, ``quarantine``,
    ``suppliers``), values bound as ``?`` or ``$name`` parameters, as a DataFrame.

    The SQL runs on a sealed connection (:func:`analysis.store.open_sealed`): it reads the store
    and nothing else. A statement that would write the store, read or write any other file
    (``COPY ... TO``, ``read_csv``, ``glob``, ``ATTACH``, ``EXPORT``), change a setting (``SET``,
    ``SET GLOBAL``) or install or load an extension is refused with :class:`BadParameter`."""
    with connect_sealed(_db(db)) as con:
        try:
            return con.execute(sql, params or []).df()
        except (duckdb.InvalidInputException, duckdb.PermissionException) as exc:
            text = first_line(exc)
            if "read-only" in text:
                why = "the store is opened read-only (load data with ta-outcomes ingest)"
            elif (
                "file system operations are disabled" in text
                or "disabled through configuration" in text
            ):
                why = "it reaches no file but the store and loads no extension"
            elif "configuration has been locked" in text:
                why = "its settings cannot be changed"
            else:
                raise
            raise BadParameter(f"explore.query reads only: {why} ({text})") from None


def rates(
    frame: pd.DataFrame,
    by: str | list[str],
    confidence: float = settings.CONFIDENCE,
    min_n_rate: int = settings.MIN_N_RATE,
    min_n: int = settings.MIN_N,
) -> pd.DataFrame:
    """Supplier-sided rate of a :func:`cases` frame by ``by``: per group ``decided``,
    ``supplier_sided``, ``rate`` and its Wilson interval (``ci_low``, ``ci_high``), over the
    decided cases (the metrics' denominator), with the reports' small-group rule: no rate
    below ``min_n_rate`` decided cases (NaN, the counts stay), ``few_cases`` below ``min_n``."""
    keys = [by] if isinstance(by, str) else list(by)
    decided = frame[frame["decided"].astype(bool)]
    out = (
        decided.groupby(keys, dropna=False)
        .agg(decided=("decided", "size"), supplier_sided=("supplier_sided", "sum"))
        .reset_index()
    )
    out["supplier_sided"] = out["supplier_sided"].astype("int64")
    out["rate"] = out["supplier_sided"] / out["decided"]
    out["ci_low"], out["ci_high"] = stats.wilson_many(
        out["supplier_sided"], out["decided"], confidence
    )
    too_few = out["decided"] < min_n_rate
    for column in ("rate", "ci_low", "ci_high"):
        out[column] = out[column].mask(too_few)
    out["few_cases"] = ~too_few & (out["decided"] < min_n)
    return out


@dataclass
class Figures:
    """The metrics of a period as tidy frames: ``overall`` (one row) and one frame per breakdown
    (``figures["category"]``), plus the JSON contract's other parts."""

    overall: pd.DataFrame
    breakdowns: dict[str, pd.DataFrame]
    contract: dict

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name == "overall":
            return self.overall
        if name in self.breakdowns:
            return self.breakdowns[name]
        if name in self.contract and isinstance(self.contract[name], list):
            return pd.DataFrame(self.contract[name])
        raise KeyError(f"{name!r}: one of overall, {', '.join(self.breakdowns)}, sensitivity, "
                       "supplier_comparison, adjusted_effects")  # fmt: skip

    def keys(self) -> list[str]:
        return ["overall", *self.breakdowns, "sensitivity", "supplier_comparison"]


def figures(
    start: date | str | None = None,
    end: date | str | None = None,
    category: str | None = None,
    db: Source | None = None,
    **params: Any,
) -> Figures:
    """The metrics of [start, end] (default: :func:`default_window`) as :class:`Figures`: the
    overall block and every breakdown of :mod:`analysis.metrics.breakdowns` as DataFrames, with
    the same numbers as ``ta-outcomes metrics``."""
    if start is None and end is None:
        start, end = default_window()
    start, end = window(start, end)
    metric_params = Params(**params)
    # one read-only connection for the call's queries, closed before it returns
    with reading(_db(db)) as reader:
        contract = outcome_metrics(reader, start, end, metric_params, category)
        breakdowns = {
            name: block_frame(reader, start, end, name, metric_params, category)
            for name in bd.BREAKDOWNS
            if name != "supplier_id"
        }
    overall = pd.DataFrame([contract["overall"]])
    return Figures(overall=overall, breakdowns=breakdowns, contract=contract)


__all__ = ["FLAGS", "Figures", "cases", "default_window", "figures", "query", "rates"]
