"""Validly signed webhooks with bodies no provider sends are a 400 problem, never a 500 (issue 12); news
about a payment the provider does not know is answered 200 and logged, since any other answer makes the
provider send it again for days."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import pytest
import responses

from refunder.app import create_app
from refunder.providers.stripe_cards import StripeProvider
from refunder.providers.vipps_epayment import VippsEPaymentProvider
from refunder.providers.vipps_webhooks import authorization, content_hash
from tests.conftest import FakeClock
from tests.providers.conftest import FAST, SECRETS, VIPPS
from tests.providers.test_stripe import SETTINGS as STRIPE_SETTINGS

HOST = "shop.example"
NESTED = b"[" * 10_000 + b"]" * 10_000


@pytest.fixture
def clock() -> FakeClock:
    """Now: Stripe's library and the sidecar may both check a signature's age, against their own clocks."""
    return FakeClock(datetime.now(UTC))


@pytest.fixture
def client(settings: Any, db: Any, clock: Any, sleeps: Any) -> Any:
    providers = {"vipps": VippsEPaymentProvider(VIPPS, clock),
                 "stripe": StripeProvider(STRIPE_SETTINGS, clock, policy=FAST, sleep=sleeps)}
    return create_app(settings, clock=clock, providers=providers).test_client()


def vipps(client: Any, clock: Any, body: bytes) -> Any:
    date = format_datetime(clock(), usegmt=True)
    headers = {"x-ms-date": date, "x-ms-content-sha256": content_hash(body),
               "Authorization": authorization(VIPPS.webhook_secret, "POST", "/webhooks/vipps", date, HOST, body)}
    return client.post("/webhooks/vipps", data=body, headers=headers, base_url=f"https://{HOST}")


def stripe(client: Any, body: bytes) -> Any:
    timestamp = int(time.time())  # the clock fixture's now, to the second
    mac = hmac.new(SECRETS[5].encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return client.post("/webhooks/stripe", data=body, headers={"Stripe-Signature": f"t={timestamp},v1={mac}"},
                       base_url=f"https://{HOST}")


def event(kind: str, **fields: Any) -> bytes:
    return json.dumps({"id": "evt_1", "object": "event", "type": kind, **fields}).encode()


def assert_malformed(response: Any) -> None:
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.content_type == "application/problem+json"
    assert response.json["code"] == "webhook_malformed"


@pytest.mark.parametrize("body", [b"[]", b"null", b'"REFUNDED"', b"17", NESTED, b'{"name":"\\ud800"}'],
                         ids=["list", "null", "string", "number", "10000-deep", "surrogate"])
def test_signed_vipps_bodies_that_are_no_event_are_400(client: Any, clock: Any, body: bytes) -> None:
    assert_malformed(vipps(client, clock, body))


@pytest.mark.parametrize("body", [
    b"[]", b"null", NESTED,
    event("refund.updated"),
    event("refund.updated", data={}),
    event("refund.updated", data={"object": None}),
    event("refund.updated", data={"object": {"object": "refund", "status": "succeeded"}}),
    event("charge.refunded", data={"object": {"object": "charge", "id": 42}}),
], ids=["list", "null", "10000-deep", "no-data", "no-object", "null-object", "refund-without-id",
        "charge-with-numeric-id"])
def test_signed_stripe_bodies_that_are_no_event_are_400(client: Any, body: bytes) -> None:
    assert_malformed(stripe(client, body))


def test_stripe_events_we_do_not_follow_need_no_object_id(client: Any) -> None:
    balance = event("balance.available", data={"object": {"object": "balance", "available": []}})
    response = stripe(client, balance)
    assert response.status_code == 200 and response.json == {"received": 0, "applied": 0}


def test_charge_refunded_for_a_charge_stripe_does_not_know_is_200_and_logged(client: Any, mocked: Any,
                                                                             caplog: Any) -> None:
    mocked.add(responses.GET, "https://api.stripe.com/v1/refunds", status=404, json={"error": {
        "type": "invalid_request_error", "code": "resource_missing", "message": "No such charge: 'ch_elsewhere'"}})
    with caplog.at_level(logging.INFO, logger="refunder.api.routes"):
        response = stripe(client, event("charge.refunded", data={"object": {"object": "charge", "id": "ch_elsewhere"}}))
    assert response.status_code == 200 and response.json == {"received": 0, "applied": 0}
    assert any("does not know" in r.getMessage() and r.name == "refunder.api.routes" for r in caplog.records)
