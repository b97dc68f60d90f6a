"""Mollie contract: decimal-string amounts, Idempotency-Key, statuses, Klarna capture, webhooks by re-fetch."""

from __future__ import annotations

import json
from typing import Any

import pytest
import responses

from refunder.money import Money
from refunder.providers.base import ProviderError, RefundNotAtProvider, WebhookRejected, WebhookRequest
from refunder.providers.http import Transport
from refunder.providers.mollie import LABEL, MollieProvider, MollieSettings
from refunder.rules import RefundStatus
from tests.providers.conftest import FAST, NOW, SECRETS, call, claim

API = "https://api.mollie.com"
SETTINGS = MollieSettings(api_key=SECRETS[6])


@pytest.fixture
def mollie(sleeps: Any) -> MollieProvider:
    return MollieProvider(SETTINGS, lambda: NOW, Transport(API, LABEL, policy=FAST, sleep=sleeps))


def refund_object(status: str = "pending", ours: str = "rf_0123456789abcdef01234567") -> dict[str, Any]:
    return {"resource": "refund", "id": "re_4qqhO89gsT", "amount": {"currency": "EUR", "value": "10.00"},
            "status": status, "description": "Appointment cancelled", "metadata": {"refunder_refund_id": ours},
            "paymentId": "tr_WDqYK6vllg", "createdAt": "2026-11-22T12:00:00+00:00"}


def test_refund_sends_an_exact_decimal_string(mocked: Any, mollie: Any) -> None:
    mocked.add(responses.POST, f"{API}/v2/payments/tr_WDqYK6vllg/refunds", status=201, json=refund_object())
    result = mollie.refund(call("tr_WDqYK6vllg", 1000, currency="EUR"))
    assert result.status is RefundStatus.PROCESSING and result.provider_reference == "re_4qqhO89gsT"
    sent = mocked.calls[0].request
    assert json.loads(sent.body) == {"amount": {"currency": "EUR", "value": "10.00"},
                                     "description": "Appointment cancelled",
                                     "metadata": {"refunder_refund_id": "rf_0123456789abcdef01234567"}}
    assert sent.headers["Idempotency-Key"] == "rf_0123456789abcdef01234567"
    assert sent.headers["Authorization"] == f"Bearer {SECRETS[6]}"


@pytest.mark.parametrize("minor,currency,value", [(1, "EUR", "0.01"), (123456, "NOK", "1234.56"),
                                                  (500, "JPY", "500")])
def test_amount_strings(mocked: Any, mollie: Any, minor: int, currency: str, value: str) -> None:
    mocked.add(responses.POST, f"{API}/v2/payments/tr_1/refunds", status=201, json=refund_object())
    mollie.refund(call("tr_1", minor, currency=currency))
    assert json.loads(mocked.calls[0].request.body)["amount"] == {"currency": currency, "value": value}


@pytest.mark.parametrize("status,ours", [("queued", RefundStatus.PROCESSING), ("pending", RefundStatus.PROCESSING),
                                         ("processing", RefundStatus.PROCESSING), ("refunded", RefundStatus.REFUNDED),
                                         ("failed", RefundStatus.FAILED), ("canceled", RefundStatus.FAILED)])
def test_statuses(mocked: Any, mollie: Any, status: str, ours: RefundStatus) -> None:
    mocked.add(responses.POST, f"{API}/v2/payments/tr_1/refunds", status=201, json=refund_object(status))
    assert mollie.refund(call("tr_1", 1000, currency="EUR")).status is ours


def test_mollie_refusal_is_shown_in_its_words(mocked: Any, mollie: Any) -> None:
    mocked.add(responses.POST, f"{API}/v2/payments/tr_1/refunds", status=422, json={
        "status": 422, "title": "Unprocessable Entity", "field": "amount",
        "detail": "The amount is higher than the amount that is refundable for this payment"})
    with pytest.raises(ProviderError, match="higher than the amount that is refundable"):
        mollie.refund(call("tr_1", 999999, currency="EUR"))


def test_card_payment_captured_when_paid(mocked: Any, mollie: Any) -> None:
    mocked.add(responses.GET, f"{API}/v2/payments/tr_1", json={
        "resource": "payment", "id": "tr_1", "status": "paid", "method": "creditcard",
        "amount": {"currency": "EUR", "value": "45.00"}, "paidAt": "2026-11-20T10:00:00+00:00"})
    facts = mollie.payment_facts(claim("tr_1", 4500, "EUR"))
    assert facts.captured == Money(4500, "EUR") and facts.paid_at.day == 20


def test_klarna_counts_only_what_was_captured(mocked: Any, mollie: Any) -> None:
    mocked.add(responses.GET, f"{API}/v2/payments/tr_k", json={
        "resource": "payment", "id": "tr_k", "status": "authorized", "method": "klarna",
        "amount": {"currency": "NOK", "value": "1200.00"}, "amountCaptured": {"currency": "NOK", "value": "0.00"},
        "authorizedAt": "2026-11-20T10:00:00+00:00"})
    assert mollie.payment_facts(claim("tr_k", 120000)).captured == Money(0, "NOK")
    assert mollie.policy.uncaptured_code == "mollie_nothing_captured"


def test_read_back_and_webhook_refetch(mocked: Any, mollie: Any) -> None:
    listing = {"count": 2, "_embedded": {"refunds": [refund_object("refunded"),
                                                     refund_object("refunded", ours="rf_someone_else")]}}
    mocked.add(responses.GET, f"{API}/v2/payments/tr_1/refunds", json=listing)
    assert mollie.refund_status(call("tr_1", 1000, currency="EUR")).status is RefundStatus.REFUNDED
    with pytest.raises(RefundNotAtProvider):
        mollie.refund_status(call("tr_1", 1000, refund_id="rf_missing", currency="EUR"))
    updates = mollie.webhook_updates(WebhookRequest("POST", "https://shop.example/webhooks/mollie", {}, b"id=tr_1"))
    assert [u.refund_id for u in updates] == ["rf_0123456789abcdef01234567", "rf_someone_else"]


@pytest.mark.parametrize("body", [b"", b"id=evil", b"id=tr_1&id=tr_2"])
def test_malformed_mollie_webhook(mollie: Any, body: bytes) -> None:
    with pytest.raises(WebhookRejected):
        mollie.webhook_updates(WebhookRequest("POST", "https://shop.example/webhooks/mollie", {}, body))
