"""Refund locks on PostgreSQL: a server that goes away while a lock is being taken is an outage, not a crash."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.exc import OperationalError, PendingRollbackError

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
