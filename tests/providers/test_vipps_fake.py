"""The sidecar against a stateful Vipps fake on loopback that validates every request against the spec."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from refunder.app import create_app
from refunder.providers.http import ProviderBusy, RetryPolicy, Transport
from refunder.providers.vipps_epayment import VippsEPaymentProvider
from refunder.rules import RefundStatus
from tests.conftest import SignedClient
from tests.fakes.server import serving
from tests.fakes.vipps import FakeVipps
from tests.providers.conftest import FAST, VIPPS, call
from tests.sidecar.helpers import ACTOR, refund_body


@pytest.fixture
def fake(clock: Any) -> Iterator[tuple[FakeVipps, str]]:
    vipps = FakeVipps(client_secret=VIPPS.client_secret, subscription_key=VIPPS.subscription_key,
                      webhook_secret=VIPPS.webhook_secret, clock=clock)
    with serving(vipps) as url:
        yield vipps, url
    assert vipps.violations == []


def provider(url: str, clock: Any, policy: RetryPolicy = FAST) -> VippsEPaymentProvider:
    return VippsEPaymentProvider(replace(VIPPS, base_url=url), clock,
                                 Transport(url, "Vipps MobilePay", policy=policy, sleep=lambda s: None))


@pytest.fixture
def sidecar(settings: Any, db: Any, clock: Any, fake: tuple[FakeVipps, str]) -> tuple[Any, SignedClient]:
    app = create_app(settings, clock=clock, providers={"vipps": provider(fake[1], clock)})
    return app, SignedClient(app.test_client(), clock)


def register(api: SignedClient, reference: str) -> dict[str, Any]:
    response = api.post("/v1/payments", {"provider": "vipps", "reference": reference, "order_id": reference,
                                         "captured": {"value": 100000, "currency": "NOK"},
                                         "paid_at": "2026-11-21T10:00:00+00:00", "actor": ACTOR})
    assert response.status_code == 200, response.json
    return response.json


def refund(api: SignedClient, payment: dict[str, Any], value: int, key: str) -> Any:
    return api.post(f"/v1/payments/{payment['id']}/refunds", refund_body(value), headers={"Idempotency-Key": key})


def test_partial_refunds_replays_and_the_providers_balance(fake: Any, sidecar: Any) -> None:
    vipps, _ = fake
    _, api = sidecar
    vipps.add_payment("booking-0001", 100000)
    payment = register(api, "booking-0001")
    first = refund(api, payment, 25000, "fake-key-0001")
    assert first.status_code == 201 and first.json["status"] == "refunded"
    assert refund(api, payment, 25000, "fake-key-0001").json == first.json
    assert refund(api, payment, 75000, "fake-key-0002").json["status"] == "refunded"
    assert vipps.payments["booking-0001"].refunded == 100000 and vipps.refund_calls == 2
    assert api.get(f"/v1/payments/{payment['id']}").json["refundable"]["value"] == 0


def test_refund_made_in_the_vipps_portal_is_caught_by_vipps(fake: Any, sidecar: Any) -> None:
    vipps, _ = fake
    _, api = sidecar
    vipps.add_payment("booking-0002", 100000)
    payment = register(api, "booking-0002")
    vipps.payments["booking-0002"].refunded = 90000  # refunded in portal.vipps.no, behind our back
    failed = refund(api, payment, 20000, "fake-key-0003").json
    assert failed["status"] == "failed"
    assert failed["failure"] == {
        "code": "vipps_6150", "params": {"provider": "Vipps MobilePay", "provider_code": "6150"},
        "message": "Vipps MobilePay says the amount is more than is left to refund on this payment."}


def test_the_refund_window_comes_from_the_vipps_event_log(fake: Any, sidecar: Any) -> None:
    vipps, _ = fake
    _, api = sidecar
    vipps.add_payment("booking-0003", 100000, days_ago=400)  # the order says it was paid yesterday
    payment = register(api, "booking-0003")
    assert payment["paid_at"].startswith(vipps.payments["booking-0003"].created.date().isoformat())
    assert payment["refund_window_open"] is False
    refused = refund(api, payment, 100, "fake-key-0004")
    assert refused.status_code == 422 and refused.json["code"] == "refund_window_expired"
    assert vipps.refund_calls == 0  # refused before asking Vipps


def test_old_payment_is_refused_by_vipps_in_plain_words(fake: Any, clock: Any) -> None:
    vipps, url = fake
    vipps.add_payment("booking-0013", 100000, days_ago=400)
    from refunder.providers.base import ProviderError

    with pytest.raises(ProviderError, match="within 365 days"):
        provider(url, clock).refund(call("booking-0013", 100))


def test_lost_answer_is_retried_with_the_same_key_and_paid_once(fake: Any, sidecar: Any) -> None:
    vipps, _ = fake
    _, api = sidecar
    vipps.add_payment("booking-0004", 100000)
    payment = register(api, "booking-0004")
    vipps.faults = ["lose_answer"]
    assert refund(api, payment, 30000, "fake-key-0005").json["status"] == "refunded"
    assert vipps.payments["booking-0004"].refunded == 30000 and vipps.refund_calls == 2


def test_lock_is_waited_out(fake: Any, sidecar: Any) -> None:
    vipps, _ = fake
    _, api = sidecar
    vipps.add_payment("booking-0005", 100000)
    payment = register(api, "booking-0005")
    vipps.faults = ["lock"]
    assert refund(api, payment, 100, "fake-key-0006").json["status"] == "refunded"


def test_unknown_outcome_settled_by_the_signed_webhook(fake: Any, settings: Any, db: Any, clock: Any) -> None:
    vipps, url = fake
    app = create_app(settings, clock=clock, providers={"vipps": provider(url, clock, RetryPolicy(attempts=1))})
    api = SignedClient(app.test_client(), clock)
    vipps.add_payment("booking-0006", 100000)
    payment = register(api, "booking-0006")
    vipps.faults = ["lose_answer"]
    created = refund(api, payment, 5000, "fake-key-0007").json
    assert created["status"] == "unknown"
    body, headers = vipps.signed_webhook(vipps.webhooks[-1], "https://shop.example/webhooks/vipps")
    answer = app.test_client().post("/webhooks/vipps", data=body, headers=headers, base_url="https://shop.example")
    assert answer.json == {"received": 1, "applied": 1}
    settled = api.get(f"/v1/refunds/{created['id']}").json
    assert settled["status"] == "refunded" and settled["provider_reference"].startswith("psp-")


def test_the_fake_enforces_five_a_minute(fake: Any, clock: Any) -> None:
    vipps, url = fake
    vipps.add_payment("booking-0007", 100000)
    direct = provider(url, clock)
    for i in range(5):
        assert direct.refund(call("booking-0007", 10, refund_id=f"rf_rate{i}")).status is RefundStatus.REFUNDED
    with pytest.raises(ProviderBusy):
        direct.refund(call("booking-0007", 10, refund_id="rf_rate5"))
    clock.advance(seconds=61)
    assert direct.refund(call("booking-0007", 10, refund_id="rf_rate5")).status is RefundStatus.REFUNDED


def test_same_key_other_amount_is_refused_by_the_fake(fake: Any, clock: Any) -> None:
    vipps, url = fake
    vipps.add_payment("booking-0008", 100000)
    direct = provider(url, clock)
    direct.refund(call("booking-0008", 10, refund_id="rf_same"))
    from refunder.providers.base import ProviderError

    with pytest.raises(ProviderError):
        direct.refund(call("booking-0008", 11, refund_id="rf_same"))
    assert vipps.payments["booking-0008"].refunded == 10


# --- eCom v2 (legacy orders) against the same fake host ----------------------------------------------

def ecom_provider(url: str, clock: Any) -> Any:
    from refunder.providers.vipps_ecom import VippsEcomProvider

    return VippsEcomProvider(replace(VIPPS, base_url=url), clock,
                             Transport(url, "Vipps MobilePay", policy=FAST, sleep=lambda s: None))


def test_ecom_refunds_against_the_fake(fake: Any, settings: Any, db: Any, clock: Any) -> None:
    vipps, url = fake
    app = create_app(settings, clock=clock, providers={"vipps_ecom": ecom_provider(url, clock)})
    api = SignedClient(app.test_client(), clock)
    vipps.add_payment("legacy-order-1", 100000)
    response = api.post("/v1/payments", {"provider": "vipps_ecom", "reference": "legacy-order-1", "order_id": "9",
                                         "captured": {"value": 100000, "currency": "NOK"},
                                         "paid_at": "2026-11-21T10:00:00+00:00", "actor": ACTOR})
    payment = response.json
    assert payment["captured"]["value"] == 100000
    vipps.faults = ["lock"]  # 94: waited out, same X-Request-Id
    first = refund(api, payment, 40000, "ecom-key-0001").json
    assert first["status"] == "refunded"
    assert refund(api, payment, 40000, "ecom-key-0001").json == first
    vipps.payments["legacy-order-1"].refunded = 100000  # the rest refunded elsewhere
    failed = refund(api, payment, 100, "ecom-key-0002").json
    assert failed["status"] == "failed" and failed["failure"]["code"] == "vipps_ecom_71"
    direct = ecom_provider(url, clock)
    assert direct.refund_status(call("legacy-order-1", 40000, refund_id=first["id"])).status is RefundStatus.REFUNDED
    assert vipps.payments["legacy-order-1"].refunded == 100000


def test_ecom_refund_window_comes_from_the_transaction_log(fake: Any, settings: Any, db: Any, clock: Any) -> None:
    vipps, url = fake
    app = create_app(settings, clock=clock, providers={"vipps_ecom": ecom_provider(url, clock)})
    api = SignedClient(app.test_client(), clock)
    vipps.add_payment("legacy-order-3", 100000, days_ago=364.5)
    response = api.post("/v1/payments", {"provider": "vipps_ecom", "reference": "legacy-order-3", "order_id": "9",
                                         "captured": {"value": 100000, "currency": "NOK"},
                                         "paid_at": "2026-11-21T10:00:00+00:00", "actor": ACTOR})
    assert response.json["paid_at"] == vipps.payments["legacy-order-3"].created.isoformat()
    assert response.json["refund_window_open"] is True
    clock.advance(days=1)  # a year after the reservation, whatever the order said
    assert api.get(f"/v1/payments/{response.json['id']}").json["refund_window_open"] is False


def test_ecom_old_order(fake: Any, clock: Any) -> None:
    vipps, url = fake
    vipps.add_payment("legacy-order-2", 100000, days_ago=400)
    from refunder.providers.base import ProviderError

    with pytest.raises(ProviderError, match="within 365 days"):
        ecom_provider(url, clock).refund(call("legacy-order-2", 100))


# --- a refunded refund is never demoted by news of another attempt ------------------------------------

def post_hook(app: Any, body: bytes, headers: dict[str, str]) -> Any:
    return app.test_client().post("/webhooks/vipps", data=body, headers=headers, base_url="https://shop.example")


def test_a_failed_attempt_logged_before_the_success_ends_refunded(fake: Any, sidecar: Any, clock: Any) -> None:
    vipps, url = fake
    app, api = sidecar
    vipps.add_payment("booking-0020", 100000)
    payment = register(api, "booking-0020")
    vipps.faults = ["failed_attempt"]  # the first attempt fails at Vipps (logged), the retry succeeds
    created = refund(api, payment, 30000, "fake-key-0020").json
    assert created["status"] == "refunded"
    failure, success = vipps.webhooks[-2:]
    assert (failure["success"], success["success"]) == (False, True)
    assert failure["idempotencyKey"] == success["idempotencyKey"] == created["id"]
    # the read-back takes every event under the key: the failure logged first does not decide
    assert provider(url, clock).refund_status(call("booking-0020", 30000, refund_id=created["id"])).status \
        is RefundStatus.REFUNDED
    # the failed attempt's webhook, signed and fresh, arrives after the success: nothing moves
    assert post_hook(app, *vipps.signed_webhook(failure, "https://shop.example/webhooks/vipps")).status_code == 200
    after = api.get(f"/v1/refunds/{created['id']}").json
    assert after["status"] == "refunded" and after["failure"] is None
    assert api.get(f"/v1/payments/{payment['id']}").json["refundable"]["value"] == 70000
    assert vipps.payments["booking-0020"].refunded == 30000


def test_a_success_false_event_under_our_key_cannot_demote(fake: Any, sidecar: Any) -> None:
    """The attack of issue 12: a signed REFUNDED event with success false for a paid refund."""
    vipps, _ = fake
    app, api = sidecar
    vipps.add_payment("booking-0021", 100000)
    payment = register(api, "booking-0021")
    created = refund(api, payment, 100000, "fake-key-0021").json
    forged = {**vipps.webhooks[-1], "success": False, "pspReference": "psp-other"}
    assert post_hook(app, *vipps.signed_webhook(forged, "https://shop.example/webhooks/vipps")).status_code == 200
    assert api.get(f"/v1/refunds/{created['id']}").json["status"] == "refunded"
    assert api.get(f"/v1/payments/{payment['id']}").json["refundable"]["value"] == 0
    actions = [e["action"] for e in api.get(f"/v1/payments/{payment['id']}/events").json["events"]]
    assert "refund.failed" not in actions


def test_reconcile_repairs_a_refund_wrongly_marked_failed(fake: Any, sidecar: Any, db: Any) -> None:
    from sqlalchemy import update

    from refunder.ledger.models import Refund

    vipps, _ = fake
    app, api = sidecar
    vipps.add_payment("booking-0022", 100000)
    payment = register(api, "booking-0022")
    created = refund(api, payment, 40000, "fake-key-0022").json
    with db.transaction() as s:  # as the old rule left it: demoted by a success:false event
        s.execute(update(Refund).where(Refund.id == created["id"]).values(status="failed"))
    assert api.get(f"/v1/payments/{payment['id']}").json["refundable"]["value"] == 100000  # wrong
    app.extensions["refunder"].reconciler.reconcile()
    assert api.get(f"/v1/refunds/{created['id']}").json["status"] == "refunded"
    assert api.get(f"/v1/payments/{payment['id']}").json["refundable"]["value"] == 60000
    corrected = api.get(f"/v1/payments/{payment['id']}/events").json["events"][-1]
    assert corrected["action"] == "refund.refunded" and corrected["detail"]["corrected_from"] == "failed"
    assert vipps.payments["booking-0022"].refunded == 40000  # read back, never sent again


@pytest.mark.parametrize("when", ["6 minutes ago", "6 minutes ahead", "400 days ago", "400 days ahead",
                                  "not a date"])
def test_stale_future_and_undated_vipps_webhooks_are_refused(fake: Any, settings: Any, db: Any, clock: Any,
                                                             when: str) -> None:
    from datetime import timedelta

    vipps, url = fake
    app = create_app(settings, clock=clock, providers={"vipps": provider(url, clock, RetryPolicy(attempts=1))})
    api = SignedClient(app.test_client(), clock)
    vipps.add_payment("booking-0023", 100000)
    payment = register(api, "booking-0023")
    vipps.faults = ["lose_answer"]
    created = refund(api, payment, 100, "fake-key-0023").json
    assert created["status"] == "unknown"
    event = vipps.webhooks[-1]
    shift = {"6 minutes ago": timedelta(minutes=-6), "6 minutes ahead": timedelta(minutes=6),
             "400 days ago": timedelta(days=-400), "400 days ahead": timedelta(days=400)}
    url = "https://shop.example/webhooks/vipps"
    signed = vipps.signed_webhook(event, url, date="not a date") if when == "not a date" \
        else vipps.signed_webhook(event, url, at=clock() + shift[when])
    answer = post_hook(app, *signed)
    assert answer.status_code == 401 and answer.json["code"] == "webhook_stale"
    assert api.get(f"/v1/refunds/{created['id']}").json["status"] == "unknown"
    assert post_hook(app, *vipps.signed_webhook(event, url)).status_code == 200  # the same, sent now: accepted
    assert api.get(f"/v1/refunds/{created['id']}").json["status"] == "refunded"
