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

**Held stores.** Opening a store costs about 20-30 ms, and the first queries on a fresh database
instance are slower still (its catalog and blocks are read again): a report's sections open it
some forty times. :func:`hold` keeps one read-only connection (the *anchor*) open in this
process, so every later :func:`connect` of that store reuses DuckDB's open database instance
(under a millisecond) while still getting a connection of its own (its own temp tables, closed
on leaving the ``with``). The anchor is closed after :func:`analysis.settings.hold_idle`
seconds (15 by default) without a :func:`connect` of the store, and reopened by the next one: a notebook holds the store only
while it works, and an ingest started beside it waits at most that long. A writer of this
process (``read_only=False``) closes the anchor first: DuckDB refuses to open a file for writing
in a process that holds it read-only.
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
from analysis.store.lock import LockTimeout, held

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


class StoreError(UserError):
    """A problem with the store that the user can act on (missing, foreign, damaged)."""


class StoreMissing(StoreError):
    """The store file does not exist yet."""


class StoreBusy(LockTimeout):
    """Another process held the store open for longer than we were willing to wait."""


def open_duckdb(
    path: Path | str = ":memory:", read_only: bool = False
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection the project's way: no extension auto-loading, no progress bar."""
    if not read_only and str(path) != ":memory:":
        _close_anchor(path)
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
    (:func:`hold`) would otherwise refuse a connection with other settings.
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
                    else "close that connection (con.close()) or restart that notebook's kernel, "
                    "then run this again"
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
                        "(con.close()) or restart that kernel..."
                    )
                print(line, file=sys.stderr, flush=True)
                told = True
            time.sleep(min(RETRY_EVERY, max(timeout - waited, 0.01)))
            continue
        if told and not quiet:
            print(f"lock acquired after {time.monotonic() - t0:.1f} s", file=sys.stderr, flush=True)
        return con


class _Hold:
    """A held store: its anchor connection (None while closed) and the timer that closes it."""

    def __init__(self) -> None:
        self.anchor: duckdb.DuckDBPyConnection | None = None
        self.timer: threading.Timer | None = None
        self.used = 0  # a counter of uses: a timer set before the latest use does nothing


_HOLDS: dict[Path, _Hold] = {}
_HOLDS_LOCK = threading.Lock()


def _key(db: Path | str) -> Path:
    return Path(db).expanduser().resolve()


def hold(db: Path | str) -> bool:
    """Keep the store ``db`` open in this process for the :func:`connect` calls that follow.

    One read-only anchor connection is opened by the next :func:`connect` of the store and
    closed :func:`analysis.settings.hold_idle` seconds after the last one ends, to be reopened
    by the one after. What a query sees is unchanged: every connection still reads the store as
    it is on disk, and DuckDB lets no process write it while any process reads it.
    :func:`release` ends the hold. Returns whether this call started it (False: it was held
    already, or holding is switched off by ``TA_OUTCOMES_HOLD_IDLE=0``).
    """
    if settings.hold_idle() <= 0:
        return False
    with _HOLDS_LOCK:
        if _key(db) in _HOLDS:
            return False
        _HOLDS[_key(db)] = _Hold()
        return True


@contextlib.contextmanager
def holding(db: Path | str) -> Iterator[None]:
    """:func:`hold` the store for the ``with`` block (one computation of many queries), and
    release it at the end unless it was held before."""
    started = hold(db)
    try:
        yield
    finally:
        if started:
            release(db)


def release(db: Path | str | None = None) -> None:
    """End the hold of ``db`` (every held store when None), closing its anchor now."""
    with _HOLDS_LOCK:
        keys = list(_HOLDS) if db is None else [_key(db)]
        for key in keys:
            held = _HOLDS.pop(key, None)
            if held is not None:
                _shut(held)


def is_open(db: Path | str) -> bool:
    """Whether this process holds an open anchor connection to ``db`` (see :func:`hold`)."""
    with _HOLDS_LOCK:
        held = _HOLDS.get(_key(db))
        return held is not None and held.anchor is not None


def _shut(held: _Hold) -> None:
    # under _HOLDS_LOCK
    if held.timer is not None:
        held.timer.cancel()
        held.timer = None
    if held.anchor is not None:
        with contextlib.suppress(duckdb.Error):
            held.anchor.close()
        held.anchor = None


def _close_anchor(db: Path | str) -> None:
    with _HOLDS_LOCK:
        held = _HOLDS.get(_key(db))
        if held is not None:
            _shut(held)


def _anchor(db: Path, timeout: float, quiet: bool) -> None:
    """Open the held store's anchor if it is held and closed (a no-op otherwise)."""
    with _HOLDS_LOCK:
        held = _HOLDS.get(_key(db))
        if held is None or held.anchor is not None:
            return
        if held.timer is not None:
            held.timer.cancel()
            held.timer = None
    anchor = _open_waiting(db, True, timeout, quiet)
    with _HOLDS_LOCK:
        if _HOLDS.get(_key(db)) is held and held.anchor is None:
            held.anchor = anchor
            return
    anchor.close()  # released, or opened by another thread meanwhile


def _used(db: Path) -> None:
    """Restart the held store's idle timer after a use."""
    with _HOLDS_LOCK:
        held = _HOLDS.get(_key(db))
        if held is None or held.anchor is None:
            return
        held.used += 1
        if held.timer is not None:
            held.timer.cancel()
        held.timer = threading.Timer(settings.hold_idle(), _expire, (_key(db), held, held.used))
        held.timer.daemon = True
        held.timer.start()


def _expire(key: Path, held: _Hold, used: int) -> None:
    with _HOLDS_LOCK:
        if _HOLDS.get(key) is held and held.used == used:
            _shut(held)


def _must_exist(db: Path) -> None:
    """A reader's store must exist: say how to make one (a reader never creates it)."""
    if not db.exists():
        raise StoreMissing(
            f"{db}: no case store here yet. Create it with `make demo` (synthetic demo data) "
            f"or `ta-outcomes ingest data/raw/YOUR_EXPORT.csv --db {db}`."
        )


@contextlib.contextmanager
def connect(
    db: Path | str,
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
    """
    from analysis.store import lake, schema

    if lake.is_lake(db):  # a pooled store: no lock file, DuckLake's transactions instead
        with lake.connect(db, read_only=read_only) as con:
            yield con
        return
    db = Path(db)
    timeout = settings.lock_timeout() if timeout is None else timeout
    if read_only:
        _must_exist(db)
        _anchor(db, timeout, quiet)
        con = _open_waiting(db, True, timeout, quiet)
        try:
            schema.read_as_current(con)
            yield con
        finally:
            con.close()
            _used(db)
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
    db: Path | str, timeout: float | None = None, quiet: bool = False
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the store read-only on a sealed connection (:func:`open_sealed`: no other file, no
    extension, no setting can be reached) and close it afterwards; a missing store and a store
    another process writes are handled as by :func:`connect`."""
    from analysis.store import lake

    if lake.is_lake(db):
        with lake.connect(db, read_only=True, sealed=True) as con:
            yield con
        return
    db = Path(db)
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


def query_df(db: Path | str, sql: str, params: list | dict | None = None):
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
