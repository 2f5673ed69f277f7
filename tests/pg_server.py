"""A private PostgreSQL server for the pooled store's tests and benchmark: initdb and pg_ctl on a
unix socket in a temporary folder (no TCP port), run as the ``postgres`` user when we are root
(initdb refuses root). Nothing else of the machine is touched; :func:`stop` removes it all."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


class Unavailable(Exception):
    """PostgreSQL cannot be started here; the message says why (a test skips with it)."""


@dataclass(frozen=True)
class Server:
    bindir: Path
    socket: Path  # the folder of the unix socket (libpq's host=)
    as_user: tuple[str, ...]

    def createdb(self, name: str) -> str:
        """A new database; returns the lake's name ``ducklake:postgres:dbname=... host=...``."""
        subprocess.run(
            [self.bindir / "createdb", "-h", self.socket, "-U", "ta", name],
            check=True,
            capture_output=True,
        )
        return f"ducklake:postgres:dbname={name} host={self.socket} user=ta"


def bindir() -> Path | None:
    """The folder of initdb and pg_ctl: on PATH, else Debian's /usr/lib/postgresql/N/bin."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(candidate) / "initdb").exists():
            return Path(candidate)
    return None


def start(fsync: bool = False) -> Server:
    """Start a server (trust authentication, role ``ta``); raises Unavailable. ``fsync`` off by
    default (a test's server is thrown away); the benchmark turns it on, as a real server runs."""
    found = bindir()
    if found is None:
        raise Unavailable(
            "PostgreSQL's initdb/pg_ctl are not installed (Debian: apt-get install postgresql)"
        )
    as_user: tuple[str, ...] = ()
    root = Path(tempfile.mkdtemp(prefix="ta-pg-"))  # short: a socket path has ~100 characters
    if os.geteuid() == 0:
        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(root)
            raise Unavailable(
                "running as root and there is no `postgres` user to run it as"
            ) from None
        os.chown(root, account.pw_uid, account.pw_gid)
        as_user = ("runuser", "-u", "postgres", "--")
    data = root / "data"
    options = (
        f"-k {root} -c listen_addresses='' -c fsync={'on' if fsync else 'off'} "
        "-c max_connections=60"
    )
    try:
        subprocess.run(
            [*as_user, found / "initdb", "-D", data, "-A", "trust", "-U", "ta", "--no-sync"],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [*as_user, found / "pg_ctl", "-D", data, "-o", options, "-l", root / "log", "-w",
             "start"],
            check=True,
            capture_output=True,
        )  # fmt: skip
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(root, ignore_errors=True)
        raise Unavailable(
            f"PostgreSQL did not start: {exc.stderr.decode(errors='replace')[:300]}"
        ) from None
    return Server(found, root, as_user)


def stop(server: Server) -> None:
    """Stop the server at once and remove its folder."""
    subprocess.run(
        [*server.as_user, server.bindir / "pg_ctl", "-D", server.socket / "data", "-m",
         "immediate", "stop"],
        capture_output=True,
    )  # fmt: skip
    shutil.rmtree(server.socket, ignore_errors=True)
