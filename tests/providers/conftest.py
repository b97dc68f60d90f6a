"""Settings with recognisable secrets, and a `responses` mock that checks Vipps calls against the specs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import responses

from refunder.money import Money
from refunder.providers.base import PaymentClaim, RefundCall
from refunder.providers.http import RetryPolicy, Transport
from refunder.providers.vipps_client import LABEL, VippsSettings
from tests.providers import specs

SECRETS = ["csecret-TOPSECRET-1", "subkey-TOPSECRET-2", "whsecret-TOPSECRET-3", "tok-TOPSECRET-4",
           "sk_test_TOPSECRET5", "whsec_TOPSECRET6", "live_TOPSECRET7"]
VIPPS_URL = "https://apitest.vipps.no"
VIPPS = VippsSettings(client_id="cid-public", client_secret=SECRETS[0], subscription_key=SECRETS[1], msn="123456",
                      webhook_secret=SECRETS[2])
NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
FAST = RetryPolicy(attempts=3, backoff=0.0, timeout=(1.0, 1.0))


def claim(reference: str, minor: int = 100000, currency: str = "NOK", **provider_data: str) -> PaymentClaim:
    return PaymentClaim(reference=reference, order_id="1001", captured=Money(minor, currency), paid_at=NOW,
                        provider_data=dict(provider_data))


def call(reference: str, minor: int, refund_id: str = "rf_0123456789abcdef01234567", currency: str = "NOK",
         **provider_data: str) -> RefundCall:
    return RefundCall(refund_id=refund_id, idempotency_key=refund_id, payment_reference=reference,
                      amount=Money(minor, currency), reason="Appointment cancelled", provider_data=dict(provider_data))


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def vipps_transport(sleeps: Sleeps) -> Transport:
    return Transport(VIPPS_URL, LABEL, policy=FAST, sleep=sleeps)


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def vipps_token(mock: responses.RequestsMock, expires_in: str = "3599") -> None:
    """Vipps sends every number in the token answer as a string."""
    mock.add(responses.POST, f"{VIPPS_URL}/accesstoken/get", json={
        "token_type": "Bearer", "expires_in": expires_in, "ext_expires_in": expires_in, "expires_on": "1795000000",
        "not_before": "1794990000", "resource": "00000002-0000-0000-c000-000000000000",
        "access_token": SECRETS[3]})


def spec_checked(spec_name: str, answers: list[tuple[int, Any]]) -> Any:
    """A responses callback that validates each request against the spec, then gives the next answer."""
    queue = list(answers)

    def callback(request: Any) -> tuple[int, dict[str, str], str]:
        import json

        specs.validate(spec_name, request)
        status, body = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(body, Exception):
            raise body
        return status, {"Content-Type": "application/json"}, json.dumps(body)

    return callback
