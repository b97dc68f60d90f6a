"""Real processes for fault tests: a signed HTTP client for a running sidecar, and a private PostgreSQL
server that a test may stop and start (never the shared test server of scripts/postgres.sh)."""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

from refunder import signing
from tests.conftest import SECRET
from tests.fakes.sidecar import free_port


def call(url: str, method: str, target: str, body: Any = None, headers: dict[str, str] | None = None,
         timeout: float = 60) -> requests.Response:
    """A request signed as the WordPress plugin signs it."""
    data = json.dumps(body).encode() if body is not None else b""
    signed = signing.signed_headers(SECRET, method, target, data, int(time.time()))
    return requests.request(method, url + target, data=data, timeout=timeout,
                            headers={**signed, "Content-Type": "application/json", **(headers or {})})


def postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


class PrivatePostgres:
    """initdb + pg_ctl on a port and directory of its own; stop() and start() are the outage."""

    def __init__(self, directory: Path) -> None:
        self.bin = postgres_bin()
        assert self.bin is not None, "PostgreSQL binaries are missing (scripts/postgres.sh installs them)"
        self.directory, self.port = directory, free_port()
        self.url = f"postgresql+psycopg://refunder@127.0.0.1:{self.port}/refunder"

    def _run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
        if done.returncode:
            raise subprocess.CalledProcessError(done.returncode, command, done.stdout, done.stderr)

    def create(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres")
        self._run("initdb", "-D", str(self.directory / "data"), "-A", "trust", "-U", "refunder", "--no-sync",
                  "-E", "UTF8")
        self.start()
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "refunder", "refunder")

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.directory / "data"), "-l", str(self.directory / "server.log"), "-w", "-o",
                  f"-h 127.0.0.1 -p {self.port} -k {self.directory} -c fsync=off -c max_connections=200", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.directory / "data"), "-m", "fast", "-w", "stop")


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """A new server in a directory of its own under /tmp (the postgres user cannot enter pytest's)."""
    directory = Path(tempfile.mkdtemp(prefix="refunder-pg-private-"))
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres")
    server = PrivatePostgres(directory / "pg")
    try:
        server.create()
        yield server
    finally:
        try:
            server.stop()
        except subprocess.CalledProcessError:
            pass  # already stopped
        shutil.rmtree(directory, ignore_errors=True)
