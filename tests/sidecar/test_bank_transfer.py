"""Registering from the order's facts, what can be done with a payment, and refunds paid back by bank transfer."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from refunder.money import Money
from tests.sidecar.helpers import ACTOR, CountingProvider, refund_body, register


def from_facts(api: Any, order_id: str, gateway: str, meta: dict[str, str], *, value: int = 100000,
               transaction_id: str = "", **explicit: Any) -> Any:
    return api.post("/v1/payments", {
        "order_id": order_id, "captured": {"value": value, "currency": "NOK"}, "actor": ACTOR,
        "paid_at": "2026-11-20T10:00:00+00:00", **explicit,
        "facts": {"gateway": gateway, "gateway_title": gateway.title(), "transaction_id": transaction_id,
                  "meta": meta}})


def refund(api: Any, payment: dict[str, Any], value: int, key: str, **extra: Any) -> Any:
    return api.post(f"/v1/payments/{payment['id']}/refunds", refund_body(value, **extra),
                    headers={"Idempotency-Key": key})


def test_registering_from_facts_answers_what_was_detected(api: Any) -> None:
    answer = from_facts(api, "12", "vipps", {"_vipps_api": "epayment", "_vipps_orderid": "Woo00012",
                                             "_refunder_payment_mode": "test"})
    assert answer.status_code == 200, answer.json
    body = answer.json
    assert body["detection"] == {"provider": "vipps", "reference": "Woo00012", "provider_data": {}, "mode": "test",
                                 "rule": "vipps: gateway vipps, _vipps_api=epayment", "refundable": True,
                                 "reason": None}
    assert (body["provider"], body["reference"], body["mode"], body["gateway"]) == ("vipps", "Woo00012", "test",
                                                                                    "vipps")
    assert body["capabilities"]["reason"]["code"] == "provider_not_enabled"  # this sidecar has no Vipps


def test_an_explicit_source_wins_over_the_facts(api: Any, simulator: Any, clock: Any) -> None:
    simulator.add_payment("sim-bt-1", Money(50000, "NOK"), clock())
    body = from_facts(api, "13", "stripe", {"_stripe_intent_id": "pi_1", "_refunder_payment_mode": "test"},
                      provider="simulator", reference="sim-bt-1").json
    assert (body["provider"], body["reference"], body["captured"]["value"]) == ("simulator", "sim-bt-1", 50000)
    assert body["detection"]["rule"] == "explicit" and body["mode"] == "test"
    assert body["capabilities"] == {"provider_refund": True, "reason": None, "partial_refund": True,
                                    "line_refund": True, "bank_transfer": True, "default_via": "provider",
                                    "needs_bank_reference": False}


def test_a_method_the_provider_cannot_refund_goes_back_by_bank_transfer(api: Any) -> None:
    payment = from_facts(api, "14", "stripe_boleto", {"_stripe_intent_id": "pi_b", "_stripe_upe_payment_type": "boleto",
                                                      "_stripe_charge_captured": "yes"}).json
    assert payment["detection"]["refundable"] is False
    can = payment["capabilities"]
    assert (can["provider_refund"], can["reason"]["code"], can["reason"]["params"]["method"]) == (
        False, "method_not_refundable", "boleto")
    assert can["bank_transfer"] and can["default_via"] == "bank_transfer" and can["needs_bank_reference"]
    refused = refund(api, payment, 1000, "boleto-key-0001", via="provider")
    assert refused.status_code == 422 and refused.json["reason"] == "method_not_refundable"
    done = refund(api, payment, 100000, "boleto-key-0002", bank_reference="BANK-14")
    assert done.status_code == 201 and (done.json["via"], done.json["status"]) == ("bank_transfer", "refunded")
    again = refund(api, payment, 1, "boleto-key-0003", via="bank_transfer", bank_reference="BANK-14b")
    assert again.status_code == 422 and again.json["code"] == "exceeds_refundable"


def test_an_authorization_has_nothing_to_pay_back(api: Any) -> None:
    payment = from_facts(api, "15", "stripe", {"_stripe_intent_id": "pi_a", "_stripe_charge_captured": "no"}).json
    assert payment["captured"]["value"] == 0 and payment["capabilities"]["reason"]["code"] == "not_captured"
    refused = refund(api, payment, 100, "auth-key-0001", via="bank_transfer", bank_reference="B-15")
    assert refused.status_code == 422 and refused.json["code"] == "nothing_captured"


def test_provider_refunds_and_bank_transfers_share_one_balance(api: Any, simulator: Any, clock: Any, app: Any) -> None:
    counting = CountingProvider(simulator)
    app.extensions["refunder"].providers["simulator"] = counting
    simulator.add_payment("sim-share-1", Money(100000, "NOK"), clock())
    payment = register(api, "simulator", "sim-share-1", 100000)
    assert refund(api, payment, 60000, "share-key-0001").json["via"] == "provider"
    bank = refund(api, payment, 40000, "share-key-0002", via="bank_transfer", bank_reference="NO93 8601 1117 947")
    assert bank.status_code == 201 and bank.json["provider_reference"] == "NO93 8601 1117 947"
    assert len(counting.calls) == 1  # the bank transfer was never sent to the provider
    for key, via in (("share-key-0003", "provider"), ("share-key-0004", "bank_transfer")):
        over = refund(api, payment, 1, key, via=via, bank_reference="X-1")
        assert over.status_code == 422 and over.json["code"] == "exceeds_refundable"
    summary = api.get(f"/v1/payments/{payment['id']}").json
    assert (summary["refunded"]["value"], summary["refundable"]["value"]) == (100000, 0)
    events = api.get(f"/v1/payments/{payment['id']}/events").json["events"]
    assert [e["detail"].get("via") for e in events if e["action"] == "refund.requested"] == [
        "provider", "bank_transfer"]


def test_a_bank_transfer_needs_its_reference(api: Any, simulator: Any, clock: Any) -> None:
    simulator.add_payment("sim-ref-1", Money(10000, "NOK"), clock())
    payment = register(api, "simulator", "sim-ref-1", 10000)
    answer = refund(api, payment, 100, "ref-key-00001", via="bank_transfer")
    assert answer.status_code == 422 and answer.json["field"] == "bank_reference"


def test_after_the_refund_window_only_a_bank_transfer(api: Any, simulator: Any, clock: Any) -> None:
    simulator.add_payment("sim-old-1", Money(30000, "NOK"), clock() - timedelta(days=400))
    payment = register(api, "simulator", "sim-old-1", 30000)
    reason = payment["capabilities"]["reason"]
    assert reason["code"] == "refund_window_expired" and reason["params"]["deadline"].startswith("2026-")
    assert refund(api, payment, 100, "old-key-00001").json["code"] == "refund_window_expired"
    done = refund(api, payment, 30000, "old-key-00002", via="bank_transfer", bank_reference="B-OLD")
    assert done.status_code == 201 and done.json["via"] == "bank_transfer"


def test_after_a_permanent_refusal_only_a_bank_transfer(api: Any, simulator: Any, clock: Any) -> None:
    simulator.add_payment("sim-perm-decline", Money(20000, "NOK"), clock())
    payment = register(api, "simulator", "sim-perm-decline", 20000)
    failed = refund(api, payment, 20000, "perm-key-0001").json
    assert failed["status"] == "failed" and failed["failure"]["code"] == "card_declined"
    view = api.get(f"/v1/payments/{payment['id']}").json
    assert view["capabilities"]["provider_refund"] is False
    assert view["capabilities"]["reason"]["code"] == "provider_refused_permanently"
    assert view["capabilities"]["reason"]["params"]["failure_code"] == "card_declined"
    assert refund(api, payment, 20000, "perm-key-0001").json == failed  # the same key still answers as before
    again = refund(api, payment, 20000, "perm-key-0002", via="provider")
    assert again.status_code == 422 and again.json["reason"] == "provider_refused_permanently"
    done = refund(api, payment, 20000, "perm-key-0003", via="bank_transfer", bank_reference="B-PERM")
    assert done.status_code == 201 and done.json["status"] == "refunded"


def test_a_bank_transfer_payment_refunds_by_bank_transfer_by_default(api: Any) -> None:
    payment = register(api, "manual", "bank-20", 5000)
    assert payment["capabilities"]["default_via"] == "bank_transfer"
    assert payment["capabilities"]["reason"]["code"] == "no_provider"
    assert refund(api, payment, 100, "manual-key-001", via="provider").json["reason"] == "no_provider"
    done = refund(api, payment, 100, "manual-key-002", bank_reference="B-20").json
    assert (done["via"], done["status"]) == ("bank_transfer", "refunded")


def test_facts_or_a_provider_are_needed(api: Any) -> None:
    answer = api.post("/v1/payments", {"order_id": "1", "captured": {"value": 1, "currency": "NOK"},
                                       "paid_at": "2026-11-20T10:00:00+00:00", "actor": ACTOR})
    assert answer.status_code == 422 and "facts" in answer.json["errors"]
