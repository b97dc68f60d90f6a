"""SQLite writers queue on "<database>.lock" for exactly as long as their transaction lasts."""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, text

from refunder.errors import LedgerUnavailable
from refunder.ledger import database
from refunder.ledger.database import Database, migrate
from refunder.ledger.models import Payment


@pytest.fixture()
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    db = Database.from_url(f"sqlite:///{tmp_path / 'ledger.db'}")
    migrate(db.engine)
    yield db
    db.engine.dispose()


def lock_file(db: Database) -> int:
    """A descriptor of the queue's lock file of its own, as another process would have."""
    return os.open(f"{db.engine.url.database}.lock", os.O_RDWR)


def queue_is_free(db: Database) -> bool:
    fd = lock_file(db)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


def test_the_queue_is_held_from_first_statement_to_commit(sqlite_db: Database) -> None:
    with sqlite_db.transaction() as s:
        assert queue_is_free(sqlite_db)  # nothing sent yet
        s.execute(select(Payment.id))
        assert not queue_is_free(sqlite_db)
    assert queue_is_free(sqlite_db)
    with sqlite_db.engine.begin() as connection:
        connection.execute(text("SELECT 1"))
        assert not queue_is_free(sqlite_db)
    assert queue_is_free(sqlite_db)


def test_the_queue_is_released_when_a_transaction_fails(sqlite_db: Database) -> None:
    with pytest.raises(ZeroDivisionError), sqlite_db.transaction() as s:
        s.execute(select(Payment.id))
        raise ZeroDivisionError
    assert queue_is_free(sqlite_db)


def test_a_waiting_writer_starts_after_the_holder_commits(sqlite_db: Database) -> None:
    times: dict[str, float] = {}
    holding = threading.Event()

    def holder() -> None:
        with sqlite_db.transaction() as s:
            s.execute(select(Payment.id))
            holding.set()
            time.sleep(0.3)
        times["committed"] = time.monotonic()

    thread = threading.Thread(target=holder)
    thread.start()
    holding.wait(5)
    with sqlite_db.transaction() as s:
        s.execute(select(Payment.id))
        times["entered"] = time.monotonic()
    thread.join()
    assert times["entered"] >= times["committed"] - 0.005  # measured after commit returned, in another thread


def test_a_writer_gives_up_when_the_queue_never_frees(sqlite_db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(database, "BUSY_TIMEOUT", 0.2)
    fd = lock_file(sqlite_db)
    fcntl.flock(fd, fcntl.LOCK_EX)  # another process stuck inside a transaction
    try:
        started = time.monotonic()
        with pytest.raises(LedgerUnavailable) as caught, sqlite_db.transaction() as s:
            s.execute(select(Payment.id))
        assert "write queue" in str(caught.value.__cause__)
        assert 0.2 <= time.monotonic() - started < 5
    finally:
        os.close(fd)
    with sqlite_db.transaction() as s:  # and the database works again once it is free
        s.execute(select(Payment.id))
