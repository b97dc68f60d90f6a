"""Webhooks as the providers sign them, against the stateful fakes: Mollie's next-gen signed events and classic
id posts, Stripe Connect's two endpoints with two secrets, and Stripe news that must not be taken on its word."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from refunder.app import create_app
from refunder.money import Money
from refunder.providers.http import Transport
from refunder.providers.mollie import MollieProvider, MollieSettings
from refunder.providers.stripe_cards import StripeProvider, StripeSettings
from refunder.providers.stripe_connect import StripeConnectProvider, StripeConnectSettings
from tests.conftest import SignedClient
from tests.fakes.mollie import FakeMollie
from tests.fakes.server import serving
from tests.fakes.stripe import FakeStripe
from tests.providers.conftest import FAST, SECRETS
from tests.providers.test_mollie_stripe_fakes import refund, register

MOLLIE_SIGNING = "mollie-signing-TOPSECRET"
CONNECT_ACCOUNTS_SECRET = "whsec_accounts_TOPSECRET"


@pytest.fixture
def fakes() -> Iterator[tuple[FakeMollie, FakeStripe, str, str]]:
    mollie, stripe = FakeMollie(SECRETS[6], MOLLIE_SIGNING), FakeStripe(SECRETS[4], SECRETS[5])
    with serving(mollie) as mollie_url, serving(stripe) as stripe_url:
        yield mollie, stripe, mollie_url, stripe_url


@pytest.fixture
def sidecar(settings: Any, db: Any, clock: Any, fakes: Any) -> tuple[Any, SignedClient]:
    _, _, mollie_url, stripe_url = fakes
    connect = StripeConnectSettings(api_key=SECRETS[4], webhook_secret=SECRETS[5], api_base=stripe_url,
                                    accounts_webhook_secret=CONNECT_ACCOUNTS_SECRET)
    providers = {
        "mollie": MollieProvider(MollieSettings(api_key=SECRETS[6], api_base=mollie_url, webhook_secret=MOLLIE_SIGNING),
                                 clock, Transport(mollie_url, "Mollie", policy=FAST, sleep=lambda s: None)),
        "stripe": StripeProvider(StripeSettings(api_key=SECRETS[4], webhook_secret=SECRETS[5], api_base=stripe_url),
                                 clock, policy=FAST, sleep=lambda s: None),
        "stripe_connect": StripeConnectProvider(connect, clock, policy=FAST, sleep=lambda s: None),
    }
    app = create_app(settings, clock=clock, providers=providers)
    return app, SignedClient(app.test_client(), clock)


def post(app: Any, path: str, signed: tuple[bytes, dict[str, str]]) -> Any:
    body, headers = signed
    return app.test_client().post(path, data=body, headers=headers, base_url="https://shop.example")


# --- Mollie --------------------------------------------------------------------------------------------

def test_mollie_signed_refund_events_are_verified_and_applied(fakes: Any, sidecar: Any) -> None:
    mollie = fakes[0]
    app, api = sidecar
    mollie.add_payment("tr_signed1", Money(4500, "EUR"))
    payment = register(api, "mollie", "tr_signed1", 4500, "EUR")
    created = refund(api, payment, 1000, "mollie-signed-0001", "EUR").json
    assert created["status"] == "processing"
    stored = mollie.refund(created["provider_reference"])
    stored["status"] = "refunded"
    answer = post(app, "/webhooks/mollie", mollie.signed_event("refund.refunded", stored))
    assert answer.status_code == 200 and answer.json == {"received": 1, "applied": 1}
    assert api.get(f"/v1/refunds/{created['id']}").json["status"] == "refunded"
    event = api.get(f"/v1/payments/{payment['id']}/events").json["events"][-1]
    assert event["action"] == "refund.refunded" and event["actor"]["id"] == "webhook:mollie"


@pytest.mark.parametrize("forgery", ["wrong secret", "tampered", "no prefix, wrong", "empty"])
def test_mollie_forged_signed_events_are_refused(fakes: Any, sidecar: Any, forgery: str) -> None:
    mollie = fakes[0]
    app, api = sidecar
    mollie.add_payment("tr_signed2", Money(4500, "EUR"))
    payment = register(api, "mollie", "tr_signed2", 4500, "EUR")
    created = refund(api, payment, 1000, "mollie-signed-0002", "EUR").json
    stored = {**mollie.refund(created["provider_reference"]), "status": "refunded"}
    body, headers = mollie.signed_event("refund.refunded", stored,
                                        secret="guessed" if forgery == "wrong secret" else None)
    if forgery == "tampered":
        body = body.replace(b'"10.00"', b'"1.00"')
    elif forgery == "no prefix, wrong":
        headers["X-Mollie-Signature"] = "0" * 64
    elif forgery == "empty":
        headers["X-Mollie-Signature"] = ""
    answer = post(app, "/webhooks/mollie", (body, headers))
    assert answer.status_code == 401 and answer.json["code"] == "webhook_rejected"
    assert api.get(f"/v1/refunds/{created['id']}").json["status"] == "processing"


def test_mollie_signed_failure_is_checked_with_mollie_first(fakes: Any, sidecar: Any) -> None:
    """A validly signed "failed" snapshot (an old event, or a replay) frees no money while Mollie says otherwise."""
    mollie = fakes[0]
    app, api = sidecar
    mollie.add_payment("tr_signed3", Money(4500, "EUR"))
    payment = register(api, "mollie", "tr_signed3", 4500, "EUR")
    created = refund(api, payment, 4500, "mollie-signed-0003", "EUR").json
    stored = mollie.refund(created["provider_reference"])
    stored["status"] = "refunded"
    post(app, "/webhooks/mollie", mollie.signed_event("refund.refunded", stored))
    replayed = {**stored, "status": "failed"}
    assert post(app, "/webhooks/mollie", mollie.signed_event("refund.failed", replayed)).status_code == 200
    assert api.get(f"/v1/refunds/{created['id']}").json["status"] == "refunded"  # Mollie has it refunded
    stored["status"] = "failed"  # the customer's bank account was closed: Mollie's record now says failed
    post(app, "/webhooks/mollie", mollie.signed_event("refund.failed", stored))
    failed = api.get(f"/v1/refunds/{created['id']}").json
    assert failed["status"] == "failed" and failed["failure"]["code"] == "mollie_failed"
    assert api.get(f"/v1/payments/{payment['id']}").json["refundable"]["value"] == 4500


def test_mollie_events_that_are_not_about_our_refunds_change_nothing(fakes: Any, sidecar: Any) -> None:
    mollie = fakes[0]
    app, _ = sidecar
    other = {"resource": "refund", "id": "re_dashboard", "status": "refunded", "metadata": None,
             "amount": {"currency": "EUR", "value": "1.00"}, "paymentId": "tr_x"}
    for kind, payload, full in (("payment-link.paid", other, True), ("refund.refunded", other, True),
                                ("refund.refunded", other, False)):
        answer = post(app, "/webhooks/mollie", mollie.signed_event(kind, payload, full=full))
        assert answer.status_code == 200 and answer.json == {"received": 0, "applied": 0}


def test_mollie_classic_webhook_still_works(fakes: Any, sidecar: Any) -> None:
    mollie = fakes[0]
    app, api = sidecar
    mollie.add_payment("tr_classic1", Money(4500, "EUR"))
    payment = register(api, "mollie", "tr_classic1", 4500, "EUR")
    created = refund(api, payment, 1000, "mollie-classic-0001", "EUR").json
    mollie.settle()
    assert post(app, "/webhooks/mollie", mollie.classic_webhook("tr_classic1")).json == {"received": 1, "applied": 1}
    assert api.get(f"/v1/refunds/{created['id']}").json["status"] == "refunded"


# --- Stripe ------------------------------------------------------------------------------------------

def test_stripe_refund_failed_demotes_only_when_stripe_says_so(fakes: Any, sidecar: Any, clock: Any) -> None:
    stripe = fakes[1]
    app, api = sidecar
    stripe.add_payment("pi_fail1", 100000)
    payment = register(api, "stripe", "pi_fail1", 100000, "NOK")
    created = refund(api, payment, 100000, "stripe-fail-0001").json
    assert created["status"] == "refunded"
    stored = stripe.payments["pi_fail1"].refunds[0]
    forged = {**stored, "status": "failed", "failure_reason": "lost_or_stolen_card"}  # a stale or replayed event
    post(app, "/webhooks/stripe", stripe.signed_event("refund.failed", forged, at=clock().timestamp()))
    assert api.get(f"/v1/refunds/{created['id']}").json["status"] == "refunded"  # Stripe has it succeeded
    failed = stripe.fail(stored["id"])  # the card refund really failed
    post(app, "/webhooks/stripe", stripe.signed_event("refund.failed", failed, at=clock().timestamp()))
    after = api.get(f"/v1/refunds/{created['id']}").json
    assert after["status"] == "failed" and after["failure"]["code"] == "stripe_expired_or_canceled_card"
    assert api.get(f"/v1/payments/{payment['id']}").json["refundable"]["value"] == 100000
    late = {**failed, "status": "succeeded"}  # refund.updated from before the failure, delivered late
    post(app, "/webhooks/stripe", stripe.signed_event("refund.updated", late, at=clock().timestamp()))
    assert api.get(f"/v1/refunds/{created['id']}").json["status"] == "failed"
    assert stripe.refund_calls == 1


@pytest.mark.parametrize("offset", [-301, 301, 365 * 86400])
def test_stripe_events_signed_too_long_ago_or_ahead_are_refused(fakes: Any, sidecar: Any, clock: Any,
                                                              offset: int) -> None:
    stripe = fakes[1]
    app, api = sidecar
    stripe.add_payment("pi_late1", 100000)
    stripe.slow.add("pi_late1")
    payment = register(api, "stripe", "pi_late1", 100000, "NOK")
    created = refund(api, payment, 1000, "stripe-late-0001").json
    stored = {**stripe.payments["pi_late1"].refunds[0], "status": "succeeded"}
    answer = post(app, "/webhooks/stripe", stripe.signed_event("refund.updated", stored,
                                                               at=clock().timestamp() + offset))
    assert answer.status_code == 401 and answer.json["code"] == "webhook_stale"
    assert api.get(f"/v1/refunds/{created['id']}").json["status"] == "processing"


def test_stripe_connect_events_verify_on_their_own_endpoints(fakes: Any, sidecar: Any, clock: Any) -> None:
    """Destination charges live on the platform (its endpoint and secret); direct charges on the connected
    account (the Connect endpoint, /accounts, and its secret)."""
    stripe = fakes[1]
    app, api = sidecar
    stripe.add_payment("pi_dest9", 80000)
    stripe.add_payment("pi_direct9", 80000, account="acct_1Salon")
    stripe.slow.update({"pi_dest9", "pi_direct9"})
    dest = register(api, "stripe_connect", "pi_dest9", 80000, "NOK", charge_type="destination")
    direct = register(api, "stripe_connect", "pi_direct9", 80000, "NOK", charge_type="direct",
                      account="acct_1Salon")
    dest_refund = refund(api, dest, 30000, "btpay-hook-0001").json
    direct_refund = refund(api, direct, 30000, "btpay-hook-0002").json
    at = clock().timestamp()
    settled_dest = {**stripe.payments["pi_dest9"].refunds[0], "status": "succeeded"}
    settled_direct = {**stripe.payments["pi_direct9"].refunds[0], "status": "succeeded"}
    platform = stripe.signed_event("refund.updated", settled_dest, at=at)
    accounts = stripe.signed_event("refund.updated", settled_direct, "acct_1Salon", at=at,
                                   secret=CONNECT_ACCOUNTS_SECRET)
    # each event is refused at the other endpoint, whose secret did not sign it
    assert post(app, "/webhooks/stripe_connect/accounts", platform).status_code == 401
    assert post(app, "/webhooks/stripe_connect", accounts).status_code == 401
    unsigned_account = stripe.signed_event("refund.updated", settled_direct, at=at, secret=CONNECT_ACCOUNTS_SECRET)
    assert post(app, "/webhooks/stripe_connect/accounts", unsigned_account).status_code == 401  # names no account
    assert post(app, "/webhooks/stripe_connect/elsewhere", platform).status_code == 404
    assert post(app, "/webhooks/stripe/accounts", platform).status_code == 404
    assert post(app, "/webhooks/stripe_connect", platform).json == {"received": 1, "applied": 1}
    assert post(app, "/webhooks/stripe_connect/accounts", accounts).json == {"received": 1, "applied": 1}
    assert api.get(f"/v1/refunds/{dest_refund['id']}").json["status"] == "refunded"
    assert api.get(f"/v1/refunds/{direct_refund['id']}").json["status"] == "refunded"
