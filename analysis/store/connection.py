"""Opening the DuckDB case store: the only place the project opens DuckDB.

Two kinds of access, and how they share a store:

- **Readers** (metrics, reports, notebooks, ``analysis.explore``) open it read-only and take no
  lock file of ours, so they run beside each other, and on a store they may read but not write
  (a read-only mount, another user's folder).
- **Writers** (ingest, the demo) queue on the lock file ``<db>.lock`` (one writer at a time, a
  waiting writer says so), then open the store for writing.

DuckDB itself lets one process write a database file, or any number of processes read it; a
process that holds the file open the other way makes DuckDB refuse at once ("Could not set lock
on file ... Conflicting lock is held in ... (PID n)"). That refusal is not an error here: the
opener waits, saying once which process holds the store (its PID and command line) and what to
do about it, tries again until the timeout, and then fails with one line naming that process.
A writer that gives up has changed nothing.

Every connection is opened with DuckDB's extension auto-loading and auto-installing switched
off: a file of another format (SQLite, say) must be refused, not make DuckDB fetch an extension.

**One connection per run.** Opening a store costs about 20-30 ms, and the first queries on a
fresh database instance are slower still (its catalog and blocks are read again): a report asks
some forty questions of it. A run (a report, ``ta-outcomes metrics``, an ``explore`` call) opens
one :class:`Reader` and passes it down; every :func:`connect` of the reader gets a cursor of its
one connection (its own temp tables, closed on leaving the ``with``), and the run closes the
reader at its end (a report's last section, the stamp). There is no process-wide registry of open
stores and no timer: what holds the store open is the object the run holds.
"""

from __future__ import annotations

import contextlib
import re
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb

from analysis import settings
from analysis.errors import EnvironmentProblem, UserError, environment_problem
from analysis.store import lake, schema
from analysis.store.errors import StoreBusy, StoreError, StoreMissing
from analysis.store.lock import held

#: DuckDB settings of every connection the project opens.
DUCKDB_CONFIG = {"autoload_known_extensions": False, "autoinstall_known_extensions": False}
#: ... and of a sealed connection (:func:`connect_sealed`, for SQL a user typed): no extension of
#: any origin may be installed or loaded. The rest of the seal (no file but the store, settings
#: locked) is set once the store is attached: see :func:`open_sealed`.
SEALED_CONFIG = DUCKDB_CONFIG | {
    "allow_community_extensions": False,
    "allow_unsigned_extensions": False,
}
#: Seconds between attempts to open a store another process holds.
RETRY_EVERY = 0.25


def open_duckdb(
    path: Path | str = ":memory:", read_only: bool = False
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection the project's way: no extension auto-loading, no progress bar."""
    con = duckdb.connect(str(path), read_only=read_only, config=DUCKDB_CONFIG)
    # No progress bar: it would garble the one-line summaries on the terminal (inside a Jupyter
    # kernel DuckDB refuses to touch the setting without ipywidgets: leave it then).
    with contextlib.suppress(duckdb.Error):
        con.execute("SET enable_progress_bar = false")
    return con


_HOLDER = re.compile(r"Conflicting lock is held in (?P<exe>.*?) \(PID (?P<pid>\d+)\)")


def _holder(exc: BaseException) -> str | None:
    """'PID 16859 (python -m ipykernel_launcher ...)' from DuckDB's lock error, else None."""
    match = _HOLDER.search(str(exc))
    if not match:
        return None
    pid = match["pid"]
    command = match["exe"]
    with contextlib.suppress(OSError):
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        command = " ".join(part.decode(errors="replace") for part in raw.split(b"\0") if part)
    return f"PID {pid} ({command[:160]})"


def _is_ours(holder: str) -> bool:
    return "ta-outcomes" in holder or "analysis" in holder


def _open_error(db: Path, exc: BaseException) -> UserError:
    text = str(exc)
    if "sqlite" in text.lower():
        return StoreError(f"{db}: a SQLite database, not a DuckDB case store")
    newer = re.search(r"database file with version number (\d+), but we can only read", text)
    if newer:
        # a store written by DuckDB 2.x (this project ran it before issue 31 pinned 1.5.5)
        return StoreError(
            f"{db}: written by a newer DuckDB (storage version {newer[1]}) than this project's "
            f"{duckdb.__version__}; rebuild it from its raw exports into a new store "
            "(`ta-outcomes ingest data/raw/ --db NEW.duckdb`: the same files give the same cases "
            "with the same buyer key) and use that"
        )
    if "different configuration than existing connections" in text:
        # this process reads the store through an open Reader (a report's context in a
        # notebook): DuckDB will not open the file for writing beside it
        return StoreError(
            f"{db}: this process holds the store open for reading (a report's or an explore "
            "run's reader); close it (ctx.store.close(), or run the report's last cell) and "
            "run this again"
        )
    first = (text.strip().splitlines() or [type(exc).__name__])[0][:300]
    if environment_problem(exc) is not None:
        # the machine refused (a folder that cannot be written, a read-only disk): the store
        # is not foreign or damaged, and the exit code says so (74)
        return EnvironmentProblem(
            f"cannot open {db} ({first}); check this user's permissions on it and its folder"
        )
    return StoreError(f"{db}: cannot open as a DuckDB case store ({first})")


def open_sealed(db: Path | str) -> duckdb.DuckDBPyConnection:
    """A connection that reads the store ``db`` and can do nothing else: for SQL a user typed.

    The store is attached read-only (as the default database, named ``store``) to an in-memory
    database of its own, and then DuckDB's own switches close everything else: no file but the
    store can be read or written (``enable_external_access = false``: ``COPY ... TO``,
    ``read_csv``, ``glob``, ``ATTACH``, ``INSTALL`` all fail), no extension is loaded, and the
    configuration is locked (``SET``, ``SET GLOBAL``, ``RESET`` fail). The store is attached to
    a database of its own rather than opened directly because DuckDB shares one database instance
    per file in a process, and its settings with it: a report holding the store open
    (a :class:`Reader`) would otherwise refuse a connection with other settings.
    """
    from analysis.store.lake import literal

    con = duckdb.connect(":memory:", config=SEALED_CONFIG)
    try:
        # a literal: DuckDB 1.5 binds no parameter in ATTACH
        con.execute(f"ATTACH {literal(str(db))} AS store (READ_ONLY)")
        con.execute("USE store")
        with contextlib.suppress(duckdb.Error):  # see open_duckdb
            con.execute("SET enable_progress_bar = false")
        # the order matters: external access off once the store is attached, then the lock
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
    except BaseException:
        con.close()
        raise
    return con


def _open_waiting(db: Path, read_only: bool, timeout: float, quiet: bool, sealed: bool = False):
    """Open ``db``, waiting (and saying so, once) while another process holds it the other way."""
    t0 = time.monotonic()
    told = False
    while True:
        try:
            con = open_sealed(db) if sealed else open_duckdb(db, read_only=read_only)
        except duckdb.Error as exc:
            holder = _holder(exc)
            if holder is None:
                raise _open_error(db, exc) from None
            waited = time.monotonic() - t0
            if waited >= timeout:
                advice = (
                    "try again when it has finished"
                    if _is_ours(holder)
                    else "close that connection (con.close(); a report notebook: run its last "
                    "cell) or restart that notebook's kernel, then run this again"
                )
                raise StoreBusy(
                    f"{db}: still held by {holder} after {timeout:g} s; {advice}"
                    + ("" if read_only else "; the store is unchanged")
                ) from None
            if not told and not quiet:
                if _is_ours(holder):
                    line = (
                        f"waiting for another ta-outcomes process to release {db} ({holder}; "
                        f"up to {timeout:g} s)..."
                    )
                else:
                    line = (
                        f"waiting for another process to close {db} ({holder}; up to "
                        f"{timeout:g} s): if it is a notebook holding a connection, close it "
                        "(con.close(); a report notebook: run its last cell) or restart that "
                        "kernel..."
                    )
                print(line, file=sys.stderr, flush=True)
                told = True
            time.sleep(min(RETRY_EVERY, max(timeout - waited, 0.01)))
            continue
        if told and not quiet:
            print(f"lock acquired after {time.monotonic() - t0:.1f} s", file=sys.stderr, flush=True)
        return con


class Reader:
    """One read-only connection to the store ``db`` for one run (a report, ``ta-outcomes
    metrics``, an ``explore`` call), passed down to every figure instead of a path.

    Opened when first used (waiting, like :func:`connect`, while another process writes the
    store), checked once against the schema, and closed by :meth:`close` or at the end of a
    ``with`` block; a use after :meth:`close` opens it again (a notebook cell run again in
    JupyterLab after its report's last section). While it is open, no process can write the store:
    every figure of the run describes one state. A lake (``ducklake:...``, pinned to a snapshot by
    the report: :func:`analysis.store.lake.pin`) is attached once for the run the same way
    (:func:`analysis.store.lake.open_reader`), and reads that one snapshot.
    """

    def __init__(self, db: Path | str, timeout: float | None = None, quiet: bool = False):
        #: the store: a file's path, or a lake's name (``ducklake:...``, with its pinned snapshot)
        self.location: Path | str = str(db) if lake.is_lake(str(db)) else Path(db)
        self._timeout = timeout
        self._quiet = quiet
        self._con: duckdb.DuckDBPyConnection | None = None
        # cursors are taken from threads (metrics.json beside the notebook's start)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        where = lake.redacted(self.location) if self.on_lake else str(self.location)
        return f"Reader({where!r}, {'open' if self.is_open else 'closed'})"

    @property
    def on_lake(self) -> bool:
        """Whether the reader reads a lake rather than a DuckDB file."""
        return isinstance(self.location, str)

    @property
    def path(self) -> Path:
        """The store file the reader reads (a lake has none: ValueError)."""
        if self.on_lake:
            raise ValueError(f"{lake.redacted(self.location)} is a lake, not a file")
        return self.location

    @property
    def is_open(self) -> bool:
        """Whether the reader's connection is open now."""
        return self._con is not None

    def open(self) -> Reader:
        """Open the connection now (a missing, foreign or newer store is refused here)."""
        with self._lock:
            self._connection()
        return self

    def _connection(self) -> duckdb.DuckDBPyConnection:
        # under self._lock
        if self._con is None and self.on_lake:
            self._con = lake.open_reader(self.location)
        if self._con is None:
            _must_exist(self.path)
            timeout = settings.lock_timeout() if self._timeout is None else self._timeout
            con = _open_waiting(self.path, True, timeout, self._quiet)
            try:
                schema.read_as_current(con)
            except BaseException:
                con.close()
                raise
            self._con = con
        return self._con

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A connection of its own on the reader's open database (close it after use)."""
        with self._lock:
            cursor = self._connection().cursor()
        if self.on_lake:
            cursor.execute(f"USE {lake.ALIAS}")  # a cursor starts in its own memory database
        return cursor

    def close(self) -> None:
        """Close the connection (a later use opens it again)."""
        with self._lock:
            if self._con is not None:
                with contextlib.suppress(duckdb.Error):
                    self._con.close()
                self._con = None

    def __enter__(self) -> Reader:
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close()


#: What a figure reads: the store's path (or a lake's name), or the run's :class:`Reader` of it.
Source = Path | str | Reader


@contextlib.contextmanager
def reading(source: Source) -> Iterator[Reader]:
    """The run's reader: ``source`` itself when it is one (left open: its run closes it), else a
    :class:`Reader` of that path for the ``with`` block (one computation of many queries)."""
    if isinstance(source, Reader):
        yield source
        return
    with Reader(source) as reader:
        yield reader


def location_of(source: Source) -> Path | str:
    """The store a source reads: a file's path, or a lake's name."""
    if isinstance(source, Reader):
        return source.location
    return str(source) if lake.is_lake(str(source)) else Path(source)


def _must_exist(db: Path) -> None:
    """A reader's store must exist: say how to make one (a reader never creates it)."""
    if not db.exists():
        raise StoreMissing(
            f"{db}: no case store here yet. Create it with `make demo` (synthetic demo data) "
            f"or `ta-outcomes ingest data/raw/YOUR_EXPORT.csv --db {db}`."
        )


@contextlib.contextmanager
def connect(
    db: Source,
    read_only: bool = True,
    timeout: float | None = None,
    quiet: bool = False,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the store and close it afterwards.

    ``read_only=True`` (metrics, reports, notebooks): refuses a store that does not exist with
    :class:`StoreMissing`, whose message says how to create one; takes no lock file, and works on
    a store the user cannot write. ``read_only=False`` (ingest): one writer at a time on
    ``<db>.lock``; creates the store and its tables when the file is new, and refuses a DuckDB
    file that holds something else. Both wait for a process holding the store the other way,
    up to ``timeout`` seconds (default :func:`analysis.settings.lock_timeout`).

    ``db`` may be the run's :class:`Reader` (read-only): the connection is then a cursor of the
    reader's, and nothing is opened. A lake (``ducklake:...``) is opened by
    :func:`analysis.store.lake.connect`.
    """
    if isinstance(db, Reader):
        if not read_only:
            raise ValueError("a Reader reads; a writer connects to the store's path")
        cursor = db.cursor()
        try:
            yield cursor
        finally:
            cursor.close()
        return
    if lake.is_lake(db):  # a pooled store: no lock file, DuckLake's transactions instead
        with lake.connect(db, read_only=read_only) as con:
            yield con
        return
    db = Path(db)
    timeout = settings.lock_timeout() if timeout is None else timeout
    if read_only:
        _must_exist(db)
        con = _open_waiting(db, True, timeout, quiet)
        try:
            schema.read_as_current(con)
            yield con
        finally:
            con.close()
        return
    with writer_lock(db, timeout, quiet):
        con = _open_waiting(db, False, timeout, quiet)
        try:
            schema.ensure_schema(con, db)
            yield con
        finally:
            con.close()


@contextlib.contextmanager
def connect_sealed(
    db: Source, timeout: float | None = None, quiet: bool = False
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the store read-only on a sealed connection (:func:`open_sealed`: no other file, no
    extension, no setting can be reached) and close it afterwards; a missing store and a store
    another process writes are handled as by :func:`connect`. A :class:`Reader` is read through
    its location: the sealed connection is always one of its own (and refused on a lake)."""
    db = location_of(db)
    if lake.is_lake(db):
        with lake.connect(db, read_only=True, sealed=True) as con:
            yield con
        return
    timeout = settings.lock_timeout() if timeout is None else timeout
    _must_exist(db)
    con = _open_waiting(db, True, timeout, quiet, sealed=True)
    try:
        yield con
    finally:
        con.close()


@contextlib.contextmanager
def writer_lock(
    db: Path | str, timeout: float | None = None, quiet: bool = False
) -> Iterator[None]:
    """Hold ``<db>.lock``, the queue of the store's writers (creating the store's folder)."""
    db = Path(db)
    timeout = settings.lock_timeout() if timeout is None else timeout
    db.parent.mkdir(parents=True, exist_ok=True)
    with held(
        str(db) + ".lock",
        timeout,
        waiting=f"waiting for another ta-outcomes process to release {db} (up to {timeout:g} s)...",
        error=f"{db}: still locked by another ta-outcomes process after {timeout:g} s; try again later",
        quiet=quiet,
    ):
        yield


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (at most 300 characters)."""
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


def query_df(db: Source, sql: str, params: list | dict | None = None):
    """Run one read-only query against the store and return a pandas DataFrame."""
    with connect(db, read_only=True) as con:
        return con.execute(sql, params or []).df()


def run_script(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None) -> None:
    """Run a multi-statement SQL text, giving each statement the ``$name`` parameters it uses.

    Values are always bound, never formatted into the text.
    """
    params = params or {}
    for statement in _statements(sql):
        used = {k: v for k, v in params.items() if re.search(r"\$" + k + r"\b", statement)}
        con.execute(statement, used) if used else con.execute(statement)


def _statements(sql: str) -> list[str]:
    # The project's SQL files end each statement with ';' at the end of a line and keep
    # semicolons out of string literals and comments.
    body = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    return [s.strip() for s in re.split(r";\s*\n", body + "\n") if s.strip()]
