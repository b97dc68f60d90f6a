"""Money the plugin sends as WooCommerce writes it (a decimal string) is read with the sidecar's ISO 4217 table:
exactly, in every currency (0, 3 and 4 decimals too), or refused with its own code."""

from __future__ import annotations

from typing import Any

import pytest

from refunder.money import InexactAmount, Money
from tests.sidecar.helpers import ACTOR


@pytest.mark.parametrize("text,currency,minor", [
    ("12.5", "NOK", 1250), ("12.50", "NOK", 1250), ("1500", "JPY", 1500), ("1500.00", "JPY", 1500),
    ("1500.000000", "ISK", 1500), ("1.234", "KWD", 1234), ("1.23400", "BHD", 1234), ("0.0001", "CLF", 1),
    ("12.3456", "UYW", 123456), ("0", "NOK", 0),
])
def test_exact_reads_woocommerce_decimals_with_the_currencys_digits(text: str, currency: str, minor: int) -> None:
    assert Money.exact(text, currency) == Money(minor, currency)


@pytest.mark.parametrize("text,currency", [
    ("12.345", "NOK"), ("1500.5", "JPY"), ("1.2345", "KWD"), ("0.00001", "CLF"), ("59.999999", "NOK"),
])
def test_exact_refuses_digits_the_currency_does_not_have(text: str, currency: str) -> None:
    with pytest.raises(InexactAmount) as refused:
        Money.exact(text, currency)
    assert (refused.value.amount, refused.value.currency) == (text, currency)


def registration(captured: dict[str, Any], order_id: str = "3001") -> dict[str, Any]:
    return {"provider": "manual", "reference": f"bank-{order_id}", "order_id": order_id, "captured": captured,
            "paid_at": "2026-11-20T10:00:00+00:00", "actor": ACTOR}


@pytest.mark.parametrize("decimal,currency,value,digits", [
    ("1500.00", "JPY", 1500, 0), ("1.250", "KWD", 1250, 3), ("1.2345", "CLF", 12345, 4), ("2.5", "UYW", 25000, 4),
    ("1234.5", "NOK", 123450, 2),
])
def test_a_payment_registered_with_the_orders_decimal_total(api: Any, decimal: str, currency: str, value: int,
                                                           digits: int) -> None:
    answer = api.post("/v1/payments", registration({"decimal": decimal, "currency": currency}))
    assert answer.status_code == 200, answer.json
    assert answer.json["captured"] == {"value": value, "currency": currency, "exponent": digits}


def test_an_inexact_total_is_refused_with_its_code(api: Any) -> None:
    answer = api.post("/v1/payments", registration({"decimal": "1500.50", "currency": "JPY"}))
    assert (answer.status_code, answer.json["code"], answer.json["field"]) == (422, "amount_not_exact",
                                                                              "captured.decimal")
    assert answer.json["params"] == {"field": "captured.decimal", "amount": "1500.50", "currency": "JPY",
                                     "exponent": 0}
    assert answer.json["detail"] == "1500.50 is not an exact amount in JPY, which has 0 decimals."
    again = api.post("/v1/payments", registration({"decimal": "1500", "currency": "JPY"}))
    assert again.json["captured"]["value"] == 1500 and again.json["refunded"]["value"] == 0


@pytest.mark.parametrize("captured", [
    {"decimal": "10.00", "value": 1000, "currency": "NOK"}, {"currency": "NOK"},
    {"decimal": "-1.00", "currency": "NOK"}, {"decimal": "1e3", "currency": "NOK"}, {"decimal": 10, "currency": "NOK"},
    {"decimal": "99999999999999.99", "currency": "NOK"},
])
def test_a_malformed_decimal_is_an_invalid_request(api: Any, captured: dict[str, Any]) -> None:
    answer = api.post("/v1/payments", registration(captured))
    assert (answer.status_code, answer.json["code"]) == (422, "invalid_request"), answer.json


def woocommerce_refund(api: Any, payment: dict[str, Any], amount: dict[str, Any], wc_refund_id: str) -> Any:
    return api.post(f"/v1/payments/{payment['id']}/woocommerce-refunds", {
        "wc_refund_id": wc_refund_id, "amount": amount, "reason": "Refunded in shop", "actor": ACTOR,
        "gateway_refund": False, "source": "manual"})


def test_a_woocommerce_refund_reported_as_woocommerce_wrote_it(api: Any) -> None:
    payment = api.post("/v1/payments", registration({"decimal": "10.500", "currency": "KWD"})).json
    counted = woocommerce_refund(api, payment, {"decimal": "2.125", "currency": "KWD"}, "601")
    assert counted.status_code == 201, counted.json
    assert counted.json["amount"] == {"value": 2125, "currency": "KWD", "exponent": 3}
    assert api.get(f"/v1/payments/{payment['id']}").json["refundable"]["value"] == 8375
    inexact = woocommerce_refund(api, payment, {"decimal": "1.0005", "currency": "KWD"}, "602")
    assert (inexact.status_code, inexact.json["code"], inexact.json["field"]) == (422, "amount_not_exact",
                                                                                  "amount.decimal")
    zero = woocommerce_refund(api, payment, {"decimal": "0.000", "currency": "KWD"}, "603")
    assert (zero.status_code, zero.json["code"]) == (422, "invalid_request")
    assert api.get(f"/v1/payments/{payment['id']}").json["refundable"]["value"] == 8375
