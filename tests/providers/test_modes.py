"""Test and live side by side: each payment goes with the credentials of its own mode, never the other's.

The sidecar is built from settings exactly as in production (build_providers), its sections pointing at
loopback fakes that answer only the right keys: Stripe and Mollie keep each object in one mode and show it
only to that mode's key; Vipps' two environments are two hosts with their own sales units and keys.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from refunder.app import create_app
from refunder.config import Settings
from refunder.money import Money
from tests.conftest import SECRET, SignedClient
from tests.fakes.mollie import FakeMollie
from tests.fakes.server import serving
from tests.fakes.stripe import FakeStripe
from tests.fakes.vipps import FakeVipps
from tests.sidecar.helpers import ACTOR, refund_body

STRIPE_LIVE, STRIPE_TEST = "sk_live_LIVE1", "sk_test_TEST1"
MOLLIE_LIVE, MOLLIE_TEST = "live_LIVEKEY0123456789012345678901", "test_TESTKEY012345678901234567890"
VIPPS_LIVE = {"client_id": "live-cid", "client_secret": "live-cs", "subscription_key": "live-sub", "msn": "111111"}
VIPPS_TEST = {"client_id": "test-cid", "client_secret": "test-cs", "subscription_key": "test-sub", "msn": "222222"}


@pytest.fixture
def fakes(clock: Any) -> Iterator[dict[str, Any]]:
    stripe = FakeStripe(STRIPE_LIVE, "whsec_x", other_keys=(STRIPE_TEST,))
    mollie = FakeMollie(MOLLIE_LIVE, other_keys=(MOLLIE_TEST,))
    production = FakeVipps(clock=clock, **VIPPS_LIVE)
    test = FakeVipps(clock=clock, **VIPPS_TEST)
    with serving(stripe) as stripe_url, serving(mollie) as mollie_url, serving(production) as prod_url, \
            serving(test) as test_url:
        yield {"stripe": stripe, "mollie": mollie, "vipps_live": production, "vipps_test": test,
               "urls": {"stripe": stripe_url, "mollie": mollie_url, "vipps": prod_url, "vipps_test": test_url}}


def sidecar(db: Any, database_url: str, clock: Any, fakes: dict[str, Any], *, stripe_test: bool = True) -> SignedClient:
    urls = fakes["urls"]
    sections = {
        "stripe": {"api_key": STRIPE_LIVE, "api_base": urls["stripe"]},
        "mollie": {"api_key": MOLLIE_LIVE, "api_base": urls["mollie"]},
        "mollie_test": {"api_key": MOLLIE_TEST, "api_base": urls["mollie"]},
        "vipps": {**VIPPS_LIVE, "base_url": urls["vipps"]},
        "vipps_test": {**VIPPS_TEST, "base_url": urls["vipps_test"]},
    }
    if stripe_test:
        sections["stripe_test"] = {"api_key": STRIPE_TEST, "api_base": urls["stripe"]}
    settings = Settings(shared_secret=SECRET, database_url=database_url,
                        providers=("manual", "stripe", "mollie", "vipps"), sections=sections)
    return SignedClient(create_app(settings, clock=clock).test_client(), clock)


@pytest.fixture
def api(db: Any, database_url: str, clock: Any, fakes: dict[str, Any]) -> SignedClient:
    return sidecar(db, database_url, clock, fakes)


def register(api: SignedClient, order_id: str, gateway: str, meta: dict[str, str], value: int,
             currency: str = "NOK", transaction_id: str = "") -> Any:
    return api.post("/v1/payments", {
        "order_id": order_id, "captured": {"value": value, "currency": currency}, "actor": ACTOR,
        "paid_at": "2026-11-21T10:00:00+00:00",
        "facts": {"gateway": gateway, "transaction_id": transaction_id, "meta": meta}})


def refund(api: SignedClient, payment: dict[str, Any], value: int, key: str, currency: str = "NOK",
           **extra: Any) -> Any:
    return api.post(f"/v1/payments/{payment['id']}/refunds", refund_body(value, currency=currency, **extra),
                    headers={"Idempotency-Key": key})


def test_stripe_test_and_live_payments_each_use_their_own_key(api: SignedClient, fakes: dict[str, Any]) -> None:
    stripe: FakeStripe = fakes["stripe"]
    stripe.add_payment("pi_live1", 50000, mode="live")
    stripe.add_payment("pi_test1", 50000, mode="test")
    live = register(api, "1", "stripe", {"_stripe_intent_id": "pi_live1", "_refunder_payment_mode": "live"}, 50000).json
    test = register(api, "2", "stripe", {"_stripe_intent_id": "pi_test1", "_refunder_payment_mode": "test"}, 50000).json
    assert (live["mode"], test["mode"]) == ("live", "test")
    assert live["capabilities"]["provider_refund"] and test["capabilities"]["provider_refund"]
    assert refund(api, live, 10000, "mode-key-live-1").json["status"] == "refunded"
    assert refund(api, test, 20000, "mode-key-test-1").json["status"] == "refunded"
    assert stripe.payments["pi_live1"].refunded() == 10000 and stripe.payments["pi_test1"].refunded() == 20000
    modes_for = {ref: {m for _, path, m in stripe.requests if ref in path} for ref in ("pi_live1", "pi_test1")}
    assert modes_for == {"pi_live1": {"live"}, "pi_test1": {"test"}}  # GETs and refund lists
    posts = [m for method, path, m in stripe.requests if method == "POST"]
    assert sorted(posts) == ["live", "test"]


def test_a_payment_said_to_be_test_is_never_looked_up_with_live_keys(api: SignedClient, fakes: dict[str, Any]) -> None:
    stripe: FakeStripe = fakes["stripe"]
    stripe.add_payment("pi_live2", 50000, mode="live")
    answer = register(api, "3", "stripe", {"_stripe_intent_id": "pi_live2", "_refunder_payment_mode": "test"}, 50000)
    assert answer.status_code == 404 and answer.json["code"] == "payment_not_at_provider"
    assert {mode for _, _, mode in stripe.requests} == {"test"}


def test_unknown_mode_is_found_by_a_read_only_look_up(api: SignedClient, fakes: dict[str, Any]) -> None:
    stripe: FakeStripe = fakes["stripe"]
    stripe.add_payment("pi_test3", 30000, mode="test")
    payment = register(api, "4", "stripe", {"_stripe_intent_id": "pi_test3"}, 30000).json
    assert payment["mode"] == "test" and payment["detection"]["mode"] == "unknown"
    events = api.get(f"/v1/payments/{payment['id']}/events").json["events"]
    assert events[0]["detail"]["mode"] == "test"
    before = len(stripe.requests)
    assert refund(api, payment, 30000, "mode-key-probe-1").json["status"] == "refunded"
    assert {mode for _, _, mode in stripe.requests[before:]} == {"test"}
    again = register(api, "4", "stripe", {"_stripe_intent_id": "pi_test3"}, 30000).json  # the stored mode is kept
    assert again["mode"] == "test"


def test_no_credentials_for_the_payments_mode(db: Any, database_url: str, clock: Any, fakes: dict[str, Any]) -> None:
    api = sidecar(db, database_url, clock, fakes, stripe_test=False)
    payment = register(api, "5", "stripe", {"_stripe_intent_id": "pi_test5", "_refunder_payment_mode": "test"},
                       40000).json
    reason = payment["capabilities"]["reason"]
    assert reason["code"] == "mode_not_configured" and "REFUNDER_STRIPE_TEST_*" in reason["message"]
    assert payment["captured"]["value"] == 40000  # the order's figure: nobody could ask Stripe
    refused = refund(api, payment, 100, "mode-key-none-1", via="provider")
    assert refused.status_code == 422 and refused.json["reason"] == "mode_not_configured"
    done = refund(api, payment, 40000, "mode-key-none-2", via="bank_transfer", bank_reference="B-5")
    assert done.status_code == 201 and done.json["via"] == "bank_transfer"
    assert fakes["stripe"].requests == []  # nothing went to Stripe with the live key


def test_vipps_environments(api: SignedClient, fakes: dict[str, Any]) -> None:
    production: FakeVipps = fakes["vipps_live"]
    test: FakeVipps = fakes["vipps_test"]
    test.add_payment("Woo00031", 25000)
    production.add_payment("Woo00033", 25000)
    meta = {"_vipps_api": "epayment", "_vipps_prefix": "Woo"}
    found_in_test = register(api, "31", "vipps", {**meta, "_vipps_orderid": "Woo00031"}, 25000).json
    assert found_in_test["mode"] == "test" and found_in_test["capabilities"]["provider_refund"]
    assert refund(api, found_in_test, 5000, "vipps-mode-test-1").json["status"] == "refunded"
    assert (test.payments["Woo00031"].refunded, test.refund_calls, production.refund_calls) == (5000, 1, 0)

    live = register(api, "33", "vipps", {**meta, "_vipps_orderid": "Woo00033", "_refunder_payment_mode": "live"},
                    25000).json
    assert refund(api, live, 25000, "vipps-mode-live-1").json["status"] == "refunded"
    assert (production.refund_calls, test.refund_calls) == (1, 1)
    assert production.violations == test.violations == []


def test_vipps_reference_in_both_environments_is_refused_not_guessed(api: SignedClient,
                                                                     fakes: dict[str, Any]) -> None:
    production: FakeVipps = fakes["vipps_live"]
    test: FakeVipps = fakes["vipps_test"]
    production.add_payment("Woo00032", 25000)
    test.add_payment("Woo00032", 25000)
    payment = register(api, "32", "vipps", {"_vipps_api": "epayment", "_vipps_orderid": "Woo00032"}, 25000).json
    assert payment["mode"] == "unknown" and payment["capabilities"]["reason"]["code"] == "mode_ambiguous"
    refused = refund(api, payment, 100, "vipps-ambiguous-1", via="provider")
    assert refused.status_code == 422 and refused.json["reason"] == "mode_ambiguous"
    assert production.refund_calls == test.refund_calls == 0
    done = refund(api, payment, 25000, "vipps-ambiguous-2", via="bank_transfer", bank_reference="B-32")
    assert done.status_code == 201


def test_mollie_mode_from_the_order(api: SignedClient, fakes: dict[str, Any]) -> None:
    mollie: FakeMollie = fakes["mollie"]
    mollie.add_payment("tr_test7", Money(4500, "EUR"), mode="test")
    payment = register(api, "7", "mollie_wc_gateway_creditcard", {
        "_mollie_order_id": "tr_test7", "_mollie_payment_id": "tr_test7", "_mollie_payment_mode": "test"},
        4500, "EUR").json
    assert payment["mode"] == "test"
    assert refund(api, payment, 1000, "mollie-mode-1", "EUR").json["status"] == "processing"
    assert {mode for _, _, mode in mollie.requests} == {"test"} and mollie.violations == []


def test_a_payment_recorded_before_modes_is_looked_up_when_its_refund_is_read_back(
        api: SignedClient, fakes: dict[str, Any], db: Any) -> None:
    from refunder.ledger.models import Payment

    stripe: FakeStripe = fakes["stripe"]
    stripe.add_payment("pi_old1", 30000, mode="test")
    stripe.slow.add("pi_old1")
    payment = register(api, "8", "stripe", {"_stripe_intent_id": "pi_old1", "_refunder_payment_mode": "test"},
                       30000).json
    created = refund(api, payment, 30000, "mode-key-old-1").json
    assert created["status"] == "processing"
    with db.transaction() as s:  # as migration 0015 leaves a payment recorded before it
        s.get_one(Payment, payment["id"]).mode = "unknown"
    stripe.payments["pi_old1"].refunds[0]["status"] = "succeeded"
    assert api.post(f"/v1/refunds/{created['id']}/refresh").json["status"] == "refunded"
    assert api.get(f"/v1/payments/{payment['id']}").json["mode"] == "test"
    live = [(method, path) for method, path, mode in stripe.requests if mode == "live"]
    assert live == [("GET", "/v1/payment_intents/pi_old1")]  # the read-only look-up; nothing else with live keys
