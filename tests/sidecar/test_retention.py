"""Idempotency keys are forgotten after 30 days by the running service; refunds and audit events never."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from sqlalchemy import func, select, text

from refunder import signing
from refunder.ledger import database, retention
from refunder.ledger.database import Database
from refunder.ledger.models import AuditEvent, IdempotencyKey, Refund
from refunder.ledger.retention import IDEMPOTENCY_KEYS_KEPT
from tests.sidecar.helpers import refund_body, register


def count(db: Database, model: Any) -> int:
    with db.transaction() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_keys_older_than_30_days_are_purged_and_the_record_stays(api: Any, db: Database, clock: Any,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retention, "PURGE_EVERY", 1)  # every signed request purges (100 in production)
    assert IDEMPOTENCY_KEYS_KEPT.days == 30
    payment = register(api, "manual", "bank-retention", 10000)
    target = f"/v1/payments/{payment['id']}/refunds"
    data = json.dumps(refund_body(2500, bank_reference="B1")).encode()
    captured = signing.signed_headers(api.secret, "POST", target, data, int(clock().timestamp()),
                                      idempotency_key="kept-for-30-days")
    first = api.client.post(target, data=data, headers=captured)
    assert first.status_code == 201
    events = count(db, AuditEvent)

    clock.advance(days=29, hours=23)  # a purge runs before this request: the key is still kept
    replay = api.post(target, refund_body(2500, bank_reference="B1"), headers={"Idempotency-Key": "kept-for-30-days"})
    assert replay.status_code == 200 and replay.json["id"] == first.json["id"]

    clock.advance(hours=2)
    assert api.get("/v1/ping").status_code == 200  # any signed request purges now and then
    assert count(db, IdempotencyKey) == 0
    assert count(db, Refund) == 1 and count(db, AuditEvent) == events
    assert api.get(f"/v1/payments/{payment['id']}/events").json["events"][-1]["action"] == "refund.refunded"

    again = api.client.post(target, data=data, headers=captured)  # the captured request, replayed late
    assert again.status_code == 401 and again.json["code"] == "signature_expired"
    assert api.get(f"/v1/payments/{payment['id']}").json["refunded"]["value"] == 2500


def test_a_purge_never_makes_its_request_wait_for_a_busy_ledger(api: Any, db: Database, clock: Any,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A writer holds the ledger for longer than a request may wait (SQLite: its write queue; PostgreSQL: a lock
    on the very key due to go): the purge is left for the next time and the request is answered at once."""
    monkeypatch.setattr(retention, "PURGE_EVERY", 1)
    monkeypatch.setattr(database, "BUSY_TIMEOUT", 5.0)  # what the purge once waited, before giving up
    payment = register(api, "manual", "bank-busy", 10000)
    made = api.post(f"/v1/payments/{payment['id']}/refunds", refund_body(100, bank_reference="B2"),
                    headers={"Idempotency-Key": "old-key-000001"})
    assert made.status_code == 201
    clock.advance(days=31)
    with db.transaction() as s:  # SQLite: holds the write queue (BEGIN IMMEDIATE); PostgreSQL: the key's row
        if db.engine.dialect.name == "postgresql":  # should the purge wait for it: a failure, not a deadlock
            s.execute(text("SET LOCAL idle_in_transaction_session_timeout = '3s'"))
        s.execute(select(IdempotencyKey).where(IdempotencyKey.key == "old-key-000001").with_for_update())
        started = time.monotonic()
        ping = api.get("/v1/ping")
        waited = time.monotonic() - started
    assert ping.status_code == 200 and waited < 1.0, (ping.status_code, waited)
    assert count(db, IdempotencyKey) == 1  # left for the next time
    assert api.get("/v1/ping").status_code == 200
    assert count(db, IdempotencyKey) == 0
