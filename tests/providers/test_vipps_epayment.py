"""Vipps ePayment contract: requests valid against the official spec, errors in plain words, safe retries."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
import responses

from refunder.providers.base import PaymentNotAtProvider, ProviderError, ProviderUnreachable, RefundNotAtProvider
from refunder.providers.http import ProviderBusy
from refunder.providers.vipps_epayment import VippsEPaymentProvider
from refunder.rules import RefundStatus
from tests.conftest import FakeClock
from tests.providers.conftest import NOW, SECRETS, VIPPS, VIPPS_URL, call, claim, spec_checked, vipps_token

REF = "acme-booking-1001"
REFUND_URL = f"{VIPPS_URL}/epayment/v1/payments/{REF}/refund"
SPEC = "epayment.v1.yml"


def amount(value: int) -> dict[str, Any]:
    return {"currency": "NOK", "value": value}


def modification(refunded: int) -> dict[str, Any]:
    return {"amount": amount(100000), "state": "AUTHORIZED", "pspReference": "psp-refund-1", "reference": REF,
            "aggregate": {"authorizedAmount": amount(100000), "cancelledAmount": amount(0),
                          "capturedAmount": amount(100000), "refundedAmount": amount(refunded)}}


def payment_events(reference: str, authorized: str = "2026-11-20T10:00:00Z") -> list[dict[str, Any]]:
    """The event log of a payment created, authorized and captured (before any refund)."""
    return [{"reference": reference, "pspReference": f"psp-{name.lower()}", "name": name, "amount": amount(100000),
             "timestamp": when, "idempotencyKey": None, "success": True}
            for name, when in (("CREATED", "2026-11-20T09:58:00Z"), ("AUTHORIZED", authorized),
                               ("CAPTURED", "2026-11-21T08:00:00Z"))]


def problem(status: int, code: str, title: str = "Bad Request") -> dict[str, Any]:
    return {"type": f"https://httpstatuses.io/{status}", "title": title, "status": status, "detail": "x",
            "traceId": "00-1", "extraDetails": [{"name": "ErrorCode", "reason": code}]}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def vipps(vipps_transport: Any, clock: FakeClock) -> VippsEPaymentProvider:
    return VippsEPaymentProvider(VIPPS, clock, vipps_transport)


def test_refund_is_valid_against_the_spec_and_carries_every_header(mocked: Any, vipps: Any) -> None:
    vipps_token(mocked)
    mocked.add_callback(responses.POST, REFUND_URL, callback=spec_checked(SPEC, [(200, modification(25000))]))
    result = vipps.refund(call(REF, 25000))
    assert result.status is RefundStatus.REFUNDED and result.provider_reference == "psp-refund-1"
    sent = mocked.calls[-1].request
    assert json.loads(sent.body) == {"modificationAmount": {"currency": "NOK", "value": 25000}}
    assert sent.headers["Idempotency-Key"] == "rf_0123456789abcdef01234567"
    assert sent.headers["Authorization"] == f"Bearer {SECRETS[3]}"
    assert sent.headers["Ocp-Apim-Subscription-Key"] == SECRETS[1]
    assert sent.headers["Merchant-Serial-Number"] == "123456"
    for name in ("Vipps-System-Name", "Vipps-System-Version", "Vipps-System-Plugin-Name",
                 "Vipps-System-Plugin-Version"):
        assert 0 < len(sent.headers[name]) <= 30
    token_call = mocked.calls[0].request
    assert token_call.headers["client_id"] == "cid-public" and token_call.headers["client_secret"] == SECRETS[0]


def test_a_malformed_request_fails_the_spec_check() -> None:
    from openapi_core.validation.request.exceptions import MissingRequiredParameter

    from tests.providers import specs

    if not specs.available():
        pytest.skip(specs.MISSING)
    bad = requests.Request("POST", REFUND_URL, json={"modificationAmount": amount(1)},
                           headers={"Authorization": "Bearer x", "Ocp-Apim-Subscription-Key": "k",
                                    "Merchant-Serial-Number": "123456"}).prepare()
    with pytest.raises(MissingRequiredParameter, match="Idempotency-Key"):
        specs.validate(SPEC, bad)


def test_token_is_cached_until_it_expires(mocked: Any, vipps: Any, clock: FakeClock) -> None:
    vipps_token(mocked, expires_in="3599")
    mocked.add_callback(responses.POST, REFUND_URL, callback=spec_checked(SPEC, [(200, modification(1))]))
    vipps.refund(call(REF, 1, refund_id="rf_a"))
    vipps.refund(call(REF, 1, refund_id="rf_b"))
    token_calls = [c for c in mocked.calls if c.request.url.endswith("/accesstoken/get")]
    assert len(token_calls) == 1
    clock.advance(seconds=3599 - 59)
    vipps.refund(call(REF, 1, refund_id="rf_c"))
    assert len([c for c in mocked.calls if c.request.url.endswith("/accesstoken/get")]) == 2


def test_rejected_token_is_fetched_again_once(mocked: Any, vipps: Any) -> None:
    vipps_token(mocked)
    mocked.add_callback(responses.POST, REFUND_URL,
                        callback=spec_checked(SPEC, [(401, {"message": "expired"}), (200, modification(1))]))
    assert vipps.refund(call(REF, 1)).status is RefundStatus.REFUNDED
    assert len([c for c in mocked.calls if c.request.url.endswith("/accesstoken/get")]) == 2


@pytest.mark.parametrize("status,code,words", [
    (400, "6150", "more than is left to refund"),
    (400, "6180", "already fully refunded"),
    (400, "6220", "within 365 days"),
    (404, "5090", "does not know this payment reference"),
])
def test_vipps_error_codes_become_plain_words(mocked: Any, vipps: Any, status: int, code: str, words: str) -> None:
    vipps_token(mocked)
    mocked.add_callback(responses.POST, REFUND_URL, callback=spec_checked(SPEC, [(status, problem(status, code))]))
    with pytest.raises(ProviderError, match=words) as exc:
        vipps.refund(call(REF, 1000))
    assert exc.value.code == f"vipps_{code}" and exc.value.provider_code == code
    assert not isinstance(exc.value, (ProviderUnreachable, ProviderBusy))


def test_unmapped_errors_keep_vipps_words(mocked: Any, vipps: Any) -> None:
    vipps_token(mocked)
    mocked.add_callback(responses.POST, REFUND_URL,
                        callback=spec_checked(SPEC, [(400, problem(400, "9999", title="Something odd"))]))
    with pytest.raises(ProviderError, match="Something odd"):
        vipps.refund(call(REF, 1000))


def test_locked_and_rate_limited_are_retried_with_the_same_key(mocked: Any, vipps: Any, sleeps: Any) -> None:
    vipps_token(mocked)
    mocked.add_callback(responses.POST, REFUND_URL, callback=spec_checked(SPEC, [
        (400, problem(400, "6160", "Payment is locked")), (429, {"title": "Too many"}), (200, modification(5))]))
    assert vipps.refund(call(REF, 5)).status is RefundStatus.REFUNDED
    keys = [c.request.headers["Idempotency-Key"] for c in mocked.calls if c.request.url == REFUND_URL]
    assert keys == ["rf_0123456789abcdef01234567"] * 3
    assert len(sleeps) == 2


def test_busy_every_time_means_nothing_was_refunded(mocked: Any, vipps: Any) -> None:
    vipps_token(mocked)
    mocked.add_callback(responses.POST, REFUND_URL, callback=spec_checked(SPEC, [(429, {"title": "Too many"})]))
    with pytest.raises(ProviderBusy, match="Nothing was refunded"):
        vipps.refund(call(REF, 5))


@pytest.mark.parametrize("failure", [requests.ReadTimeout("slow"), requests.ConnectionError("reset by peer")])
def test_no_clear_answer_means_unknown(mocked: Any, vipps: Any, failure: Exception) -> None:
    vipps_token(mocked)
    mocked.add_callback(responses.POST, REFUND_URL, callback=spec_checked(SPEC, [(0, failure)]))
    with pytest.raises(ProviderUnreachable, match="not known yet"):
        vipps.refund(call(REF, 5))
    keys = {c.request.headers["Idempotency-Key"] for c in mocked.calls if c.request.url == REFUND_URL}
    assert keys == {"rf_0123456789abcdef01234567"}


def test_a_5xx_then_busy_is_still_unknown(mocked: Any, vipps: Any) -> None:
    vipps_token(mocked)
    mocked.add_callback(responses.POST, REFUND_URL, callback=spec_checked(SPEC, [
        (502, {"title": "Bad gateway"}), (429, {"title": "Too many"})]))
    with pytest.raises(ProviderUnreachable):
        vipps.refund(call(REF, 5))


def test_captured_amount_comes_from_the_aggregate(mocked: Any, vipps: Any) -> None:
    vipps_token(mocked)
    payment = {**modification(0), "paymentMethod": {"type": "WALLET"}, "profile": {}}
    payment["aggregate"]["capturedAmount"] = amount(60000)
    mocked.add_callback(responses.GET, f"{VIPPS_URL}/epayment/v1/payments/{REF}",
                        callback=spec_checked(SPEC, [(200, payment)]))
    mocked.add_callback(responses.GET, f"{VIPPS_URL}/epayment/v1/payments/{REF}/events",
                        callback=spec_checked(SPEC, [(200, payment_events(REF, "2025-12-01T07:30:00Z"))]))
    facts = vipps.payment_facts(claim(REF))
    assert facts.captured.minor == 60000 and facts.captured.currency == "NOK"
    # the refund window starts when Vipps authorized the payment, whatever the order says
    assert facts.paid_at == datetime(2025, 12, 1, 7, 30, tzinfo=UTC) != claim(REF).paid_at


@pytest.mark.parametrize("log,expected", [
    ([("CREATED", "2026-01-01T10:00:00Z", True), ("AUTHORIZED", "2026-01-02T10:00:00Z", False),
      ("AUTHORIZED", "2026-01-03T10:00:00+01:00", True)], datetime(2026, 1, 3, 9, tzinfo=UTC)),
    ([("CREATED", "2026-01-01T10:00:00", True)], datetime(2026, 1, 1, 10, tzinfo=UTC)),
    ([("CREATED", "not a time", True)], None),
    ([], None),
])
def test_payment_time_is_the_authorization_in_the_event_log(mocked: Any, vipps: Any, log: Any,
                                                            expected: datetime | None) -> None:
    """A failed authorization does not count; without one, creation; with neither, the order's own time."""
    vipps_token(mocked)
    payment = {**modification(0), "paymentMethod": {"type": "WALLET"}, "profile": {}}
    mocked.add(responses.GET, f"{VIPPS_URL}/epayment/v1/payments/{REF}", json=payment)
    mocked.add(responses.GET, f"{VIPPS_URL}/epayment/v1/payments/{REF}/events", json=[
        {"reference": REF, "pspReference": "p", "name": name, "amount": amount(100000), "timestamp": when,
         "success": ok} for name, when, ok in log])
    assert vipps.payment_facts(claim(REF)).paid_at == (expected or claim(REF).paid_at)


def test_unknown_payment_reference(mocked: Any, vipps: Any) -> None:
    vipps_token(mocked)
    mocked.add_callback(responses.GET, f"{VIPPS_URL}/epayment/v1/payments/{REF}",
                        callback=spec_checked(SPEC, [(404, problem(404, "5090", "Not found"))]))
    with pytest.raises(PaymentNotAtProvider):
        vipps.payment_facts(claim(REF))


def test_read_back_finds_the_refund_by_its_idempotency_key(mocked: Any, vipps: Any) -> None:
    vipps_token(mocked)
    events = [
        {"reference": REF, "pspReference": "psp-auth", "name": "AUTHORIZED", "amount": amount(100000),
         "timestamp": "2026-11-20T10:00:00Z", "idempotencyKey": "create-1", "success": True},
        {"reference": REF, "pspReference": "psp-r1", "name": "REFUNDED", "amount": amount(100),
         "timestamp": "2026-11-22T11:00:00Z", "idempotencyKey": "rf_other", "success": True},
        {"reference": REF, "pspReference": "psp-r2", "name": "REFUNDED", "amount": amount(500),
         "timestamp": "2026-11-22T11:59:00Z", "idempotencyKey": "rf_0123456789abcdef01234567", "success": True},
    ]
    mocked.add_callback(responses.GET, f"{VIPPS_URL}/epayment/v1/payments/{REF}/events",
                        callback=spec_checked(SPEC, [(200, events)]))
    result = vipps.refund_status(call(REF, 500))
    assert result.status is RefundStatus.REFUNDED and result.provider_reference == "psp-r2"
    with pytest.raises(RefundNotAtProvider):
        vipps.refund_status(call(REF, 500, refund_id="rf_never_sent"))


def test_policy_is_365_days_and_5_a_minute(vipps: Any) -> None:
    assert vipps.policy.window == timedelta(days=365) and vipps.policy.max_per_minute == 5
