"""The payment time (start of the refund window) is range-checked, and a refused registration writes nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from refunder.ledger.models import AuditEvent, Payment
from refunder.money import Money
from tests.sidecar.helpers import ACTOR, register


def registration(reference: str, paid_at: str, provider: str = "manual") -> dict[str, Any]:
    return {"provider": provider, "reference": reference, "order_id": "1001",
            "captured": {"value": 100000, "currency": "NOK"}, "paid_at": paid_at, "actor": ACTOR}


def rows(db: Any) -> tuple[int, int]:
    with db.reading() as s:
        count = [s.scalar(select(func.count()).select_from(table)) or 0 for table in (Payment, AuditEvent)]
    return count[0], count[1]


@pytest.mark.parametrize("paid_at", ["9999-12-31T23:59:59+00:00", "9000-01-01T00:00:00+00:00",
                                     "1999-12-31T23:59:59+00:00", "0001-01-01T00:00:00+00:00",
                                     "2026-11-22T12:06:00+00:00"])
def test_an_impossible_payment_time_is_refused_and_nothing_is_written(api: Any, db: Any, paid_at: str) -> None:
    answer = api.post("/v1/payments", registration("bank-1", paid_at))
    assert answer.status_code == 422, answer.json
    assert answer.json["code"] == "order_paid_at_implausible" and answer.json["field"] == "paid_at"
    assert rows(db) == (0, 0)
    ok = register(api, "manual", "bank-1", 100000, paid_at="2026-11-22T12:04:00+00:00")  # skew allowed
    assert ok["refund_window_open"] is True and api.get(f"/v1/payments/{ok['id']}").status_code == 200


def test_the_providers_payment_time_replaces_the_orders(api: Any, app: Any, clock: Any) -> None:
    """The simulator knows when it was paid: the order's claim is checked, then the provider's time is kept,
    and a payment registered earlier with another time is corrected (and the correction audited)."""
    simulator = app.extensions["refunder"].providers["simulator"]
    simulator.add_payment("sim-time", Money(50000, "NOK"), clock() - timedelta(days=30))
    payment = register(api, "simulator", "sim-time", 50000, paid_at="2026-11-22T11:00:00+00:00")
    assert payment["paid_at"].startswith("2026-10-23")
    simulator.add_payment("sim-time", Money(50000, "NOK"), clock() - timedelta(days=31))
    again = register(api, "simulator", "sim-time", 50000)
    assert again["paid_at"].startswith("2026-10-22")
    [updated] = [e for e in api.get(f"/v1/payments/{payment['id']}/events").json["events"]
                 if e["action"] == "payment.updated"]
    assert updated["detail"]["paid_at_before"].startswith("2026-10-23")


def test_a_provider_reporting_an_impossible_time_is_refused(api: Any, app: Any, db: Any, clock: Any) -> None:
    simulator = app.extensions["refunder"].providers["simulator"]
    simulator.add_payment("sim-future", Money(50000, "NOK"), clock() + timedelta(days=3000))
    answer = api.post("/v1/payments", registration("sim-future", "2026-11-20T10:00:00+00:00", "simulator"))
    assert answer.status_code == 422 and "Simulated card provider gives the payment time" in answer.json["detail"]
    assert rows(db) == (0, 0)
