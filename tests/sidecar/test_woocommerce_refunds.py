"""Refunds made in WooCommerce itself count once, linked to the provider's refund; WordPress reads the changes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from refunder.money import Money
from tests.sidecar.helpers import ACTOR, refund_body, register


@pytest.fixture
def paid(api: Any, simulator: Any, clock: Any) -> dict[str, Any]:
    """A 1000.00 NOK booking paid yesterday at the simulator, order 2001."""
    simulator.add_payment("sim-wc-1", Money(100000, "NOK"), clock() - timedelta(days=1))
    return register(api, "simulator", "sim-wc-1", 100000, order_id="2001")


def report(api: Any, payment: dict[str, Any], wc_refund_id: str, value: int, **extra: Any) -> Any:
    return api.post(f"/v1/payments/{payment['id']}/woocommerce-refunds", {
        "wc_refund_id": wc_refund_id, "amount": {"value": value, "currency": "NOK"}, "reason": "Refunded in shop",
        "actor": ACTOR, "gateway_refund": False, "source": "manual", **extra})


def balance(api: Any, payment: dict[str, Any]) -> tuple[int, int]:
    body = api.get(f"/v1/payments/{payment['id']}").json
    return body["refunded"]["value"], body["refundable"]["value"]


def refund(api: Any, payment: dict[str, Any], value: int, key: str) -> dict[str, Any]:
    answer = api.post(f"/v1/payments/{payment['id']}/refunds", refund_body(value), headers={"Idempotency-Key": key})
    assert answer.status_code == 201, answer.json
    return dict(answer.json)


def sync(app: Any, payment: dict[str, Any]) -> list[Any]:
    return list(app.extensions["refunder"].payments.sync_payment(payment["id"]))


def test_a_manual_woocommerce_refund_counts_once_and_stops_when_deleted(api: Any, paid: dict[str, Any]) -> None:
    first = report(api, paid, "501", 30000)
    assert first.status_code == 201, first.json
    assert (first.json["kind"], first.json["status"], first.json["wc_refund_id"], first.json["via"]) == (
        "woocommerce", "refunded", "501", "bank_transfer")
    again = report(api, paid, "501", 30000)
    assert again.status_code == 200 and again.json["id"] == first.json["id"]
    assert balance(api, paid) == (30000, 70000)
    over = api.post(f"/v1/payments/{paid['id']}/refunds", refund_body(70001),
                    headers={"Idempotency-Key": "wc-over-key"})
    assert over.status_code == 422 and over.json["code"] == "exceeds_refundable"

    gone = api.post(f"/v1/payments/{paid['id']}/woocommerce-refunds/501/deleted")
    assert gone.status_code == 200 and gone.json["status"] == "failed"
    assert balance(api, paid) == (0, 100000)
    events = [e["action"] for e in api.get(f"/v1/payments/{paid['id']}/events").json["events"]]
    assert events[-3:] == ["refund.woocommerce", "refund.refused", "refund.woocommerce_deleted"]  # the 70001 refused


def test_a_gateway_refund_keeps_counting_when_woocommerce_deletes_it(api: Any, paid: dict[str, Any]) -> None:
    report(api, paid, "502", 20000, gateway_refund=True, source="gateway", provider_refund_id="re_gone")
    assert api.post(f"/v1/payments/{paid['id']}/woocommerce-refunds/502/deleted").json["status"] == "refunded"
    assert balance(api, paid) == (20000, 80000)  # the money went back at the provider all the same


def test_the_provider_id_of_a_refunder_refund_is_that_refund(api: Any, paid: dict[str, Any]) -> None:
    ours = refund(api, paid, 25000, "wc-ours-1")
    answer = report(api, paid, "503", 25000, gateway_refund=True, source="stripe_webhook",
                    provider_refund_id=ours["provider_reference"])
    assert answer.status_code == 200 and (answer.json["id"], answer.json["kind"]) == (ours["id"], "requested")
    assert balance(api, paid) == (25000, 75000)


def test_the_provider_sync_links_a_gateway_refund_reported_without_its_id(
        api: Any, app: Any, paid: dict[str, Any], simulator: Any) -> None:
    """Vipps gives WooCommerce no refund id: the provider's refund of that amount is the one WooCommerce has."""
    report(api, paid, "504", 15000, gateway_refund=True, source="gateway")
    outside = simulator.refund_outside("sim-wc-1", Money(15000, "NOK"))
    assert sync(app, paid) == []  # linked, not discovered
    refunds = api.get(f"/v1/payments/{paid['id']}/refunds").json["refunds"]
    assert [(r["kind"], r["wc_refund_id"], r["provider_reference"]) for r in refunds] == [
        ("woocommerce", "504", outside)]
    assert balance(api, paid) == (15000, 85000)


def test_a_refund_the_sync_found_first_is_linked_to_woocommerces(
        api: Any, app: Any, paid: dict[str, Any], simulator: Any) -> None:
    outside = simulator.refund_outside("sim-wc-1", Money(10000, "NOK"))
    [found] = sync(app, paid)
    answer = report(api, paid, "505", 10000, gateway_refund=True, source="stripe_webhook", provider_refund_id=outside)
    assert answer.status_code == 200 and (answer.json["id"], answer.json["kind"], answer.json["wc_refund_id"]) == (
        found.id, "external", "505")
    assert balance(api, paid) == (10000, 90000)


def test_woocommerce_reporting_a_refunder_refund_before_its_id_was_known_counts_once(
        api: Any, app: Any, simulator: Any, clock: Any) -> None:
    """The gateway's webhook came before the provider's answer reached the ledger (here: the answer was lost)."""
    simulator.add_payment("sim-wc-2-timeout", Money(100000, "NOK"), clock() - timedelta(days=1))
    payment = register(api, "simulator", "sim-wc-2-timeout", 100000, order_id="2002")
    ours = refund(api, payment, 40000, "wc-race-1")
    assert ours["status"] == "unknown" and ours["provider_reference"] is None
    report(api, payment, "506", 40000, gateway_refund=True, source="stripe_webhook",
           provider_refund_id=f"sim_{ours['id']}")
    assert balance(api, payment) == (40000, 20000)  # counted twice for now: 40000 refunded + 40000 in flight
    app.extensions["refunder"].reconciler.reconcile()
    refunds = {r["kind"]: r for r in api.get(f"/v1/payments/{payment['id']}/refunds").json["refunds"]}
    assert refunds["requested"]["status"] == "refunded"
    assert (refunds["woocommerce"]["status"], refunds["woocommerce"]["failure"]["code"]) == (
        "failed", "same_as_refunder_refund")
    assert balance(api, payment) == (40000, 60000)


def test_changes_since_a_time_with_their_orders(api: Any, paid: dict[str, Any], clock: Any) -> None:
    before = clock()
    first = refund(api, paid, 1000, "wc-changes-1")
    clock.advance(seconds=5)
    second = refund(api, paid, 2000, "wc-changes-2")
    query = "/v1/refund-changes?since=" + before.isoformat().replace("+00:00", "Z")
    changes = api.get(query).json
    assert [(r["id"], r["order_id"]) for r in changes["refunds"]] == [(first["id"], "2001"), (second["id"], "2001")]
    assert changes["until"] == clock().isoformat()
    page = api.get(query + "&limit=1").json
    assert [r["id"] for r in page["refunds"]] == [first["id"]] and page["until"] == first["updated_at"]
    later = api.get("/v1/refund-changes?since=" + clock().isoformat().replace("+00:00", "Z")).json
    assert [r["id"] for r in later["refunds"]] == [second["id"]]


@pytest.mark.parametrize("change, status, code", [
    ({"amount": {"value": 100, "currency": "EUR"}}, 422, "currency_mismatch"),
    ({"wc_refund_id": "12a"}, 422, "invalid_request"),
    ({"source": "elsewhere"}, 422, "invalid_request"),
])
def test_bad_reports_change_nothing(api: Any, paid: dict[str, Any], change: dict[str, Any], status: int,
                                    code: str) -> None:
    answer = api.post(f"/v1/payments/{paid['id']}/woocommerce-refunds", {
        "wc_refund_id": "507", "amount": {"value": 100, "currency": "NOK"}, "reason": "x", "actor": ACTOR,
        "gateway_refund": False, "source": "manual", **change})
    assert (answer.status_code, answer.json["code"]) == (status, code)
    assert balance(api, paid) == (0, 100000)
    missing = api.post("/v1/payments/pay_nothing/woocommerce-refunds", {
        "wc_refund_id": "507", "amount": {"value": 100, "currency": "NOK"}, "reason": "x", "actor": ACTOR,
        "gateway_refund": False, "source": "manual"})
    assert missing.status_code == 404
