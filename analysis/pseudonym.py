"""Pseudonymous buyer keys.

``buyer_ref`` (a name, an e-mail, an account id) never enters the store. At ingest it becomes
``buyer_key`` = the first 20 hex digits of SHA-256(secret || ':' || normalised reference), where the
secret is 32 random bytes created on first use in a file beside the store
(``<store folder>/.ta-outcomes-buyer.key``, mode 0600, ignored by git). The same buyer gets the
same key in every load into that store, so repeat buyers can be counted, while nobody without the
key file can test a guessed reference against a key. Delete the key file and the mapping is gone.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

from analysis.errors import UserError

KEY_FILENAME = ".ta-outcomes-buyer.key"


def key_path(db: Path) -> Path:
    """Where the secret for store ``db`` lives (overridable with TA_OUTCOMES_BUYER_KEY_FILE)."""
    env = os.environ.get("TA_OUTCOMES_BUYER_KEY_FILE")
    return Path(env) if env else Path(db).resolve().parent / KEY_FILENAME


def secret_for(db: Path) -> str:
    """The store's secret (hex), created with mode 0600 on first use."""
    path = key_path(db)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write a complete temp file, then link it into place: the link either creates the key
        # file whole or fails because another process's key is already there. Nobody can ever
        # read a half-written (empty) key.
        fd, tmp = tempfile.mkstemp(prefix=".buyer-key-", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as fh:
                fh.write(secrets.token_hex(32) + "\n")
            os.chmod(tmp, 0o600)
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass
        finally:
            os.unlink(tmp)
    secret = path.read_text(encoding="ascii").strip()
    if len(secret) < 32:
        raise UserError(
            f"{path}: the buyer-key file is damaged (too short); restore it from a backup"
        )
    return secret
