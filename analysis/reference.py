"""The user-editable taxonomies in ``data/reference/``, loaded as lookup tables.

Every accepted spelling of a value (its slug, its display name, each synonym, and any value the
mapping file adds) is reduced to a *key* by the SQL macro ``ta_key`` (lower case, every run of
non-alphanumeric characters as one space, trimmed), so "Apparel & Textiles", "apparel_textiles"
and " APPAREL  TEXTILES " all meet at the same key.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from analysis import paths
from analysis.errors import BadFile

FILES = {
    "category": "categories.csv",
    "claim_type": "claim_types.csv",
    "outcome": "outcomes.csv",
}


def load_reference(con: duckdb.DuckDBPyConnection, reference_dir: Path | None = None) -> None:
    """Create temp tables ``ref_lookup(field, key, slug)`` and ``ref_outcomes``.

    Raises :class:`BadFile` when a reference file is missing or one key maps to two slugs.
    """
    ref = Path(reference_dir or paths.reference_dir())
    con.execute(
        "CREATE OR REPLACE TEMP TABLE ref_lookup(field VARCHAR, key VARCHAR, slug VARCHAR, display_name VARCHAR)"
    )
    for field_name, filename in FILES.items():
        path = ref / filename
        _check(path)
        con.execute(
            """
            INSERT INTO ref_lookup
            WITH src AS (
                SELECT trim(slug) AS slug, trim(display_name) AS display_name, coalesce(synonyms, '') AS synonyms
                FROM read_csv(?, header = true, all_varchar = true, auto_detect = true)
            )
            SELECT DISTINCT ?, ta_key(spelling), slug, display_name
            FROM src, unnest(list_concat([slug, display_name], string_split(synonyms, '|'))) AS t(spelling)
            WHERE ta_key(spelling) <> ''
            """,
            [str(path), field_name],
        )
    path = ref / "vocabularies.csv"
    _check(path)
    con.execute(
        """
        INSERT INTO ref_lookup
        WITH src AS (
            SELECT trim(field) AS field, trim(slug) AS slug, coalesce(synonyms, '') AS synonyms
            FROM read_csv(?, header = true, all_varchar = true, auto_detect = true)
        )
        SELECT DISTINCT field, ta_key(spelling), slug, slug
        FROM src, unnest(list_concat([slug], string_split(synonyms, '|'))) AS t(spelling)
        WHERE ta_key(spelling) <> ''
        """,
        [str(path)],
    )
    clash = con.execute(
        """
        SELECT field, key, string_agg(DISTINCT slug, ', ' ORDER BY slug)
        FROM ref_lookup GROUP BY field, key HAVING count(DISTINCT slug) > 1 LIMIT 1
        """
    ).fetchone()
    if clash:
        raise BadFile(
            f"{ref}: the {clash[0]} spelling '{clash[1]}' is given for more than one slug ({clash[2]}); "
            "make it unique"
        )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE ref_outcomes AS
        SELECT trim(slug) AS slug, is_final::BOOLEAN AS is_final, is_decided::BOOLEAN AS is_decided,
               is_monetary::BOOLEAN AS is_monetary
        FROM read_csv(?, header = true, all_varchar = true)
        """,
        [str(ref / FILES["outcome"])],
    )


def add_value_map(con: duckdb.DuckDBPyConnection, values: dict[str, dict[str, str]]) -> None:
    """Add a mapping file's value maps: ``temp.value_map(field, key, replacement)``."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE value_map(field VARCHAR, key VARCHAR, replacement VARCHAR)"
    )
    rows = [[f, raw, new] for f, vmap in values.items() for raw, new in vmap.items()]
    if rows:
        con.executemany("INSERT INTO value_map VALUES (?, ta_key(?), ?)", rows)


def _check(path: Path) -> None:
    if not path.exists():
        raise BadFile(f"{path}: reference file missing (restore it from git: data/reference/)")
