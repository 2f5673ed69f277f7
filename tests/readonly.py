"""A store that the reading process cannot write: its file, its folder and any lock file beside it.

Used by the tests that prove a reader who cannot write still gets its figures (issue 14). The
reader is the same user as the test (so it can reach the checkout and its virtual environment
wherever the project was cloned, a 0700 home folder included: issue 32), and write access is
taken away by permissions alone: the store is 0444 in a 0555 folder. Root overrides permissions
through its capabilities (CAP_DAC_OVERRIDE), so when the tests run as root the reader runs under
``setpriv`` with every capability dropped from its bounding, inheritable and ambient sets: a
process that cannot override the missing write bits. Before each test the same command is
proved unable to write there; where it can (no ``setpriv``, or a machine that keeps the
capability), the test is skipped with that reason, never silently passed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

#: Run a command with no capability to override file permissions (for a test run as root).
DROP_CAPABILITIES = ["setpriv", "--bounding-set=-all", "--inh-caps=-all", "--ambient-caps=-all"]


@dataclass(frozen=True)
class UnwritableStore:
    """A copy of a store in a folder, neither of which the reader may write."""

    folder: Path
    db: Path

    def run(self, argv: list[str], **kwargs) -> subprocess.CompletedProcess:
        """Run ``argv`` as a process that cannot write the store, its folder or a lock file."""
        env = {**os.environ, "HOME": str(self.folder), **kwargs.pop("env", {})}
        return subprocess.run(
            reader_prefix() + argv, capture_output=True, text=True, env=env, **kwargs
        )


def reader_prefix() -> list[str]:
    """The command prefix that makes a process unable to override file permissions."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: no way to drop the capability to write")
    return list(DROP_CAPABILITIES)


@contextlib.contextmanager
def unwritable_store(source: Path, prefix: str = "ta-readonly-") -> Iterator[UnwritableStore]:
    """Copy ``source`` into a fresh folder, take away its write bits, and prove them gone."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        db = folder / "cases.duckdb"
        shutil.copy(source, db)
        db.chmod(0o444)
        folder.chmod(0o555)
        target = UnwritableStore(folder, db)
        probe = target.run(
            ["sh", "-c", 'touch "$1/probe" 2>/dev/null || : >> "$2" 2>/dev/null', "sh",
             str(folder), str(db)]
        )  # fmt: skip
        if probe.returncode == 0:
            pytest.skip(
                f"this machine lets the reader write {folder} despite its permissions "
                "(a capability that cannot be dropped here), so 'cannot write' cannot be tested"
            )
        yield target
    finally:
        folder.chmod(stat.S_IRWXU)
        shutil.rmtree(folder)
