"""Stripe and Stripe Connect (BT Pay) contract through stripe-python, and Stripe webhook signatures."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests
import responses

from refunder.errors import InvalidRequest
from refunder.money import Money
from refunder.providers.base import (
    ProviderError,
    ProviderUnreachable,
    RefundNotAtProvider,
    WebhookRejected,
    WebhookRequest,
)
from refunder.providers.http import ProviderBusy
from refunder.providers.stripe_cards import StripeProvider, StripeSettings, from_stripe_amount, to_stripe_amount
from refunder.providers.stripe_connect import StripeConnectProvider
from refunder.rules import RefundStatus
from tests.providers.conftest import FAST, NOW, SECRETS, call, claim

API = "https://api.stripe.com"
SETTINGS = StripeSettings(api_key=SECRETS[4], webhook_secret=SECRETS[5])


def refund_object(status: str = "succeeded", refund_id: str = "re_1", ours: str = "rf_0123456789abcdef01234567",
                  **extra: Any) -> dict[str, Any]:
    return {"id": refund_id, "object": "refund", "amount": 2500, "currency": "nok", "status": status,
            "metadata": {"refunder_refund_id": ours}, "payment_intent": "pi_1", **extra}


@pytest.fixture
def stripe_provider(sleeps: Any) -> StripeProvider:
    return StripeProvider(SETTINGS, lambda: NOW, policy=FAST, sleep=sleeps)


def form(request: Any) -> dict[str, list[str]]:
    return parse_qs(request.body if isinstance(request.body, str) else request.body.decode())


def test_refund_by_payment_intent(mocked: Any, stripe_provider: Any) -> None:
    mocked.add(responses.POST, f"{API}/v1/refunds", json=refund_object())
    result = stripe_provider.refund(call("pi_1", 2500))
    assert result.status is RefundStatus.REFUNDED and result.provider_reference == "re_1"
    sent = mocked.calls[0].request
    assert form(sent) == {"payment_intent": ["pi_1"], "amount": ["2500"], "reason": ["requested_by_customer"],
                          "metadata[refunder_refund_id]": ["rf_0123456789abcdef01234567"],
                          "metadata[reason]": ["Appointment cancelled"]}
    assert sent.headers["Idempotency-Key"] == "rf_0123456789abcdef01234567"
    assert sent.headers["Authorization"] == f"Bearer {SECRETS[4]}"
    assert "Stripe-Account" not in sent.headers


def test_refund_by_charge(mocked: Any, stripe_provider: Any) -> None:
    mocked.add(responses.POST, f"{API}/v1/refunds", json=refund_object())
    stripe_provider.refund(call("ch_1", 2500))
    assert form(mocked.calls[0].request)["charge"] == ["ch_1"]
    with pytest.raises(InvalidRequest):
        stripe_provider.refund(call("tr_1", 2500))


@pytest.mark.parametrize("status,ours", [("succeeded", RefundStatus.REFUNDED), ("pending", RefundStatus.PROCESSING),
                                         ("requires_action", RefundStatus.PROCESSING),
                                         ("failed", RefundStatus.FAILED), ("canceled", RefundStatus.FAILED)])
def test_statuses(mocked: Any, stripe_provider: Any, status: str, ours: RefundStatus) -> None:
    mocked.add(responses.POST, f"{API}/v1/refunds",
               json=refund_object(status, failure_reason="expired_or_canceled_card" if status == "failed" else None))
    result = stripe_provider.refund(call("pi_1", 2500))
    assert result.status is ours
    if status == "failed":
        assert "card has expired" in result.failure_message


@pytest.mark.parametrize("code,words", [("charge_already_refunded", "already fully refunded"),
                                        ("charge_disputed", "disputed")])
def test_errors_in_plain_words(mocked: Any, stripe_provider: Any, code: str, words: str) -> None:
    mocked.add(responses.POST, f"{API}/v1/refunds", status=400, json={"error": {
        "type": "invalid_request_error", "code": code, "message": "vendor words"}})
    with pytest.raises(ProviderError, match=words):
        stripe_provider.refund(call("pi_1", 2500))


def test_unmapped_error_keeps_stripes_message(mocked: Any, stripe_provider: Any) -> None:
    mocked.add(responses.POST, f"{API}/v1/refunds", status=400, json={"error": {
        "type": "invalid_request_error", "code": "something_new", "message": "Refund amount is too small."}})
    with pytest.raises(ProviderError, match="Refund amount is too small"):
        stripe_provider.refund(call("pi_1", 1))


def test_rate_limit_then_success_keeps_the_key(mocked: Any, stripe_provider: Any) -> None:
    mocked.add(responses.POST, f"{API}/v1/refunds", status=429, json={"error": {"type": "rate_limit_error",
                                                                               "message": "Too many"}})
    mocked.add(responses.POST, f"{API}/v1/refunds", json=refund_object())
    assert stripe_provider.refund(call("pi_1", 2500)).status is RefundStatus.REFUNDED
    assert {c.request.headers["Idempotency-Key"] for c in mocked.calls} == {"rf_0123456789abcdef01234567"}
    assert len(mocked.calls) == 2


def test_rate_limited_throughout_is_busy(mocked: Any, stripe_provider: Any) -> None:
    mocked.add(responses.POST, f"{API}/v1/refunds", status=429, json={"error": {"type": "rate_limit_error"}})
    with pytest.raises(ProviderBusy):
        stripe_provider.refund(call("pi_1", 2500))


def test_timeout_is_unknown(mocked: Any, stripe_provider: Any) -> None:
    mocked.add(responses.POST, f"{API}/v1/refunds", body=requests.ReadTimeout("slow"))
    with pytest.raises(ProviderUnreachable):
        stripe_provider.refund(call("pi_1", 2500))


def test_zero_decimal_quirks_are_exact() -> None:
    assert to_stripe_amount(Money(1500, "ISK")) == 150000  # Stripe counts ISK in hundredths
    assert from_stripe_amount(150000, "isk") == Money(1500, "ISK")
    assert to_stripe_amount(Money(1500, "JPY")) == 1500
    assert to_stripe_amount(Money(2500, "NOK")) == 2500


def test_payment_facts_from_payment_intent(mocked: Any, stripe_provider: Any) -> None:
    mocked.add(responses.GET, f"{API}/v1/payment_intents/pi_1", json={
        "id": "pi_1", "object": "payment_intent", "amount": 100000, "amount_received": 100000, "currency": "nok",
        "created": 1763800000})
    facts = stripe_provider.payment_facts(claim("pi_1"))
    assert facts.captured == Money(100000, "NOK") and facts.paid_at.timestamp() == 1763800000


def test_read_back_by_metadata(mocked: Any, stripe_provider: Any) -> None:
    mocked.add(responses.GET, f"{API}/v1/refunds", json={"object": "list", "url": "/v1/refunds", "has_more": False,
                                                         "data": [refund_object(refund_id="re_other", ours="rf_x"),
                                                                  refund_object("pending", refund_id="re_2")]})
    assert stripe_provider.refund_status(call("pi_1", 2500)).provider_reference == "re_2"
    with pytest.raises(RefundNotAtProvider):
        stripe_provider.refund_status(call("pi_1", 2500, refund_id="rf_missing"))


# --- Stripe Connect (BT Pay) -------------------------------------------------------------------------

@pytest.fixture
def bt_pay(sleeps: Any) -> StripeConnectProvider:
    return StripeConnectProvider(SETTINGS, lambda: NOW, policy=FAST, sleep=sleeps)


def test_direct_charge_is_refunded_on_the_connected_account(mocked: Any, bt_pay: Any) -> None:
    mocked.add(responses.POST, f"{API}/v1/refunds", json=refund_object())
    bt_pay.refund(call("pi_1", 2500, charge_type="direct", account="acct_1Salon"))
    sent = mocked.calls[0].request
    assert sent.headers["Stripe-Account"] == "acct_1Salon"
    assert form(sent)["refund_application_fee"] == ["true"] and "reverse_transfer" not in form(sent)


def test_destination_charge_reverses_the_transfer(mocked: Any, bt_pay: Any) -> None:
    mocked.add(responses.POST, f"{API}/v1/refunds", json=refund_object())
    bt_pay.refund(call("pi_1", 2500, charge_type="destination"))
    sent = mocked.calls[0].request
    assert "Stripe-Account" not in sent.headers
    assert form(sent)["reverse_transfer"] == ["true"] and form(sent)["refund_application_fee"] == ["true"]


@pytest.mark.parametrize("data", [{}, {"charge_type": "direct"}, {"charge_type": "separate"}])
def test_connect_needs_to_know_the_charge_type(bt_pay: Any, data: dict[str, str]) -> None:
    with pytest.raises(InvalidRequest):
        bt_pay.check_request(call("pi_1", 1, **data))


# --- webhooks ----------------------------------------------------------------------------------------

def stripe_webhook(event: dict[str, Any], secret: str = SECRETS[5], at: int | None = None) -> WebhookRequest:
    body = json.dumps(event).encode()
    timestamp = at if at is not None else int(NOW.timestamp())
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return WebhookRequest("POST", "https://shop.example/webhooks/stripe",
                          {"Stripe-Signature": f"t={timestamp},v1={mac}"}, body)


def event(kind: str, obj: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"id": "evt_1", "object": "event", "type": kind, "data": {"object": obj}, **extra}


def test_refund_events_update_our_refund(stripe_provider: Any) -> None:
    [update] = stripe_provider.webhook_updates(stripe_webhook(event("refund.updated", refund_object("succeeded"))))
    assert update.refund_id == "rf_0123456789abcdef01234567" and update.result.status is RefundStatus.REFUNDED
    failed = stripe_provider.webhook_updates(stripe_webhook(event("refund.failed", refund_object(
        "failed", failure_reason="lost_or_stolen_card"))))
    assert failed[0].result.status is RefundStatus.FAILED
    foreign = refund_object(); foreign["metadata"] = {}  # noqa: E702 - made in the dashboard, not by us
    assert stripe_provider.webhook_updates(stripe_webhook(event("refund.created", foreign))) == []


def test_charge_refunded_is_checked_against_stripe(mocked: Any, stripe_provider: Any) -> None:
    mocked.add(responses.GET, f"{API}/v1/refunds", json={"object": "list", "url": "/v1/refunds", "has_more": False,
                                                         "data": [refund_object()]})
    updates = stripe_provider.webhook_updates(stripe_webhook(event("charge.refunded", {"id": "ch_1",
                                                                                       "object": "charge"})))
    assert [u.refund_id for u in updates] == ["rf_0123456789abcdef01234567"]
    assert "charge=ch_1" in mocked.calls[0].request.url


@pytest.mark.parametrize("bad", ["secret", "old", "ahead", "a year ahead", "body"])
def test_forged_or_stale_stripe_webhooks_are_rejected(stripe_provider: Any, bad: str) -> None:
    good = event("refund.updated", refund_object())
    now = int(NOW.timestamp())
    if bad == "secret":
        request = stripe_webhook(good, secret="whsec_wrong")
    elif bad in ("old", "ahead", "a year ahead"):
        request = stripe_webhook(good, at=now + {"old": -301, "ahead": 301, "a year ahead": 365 * 86400}[bad])
    else:
        signed = stripe_webhook(good)
        request = WebhookRequest(signed.method, signed.url, signed.headers,
                                 signed.body.replace(b"succeeded", b"failed"))
    with pytest.raises(WebhookRejected):
        stripe_provider.webhook_updates(request)
