"""Pseudonymous buyer keys: the secret, its fingerprint, and the one formula of a key.

``buyer_ref`` (a name, an e-mail, an account id) never enters the store. At ingest it becomes
``buyer_key`` = the first 20 hex digits of SHA-256(secret || ':' || lower(trim(reference))), where
the secret is 32 random bytes in a file beside the store (``<store folder>/.ta-outcomes-buyer.key``,
mode 0600, ignored by git). The same buyer gets the same key in every load into that store, so
repeat buyers can be counted, while nobody without the key file can test a guessed reference
against a key.

The formula exists once, as the SQL macro ``ta_buyer_key`` (:data:`MACRO`): the staging layer,
the quarantine's raw records and the lines a reader rejected all use it.

The store records a fingerprint of its secret (``store_meta.buyer_key_fingerprint``). A key file
that is lost, replaced or not copied with the store would silently give the same buyer a new key
in every later load; instead :func:`check` refuses the load, saying how to restore the key or to
re-key on purpose (``ta-outcomes ingest --rekey-buyers``: a new secret, and every stored case's
key cleared until its export is loaded again).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb

from analysis import settings
from analysis.errors import UserError

#: The key of a buyer reference, in SQL (NULL for a blank reference).
MACRO = """
CREATE OR REPLACE TEMP MACRO ta_buyer_key(secret, ref) AS
    CASE WHEN nullif(trim(ref), '') IS NOT NULL
         THEN substr(sha256(secret || ':' || lower(trim(ref))), 1, 20) END
"""
META_KEY = "buyer_key_fingerprint"


class BuyerKeyError(UserError):
    """The store's buyer keys were made with a secret that is not the one at hand."""

    exit_code = 1


class KeyRace(BuyerKeyError):
    """Another process wrote the key file between this load's check and its commit (two first
    loads into a new lake at once, on one machine or one shared key path): the load is keyed
    with a secret that lost, and runs again with the one that won (:func:`ingest_file`)."""


def key_path(db: Path | str) -> Path:
    """Where the secret for store ``db`` lives (overridable with TA_OUTCOMES_BUYER_KEY_FILE)."""
    return settings.buyer_key_file(db)


def fingerprint(secret: str) -> str:
    """A public fingerprint of the secret (it tells two secrets apart, and reveals neither)."""
    return hashlib.sha256(f"ta-outcomes buyer-key fingerprint:{secret}".encode()).hexdigest()[:16]


def install(con: duckdb.DuckDBPyConnection) -> None:
    """Create the ``ta_buyer_key`` macro on ``con``."""
    con.execute(MACRO)


def keys(con: duckdb.DuckDBPyConnection, secret: str, refs: list[str]) -> list[str | None]:
    """The keys of ``refs`` (by the macro itself, so Python never restates the formula)."""
    install(con)
    if not refs:
        return []
    return [
        row[0]
        for row in con.execute(
            "SELECT ta_buyer_key(?, r) FROM unnest(?) WITH ORDINALITY AS t(r, i) ORDER BY i",
            [secret, list(refs)],
        ).fetchall()
    ]


def _read(path: Path) -> str:
    secret = path.read_text(encoding="ascii").strip()
    if len(secret) < 32:
        raise BuyerKeyError(
            f"{path}: the buyer-key file is damaged (too short); restore it from a backup"
        )
    return secret


def _write_new(path: Path, secret: str | None = None) -> str:
    """Create the key file (with ``secret``, or a new one) atomically; return the file's secret."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # A complete temp file, then linked into place: the link either creates the key file whole or
    # fails because another process's key is already there. Nobody reads a half-written key.
    fd, tmp = tempfile.mkstemp(prefix=".buyer-key-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write((secret or secrets.token_hex(32)) + "\n")
        os.chmod(tmp, 0o600)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
    finally:
        os.unlink(tmp)
    return _read(path)


def secret_for(db: Path | str) -> str:
    """The store's secret (hex), created with mode 0600 on first use (no check: see :func:`check`)."""
    path = key_path(db)
    return _read(path) if path.exists() else _write_new(path)


@dataclass(frozen=True)
class KeyState:
    """The secret a load uses, and what the load must write for it (inside its transaction)."""

    path: Path
    secret: str
    fingerprint: str
    record: bool  # store_meta lacks this fingerprint: write it with the load
    new_file: bool = False  # the secret is new: write the key file with the load
    cleared: int = 0  # cases whose keys a re-key clears
    rekey: bool = False  # a re-key: the old key file is kept beside as .bak-<time>


def check(con: duckdb.DuckDBPyConnection, db: Path | str, rekey: bool = False) -> KeyState:
    """The secret for a load into the store open on ``con``, after checking it is the store's own.

    Refuses (:class:`BuyerKeyError`, one line) when the store records a fingerprint that the key
    file does not match, or has buyer keys while the key file is missing. ``rekey``: make a new
    secret (the old file is kept beside as ``.bak-<time>``) and clear every stored key; the next
    loads key the buyers again.
    """
    path = key_path(db)
    stored = dict(con.execute("SELECT key, value FROM store_meta").fetchall()).get(META_KEY)
    keyed = con.execute("SELECT count(*) FROM cases WHERE buyer_key IS NOT NULL").fetchone()[0]
    if rekey:
        secret = secrets.token_hex(32)
        return KeyState(path, secret, fingerprint(secret), True, True, keyed, rekey=True)
    how = (
        f"restore the key file from a backup of the store's folder ({path.name} beside the "
        f"store), or re-key every case on purpose with `ta-outcomes ingest --rekey-buyers ...` "
        "(repeat-buyer figures then start afresh)"
    )
    if settings.is_lake(db):  # a pool's members share one secret, handed out by its keeper
        how = (
            f"put the pool's shared buyer-key file at {path} (or point "
            "TA_OUTCOMES_BUYER_KEY_FILE at it): ask the pool's keeper for it"
        )
    if not path.exists():
        if stored or keyed:
            raise BuyerKeyError(
                f"{db}: the buyer-key file {path} is missing, but {keyed:,} stored case(s) were "
                f"keyed with it (fingerprint {stored or 'not recorded'}); a new key would give "
                f"every returning buyer a new identity. Nothing was loaded: {how}"
            )
        secret = secrets.token_hex(32)
        return KeyState(path, secret, fingerprint(secret), True, True)
    secret = _read(path)
    mine = fingerprint(secret)
    if stored and stored != mine:
        raise BuyerKeyError(
            f"{db}: the buyer-key file {path} (fingerprint {mine}) is not the one this store's "
            f"buyers were keyed with (fingerprint {stored}). Nothing was loaded: {how}"
        )
    return KeyState(path, secret, mine, stored is None)


def apply(con: duckdb.DuckDBPyConnection, state: KeyState) -> None:
    """Inside the load's transaction, before COMMIT: write a new key file (a re-key keeps the
    old one beside it as ``.bak-<time>``), clear the keys a re-key replaces, record the
    fingerprint. A load refused before this point leaves no key file behind."""
    if state.new_file:
        # only a re-key replaces a key file; a first load that finds one written since its
        # check lost a race (KeyRace, below), and must not move the winner's aside
        if state.rekey and state.path.exists():
            state.path.rename(
                state.path.with_name(f"{state.path.name}.bak-{dt.datetime.now():%Y%m%dT%H%M%S}")
            )
        if _write_new(state.path, state.secret) != state.secret:
            raise KeyRace(f"{state.path}: another process wrote a different buyer key")
    if state.cleared:
        con.execute("UPDATE cases SET buyer_key = NULL WHERE buyer_key IS NOT NULL")
    if state.record:
        # a delete and an insert rather than ON CONFLICT: a lake declares no key on store_meta
        con.execute("DELETE FROM store_meta WHERE key = ?", [META_KEY])
        con.execute("INSERT INTO store_meta VALUES (?, ?)", [META_KEY, state.fingerprint])


def client_key(db: Path | str, name: str) -> str:
    """The buyer key of client ``name`` in store ``db`` (``--client NAME``): the one formula
    (:data:`MACRO`) with the store's secret, read without creating one. The name is neither
    stored nor printed. Raises BadParameter when the name is blank, the store has no key file
    or a key that is not its own, or no case of the store has this buyer."""
    from analysis.errors import BadParameter
    from analysis.store import connect

    if not str(name or "").strip():
        raise BadParameter("--client: give the client's name as the tracker writes it")
    path = key_path(db)
    if not path.is_file():
        raise BadParameter(
            f"--client: the store has no buyer-key file ({path}): its buyer references were "
            "never loaded, or the key file was not copied with the store"
        )
    secret = _read(path)
    with connect(db) as con:
        recorded = con.execute("SELECT value FROM store_meta WHERE key = ?", [META_KEY]).fetchone()
        if recorded is not None and recorded[0] != fingerprint(secret):
            raise BadParameter(
                f"--client: {path} is not the key this store's buyers were keyed with; restore "
                "the store's own key file"
            )
        (key,) = keys(con, secret, [str(name)])
        found = con.execute("SELECT count(*) FROM cases WHERE buyer_key = ?", [key]).fetchone()[0]
    if not found:
        raise BadParameter(
            "--client: no case in the store has this client (its name is matched as the tracker "
            "writes the buyer reference, case and surrounding spaces ignored)"
        )
    return key
