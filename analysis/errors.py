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


class EnvironmentProblem(UserError):
    """The machine refused an ordinary request: a full disk, a folder that cannot be written, a
    path that is a file where a folder must be. Not a bug: one line naming the path and the cause."""

    exit_code = 74  # EX_IOERR

    @classmethod
    def from_os_error(cls, exc: OSError, doing: str = "cannot write") -> EnvironmentProblem:
        """``cannot write /reports/x.html: No space left on device``."""
        where = exc.filename if exc.filename is not None else ""
        cause = exc.strerror or type(exc).__name__
        return cls(f"{doing} {where}: {cause}".replace("  ", " "))


#: What DuckDB says when the machine refused it (its IOException carries no errno).
_DUCKDB_ENVIRONMENT = ("No space left on device", "Read-only file system", "Permission denied",
                       "Disk quota exceeded")  # fmt: skip


def environment_problem(exc: BaseException) -> EnvironmentProblem | None:
    """The :class:`EnvironmentProblem` an exception stands for, or None when it is something else."""
    if isinstance(exc, EnvironmentProblem):
        return exc
    if isinstance(exc, OSError) and exc.errno is not None:
        return EnvironmentProblem.from_os_error(exc)
    text = str(exc)
    for cause in _DUCKDB_ENVIRONMENT:
        if cause in text:
            first = text.strip().splitlines()[0][:300]
            return EnvironmentProblem(f"the store could not be written ({first})")
    return None
