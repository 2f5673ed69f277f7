"""`ta-outcomes ingest`: clean intake files into the case store.

Layers, each a small step you can read on one screen:

1. raw      ``readers.read_raw``: the file as text columns (``raw_input``), plus records the reader
            could not split (rejects).
2. canonical ``_canonical_view``: every intake column present (missing optional ones as NULL), the
            mapping's value maps applied.
3. staged   ``sql/staged.sql``: blanks, amounts, dates, vocabularies parsed; every problem listed.
4. cases    ``sql/clean.sql``: repeats, conflicts, USD conversion, buyer keys, and the action per
            case against the store (inserted / updated / unchanged).

Each file is written in ONE transaction under the store's lock: all of it or none of it. The counts
always add up, and the load is refused (rolled back) if they do not:
``rows_read = inserted + updated + unchanged + repeats + quarantined``.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime as dt
import hashlib
import json
import re
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb

from analysis import __version__, settings, sqlfiles, store
from analysis import columns as registry
from analysis.errors import BadFile, BadParameter
from analysis.ingest import fx, personal, pseudonym, readers, reference
from analysis.ingest.mapping import Mapping


@dataclass
class LoadResult:
    """What one file did to the store (or why it was refused, in ``error``)."""

    source_file: str
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    repeats: int = 0
    quarantined: int = 0
    unmapped_categories: int = 0
    fx_fallbacks: int = 0
    load_id: int | None = None
    file_sha256: str | None = None
    file_format: str | None = None
    note: str = ""
    notices: list[str] = field(default_factory=list)
    error: str | None = None
    store: str | None = None
    #: the commonest reasons rows were quarantined for, with their counts
    top_reasons: list[tuple[str, int]] = field(default_factory=list)
    #: a folder's file whose content the store has loaded before: the earlier load (not read)
    seen_before: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def adds_up(self) -> bool:
        """rows_read = inserted + updated + unchanged + repeats + quarantined."""
        return self.rows_read == (
            self.inserted + self.updated + self.unchanged + self.repeats + self.quarantined
        )

    def as_dict(self) -> dict:
        return asdict(self)


def format_result(r: LoadResult) -> str:
    """One line per file, e.g. ``cases.csv: read 120 = inserted 100 + updated 5 + ...``."""
    if not r.ok:
        return f"FAILED {r.error}"
    if r.seen_before:
        return f"{r.source_file}: nothing new (the same content as {r.seen_before}; not read)"
    extra = []
    if r.unmapped_categories:
        extra.append(f"{r.unmapped_categories} with an unmapped category")
    if r.fx_fallbacks:
        extra.append(f"{r.fx_fallbacks} at the latest FX rate (after the shipped history)")
    extra.extend(r.notices)
    if r.top_reasons:
        extra.append(
            "quarantined for: " + "; ".join(f"{reason} ({n})" for reason, n in r.top_reasons)
        )
    tail = f" [{' | '.join(extra)}]" if extra else ""
    into = f" into {r.store}" if r.store else ""
    return (
        f"{r.source_file}: read {r.rows_read} = inserted {r.inserted} + updated {r.updated} "
        f"+ unchanged {r.unchanged} + repeats {r.repeats} + quarantined {r.quarantined} "
        f"(load {r.load_id}{into}){tail}"
    )


def expand_paths(paths: list[Path]) -> list[Path]:
    """Files to load, in order: files as given; a folder's supported files sorted by path."""
    return [path for path, _ in _expand(paths)]


def _expand(paths: list[Path]) -> list[tuple[Path, bool]]:
    """:func:`expand_paths`, each file with whether it was found in a folder."""
    out: list[tuple[Path, bool]] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(
                f
                for f in p.rglob("*")
                if f.is_file()
                and f.suffix.lower() in readers.SUPPORTED
                and not f.name.startswith(".")
            )
            if not found:
                raise BadFile(
                    f"{p}: the folder holds no .csv, .tsv, .xlsx, .json or .parquet files"
                )
            out.extend((f, True) for f in found)
        elif p.exists():
            out.append((p, False))
        else:
            raise BadFile(f"{p}: no such file or folder")
    return out


def ingest_paths(
    paths: list[Path],
    db: Path,
    mapping: Path | Mapping | None = None,
    synthetic: bool = False,
    today: dt.date | None = None,
    rekey: bool = False,
    on_result: Callable[[LoadResult], None] | None = None,
    as_of: dt.date | None = None,
    allow_mixed: bool = False,
) -> list[LoadResult]:
    """Load every file under ``paths`` into ``db``, in order; return one result per file.

    A bad file (:class:`BadFile`) is reported in its result and leaves the store as it was; the
    other files still load. A problem with the store itself (foreign, busy, a buyer key that is
    not the store's) stops the run with its own error: every later file would meet it too.
    ``rekey`` re-keys the buyers with the first file (``--rekey-buyers``); ``on_result`` is
    called with each result as soon as its file is done. Real (non-demo) files go into a store
    that holds synthetic demo cases only with ``allow_mixed`` (``--allow-mixed``).

    A folder loads only what is new: a file found in a folder whose content (SHA-256) the store
    has loaded before, under any name, is not read again; its result says which load it was
    (``seen_before``). A file given by name is always loaded (an unchanged one counts as
    unchanged).
    """
    mapping = mapping if isinstance(mapping, Mapping) else Mapping.load(mapping)
    results = []
    files = _expand(paths)
    loaded = _loaded_contents(db) if any(in_folder for _, in_folder in files) else {}
    for path, in_folder in files:
        sha = _sha256(path) if in_folder else None
        if sha is not None and sha in loaded:
            result = LoadResult(source_file=str(path), file_sha256=sha, seen_before=loaded[sha])
            results.append(result)
            if on_result is not None:
                on_result(result)
            continue
        try:
            result = ingest_file(
                path, db, mapping, synthetic=synthetic, today=today, rekey=rekey, as_of=as_of,
                allow_mixed=allow_mixed, file_sha=sha,
            )  # fmt: skip
            rekey = False
        except BadFile as exc:
            result = LoadResult(source_file=str(path), error=str(exc))
        if sha is not None and result.ok:  # a renamed copy later in the folder is nothing new
            loaded[result.file_sha256 or sha] = _described(result.source_file, result.load_id)
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results


def main(
    paths: list[Path],
    db: Path,
    mapping: Path | None = None,
    rekey: bool = False,
    as_of: dt.date | None = None,
    allow_mixed: bool = False,
) -> int:
    """CLI: load, print one line per file and a total; exit 1 if any file failed."""

    def show(r: LoadResult) -> None:
        print(format_result(r), file=sys.stdout if r.ok else sys.stderr, flush=True)

    if not Path(db).exists():
        # a mistyped --db must not pass unnoticed
        print(f"ta-outcomes ingest: creating a new store at {db}", file=sys.stderr, flush=True)
    results = ingest_paths(
        paths, db, mapping, rekey=rekey, on_result=show, as_of=as_of, allow_mixed=allow_mixed
    )
    good = [r for r in results if r.ok]
    seen = sum(1 for r in good if r.seen_before)
    if len(results) > 1:
        total = {
            k: sum(getattr(r, k) for r in good)
            for k in ("rows_read", "inserted", "updated", "unchanged", "repeats", "quarantined")
        }
        print(
            f"total over {len(good) - seen} file(s): read {total['rows_read']} = inserted {total['inserted']} "
            f"+ updated {total['updated']} + unchanged {total['unchanged']} + repeats "
            f"{total['repeats']} + quarantined {total['quarantined']}"
            + (f"; {seen} file(s) nothing new (not read)" if seen else "")
            + (f"; {len(results) - len(good)} file(s) FAILED" if len(good) < len(results) else "")
        )
    return 0 if len(good) == len(results) else 1


def _described(source_file: str, load_id: int | None, when: dt.datetime | None = None) -> str:
    on = f" on {when:%Y-%m-%d %H:%M}" if when else ""
    return f"{Path(source_file).name}, loaded{on} as load {load_id}"


def _loaded_contents(db: Path) -> dict[str, str]:
    """{file SHA-256: its latest load, described} of the files ``db`` has loaded (none for a
    store that does not exist yet, or a database that is not a store: the load refuses that)."""
    if not Path(db).exists():
        return {}
    try:
        with store.connect(db, read_only=True) as con:
            rows = con.execute(
                "SELECT file_sha256, arg_max(source_file, load_id), max(load_id), "
                "max(finished_at) FROM loads GROUP BY file_sha256"
            ).fetchall()
    except duckdb.Error:
        return {}
    return {sha: _described(source, load_id, when) for sha, source, load_id, when in rows}


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def prepare_connection(con: duckdb.DuckDBPyConnection, reference_dir: Path | None = None) -> None:
    """Temp macros, vocabularies and the list of known currencies on ``con``."""
    # Bounded memory: DuckDB spills to <db>.tmp/ beyond this, so 10M-row files stay within budget.
    con.execute("SET memory_limit = ?", [settings.memory_limit()])
    store.run_script(con, sqlfiles.sql("ingest", "macros.sql"))
    pseudonym.install(con)
    reference.load_reference(con, reference_dir)
    con.execute("CREATE OR REPLACE TEMP TABLE fx_known(code VARCHAR)")
    con.executemany("INSERT INTO fx_known VALUES (?)", [[c] for c in fx.known_currencies()])
    # the spellings of a yes/no cell (columns.YES, columns.NO), by lower-cased trimmed text
    con.execute("CREATE OR REPLACE TEMP TABLE yes_no(key VARCHAR, yes BOOLEAN)")
    con.executemany(
        "INSERT INTO yes_no VALUES (?, ?)",
        [[w, True] for w in registry.YES] + [[w, False] for w in registry.NO],
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE evidence_lookup AS
        SELECT map(list(key), list(slug)) AS evidence_map FROM ref_lookup WHERE field = 'evidence'
        """
    )


def _raw_column(raw: readers.RawFile, canonical_source: str) -> str | None:
    """The raw_input column of an export column (by its normalised header), or None."""
    for header, column in zip(raw.headers, raw.columns, strict=False):
        if readers.common.normalise(header) == canonical_source:
            return column
    return canonical_source if canonical_source in raw.columns else None


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _canonical_view(con: duckdb.DuckDBPyConnection, raw: readers.RawFile, mapping: Mapping) -> dict:
    """Create ``raw_canonical``: every intake column (from the file, a copy of another, a
    constant, or a fallback column where it is blank), value maps and supplier aliases applied,
    the export's other columns as one JSON ``extra``, plus a raw-row hash.

    Returns what the load records of the file: ``carried`` (the intake columns it gave),
    ``extra`` ({normalised name: header as written} of the columns kept in ``extra``), and what
    keeps a buyer's identity out of the store (:mod:`analysis.ingest.personal`): ``dropped``
    ({raw column: header as written} of the columns not kept because they name a person or a
    contact), ``masked`` (the raw columns stored with contact details masked: the kept extras
    and the sources of the masked intake columns) and ``buyer`` (the raw columns that fill
    ``buyer_ref``), for the quarantine's raw records.
    """
    present = set(raw.columns)
    intake = set(registry.intake_names())
    copies = mapping.copies()
    reference.add_value_map(con, mapping.values, mapping.source)
    # constants are values: they reach the view through a one-row table, never as SQL text
    constants = dict(mapping.constants)
    if mapping.currency and "currency" not in present:
        constants.setdefault("currency", mapping.currency)
    # evidence_flags: each yes/no column's evidence slug and its header, as values
    flags = [
        (_raw_column(raw, source), slug, mapping.named.get(source, source))
        for source, slug in mapping.evidence_flags.items()
    ]
    bound = dict(constants)
    for i, (_, slug, header) in enumerate(flags):
        bound[f"_flag_slug_{i}"], bound[f"_flag_header_{i}"] = slug, header
    con.execute(
        "CREATE OR REPLACE TEMP TABLE mapping_constants AS SELECT "  # noqa: S608 (identifiers only; values are bound)
        + (", ".join(f"?::VARCHAR AS {_quoted(c)}" for c in bound) or "NULL AS _none"),
        list(bound.values()),
    )
    fallback_sources = {
        target: _raw_column(raw, source) for target, source in mapping.fallbacks.items()
    }
    has_aliases = con.execute("SELECT count(*) > 0 FROM supplier_alias").fetchone()[0]
    selects, joins, carried, sources = [], [], [], {}
    for i, col in enumerate(registry.intake_names()):
        if col in constants:
            src = f"k.{_quoted(col)}"
        elif col in copies:
            src = f"r.{_quoted(copies[col])}"
        elif col in present:
            src = f"r.{_quoted(col)}"
        else:
            src = "NULL::VARCHAR"
        sources[col] = {copies[col] if col in copies else col} & present
        if fallback_sources.get(col):
            src = f"coalesce(ta_blank({src}), r.{_quoted(fallback_sources[col])})"
            sources[col].add(fallback_sources[col])
        if col == "evidence" and flags:
            src = _evidence_with_flags(src, flags, joins)
        if src != "NULL::VARCHAR":
            carried.append(col)
        # A blank cell (or a blank's marker: ta_blank) has no key, so it matches no value-map
        # key and no alias: it stays blank, to be quarantined as missing. (Every key has a
        # letter or digit and the keys of one column are unique: mapping.py, reference.py.)
        if col in mapping.values:
            joins.append(
                f"LEFT JOIN value_map vm{i} ON vm{i}.field = '{col}' "
                f"AND vm{i}.key = ta_key(ta_blank({src}))"
            )
            src = f"coalesce(vm{i}.replacement, {src})"
        if col == "supplier_id" and has_aliases:
            # data/reference/supplier_aliases.csv: several spellings of one supplier (the
            # lookup key is a regex per row: skipped when the file lists no alias)
            joins.append(f"LEFT JOIN supplier_alias sa ON sa.key = ta_key(ta_blank({src}))")
            src = f"coalesce(sa.supplier_id, {src})"
        selects.append(f"{src} AS {_quoted(col)}")
    used = set(fallback_sources.values()) | {column for column, _, _ in flags}
    headers = dict(zip(raw.columns, raw.headers or raw.columns, strict=False))
    extra = {c: str(headers.get(c, c)) for c in raw.columns if c not in intake and c not in used}
    # a column naming a person or a contact is not kept; what is kept has contact details masked
    dropped = {c: h for c, h in extra.items() if personal.names_a_person_or_contact(h)}
    extra = {c: h for c, h in extra.items() if c not in dropped}
    # the JSON object's keys in name order, not the file's: the same columns in another order
    # are the same case (extra is in the content hash); schema migration "4" sorts older stores'
    kept = sorted(extra)
    masked = set(extra).union(*(sources[c.name] for c in registry.INTAKE if c.masked))
    _contact_masks(con, masked, mapping)
    mask, mask_joins = _mask_joins(con, kept)
    extra_sql = (
        "to_json(struct_pack("
        + ", ".join(f"{_quoted(c)} := coalesce({mask[c]}, r.{_quoted(c)})" for c in kept)
        + "))::VARCHAR"
        if extra
        else "NULL::VARCHAR"
    )
    joins += mask_joins
    # Identifiers here come from the column registry and the file's sanitised names;
    # values never enter the SQL text.
    all_raw = ", ".join(f"r.{_quoted(c)}" for c in raw.columns) or "NULL"
    con.execute(
        "CREATE OR REPLACE TEMP VIEW raw_canonical AS SELECT r._row, "  # noqa: S608 (identifiers only; values are bound)
        f"hash({all_raw}) AS _raw_hash, {', '.join(selects)}, {extra_sql} AS extra, "
        f"{_flag_problem_sql(flags)} AS _flag_problem "
        f"FROM raw_input r CROSS JOIN mapping_constants k {' '.join(joins)}"
    )
    return {
        "carried": carried,
        "extra": extra,
        "dropped": dropped,
        "masked": sorted(masked),
        "buyer": sorted(sources["buyer_ref"]),
    }


def _mask_joins(
    con: duckdb.DuckDBPyConnection, columns: list[str]
) -> tuple[dict[str, str], list[str]]:
    """For each raw column of ``columns`` (of ``raw_input r``), the SQL of its text's mask in
    ``contact_masks`` (NULL where it has none), and the joins that SQL needs: ``contact_masks``
    is joined only for the columns that have a text in it; a column without one takes
    ``NULL::VARCHAR``, what its join would give every row. A join per column cost DuckDB's
    planner cubic time in the columns: with 300 extra columns each query over
    ``raw_canonical`` planned for 24 s (a load of five records took 5 minutes)."""
    mask: dict[str, str] = {}
    joins: list[str] = []
    if not columns:
        return mask, joins
    parts = " UNION ALL ".join(
        f"SELECT {i} AS col, {_quoted(c)} AS text FROM raw_input"  # noqa: S608 (identifiers only)
        for i, c in enumerate(columns)
    )
    having = {
        i
        for (i,) in con.execute(
            f"SELECT DISTINCT col FROM ({parts}) t WHERE text IN (SELECT text FROM contact_masks)"  # noqa: S608 (identifiers only)
        ).fetchall()
    }
    for i, c in enumerate(columns):
        if i in having:
            mask[c] = f"m{i}.masked"
            joins.append(f"LEFT JOIN contact_masks m{i} ON m{i}.text = r.{_quoted(c)}")
        else:
            mask[c] = "NULL::VARCHAR"
    return mask, joins


def _contact_masks(con: duckdb.DuckDBPyConnection, columns: set[str], mapping: Mapping) -> None:
    """Create ``contact_masks(text, masked)``: each distinct text of the raw ``columns`` (and
    each constant or value-map replacement of a masked intake column) that may hold an e-mail
    address or a phone number, with them masked (``ta_mask_contacts``). A text absent from it
    holds none. Masking distinct candidates only, gathered first, keeps the macro's lambdas off
    the batches of rows that need nothing (most texts): 0.4 s instead of 3 s per million texts
    of which 2% hold a phone number."""
    masked_intake = [c.name for c in registry.INTAKE if c.masked]
    literals = [mapping.constants[c] for c in masked_intake if c in mapping.constants]
    literals += [v for c in masked_intake for v in mapping.values.get(c, {}).values()]
    parts = [f"SELECT {_quoted(c)} AS text FROM raw_input" for c in sorted(columns)]  # noqa: S608 (identifiers only)
    parts.append("SELECT unnest(?::VARCHAR[]) AS text")
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE contact_masks AS
        WITH candidates AS (
            -- a text as in the file, and trimmed (as a fallback column's value reaches the view)
            SELECT DISTINCT unnest([text, ta_blank(text)]) AS text
            FROM ({" UNION ALL ".join(parts)}) t
            WHERE ta_may_hold_contacts(text)
        )
        SELECT text, ta_mask_contacts(text) AS masked FROM candidates
        """,  # noqa: S608 (identifiers only; values are bound)
        [literals],
    )


def _evidence_with_flags(src: str, flags: list, joins: list[str]) -> str:
    """The evidence text with the slug of each evidence flag that says yes added to it (the
    staging splits it on ';'); adds each flag's yes/no lookup to ``joins``."""
    parts = [f"ta_blank({src})"] if src != "NULL::VARCHAR" else []
    for i, (column, _, _) in enumerate(flags):
        joins.append(f"LEFT JOIN yes_no yf{i} ON yf{i}.key = lower(trim(r.{_quoted(column)}))")
        parts.append(f"CASE WHEN yf{i}.yes THEN k.{_quoted(f'_flag_slug_{i}')} END")
    return f"nullif(concat_ws('; ', {', '.join(parts)}), '')"


def _flag_problem_sql(flags: list) -> str:
    """SQL of the problem of an evidence flag's cell that is neither a yes nor a no (NULL when
    none is; the staging quarantines the row for it)."""
    if not flags:
        return "NULL::VARCHAR"
    cases = [
        f"CASE WHEN ta_blank(r.{_quoted(column)}) IS NOT NULL AND yf{i}.yes IS NULL THEN "
        f"'evidence: ''' || k.{_quoted(f'_flag_header_{i}')} || ''' not a yes or no ''' "
        f"|| left(ta_blank(r.{_quoted(column)}), 60) || '''' END"
        for i, (column, _, _) in enumerate(flags)
    ]
    return f"nullif(concat_ws('; ', {', '.join(cases)}), '')"


def _date_orders(con: duckdb.DuckDBPyConnection, mapping: Mapping) -> list[str]:
    """Create ``date_orders(field, dayfirst)``: for each date column whose numeric d/m/y dates
    show one order (a value above 12 in one place, none in the other), that order for the whole
    column. Returns what the load line says about it."""
    con.execute("CREATE OR REPLACE TEMP TABLE date_orders(field VARCHAR, dayfirst BOOLEAN)")
    if mapping.date_format:
        return []
    parts = " UNION ALL ".join(
        f"SELECT '{d}' AS field, {_quoted(d)} AS x FROM raw_canonical"  # noqa: S608 (identifiers only)
        for d in registry.intake_names("date")
    )
    rows = con.execute(
        rf"""
        WITH texts AS (
            -- distinct texts first: trimming and matching run once per text, not per row
            SELECT DISTINCT field, x FROM ({parts}) t WHERE x IS NOT NULL
        ), v AS (
            -- (a two-digit year written out, as ta_date reads it)
            SELECT DISTINCT field, ta_date_text(trim(x)) AS x FROM texts
            WHERE regexp_full_match(ta_date_text(trim(x)), '\d{{1,2}}[/.-]\d{{1,2}}[/.-]\d{{4}}')
        ), p AS (
            SELECT field, regexp_extract(x, '^(\d{{1,2}})', 1)::INT AS a,
                   regexp_extract(x, '^\d{{1,2}}[/.-](\d{{1,2}})', 1)::INT AS b FROM v
        )
        SELECT field, count_if(a > 12 AND b <= 12) AS day_first, count_if(b > 12 AND a <= 12)
            AS month_first, count_if(a <= 12 AND b <= 12 AND a <> b) AS ambiguous
        FROM p GROUP BY field ORDER BY field
        """  # noqa: S608 (identifiers only; values are bound)
    ).fetchall()
    notices = []
    for field_name, day_first, month_first, ambiguous in rows:
        if day_first and month_first:
            notices.append(
                f"{field_name}: both day/month orders occur ({day_first} with the day first, "
                f"{month_first} with the month first); its {ambiguous} ambiguous date text(s) are "
                "quarantined: declare date_format in a --mapping file"
            )
        elif (day_first or month_first) and ambiguous:
            dayfirst = bool(day_first)
            con.execute("INSERT INTO date_orders VALUES (?, ?)", [field_name, dayfirst])
            order = "day/month" if dayfirst else "month/day"
            notices.append(
                f"{field_name}: numeric dates read as {order} (the column shows it: "
                f"{day_first or month_first} date text(s) possible only that way, none the other)"
            )
    return notices


def _field_coverage(con: duckdb.DuckDBPyConnection, carried: list[str]) -> dict[str, int]:
    """{intake field: rows with a value} of the fields the file carried, every record counted
    (``staged`` has one row per record; its ``_present`` bit i says intake column i had a value
    after ta_blank)."""
    if not carried:
        return {}
    position = {name: i for i, name in enumerate(registry.intake_names())}
    select = ", ".join(f"count_if((_present >> {position[c]}) & 1 = 1)" for c in carried)
    counts = con.execute(f"SELECT {select} FROM staged").fetchone()  # noqa: S608 (fixed SQL: bit positions from the registry)
    return dict(zip(carried, (int(n) for n in counts), strict=True))


def _vocab_defaults(con: duckdb.DuckDBPyConnection, mapping: Mapping) -> None:
    """``vocab_defaults(field, slug)``: the mapping's defaults, by vocabulary."""
    con.execute("CREATE OR REPLACE TEMP TABLE vocab_defaults(field VARCHAR, slug VARCHAR)")
    vocabulary = {c.name: c.vocabulary for c in registry.intake("vocab")}
    rows = [[vocabulary[col], slug] for col, slug in mapping.defaults.items()]
    if rows:
        con.executemany("INSERT INTO vocab_defaults VALUES (?, ?)", rows)


def _check_columns(path: Path, raw: readers.RawFile, mapping: Mapping) -> None:
    error = readers.missing_columns_error(path, raw.columns, mapping)
    if error is not None:
        raise error
    if raw.rows_read == 0:
        raise BadFile(f"{path}: no data rows (the file has a header only)")


def ingest_file(
    path: Path,
    db: Path,
    mapping: Mapping | None = None,
    synthetic: bool = False,
    today: dt.date | None = None,
    reference_dir: Path | None = None,
    rekey: bool = False,
    as_of: dt.date | None = None,
    allow_mixed: bool = False,
    file_sha: str | None = None,
) -> LoadResult:
    """Load one file into ``db`` in one transaction. Raises :class:`BadFile` for an unusable file
    (the store is then untouched); ``rekey``: see :func:`analysis.ingest.pseudonym.check`;
    ``as_of``: the day the export describes, which time to resolution censors open cases at
    (default: the mapping's ``export_date``, else a date in the file's name, else today);
    ``file_sha``: the file's SHA-256, when the caller has computed it."""
    mapping = mapping or Mapping()
    path = Path(path)
    today = today or dt.date.today()
    as_of, dated_by = _export_date(path, mapping, as_of, today)
    if as_of is not None:
        earliest = dt.date.fromisoformat(registry.EARLIEST_DATE)
        if as_of < earliest:
            # the store holds no date before it (loads.as_of included): a mistyped year
            raise BadParameter(
                f"--as-of {as_of.isoformat()} is before {earliest.isoformat()}, the earliest "
                "date the store takes"
            )
        today = as_of  # nothing in an export of that day can have been opened after it
    readers.detect_format(path)
    if not path.is_file():
        raise BadFile(f"{path}: not a readable file")
    db = Path(db)
    new_store = not db.exists()
    new_key = not pseudonym.key_path(db).exists()
    try:
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            # hashing runs beside the read (hashlib releases the GIL), unless the folder's
            # check for content loaded before has hashed the file already
            sha_future = pool.submit(_sha256, path) if file_sha is None else None
            started = dt.datetime.now()
            with store.connect(db, read_only=False) as con:
                if not synthetic and not allow_mixed:
                    _refuse_mixing(con, db)
                key = pseudonym.check(con, db, rekey=rekey)
                prepare_connection(con, reference_dir)
                raw = readers.read_raw(con, path, mapping)
                mapping.check_against(path, raw.headers or raw.columns)
                _check_columns(path, raw, mapping)
                view = _canonical_view(con, raw, mapping)
                if view["dropped"]:
                    raw.notices.append(
                        "not kept, as naming a person or a contact: "
                        + ", ".join(view["dropped"].values())
                    )
                raw.notices.extend(_date_orders(con, mapping))
                if dated_by:
                    raw.notices.append(f"as of {as_of.isoformat()} ({dated_by})")
                _vocab_defaults(con, mapping)
                store.run_script(
                    con,
                    sqlfiles.sql("ingest", "staged.sql"),
                    {
                        "date_format": mapping.date_format,
                        "default_currency": mapping.currency,
                        "today": today,
                        "secret": key.secret,
                        "synthetic": synthetic,
                    },
                )
                view["coverage"] = _field_coverage(con, view["carried"])
                fx.create_rate_table(
                    con,
                    "SELECT DISTINCT currency, opened_date AS rate_date FROM staged "
                    "WHERE len(problems) = 0 AND currency IS NOT NULL",
                )
                file_sha = file_sha or sha_future.result()
                # loads.as_of: the export's own date, NULL when nothing gives it (the day of the
                # load is then no date of the data: analysis.metrics.provenance.as_of)
                result = _write(
                    con, path, raw, mapping, file_sha, key, started, synthetic, as_of, view
                )
                result.store = str(db)
                return result
    except BaseException:
        if new_store:
            # A store that this refused file would have created is not left behind, empty (nor
            # the buyer key made for it).
            leftovers = [db, Path(f"{db}.wal")] + ([pseudonym.key_path(db)] if new_key else [])
            for leftover in leftovers:
                leftover.unlink(missing_ok=True)
        raise


#: A date in a file's name (tracker_2026-11-30.csv, export 2026.11.30.xlsx): the export's date.
_NAME_DATE = re.compile(r"(?<!\d)(20\d\d)[-_.](\d\d)[-_.](\d\d)(?!\d)")


def _export_date(
    path: Path, mapping: Mapping, given: dt.date | None, today: dt.date
) -> tuple[dt.date | None, str]:
    """(the day the export describes, where that came from when not from ``--as-of``): the
    ``--as-of`` given, else the mapping's ``export_date``, else the last date in the file's
    name that is a real day not after today, else (None, '') for the day of the load."""
    if given is not None:
        if given > today:
            raise BadParameter(f"--as-of {given.isoformat()} is after today ({today.isoformat()})")
        return given, ""
    if mapping.export_date is not None:
        if mapping.export_date > today:
            raise BadParameter(
                f"{mapping.source}: export_date {mapping.export_date.isoformat()} is after today "
                f"({today.isoformat()})"
            )
        return mapping.export_date, "export_date in the mapping"
    for match in reversed(list(_NAME_DATE.finditer(path.name))):
        try:
            day = dt.date(*(int(g) for g in match.groups()))
        except ValueError:
            continue
        if day <= today:
            return day, "the date in the file's name"
    return None, ""


def _refuse_mixing(con, db: Path) -> None:
    """A store holding demo cases takes no real exports: a report would call them synthetic."""
    from analysis.store.schema import meta

    try:
        synthetic = meta(con).get("contains_synthetic") == "true"
    except duckdb.Error:  # a new, empty database: nothing to mix with
        return
    if synthetic:
        raise BadParameter(
            f"{db} holds the synthetic demo cases; loading real exports into it would mix them "
            "(and label them synthetic). Use another --db, or `make clean-demo` first; "
            "--allow-mixed loads them anyway"
        )


def _top_reasons(con, raw, limit: int = 3) -> list[tuple[str, int]]:
    """The commonest kinds of problem among the quarantined rows (values left out)."""
    rows = con.execute(
        r"""
        WITH p AS (
            SELECT regexp_replace(regexp_replace(unnest(problems), ' ''[^'']*''$', ''),
                                  ' \(.*\)$', '') AS kind
            FROM rejected
        )
        SELECT kind, count(*) AS n FROM p GROUP BY kind
        """
    ).fetchall()
    counts = dict(rows)
    for reject in raw.rejects:
        kind = reject.reason.split(" (")[0]
        counts[kind] = counts.get(kind, 0) + 1
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]


def _write(con, path, raw, mapping, file_sha, key, started, synthetic, as_of, view) -> LoadResult:
    source = str(path.resolve())
    now = dt.datetime.now()
    # The work tables (temp, so the store is not touched) are built before the transaction, under
    # the store's lock; the raw records the write no longer needs are dropped first, so that at
    # 10M rows their gigabytes are not held (or spilled to <db>.tmp) while the cases are inserted
    # (from staged, through the view case_rows).
    _release_raw_rows(con)
    store.run_script(con, sqlfiles.sql("ingest", "clean.sql"), {"now": now})
    staged_rows = con.execute("SELECT count(*) FROM staged").fetchone()[0]
    con.execute("BEGIN TRANSACTION")
    try:
        # first: a re-key clears the old keys before this load writes new ones
        pseudonym.apply(con, key)
        load_id = con.execute("SELECT nextval('load_id_seq')").fetchone()[0]
        counts = con.execute(
            """
            SELECT
                ?,
                (SELECT count(*) FILTER (WHERE action = 'inserted') FROM actions),
                (SELECT count(*) FILTER (WHERE action = 'updated') FROM actions),
                (SELECT count(*) FILTER (WHERE action = 'unchanged') FROM actions),
                (SELECT count(*) FROM rejected),
                (SELECT count(*) FILTER (WHERE NOT category_mapped) FROM actions WHERE action <> 'unchanged'),
                (SELECT count(*) FILTER (WHERE fx_fallback) FROM actions WHERE action <> 'unchanged')
            """,
            [staged_rows],
        ).fetchone()
        staged_rows, inserted, updated, unchanged, rejected_rows, unmapped, fallbacks = counts
        quarantined = rejected_rows + len(raw.rejects)
        repeats = staged_rows - inserted - updated - unchanged - rejected_rows
        result = LoadResult(
            source_file=source,
            rows_read=raw.rows_read,
            inserted=inserted,
            updated=updated,
            unchanged=unchanged,
            repeats=repeats,
            quarantined=quarantined,
            unmapped_categories=unmapped,
            fx_fallbacks=fallbacks,
            load_id=load_id,
            file_sha256=file_sha,
            file_format=raw.file_format,
            note=raw.note,
            notices=list(raw.notices),
            top_reasons=_top_reasons(con, raw),
        )
        if not result.adds_up() or repeats < 0:
            raise RuntimeError(f"internal error: counts do not add up for {path}: {result}")
        _write_quarantine(con, raw, load_id, source, file_sha, key.secret, now, view)
        # the columns of `cases` the cleaning gives (the rest is provenance set by the load)
        cols = ", ".join(registry.case_names("staged", "fx", "usd"))
        touched = _touched_suppliers(con)
        con.execute(
            "DELETE FROM cases WHERE case_id IN (SELECT case_id FROM actions WHERE action = 'updated')"
        )
        con.execute(
            f"""
            INSERT INTO cases ({cols}, is_synthetic, content_hash, source_file, source_row, load_id,
                               first_loaded_at, updated_at)
            SELECT {cols}, ?, content_hash, ?, _row, ?, first_loaded_at, ?
            FROM case_rows WHERE action IN ('inserted', 'updated')
            -- stored in the order the reports filter on, so that DuckDB's per-row-group min/max
            -- of closed_date and opened_date skip the row groups outside a report's window
            -- (docs/performance.md); later loads append later cases, which keeps the order.
            -- Cases with the same dates keep the file's order (_row): the stored order must not
            -- depend on how the rows reached the sort (an arg_max over tied dates reads it)
            ORDER BY closed_date NULLS LAST, opened_date, _row
            """,  # noqa: S608 (identifiers only; values are bound)
            [synthetic, source, load_id, now],
        )
        if touched:
            _name_suppliers(con)
        con.execute(
            """
            INSERT INTO loads BY NAME SELECT $load_id AS load_id, $source AS source_file,
                $sha AS file_sha256, $bytes AS file_bytes, $fmt AS file_format,
                $mapping AS mapping_file, $started AS started_at, $finished AS finished_at,
                $read AS rows_read, $inserted AS inserted, $updated AS updated,
                $unchanged AS unchanged, $repeats AS repeats, $quarantined AS quarantined,
                $unmapped AS unmapped_categories, $fallbacks AS fx_fallbacks,
                $version AS tool_version, $as_of AS as_of, $coverage AS field_coverage,
                $extra AS extra_columns
            """,
            {
                "load_id": load_id,
                "source": source,
                "sha": file_sha,
                "bytes": path.stat().st_size,
                "fmt": raw.file_format,
                "mapping": str(mapping.source) if mapping.source else None,
                "started": started,
                "finished": dt.datetime.now(),
                "read": result.rows_read,
                "inserted": inserted,
                "updated": updated,
                "unchanged": unchanged,
                "repeats": repeats,
                "quarantined": quarantined,
                "unmapped": unmapped,
                "fallbacks": fallbacks,
                "version": __version__,
                "as_of": as_of,
                "coverage": json.dumps(view["coverage"]),
                "extra": json.dumps(view["extra"]) if view["extra"] else None,
            },
        )
        marker = "contains_synthetic" if synthetic else "contains_real_data"
        con.execute(
            "INSERT INTO store_meta VALUES (?, 'true') ON CONFLICT (key) DO UPDATE SET value = 'true'",
            [marker],
        )
        con.execute("COMMIT")
    except BaseException:
        # A failed statement (a full disk) may already have ended the transaction: the
        # ROLLBACK's own error must never hide the one that matters.
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        raise
    return result


def _touched_suppliers(con) -> int:
    """``touched_suppliers``: the suppliers whose one name (``suppliers.name``) this load may
    change: those of the cases it writes, those its updated cases had, and those whose name in
    supplier_aliases.csv differs from the stored one. Returns how many."""
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE touched_suppliers AS
        SELECT supplier_id FROM case_rows WHERE action IN ('inserted', 'updated')
        UNION SELECT c.supplier_id FROM cases c JOIN actions a USING (case_id)
            WHERE a.action = 'updated'
        UNION SELECT r.supplier_id FROM supplier_name_ref r LEFT JOIN suppliers s USING (supplier_id)
            WHERE s.name IS DISTINCT FROM r.name
        """
    )
    return con.execute("SELECT count(*) FROM touched_suppliers").fetchone()[0]


def _name_suppliers(con) -> None:
    """Set ``suppliers.name`` of the touched suppliers: the alias file's name, else the name on
    the supplier's latest case (:data:`analysis.store.schema.LATEST_NAME`)."""
    from analysis.store.schema import LATEST_NAME

    con.execute(
        "DELETE FROM suppliers WHERE supplier_id IN (SELECT supplier_id FROM touched_suppliers)"
    )
    con.execute(
        f"""
        INSERT INTO suppliers
        SELECT supplier_id, coalesce(any_value(r.name), {LATEST_NAME}) AS name
        FROM cases LEFT JOIN supplier_name_ref r USING (supplier_id)
        WHERE supplier_id IN (SELECT supplier_id FROM touched_suppliers)
        GROUP BY supplier_id
        """  # noqa: S608 (fixed text)
    )


def _release_raw_rows(con) -> None:
    """Keep of ``raw_input`` only the rows that may be quarantined (a problem, or a case_id seen
    twice: a conflict), for their raw record; the rest are parsed into ``staged`` by now."""
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE raw_kept AS
        SELECT r.* FROM raw_input r SEMI JOIN (
            SELECT _row FROM staged WHERE len(problems) > 0
            UNION ALL
            SELECT _row FROM staged WHERE case_id IN (
                SELECT case_id FROM staged GROUP BY case_id HAVING count(*) > 1)
        ) k ON k._row = r._row
        """
    )
    con.execute("DROP TABLE raw_input")
    con.execute("ALTER TABLE raw_kept RENAME TO raw_input")


def _write_quarantine(con, raw, load_id, source, file_sha, secret, now, view) -> None:
    """Quarantine rows (keyed by file content and row: reloading a file adds none twice).

    A raw record keeps of a buyer's identity what the case keeps: each column that fills
    ``buyer_ref`` is replaced by its key, the columns naming a person or a contact are left out,
    and contact details are masked in the columns a case stores masked (``view``: see
    :func:`_canonical_view`)."""
    buyer = [c for c in view["buyer"] if c in raw.columns]
    masked = [c for c in view["masked"] if c in raw.columns and c not in buyer]
    replaced = [
        f"'buyer_key:' || ta_buyer_key($secret, r.{_quoted(c)}) AS {_quoted(c)}" for c in buyer
    ]
    mask, mask_joins = _mask_joins(con, masked)
    replaced += [f"coalesce({mask[c]}, r.{_quoted(c)}) AS {_quoted(c)}" for c in masked]
    masks = " ".join(mask_joins)
    excluded = ", ".join(["_row", *map(_quoted, view["dropped"])])
    replace = f"REPLACE ({', '.join(replaced)})" if replaced else ""
    con.execute(
        f"""
        INSERT INTO quarantine
        SELECT $load_id, $source, $sha, j._row, j.case_id, j.reason, to_json(t)::VARCHAR, $now
        FROM rejected j
        JOIN (SELECT r._row AS __row, r.* EXCLUDE ({excluded}) {replace} FROM raw_input r {masks}) t
            ON t.__row = j._row
        WHERE NOT EXISTS (SELECT 1 FROM quarantine q WHERE q.file_sha256 = $sha AND q.row_number = j._row)
        """,  # noqa: S608 (identifiers only; values are bound)
        {
            "load_id": load_id,
            "source": source,
            "sha": file_sha,
            "now": now,
            **({"secret": secret} if buyer else {}),
        },
    )
    if raw.rejects:
        cleaned = _clean_rejected_lines(con, raw, view, buyer, secret)
        for r, text in zip(raw.rejects, cleaned, strict=True):
            r.raw_text = text
        con.executemany(
            """
            INSERT INTO quarantine
            SELECT ?, ?, ?, ?, ?, ?, to_json({'raw_line': ?})::VARCHAR, ?
            WHERE NOT EXISTS (SELECT 1 FROM quarantine q WHERE q.file_sha256 = ? AND q.row_number = ?)
            """,
            [
                [
                    load_id,
                    source,
                    file_sha,
                    r.row_number,
                    r.case_id,
                    r.reason,
                    r.raw_text,
                    now,
                    file_sha,
                    r.row_number,
                ]
                for r in raw.rejects
            ],
        )


#: What a reader-rejected line shows instead of what it must not.
WITHHELD = "[raw text withheld: the line cannot be split and may hold a buyer's identity]"
NOT_KEPT = "[not kept]"


def _clean_rejected_lines(con, raw, view, buyer: list[str], secret: str) -> list[str]:
    """The reader-rejected lines with the buyer's identity taken out: each buyer field replaced
    by its key, each field of a column naming a person or a contact by ``[not kept]``, contact
    details masked in every other field (the line's fields may be shifted: any may hold them).

    A line that cannot be split reliably is masked whole, or withheld when the file has a buyer
    column or a person's column: a name cannot be recognised in text. So is a line with more or
    fewer fields than the header when the file has a person's column: its names may have moved.
    """
    import csv

    index = {c: i for i, c in enumerate(raw.columns)}
    buyer_at = {index[c] for c in buyer}
    dropped_at = {index[c] for c in view["dropped"] if c in index}
    split: list[list[str] | None] = []
    for r in raw.rejects:
        try:
            rows = list(csv.reader([r.raw_text], delimiter=raw.delimiter, strict=True))
        except csv.Error:
            rows = []
        fields = rows[0] if len(rows) == 1 else None
        if fields is not None and buyer_at and len(fields) <= max(buyer_at):
            fields = None
        if fields is not None and dropped_at and len(fields) != len(raw.columns):
            fields = None
        split.append(fields)
    # every text to mask, in one set-based pass: whole lines, or each field but the buyer's
    texts = []
    for r, fields in zip(raw.rejects, split, strict=True):
        if fields is None:
            texts.append(None if buyer_at or dropped_at else r.raw_text)
        else:
            texts.extend(f for i, f in enumerate(fields) if i not in buyer_at | dropped_at)
    masked = iter(
        con.execute("SELECT list_transform(?::VARCHAR[], lambda x: ta_mask_contacts(x))", [texts])
        .fetchone()[0]
    )  # fmt: skip
    refs = [f[i] for f in split if f is not None for i in sorted(buyer_at)]
    keyed = iter(pseudonym.keys(con, secret, refs))
    out = []
    for fields in split:
        if fields is None:
            text = next(masked)
            out.append(WITHHELD if text is None else text)
            continue
        for i in range(len(fields)):
            if i in buyer_at:
                key = next(keyed)
                fields[i] = fields[i] if key is None else "buyer_key:" + key
            elif i in dropped_at:
                fields[i] = NOT_KEPT
            else:
                fields[i] = next(masked)
        out.append(raw.delimiter.join(fields))
    return out
