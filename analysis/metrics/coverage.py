"""Which fields the exports behind a window recorded: a field no file carried is "not recorded".

Every load records the intake fields its file carried and how many rows gave each a value
(``loads.field_coverage``). A figure built on a field that none of the loads behind a window's
cases carried (an escalation rate from exports without an escalation column) is not a fact
about the disputes: it is reported as "not recorded" (null in the JSON, listed in
``not_recorded``), and no test is run on it. Loads written before coverage was recorded count as
having carried every field.
"""

from __future__ import annotations

from datetime import date

from analysis import columns
from analysis.metrics import breakdowns, catalogue
from analysis.metrics.case_flags import bind, compose, period_cases_sql, window
from analysis.metrics.params import Params
from analysis.store import Source, connect

#: Fields whose absence changes what the reports can say (the column registry's), and the block
#: fields built on them (the figures of the metric catalogue that need the field).
FIELD_FIGURES: dict[str, tuple[str, ...]] = {
    field_name: catalogue.fields_of(field_name) for field_name in columns.NOT_RECORDED_FIELDS
}
#: The breakdowns that group by a field, and the field.
BREAKDOWN_FIELDS = {b.name: b.needs for b in breakdowns.BY_NAME.values() if b.needs}

#: Whether load ``l`` carried ``f.field`` through its intake column ``f.recorder``: a value in at
#: least one of its rows (a load written before coverage was recorded carried every field).
_CARRIED = """(l.field_coverage IS NULL
    OR coalesce(try_cast(json_extract_string(l.field_coverage, '$.' || f.recorder) AS BIGINT), 0) > 0)"""
#: Each field with each intake column that records it, bound as $fields and $recorders.
_FIELDS = "SELECT unnest($fields) AS field, unnest($recorders) AS recorder"
_RECORDED = """
    WITH period_cases AS ({period_cases}),
    behind AS (SELECT DISTINCT load_id FROM period_cases WHERE opened_in OR closed_in)
    SELECT f.field, bool_or({carried}) AS recorded
    FROM behind b JOIN loads l USING (load_id), ({fields}) f
    GROUP BY f.field
"""
_LOAD_RECORDED = """
    SELECT f.field, bool_or({carried}) AS recorded
    FROM loads l, ({fields}) f WHERE l.load_id = $load_id
    GROUP BY f.field
"""


def _recorders(fields=None) -> dict[str, list[str]]:
    """$fields and $recorders: every field of ``fields`` (default FIELD_FIGURES) with each column
    that records it (the column registry's ``records``: escalation is recorded by its date or by
    a yes/no column, issue 28)."""
    pairs = [(f, r) for f in (fields or FIELD_FIGURES) for r in columns.recorders(f)]
    return {"fields": [f for f, _ in pairs], "recorders": [r for _, r in pairs]}


def _has_coverage(con) -> bool:
    """False for a store from before coverage was recorded (every field counts as recorded)."""
    return bool(
        con.execute(
            "SELECT count(*) FROM information_schema.columns "
            "WHERE table_name = 'loads' AND column_name = 'field_coverage'"
        ).fetchone()[0]
    )


def not_recorded(
    db: Source,
    start: date | str,
    end: date | str,
    params: Params | None = None,
    category: str | None = None,
    fields: tuple[str, ...] | None = None,
) -> list[str]:
    """The fields of :data:`FIELD_FIGURES` (or of ``fields``: an intake field whose section is
    "not recorded" as a whole, like ``platform_reason``) that no load behind the window's cases
    (opened or closed in [start, end]) carried; empty when the window has no case."""
    params = params or Params()
    start, end = window(start, end)
    query = compose(_RECORDED, period_cases=period_cases_sql(), carried=_CARRIED, fields=_FIELDS)
    with connect(db) as con:
        if not _has_coverage(con):
            return []  # a store from before coverage was recorded
        rows = con.execute(
            query, bind(start, end, params, category) | _recorders(fields)
        ).fetchall()
    recorded = dict(rows)
    return [f for f in (fields or FIELD_FIGURES) if f in recorded and not recorded[f]]


def load_not_recorded(
    db: Source, load_id: int | None, fields: tuple[str, ...] | None = None
) -> list[str]:
    """The fields of :data:`FIELD_FIGURES` that load ``load_id`` did not carry (its file had no
    such column, or no value in it): what one case's export did not record. Empty for an
    unknown load or a store from before coverage was recorded."""
    if load_id is None:
        return []
    with connect(db) as con:
        if not _has_coverage(con):
            return []
        rows = con.execute(
            compose(_LOAD_RECORDED, carried=_CARRIED, fields=_FIELDS),
            _recorders(fields) | {"load_id": int(load_id)},
        ).fetchall()
    recorded = dict(rows)
    return [f for f in (fields or FIELD_FIGURES) if f in recorded and not recorded[f]]


def blank_figures(block: dict, missing: list[str]) -> dict:
    """``block`` with the figures of the ``missing`` fields set to None (not recorded)."""
    out = dict(block)
    for field_name in missing:
        for name in FIELD_FIGURES.get(field_name, ()):
            if name in out:
                out[name] = None
    return out
