"""Mollie Orders API (ord_, the Mollie WooCommerce plugin's default): balances, line and amount refunds.

Against the stateful fake, which checks every request against the shapes Mollie's reference documents.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from refunder.app import create_app
from refunder.money import Money
from refunder.providers.http import Transport
from refunder.providers.mollie import MollieProvider, MollieSettings
from tests.conftest import SignedClient
from tests.fakes.mollie import FakeMollie, check_shape
from tests.fakes.server import serving
from tests.providers.conftest import FAST, SECRETS
from tests.sidecar.helpers import ACTOR, refund_body

# WooCommerce items 41 (2 x 250.00) and 42 (1 x 300.00), as the Mollie plugin sends them to Mollie
LINES = [("41", "Massage", 2, 25000, "paid"), ("42", "Sauna", 1, 30000, "paid")]


@pytest.fixture
def mollie() -> Iterator[tuple[FakeMollie, str]]:
    fake = FakeMollie(SECRETS[6])
    with serving(fake) as url:
        yield fake, url
    assert fake.violations == []


@pytest.fixture
def api(settings: Any, db: Any, clock: Any, mollie: tuple[FakeMollie, str]) -> SignedClient:
    _, url = mollie
    provider = MollieProvider(MollieSettings(api_key=SECRETS[6], api_base=url), clock,
                              Transport(url, "Mollie", policy=FAST, sleep=lambda s: None))
    return SignedClient(create_app(settings, clock=clock, providers={"mollie": provider}).test_client(), clock)


def register(api: SignedClient, order: str, payment: str = "", value: int = 80000) -> dict[str, Any]:
    meta = {"_mollie_order_id": order, "_mollie_payment_mode": "live"}
    if payment:
        meta["_mollie_payment_id"] = payment
    answer = api.post("/v1/payments", {
        "order_id": order, "captured": {"value": value, "currency": "EUR"}, "actor": ACTOR,
        "paid_at": "2026-11-21T10:00:00+00:00",
        "facts": {"gateway": "mollie_wc_gateway_klarna", "transaction_id": order, "meta": meta}})
    assert answer.status_code == 200, answer.json
    return answer.json


def refund(api: SignedClient, payment: dict[str, Any], value: int, key: str, lines: list[Any] | None = None) -> Any:
    body = refund_body(value, currency="EUR", lines=lines or [])
    return api.post(f"/v1/payments/{payment['id']}/refunds", body, headers={"Idempotency-Key": key})


def line(item: str, quantity: int, amount: int) -> dict[str, Any]:
    return {"item_id": item, "name": f"item {item}", "quantity": quantity, "amount": amount}


def test_an_amount_goes_back_through_the_orders_payment(api: SignedClient, mollie: Any) -> None:
    fake, _ = mollie
    fake.add_order("ord_amount1", "tr_amount1", LINES)
    payment = register(api, "ord_amount1", "tr_amount1")
    assert (payment["reference"], payment["captured"]["value"]) == ("ord_amount1", 80000)
    created = refund(api, payment, 12345, "mollie-order-key-1").json
    assert created["status"] == "processing" and created["provider_reference"].startswith("re_")
    posts = [path for method, path, _ in fake.requests if method == "POST"]
    assert posts == ["/v2/payments/tr_amount1/refunds"]
    assert ("GET", "/v2/orders/ord_amount1", "live") in fake.requests  # read with embed=payments,refunds
    fake.settle()
    assert api.post(f"/v1/refunds/{created['id']}/refresh").json["status"] == "refunded"
    assert api.get(f"/v1/payments/{payment['id']}").json["refundable"]["value"] == 80000 - 12345


def test_whole_lines_are_refunded_as_order_lines(api: SignedClient, mollie: Any) -> None:
    fake, _ = mollie
    order = fake.add_order("ord_lines1", "tr_lines1", LINES)
    payment = register(api, "ord_lines1")  # no _mollie_payment_id: not needed for line refunds
    created = refund(api, payment, 55000, "mollie-order-key-2", [line("41", 1, 25000), line("42", 1, 30000)]).json
    assert created["status"] == "processing"
    [refund_at_mollie] = order.payment.refunds
    assert refund_at_mollie["orderId"] == "ord_lines1"
    assert [(r["id"], r["quantity"]) for r in refund_at_mollie["lines"]] == [(order.lines[0].id, 1),
                                                                             (order.lines[1].id, 1)]
    assert refund_at_mollie["metadata"] == {"refunder_refund_id": created["id"]}
    assert [path for method, path, _ in fake.requests if method == "POST"] == ["/v2/orders/ord_lines1/refunds"]
    fake.settle()
    assert api.post(f"/v1/refunds/{created['id']}/refresh").json["status"] == "refunded"


def test_lines_at_another_price_go_back_as_an_amount(api: SignedClient, mollie: Any) -> None:
    fake, _ = mollie
    fake.add_order("ord_part1", "tr_part1", LINES)
    payment = register(api, "ord_part1", "tr_part1")
    assert refund(api, payment, 10000, "mollie-order-key-3", [line("41", 1, 10000)]).json["status"] == "processing"
    assert [path for method, path, _ in fake.requests if method == "POST"] == ["/v2/payments/tr_part1/refunds"]


def test_a_line_not_shipped_yet_cannot_be_refunded(api: SignedClient, mollie: Any) -> None:
    fake, _ = mollie
    fake.add_order("ord_ship1", "tr_ship1", [("41", "Massage", 2, 25000, "completed"),
                                             ("42", "Sauna", 1, 30000, "authorized")])
    payment = register(api, "ord_ship1", "tr_ship1")
    assert payment["captured"]["value"] == 50000  # only the shipped line was captured
    failed = refund(api, payment, 30000, "mollie-order-key-4", [line("42", 1, 30000)]).json
    assert failed["status"] == "failed" and failed["failure"]["code"] == "mollie_line_not_shipped"
    assert "Cancel the line in Mollie" in failed["failure"]["message"]
    assert fake.refund_calls == 0  # refused before anything was sent
    done = refund(api, payment, 50000, "mollie-order-key-5", [line("41", 2, 50000)]).json
    assert done["status"] == "processing"


def test_an_order_not_shipped_has_nothing_to_refund(api: SignedClient, mollie: Any) -> None:
    fake, _ = mollie
    fake.add_order("ord_auth1", "tr_auth1", [("41", "Massage", 1, 25000, "authorized")])
    payment = register(api, "ord_auth1", "tr_auth1", 25000)
    answer = refund(api, payment, 1000, "mollie-order-key-6")
    assert answer.json["code"] == "mollie_nothing_captured" and "Capture the payment in Mollie" in answer.json["detail"]
    fake.ship("ord_auth1")
    payment = register(api, "ord_auth1", "tr_auth1", 25000)
    assert payment["captured"]["value"] == 25000
    assert refund(api, payment, 25000, "mollie-order-key-7").json["status"] == "processing"


def test_refunds_made_in_mollies_dashboard_are_counted(api: SignedClient, mollie: Any) -> None:
    fake, _ = mollie
    order = fake.add_order("ord_dash1", "tr_dash1", LINES)
    order.payment.refunds.append({"resource": "refund", "id": "re_dash", "status": "refunded", "metadata": None,
                                  "amount": {"currency": "EUR", "value": "300.00"}, "orderId": "ord_dash1"})
    payment = register(api, "ord_dash1", "tr_dash1")
    assert (payment["refunded"]["value"], payment["refundable"]["value"]) == (30000, 50000)


@pytest.mark.parametrize("method,path,body,problem", [
    ("POST", "/v2/payments/tr_1/refunds", {"amount": {"currency": "EUR", "value": 10.0}}, "value must be a string"),
    ("POST", "/v2/payments/tr_1/refunds", {"amount": {"currency": "EUR", "value": "10"}}, "currency's decimals"),
    ("POST", "/v2/payments/tr_1/refunds", {"amount": {"currency": "EUR", "value": "10.00"}, "reason": "x"},
     "members the API does not take"),
    ("POST", "/v2/payments/tr_1/refunds", {"description": "x"}, "lacks ['amount']"),
    ("POST", "/v2/orders/ord_1/refunds", {"description": "x"}, "lacks ['lines']"),
    ("POST", "/v2/orders/ord_1/refunds", {"lines": [{"id": "tr_1"}]}, "order line id"),
    ("POST", "/v2/orders/ord_1/refunds", {"lines": [{"id": "odl_1", "quantity": 0}]}, "at least 1"),
    ("POST", "/v2/orders/ord_1/refunds", {"lines": [{"id": "odl_1", "amount": {"value": "1.00"}}]},
     "exactly currency and value"),
    ("GET", "/v2/orders/ord_1?embed=lines", None, "embed takes"),
    ("GET", "/v2/payments/tr_1/refunds?limit=900", None, "limit is 1 to 250"),
])
def test_the_fake_refuses_requests_mollie_documents_otherwise(method: str, path: str, body: Any,
                                                              problem: str) -> None:
    request = Request(EnvironBuilder(method=method, path=path, json=body).get_environ())
    assert problem in check_shape(request)


def test_the_fake_accepts_the_documented_shapes() -> None:
    for method, path, body in (
        ("POST", "/v2/payments/tr_1/refunds", {"amount": {"currency": "EUR", "value": "10.00"},
                                               "description": "Cancelled", "metadata": {"a": "b"}}),
        ("POST", "/v2/orders/ord_1/refunds", {"lines": []}),
        ("POST", "/v2/orders/ord_1/refunds", {"lines": [{"id": "odl_1", "quantity": 2,
                                                         "amount": {"currency": "NOK", "value": "5.00"}}]}),
        ("GET", "/v2/orders/ord_1?embed=payments,refunds", None),
    ):
        assert check_shape(Request(EnvironBuilder(method=method, path=path, json=body).get_environ())) == ""


def test_mollie_money_of_an_order_is_what_was_captured() -> None:
    fake = FakeMollie(SECRETS[6])
    order = fake.add_order("ord_m", "tr_m", [("1", "a", 1, 1000, "shipping"), ("2", "b", 1, 500, "authorized")])
    assert (order.status, order.captured, order.payment.captured) == ("shipping", Money(1000, "EUR"),
                                                                       Money(1000, "EUR"))
