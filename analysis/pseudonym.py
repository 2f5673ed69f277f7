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
from pathlib import Path

KEY_FILENAME = ".ta-outcomes-buyer.key"


def key_path(db: Path) -> Path:
    """Where the secret for store ``db`` lives (overridable with TA_OUTCOMES_BUYER_KEY_FILE)."""
    env = os.environ.get("TA_OUTCOMES_BUYER_KEY_FILE")
    return Path(env) if env else Path(db).resolve().parent / KEY_FILENAME


def secret_for(db: Path) -> str:
    """The store's secret (hex), created with mode 0600 on first use."""
    path = key_path(db)
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_hex(32)
    # O_EXCL: two first ingests at once must not write two different secrets.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(secret + "\n")
    return secret
