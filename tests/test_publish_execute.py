"""analysis.publish.execute: papermill runs, and the socket folders killed runs leave behind."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from analysis.publish import execute

#: make test-fast leaves these out (make test runs them)
pytestmark = pytest.mark.notebook


def test_socket_folders_of_killed_runs_are_removed_and_live_ones_kept(tmp_path):
    # issue 14: killed reports left /tmp/ta-kernel-* folders behind
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f"{execute.SOCKET_PREFIX}{dead.pid}-abc"
    live = tmp_path / f"{execute.SOCKET_PREFIX}{os.getpid()}-def"
    other = tmp_path / "ta-kernel-notapid"
    for folder in (stale, live, other):
        folder.mkdir()
        (folder / "kernel-1").write_text("")
    assert execute.remove_stale_socket_dirs(tmp_path) == [stale]
    assert not stale.exists() and live.exists() and other.exists()
