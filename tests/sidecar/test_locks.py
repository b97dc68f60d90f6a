"""Refund locks: a server that goes away while a lock is being taken is an outage, not a crash; a request's lock
keeps others out across its transactions, until its response is sent."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError, PendingRollbackError

from refunder.api.after_response import responding
from refunder.ledger.database import Database
from refunder.ledger.locks import AdvisoryLocks
from refunder.money import Money
from tests.sidecar.helpers import refund_body, register


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


def test_a_senders_lock_is_freed_and_its_connection_given_back_after_the_response(
        app: Any, api: Any, simulator: Any, clock: Any) -> None:
    """As `refunder serve`'s worker runs a request (api.after_response): the answer is written while the refund's
    lock is still held (PostgreSQL: freeing it is a round trip the caller need not wait for), then it is freed."""
    db: Database = app.extensions["refunder"].db
    simulator.add_payment("sim-after", Money(100000, "NOK"), clock() - timedelta(days=2))
    payment = register(api, "simulator", "sim-after", 100000)
    taken_elsewhere: list[bool] = []

    def try_elsewhere() -> None:  # the follow-up: another thread
        with db.refund_lock(refund_id) as taken:
            taken_elsewhere.append(taken)

    with responding():
        answer = api.post(f"/v1/payments/{payment['id']}/refunds", refund_body(2500),
                          headers={"Idempotency-Key": "after-response-1"})
        assert answer.status_code == 201 and answer.json["status"] == "refunded"
        refund_id = answer.json["id"]
        _in_thread(try_elsewhere)
        held = db.engine.pool.checkedout()
    _in_thread(try_elsewhere)
    if db.engine.dialect.name == "postgresql":
        assert taken_elsewhere == [False, True]
        assert (held, db.engine.pool.checkedout()) == (1, 0)
    else:  # SQLite: a lock file, freed as the sender leaves it
        assert taken_elsewhere == [True, True]
