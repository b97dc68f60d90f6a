"""Vipps eCom v2 contract, and Vipps webhook signatures (with the vendor's published test vector)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest
import responses

from refunder.providers.base import ProviderError, RefundNotAtProvider, WebhookRejected, WebhookRequest
from refunder.providers.http import ProviderBusy
from refunder.providers.vipps_ecom import VippsEcomProvider
from refunder.providers.vipps_epayment import VippsEPaymentProvider
from refunder.providers.vipps_webhooks import authorization, content_hash, verify
from refunder.rules import RefundStatus
from tests.providers.conftest import NOW, VIPPS, VIPPS_URL, call, claim, spec_checked, vipps_token

ORDER = "acme-order-1001"
SPEC = "ecom.v2.swagger.yaml"
REFUND_URL = f"{VIPPS_URL}/ecomm/v2/payments/{ORDER}/refund"
DETAILS_URL = f"{VIPPS_URL}/ecomm/v2/payments/{ORDER}/details"


@pytest.fixture
def ecom(vipps_transport: Any) -> VippsEcomProvider:
    return VippsEcomProvider(VIPPS, lambda: NOW, vipps_transport)


def refunded(amount: int) -> dict[str, Any]:
    return {"orderId": ORDER, "transaction": {"amount": amount, "status": "Refund", "timeStamp": "2026-11-22T12:00Z",
                                              "transactionId": "5001420062", "transactionText": "x"},
            "transactionSummary": {"capturedAmount": 100000, "refundedAmount": amount,
                                   "remainingAmountToCapture": 0, "remainingAmountToRefund": 100000 - amount}}


def test_ecom_refund_is_valid_against_the_spec(mocked: Any, ecom: Any) -> None:
    vipps_token(mocked)
    mocked.add_callback(responses.POST, REFUND_URL, callback=spec_checked(SPEC, [(200, refunded(25000))]))
    result = ecom.refund(call(ORDER, 25000))
    assert result.status is RefundStatus.REFUNDED and result.provider_reference == "5001420062"
    sent = mocked.calls[-1].request
    assert sent.headers["X-Request-Id"] == "rf_0123456789abcdef01234567"
    assert len(sent.headers["X-Request-Id"]) <= 40
    assert json.loads(sent.body) == {"merchantInfo": {"merchantSerialNumber": "123456"},
                                     "transaction": {"amount": 25000, "transactionText": "Appointment cancelled"}}


@pytest.mark.parametrize("code,words", [("71", "more than is left"), ("95", "within 365 days"),
                                        ("93", "does not allow this refund")])
def test_ecom_error_codes(mocked: Any, ecom: Any, code: str, words: str) -> None:
    vipps_token(mocked)
    error = [{"errorGroup": "Payment", "errorCode": code, "errorMessage": "vendor words"}]
    mocked.add_callback(responses.POST, REFUND_URL, callback=spec_checked(SPEC, [(400, error)]))
    with pytest.raises(ProviderError, match=words):
        ecom.refund(call(ORDER, 1000))


def test_ecom_locked_order_is_retried_then_busy(mocked: Any, ecom: Any) -> None:
    vipps_token(mocked)
    locked = [{"errorGroup": "Payment", "errorCode": "94", "errorMessage": "Order locked and is already processing"}]
    mocked.add_callback(responses.POST, REFUND_URL, callback=spec_checked(SPEC, [(400, locked)]))
    with pytest.raises(ProviderBusy):
        ecom.refund(call(ORDER, 1000))
    assert len([c for c in mocked.calls if c.request.url == REFUND_URL]) == 3


def test_ecom_details_give_captured_and_read_back(mocked: Any, ecom: Any) -> None:
    vipps_token(mocked)
    details = {"orderId": ORDER, "transactionSummary": refunded(0)["transactionSummary"], "transactionLogHistory": [
        {"amount": 500, "operation": "REFUND", "operationSuccess": True, "requestId": "rf_0123456789abcdef01234567",
         "timeStamp": "2026-11-22T12:00:00Z", "transactionId": "5001420099", "transactionText": "x"},
        {"amount": 100000, "operation": "CAPTURE", "operationSuccess": True, "timeStamp": "2026-11-20T12:00:00Z",
         "transactionText": "x"}]}
    mocked.add_callback(responses.GET, DETAILS_URL, callback=spec_checked(SPEC, [(200, details)]))
    assert ecom.payment_facts(claim(ORDER)).captured.minor == 100000
    assert ecom.refund_status(call(ORDER, 500)).provider_reference == "5001420099"
    with pytest.raises(RefundNotAtProvider):
        ecom.refund_status(call(ORDER, 500, refund_id="rf_other"))


# --- webhooks ------------------------------------------------------------------------------------

VENDOR_SECRET = "A0+AeKBRG2KRGvnNwJpQlb6IJFk48CKXCIcrLoHncVJKDILsQSxS6NWCccwWm6r6FhGKhiHTBsG2wo/xU6FY/A=="
VENDOR_BODY = b'{"some-unique-content":"ee6e441b-cc4a-46f8-895d-a5af79bcc233/hello-world"}'
VENDOR_DATE = "Thu, 30 Mar 2023 08:38:32 GMT"
VENDOR_AUTH = ("HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&"
               "Signature=agAiSyogQbDHpeucoNwYz+yAr5nJ+v+zasdkSbqzv+U=")
VENDOR_NOW = datetime(2023, 3, 30, 8, 38, 32, tzinfo=UTC)


def test_vendor_published_vector() -> None:
    """Vipps MobilePay's own example (webhooks API, request authentication)."""
    assert content_hash(VENDOR_BODY) == "lNlsp1XA03N34HrQsVzPgJKtC+r7l/RBF4V3JQUWMj4="
    assert authorization(VENDOR_SECRET, "POST", "/e2cee29b-012e-4f1d-8ef4-e95fd74a7a63", VENDOR_DATE,
                         "webhook.site", VENDOR_BODY) == VENDOR_AUTH
    verify(VENDOR_SECRET, method="POST", path_and_query="/e2cee29b-012e-4f1d-8ef4-e95fd74a7a63",
           host="webhook.site", body=VENDOR_BODY, headers={
               "x-ms-date": VENDOR_DATE, "x-ms-content-sha256": "lNlsp1XA03N34HrQsVzPgJKtC+r7l/RBF4V3JQUWMj4=",
               "Authorization": VENDOR_AUTH}, now=VENDOR_NOW)


@pytest.mark.parametrize("change", ["body", "path", "host", "date", "secret", "hash-header"])
def test_vendor_vector_tampered_is_rejected(change: str) -> None:
    args = {"secret": VENDOR_SECRET, "path": "/e2cee29b-012e-4f1d-8ef4-e95fd74a7a63", "host": "webhook.site",
            "body": VENDOR_BODY}
    headers = {"x-ms-date": VENDOR_DATE, "x-ms-content-sha256": "lNlsp1XA03N34HrQsVzPgJKtC+r7l/RBF4V3JQUWMj4=",
               "Authorization": VENDOR_AUTH}
    if change == "body":
        args["body"] = VENDOR_BODY.replace(b"hello", b"HELLO")
    elif change == "path":
        args["path"] += "?x=1"
    elif change == "host":
        args["host"] = "evil.example"
    elif change == "date":
        headers["x-ms-date"] = "Thu, 30 Mar 2023 08:38:33 GMT"
    elif change == "secret":
        args["secret"] = VENDOR_SECRET[:-3] + "B=="
    else:
        headers["x-ms-content-sha256"] = content_hash(b"{}")
    with pytest.raises(WebhookRejected):
        verify(str(args["secret"]), method="POST", path_and_query=str(args["path"]), host=str(args["host"]),
               body=args["body"], headers=headers, now=VENDOR_NOW)  # type: ignore[arg-type]


@pytest.mark.parametrize("offset,accepted", [(-299, True), (299, True), (-301, False), (301, False),
                                             (-400 * 86400, False), (400 * 86400, False)])
def test_webhook_dated_more_than_five_minutes_off_is_rejected(offset: int, accepted: bool) -> None:
    """Signed and intact, but sent (or replayed) too long ago, or dated ahead."""
    headers = {"x-ms-date": VENDOR_DATE, "x-ms-content-sha256": content_hash(VENDOR_BODY), "Authorization": VENDOR_AUTH}
    check = partial(verify, VENDOR_SECRET, method="POST", path_and_query="/e2cee29b-012e-4f1d-8ef4-e95fd74a7a63",
                    host="webhook.site", body=VENDOR_BODY, headers=headers,
                    now=VENDOR_NOW - timedelta(seconds=offset))
    if accepted:
        check()
    else:
        with pytest.raises(WebhookRejected, match="not dated within 5 minutes"):
            check()


@pytest.mark.parametrize("date", ["not a date", "", "Thu, 30 Mar 2023 08:38:32", "2023-03-30T08:38:32Z"])
def test_webhook_with_an_unreadable_date_is_rejected(date: str) -> None:
    body = VENDOR_BODY
    headers = {"x-ms-date": date, "x-ms-content-sha256": content_hash(body),
               "Authorization": authorization(VENDOR_SECRET, "POST", "/hook", date, "webhook.site", body)}
    with pytest.raises(WebhookRejected):
        verify(VENDOR_SECRET, method="POST", path_and_query="/hook", host="webhook.site", body=body, headers=headers,
               now=VENDOR_NOW)


def signed_vipps_webhook(event: dict[str, Any], url: str = "https://shop.example/webhooks/vipps",
                         secret: str = VIPPS.webhook_secret) -> WebhookRequest:
    body = json.dumps(event).encode()
    date = "Sun, 22 Nov 2026 12:00:00 GMT"
    auth = authorization(secret, "POST", "/webhooks/vipps", date, "shop.example", body)
    return WebhookRequest("POST", url, {"x-ms-date": date, "x-ms-content-sha256": content_hash(body),
                                        "Authorization": auth}, body)


REFUNDED_EVENT = {"msn": "123456", "reference": "acme-booking-1001", "pspReference": "psp-9", "name": "REFUNDED",
                  "amount": {"currency": "NOK", "value": 500}, "timestamp": "2026-11-22T12:00:00Z",
                  "idempotencyKey": "rf_0123456789abcdef01234567", "success": True}


def test_refunded_webhook_names_our_refund(vipps_transport: Any) -> None:
    provider = VippsEPaymentProvider(VIPPS, lambda: NOW, vipps_transport)
    [update] = provider.webhook_updates(signed_vipps_webhook(REFUNDED_EVENT))
    assert update.refund_id == "rf_0123456789abcdef01234567"
    assert update.result.status is RefundStatus.REFUNDED and update.result.provider_reference == "psp-9"
    assert provider.webhook_updates(signed_vipps_webhook({**REFUNDED_EVENT, "name": "CAPTURED"})) == []
    with pytest.raises(WebhookRejected):
        provider.webhook_updates(signed_vipps_webhook(REFUNDED_EVENT, secret="not-the-secret"))
