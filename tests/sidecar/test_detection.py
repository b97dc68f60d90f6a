"""Detection, rule by rule: the order facts the real gateway plugins write, and the provider Refunder picks.

The rows are tests/vectors/detection.json, which the plugin's PHPUnit suite runs too (through the sidecar).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from refunder.detection import Mode, OrderFacts
from refunder.providers import detect, specs

ROWS = json.loads((Path(__file__).resolve().parents[1] / "vectors" / "detection.json").read_text())["rows"]


def fill(value: Any, order_id: str = "12") -> Any:
    """References carry the order id ({order_id}), so that every test order has its own."""
    if isinstance(value, dict):
        return {k: fill(v, order_id) for k, v in value.items()}
    return value.replace("{order_id}", order_id) if isinstance(value, str) else value


def facts(row: dict[str, Any]) -> OrderFacts:
    return OrderFacts(order_id="12", gateway=row["gateway"], gateway_title=row["gateway_title"],
                      transaction_id=fill(row["transaction_id"]), meta=fill(row["meta"]))


@pytest.mark.parametrize("row", ROWS, ids=[r["id"] for r in ROWS])
def test_every_row_of_the_detection_table(row: dict[str, Any]) -> None:
    found = detect(facts(row))
    expect = fill(row["expect"])
    assert (found.provider, found.reference, found.provider_data, str(found.mode)) == (
        expect["provider"], expect["reference"], expect["provider_data"], expect["mode"])
    assert (found.block is None) is expect["refundable"]
    assert (found.block.code if found.block else None) == expect["reason"]
    assert found.block is None or found.block.message.endswith(".")  # plain words for staff


@pytest.mark.parametrize("row", ROWS, ids=[r["id"] for r in ROWS])
def test_at_most_one_rule_knows_an_order(row: dict[str, Any]) -> None:
    """Rules do not overlap, so the order the providers registered in never matters."""
    answers = [spec.name for spec in specs().values() if spec.detect and spec.detect(facts(row))]
    assert len(answers) <= 1, answers


def test_every_gateway_id_of_the_three_plugins_has_a_row() -> None:
    """Vipps 6.0.5 (vipps, vipps_card, vipps_recurring), Stripe 8.8.0 (stripe + UPE and legacy methods), Mollie
    7.8.2 (mollie_wc_gateway_*; the refund-relevant kinds)."""
    gateways = {row["gateway"] for row in ROWS}
    assert {"vipps", "vipps_card", "vipps_recurring", "stripe", "stripe_klarna", "stripe_boleto", "stripe_oxxo",
            "stripe_sepa", "mollie_wc_gateway_creditcard", "mollie_wc_gateway_klarna", "mollie_wc_gateway_giftcard",
            "mollie_wc_gateway_voucher", "mollie_wc_gateway_paysafecard", "bacs"} <= gateways


@pytest.mark.parametrize("gateway", ["stripe_alipay", "stripe_affirm", "stripe_afterpay_clearpay", "stripe_eps",
                                     "stripe_bancontact", "stripe_p24", "stripe_multibanco", "stripe_link",
                                     "stripe_wechat_pay", "stripe_cashapp", "stripe_giropay", "stripe_sofort"])
def test_every_refundable_stripe_method(gateway: str) -> None:
    found = detect(OrderFacts("5", gateway, transaction_id="py_5", meta={"_stripe_intent_id": "pi_5"}))
    assert (found.provider, found.reference, found.block) == ("stripe", "pi_5", None)


@pytest.mark.parametrize("method", ["applepay", "ideal", "bancontact", "belfius", "eps", "kbc", "paypal", "twint",
                                    "directdebit", "mybank", "przelewy24", "blik", "klarnapaylater", "klarnasliceit",
                                    "billie", "in3", "riverty", "trustly", "payconiq", "satispay", "swish", "alma"])
def test_every_refundable_mollie_method(method: str) -> None:
    found = detect(OrderFacts("5", f"mollie_wc_gateway_{method}", meta={"_mollie_order_id": "tr_5",
                                                                        "_mollie_payment_id": "tr_5"}))
    assert (found.provider, found.reference, found.block) == ("mollie", "tr_5", None)


def test_mode_follows_what_was_recorded() -> None:
    base = {"_vipps_api": "epayment", "_vipps_orderid": "Woo1"}
    assert detect(OrderFacts("1", "vipps", meta=base)).mode is Mode.UNKNOWN
    assert detect(OrderFacts("1", "vipps", meta={**base, "_refunder_payment_mode": "TEST "})).mode is Mode.TEST
    assert detect(OrderFacts("1", "vipps", meta={**base, "_refunder_payment_mode": "staging"})).mode is Mode.UNKNOWN
    mollie = {"_mollie_order_id": "tr_1", "_mollie_payment_id": "tr_1"}
    assert detect(OrderFacts("1", "mollie_wc_gateway_ideal", meta=mollie)).mode is Mode.UNKNOWN
    assert detect(OrderFacts("1", "mollie_wc_gateway_ideal",
                             meta={**mollie, "_refunder_payment_mode": "live"})).mode is Mode.LIVE


def test_orders_without_a_provider_reference_are_not_sent_anywhere() -> None:
    vipps = detect(OrderFacts("3", "vipps", meta={"_vipps_api": "epayment"}))
    stripe = detect(OrderFacts("3", "stripe", transaction_id="", meta={}))
    mollie = detect(OrderFacts("3", "mollie_wc_gateway_creditcard", meta={}))
    for found in (vipps, stripe, mollie):
        assert found.block is not None and found.block.code == "no_provider_reference"
        assert found.reference == "wc-order-3"


def test_mollie_orders_api_without_payment_id_reads_it_from_mollie() -> None:
    found = detect(OrderFacts("4", "mollie_wc_gateway_klarna", transaction_id="ord_x", meta={}))
    assert (found.provider, found.reference, found.provider_data) == ("mollie", "ord_x", {})


def test_unknown_vipps_api_is_not_sent_to_epayment() -> None:
    found = detect(OrderFacts("4", "vipps", meta={"_vipps_api": "recurring", "_vipps_orderid": "Woo4"}))
    assert found.provider == "vipps" and found.block and found.block.code == "unknown_payment_api"
