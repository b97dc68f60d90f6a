"""What one refund asks of the ledger, statement by statement: a change that adds work to every refund shows
here (bench.overhead measures what it costs)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event

from refunder.money import Money
from tests.sidecar.helpers import refund_body, register


@contextmanager
def statements(app: Any) -> Iterator[list[str]]:
    """The SQL the ledger's engine runs meanwhile (each statement's first words)."""
    engine, seen = app.extensions["refunder"].db.engine, []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(" ".join(statement.split()[:3]))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_a_refund_writes_its_row_once_with_the_answer_and_opens_no_savepoint_without_a_document(
        app: Any, api: Any, simulator: Any, clock: Any) -> None:
    simulator.add_payment("sim-stmt", Money(100000, "NOK"), clock() - timedelta(days=2))
    payment = register(api, "simulator", "sim-stmt", 100000)
    with statements(app) as seen:
        answer = api.post(f"/v1/payments/{payment['id']}/refunds", refund_body(2500),
                          headers={"Idempotency-Key": "stmt-key-0001"})
    assert answer.status_code == 201 and answer.json["status"] == "refunded"
    updates = [s for s in seen if s.startswith("UPDATE refunds")]
    assert len(updates) == 1, seen  # status, provider reference and next read-back in one UPDATE
    assert not [s for s in seen if "SAVEPOINT" in s], seen  # no order snapshot: no credit note, no savepoint
    assert not [s for s in seen if "failure_code" in s], seen  # no failed refund: its last failure is not read
    assert sum(s.startswith("INSERT INTO audit_events") for s in seen) == 2  # requested, refunded


def test_a_signed_refund_checks_out_one_ledger_connection_on_postgresql(
        app: Any, api: Any, simulator: Any, clock: Any) -> None:
    """Nonce, refund lock, recording and the answer on one connection: one pre-ping, not one per transaction
    (the refund lock takes no connection of its own either)."""
    db = app.extensions["refunder"].db
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite: no pre-ping, and nonces live in a file of their own")
    simulator.add_payment("sim-checkout", Money(100000, "NOK"), clock() - timedelta(days=2))
    payment = register(api, "simulator", "sim-checkout", 100000)
    checkouts: list[object] = []

    def count(*_: Any) -> None:
        checkouts.append(None)

    pools = {db.engine.pool, db._lock_engine.pool}
    for pool in pools:
        event.listen(pool, "checkout", count)
    try:
        answer = api.post(f"/v1/payments/{payment['id']}/refunds", refund_body(2500),
                          headers={"Idempotency-Key": "checkout-key-01"})
    finally:
        for pool in pools:
            event.remove(pool, "checkout", count)
    assert answer.status_code == 201 and answer.json["status"] == "refunded"
    assert len(checkouts) == 1
