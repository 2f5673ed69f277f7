"""Errors the user can act on. The CLI prints their message as one line, never a traceback."""

from __future__ import annotations


class UserError(Exception):
    """A problem with the user's input or environment, explained in one line."""

    exit_code = 2

    def __init__(self, message: str, exit_code: int | None = None):
        # One line, always: a message with a newline would break "one-line error" promises.
        super().__init__(" ".join(str(message).split()))
        if exit_code is not None:
            self.exit_code = exit_code


class BadFile(UserError):
    """An input file that cannot be loaded at all (empty, not a table, a required column missing)."""

    exit_code = 1


class BadParameter(UserError):
    """A parameter outside what is accepted (an unknown period form, a threshold outside 0-1)."""

    exit_code = 2
