"""Waiting for an inter-process lock, saying so: the one place that does it.

The store's writer lock (``<db>.lock``), a report's run lock (``OUT/NAME/PERIOD/.lock``) and the
catalogue's lock all wait the same way: try at once; if another process holds the lock, print one
line saying what we wait for and for how long, wait up to the timeout, then either go on (saying
how long it took) or fail with one line.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock, Timeout

from analysis.errors import UserError


class LockTimeout(UserError):
    """Another process held a lock for longer than we were willing to wait."""

    exit_code = 75  # EX_TEMPFAIL: try again later


@contextlib.contextmanager
def held(
    path: Path | str,
    timeout: float,
    waiting: str,
    error: str,
    acquired: str = "lock acquired after {seconds:.1f} s",
    quiet: bool = False,
    exit_code: int | None = None,
) -> Iterator[None]:
    """Hold the file lock ``path``; tell the user on stderr when another process makes us wait.

    ``waiting`` is the line printed when we must wait, ``acquired`` the line once we have it
    (``{seconds}`` is filled in), ``error`` the one-line failure after ``timeout`` seconds.
    """
    lock = FileLock(str(path))
    try:
        lock.acquire(timeout=0.05)
    except Timeout:
        if not quiet:
            print(waiting, file=sys.stderr, flush=True)
        t0 = time.monotonic()
        try:
            lock.acquire(timeout=timeout)
        except Timeout:
            raise LockTimeout(error, exit_code=exit_code) from None
        if not quiet:
            print(acquired.format(seconds=time.monotonic() - t0), file=sys.stderr, flush=True)
    try:
        yield
    finally:
        lock.release()
