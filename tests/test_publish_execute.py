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


def test_a_report_waits_for_slow_outputs_longer_than_nbclients_four_seconds(tmp_path, monkeypatch):
    # a 10M store's supplier tables took longer than nbclient's default 4 s to arrive after their
    # cell finished, and papermill failed the report ("Timeout waiting for IOPub output")
    import nbformat
    from papermill.clientwrap import PapermillNotebookClient

    from analysis import settings

    seen = {}
    execute_cells = PapermillNotebookClient.execute

    def spy(self, *args, **kwargs):
        seen["iopub_timeout"], seen["raise"] = self.iopub_timeout, self.raise_on_iopub_timeout
        return execute_cells(self, *args, **kwargs)

    monkeypatch.setattr(PapermillNotebookClient, "execute", spy)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1 + 1\nx")])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    source, output = tmp_path / "in.ipynb", tmp_path / "out.ipynb"
    nbformat.write(nb, source)
    execute.execute_notebook(source, output, {}, progress=False)
    assert seen == {"iopub_timeout": settings.OUTPUT_WAIT_TIMEOUT, "raise": True}
    assert settings.OUTPUT_WAIT_TIMEOUT == 120
    assert nbformat.read(output, 4).cells[0].outputs[0]["data"]["text/plain"] == "2"
