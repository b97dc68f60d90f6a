"""Idempotency keys are forgotten after 30 days by the running service; refunds and audit events never."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select

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


def test_a_purge_that_finds_the_ledger_busy_does_not_fail_the_request(api: Any, db: Database,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite: a writer holds the ledger past the write queue's wait; the purge gives up, the request goes on."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the write queue is SQLite's")
    monkeypatch.setattr(retention, "PURGE_EVERY", 1)
    monkeypatch.setattr(database, "BUSY_TIMEOUT", 0.3)  # a writer's patience, shortened for the test
    with db.transaction() as s:  # holds the write queue until the ping is answered
        s.execute(select(1))
        ping = api.get("/v1/ping")
    assert ping.status_code == 200, ping.json
