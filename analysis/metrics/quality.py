"""Data-quality queries: what the loads read and where each row went, what is left blank.

Every query starts from the same scope CTEs (:data:`SCOPE_SQL`), so the tables of one report or
audit agree with each other. The report's section and the audit notebook show them
(:mod:`analysis.report.audit`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from analysis import columns, sqlfiles, vocab
from analysis.metrics import periods
from analysis.store import Source, connect


@dataclass(frozen=True)
class AuditScope:
    """Which loads, quarantined rows and cases a data-quality table looks at.

    ``load_start``/``load_end``: loads started in these days (None: every load); quarantined rows
    and cases then come from those loads. ``case_start``/``case_end``: cases opened or closed in
    these days (None: all). ``category``: one category, or None. ``loads_of_cases``: the loads
    are those that wrote the scope's cases (an audit of a period of historical data, whose
    loads were all made later).
    """

    store: Source
    load_start: date | None = None
    load_end: date | None = None
    case_start: date | None = None
    case_end: date | None = None
    category: str | None = None
    description: str = "the whole store"
    synthetic: bool = False
    parameters: dict = field(default_factory=dict)
    period: periods.Period | None = None
    loads_of_cases: bool = False

    def bind(self) -> dict:
        """The scope's bound parameters (with the outcome classes)."""
        return {
            "load_start": self.load_start,
            "load_end": self.load_end,
            "case_start": self.case_start,
            "case_end": self.case_end,
            "category": self.category,
            "loads_of_cases": self.loads_of_cases,
            "decided_outcomes": list(vocab.vocabulary().decided),
            "final_outcomes": list(vocab.vocabulary().final),
        }


# The scope as CTEs: every data-quality query starts with these, so they all agree.
SCOPE_SQL = """
WITH case_range AS (
    SELECT load_id FROM cases
    WHERE ($case_start IS NULL
           OR opened_date BETWEEN $case_start AND $case_end
           OR closed_date BETWEEN $case_start AND $case_end)
      AND ($category IS NULL OR category = $category)
),
scope_loads AS (
    SELECT * FROM loads
    WHERE ($load_start IS NULL OR CAST(started_at AS DATE) BETWEEN $load_start AND $load_end)
      AND (NOT $loads_of_cases OR load_id IN (SELECT load_id FROM case_range))
),
scope_quarantine AS (
    SELECT * FROM quarantine WHERE load_id IN (SELECT load_id FROM scope_loads)
),
scope_cases AS (
    SELECT *, list_contains($decided_outcomes, outcome) AS is_decided,
           list_contains($final_outcomes, outcome) AS is_final
    FROM cases
    WHERE ($load_start IS NULL OR load_id IN (SELECT load_id FROM scope_loads))
      AND ($case_start IS NULL
           OR opened_date BETWEEN $case_start AND $case_end
           OR closed_date BETWEEN $case_start AND $case_end)
      AND ($category IS NULL OR category = $category)
)
"""

_LOADS_SQL = (
    SCOPE_SQL
    + """
SELECT load_id, source_file, file_format, started_at, rows_read, inserted, updated, unchanged,
       repeats, quarantined, unmapped_categories, fx_fallbacks,
       rows_read = inserted + updated + unchanged + repeats + quarantined AS adds_up
FROM scope_loads ORDER BY started_at DESC, load_id DESC
"""
)
_QUARANTINE_BY_REASON_SQL = (
    SCOPE_SQL  # noqa: S608 - two fixed SQL texts; values are bound
    + r"""
-- A row's reasons are '<field>: <problem>' joined by '; ' (a problem may itself contain '; ',
-- so split only where the next reason's 'field: ' starts). A row counts once under each reason.
-- Reasons are grouped by kind: the quoted values and bracketed details that make each one
-- unique ('2025-02-30', (12562.77 > 8375.18)) are dropped; one full reason is kept as an example.
, parts AS (
    SELECT file_sha256, trim(part) AS part
    FROM scope_quarantine,
        unnest(string_split(
            regexp_replace(reason, '; ([A-Za-z_]+): ', chr(31) || '\1: ', 'g'), chr(31)
        )) AS t(part)
    WHERE trim(part) <> ''
)
SELECT
    trim(regexp_replace(regexp_replace(part, '\s*''[^'']*''', '', 'g'), '\s*\([^)]*\)', '', 'g'))
        AS reason,
    count(*) AS rows,
    count(DISTINCT file_sha256) AS files,
    min(part) AS example
FROM parts GROUP BY 1 ORDER BY rows DESC, reason
"""
)
_QUARANTINE_BY_FILE_SQL = (
    SCOPE_SQL
    + """
SELECT source_file, count(*) AS rows, min(quarantined_at) AS first_at, max(quarantined_at) AS last_at
FROM scope_quarantine GROUP BY ALL ORDER BY rows DESC, source_file
"""
)
_UNMAPPED_SQL = (
    SCOPE_SQL
    + """
SELECT category_raw, category, count(*) AS cases
FROM scope_cases WHERE NOT category_mapped GROUP BY ALL ORDER BY cases DESC, category_raw
"""
)
_FX_FALLBACK_SQL = (
    SCOPE_SQL
    + """
SELECT currency, count(*) AS cases, min(opened_date) AS first_opened, max(opened_date) AS last_opened,
       max(fx_rate_date) AS rate_date_used
FROM scope_cases WHERE fx_fallback GROUP BY ALL ORDER BY cases DESC, currency
"""
)
#: The optional fields whose blanks are counted, with their names for a reader.
OPTIONAL_FIELDS = {c.name: c.blank_label for c in columns.CASES if c.blank_label}
_OVERVIEW_SQL = (
    SCOPE_SQL  # noqa: S608 - two fixed SQL texts; values are bound
    + """
SELECT
    (SELECT count(*) FROM scope_loads) AS loads,
    (SELECT coalesce(sum(rows_read), 0) FROM scope_loads) AS rows_read,
    (SELECT count(*) FROM scope_quarantine) AS quarantined_rows,
    (SELECT count(*) FROM scope_cases) AS cases,
    (SELECT count_if(is_synthetic) FROM scope_cases) AS synthetic_cases,
    (SELECT count_if(NOT is_final) FROM scope_cases) AS open_cases,
    (SELECT min(opened_date) FROM scope_cases) AS first_opened,
    (SELECT max(opened_date) FROM scope_cases) AS last_opened,
    (SELECT max(closed_date) FROM scope_cases) AS last_closed,
    (SELECT max(finished_at) FROM scope_loads) AS last_load_at
"""
)


def _query(scope: AuditScope, sql: str) -> pd.DataFrame:
    with connect(scope.store) as con:
        return con.execute(sql, scope.bind()).df()


def overview(scope: AuditScope) -> pd.Series:
    """Loads, rows, quarantined rows, cases (open, synthetic) and their dates in the scope."""
    return _query(scope, _OVERVIEW_SQL).iloc[0]


def loads(scope: AuditScope) -> pd.DataFrame:
    """One row per load, newest first, with ``adds_up`` (rows read = the sum of the five)."""
    return _query(scope, _LOADS_SQL)


def quarantine_by_reason(scope: AuditScope) -> pd.DataFrame:
    """Quarantined rows by kind of reason (reason, rows, files, example)."""
    return _query(scope, _QUARANTINE_BY_REASON_SQL)


def quarantine_by_file(scope: AuditScope) -> pd.DataFrame:
    """Quarantined rows by source file (source_file, rows, first_at, last_at)."""
    return _query(scope, _QUARANTINE_BY_FILE_SQL)


def unmapped_categories(scope: AuditScope) -> pd.DataFrame:
    """Category texts that matched no slug, name or synonym (category_raw, category, cases)."""
    return _query(scope, _UNMAPPED_SQL)


def fx_fallbacks(scope: AuditScope) -> pd.DataFrame:
    """Cases converted at the nearest shipped ECB rate, by currency."""
    return _query(scope, _FX_FALLBACK_SQL)


def missing_fields(scope: AuditScope) -> pd.Series:
    """How many cases leave each optional field blank (and ``cases``, ``decided``)."""
    # count_if over no rows is NULL in DuckDB: an empty scope counts 0 everywhere
    # the optional fields whose blanks are counted: the column registry's (blank_label)
    return (
        _query(scope, SCOPE_SQL + sqlfiles.sql("metrics", "missing_fields.sql")).iloc[0].fillna(0)
    )


_COVERAGE_SQL = (
    SCOPE_SQL
    + """
SELECT load_id, source_file, field_coverage, extra_columns FROM scope_loads ORDER BY load_id
"""
)


def field_coverage(scope: AuditScope) -> pd.DataFrame:
    """For each intake field: how many of the scope's loads carried it, and how many rows of
    theirs gave it a value (``loads``, ``loads_carrying``, ``rows_with_value``; loads from before
    coverage was recorded are ``loads_unknown``). Presentation-sized: one row per load is read."""
    import json

    from analysis import columns as registry

    loads = _query(scope, _COVERAGE_SQL)
    known = [json.loads(c) for c in loads["field_coverage"] if isinstance(c, str)]
    rows = []
    for name in registry.intake_names():
        carrying = [c[name] for c in known if name in c]
        rows.append(
            {
                "field": name,
                "loads": len(loads),
                "loads_carrying": len(carrying),
                "loads_unknown": len(loads) - len(known),
                "rows_with_value": int(sum(carrying)),
            }
        )
    frame = pd.DataFrame(rows)
    extras = {}
    for text in loads["extra_columns"]:
        if isinstance(text, str):
            extras.update(json.loads(text))
    frame.attrs["extra_columns"] = extras
    return frame
