"""Refund locks: a server that goes away while a lock is being taken is an outage, not a crash; a request's lock
keeps others out across its transactions."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError, PendingRollbackError

from refunder.ledger.database import Database
from refunder.ledger.locks import AdvisoryLocks


class DyingConnection:
    """The server is stopped between taking the advisory lock and committing: as psycopg then behaves."""

    def __init__(self) -> None:
        self.broken = False
        self.closed = False

    def execute(self, *_: Any) -> Any:
        if self.broken:
            raise PendingRollbackError("Can't reconnect until invalid transaction is rolled back.")
        return type("Result", (), {"scalar": lambda self: True})()

    def commit(self) -> None:
        self.broken = True
        raise OperationalError("COMMIT", {}, Exception("terminating connection due to administrator command"))

    def invalidate(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


def test_a_lock_whose_server_went_away_while_taking_it_is_the_outage_itself() -> None:
    connection = DyingConnection()
    locks = AdvisoryLocks(type("Engine", (), {"connect": lambda self: connection})())  # type: ignore[arg-type]
    with pytest.raises(OperationalError), locks.hold("rf_dying"):  # answered 503 ledger_unavailable upstream
        pass
    assert connection.closed


def test_a_requests_refund_lock_is_held_on_its_connection_across_its_transactions(db: Database) -> None:
    """PostgreSQL: no connection of its own, yet another holder is kept out until it is freed (SQLite: a file)."""
    taken_elsewhere: list[bool] = []

    def try_elsewhere() -> None:  # another request or the follow-up: a thread without this request's scope
        with db.refund_lock("rf_scoped") as taken:
            taken_elsewhere.append(taken)

    with db.request_scope(), db.refund_lock("rf_scoped") as mine:
        assert mine
        with db.transaction() as s:  # the refund recorded meanwhile, on the same connection
            s.execute(text("SELECT 1"))
        _in_thread(try_elsewhere)
        with db.transaction() as s:
            s.execute(text("SELECT 1"))
        _in_thread(try_elsewhere)
    _in_thread(try_elsewhere)
    assert taken_elsewhere == [False, False, True]


def _in_thread(work: Callable[[], None]) -> None:
    thread = threading.Thread(target=work)
    thread.start()
    thread.join(10)
