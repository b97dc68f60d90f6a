"""Demo data: booking payments at the simulator provider and one paid by bank transfer."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from .ledger.audit import Actor
from .money import Money
from .providers.base import PaymentClaim
from .providers.simulator import SimulatorProvider
from .reads import PaymentView
from .service import RefundService

DEMO_ACTOR = Actor("demo", "Demo data")

# (order id, provider, reference, NOK minor units, days since payment, what it shows)
BOOKINGS = [
    ("1001", "simulator", "demo-1001", 100000, 3, "haircut + colour; refunds settle at once"),
    ("1002", "simulator", "demo-1002-async", 45000, 10, "massage; refunds are processing for 2 s"),
    ("1003", "simulator", "demo-1003-decline", 79900, 20, "course seat; the provider declines refunds"),
    ("1004", "simulator", "demo-1004", 120000, 400, "paid 400 days ago: refund period expired"),
    ("1005", "manual", "bank-1005", 30000, 5, "paid by bank transfer: refund needs a bank_reference"),
]


def seed(service: RefundService, clock: Callable[[], datetime]) -> list[tuple[PaymentView, str]]:
    views = []
    simulator = service.providers["simulator"]
    assert isinstance(simulator, SimulatorProvider)
    for order_id, provider, reference, minor, days, note in BOOKINGS:
        paid_at = clock() - timedelta(days=days)
        captured = Money(minor, "NOK")
        if provider == "simulator":
            simulator.add_payment(reference, captured, paid_at)
        claim = PaymentClaim(reference=reference, order_id=order_id, captured=captured, paid_at=paid_at)
        views.append((service.payments.register_payment(provider, claim, DEMO_ACTOR), note))
    return views
