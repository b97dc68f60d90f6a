"""Providers behind the sidecar API: webhooks, read-back and resend with the same key, rate limits, secrets."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
import requests
import responses
from sqlalchemy import text

from refunder.app import create_app
from refunder.providers.http import Transport
from refunder.providers.mollie import LABEL as MOLLIE
from refunder.providers.mollie import MollieProvider
from refunder.providers.stripe_cards import StripeProvider
from refunder.providers.vipps_epayment import VippsEPaymentProvider
from tests.providers.conftest import FAST, SECRETS, VIPPS, VIPPS_URL, spec_checked, vipps_token
from tests.providers.test_mollie import SETTINGS as MOLLIE_SETTINGS
from tests.providers.test_stripe import SETTINGS as STRIPE_SETTINGS
from tests.providers.test_stripe import event, refund_object, stripe_webhook
from tests.providers.test_vipps_ecom_and_webhooks import REFUNDED_EVENT, signed_vipps_webhook
from tests.providers.test_vipps_epayment import modification, payment_events
from tests.sidecar.helpers import ACTOR, refund_body

REF = "acme-booking-1001"
PAYMENT_URL = f"{VIPPS_URL}/epayment/v1/payments/{REF}"


@pytest.fixture
def app(settings: Any, db: Any, clock: Any, sleeps: Any) -> Any:
    providers = {
        "vipps": VippsEPaymentProvider(VIPPS, clock,
                                       Transport(VIPPS_URL, "Vipps MobilePay", policy=FAST, sleep=sleeps)),
        "stripe": StripeProvider(STRIPE_SETTINGS, clock, policy=FAST, sleep=sleeps),
        "mollie": MollieProvider(MOLLIE_SETTINGS, clock, Transport("https://api.mollie.com", MOLLIE, policy=FAST,
                                                                    sleep=sleeps)),
    }
    return create_app(settings, clock=clock, providers=providers)


@pytest.fixture
def vipps_payment(api: Any, mocked: Any) -> dict[str, Any]:
    vipps_token(mocked)
    payment = {**modification(0), "paymentMethod": {"type": "WALLET"}, "profile": {}}
    mocked.add_callback(responses.GET, PAYMENT_URL, callback=spec_checked("epayment.v1.yml", [(200, payment)]))
    mocked.add_callback(responses.GET, f"{PAYMENT_URL}/events",
                        callback=spec_checked("epayment.v1.yml", [(200, payment_events(REF))]))
    response = api.post("/v1/payments", {"provider": "vipps", "reference": REF, "order_id": "1001",
                                         "captured": {"value": 100000, "currency": "NOK"},
                                         "paid_at": "2026-11-20T10:00:00+00:00", "actor": ACTOR})
    assert response.status_code == 200, response.json
    return response.json


def refund(api: Any, payment: dict[str, Any], value: int, key: str) -> Any:
    return api.post(f"/v1/payments/{payment['id']}/refunds", refund_body(value), headers={"Idempotency-Key": key})


def post_webhook(app: Any, provider: str, request: Any) -> Any:
    return app.test_client().post(f"/webhooks/{provider}", data=request.body, headers=dict(request.headers),
                                  base_url="https://shop.example")


def test_timeout_then_webhook_settles_the_refund_once(app: Any, api: Any, mocked: Any, vipps_payment: Any) -> None:
    mocked.add(responses.POST, f"{PAYMENT_URL}/refund", body=requests.ReadTimeout("slow"))
    created = refund(api, vipps_payment, 500, "key-timeout-webhook")
    assert created.json["status"] == "unknown"
    hook = signed_vipps_webhook({**REFUNDED_EVENT, "idempotencyKey": created.json["id"]})
    first = post_webhook(app, "vipps", hook)
    assert first.status_code == 200 and first.json == {"received": 1, "applied": 1}
    assert post_webhook(app, "vipps", hook).status_code == 200  # delivered twice
    after = api.get(f"/v1/refunds/{created.json['id']}").json
    assert after["status"] == "refunded" and after["provider_reference"] == "psp-9"
    actions = [e["action"] for e in api.get(f"/v1/payments/{vipps_payment['id']}/events").json["events"]]
    assert actions.count("refund.refunded") == 1
    webhook_event = next(e for e in api.get(f"/v1/payments/{vipps_payment['id']}/events").json["events"]
                         if e["action"] == "refund.refunded")
    assert webhook_event["actor"] == {"id": "webhook:vipps", "name": "Vipps MobilePay webhook"}


def test_forged_webhook_changes_nothing(app: Any, api: Any, mocked: Any, vipps_payment: Any) -> None:
    mocked.add(responses.POST, f"{PAYMENT_URL}/refund", body=requests.ReadTimeout("slow"))
    created = refund(api, vipps_payment, 500, "key-forged-webhook")
    forged = signed_vipps_webhook({**REFUNDED_EVENT, "idempotencyKey": created.json["id"]}, secret="guess")
    response = post_webhook(app, "vipps", forged)
    assert response.status_code == 401 and response.json["code"] == "webhook_rejected"
    assert api.get(f"/v1/refunds/{created.json['id']}").json["status"] == "unknown"
    assert app.test_client().post("/webhooks/paypal", data=b"{}").status_code == 404


def test_a_webhook_cannot_move_another_providers_refund(app: Any, api: Any, mocked: Any, vipps_payment: Any) -> None:
    mocked.add(responses.POST, f"{PAYMENT_URL}/refund", body=requests.ReadTimeout("slow"))
    created = refund(api, vipps_payment, 500, "key-cross-provider")
    hook = stripe_webhook(event("refund.updated", refund_object("failed", ours=created.json["id"])))
    assert post_webhook(app, "stripe", hook).json == {"received": 1, "applied": 0}
    assert api.get(f"/v1/refunds/{created.json['id']}").json["status"] == "unknown"


def test_unknown_refund_is_read_back_then_resent_with_the_same_key(app: Any, api: Any, mocked: Any, clock: Any,
                                                                   vipps_payment: Any) -> None:
    mocked.add(responses.POST, f"{PAYMENT_URL}/refund", body=requests.ConnectionError("reset by peer"))
    created = refund(api, vipps_payment, 700, "key-resend-0001").json
    assert created["status"] == "unknown"
    mocked.replace(responses.GET, f"{PAYMENT_URL}/events", json=payment_events(REF))  # Vipps never got it
    mocked.replace(responses.POST, f"{PAYMENT_URL}/refund", json=modification(700))
    # its sender is done (the refund's lock is free): sent again at once, with the same key
    assert api.post(f"/v1/refunds/{created['id']}/refresh").json["status"] == "refunded"
    keys = [c.request.headers["Idempotency-Key"] for c in mocked.calls if c.request.url.endswith("/refund")]
    assert keys == [created["id"]] * (len(keys)) and len(keys) == 4  # 3 lost attempts + 1 resend, one key


def test_vipps_allows_five_changes_a_minute_per_payment(app: Any, api: Any, mocked: Any, clock: Any,
                                                        vipps_payment: Any) -> None:
    mocked.add(responses.POST, f"{PAYMENT_URL}/refund", json=modification(100))
    for i in range(5):
        assert refund(api, vipps_payment, 100, f"key-rate-{i:04d}").status_code == 201
    sixth = refund(api, vipps_payment, 100, "key-rate-0005")
    assert sixth.status_code == 429 and sixth.json["code"] == "too_many_refunds"
    assert len([c for c in mocked.calls if c.request.url.endswith("/refund")]) == 5
    clock.advance(seconds=61)
    assert refund(api, vipps_payment, 100, "key-rate-0005").status_code == 201


def test_uncaptured_klarna_is_explained(app: Any, api: Any, mocked: Any) -> None:
    mocked.add(responses.GET, "https://api.mollie.com/v2/payments/tr_klarna", json={
        "resource": "payment", "id": "tr_klarna", "status": "authorized", "method": "klarna",
        "amount": {"currency": "NOK", "value": "1200.00"}, "amountCaptured": {"currency": "NOK", "value": "0.00"},
        "authorizedAt": "2026-11-20T10:00:00+00:00"})
    payment = api.post("/v1/payments", {"provider": "mollie", "reference": "tr_klarna", "order_id": "77",
                                        "captured": {"value": 120000, "currency": "NOK"},
                                        "paid_at": "2026-11-20T10:00:00+00:00", "actor": ACTOR}).json
    assert payment["captured"]["value"] == 0
    response = refund(api, payment, 100, "key-klarna-001")
    assert response.status_code == 422 and response.json["code"] == "mollie_nothing_captured"
    assert "Capture the payment in Mollie first" in response.json["detail"]


def test_secrets_never_reach_logs_answers_or_the_ledger(app: Any, api: Any, mocked: Any, db: Any,
                                                        caplog: pytest.LogCaptureFixture, vipps_payment: Any) -> None:
    caplog.set_level(logging.DEBUG)
    answers = []
    mocked.add(responses.POST, f"{PAYMENT_URL}/refund", status=400, json={
        "type": "x", "title": "Bad", "status": 400, "traceId": "t", "extraDetails": [{"name": "ErrorCode",
                                                                                    "reason": "6150"}]})
    answers.append(refund(api, vipps_payment, 100, "key-secret-0001"))
    mocked.replace(responses.POST, f"{PAYMENT_URL}/refund", body=requests.ReadTimeout("slow"))
    answers.append(refund(api, vipps_payment, 100, "key-secret-0002"))
    mocked.replace(responses.POST, f"{VIPPS_URL}/accesstoken/get", status=401, json={"error": "bad"})
    app.extensions["refunder"].providers["vipps"].client.tokens.forget()
    answers.append(refund(api, vipps_payment, 100, "key-secret-0003"))
    answers.append(post_webhook(app, "vipps", signed_vipps_webhook(REFUNDED_EVENT, secret="guess")))
    answers.append(post_webhook(app, "stripe", stripe_webhook(event("refund.updated", refund_object()), "wrong")))
    with db.engine.connect() as connection:
        stored = json.dumps([list(map(str, row)) for table in ("refunds", "audit_events", "payments")
                             for row in connection.execute(text(f"SELECT * FROM {table}"))])
    everything = caplog.text + stored + "".join(a.get_data(as_text=True) for a in answers)
    assert "refused the Refunder service's credentials" in everything  # the failures really happened
    for secret in SECRETS:
        assert secret not in everything


def test_behind_a_proxy_the_public_host_is_what_vipps_signed(settings: Any, db: Any, clock: Any, mocked: Any) -> None:
    from dataclasses import replace

    proxied = create_app(replace(settings, trusted_proxies=1), clock=clock, providers={
        "vipps": VippsEPaymentProvider(VIPPS, clock, Transport(VIPPS_URL, "Vipps MobilePay", policy=FAST))})
    hook = signed_vipps_webhook(REFUNDED_EVENT)  # signed for https://shop.example/webhooks/vipps
    answer = proxied.test_client().post("/webhooks/vipps", data=hook.body, base_url="http://10.0.0.5:8765",
                                        headers={**hook.headers, "X-Forwarded-Host": "shop.example",
                                                 "X-Forwarded-Proto": "https"})
    assert answer.status_code == 200  # the refund is unknown to this ledger, but the signature held
    direct = create_app(settings, clock=clock, providers={
        "vipps": VippsEPaymentProvider(VIPPS, clock, Transport(VIPPS_URL, "Vipps MobilePay", policy=FAST))})
    refused = direct.test_client().post("/webhooks/vipps", data=hook.body, base_url="http://10.0.0.5:8765",
                                        headers={**hook.headers, "X-Forwarded-Host": "shop.example"})
    assert refused.status_code == 401  # without the setting, forwarded headers are not believed
