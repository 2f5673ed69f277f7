"""The DuckDB case store: opening it safely, its schema, and its lock.

Every process that touches a store takes the store's lock file (``<db>.lock``) first. DuckDB
lets only one process hold a database file open for writing, so an ingest and a report (or two
ingests) started at once queue on the lock: the second waits, with a message, and then proceeds
against a consistent store. Writers hold the lock for one file's transaction; readers for one
query batch.
"""

from __future__ import annotations

import contextlib
import re
import sys
import time
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import duckdb
from filelock import FileLock, Timeout

from analysis.errors import UserError

SCHEMA_VERSION = "1"
#: How long to wait for another process's lock before giving up (seconds).
DEFAULT_LOCK_TIMEOUT = float(600)


class StoreError(UserError):
    """A problem with the store that the user can act on (missing, locked, wrong schema)."""


class StoreMissing(StoreError):
    """The store file does not exist yet."""


def sql_text(name: str) -> str:
    """Return the text of ``analysis/sql/<name>``."""
    return resources.files("analysis").joinpath("sql", name).read_text(encoding="utf-8")


def lock_for(db: Path | str) -> FileLock:
    """The inter-process lock guarding ``db``."""
    db = Path(db)
    return FileLock(str(db) + ".lock")


@contextlib.contextmanager
def locked(
    db: Path | str, timeout: float = DEFAULT_LOCK_TIMEOUT, quiet: bool = False
) -> Iterator[None]:
    """Hold the store's lock; tell the user on stderr when we have to wait for it."""
    lock = lock_for(db)
    try:
        lock.acquire(timeout=0.05)
    except Timeout:
        if not quiet:
            print(
                f"waiting for another ta-outcomes process to release {db} (up to {timeout:g} s)...",
                file=sys.stderr,
                flush=True,
            )
        t0 = time.monotonic()
        try:
            lock.acquire(timeout=timeout)
        except Timeout:
            raise StoreError(
                f"{db}: still locked by another ta-outcomes process after {timeout:g} s; try again later"
            ) from None
        if not quiet:
            print(f"lock acquired after {time.monotonic() - t0:.1f} s", file=sys.stderr, flush=True)
    try:
        yield
    finally:
        lock.release()


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the store's tables if they are missing (idempotent, and writes nothing when the
    schema is already there, so a refused load leaves the file byte-for-byte as it was)."""
    have = {
        r[0]
        for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE NOT temporary"
        ).fetchall()
    }
    if {"cases", "quarantine", "loads", "store_meta"} <= have:
        return
    con.execute(sql_text("schema.sql"))
    con.execute(
        "INSERT INTO store_meta VALUES ('schema_version', ?) ON CONFLICT DO NOTHING",
        [SCHEMA_VERSION],
    )


def run_script(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None) -> None:
    """Run a multi-statement SQL file, giving each statement the ``$name`` parameters it uses.

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


@contextlib.contextmanager
def connect(
    db: Path | str,
    read_only: bool = True,
    timeout: float = DEFAULT_LOCK_TIMEOUT,
    quiet: bool = False,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the store under its lock and close it afterwards.

    ``read_only=True`` (the default, for metrics and reports) refuses a store that does not
    exist with :class:`StoreMissing`, whose message says how to create one.
    """
    db = Path(db)
    if read_only and not db.exists():
        raise StoreMissing(
            f"{db}: no case store here yet. Create it with `make demo` (synthetic demo data) "
            f"or `ta-outcomes ingest data/raw/YOUR_EXPORT.csv --db {db}`."
        )
    if not read_only:
        db.parent.mkdir(parents=True, exist_ok=True)
    with locked(db, timeout=timeout, quiet=quiet):
        try:
            con = duckdb.connect(str(db), read_only=read_only)
        except duckdb.Error as exc:
            raise StoreError(
                f"{db}: cannot open as a DuckDB case store ({_first_line(exc)})"
            ) from None
        try:
            # no progress bar: it would garble the one-line summaries on the terminal (inside a
            # Jupyter kernel DuckDB refuses to touch the setting without ipywidgets: leave it)
            with contextlib.suppress(duckdb.Error):
                con.execute("SET enable_progress_bar = false")
            if not read_only:
                ensure_schema(con)
            yield con
        finally:
            con.close()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


def query_df(db: Path | str, sql: str, params: list | dict | None = None):
    """Run one read-only query against the store and return a pandas DataFrame."""
    with connect(db, read_only=True) as con:
        return con.execute(sql, params or []).df()


def meta(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """The store_meta table as a dict."""
    return dict(con.execute("SELECT key, value FROM store_meta").fetchall())
