"""Refund locks: who is sending or reading back a refund right now, so no refund is worked on twice at once.

A refund's sender holds its lock from before the refund is recorded until the provider's answer is recorded
(PostgreSQL, in a request: until its response is sent, Database.refund_lock); the follow-up, reconcile and
refresh take it without waiting and leave the refund alone while it is held. The lock belongs to a living
process, not to a row: the operating system (SQLite: an flock on a file beside the ledger) or the database
server (PostgreSQL: a session advisory lock) releases it the moment its holder dies. A refund still in
flight whose lock is free is therefore being sent by no one: the provider either has it (read it back) or
never got it (send it again with the same key), at once.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Protocol

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

_ADVISORY_SPACE = 0x52465344  # "RFSD": the first key of every refund's advisory lock
TRY_ADVISORY = text("SELECT pg_try_advisory_lock(:space, :key)")
FREE_ADVISORY = text("SELECT pg_advisory_unlock(:space, :key)")


class RefundLocks(Protocol):
    def hold(self, refund_id: str) -> AbstractContextManager[bool]:
        """Take the refund's lock without waiting; yields whether it was taken, releases it on leaving."""


def refund_locks(engine: Engine) -> RefundLocks:
    """Advisory locks on PostgreSQL; lock files beside a SQLite ledger (one process for :memory:).

    On PostgreSQL `engine` should have a pool of its own: a lock's connection is kept while its holder
    works with other connections, so a shared pool could be emptied by lock holders waiting for it. In
    autocommit, its commits are no-ops and no BEGIN goes out: one round trip to take a lock, one to free it.
    """
    if engine.dialect.name == "postgresql":
        return AdvisoryLocks(engine)
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return ThreadLocks()
    return FileLocks(Path(f"{database}.refunds"))


class FileLocks:
    """An flock on <ledger>.refunds/<refund id>, removed by its holder when done."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @contextmanager
    def hold(self, refund_id: str) -> Iterator[bool]:
        self.directory.mkdir(mode=0o700, exist_ok=True)
        path = self.directory / refund_id
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                yield False
                return
            if not _still_named(fd, path):  # its holder removed the file after we opened it: a stale inode
                yield False
                return
            try:
                yield True
            finally:
                path.unlink(missing_ok=True)
        finally:
            os.close(fd)  # releases the flock


def _still_named(fd: int, path: Path) -> bool:
    try:
        return os.fstat(fd).st_ino == os.stat(path).st_ino
    except FileNotFoundError:
        return False


class AdvisoryLocks:
    """pg_try_advisory_lock on a connection of its own, kept for as long as the lock is held."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def hold(self, refund_id: str) -> Iterator[bool]:
        key = advisory_key(refund_id)
        connection = self.engine.connect()
        taken = False
        try:
            taken = bool(connection.execute(TRY_ADVISORY, key).scalar())
            connection.commit()
            yield taken
        finally:
            try:
                if taken:
                    connection.execute(FREE_ADVISORY, key)
                    connection.commit()
            except SQLAlchemyError:  # the server went away (maybe mid-commit), and the lock with the session
                connection.invalidate()
            finally:
                connection.close()


def advisory_key(refund_id: str) -> dict[str, int]:
    """The parameters of TRY_ADVISORY and FREE_ADVISORY for a refund."""
    return {"space": _ADVISORY_SPACE,
            "key": int.from_bytes(hashlib.sha256(refund_id.encode()).digest()[:4], "big", signed=True)}


class ThreadLocks:
    """One process only (an in-memory ledger): a set of refund ids being worked on."""

    def __init__(self) -> None:
        self._held: set[str] = set()
        self._mutex = threading.Lock()

    @contextmanager
    def hold(self, refund_id: str) -> Iterator[bool]:
        with self._mutex:
            taken = refund_id not in self._held
            self._held.add(refund_id)
        try:
            yield taken
        finally:
            if taken:
                with self._mutex:
                    self._held.discard(refund_id)
