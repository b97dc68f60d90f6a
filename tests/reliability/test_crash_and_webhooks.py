"""Faults that tests of the happy path never see: a process killed mid-refund, webhooks late and out of order."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from refunder.ledger.database import Database, migrate
from refunder.money import Money
from refunder.providers.base import PaymentClaim
from refunder.providers.simulator import SimulatorProvider
from refunder.refunds import Actor, RefundService
from refunder.rules import RefundStatus
from tests.conftest import FakeClock

CHILD = textwrap.dedent("""
    import os, sys
    from datetime import datetime, timezone
    from refunder.ledger.database import Database
    from refunder.money import Money
    from refunder.providers.simulator import SimulatorProvider
    from refunder.refunds import Actor, RefundRequest, RefundService

    url, sim_path, payment_id, when = sys.argv[1:5]
    clock = lambda: datetime.now(timezone.utc)

    class Dies(SimulatorProvider):
        def refund(self, call):
            if when == "before":
                os._exit(9)  # killed after the ledger recorded the refund, before the provider got it
            result = super().refund(call)
            os._exit(9)  # killed after the provider refunded, before the ledger heard the answer

    service = RefundService(Database.from_url(url), {"simulator": Dies(sim_path, clock)}, clock)
    service.create_refund(payment_id, RefundRequest(Money(25000, "NOK"), "Cancelled", Actor("1", "Kari")),
                          "crash-key-0001", "fingerprint")
""")


@pytest.fixture
def world(tmp_path: Path, database_url: str) -> tuple[RefundService, SimulatorProvider, str, FakeClock]:
    clock = FakeClock(datetime.now(UTC))
    db = Database.from_url(database_url)
    migrate(db.engine)
    simulator = SimulatorProvider(tmp_path / "sim.db", clock)
    simulator.add_payment("crash-1", Money(100000, "NOK"), clock() - timedelta(days=1))
    service = RefundService(db, {"simulator": simulator}, clock)
    claim = PaymentClaim("crash-1", "77", Money(100000, "NOK"), clock())
    payment_id = service.register_payment("simulator", claim, Actor("1", "Kari")).payment.id
    return service, simulator, payment_id, clock


def crash(database_url: str, simulator: SimulatorProvider, payment_id: str, when: str) -> None:
    child = subprocess.run([sys.executable, "-c", CHILD, database_url, str(simulator.path), payment_id, when],
                           capture_output=True, text=True, timeout=60)
    assert child.returncode == 9, child.stderr


def provider_refunds(simulator: SimulatorProvider) -> list[Any]:
    return simulator.list_refunds("crash-1", {})


def test_killed_after_the_provider_refunded(world: Any, database_url: str) -> None:
    service, simulator, payment_id, clock = world
    crash(database_url, simulator, payment_id, "after")
    [pending] = service.list_refunds(payment_id=payment_id)
    assert pending.status == RefundStatus.PENDING  # the ledger never heard the answer...
    assert service.payment_view(payment_id).balance.refundable.minor == 75000  # ...but never gives the money twice
    assert len(provider_refunds(simulator)) == 1
    report = service.reconcile()
    assert [(r.id, r.status) for r in report.refreshed] == [(pending.id, RefundStatus.REFUNDED)]
    assert len(provider_refunds(simulator)) == 1 and report.discovered == []  # read back, not sent again
    assert service.payment_view(payment_id).balance.refunded.minor == 25000


def test_killed_before_the_provider_got_it(world: Any, database_url: str) -> None:
    service, simulator, payment_id, clock = world
    crash(database_url, simulator, payment_id, "before")
    [pending] = service.list_refunds(payment_id=payment_id)
    assert service.reconcile().refreshed[0].status == RefundStatus.PENDING  # it may still be on its way
    assert provider_refunds(simulator) == []
    clock.advance(minutes=3)
    [settled] = service.reconcile().refreshed
    assert settled.id == pending.id and settled.status == RefundStatus.REFUNDED
    assert [r.refund_id for r in provider_refunds(simulator)] == [pending.id]  # sent once, with its own key
    assert service.reconcile().refreshed == []


def test_late_duplicate_and_out_of_order_webhooks(world: Any) -> None:
    from refunder.providers.base import ProviderResult, RefundUpdate

    service, simulator, payment_id, clock = world
    simulator.add_payment("crash-2-async", Money(50000, "NOK"), clock())
    claim = PaymentClaim("crash-2-async", "78", Money(50000, "NOK"), clock())
    other = service.register_payment("simulator", claim, Actor("1", "Kari")).payment.id
    from refunder.refunds import RefundRequest

    refund, _ = service.create_refund(other, RefundRequest(Money(50000, "NOK"), "x", Actor("1", "Kari")), "wh-1", "f")
    assert refund.status == RefundStatus.PROCESSING

    def news(status: RefundStatus) -> list[RefundUpdate]:
        return [RefundUpdate(refund.id, ProviderResult(status, provider_reference="sim-ref"))]

    assert service.apply_updates("simulator", news(RefundStatus.REFUNDED)) == 1
    service.apply_updates("simulator", news(RefundStatus.REFUNDED))  # delivered twice
    service.apply_updates("simulator", news(RefundStatus.PROCESSING))  # an older event, arriving late
    service.apply_updates("simulator", news(RefundStatus.PENDING))
    assert service.get_refund(refund.id).status == RefundStatus.REFUNDED
    actions = [e.action for e in service.events(other)]
    assert actions.count("refund.refunded") == 1
    service.apply_updates("simulator", news(RefundStatus.FAILED))  # the card refund bounced days later
    assert service.get_refund(refund.id).status == RefundStatus.FAILED
    assert service.payment_view(other).balance.refundable.minor == 50000  # the money can be refunded again
    service.apply_updates("simulator", news(RefundStatus.REFUNDED))
    assert service.get_refund(refund.id).status == RefundStatus.FAILED  # failed is the end
