"""The vocabularies (:mod:`analysis.vocab`) as lookup tables on an ingest connection.

Every accepted spelling of a value (its slug, its display name, each synonym, and any value the
mapping file adds) is reduced to a *key* by the SQL macro ``ta_key`` (lower case, every run of
non-alphanumeric characters as one space, trimmed), so "Apparel & Textiles", "apparel_textiles"
and " APPAREL  TEXTILES " all meet at the same key.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from analysis import vocab
from analysis.errors import BadFile


def load_reference(con: duckdb.DuckDBPyConnection, reference_dir: Path | None = None) -> None:
    """Create temp tables ``ref_lookup(field, key, slug, display_name)`` and ``ref_outcomes``.

    Raises :class:`BadFile` when a reference file is missing or one key maps to two slugs.
    """
    words = vocab.vocabulary(reference_dir)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE ref_lookup(field VARCHAR, key VARCHAR, slug VARCHAR, display_name VARCHAR)"
    )
    rows = [
        [t.field, spelling, t.slug, t.display_name]
        for t in words.terms
        for spelling in t.spellings()
    ]
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _spellings(field VARCHAR, spelling VARCHAR, slug VARCHAR, display_name VARCHAR)"
    )
    con.executemany("INSERT INTO _spellings VALUES (?, ?, ?, ?)", rows)
    con.execute(
        """
        INSERT INTO ref_lookup
        SELECT DISTINCT field, ta_key(spelling), slug, display_name FROM _spellings
        WHERE ta_key(spelling) <> ''
        """
    )
    con.execute("DROP TABLE _spellings")
    clash = con.execute(
        """
        SELECT field, key, string_agg(DISTINCT slug, ', ' ORDER BY slug)
        FROM ref_lookup GROUP BY field, key HAVING count(DISTINCT slug) > 1 LIMIT 1
        """
    ).fetchone()
    if clash:
        raise BadFile(
            f"{words.folder}: the {clash[0]} spelling '{clash[1]}' is given for more than one "
            f"slug ({clash[2]}); make it unique"
        )
    con.execute("CREATE OR REPLACE TEMP TABLE supplier_alias(key VARCHAR, supplier_id VARCHAR)")
    aliases = supplier_aliases(reference_dir)
    if aliases:
        con.executemany("INSERT INTO supplier_alias VALUES (ta_key(?), ?)", aliases)
    con.execute("CREATE OR REPLACE TEMP TABLE supplier_name_ref(supplier_id VARCHAR, name VARCHAR)")
    names = supplier_names(reference_dir)
    if names:
        con.executemany("INSERT INTO supplier_name_ref VALUES (?, ?)", list(names.items()))
    con.execute(
        "CREATE OR REPLACE TEMP TABLE ref_outcomes(slug VARCHAR, is_final BOOLEAN, "
        "is_decided BOOLEAN, is_monetary BOOLEAN)"
    )
    con.executemany(
        "INSERT INTO ref_outcomes VALUES (?, ?, ?, ?)",
        [
            [t.slug, t.flags["is_final"], t.flags["is_decided"], t.flags["is_monetary"]]
            for t in words.of("outcome")
        ],
    )


#: alias -> supplier_id, applied to supplier_id at ingest (a file of its own beside the vocabularies)
SUPPLIER_ALIASES = "supplier_aliases.csv"


def supplier_aliases(reference_dir: Path | None = None) -> list[tuple[str, str]]:
    """(alias, supplier_id) rows of ``supplier_aliases.csv`` (none when the file is absent).

    Raises :class:`BadFile` for a file without the two columns, a blank cell, or one alias
    given for two suppliers (by its lookup key: case and punctuation do not count).
    """
    import csv

    from analysis import settings

    path = Path(reference_dir or settings.reference_dir()) / SUPPLIER_ALIASES
    if not path.exists():
        return []
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None or not {"alias", "supplier_id"} <= set(reader.fieldnames):
            raise BadFile(f"{path}: needs the columns alias,supplier_id")
        rows, seen = [], {}
        for number, row in enumerate(reader, start=2):
            alias, supplier = (
                (row.get("alias") or "").strip(),
                (row.get("supplier_id") or "").strip(),
            )
            if not alias or not supplier:
                raise BadFile(f"{path}: line {number}: alias and supplier_id must both be given")
            key = vocab.key(alias)
            if seen.get(key, supplier) != supplier:
                raise BadFile(
                    f"{path}: line {number}: alias '{alias}' is given for {seen[key]} and {supplier}"
                )
            seen[key] = supplier
            rows.append((alias, supplier))
    return rows


def supplier_names(reference_dir: Path | None = None) -> dict[str, str]:
    """{supplier_id: its canonical name} from the optional ``name`` column of
    ``supplier_aliases.csv``: the one name the reports and ``explore`` show for the supplier
    (without one, the name on its latest case). A supplier given two names is refused."""
    import csv

    from analysis import settings

    path = Path(reference_dir or settings.reference_dir()) / SUPPLIER_ALIASES
    if not path.exists():
        return {}
    names: dict[str, str] = {}
    with open(path, encoding="utf-8-sig", newline="") as fh:
        for number, row in enumerate(csv.DictReader(fh), start=2):
            supplier, name = (row.get("supplier_id") or "").strip(), (row.get("name") or "").strip()
            if not supplier or not name:
                continue
            if names.get(supplier, name) != name:
                raise BadFile(
                    f"{path}: line {number}: supplier {supplier} is named '{names[supplier]}' "
                    f"and '{name}'; give it one name"
                )
            names[supplier] = name
    return names


def add_value_map(con: duckdb.DuckDBPyConnection, values: dict[str, dict[str, str]]) -> None:
    """Add a mapping file's value maps: ``temp.value_map(field, key, replacement)``."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE value_map(field VARCHAR, key VARCHAR, replacement VARCHAR)"
    )
    rows = [[f, raw, new] for f, vmap in values.items() for raw, new in vmap.items()]
    if rows:
        con.executemany("INSERT INTO value_map VALUES (?, ta_key(?), ?)", rows)
