"""The sidecar against stateful Mollie and Stripe fakes on loopback: balances, async refunds, webhooks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from refunder.app import create_app
from refunder.money import Money
from refunder.providers.http import Transport
from refunder.providers.mollie import MollieProvider, MollieSettings
from refunder.providers.stripe_cards import StripeProvider, StripeSettings
from refunder.providers.stripe_connect import StripeConnectProvider
from tests.conftest import SignedClient
from tests.fakes.mollie import FakeMollie
from tests.fakes.server import serving
from tests.fakes.stripe import FakeStripe
from tests.providers.conftest import FAST, SECRETS
from tests.sidecar.helpers import ACTOR, refund_body


@pytest.fixture
def fakes() -> Iterator[tuple[FakeMollie, FakeStripe, str, str]]:
    mollie, stripe = FakeMollie(SECRETS[6]), FakeStripe(SECRETS[4], SECRETS[5])
    with serving(mollie) as mollie_url, serving(stripe) as stripe_url:
        yield mollie, stripe, mollie_url, stripe_url


@pytest.fixture
def sidecar(settings: Any, db: Any, clock: Any, fakes: Any) -> tuple[Any, SignedClient]:
    _, _, mollie_url, stripe_url = fakes
    stripe_settings = StripeSettings(api_key=SECRETS[4], webhook_secret=SECRETS[5], api_base=stripe_url)
    providers = {
        "mollie": MollieProvider(MollieSettings(api_key=SECRETS[6], api_base=mollie_url), clock,
                                 Transport(mollie_url, "Mollie", policy=FAST, sleep=lambda s: None)),
        "stripe": StripeProvider(stripe_settings, clock, policy=FAST, sleep=lambda s: None),
        "stripe_connect": StripeConnectProvider(stripe_settings, clock, policy=FAST, sleep=lambda s: None),
    }
    app = create_app(settings, clock=clock, providers=providers)
    return app, SignedClient(app.test_client(), clock)


def register(api: SignedClient, provider: str, reference: str, value: int, currency: str,
             **provider_data: str) -> dict[str, Any]:
    response = api.post("/v1/payments", {"provider": provider, "reference": reference, "order_id": reference,
                                         "captured": {"value": value, "currency": currency},
                                         "paid_at": "2026-11-21T10:00:00+00:00", "actor": ACTOR,
                                         "provider_data": provider_data})
    assert response.status_code == 200, response.json
    return response.json


def refund(api: SignedClient, payment: dict[str, Any], value: int, key: str, currency: str = "NOK") -> Any:
    return api.post(f"/v1/payments/{payment['id']}/refunds", refund_body(value, currency=currency),
                    headers={"Idempotency-Key": key})


def webhook(app: Any, provider: str, body: bytes, headers: dict[str, str]) -> Any:
    return app.test_client().post(f"/webhooks/{provider}", data=body, headers=headers, base_url="https://shop.example")


def test_mollie_refund_is_pending_until_mollie_says_refunded(fakes: Any, sidecar: Any) -> None:
    mollie = fakes[0]
    app, api = sidecar
    mollie.add_payment("tr_card1", Money(4500, "EUR"))
    payment = register(api, "mollie", "tr_card1", 4500, "EUR")
    created = refund(api, payment, 1000, "mollie-key-0001", "EUR").json
    assert created["status"] == "processing"
    assert mollie.payments["tr_card1"].refunds[0]["amount"] == {"currency": "EUR", "value": "10.00"}
    assert refund(api, payment, 1000, "mollie-key-0001", "EUR").json["id"] == created["id"]
    mollie.settle()
    answer = webhook(app, "mollie", b"id=tr_card1", {"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.json == {"received": 1, "applied": 1}
    assert api.get(f"/v1/refunds/{created['id']}").json["status"] == "refunded"
    assert mollie.refund_calls == 1


def test_mollie_refuses_more_than_it_holds(fakes: Any, sidecar: Any) -> None:
    mollie = fakes[0]
    _, api = sidecar
    mollie.add_payment("tr_card2", Money(4500, "EUR"))
    payment = register(api, "mollie", "tr_card2", 4500, "EUR")
    mollie.payments["tr_card2"].refunds.append({"id": "re_dashboard", "amount": {"currency": "EUR", "value": "40.00"},
                                                "status": "refunded", "metadata": None})  # done in Mollie's dashboard
    failed = refund(api, payment, 1000, "mollie-key-0002", "EUR").json
    assert failed["status"] == "failed"
    assert "higher than the amount that is refundable" in failed["failure"]["message"]


def test_stripe_dashboard_refund_is_recorded_when_the_order_is_opened(fakes: Any, sidecar: Any) -> None:
    stripe = fakes[1]
    _, api = sidecar
    stripe.add_payment("pi_dash1", 100000)
    register(api, "stripe", "pi_dash1", 100000, "NOK")
    stripe.payments["pi_dash1"].refunds.append({"id": "re_dashboard1", "object": "refund", "amount": 40000,
                                                "currency": "nok", "status": "succeeded", "metadata": {},
                                                "payment_intent": "pi_dash1"})
    again = register(api, "stripe", "pi_dash1", 100000, "NOK")
    assert again["refunded"]["value"] == 40000 and again["refundable"]["value"] == 60000
    [external] = api.get(f"/v1/payments/{again['id']}/refunds").json["refunds"]
    assert external["kind"] == "external" and external["provider_reference"] == "re_dashboard1"


def test_klarna_after_capture(fakes: Any, sidecar: Any) -> None:
    mollie = fakes[0]
    _, api = sidecar
    mollie.add_payment("tr_klarna1", Money(120000, "NOK"), method="klarna", captured=Money(0, "NOK"))
    payment = register(api, "mollie", "tr_klarna1", 120000, "NOK")
    assert refund(api, payment, 1000, "klarna-key-0001").json["code"] == "mollie_nothing_captured"
    mollie.payments["tr_klarna1"].captured = Money(120000, "NOK")  # the booking took place: captured
    payment = register(api, "mollie", "tr_klarna1", 120000, "NOK")
    assert payment["refundable"]["value"] == 120000
    assert refund(api, payment, 1000, "klarna-key-0002").json["status"] == "processing"


def test_stripe_refund_replay_and_a_charge_refunded_webhook(fakes: Any, sidecar: Any, clock: Any) -> None:
    stripe = fakes[1]
    app, api = sidecar
    stripe.add_payment("pi_card1", 100000)
    payment = register(api, "stripe", "pi_card1", 100000, "NOK")
    created = refund(api, payment, 25000, "stripe-key-0001").json
    assert created["status"] == "refunded" and created["provider_reference"].startswith("re_")
    assert refund(api, payment, 25000, "stripe-key-0001").json == created
    body, headers = stripe.signed_event("charge.refunded", {"id": "pi_card1", "object": "charge"},
                                        at=clock().timestamp())
    assert webhook(app, "stripe", body, headers).json == {"received": 1, "applied": 1}
    events = api.get(f"/v1/payments/{payment['id']}/events").json["events"]
    assert [e["action"] for e in events].count("refund.refunded") == 1  # the webhook changed nothing
    assert stripe.refund_calls == 1 and stripe.payments["pi_card1"].refunded() == 25000


def test_stripe_pending_refund_settled_by_webhook(fakes: Any, sidecar: Any, clock: Any) -> None:
    stripe = fakes[1]
    app, api = sidecar
    stripe.add_payment("pi_slow1", 50000)
    stripe.slow.add("pi_slow1")
    payment = register(api, "stripe", "pi_slow1", 50000, "NOK")
    created = refund(api, payment, 50000, "stripe-key-0002").json
    assert created["status"] == "processing"
    stored = stripe.payments["pi_slow1"].refunds[0]
    stored["status"] = "succeeded"
    body, headers = stripe.signed_event("refund.updated", stored, at=clock().timestamp())
    webhook(app, "stripe", body, headers)
    assert api.get(f"/v1/refunds/{created['id']}").json["status"] == "refunded"


def test_bt_pay_direct_and_destination_charges(fakes: Any, sidecar: Any) -> None:
    stripe = fakes[1]
    _, api = sidecar
    stripe.add_payment("pi_direct1", 80000, account="acct_1Salon")
    stripe.add_payment("pi_dest1", 80000)
    direct = register(api, "stripe_connect", "pi_direct1", 80000, "NOK", charge_type="direct", account="acct_1Salon")
    assert refund(api, direct, 80000, "btpay-key-0001").json["status"] == "refunded"
    assert stripe.payments["pi_direct1"].refunded() == 80000 and stripe.payments["pi_direct1"].fee_refunded
    dest = register(api, "stripe_connect", "pi_dest1", 80000, "NOK", charge_type="destination")
    assert refund(api, dest, 30000, "btpay-key-0002").json["status"] == "refunded"
    assert stripe.payments["pi_dest1"].transfer_reversed == 30000
    missing = api.post("/v1/payments", {"provider": "stripe_connect", "reference": "pi_direct1", "order_id": "x",
                                        "captured": {"value": 1, "currency": "NOK"}, "actor": ACTOR,
                                        "paid_at": "2026-11-21T10:00:00+00:00", "provider_data": {}})
    assert missing.status_code == 422 and missing.json["field"] == "provider_data"


def test_stripe_rate_limit_is_waited_out_with_the_same_key() -> None:
    from refunder.providers.http import RetryPolicy
    from refunder.rules import RefundStatus
    from tests.providers.conftest import call

    now = [0.0]
    stripe = FakeStripe(SECRETS[4], SECRETS[5], per_second=2, clock=lambda: now[0])
    stripe.add_payment("pi_busy1", 100000)
    with serving(stripe) as url:
        provider = StripeProvider(StripeSettings(api_key=SECRETS[4], api_base=url), lambda: None,  # type: ignore
                                  policy=RetryPolicy(attempts=3, backoff=0.5),
                                  sleep=lambda s: now.__setitem__(0, now[0] + s))
        results = [provider.refund(call("pi_busy1", 100, refund_id=f"rf_busy{i}")) for i in range(4)]
    assert [r.status for r in results] == [RefundStatus.REFUNDED] * 4
    assert stripe.throttled >= 2  # the limit was hit, and waited out
    assert stripe.refund_calls == 4 and stripe.payments["pi_busy1"].refunded() == 400
    assert len(stripe.idempotency) == 4
