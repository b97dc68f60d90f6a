"""What one refund asks of the ledger, statement by statement: a change that adds work to every refund shows
here (bench.overhead measures what it costs)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import create_engine, event, text

from refunder.ledger.audit import SYSTEM
from refunder.money import Money
from refunder.outcomes import apply_result
from tests.sidecar.helpers import ACTOR, ORDER, refund_body, register


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
    assert not [s for s in seen if s.startswith("SELECT refunds.id")], seen  # not read first: the UPDATE returns it
    assert not [s for s in seen if "SAVEPOINT" in s], seen  # no order snapshot: no credit note, no savepoint
    assert not [s for s in seen if "failure_code" in s], seen  # no failed refund: its last failure is not read
    assert sum(s.startswith("INSERT INTO audit_events") for s in seen) == 2  # requested, refunded



def test_a_documented_refund_reads_its_snapshot_with_its_row_and_issues_in_one_savepoint(
        app: Any, api: Any, simulator: Any, clock: Any) -> None:
    simulator.add_payment("sim-stmt-doc", Money(100000, "NOK"), clock() - timedelta(days=2))
    answer = api.post("/v1/payments", {
        "provider": "simulator", "reference": "sim-stmt-doc", "order_id": "1001", "actor": ACTOR,
        "captured": {"value": 100000, "currency": "NOK"}, "paid_at": "2026-11-20T10:00:00+00:00", "document": ORDER})
    assert answer.status_code == 200, answer.json
    with statements(app) as seen:
        answer = api.post(f"/v1/payments/{answer.json['id']}/refunds", refund_body(2500),
                          headers={"Idempotency-Key": "stmt-key-doc1"})
    assert answer.status_code == 201 and answer.json["status"] == "refunded"
    assert [s for s in seen if "SAVEPOINT" in s] == ["SAVEPOINT refunder_issue"], seen  # no RELEASE round trip
    assert not [s for s in seen if s.startswith("SELECT payment_documents.document")], seen  # read with the UPDATE
    assert sum(s.startswith("INSERT INTO credit_notes") for s in seen) == 1


def test_a_signed_refund_checks_out_one_ledger_connection_on_postgresql(
        app: Any, api: Any, simulator: Any, clock: Any) -> None:
    """Nonce, refund lock, recording and the answer on one connection: one checkout, not one per transaction
    (the refund lock takes no connection of its own either)."""
    db = app.extensions["refunder"].db
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite: no pool to check, and nonces live in a file of their own")
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


def test_connections_the_postgresql_server_closed_are_replaced_and_live_ones_used_without_a_ping(
        app: Any, api: Any, simulator: Any, clock: Any) -> None:
    """A restart (here: every backend of the ledger terminated, as a restart or an idle timeout does) leaves the
    pool's connections closed by the server: the next refund, and the next refund lock taken outside a request,
    get new ones instead of failing. A connection the server has not closed is used as it is (no round trip)."""
    db = app.extensions["refunder"].db
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite: no server to lose")
    simulator.add_payment("sim-restart", Money(100000, "NOK"), clock() - timedelta(days=2))
    payment = register(api, "simulator", "sim-restart", 100000)
    with db._locks.hold("rf_before"):
        pass  # the lock pool keeps a connection too
    pings: list[object] = []
    ping = db.engine.dialect.do_ping

    def counted(connection: Any) -> bool:
        pings.append(None)
        return ping(connection)

    db.engine.dialect.do_ping = counted  # type: ignore[method-assign]
    db._lock_engine.dialect.do_ping = counted  # type: ignore[method-assign]
    answer = api.post(f"/v1/payments/{payment['id']}/refunds", refund_body(1000),
                      headers={"Idempotency-Key": "restart-key-001"})
    assert answer.status_code == 201 and pings == []  # pooled, still open: used as it is

    admin = create_engine(db.engine.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        gone = c.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalars().all()
        assert gone and all(gone)
        for _ in range(100):
            if not c.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                  "AND pid <> pg_backend_pid()")).scalar():
                break
            time.sleep(0.02)
    admin.dispose()

    answer = api.post(f"/v1/payments/{payment['id']}/refunds", refund_body(1000),
                      headers={"Idempotency-Key": "restart-key-002"})
    assert answer.status_code == 201 and answer.json["status"] == "refunded", answer.json
    with db._locks.hold("rf_after") as taken:
        assert taken
    assert api.get(f"/v1/payments/{payment['id']}").json["refunded"]["value"] == 2000


def test_an_answer_finds_its_refund_moved_meanwhile_and_applies_to_the_row_as_it_is(
        app: Any, api: Any, simulator: Any, clock: Any) -> None:
    """The answer is written without reading the row first, on condition that it is still as its sender recorded
    it. Here its provider's word arrived by another way while the call was out (moved to refunded, audited):
    the sender's answer, the same word, then moves nothing and audits nothing a second time."""
    service = app.extensions["refunder"]
    simulator.add_payment("sim-moved", Money(100000, "NOK"), clock() - timedelta(days=2))
    payment = register(api, "simulator", "sim-moved", 100000)
    sent = simulator.refund

    def answered_meanwhile(call: Any) -> Any:
        result = sent(call)
        apply_result(service, call.refund_id, result, SYSTEM)  # e.g. a webhook, applied while the call was out
        return result

    simulator.refund = answered_meanwhile
    with statements(app) as seen:
        answer = api.post(f"/v1/payments/{payment['id']}/refunds", refund_body(2500),
                          headers={"Idempotency-Key": "moved-key-0001"})
    assert answer.status_code == 201 and answer.json["status"] == "refunded", answer.json
    assert answer.json["provider_reference"]
    events = api.get(f"/v1/payments/{payment['id']}/events").json["events"]
    assert [e["action"] for e in events if e["refund_id"] == answer.json["id"]] == [
        "refund.requested", "refund.refunded"]
    assert sum(s.startswith("UPDATE refunds") for s in seen) == 2  # the webhook's, and the sender's that found it moved
