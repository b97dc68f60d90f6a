"""Faults that tests of the happy path never see: a process killed mid-refund, webhooks late and out of order."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from refunder.ledger.audit import Actor
from refunder.ledger.database import Database, migrate
from refunder.money import Money
from refunder.providers.base import PaymentClaim
from refunder.providers.simulator import SimulatorProvider
from refunder.rules import RefundStatus
from refunder.service import RefundService
from tests.conftest import FakeClock
from tests.reliability.live import crash_during_refund


@pytest.fixture
def world(tmp_path: Path, database_url: str) -> tuple[RefundService, SimulatorProvider, str, FakeClock]:
    clock = FakeClock(datetime.now(UTC))
    db = Database.from_url(database_url)
    migrate(db.engine)
    simulator = SimulatorProvider(tmp_path / "sim.db", clock)
    simulator.add_payment("crash-1", Money(100000, "NOK"), clock() - timedelta(days=1))
    service = RefundService(db, {"simulator": simulator}, clock)
    claim = PaymentClaim("crash-1", "77", Money(100000, "NOK"), clock())
    payment_id = service.payments.register_payment("simulator", claim, Actor("1", "Kari")).payment.id
    return service, simulator, payment_id, clock


def crash(database_url: str, simulator: SimulatorProvider, payment_id: str, when: str,
          key: str = "crash-key-0001", amount: int = 25000) -> None:
    crash_during_refund(database_url, simulator.path, payment_id, when, key, amount)


def provider_refunds(simulator: SimulatorProvider) -> list[Any]:
    return simulator.list_refunds("crash-1", {})


def test_killed_after_the_provider_refunded(world: Any, database_url: str) -> None:
    service, simulator, payment_id, clock = world
    crash(database_url, simulator, payment_id, "after")
    [pending] = service.reads.list_refunds(payment_id=payment_id)
    assert pending.status == RefundStatus.PENDING  # the ledger never heard the answer...
    # ...but never gives the money twice
    assert service.reads.payment_view(payment_id).balance.refundable.minor == 75000
    assert len(provider_refunds(simulator)) == 1
    report = service.reconciler.reconcile()
    assert [(r.id, r.status) for r in report.refreshed] == [(pending.id, RefundStatus.REFUNDED)]
    assert len(provider_refunds(simulator)) == 1 and report.discovered == []  # read back, not sent again
    assert service.reads.payment_view(payment_id).balance.refunded.minor == 25000


def test_killed_before_the_provider_got_it(world: Any, database_url: str) -> None:
    service, simulator, payment_id, clock = world
    crash(database_url, simulator, payment_id, "before")
    [pending] = service.reads.list_refunds(payment_id=payment_id)
    assert pending.status == RefundStatus.PENDING and provider_refunds(simulator) == []
    # its sender died (the kernel or the server freed its lock): sent again at once, in one pass
    [settled] = service.reconciler.reconcile().refreshed
    assert settled.id == pending.id and settled.status == RefundStatus.REFUNDED
    assert [r.refund_id for r in provider_refunds(simulator)] == [pending.id]  # sent once, with its own key
    assert service.reconciler.reconcile().refreshed == []


def test_a_dead_senders_refund_the_provider_cannot_be_asked_about_is_unknown(world: Any, database_url: str) -> None:
    """No news from the provider: the refund becomes unknown and is read back at the follow-up's pace."""
    from refunder.providers.base import ProviderUnreachable

    service, simulator, payment_id, clock = world
    crash(database_url, simulator, payment_id, "before")

    class Down(SimulatorProvider):
        def refund_status(self, call: Any) -> Any:
            raise ProviderUnreachable(provider=self.label, what="no answer (simulated)")

    service.providers = {"simulator": Down(simulator.path, clock)}
    [unknown] = service.reconciler.follow_up()
    assert unknown.status == RefundStatus.UNKNOWN and unknown.failure_code == "outcome_unknown"
    assert service.reconciler.follow_up() == []  # not asked again at once
    service.providers = {"simulator": simulator}
    clock.advance(seconds=11)
    [settled] = service.reconciler.follow_up()
    assert settled.status == RefundStatus.REFUNDED and len(provider_refunds(simulator)) == 1


def test_two_instances_following_up_at_once_send_each_refund_once(world: Any, database_url: str) -> None:
    """Several sidecars (own processes, own connections) share one ledger: refund locks keep them apart."""
    import threading

    from tests.sidecar.helpers import CountingProvider

    service, simulator, payment_id, clock = world
    for n in range(6):
        crash(database_url, simulator, payment_id, "before", key=f"crash-key-{n:04d}", amount=10000)
    instances = [RefundService(Database.from_url(database_url), {"simulator": CountingProvider(simulator, 0.05)},
                               clock) for _ in range(2)]
    threads = [threading.Thread(target=instance.reconciler.follow_up) for instance in instances]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    sent: Counter[str] = sum((i.providers["simulator"].calls for i in instances), Counter())  # type: ignore
    assert len(sent) == 6 and set(sent.values()) == {1}  # every abandoned refund sent again, by one of them
    assert all(r.status == RefundStatus.REFUNDED for r in service.reads.list_refunds(payment_id=payment_id))
    assert len(provider_refunds(simulator)) == 6


def test_a_refund_being_sent_is_left_to_its_sender(world: Any) -> None:
    """While a live sender holds the refund's lock, reconcile and the follow-up neither read it nor resend it."""
    service, simulator, payment_id, clock = world
    from refunder.refunds import RefundRequest

    with service.db.refund_lock("rf_being_sent") as mine:
        assert mine
        recorded = service.refunds._record(payment_id, "rf_being_sent", RefundRequest(Money(25000, "NOK"), "x",
                                                                              Actor("1", "Kari")), "k-sent", "f")
        assert isinstance(recorded, tuple)  # recorded as pending; the provider not called yet
        clock.advance(minutes=10)
        assert [r.status for r in service.reconciler.reconcile().refreshed] == [RefundStatus.PENDING]
        assert service.reconciler.follow_up() == []
        assert provider_refunds(simulator) == []
    [settled] = service.reconciler.follow_up()  # the sender is gone without an answer: the follow-up sends it
    assert settled.status == RefundStatus.REFUNDED and len(provider_refunds(simulator)) == 1


def test_late_duplicate_and_out_of_order_webhooks(world: Any) -> None:
    from refunder.providers.base import ProviderResult, RefundUpdate

    service, simulator, payment_id, clock = world
    simulator.add_payment("crash-2-async", Money(50000, "NOK"), clock())
    claim = PaymentClaim("crash-2-async", "78", Money(50000, "NOK"), clock())
    other = service.payments.register_payment("simulator", claim, Actor("1", "Kari")).payment.id
    from refunder.refunds import RefundRequest

    request = RefundRequest(Money(50000, "NOK"), "x", Actor("1", "Kari"))
    refund, _ = service.refunds.create_refund(other, request, "wh-1", "f")
    assert refund.status == RefundStatus.PROCESSING

    def news(status: RefundStatus) -> list[RefundUpdate]:
        return [RefundUpdate(refund.id, ProviderResult(status, provider_reference="sim-ref"))]

    assert service.reconciler.apply_updates("simulator", news(RefundStatus.REFUNDED)) == 1
    service.reconciler.apply_updates("simulator", news(RefundStatus.REFUNDED))  # delivered twice
    service.reconciler.apply_updates("simulator", news(RefundStatus.PROCESSING))  # an older event, arriving late
    service.reconciler.apply_updates("simulator", news(RefundStatus.PENDING))
    assert service.reads.get_refund(refund.id).status == RefundStatus.REFUNDED
    actions = [e.action for e in service.reads.events(other)]
    assert actions.count("refund.refunded") == 1
    clock.advance(seconds=3)  # the simulator has settled it
    # news of a failure: checked with the provider
    service.reconciler.apply_updates("simulator", news(RefundStatus.FAILED))
    assert service.reads.get_refund(refund.id).status == RefundStatus.REFUNDED  # which has it refunded: no demotion
    bounced = [RefundUpdate(refund.id, ProviderResult(RefundStatus.FAILED, confirmed=True))]
    service.reconciler.apply_updates("simulator", bounced)  # the provider's record: the card refund bounced days later
    assert service.reads.get_refund(refund.id).status == RefundStatus.FAILED
    assert service.reads.payment_view(other).balance.refundable.minor == 50000  # the money can be refunded again
    service.reconciler.apply_updates("simulator", news(RefundStatus.PROCESSING))
    assert service.reads.get_refund(refund.id).status == RefundStatus.FAILED  # news does not reopen a final status
    actions = [e.action for e in service.reads.events(other)]
    assert actions.count("refund.refunded") == 1 and actions.count("refund.failed") == 1
