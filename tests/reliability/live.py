"""Real processes for fault tests: a signed HTTP client for a running sidecar, a private PostgreSQL server
that a test may stop and start (never the shared test server of scripts/postgres.sh), a process stuck in
a SQLite write transaction, and a process killed in the middle of a refund."""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from tests.conftest import SECRET, signed
from tests.fakes.sidecar import free_port


def call(url: str, method: str, target: str, body: Any = None, headers: dict[str, str] | None = None,
         timeout: float = 60) -> requests.Response:
    """A request signed as the WordPress plugin signs it."""
    data = json.dumps(body).encode() if body is not None else b""
    extra = {"Content-Type": "application/json", **(headers or {})}
    return requests.request(method, url + target, data=data, timeout=timeout,
                            headers={**extra, **signed(SECRET, method, target, data, datetime.now(UTC), extra)})


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


HOLD = textwrap.dedent("""
    import fcntl, os, sqlite3, sys, time
    path, seconds = sys.argv[1], float(sys.argv[2])
    queue = os.open(path + ".lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(queue, fcntl.LOCK_EX)            # first in the sidecar's write queue...
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("BEGIN IMMEDIATE")                # ...and holding SQLite's write lock, then stuck
    db.execute("UPDATE payments SET updated_at = updated_at")
    print("held", flush=True)
    time.sleep(seconds)
""")


@contextmanager
def stuck_writer(database_url: str, seconds: float = 30) -> Iterator[subprocess.Popen[str]]:
    """Another process inside a write transaction of the SQLite ledger that does not finish."""
    path = database_url.removeprefix("sqlite:///")
    holder = subprocess.Popen([sys.executable, "-c", HOLD, path, str(seconds)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        yield holder
    finally:
        holder.kill()
        holder.wait()


CRASHING_REFUND = textwrap.dedent("""
    import os, sys
    from datetime import datetime, timezone
    from refunder.ledger.database import Database
    from refunder.money import Money
    from refunder.providers.simulator import SimulatorProvider
    from refunder.ledger.audit import Actor
    from refunder.refunds import RefundRequest
    from refunder.service import RefundService

    url, sim_path, payment_id, when, key, amount = sys.argv[1:7]
    clock = lambda: datetime.now(timezone.utc)

    class Dies(SimulatorProvider):
        def refund(self, call):
            if when == "before":
                os._exit(9)  # killed after the ledger recorded the refund, before the provider got it
            super().refund(call)
            os._exit(9)  # killed after the provider refunded, before the ledger heard the answer

    service = RefundService(Database.from_url(url), {"simulator": Dies(sim_path, clock)}, clock)
    service.refunds.create_refund(payment_id, RefundRequest(Money(int(amount), "NOK"), "Cancelled", Actor("1", "Kari")),
                          key, key)
""")


def crash_during_refund(database_url: str, simulator_path: Path, payment_id: str, when: str, key: str,
                        amount: int) -> None:
    """A process that records a refund and is killed (-9 style) before or after the provider's call."""
    child = subprocess.run([sys.executable, "-c", CRASHING_REFUND, database_url, str(simulator_path), payment_id,
                            when, key, str(amount)], capture_output=True, text=True, timeout=60)
    assert child.returncode == 9, child.stderr
