"""Credit note numbers under concurrency: 200 refunds at once through four sidecar instances → 1..200, no gap,
no duplicate, on SQLite and PostgreSQL; and a refund reported refunded twice at once gets one number."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from refunder.app import create_app
from refunder.bookkeeping.models import CreditNote
from refunder.ledger.audit import SYSTEM
from refunder.money import Money
from refunder.outcomes import apply_result
from refunder.providers.base import ProviderResult
from refunder.providers.simulator import SimulatorProvider
from refunder.rules import RefundStatus
from tests.conftest import SignedClient
from tests.sidecar.helpers import ACTOR, CountingProvider, refund_body
from tests.sidecar.test_credit_notes import ORDER

REFUNDS = 200
INSTANCES = 4
THREADS = 16


def test_200_concurrent_refunds_are_numbered_1_to_200(settings: Any, db: Any, clock: Any) -> None:
    simulator = SimulatorProvider(settings.section("simulator")["path"], clock)
    provider = CountingProvider(simulator, delay=0.005)  # the provider call overlaps other refunds' commits
    instances = [create_app(settings, clock=clock, providers={"simulator": provider}) for _ in range(INSTANCES)]
    payments = []
    for i in range(REFUNDS):
        reference = f"sim-num-{i:03d}"
        simulator.add_payment(reference, Money(100000, "NOK"), clock() - timedelta(days=1))
        answer = SignedClient(instances[i % INSTANCES].test_client(), clock).post("/v1/payments", {
            "provider": "simulator", "reference": reference, "order_id": str(5000 + i),
            "captured": {"value": 100000, "currency": "NOK"}, "paid_at": "2026-11-20T10:00:00+00:00",
            "actor": ACTOR, "document": ORDER})
        payments.append(answer.json["id"])

    def refund(i: int) -> str:
        client = SignedClient(instances[i % INSTANCES].test_client(), clock)
        answer = client.post(f"/v1/payments/{payments[i]}/refunds", refund_body(1000 + i),
                             headers={"Idempotency-Key": f"numbering-{i:03d}"})
        assert answer.status_code == 201, answer.json
        return str(answer.json["id"])

    with ThreadPoolExecutor(THREADS) as pool:
        refund_ids = list(pool.map(refund, range(REFUNDS)))

    with db.transaction() as s:
        notes = list(s.scalars(select(CreditNote)))
    assert sorted(n.number for n in notes) == list(range(1, REFUNDS + 1))
    assert sorted(n.refund_id for n in notes) == sorted(refund_ids)  # one each
    by_refund = {n.refund_id: n for n in notes}
    assert all(by_refund[rid].gross_minor == 1000 + i for i, rid in enumerate(refund_ids))
    assert {n.series for n in notes} == {"923456789"}


def test_a_refund_reported_refunded_twice_at_once_gets_one_number(settings: Any, db: Any, clock: Any) -> None:
    simulator = SimulatorProvider(settings.section("simulator")["path"], clock)
    simulator.add_payment("sim-twice-async", Money(100000, "NOK"), clock() - timedelta(days=1))
    instances = [create_app(settings, clock=clock) for _ in range(INSTANCES)]
    client = SignedClient(instances[0].test_client(), clock)
    payment = client.post("/v1/payments", {
        "provider": "simulator", "reference": "sim-twice-async", "order_id": "6000",
        "captured": {"value": 100000, "currency": "NOK"}, "paid_at": "2026-11-20T10:00:00+00:00",
        "actor": ACTOR, "document": ORDER}).json
    pending = client.post(f"/v1/payments/{payment['id']}/refunds", refund_body(5000),
                          headers={"Idempotency-Key": "twice-0001"}).json
    assert pending["status"] == "processing"

    def report(i: int) -> str:  # webhooks and read-backs from every instance, all at once
        service = instances[i % INSTANCES].extensions["refunder"]
        return str(apply_result(service, pending["id"], ProviderResult(RefundStatus.REFUNDED), SYSTEM).status)

    with ThreadPoolExecutor(THREADS) as pool:
        assert set(pool.map(report, range(THREADS))) == {"refunded"}
    with db.transaction() as s:
        assert [(n.number, n.kind) for n in s.scalars(select(CreditNote))] == [(1, "credit_note")]
