"""The API end to end through the Flask test client: registration, refunds, idempotency, errors."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from refunder.money import Money
from tests.sidecar.helpers import ACTOR, refund_body, register


@pytest.fixture
def paid(api: Any, simulator: Any, clock: Any) -> dict[str, Any]:
    """A 1000.00 NOK booking paid two days ago at the simulator."""
    simulator.add_payment("sim-1001", Money(100000, "NOK"), clock() - timedelta(days=2))
    return register(api, "simulator", "sim-1001", 100000)


def refund(api: Any, payment: dict[str, Any], value: int, key: str, **extra: Any) -> Any:
    return api.post(f"/v1/payments/{payment['id']}/refunds", refund_body(value, **extra),
                    headers={"Idempotency-Key": key})


def test_registration_reports_the_balance(paid: dict[str, Any]) -> None:
    assert paid["id"].startswith("pay_")
    assert paid["captured"] == {"value": 100000, "currency": "NOK", "exponent": 2}
    assert paid["refundable"] == {"value": 100000, "currency": "NOK", "exponent": 2}
    assert paid["refunded"]["value"] == 0 and paid["in_flight"]["value"] == 0
    assert paid["refund_window_open"] is True
    assert paid["refund_deadline"].startswith("2027-11-20")
    assert paid["provider_label"] == "Simulated card provider"


def test_registering_again_is_idempotent(api: Any, paid: dict[str, Any]) -> None:
    again = register(api, "simulator", "sim-1001", 100000)
    assert again["id"] == paid["id"]
    events = api.get(f"/v1/payments/{paid['id']}/events").json["events"]
    assert [e["action"] for e in events] == ["payment.registered"]


def test_captured_amount_comes_from_the_provider(api: Any, simulator: Any, clock: Any) -> None:
    simulator.add_payment("sim-2", Money(50000, "NOK"), clock())
    payment = register(api, "simulator", "sim-2", 99999999)  # the order claims more than was captured
    assert payment["captured"]["value"] == 50000


def test_payment_cannot_move_to_another_order(api: Any, paid: dict[str, Any]) -> None:
    response = api.post("/v1/payments", {"provider": "simulator", "reference": "sim-1001", "order_id": "999",
                                         "captured": {"value": 100000, "currency": "NOK"},
                                         "paid_at": "2026-11-20T10:00:00+00:00", "actor": ACTOR})
    assert response.status_code == 409 and response.json["code"] == "payment_conflict"


def test_unknown_payment_at_provider(api: Any) -> None:
    response = api.post("/v1/payments", {"provider": "simulator", "reference": "nope", "order_id": "1",
                                         "captured": {"value": 1, "currency": "NOK"},
                                         "paid_at": "2026-11-20T10:00:00+00:00", "actor": ACTOR})
    assert response.status_code == 404 and response.json["code"] == "payment_not_at_provider"


def test_provider_not_enabled_is_recorded_for_bank_transfers(api: Any) -> None:
    payment = register(api, "vipps", "x", 1000)  # Vipps is not enabled in this sidecar
    can = payment["capabilities"]
    assert not can["provider_refund"] and can["reason"]["code"] == "provider_not_enabled"
    assert can["bank_transfer"] and can["default_via"] == "bank_transfer" and can["needs_bank_reference"]
    assert payment["captured"]["value"] == 1000 and payment["provider_label"] == "Vipps MobilePay"
    refused = refund(api, payment, 100, "key-not-enabled-1", via="provider")
    assert refused.status_code == 422 and refused.json["code"] == "provider_cannot_refund"
    assert refused.json["reason"] == "provider_not_enabled"
    paid_back = refund(api, payment, 100, "key-not-enabled-2", bank_reference="NO-123")
    assert paid_back.status_code == 201 and paid_back.json["via"] == "bank_transfer"
    assert paid_back.json["status"] == "refunded" and paid_back.json["provider_reference"] == "NO-123"


def test_unknown_provider(api: Any) -> None:
    response = api.post("/v1/payments", {"provider": "paypal", "reference": "x", "order_id": "1",
                                         "captured": {"value": 1, "currency": "NOK"},
                                         "paid_at": "2026-11-20T10:00:00+00:00", "actor": ACTOR})
    assert response.status_code == 422 and response.json["code"] == "provider_unknown"
    assert response.json["params"] == {"provider": "paypal"}


def test_partial_refunds_until_nothing_is_left(api: Any, paid: dict[str, Any], simulator: Any) -> None:
    first = refund(api, paid, 25000, "key-first-0001")
    assert first.status_code == 201
    assert first.headers["Idempotent-Replayed"] == "false"
    body = first.json
    assert body["status"] == "refunded" and body["amount"] == {"value": 25000, "currency": "NOK", "exponent": 2}
    assert body["provider_reference"] == f"sim_{body['id']}"
    assert body["actor"] == ACTOR and body["reason"] == "Appointment cancelled" and body["finalized_at"]

    assert refund(api, paid, 75000, "key-second-002").status_code == 201
    summary = api.get(f"/v1/payments/{paid['id']}").json
    assert summary["refunded"]["value"] == 100000 and summary["refundable"]["value"] == 0

    over = refund(api, paid, 1, "key-third-0003")
    assert over.status_code == 422 and over.json["code"] == "exceeds_refundable"
    nothing = {"value": 0, "currency": "NOK", "exponent": 2}
    assert over.json["params"]["refundable"] == nothing and over.json["params"]["refunded"]["value"] == 100000
    assert over.json["detail"].startswith("At most 0.00 NOK can be refunded: 1000.00 NOK captured")
    assert len(api.get(f"/v1/payments/{paid['id']}/refunds").json["refunds"]) == 2


def test_over_refund_is_refused_and_changes_nothing(api: Any, paid: dict[str, Any], clock: Any) -> None:
    response = refund(api, paid, 100001, "key-over-00001")
    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
    assert response.json["detail"].startswith("At most 1000.00 NOK can be refunded")
    assert api.get(f"/v1/payments/{paid['id']}/refunds").json["refunds"] == []
    assert api.get(f"/v1/payments/{paid['id']}").json["refundable"]["value"] == 100000
    refused = api.get(f"/v1/payments/{paid['id']}/events").json["events"][-1]  # who, when, what, why: no money held
    assert (refused["action"], refused["actor"], refused["reason"], refused["refund_id"]) == (
        "refund.refused", ACTOR, "Appointment cancelled", None)
    assert refused["amount"]["value"] == 100001 and refused["at"] == clock().isoformat()
    assert refused["detail"] == {"code": "exceeds_refundable", "params": response.json["params"], "via": None}
    assert refund(api, paid, 100000, "key-over-00001").status_code == 201  # the refused key was not used up
    assert api.get(f"/v1/payments/{paid['id']}").json["refundable"]["value"] == 0


def test_a_refusal_of_the_provider_path_is_audited_with_its_reason(api: Any) -> None:
    payment = register(api, "vipps", "x-audit", 1000)  # Vipps is not enabled in this sidecar
    assert refund(api, payment, 100, "key-refused-01", via="provider").status_code == 422
    refused = api.get(f"/v1/payments/{payment['id']}/events").json["events"][-1]
    assert refused["action"] == "refund.refused" and refused["detail"]["code"] == "provider_cannot_refund"
    assert refused["detail"]["params"]["reason"] == {"code": "provider_not_enabled", "params": {"provider": "vipps"}}


def test_same_key_same_body_returns_the_first_result(api: Any, paid: dict[str, Any], simulator: Any) -> None:
    first = refund(api, paid, 30000, "key-replay-001")
    again = refund(api, paid, 30000, "key-replay-001")
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json == first.json
    assert api.get(f"/v1/payments/{paid['id']}").json["refunded"]["value"] == 30000


def test_same_key_other_body_is_a_conflict(api: Any, paid: dict[str, Any]) -> None:
    assert refund(api, paid, 30000, "key-conflict-1").status_code == 201
    response = refund(api, paid, 30001, "key-conflict-1")
    assert response.status_code == 409 and response.json["code"] == "idempotency_conflict"
    assert api.get(f"/v1/payments/{paid['id']}").json["refunded"]["value"] == 30000


def test_same_key_on_another_payment_is_a_conflict(api: Any, paid: dict[str, Any], simulator: Any, clock: Any) -> None:
    simulator.add_payment("sim-other", Money(5000, "NOK"), clock())
    other = register(api, "simulator", "sim-other", 5000, order_id="2002")
    assert refund(api, paid, 1000, "key-shared-001").status_code == 201
    assert refund(api, other, 1000, "key-shared-001").status_code == 409


def test_body_spacing_and_key_order_do_not_change_the_request(api: Any, paid: dict[str, Any]) -> None:
    target = f"/v1/payments/{paid['id']}/refunds"
    a = b'{"amount":{"value":100,"currency":"NOK"},"reason":"r","actor":{"id":"1","name":"n"}}'
    b = b'{ "actor": {"name": "n", "id": "1"}, "reason": "r", "amount": {"currency": "NOK", "value": 100} }'
    assert api.post(target, raw=a, headers={"Idempotency-Key": "key-spacing-1"}).status_code == 201
    assert api.post(target, raw=b, headers={"Idempotency-Key": "key-spacing-1"}).status_code == 200


def test_idempotency_key_is_required(api: Any, paid: dict[str, Any]) -> None:
    response = api.post(f"/v1/payments/{paid['id']}/refunds", refund_body(100))
    assert response.status_code == 422 and "Idempotency-Key" in response.json["errors"]


def test_currency_must_match_the_payment(api: Any, paid: dict[str, Any]) -> None:
    response = refund(api, paid, 100, "key-currency-1", currency="SEK")
    assert response.status_code == 422 and response.json["code"] == "currency_mismatch"


def test_refund_period_expired(api: Any, simulator: Any, clock: Any) -> None:
    simulator.add_payment("sim-old", Money(10000, "NOK"), clock() - timedelta(days=366))
    old = register(api, "simulator", "sim-old", 10000, order_id="3003")
    assert old["refund_window_open"] is False
    response = refund(api, old, 100, "key-expired-01")
    assert response.status_code == 422 and response.json["code"] == "refund_window_expired"
    assert "bank transfer" in response.json["detail"]


@pytest.mark.parametrize("amount,message", [
    (0, "positive whole number"), (-5, "positive whole number"), (12.5, "positive whole number"),
    ("100", "positive whole number"), (True, "positive whole number"),
])
def test_amount_must_be_positive_whole_minor_units(api: Any, paid: dict[str, Any], amount: Any, message: str) -> None:
    body = refund_body(1)
    body["amount"]["value"] = amount
    response = api.post(f"/v1/payments/{paid['id']}/refunds", body, headers={"Idempotency-Key": "key-amount-01"})
    assert response.status_code == 422
    assert message in response.json["errors"]["amount"]["value"][0]


@pytest.mark.parametrize("change,field", [
    ({"reason": "   "}, "reason"), ({"reason": ""}, "reason"), ({"actor": {"id": "1"}}, "actor"),
    ({"unexpected": 1}, "unexpected"), ({"lines": [{"item_id": "1"}]}, "lines"),
])
def test_bad_input_is_named_and_changes_nothing(api: Any, paid: dict[str, Any], change: dict[str, Any],
                                                field: str) -> None:
    body = {**refund_body(100), **change}
    response = api.post(f"/v1/payments/{paid['id']}/refunds", body, headers={"Idempotency-Key": "key-bad-00001"})
    assert response.status_code == 422 and field in response.json["errors"]
    assert api.get(f"/v1/payments/{paid['id']}/refunds").json["refunds"] == []


def test_refund_by_line_items(api: Any, paid: dict[str, Any]) -> None:
    lines = [{"item_id": "11", "name": "Haircut", "quantity": 1, "amount": 60000},
             {"item_id": "12", "name": "Colour", "quantity": 2, "amount": 20000}]
    wrong = refund(api, paid, 70000, "key-lines-0001", lines=lines)
    assert wrong.status_code == 422 and wrong.json["field"] == "lines"
    right = refund(api, paid, 80000, "key-lines-0002", lines=lines)
    assert right.status_code == 201 and right.json["lines"] == lines


def test_manual_refund_needs_and_records_a_bank_reference(api: Any) -> None:
    payment = register(api, "manual", "bank-1005", 30000, order_id="1005")
    missing = refund(api, payment, 30000, "key-manual-001")
    assert missing.status_code == 422 and missing.json["field"] == "bank_reference"
    done = refund(api, payment, 30000, "key-manual-002", bank_reference="NO93 8601 1117 947 / 2026-11-22")
    assert done.status_code == 201 and done.json["status"] == "refunded"
    assert done.json["provider_reference"] == "NO93 8601 1117 947 / 2026-11-22"
    assert api.get(f"/v1/payments/{payment['id']}").json["refundable"]["value"] == 0


def test_declined_refund_fails_in_plain_words_and_frees_the_money(api: Any, simulator: Any, clock: Any) -> None:
    simulator.add_payment("sim-3-decline", Money(79900, "NOK"), clock())
    payment = register(api, "simulator", "sim-3-decline", 79900, order_id="1003")
    response = refund(api, payment, 79900, "key-decline-01")
    assert response.status_code == 201
    assert response.json["status"] == "failed"
    assert response.json["failure"] == {
        "code": "card_declined",
        "message": "Simulated card provider says the customer's card issuer declined the refund. Refund the customer "
                   "by bank transfer instead.",
        "params": {"provider": "Simulated card provider", "provider_code": "card_declined"},
    }
    assert api.get(f"/v1/payments/{payment['id']}").json["refundable"]["value"] == 79900


def test_async_refund_is_processing_then_refunded(api: Any, simulator: Any, clock: Any) -> None:
    simulator.add_payment("sim-4-async", Money(45000, "NOK"), clock())
    payment = register(api, "simulator", "sim-4-async", 45000, order_id="1002")
    created = refund(api, payment, 45000, "key-async-0001").json
    assert created["status"] == "processing" and created["finalized_at"] is None
    summary = api.get(f"/v1/payments/{payment['id']}").json
    assert summary["in_flight"]["value"] == 45000 and summary["refundable"]["value"] == 0
    assert api.post(f"/v1/refunds/{created['id']}/refresh").json["status"] == "processing"
    clock.advance(seconds=3)
    assert api.post(f"/v1/refunds/{created['id']}/refresh").json["status"] == "refunded"
    assert api.get(f"/v1/payments/{payment['id']}").json["refunded"]["value"] == 45000


def test_timeout_leaves_the_refund_unknown_until_read_back(api: Any, simulator: Any, clock: Any) -> None:
    simulator.add_payment("sim-5-timeout", Money(20000, "NOK"), clock())
    payment = register(api, "simulator", "sim-5-timeout", 20000, order_id="1006")
    created = refund(api, payment, 5000, "key-timeout-01").json
    assert created["status"] == "unknown" and created["failure"]["code"] == "provider_unreachable"
    assert created["failure"]["params"]["provider_code"] == "timeout"
    assert api.get(f"/v1/payments/{payment['id']}").json["in_flight"]["value"] == 5000
    refreshed = api.post(f"/v1/refunds/{created['id']}/refresh").json
    assert refreshed["status"] == "refunded" and refreshed["provider_reference"] == f"sim_{created['id']}"
    actions = [e["action"] for e in api.get(f"/v1/payments/{payment['id']}/events").json["events"]]
    assert actions == ["payment.registered", "refund.requested", "refund.unknown", "refund.refunded"]


def test_refunds_of_an_order_and_of_a_refund_id(api: Any, paid: dict[str, Any]) -> None:
    created = refund(api, paid, 1000, "key-listing-01").json
    assert [r["id"] for r in api.get("/v1/refunds?order_id=1001").json["refunds"]] == [created["id"]]
    assert api.get("/v1/refunds?order_id=9999").json["refunds"] == []
    assert api.get(f"/v1/refunds/{created['id']}").json == created
    missing = api.get("/v1/refunds/rf_nope")
    assert missing.status_code == 404 and missing.json["code"] == "refund_not_found"
    assert missing.json["params"] == {"refund_id": "rf_nope"}
    assert missing.json["detail"] == "No refund rf_nope is recorded."


def test_audit_trail_documents_who_when_why_and_reference(api: Any, paid: dict[str, Any], clock: Any) -> None:
    created = refund(api, paid, 1000, "key-audit-0001").json
    events = api.get(f"/v1/payments/{paid['id']}/events").json["events"]
    requested, done = events[1], events[2]
    assert requested["action"] == "refund.requested" and requested["actor"] == ACTOR
    assert requested["reason"] == "Appointment cancelled" and requested["amount"]["value"] == 1000
    assert requested["at"] == clock().isoformat()
    assert done["action"] == "refund.refunded" and done["provider_reference"] == created["provider_reference"]


def test_unknown_payment_is_404(api: Any) -> None:
    for response in (api.get("/v1/payments/pay_nope"),
                     api.post("/v1/payments/pay_nope/refunds", refund_body(1), headers={"Idempotency-Key": "k" * 10})):
        assert response.status_code == 404 and response.json["code"] == "payment_not_found"


def test_malformed_json_is_a_clear_400(api: Any, paid: dict[str, Any]) -> None:
    response = api.post(f"/v1/payments/{paid['id']}/refunds", raw=b"{not json", headers={"Idempotency-Key": "k" * 10})
    assert response.status_code == 400 and response.json["code"] == "json_invalid"
    assert response.content_type == "application/problem+json"
    assert response.json["errors"] == {
        "json": ["Invalid JSON body: Expecting property name enclosed in double quotes."]}


def test_request_size_is_limited(api: Any, paid: dict[str, Any]) -> None:
    body = refund_body(100, reason="x" * (70 * 1024))
    response = api.post(f"/v1/payments/{paid['id']}/refunds", body, headers={"Idempotency-Key": "k" * 10})
    assert response.status_code == 413 and response.json["code"] == "request_too_large"


def test_health_and_openapi_are_public(app: Any) -> None:
    client = app.test_client()
    assert client.get("/health").json == {"status": "ok", "version": "0.1.0", "providers": ["manual", "simulator"],
                                          "provider_budget": 15.0}
    spec = client.get("/openapi.json").json
    assert spec["openapi"].startswith("3.")
    create = spec["paths"]["/v1/payments/{payment_id}/refunds"]["post"]
    assert {"201", "200", "422"} <= set(create["responses"])
    assert create["security"] == [{"RefunderTimestamp": [], "RefunderNonce": [], "RefunderSignature": []}]
    assert "Idempotency-Key" in [p["name"] for p in create["parameters"]]
    assert set(spec["components"]["securitySchemes"]) == {"RefunderTimestamp", "RefunderNonce", "RefunderSignature"}


def test_reconcile_settles_every_refund_that_is_not_final(app: Any, api: Any, simulator: Any, clock: Any) -> None:
    simulator.add_payment("sim-6-timeout", Money(20000, "NOK"), clock())
    simulator.add_payment("sim-7-async", Money(20000, "NOK"), clock())
    lost = refund(api, register(api, "simulator", "sim-6-timeout", 20000, order_id="6"), 100, "key-recon-0001").json
    slow = refund(api, register(api, "simulator", "sim-7-async", 20000, order_id="7"), 100, "key-recon-0002").json
    assert (lost["status"], slow["status"]) == ("unknown", "processing")
    clock.advance(seconds=3)
    report = app.extensions["refunder"].reconciler.reconcile()
    assert {r.id: r.status for r in report.refreshed} == {lost["id"]: "refunded", slow["id"]: "refunded"}
    assert report.discovered == []
    assert app.extensions["refunder"].reconciler.reconcile().refreshed == []


def test_refunds_made_in_the_providers_dashboard_are_found_and_count(app: Any, api: Any, paid: dict[str, Any],
                                                                   simulator: Any, clock: Any) -> None:
    assert refund(api, paid, 30000, "key-dash-00001").json["status"] == "refunded"
    clock.advance(minutes=5)
    dashboard_id = simulator.refund_outside("sim-1001", Money(50000, "NOK"))
    report = app.extensions["refunder"].reconciler.reconcile()
    assert [(r.kind, r.external_id, r.amount_minor, r.status) for r in report.discovered] == [
        ("external", dashboard_id, 50000, "refunded")]
    summary = api.get(f"/v1/payments/{paid['id']}").json
    assert summary["refunded"]["value"] == 80000 and summary["refundable"]["value"] == 20000
    over = refund(api, paid, 30000, "key-dash-00002")
    assert over.status_code == 422 and over.json["code"] == "exceeds_refundable"
    assert app.extensions["refunder"].reconciler.reconcile().discovered == []  # found once
    listed = api.get(f"/v1/payments/{paid['id']}/refunds").json["refunds"]
    assert [r["kind"] for r in listed] == ["requested", "external"]
    events = api.get(f"/v1/payments/{paid['id']}/events").json["events"]
    external = [e for e in events if e["action"] == "refund.external"]
    assert len(external) == 1 and external[0]["actor"]["name"] == "Simulated card provider"
    assert external[0]["provider_reference"] == dashboard_id


def test_registering_again_finds_dashboard_refunds(app: Any, api: Any, paid: dict[str, Any], simulator: Any) -> None:
    simulator.refund_outside("sim-1001", Money(100000, "NOK"))
    again = register(api, "simulator", "sim-1001", 100000)
    assert again["refunded"]["value"] == 100000 and again["refundable"]["value"] == 0


def test_check_with_provider_updates_the_facts_and_says_when(api: Any, paid: dict[str, Any], simulator: Any,
                                                             clock: Any) -> None:
    assert paid["checked_at"] == clock().isoformat()
    clock.advance(hours=2)
    simulator.refund_outside("sim-1001", Money(40000, "NOK"))
    simulator.add_payment("sim-1001", Money(90000, "NOK"), clock() - timedelta(days=2))  # captured less after all
    assert api.get(f"/v1/payments/{paid['id']}").json == {k: v for k, v in paid.items() if k != "detection"}
    checked = api.post(f"/v1/payments/{paid['id']}/refresh").json
    assert checked["checked_at"] == clock().isoformat()
    assert checked["captured"]["value"] == 90000 and checked["refunded"]["value"] == 40000
    events = api.get(f"/v1/payments/{paid['id']}/events").json["events"]
    assert [e["action"] for e in events] == ["payment.registered", "payment.updated", "refund.external"]
    assert events[1]["actor"]["name"] == "Refunder" and events[1]["detail"]["rule"] == "checked with the provider"


def test_a_bank_transfer_payment_is_never_checked_with_a_provider(api: Any, clock: Any) -> None:
    manual = register(api, "manual", "bank-77", 30000, order_id="77")
    assert manual["checked_at"] is None
    clock.advance(hours=1)
    assert api.post(f"/v1/payments/{manual['id']}/refresh").json == {k: v for k, v in manual.items()
                                                                      if k != "detection"}
    assert api.post("/v1/payments/pay_nope/refresh").status_code == 404
