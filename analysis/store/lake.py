"""The pooled store: a DuckLake (its catalog in PostgreSQL or a local ``.ducklake`` file, its data
in Parquet files under a data path) holding the same tables as a DuckDB file store.

A lake is named ``ducklake:<metadata>`` wherever a store is (``--db``, ``TA_OUTCOMES_DB``):
``<metadata>`` is what DuckDB's DuckLake ``ATTACH`` takes (``postgres:dbname=pool host=db.example
user=agency7``, or ``/shared/pool.ducklake`` for one machine). Passwords never appear there: libpq
reads them from ``PGPASSWORD``/``~/.pgpass`` or a service file (``postgres:service=pool``).

How it differs from a file store, and why:

- **Extensions, offline.** The ``ducklake`` and ``postgres`` extensions come from the Python
  packages ``duckdb-extension-ducklake``/``-postgres`` (signed builds for the pinned DuckDB):
  installed from the packaged file and loaded by name, never fetched; auto-install stays off.
- **Schema.** DuckLake has no PRIMARY KEY/UNIQUE constraints and no sequences
  (:func:`lake_ddl`). ``store_meta.key`` and ``loads.load_id`` stay unique because every load
  rewrites the one ``store_meta`` row ``last_load_id`` in its transaction (:func:`next_load_id`):
  two loads at once conflict on it, and the later one retries against the first's result
  (the same single-writer order a file store gets from its lock file, without the lock file).
- **Writers from many machines.** No lock file: each file's load is one DuckLake transaction;
  a conflict makes :func:`is_conflict` true and the load runs again (``analysis.ingest.load``).
  Two first attaches of a new PostgreSQL catalog at once make one fail with a duplicate key:
  :func:`open_lake` retries it.
"""

from __future__ import annotations

import contextlib
import functools
import random
import re
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb

from analysis import settings
from analysis.errors import UserError
from analysis.store.errors import StoreError, StoreMissing

#: The name the lake is attached under on every connection.
ALIAS = "ta_lake"
#: The store_meta row every load rewrites (see the module's docstring).
LAST_LOAD_ID = "last_load_id"
#: Attempts at an attach, a schema creation or a load that met another writer's commit.
RETRIES = 8
#: What DuckLake and PostgreSQL say when two writers met (a retry resolves it).
_CONFLICT = re.compile(r"conflict|duplicate key|could not serialize|deadlock", re.IGNORECASE)

#: How a lake's name pins one snapshot: ``ducklake:<metadata>#snapshot=<n>`` (what a report
#: reads, and what ``--as-of-snapshot N`` asks for).
SNAPSHOT_MARK = "#snapshot="

_data_paths: dict[str, str] = {}


def split(db: object) -> tuple[str, int | None]:
    """(the lake's name without a pin, the snapshot it pins or None)."""
    text = str(db)
    base, mark, number = text.partition(SNAPSHOT_MARK)
    if not mark:
        return text, None
    if not number.isdigit():
        from analysis.errors import BadParameter

        raise BadParameter(
            f"{redacted(text)}: the snapshot after {SNAPSHOT_MARK!r} is not a number"
        )
    return base, int(number)


def pinned(db: object, snapshot: int) -> str:
    """The lake ``db`` read at ``snapshot`` (a snapshot id of the lake: ``--as-of-snapshot``)."""
    if not is_lake(str(db)):
        from analysis.errors import BadParameter

        raise BadParameter("--as-of-snapshot is for a lake (--db ducklake:...), not a DuckDB file")
    if snapshot < 0:
        from analysis.errors import BadParameter

        raise BadParameter(f"--as-of-snapshot {snapshot}: a snapshot id is 0 or more")
    return f"{split(db)[0]}{SNAPSHOT_MARK}{int(snapshot)}"


def pin(db: str) -> str:
    """``db`` pinned to its current snapshot (unchanged when already pinned): a report reads one
    snapshot for its whole run, so that loads landing meanwhile never mix into it."""
    if split(db)[1] is not None:
        return db
    with connect(db) as con:
        return pinned(db, snapshot_id(con))


def describe(db: object) -> str:
    """The lake as a report's stamp names it: its catalog (a database's name or a file's name,
    no host or user) and the snapshot read."""
    base, snapshot = split(db)
    metadata = _metadata(base)
    if metadata.startswith("postgres:"):
        found = re.search(r"(?:dbname|service)\s*=\s*(\S+)", metadata)
        where = f"PostgreSQL {found[1] if found else '(default database)'}"
    else:
        where = Path(metadata).name
    return f"DuckLake {where}" + (f", snapshot {snapshot}" if snapshot is not None else "")


def is_lake(db: object) -> bool:
    """Whether ``db`` names a lake (``ducklake:...``) rather than a DuckDB file."""
    return settings.is_lake(db)


def use_data_path(db: str, data_path: Path | str) -> None:
    """``--data-path``: where a NEW lake of this process keeps its Parquet files (DuckLake
    records it in the catalog; later attaches read it from there)."""
    _data_paths[split(db)[0]] = str(Path(data_path).expanduser().resolve())


def is_conflict(exc: BaseException) -> bool:
    """Whether ``exc`` is a commit refused because another writer committed first."""
    return isinstance(exc, duckdb.Error) and bool(_CONFLICT.search(str(exc)))


@functools.cache
def extension_file(name: str) -> Path:
    """The packaged ``<name>.duckdb_extension`` for the running DuckDB (no download)."""
    import importlib

    try:
        package = importlib.import_module(f"duckdb_extension_{name}")
    except ImportError:
        raise UserError(
            f"the DuckLake store needs the package duckdb-extension-{name}: run `make install`"
        ) from None
    found = Path(package.__file__).parent / "extensions" / f"v{duckdb.__version__}"
    path = found / f"{name}.duckdb_extension"
    if not path.is_file():
        raise UserError(
            f"duckdb-extension-{name} has no build for DuckDB {duckdb.__version__} ({path}): "
            "install the version requirements.lock pins (`make install`)"
        )
    return path


def literal(text: str) -> str:
    """``text`` as a SQL string literal, for the statements DuckDB binds no parameter in
    (``ATTACH``, ``INSTALL``, an attach's options)."""
    return "'" + text.replace("'", "''") + "'"


def _metadata(db: object) -> str:
    return split(db)[0][len(settings.LAKE_PREFIX) :]


def redacted(db: object) -> str:
    """The lake's name for messages, without any password a user put in it anyway."""
    return re.sub(r"(password\s*=\s*)\S+", r"\1***", str(db), flags=re.IGNORECASE)


def _attach_once(db: str, read_only: bool, snapshot: int | None) -> duckdb.DuckDBPyConnection:
    from analysis.store.connection import DUCKDB_CONFIG

    con = duckdb.connect(":memory:", config=DUCKDB_CONFIG)
    try:
        with contextlib.suppress(duckdb.Error):
            con.execute("SET enable_progress_bar = false")
        needed = ["ducklake"] + (["postgres"] if _metadata(db).startswith("postgres:") else [])
        for name in needed:
            # INSTALL copies the packaged file into DuckDB's extension folder (no network);
            # LOAD then loads it by name
            con.execute(f"INSTALL {literal(str(extension_file(name)))}")
            con.execute(f"LOAD {name}")
        options = []
        if read_only:
            options.append("READ_ONLY")
        if snapshot is not None:
            options.append(f"SNAPSHOT_VERSION {int(snapshot)}")
        if split(db)[0] in _data_paths:
            options.append(f"DATA_PATH {literal(_data_paths[split(db)[0]])}")
        # the attach string is no value DuckDB can bind: quoted as a literal
        con.execute(
            f"ATTACH {literal(split(db)[0])} AS {ALIAS}"
            + (f" ({', '.join(options)})" if options else "")
        )
        con.execute(f"USE {ALIAS}")
    except BaseException:
        con.close()
        raise
    return con


def open_lake(
    db: str, read_only: bool = True, snapshot: int | None = None
) -> duckdb.DuckDBPyConnection:
    """A connection with the lake ``db`` attached as the default database.

    Retries an attach that met another process's (two first attaches of a new catalog at once:
    one creates it, the other meets its duplicate key); any other failure is one line.
    """
    from analysis.errors import BadParameter

    if re.search(r"password\s*=", _metadata(db), re.IGNORECASE):
        # a password on the command line shows in the process list and the shell's history
        raise BadParameter(
            f"{redacted(db)}: no password in --db; put it in PGPASSWORD, ~/.pgpass or a libpq "
            "service file (ducklake:postgres:service=NAME)"
        )
    if read_only and not _metadata(db).startswith("postgres:"):
        local = Path(_metadata(db)).expanduser()
        if not local.exists():
            raise StoreMissing(
                f"{db}: no lake here yet. Create it with `ta-outcomes ingest FILES --db {db} "
                "--data-path DIR`."
            )
    for attempt in range(RETRIES):
        try:
            return _attach_once(db, read_only, snapshot)
        except duckdb.Error as exc:
            if is_conflict(exc) and attempt < RETRIES - 1:
                time.sleep(0.05 + random.random() * 0.2 * (attempt + 1))
                continue
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
            if read_only and "creating a new DuckLake is explicitly disabled" in first:
                raise StoreMissing(
                    f"{redacted(db)}: no lake in this catalog yet. Create it with "
                    f"`ta-outcomes ingest FILES --db '{redacted(db)}' --data-path DIR`."
                ) from None
            raise StoreError(f"{redacted(db)}: cannot attach the lake ({first})") from None
    raise AssertionError("unreachable")


def lake_ddl(ddl: str) -> str:
    """The store's schema (``store/sql/schema.sql``) as DuckLake takes it: no sequence, no
    PRIMARY KEY (uniqueness kept by the load: :func:`next_load_id`)."""
    kept = [s for s in ddl.split(";") if "CREATE SEQUENCE" not in s.upper()]
    return re.sub(r"\s+PRIMARY KEY", "", ";".join(kept), flags=re.IGNORECASE)


def on_lake(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether ``con``'s default database is a lake (attached by :func:`open_lake`)."""
    return con.execute("SELECT current_database()").fetchone()[0] == ALIAS


def next_load_id(con: duckdb.DuckDBPyConnection) -> int:
    """The next load's id, inside its transaction: the sequence of a file store; on a lake, one
    more than the last, recorded in ``store_meta`` so that two loads at once conflict."""
    if not on_lake(con):
        return con.execute("SELECT nextval('load_id_seq')").fetchone()[0]
    load_id = con.execute("SELECT coalesce(max(load_id), 0) + 1 FROM loads").fetchone()[0]
    con.execute("DELETE FROM store_meta WHERE key = ?", [LAST_LOAD_ID])
    con.execute("INSERT INTO store_meta VALUES (?, ?)", [LAST_LOAD_ID, str(load_id)])
    return load_id


def snapshot_id(con: duckdb.DuckDBPyConnection) -> int | None:
    """The lake snapshot ``con`` reads (None on a file store)."""
    if not on_lake(con):
        return None
    return con.execute(f"SELECT id FROM {ALIAS}.current_snapshot()").fetchone()[0]  # noqa: S608 (fixed name)


@contextlib.contextmanager
def connect(
    db: str, read_only: bool = True, snapshot: int | None = None, sealed: bool = False
) -> Iterator[duckdb.DuckDBPyConnection]:
    """:func:`analysis.store.connect` for a lake: readers attach it read-only (a missing or
    foreign lake refused as a missing or foreign file is; ``sealed``, for SQL a user typed
    (:func:`analysis.store.connect_sealed`), is refused on a lake); a writer creates the tables of a new
    lake in one transaction (retried when another writer created them first)."""
    from analysis.store import schema

    db, named = split(db)
    snapshot = named if snapshot is None else snapshot
    if snapshot is not None and not read_only:
        raise AssertionError("a pinned snapshot is read, never written")
    if sealed:
        # DuckDB cannot confine SQL to the lake's data files read-only (allowed_directories
        # would let COPY ... TO write into the shared data path): SQL typed by hand is refused
        from analysis.errors import BadParameter

        raise BadParameter(
            "explore.query runs no SQL typed by hand on a lake (DuckDB cannot confine it to the "
            "lake's files, read-only); use explore.cases/rates/figures, or copy the lake to a "
            "file with `ta-outcomes export-store` and query that"
        )
    # a connection of its own for each use: what a run reads many times it reads through its
    # Reader (open_reader), which attaches the lake once (loading the two extensions into a new
    # DuckDB instance costs about a quarter of a second); no registry of attached lakes
    con = open_lake(db, read_only=read_only, snapshot=snapshot)
    try:
        if read_only:
            if not schema.is_store(con):
                raise StoreMissing(
                    f"{redacted(db)}: no case store in this lake yet. Load one with "
                    f"`ta-outcomes ingest FILES --db {redacted(db)} --data-path DIR`."
                )
            schema.read_as_current(con)
        else:
            _ensure_schema(con, db)
        yield con
    finally:
        con.close()


def open_reader(db: str) -> duckdb.DuckDBPyConnection:
    """The lake ``db`` attached read-only (at the snapshot its name pins) for one run's
    :class:`analysis.store.Reader`, its schema checked; the run closes it."""
    from analysis.store import schema

    base, snapshot = split(db)
    con = open_lake(base, read_only=True, snapshot=snapshot)
    try:
        if not schema.is_store(con):
            raise StoreMissing(
                f"{redacted(base)}: no case store in this lake yet. Load one with "
                f"`ta-outcomes ingest FILES --db {redacted(base)} --data-path DIR`."
            )
        schema.read_as_current(con)
    except BaseException:
        con.close()
        raise
    return con


def _ensure_schema(con: duckdb.DuckDBPyConnection, db: str) -> None:
    from analysis.store import schema

    for attempt in range(RETRIES):
        con.execute("BEGIN TRANSACTION")
        try:
            schema.ensure_schema(con, redacted(db))
            # the row every load rewrites exists from the start: the very first loads
            # conflict on it too (a row that is not there cannot be contended for)
            con.execute(
                "INSERT INTO store_meta SELECT ?, (SELECT coalesce(max(load_id), 0) FROM loads)"
                "::VARCHAR WHERE NOT EXISTS (SELECT 1 FROM store_meta WHERE key = ?)",
                [LAST_LOAD_ID, LAST_LOAD_ID],
            )
            con.execute("COMMIT")
            return
        except BaseException as exc:
            with contextlib.suppress(duckdb.Error):
                con.execute("ROLLBACK")
            if is_conflict(exc) and attempt < RETRIES - 1:
                time.sleep(0.05 + random.random() * 0.2 * (attempt + 1))
                continue
            if is_conflict(exc):
                from analysis.store.connection import StoreBusy

                raise StoreBusy(
                    f"{redacted(db)}: {RETRIES} attempts to create the store's tables met other "
                    "writers' commits; try again later"
                ) from None
            raise


#: The tables a copy between a file store and a lake carries (every table of a store).
_COPIED = ("loads", "quarantine", "cases", "suppliers", "store_meta")
#: The order a file store keeps its cases in (analysis.ingest.load: the reports' zone maps).
_CASE_ORDER = "closed_date NULLS LAST, opened_date, load_id, source_row"


def export_store(source: Path | str, target: Path | str) -> dict[str, int]:
    """``ta-outcomes export-store``: copy the store ``source`` into ``target``, one a DuckDB file
    and the other a lake (a member's store founds a pool; a lake is taken home as a file).

    The target must hold no store yet: a lake is written in one transaction (a failed copy
    leaves it without a store), a file is written beside its name and renamed into place when
    complete. The source is read at one snapshot and must be of the current schema version.
    The buyer-key secret travels too: copied to the target's key file when that has none, and
    the copy is refused when it holds another secret. Returns the rows copied per table.
    """
    import os
    import shutil

    from analysis.errors import BadParameter
    from analysis.ingest import pseudonym
    from analysis.store import schema

    if is_lake(str(source)) == is_lake(str(target)):
        raise BadParameter(
            "export-store copies between a DuckDB file and a lake (--db one, --to the other)"
        )
    the_lake = str(source) if is_lake(str(source)) else str(target)
    file = Path(target if is_lake(str(source)) else source)
    to_lake = is_lake(str(target))
    if to_lake and not file.is_file():
        raise StoreMissing(f"{file}: no case store here to export")
    if not to_lake and (file.exists() or Path(f"{file}.wal").exists()):
        raise BadParameter(f"{file} exists: export-store writes a new file only")
    if to_lake and split(the_lake)[1] is not None:
        raise BadParameter(f"{redacted(the_lake)}: a pinned snapshot cannot be written to")
    key_from, key_to = pseudonym.key_path(source), pseudonym.key_path(target)
    written = file.with_name(f".{file.name}.export-{os.getpid()}") if not to_lake else None
    if written is not None:
        written.parent.mkdir(parents=True, exist_ok=True)
    con = open_lake(the_lake, read_only=not to_lake)
    try:
        con.execute(
            f"ATTACH {literal(str(written or file))} AS ta_file"
            + ("" if written else " (READ_ONLY)")
        )
        src, dst = ("ta_file", ALIAS) if to_lake else (ALIAS, "ta_file")
        con.execute(f"USE {src}")
        if not schema.is_store(con):
            raise StoreMissing(f"{redacted(source)}: no case store here to export")
        version = schema.meta(con).get("schema_version")
        if version != schema.SCHEMA_VERSION:
            raise StoreError(
                f"{redacted(source)}: a store of schema version {version}; load a file into it "
                f"once with this version (it is brought up to {schema.SCHEMA_VERSION}), then export"
            )
        recorded = schema.meta(con).get(pseudonym.META_KEY)
        _check_key(key_from, key_to, recorded)
        con.execute(f"USE {dst}")
        if schema.is_store(con):
            raise BadParameter(
                f"{redacted(target)} already holds a case store; export-store writes a new one only"
            )
        con.execute("BEGIN TRANSACTION")
        schema.ensure_schema(con, redacted(target))
        con.execute("DELETE FROM store_meta")  # (the source's own rows follow)
        copied = {}
        for table in _COPIED:
            order = f" ORDER BY {_CASE_ORDER}" if table == "cases" else ""
            where = f" WHERE key <> '{LAST_LOAD_ID}'" if table == "store_meta" else ""
            copied[table] = con.execute(
                f"INSERT INTO {dst}.main.{table} BY NAME SELECT * FROM {src}.main.{table}"  # noqa: S608 (fixed names)
                + where
                + order
            ).fetchone()[0]
        last = con.execute(f"SELECT coalesce(max(load_id), 0) FROM {dst}.main.loads").fetchone()[0]  # noqa: S608 (fixed name)
        if to_lake:
            con.execute("INSERT INTO store_meta VALUES (?, ?)", [LAST_LOAD_ID, str(last)])
        else:  # the file's next load takes the id after the lake's last
            con.execute("DROP SEQUENCE load_id_seq")
            con.execute(f"CREATE SEQUENCE load_id_seq START {int(last) + 1}")
        con.execute("COMMIT")
    except BaseException as exc:
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        con.close()
        if written is not None:
            for leftover in (written, Path(f"{written}.wal")):
                leftover.unlink(missing_ok=True)
        if isinstance(exc, duckdb.Error):  # (another writer's commit, a refused attach...)
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
            raise StoreError(
                f"{redacted(target)}: the copy failed ({first}); nothing was written"
            ) from None
        raise
    con.close()
    if written is not None:
        os.replace(written, file)
    if recorded and key_from.exists() and not key_to.exists():
        key_to.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(key_from, key_to)
        os.chmod(key_to, 0o600)
    return copied


def _check_key(key_from: Path, key_to: Path, recorded: str | None) -> None:
    """Refuse a copy whose target key file holds another secret than the store's buyers were
    keyed with (the target's later loads would give every returning buyer a new identity)."""
    from analysis.ingest import pseudonym

    if not recorded:
        return
    if not key_from.exists() and not key_to.exists():
        raise pseudonym.BuyerKeyError(
            f"the store's buyer-key file {key_from} is missing: copy it there (or point "
            "TA_OUTCOMES_BUYER_KEY_FILE at it) before exporting, or the target's loads cannot "
            "key buyers as the store did"
        )
    if key_to.exists() and pseudonym.fingerprint(pseudonym._read(key_to)) != recorded:
        raise pseudonym.BuyerKeyError(
            f"{key_to} holds another buyer-key secret than the store's (fingerprint {recorded}); "
            "nothing was copied: move it aside or set TA_OUTCOMES_BUYER_KEY_FILE"
        )
