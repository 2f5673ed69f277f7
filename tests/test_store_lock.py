"""analysis.store.lock: waiting for another process's lock, saying so, and giving up in one line."""

from __future__ import annotations

import subprocess
import sys

import pytest

from analysis.store.lock import LockTimeout, held


def test_a_free_lock_is_taken_at_once_and_silently(tmp_path, capsys):
    with held(tmp_path / "x.lock", 1, waiting="waiting...", error="busy"):
        pass
    assert capsys.readouterr().err == ""


def test_a_held_lock_is_waited_for_with_a_message_then_given_up(tmp_path, capsys):
    path = tmp_path / "x.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from filelock import FileLock; l = FileLock(sys.argv[1]); "
         "l.acquire(); print('held', flush=True); time.sleep(6)", str(path)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(LockTimeout, match="^another run holds it$") as caught:
            with held(
                path, 0.3, waiting="waiting for the other run...", error="another run holds it"
            ):
                pass
        assert caught.value.exit_code == 75
        assert capsys.readouterr().err == "waiting for the other run...\n"
    finally:
        holder.kill()
        holder.wait()
    with held(path, 1, waiting="waiting...", error="busy", acquired="took {seconds:.0f} s"):
        pass
