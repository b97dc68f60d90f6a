"""Engine set-up, transactions and per-payment serialization.

PostgreSQL: a refund's checks run under SELECT ... FOR UPDATE on the payment row.
SQLite: every writing transaction starts with BEGIN IMMEDIATE, which takes the database's write lock, so
checks and the insert that follows them can never interleave (across threads and processes). Before it,
the connection queues on an flock of "<database>.lock", trying again every 2 ms at most: SQLite's own
wait for a busy database sleeps in steps of up to 100 ms. After BUSY_TIMEOUT it gives up, as SQLite does.
Reading transactions (Database.reading) begin deferred and never queue: in WAL mode they read the last
committed state while a writer works. Request nonces, written by every signed call, live in a database
file of their own ("<database>.nonces"), so signed reads never wait behind a ledger writer either.

A ledger that cannot be reached (server down, pool exhausted, SQLite locked past its timeout) raises
LedgerUnavailable, answered 503 with Retry-After.

PostgreSQL: a signed request's ledger work (its nonce, then its transactions one after another) runs on one
connection checked out for the request (Database.request_scope): one checkout per request, not one per
transaction. A checkout costs no round trip: only a connection the server has closed is noticed and replaced
(_checked_on_checkout). A transaction opened while another is open on it gets a connection of its own. The
refund locks the request took on it are freed when the scope ends, just before the connection is given back.
"""

from __future__ import annotations

import fcntl
import functools
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from select import POLLIN, poll
from typing import Any, TypeVar, cast

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, Table, bindparam, create_engine, event, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError, IntegrityError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from ..errors import LedgerUnavailable
from .locks import FREE_ADVISORY, TRY_ADVISORY, advisory_key, refund_locks
from .models import Payment, RequestNonce

MIGRATIONS = Path(__file__).with_name("migrations")
BUSY_TIMEOUT = 30.0  # seconds a SQLite writer waits, in the queue and then for SQLite's own lock
LOCK_WAIT_AT_ONCE = 100  # milliseconds housekeeping on PostgreSQL waits for a lock (Database.at_once)
CONNECT_TIMEOUT = 5  # seconds to reach the PostgreSQL server before the ledger counts as unavailable
READ_ONLY = "refunder_read_only"  # execution option of reading transactions
AT_ONCE = "refunder_at_once"  # execution option of housekeeping: the write queue tried once, never waited for
_UNAVAILABLE = (OperationalError, InterfaceError, PoolTimeout, sqlite3.OperationalError)
_MIGRATION_LOCK_ID = 0x52454655  # "REFU": one migrating process at a time on PostgreSQL
_LOCK_PAYMENT = select(Payment).where(Payment.id == bindparam("payment_id")).with_for_update()  # built once


def make_engine(url: str, connections: int | None = None) -> Engine:
    """`connections`: threads that may each hold one at once (their pool keeps that many); None: a few."""
    parsed = make_url(url)
    pool: dict[str, Any] = {"pool_size": connections} if connections else {}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT, "isolation_level": None,
                                                  "factory": _QueuedConnection}, **pool)
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return _checked_on_checkout(create_engine(url, connect_args={"connect_timeout": CONNECT_TIMEOUT}, **pool))


def _checked_on_checkout(engine: Engine) -> Engine:
    """PostgreSQL: a pooled connection the server has closed (a restart, an idle timeout, a terminated backend)
    is replaced before use, without a round trip for the ones it has not.

    An idle connection the server keeps has nothing to read; one it closes gets its goodbye (an error message,
    then the end of the stream), which makes the socket readable. So a quiet socket is used as it is, and only
    one with something pending is pinged (SQLAlchemy's pre-ping costs a round trip on every checkout)."""
    def check(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if dbapi_connection.closed:
            raise DisconnectionError("closed")
        socket = poll()
        socket.register(dbapi_connection.fileno(), POLLIN)
        if socket.poll(0):  # something to read, an error or a hang-up
            try:
                engine.dialect.do_ping(dbapi_connection)
            except Exception as exc:
                raise DisconnectionError("the server closed the connection") from exc

    event.listen(engine, "checkout", check)
    return engine


def _pool_of_its_own(engine: Engine) -> Engine:
    """For PostgreSQL refund locks: connections of their own, as many as there are holders (none kept idle
    beyond five), so lock holders never wait for a connection that other lock holders keep. In autocommit:
    a session's advisory lock needs no transaction, so taking and releasing one is a round trip each."""
    if engine.dialect.name != "postgresql":
        return engine
    return _checked_on_checkout(create_engine(engine.url, pool_size=5, max_overflow=-1, isolation_level="AUTOCOMMIT",
                                              connect_args={"connect_timeout": CONNECT_TIMEOUT}))


def nonce_url(url: str) -> str | None:
    """Where a SQLite ledger keeps request nonces (a file of their own); None: in the ledger itself."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:" \
            or parsed.database.startswith("file::memory:"):
        return None
    return parsed.set(database=f"{parsed.database}.nonces").render_as_string(hide_password=False)


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT * 1000)}")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    if connection.get_execution_options().get(READ_ONLY):
        connection.exec_driver_sql("BEGIN")  # deferred: a reader neither queues nor takes the write lock
        return
    connection.connection.dbapi_connection.queue(wait=not connection.get_execution_options().get(AT_ONCE))
    connection.exec_driver_sql("BEGIN IMMEDIATE")


class _QueuedConnection(sqlite3.Connection):
    """An SQLite connection that waits its turn for writing on a lock file (see the module's notes)."""

    def __init__(self, database: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(database, *args, **kwargs)
        memory = database in ("", ":memory:") or database.startswith("file::memory:")
        self._lock = None if memory else os.open(f"{database}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        self._held = False

    def queue(self, wait: bool = True) -> None:
        """Take the write queue's lock; `wait` False: only if it is free now."""
        if self._lock is None or self._held:
            return
        deadline, pause = time.monotonic() + BUSY_TIMEOUT, 0.0002
        while True:
            try:
                fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if not wait:
                    raise sqlite3.OperationalError("database is locked (a writer holds the ledger)") from None
                if time.monotonic() > deadline:
                    raise sqlite3.OperationalError(
                        f"database is locked (waited {BUSY_TIMEOUT:g} s for the ledger's write queue)") from None
                time.sleep(pause)
                pause = min(pause * 2, 0.002)
            else:
                self._held = True
                return

    def _leave(self) -> None:
        if self._held:
            self._held = False
            fcntl.flock(self._lock, fcntl.LOCK_UN)  # type: ignore[arg-type]

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._leave()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._leave()

    def close(self) -> None:
        self._leave()
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None
        super().close()


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (safe to call from several processes at once)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID})
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")
    separate = nonce_url(engine.url.render_as_string(hide_password=False))
    if separate is not None:
        nonces = make_engine(separate)
        cast(Table, RequestNonce.__table__).create(nonces, checkfirst=True)
        nonces.dispose()


@contextmanager
def ledger_errors() -> Iterator[None]:
    """Turn "the ledger cannot be reached" into LedgerUnavailable; every other error passes unchanged."""
    try:
        yield
    except _UNAVAILABLE as exc:
        raise LedgerUnavailable() from exc


class Database:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._readers = sessionmaker(engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False)
        self._lock_engine = _pool_of_its_own(engine)
        self._locks = refund_locks(self._lock_engine)
        self._request: ContextVar[_RequestLedger | None] = ContextVar(f"refunder_request_{id(self)}", default=None)

    @classmethod
    def from_url(cls, url: str, connections: int | None = None) -> Database:
        return cls(make_engine(url, connections))

    @functools.cached_property
    def nonce_engine(self) -> Engine:
        """Where request nonces are kept (made on first use: no connection is opened before gunicorn forks).

        On PostgreSQL the ledger's pool in autocommit: a nonce is one INSERT, no BEGIN or COMMIT around it."""
        separate = nonce_url(self.engine.url.render_as_string(hide_password=False))
        if separate is not None:
            return make_engine(separate)
        if self.engine.dialect.name == "postgresql":
            return self.engine.execution_options(isolation_level="AUTOCOMMIT")
        return self.engine

    def dispose(self) -> None:
        for engine in {self.engine, self._lock_engine, self.__dict__.get("nonce_engine", self.engine)}:
            engine.dispose()

    @contextmanager
    def request_scope(self) -> Iterator[None]:
        """PostgreSQL: the ledger work inside runs on one connection, checked out once, when first needed; the
        refund locks taken on it are freed, and it is given back, when the scope ends. Elsewhere nothing changes
        (SQLite: no pool to check, and nonces live in a file of their own)."""
        if self.engine.dialect.name != "postgresql" or self._request.get() is not None:
            yield
            return
        scope = _RequestLedger()
        token = self._request.set(scope)
        try:
            yield
        finally:
            self._request.reset(token)
            scope.close()

    def _request_connection(self) -> Connection | None:
        """The request's connection when there is one and no transaction is open on it (checked out on first use)."""
        scope = self._request.get()
        if scope is None:
            return None
        if scope.connection is None:
            with ledger_errors():
                scope.connection = self.engine.connect()
        return None if scope.connection.in_transaction() else scope.connection

    @contextmanager
    def autocommit(self) -> Iterator[Connection]:
        """A connection for one statement in autocommit (request nonces): no BEGIN or COMMIT around it."""
        connection = self._request_connection()
        if connection is None:
            with ledger_errors(), self.nonce_engine.begin() as separate:
                yield separate
            return
        with _autocommitting(connection):
            yield connection

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with ledger_errors(), self._session(self._sessions) as session, session.begin():
            yield session

    @contextmanager
    def at_once(self) -> Iterator[Connection]:
        """A writing transaction for housekeeping that rides along with a request, which it must never make wait:
        LedgerUnavailable unless the ledger can be written right away. SQLite: the write queue is tried once;
        PostgreSQL: on the request's connection when there is one (no checkout to wait for), and a lock held by
        another transaction is waited for LOCK_WAIT_AT_ONCE at most."""
        connection = self._request_connection()
        with ledger_errors():
            if connection is None:
                with self.engine.execution_options(**{AT_ONCE: True}).begin() as own:
                    yield self._without_lock_waits(own)
            else:
                with connection.begin():
                    yield self._without_lock_waits(connection)

    @staticmethod
    def _without_lock_waits(connection: Connection) -> Connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text(f"SET LOCAL lock_timeout = {LOCK_WAIT_AT_ONCE}"))
        return connection

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A transaction that only reads: on SQLite it never waits behind a writer."""
        with ledger_errors(), self._session(self._readers) as session, session.begin():
            yield session

    def _session(self, sessions: sessionmaker[Session]) -> Session:
        connection = self._request_connection()
        return sessions() if connection is None else sessions(bind=connection)

    @contextmanager
    def locked_payment(self, payment_id: str) -> Iterator[tuple[Session, Payment | None]]:
        """A transaction holding the payment's lock until it ends."""
        with self.transaction() as session:
            payment = session.scalars(_LOCK_PAYMENT, {"payment_id": payment_id}).one_or_none()
            yield session, payment

    @contextmanager
    def refund_lock(self, refund_id: str) -> Iterator[bool]:
        """The refund's lock (ledger.locks), taken without waiting: yields whether it was taken.

        PostgreSQL, in a request: held on the request's connection, between its transactions (no checkout of its
        own), and freed when the request's scope ends, which the app leaves for after the response (no round trip
        the caller waits for); if it cannot be freed then, the connection is dropped, and the lock with it."""
        connection = self._request_connection()
        if connection is None:
            with ledger_errors(), self._locks.hold(refund_id) as taken:
                yield taken
            return
        key = advisory_key(refund_id)
        with _autocommitting(connection):
            taken = bool(connection.execute(TRY_ADVISORY, key).scalar())
        try:
            yield taken
        finally:
            if taken:
                cast(_RequestLedger, self._request.get()).locks.append(key)

    def ready(self, timeout: float) -> None:
        """Raise LedgerUnavailable unless the ledger answers a read within about `timeout` seconds."""
        with self.reading() as s:
            if self.engine.dialect.name == "postgresql":
                s.execute(text(f"SET LOCAL statement_timeout = {int(timeout * 1000)}"))
            s.execute(text("SELECT 1 FROM payments LIMIT 1"))


@dataclass
class _RequestLedger:
    """A request's ledger connection (PostgreSQL), checked out on first use, and the refund locks held on it."""

    connection: Connection | None = None
    locks: list[dict[str, int]] = field(default_factory=list)

    def close(self) -> None:
        """Free the locks, then give the connection back (dropped, and its locks with it, if they cannot be freed)."""
        connection = self.connection
        if connection is None:
            return
        try:
            for key in self.locks:
                if connection.invalidated:  # its session is gone, and its locks with it
                    break
                try:
                    with _autocommitting(connection):
                        connection.execute(FREE_ADVISORY, key)
                except (LedgerUnavailable, SQLAlchemyError):  # the server went away: drop the session
                    connection.invalidate()
        finally:
            connection.close()


@contextmanager
def _autocommitting(connection: Connection) -> Iterator[None]:
    """Statements on a kept connection in autocommit (no BEGIN or COMMIT round trips); its isolation after."""
    with ledger_errors():  # a connection the server dropped fails as early as setting its isolation
        connection.execution_options(isolation_level="AUTOCOMMIT")
        try:
            with connection.begin():
                yield
        finally:
            if not connection.invalidated:
                connection.execution_options(isolation_level=connection.default_isolation_level)


T = TypeVar("T")


def once_more_on_conflict(work: Callable[[], T]) -> T:
    """Run work again once if a concurrent transaction inserted the same unique row first."""
    try:
        return work()
    except IntegrityError:
        return work()
