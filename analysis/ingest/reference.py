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
    con.execute(
        "CREATE OR REPLACE TEMP TABLE supplier_alias(alias VARCHAR, key VARCHAR, supplier_id VARCHAR)"
    )
    aliases = supplier_aliases(reference_dir)
    if aliases:
        con.execute(
            "INSERT INTO supplier_alias SELECT a, ta_key(a), s FROM "
            "(SELECT unnest(?) AS a, unnest(?) AS s)",
            [[a for a, _ in aliases], [s for _, s in aliases]],
        )
        blank = con.execute(
            "SELECT alias FROM supplier_alias WHERE ta_blank(alias) IS NULL LIMIT 1"
        ).fetchone()
        if blank:
            raise BadFile(
                f"{words.folder / SUPPLIER_ALIASES}: alias '{blank[0]}' is how an export writes "
                "a blank (not recorded), and a blank supplier_id is never an alias; remove it"
            )
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

    Raises :class:`BadFile`, in one line naming the row(s), for a file without the two columns,
    a row with another number of fields (an unquoted comma in a name), a blank cell, an alias
    with no letter or digit (its lookup key would be that of a blank supplier_id), two rows
    whose aliases have one lookup key (case and punctuation do not count), and a chain or a
    cycle: an alias whose supplier_id is itself the alias of another supplier (aliases are
    applied once, so ``V0 -> V1`` with ``V1 -> V2`` would move V0's cases to V1 and V1's to V2;
    ``V1 -> V2`` with ``V2 -> V1`` would swap the two suppliers' cases).
    """
    import csv

    from analysis import settings

    path = Path(reference_dir or settings.reference_dir()) / SUPPLIER_ALIASES
    if not path.exists():
        return []
    # utf-8-sig: a byte-order mark (a spreadsheet's "CSV UTF-8") is not part of the first name
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        header = [h.strip() for h in next(reader, [])]
        if not {"alias", "supplier_id"} <= set(header):
            raise BadFile(
                f"{path}: needs the columns alias,supplier_id (found: {','.join(header)})"
            )
        at_alias, at_supplier = header.index("alias"), header.index("supplier_id")
        rows: list[tuple[str, str]] = []
        lines: list[int] = []
        first: dict[str, int] = {}  # lookup key of an alias -> its index in rows
        for fields in reader:
            number = reader.line_num
            if not fields:
                continue  # an empty line
            if len(fields) != len(header):
                raise BadFile(
                    f"{path}: line {number}: {len(fields)} fields where the header has "
                    f"{len(header)} (a name holding a comma must be in double quotes)"
                )
            alias, supplier = fields[at_alias].strip(), fields[at_supplier].strip()
            if not alias or not supplier:
                raise BadFile(f"{path}: line {number}: alias and supplier_id must both be given")
            key = vocab.key(alias)
            if not key:
                raise BadFile(
                    f"{path}: line {number}: alias '{alias}' has no letter or digit, so it would "
                    "match a blank supplier_id"
                )
            if key in first:
                i = first[key]
                raise BadFile(
                    f"{path}: lines {lines[i]} and {number}: the aliases '{rows[i][0]}' "
                    f"({rows[i][1]}) and '{alias}' ({supplier}) are one alias once case and "
                    "punctuation are ignored; give it once"
                )
            first[key] = len(rows)
            rows.append((alias, supplier))
            lines.append(number)
    for j, (alias, supplier) in enumerate(rows):
        i = first.get(vocab.key(supplier))
        if i is not None and rows[i][1] != supplier:
            kind = "a cycle" if vocab.key(rows[i][1]) == vocab.key(alias) else "a chain"
            raise BadFile(
                f"{path}: lines {lines[j]} and {lines[i]}: {kind}: '{alias}' -> {supplier} and "
                f"'{rows[i][0]}' -> {rows[i][1]}; aliases are applied once, so cases would pass "
                "between suppliers: point every alias at the final supplier_id"
            )
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


def add_value_map(
    con: duckdb.DuckDBPyConnection, values: dict[str, dict[str, str]], source: Path | None = None
) -> None:
    """Add a mapping file's value maps: ``temp.value_map(field, raw, key, replacement)``, in one
    statement (a values map may hold 100,000 entries). Raises :class:`BadFile` for a key that is
    a blank's marker (``N/A``, ``null``: a blank cell is never mapped) or two keys of one field
    with one lookup key; ``source`` (the mapping file) is named in the message."""
    source = source or "the mapping"
    con.execute(
        "CREATE OR REPLACE TEMP TABLE value_map(field VARCHAR, raw VARCHAR, key VARCHAR, "
        "replacement VARCHAR)"
    )
    if not any(values.values()):
        return
    fields = [f for f, vmap in values.items() for _ in vmap]
    raws = [raw for vmap in values.values() for raw in vmap]
    replacements = [new for vmap in values.values() for new in vmap.values()]
    con.execute(
        """
        INSERT INTO value_map
        SELECT field, raw, ta_key(raw), replacement
        FROM (SELECT unnest($fields) AS field, unnest($raws) AS raw,
                     unnest($replacements) AS replacement)
        """,
        {"fields": fields, "raws": raws, "replacements": replacements},
    )
    # (mapping.py refuses two keys of one column with one lookup key, by vocab.key, the Python
    # twin of ta_key; checked again here by the rule the join uses: a twin would double a row)
    twice = con.execute(
        "SELECT field, min(raw), max(raw) FROM value_map GROUP BY field, key "
        "HAVING count(*) > 1 ORDER BY field LIMIT 1"
    ).fetchone()
    if twice:
        raise BadFile(
            f"{source}: values.{twice[0]}: '{twice[1]}' and '{twice[2]}' are the same text once "
            "case and punctuation are ignored; give it once"
        )
    blank = con.execute(
        "SELECT field, raw FROM value_map WHERE ta_blank(raw) IS NULL ORDER BY field, raw LIMIT 1"
    ).fetchone()
    if blank:
        raise BadFile(
            f"{source}: values.{blank[0]}.{blank[1]}: '{blank[1]}' is how an export writes a blank "
            "(not recorded), and a blank is never mapped; remove it"
        )
