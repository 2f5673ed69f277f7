"""The store's errors: what a user can act on when a store cannot be opened or used.

In a module of their own so that the schema (which refuses a foreign store) and the connection
(which opens it and runs the schema's checks) both import them and neither imports the other
back.
"""

from __future__ import annotations

from analysis.errors import UserError
from analysis.store.lock import LockTimeout


class StoreError(UserError):
    """A problem with the store that the user can act on (missing, foreign, damaged)."""


class StoreMissing(StoreError):
    """The store file does not exist yet."""


class StoreBusy(LockTimeout):
    """Another process held the store open for longer than we were willing to wait."""
