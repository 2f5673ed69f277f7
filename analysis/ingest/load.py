"""`ta-outcomes ingest`: clean intake files into the case store.

Layers, each a small step you can read on one screen:

1. raw      ``readers.read_raw``: the file as text columns (``raw_input``), plus records the reader
            could not split (rejects).
2. canonical ``sql/canonical.sql``: every intake column present (missing optional ones as NULL),
            the mapping's value maps applied (rendered with the file's plan: _canonical_view).
3. staged   ``sql/staged.sql``: blanks, amounts, dates, vocabularies parsed; every problem listed.
4. cases    ``sql/clean.sql``: repeats, conflicts, USD conversion, buyer keys, and the action per
            case against the store (inserted / updated / unchanged); ``sql/write.sql`` and
            ``sql/record.sql`` write them, the quarantine and the load's row.

Each file is written in ONE transaction under the store's lock: all of it or none of it. The counts
always add up, and the load is refused (rolled back) if they do not:
``rows_read = inserted + updated + unchanged + repeats + quarantined``.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime as dt
import functools
import hashlib
import json
import random
import re
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb

from analysis import __version__, settings, sqlfiles, store
from analysis import columns as registry
from analysis.errors import BadFile, BadParameter
from analysis.ingest import fx, personal, pseudonym, readers, reference
from analysis.ingest.mapping import Mapping
from analysis.store import lake
from analysis.store.schema import LATEST_NAME


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

    if not store.is_lake(db) and not Path(db).exists():
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
    if not store.is_lake(db) and not Path(db).exists():
        return {}
    try:
        with store.connect(db, read_only=True) as con:
            rows = con.execute(
                "SELECT file_sha256, arg_max(source_file, load_id), max(load_id), "
                "max(finished_at) FROM loads GROUP BY file_sha256"
            ).fetchall()
    except (duckdb.Error, store.StoreMissing):  # (a lake without a store yet)
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


def _canonical_view(con: duckdb.DuckDBPyConnection, raw: readers.RawFile, mapping: Mapping) -> dict:
    """Create ``raw_canonical`` (``sql/canonical.sql``): every intake column (from the file, a
    copy of another, a constant, or a fallback column where it is blank), value maps and supplier
    aliases applied, the export's other columns as one JSON ``extra``, plus a raw-row hash.

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
    # constants are values: bound, in the order of mapping_constants' columns
    constants = dict(mapping.constants)
    if mapping.currency and "currency" not in present:
        constants.setdefault("currency", mapping.currency)
    # evidence_flags: each yes/no column, with its evidence slug and its header bound as values
    flags = [_raw_column(raw, source) for source in mapping.evidence_flags]
    bound = dict(constants)
    for i, (source, slug) in enumerate(mapping.evidence_flags.items()):
        bound[f"_flag_slug_{i}"], bound[f"_flag_header_{i}"] = (
            slug,
            mapping.named.get(source, source),
        )
    fallbacks = {target: _raw_column(raw, source) for target, source in mapping.fallbacks.items()}
    has_aliases = con.execute("SELECT count(*) > 0 FROM supplier_alias").fetchone()[0]
    columns, carried, sources = [], [], {}
    for col in registry.intake_names():
        # a constant wins over the file; a copy reads its source column
        given = None if col in constants else copies.get(col, col if col in present else None)
        sources[col] = {copies.get(col, col)} & present
        if fallbacks.get(col):
            sources[col].add(fallbacks[col])
        if col in constants or given or fallbacks.get(col) or (col == "evidence" and flags):
            carried.append(col)
        columns.append(
            {
                "name": col,
                "constant": col in constants,
                "raw": given,
                "fallback": fallbacks.get(col),
                "value_map": col in mapping.values,
                "alias": col == "supplier_id" and has_aliases,
            }
        )
    used = set(fallbacks.values()) | set(flags)
    headers = dict(zip(raw.columns, raw.headers or raw.columns, strict=False))
    extra = {c: str(headers.get(c, c)) for c in raw.columns if c not in intake and c not in used}
    # a column naming a person or a contact is not kept; what is kept has contact details masked
    dropped = {c: h for c, h in extra.items() if personal.names_a_person_or_contact(h)}
    extra = {c: h for c, h in extra.items() if c not in dropped}
    masked = set(extra).union(*(sources[c.name] for c in registry.INTAKE if c.masked))
    contacts = _contact_masks(con, sorted(masked), mapping)
    store.run_script(
        con,
        sqlfiles.render(
            "ingest",
            "canonical.sql",
            columns=columns,
            constants=list(bound),
            flags=flags,
            extra=sorted(extra),
            raw_columns=list(raw.columns),
            # a mask lookup only for the kept columns with a text that may hold contact
            # details: a column with none is kept as it is (its lookup could only miss), and an
            # export of 300 extra columns does not make 300 joins (DuckDB 1.5 runs out of
            # memory planning them)
            looked_up=[c for c in sorted(extra) if c in contacts],
        ),
        {f"k{i}": value for i, value in enumerate(bound.values())},
    )
    return {
        "carried": carried,
        "extra": extra,
        "dropped": dropped,
        "masked": sorted(masked),
        "contacts": sorted(contacts),
        "buyer": sorted(sources["buyer_ref"]),
    }


def _contact_masks(
    con: duckdb.DuckDBPyConnection, columns: list[str], mapping: Mapping
) -> set[str]:
    """Create ``contact_masks(text, masked)`` (``contacts.sql``) over the raw ``columns`` and the
    constants and value-map replacements of the masked intake columns; return the raw columns
    with at least one text that may hold contact details (the only ones whose texts a lookup in
    ``contact_masks`` can change)."""
    masked_intake = [c.name for c in registry.INTAKE if c.masked]
    literals = [mapping.constants[c] for c in masked_intake if c in mapping.constants]
    literals += [v for c in masked_intake for v in mapping.values.get(c, {}).values()]
    store.run_script(
        con, sqlfiles.render("ingest", "contacts.sql", mask_columns=columns), {"literals": literals}
    )
    found = con.execute(
        "SELECT DISTINCT col FROM contact_candidates WHERE col IS NOT NULL"
    ).fetchall()
    con.execute("DROP TABLE contact_candidates")
    return {columns[i] for (i,) in found}


def _date_orders(con: duckdb.DuckDBPyConnection, mapping: Mapping) -> list[str]:
    """Create ``date_orders(field, dayfirst)``: for each date column whose numeric d/m/y dates
    show one order (a value above 12 in one place, none in the other), that order for the whole
    column. Returns what the load line says about it."""
    con.execute("CREATE OR REPLACE TEMP TABLE date_orders(field VARCHAR, dayfirst BOOLEAN)")
    if mapping.date_format:
        return []
    rows = con.execute(sqlfiles.sql("ingest", "date_orders.sql")).fetchall()
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
    counts = con.execute(sqlfiles.sql("ingest", "coverage.sql")).fetchone()
    by_name = dict(zip(registry.intake_names(), counts, strict=True))
    return {c: int(by_name[c]) for c in carried}


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
    pooled = store.is_lake(db)
    db = db if pooled else Path(db)
    # (a new lake is not removed after a refused first load: other members may be attaching it)
    new_store = not pooled and not db.exists()
    new_key = not pseudonym.key_path(db).exists()
    try:
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            # hashing runs beside the read (hashlib releases the GIL), unless the folder's
            # check for content loaded before has hashed the file already
            sha_future = pool.submit(_sha256, path) if file_sha is None else None
            sha_of = sha_future.result if sha_future is not None else (lambda: file_sha)
            load = functools.partial(
                _load_once, path, db, mapping, synthetic, today, reference_dir, rekey, as_of,
                allow_mixed, sha_of, dated_by,
            )  # fmt: skip
            if not pooled:
                return load()
            # a lake: another member's load that committed first makes this one's commit
            # conflict; the load runs again on the lake as that load left it, and says so
            for attempt in range(1, lake.RETRIES + 1):
                try:
                    result = load()
                except (duckdb.Error, pseudonym.KeyRace) as exc:
                    # a commit refused for another's, or a new pool's key file written by
                    # another member's first load after this one's check: run again
                    if not (isinstance(exc, pseudonym.KeyRace) or lake.is_conflict(exc)):
                        raise
                    if attempt == lake.RETRIES:
                        raise store.StoreBusy(
                            f"{path}: {attempt} attempts met other loads' commits into "
                            f"{lake.redacted(db)}; nothing of it was loaded: try again later"
                        ) from None
                    time.sleep(random.random() * 0.25 * attempt)
                    continue
                if attempt > 1:
                    result.notices.append(
                        f"committed at attempt {attempt}, after a conflict with another load"
                    )
                return result
    except BaseException:
        if new_store:
            # A store that this refused file would have created is not left behind, empty (nor
            # the buyer key made for it).
            leftovers = [db, Path(f"{db}.wal")] + ([pseudonym.key_path(db)] if new_key else [])
            for leftover in leftovers:
                leftover.unlink(missing_ok=True)
        raise
    raise AssertionError("unreachable")


def _load_once(
    path, db, mapping, synthetic, today, reference_dir, rekey, as_of, allow_mixed, sha_of,
    dated_by,
) -> LoadResult:  # fmt: skip
    """One attempt at :func:`ingest_file`'s load, in one transaction (``sha_of()``: the file's
    SHA-256, computed beside the read)."""
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
                "not kept, as naming a person or a contact: " + ", ".join(view["dropped"].values())
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
        file_sha = sha_of()
        # loads.as_of: the export's own date, NULL when nothing gives it (the day of the
        # load is then no date of the data: analysis.metrics.provenance.as_of)
        result = _write(con, path, raw, mapping, file_sha, key, started, synthetic, as_of, view)
        result.store = lake.redacted(db) if store.is_lake(db) else str(db)
        return result


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
    counts = dict(con.execute("SELECT kind, n FROM problem_kinds").fetchall())
    for reject in raw.rejects:
        kind = reject.reason.split(" (")[0]
        counts[kind] = counts.get(kind, 0) + 1
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]


def _write(con, path, raw, mapping, file_sha, key, started, synthetic, as_of, view) -> LoadResult:
    source = str(path.resolve())
    now = dt.datetime.now()
    # The work tables (temp, so the store is not touched) are built before the transaction, under
    # the store's lock: the cases and their actions, the quarantine, the counts, the touched
    # suppliers (clean.sql); the transaction then only writes.
    store.run_script(con, sqlfiles.sql("ingest", "clean.sql"), {"now": now})
    counts = con.execute("SELECT * FROM load_counts").fetchone()
    staged_rows, inserted, updated, unchanged, rejected_rows, unmapped, fallbacks = counts
    touched = con.execute("SELECT count(*) FROM touched_suppliers").fetchone()[0]
    con.execute("BEGIN TRANSACTION")
    try:
        # first: a re-key clears the old keys before this load writes new ones
        pseudonym.apply(con, key)
        load_id = store.next_load_id(con)
        result = LoadResult(
            source_file=source,
            rows_read=raw.rows_read,
            inserted=inserted,
            updated=updated,
            unchanged=unchanged,
            repeats=staged_rows - inserted - updated - unchanged - rejected_rows,
            quarantined=rejected_rows + len(raw.rejects),
            unmapped_categories=unmapped,
            fx_fallbacks=fallbacks,
            load_id=load_id,
            file_sha256=file_sha,
            file_format=raw.file_format,
            note=raw.note,
            notices=list(raw.notices),
            top_reasons=_top_reasons(con, raw),
        )
        if not result.adds_up() or result.repeats < 0:
            raise RuntimeError(f"internal error: counts do not add up for {path}: {result}")
        # A raw record keeps of a buyer's identity what the case keeps: each column that fills
        # buyer_ref is replaced by its key, the columns naming a person or a contact are left
        # out, and contact details are masked in the columns a case stores masked (``view``:
        # see _canonical_view).
        buyer = [c for c in view["buyer"] if c in raw.columns]
        rejects = _cleaned_rejects(con, raw, view, buyer, key.secret)
        store.run_script(
            con,
            sqlfiles.render(
                "ingest",
                "write.sql",
                buyer=buyer,
                masked=[c for c in view["contacts"] if c in raw.columns and c not in buyer],
                dropped=list(view["dropped"]),
                rejects=bool(raw.rejects),
                name_suppliers=bool(touched),
                latest_name=LATEST_NAME,
            ),
            {
                "load_id": load_id,
                "source_file": source,
                "file_sha256": file_sha,
                "now": now,
                "synthetic": synthetic,
                "secret": key.secret,
                **rejects,
            },
        )
        # the load's row: what its result says, and what the load knows of the file
        own = {
            "file_bytes": path.stat().st_size,
            "mapping_file": str(mapping.source) if mapping.source else None,
            "started_at": started,
            "finished_at": dt.datetime.now(),
            "tool_version": __version__,
            "as_of": as_of,
            "field_coverage": json.dumps(view["coverage"]),
            "extra_columns": json.dumps(view["extra"]) if view["extra"] else None,
        }
        row = {name: getattr(result, name) for name in registry.load_names(result=True)} | own
        store.run_script(
            con,
            sqlfiles.sql("ingest", "record.sql"),
            row | {"marker": "contains_synthetic" if synthetic else "contains_real_data"},
        )
        con.execute("COMMIT")
    except BaseException:
        # A failed statement (a full disk) may already have ended the transaction: the
        # ROLLBACK's own error must never hide the one that matters.
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        raise
    return result


def _cleaned_rejects(con, raw, view, buyer: list[str], secret: str) -> dict:
    """The reader-rejected lines for write.sql, as lists bound side by side (their raw text
    cleaned of the buyer's identity: :func:`_clean_rejected_lines`); none without rejects."""
    if not raw.rejects:
        return {}
    cleaned = _clean_rejected_lines(con, raw, view, buyer, secret)
    for r, text in zip(raw.rejects, cleaned, strict=True):
        r.raw_text = text
    return {
        "reject_rows": [r.row_number for r in raw.rejects],
        "reject_case_ids": [r.case_id for r in raw.rejects],
        "reject_reasons": [r.reason for r in raw.rejects],
        "reject_lines": [r.raw_text for r in raw.rejects],
    }


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
