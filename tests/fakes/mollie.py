"""A stateful fake of Mollie's payments, orders and refunds API.

Amounts must be exact decimal strings with the currency's digits ("10.00"); refunds are "pending" until
settle() (or .settle_after seconds, if set) and never exceed what was captured (for Klarna: captured, not
authorized); the same Idempotency-Key with the same body answers as before. Webhooks come in both kinds:
the classic form post of the payment id (classic_webhook) and next-gen JSON events with the refund in
them, signed with the webhook's secret (signed_event).

Orders (Orders API, ord_): GET /v2/orders/{id}?embed=payments,refunds; POST /v2/orders/{id}/refunds refunds
order lines that are paid, shipping or completed (authorized lines must be cancelled instead); the order's
payment (tr_) takes amount refunds. Every request is first checked against the shapes Mollie's API reference
documents (checked here in our own words: fields, types, required and unknown members); a request that breaks
them gets a 422 and is kept in .violations, so tests fail on it.

Like Mollie, every object lives in one mode: a live_ key sees only live objects, a test_ key only test ones.
Time: .timing (tests/fakes/timing.py) gives every call a latency and hangs calls by kind ("refund": creating
one, "read": everything else).
"""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from werkzeug.wrappers import Request, Response

from refunder.money import Money, MoneyError
from refunder.providers.mollie import signature
from tests.fakes.common import FakeApp, json_response

REFUNDABLE_LINES = ("paid", "shipping", "completed")
CREATED_AT = "2026-11-20T10:00:00+00:00"


@dataclass
class MolliePayment:
    id: str
    amount: Money
    method: str
    captured: Money
    mode: str = "live"
    order_id: str = ""
    refunds: list[dict[str, Any]] = field(default_factory=list)

    def refunded(self) -> int:
        return sum(Money.parse(r["amount"]["value"], r["amount"]["currency"]).minor for r in self.refunds
                   if r["status"] not in ("failed", "canceled"))


@dataclass
class MollieLine:
    id: str
    item_id: str  # the WooCommerce order item, as the Mollie plugin puts it in the line's metadata
    name: str
    quantity: int
    unit_price: Money
    status: str  # created, authorized, paid, shipping, completed, canceled
    refunded: int = 0  # quantity

    @property
    def total(self) -> Money:
        return Money(self.unit_price.minor * self.quantity, self.unit_price.currency)


@dataclass
class MollieOrder:
    id: str
    method: str
    lines: list[MollieLine]
    payment: MolliePayment
    mode: str = "live"

    @property
    def amount(self) -> Money:
        return self.payment.amount

    @property
    def captured(self) -> Money:
        return Money(sum(line.total.minor for line in self.lines if line.status in REFUNDABLE_LINES),
                     self.amount.currency)

    @property
    def status(self) -> str:
        states = {line.status for line in self.lines}
        if states <= {"completed"}:
            return "completed"
        if "shipping" in states or ("completed" in states and states & {"authorized", "paid"}):
            return "shipping"
        return "paid" if states <= {"paid"} else "authorized" if "authorized" in states else "created"


class FakeMollie(FakeApp):
    def __init__(self, api_key: str, webhook_secret: str = "", *, other_keys: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.api_key, self.webhook_secret = api_key, webhook_secret
        self.keys = {key: key.split("_", 1)[0] for key in (api_key, *other_keys)}  # live_... / test_...
        self.payments: dict[str, MolliePayment] = {}
        self.orders: dict[str, MollieOrder] = {}
        self.idempotency: dict[str, tuple[str, Response]] = {}
        self.refund_calls = 0
        self.settle_after: float | None = None  # seconds until a pending refund is refunded by itself
        self._pending_since: dict[str, float] = {}
        self.violations: list[str] = []
        self.requests: list[tuple[str, str, str]] = []  # method, path, mode of the key

    # --- set-up ------------------------------------------------------------------------------------

    def add_payment(self, payment_id: str, amount: Money, method: str = "creditcard",
                    captured: Money | None = None, mode: str = "") -> None:
        self.payments[payment_id] = MolliePayment(payment_id, amount, method,
                                                  amount if captured is None else captured,
                                                  mode or self.keys[self.api_key])

    def add_order(self, order_id: str, payment_id: str, lines: list[tuple[str, str, int, int, str]],
                  currency: str = "EUR", method: str = "klarna", mode: str = "") -> MollieOrder:
        """lines: (WooCommerce item id, name, quantity, unit price in minor units, status)."""
        made = [MollieLine(f"odl_{secrets.token_hex(3)}", item, name, quantity, Money(unit, currency), status)
                for item, name, quantity, unit, status in lines]
        total = Money(sum(line.total.minor for line in made), currency)
        payment = MolliePayment(payment_id, total, method, Money.zero(currency), mode or self.keys[self.api_key],
                                order_id)
        order = MollieOrder(order_id, method, made, payment, payment.mode)
        self.payments[payment_id] = payment
        self.orders[order_id] = order
        self._sync(order)
        return order

    def ship(self, order_id: str) -> None:
        """Klarna: the booking took place, the order lines are shipped (and so captured)."""
        order = self.orders[order_id]
        for line in order.lines:
            if line.status == "authorized":
                line.status = "completed"
        self._sync(order)

    def settle(self, status: str = "refunded") -> None:
        for payment in self.payments.values():
            for refund in payment.refunds:
                if refund["status"] == "pending":
                    refund["status"] = status

    def refund(self, refund_id: str) -> dict[str, Any]:
        return next(r for p in self.payments.values() for r in p.refunds if r["id"] == refund_id)

    def signed_event(self, kind: str, refund: dict[str, Any], *, secret: str | None = None,
                     full: bool = True) -> tuple[bytes, dict[str, str]]:
        """A next-gen webhook event about a refund (full payload: the refund embedded), signed."""
        event = {"resource": "event", "id": f"event_{secrets.token_hex(6)}", "type": kind, "entityId": refund["id"],
                 "createdAt": "2026-11-22T12:00:00+00:00", "_links": {},
                 **({"_embedded": {"entity": dict(refund)}} if full else {})}
        body = json.dumps(event).encode()
        key = self.webhook_secret if secret is None else secret
        return body, {"Content-Type": "application/json", "X-Mollie-Signature": signature(key, body)}

    @staticmethod
    def classic_webhook(payment_id: str) -> tuple[bytes, dict[str, str]]:
        return f"id={payment_id}".encode(), {"Content-Type": "application/x-www-form-urlencoded"}

    def _settle_due(self) -> None:
        if self.settle_after is None:
            return
        for refund_id, since in list(self._pending_since.items()):
            if time.monotonic() - since >= self.settle_after:
                refund = self.refund(refund_id)
                refund["status"] = "refunded" if refund["status"] == "pending" else refund["status"]
                del self._pending_since[refund_id]

    def _sync(self, order: MollieOrder) -> None:
        order.payment.captured = order.captured

    # --- WSGI ------------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        self._settle_due()
        mode = self.keys.get(request.headers.get("Authorization", "").removeprefix("Bearer "))
        if mode is None:
            return error(401, "Missing authentication, or failed to authenticate")
        self.requests.append((request.method, request.path, mode))
        problem = check_shape(request)
        if problem:
            self.violations.append(f"{request.method} {request.full_path}: {problem}")
            return error(422, f"Request does not match the API reference: {problem}")
        order_match = re.fullmatch(r"/v2/orders/(ord_\w+)(/refunds)?", request.path)
        if order_match:
            order = self.orders.get(order_match.group(1))
            if order is None or order.mode != mode:
                return error(404, "No order exists with token")
            if request.method == "GET":
                return json_response(self._order(order, request.args.get("embed", "")))
            return self._order_refund(order, request)
        match = re.fullmatch(r"/v2/payments/(tr_\w+)(/refunds)?", request.path)
        payment = self.payments.get(match.group(1)) if match else None
        if payment is None or payment.mode != mode:
            return error(404, "No payment exists with token")
        if request.method == "GET" and not match.group(2):  # type: ignore[union-attr]
            return json_response(self._payment(payment))
        if request.method == "GET":
            return json_response({"count": len(payment.refunds), "_embedded": {"refunds": payment.refunds}})
        return self._refund(payment, request)

    def _replayed(self, request: Request) -> tuple[str, str, Response | None]:
        key, body = request.headers.get("Idempotency-Key", ""), request.get_data(as_text=True)
        if key in self.idempotency:
            seen, answer = self.idempotency[key]
            return key, body, answer if seen == request.path + body else error(
                409, "The idempotency key was used for another request")
        return key, body, None

    def _remember(self, key: str, request: Request, body: str, answer: Response) -> Response:
        if key:
            self.idempotency[key] = (request.path + body, answer)
        return answer

    def _refund(self, payment: MolliePayment, request: Request) -> Response:
        self.refund_calls += 1
        key, body, replay = self._replayed(request)
        if replay is not None:
            return replay
        data = json.loads(body)
        amount = data["amount"]
        money = Money.parse(amount["value"], amount["currency"])
        if payment.captured.minor == 0:
            return error(422, "The payment has not been captured, so it cannot be refunded", field="amount")
        if money.currency != payment.amount.currency or money.minor > payment.captured.minor - payment.refunded():
            return error(422, "The amount is higher than the amount that is refundable for this payment",
                         field="amount")
        refund = self._new_refund(payment, amount, data)
        return self._remember(key, request, body, json_response(refund, 201))

    def _order_refund(self, order: MollieOrder, request: Request) -> Response:
        self.refund_calls += 1
        key, body, replay = self._replayed(request)
        if replay is not None:
            return replay
        data = json.loads(body)
        wanted = data["lines"] or [{"id": line.id, "quantity": line.quantity - line.refunded}
                                   for line in order.lines if line.status in REFUNDABLE_LINES]
        by_id = {line.id: line for line in order.lines}
        chosen: list[tuple[MollieLine, int]] = []
        for item in wanted:
            line = by_id.get(item["id"])
            if line is None:
                return error(422, f"The order line {item['id']} does not belong to this order", field="lines")
            if line.status not in REFUNDABLE_LINES:
                return error(422, f"The order line {line.id} cannot be refunded: its status is {line.status}. "
                                  "Cancel it instead", field="lines")
            quantity = item.get("quantity", line.quantity - line.refunded)
            if quantity > line.quantity - line.refunded:
                return error(422, f"The quantity to refund is higher than what is left on line {line.id}",
                             field="lines")
            chosen.append((line, quantity))
        total = Money(sum(line.unit_price.minor * quantity for line, quantity in chosen), order.amount.currency)
        if total.minor > order.payment.captured.minor - order.payment.refunded():
            return error(422, "The amount is higher than the amount that is refundable for this order")
        for line, quantity in chosen:
            line.refunded += quantity
        refund = self._new_refund(order.payment, {"currency": total.currency, "value": total.decimal_string()}, data)
        refund["lines"] = [self._line(line, order) | {"quantity": quantity} for line, quantity in chosen]
        return self._remember(key, request, body, json_response(refund, 201))

    def _new_refund(self, payment: MolliePayment, amount: dict[str, str], data: dict[str, Any]) -> dict[str, Any]:
        refund = {"resource": "refund", "id": f"re_{secrets.token_hex(5)}", "mode": payment.mode, "amount": amount,
                  "status": "pending", "description": data.get("description", ""), "metadata": data.get("metadata"),
                  "paymentId": payment.id, "createdAt": "2026-11-22T12:00:00+00:00"}
        if payment.order_id:
            refund["orderId"] = payment.order_id
        payment.refunds.append(refund)
        self._pending_since[refund["id"]] = time.monotonic()
        return refund

    # --- answers -----------------------------------------------------------------------------------

    @staticmethod
    def _payment(p: MolliePayment) -> dict[str, Any]:
        body: dict[str, Any] = {
            "resource": "payment", "id": p.id, "mode": p.mode, "method": p.method,
            "status": "paid" if p.captured.minor else "authorized",
            "amount": {"currency": p.amount.currency, "value": p.amount.decimal_string()},
            "amountRefunded": {"currency": p.amount.currency,
                               "value": Money(p.refunded(), p.amount.currency).decimal_string()},
            "createdAt": CREATED_AT, "paidAt": CREATED_AT}
        if p.method.startswith("klarna"):
            body["amountCaptured"] = {"currency": p.captured.currency, "value": p.captured.decimal_string()}
        if p.order_id:
            body["orderId"] = p.order_id
        return body

    @staticmethod
    def _line(line: MollieLine, order: MollieOrder) -> dict[str, Any]:
        def amount(m: Money) -> dict[str, str]:
            return {"currency": m.currency, "value": m.decimal_string()}

        return {"resource": "orderline", "id": line.id, "orderId": order.id, "name": line.name, "type": "digital",
                "status": line.status, "quantity": line.quantity, "quantityRefunded": line.refunded,
                "refundableQuantity": line.quantity - line.refunded if line.status in REFUNDABLE_LINES else 0,
                "unitPrice": amount(line.unit_price), "discountAmount": amount(Money.zero(line.unit_price.currency)),
                "totalAmount": amount(line.total), "vatRate": "25.00",
                "metadata": {"order_item_id": int(line.item_id) if line.item_id.isdigit() else line.item_id}}

    def _order(self, order: MollieOrder, embed: str) -> dict[str, Any]:
        currency = order.amount.currency
        body: dict[str, Any] = {
            "resource": "order", "id": order.id, "mode": order.mode, "method": order.method, "status": order.status,
            "amount": {"currency": currency, "value": order.amount.decimal_string()},
            "amountRefunded": {"currency": currency,
                               "value": Money(order.payment.refunded(), currency).decimal_string()},
            "lines": [self._line(line, order) for line in order.lines], "createdAt": CREATED_AT,
            "authorizedAt": CREATED_AT}
        if order.captured.minor:
            body["amountCaptured"] = {"currency": currency, "value": order.captured.decimal_string()}
        embedded: dict[str, Any] = {}
        if "payments" in embed.split(","):
            embedded["payments"] = [self._payment(order.payment)]
        if "refunds" in embed.split(","):
            embedded["refunds"] = list(order.payment.refunds)
        if embedded:
            body["_embedded"] = embedded
        return body


# --- request shapes, from Mollie's API reference (our own checks, not Mollie's OpenAPI file) ---------------

_ID = {"payments": r"tr_\w+", "orders": r"ord_\w+"}


def check_shape(request: Request) -> str:
    """What is wrong with the request's shape, or "" when it matches what the reference documents."""
    path, method = request.path, request.method
    if method == "GET" and re.fullmatch(r"/v2/payments/tr_\w+", path):
        return _query(request, set())
    if method == "GET" and re.fullmatch(r"/v2/payments/tr_\w+/refunds", path):
        return _query(request, {"from", "limit", "embed", "testmode"}) or _limit(request)
    if method == "GET" and re.fullmatch(r"/v2/orders/ord_\w+", path):
        embeds = set(filter(None, request.args.get("embed", "").split(",")))
        if not embeds <= {"payments", "refunds", "shipments"}:
            return f"embed takes payments, refunds, shipments, not {sorted(embeds)}"
        return _query(request, {"embed", "testmode"})
    if method == "POST" and re.fullmatch(r"/v2/payments/tr_\w+/refunds", path):
        body, problem = _json_object(request)
        return problem or _members(body, required={"amount"}, optional={
            "description", "metadata", "reverseRouting", "routingReversals", "testmode"}) or _amount(
            body["amount"], "amount") or _text(body, "description") or _metadata(body)
    if method == "POST" and re.fullmatch(r"/v2/orders/ord_\w+/refunds", path):
        body, problem = _json_object(request)
        problem = problem or _members(body, required={"lines"}, optional={"description", "metadata", "testmode"})
        if problem:
            return problem
        if not isinstance(body["lines"], list):
            return "lines must be an array (empty: the whole order)"
        for number, line in enumerate(body["lines"]):
            where = f"lines[{number}]"
            if not isinstance(line, dict):
                return f"{where} must be an object"
            problem = _members(line, required={"id"}, optional={"quantity", "amount"}, where=where)
            if problem:
                return problem
            if not isinstance(line["id"], str) or not line["id"].startswith("odl_"):
                return f"{where}.id must be an order line id (odl_...)"
            quantity = line.get("quantity", 1)
            if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
                return f"{where}.quantity must be a whole number of at least 1"
            if "amount" in line and (problem := _amount(line["amount"], f"{where}.amount")):
                return problem
        return _text(body, "description") or _metadata(body)
    return f"no such endpoint in the fake: {method} {path}"


def _query(request: Request, allowed: set[str]) -> str:
    extra = set(request.args) - allowed
    return f"unknown query parameters {sorted(extra)}" if extra else ""


def _limit(request: Request) -> str:
    limit = request.args.get("limit")
    return "" if limit is None or (limit.isdigit() and 1 <= int(limit) <= 250) else "limit is 1 to 250"


def _json_object(request: Request) -> tuple[dict[str, Any], str]:
    if request.mimetype != "application/json":
        return {}, "send JSON (Content-Type application/json)"
    try:
        body = json.loads(request.get_data(as_text=True))
    except ValueError:
        return {}, "the body is not JSON"
    return (body, "") if isinstance(body, dict) else ({}, "the body must be a JSON object")


def _members(body: dict[str, Any], *, required: set[str], optional: set[str], where: str = "body") -> str:
    missing, unknown = required - set(body), set(body) - required - optional
    if missing:
        return f"{where} lacks {sorted(missing)}"
    return f"{where} has members the API does not take: {sorted(unknown)}" if unknown else ""


def _amount(amount: Any, where: str) -> str:
    """An amount is {"currency": ISO 4217, "value": a string with exactly the currency's decimals}."""
    if not isinstance(amount, dict) or set(amount) != {"currency", "value"}:
        return f"{where} must be an object with exactly currency and value"
    if not isinstance(amount["value"], str):
        return f"{where}.value must be a string"
    try:
        money = Money.parse(amount["value"], amount["currency"])
    except (MoneyError, KeyError, ValueError):
        return f"{where} is not a valid amount"
    return "" if money.decimal_string() == amount["value"] else f"{where}.value needs the currency's decimals"


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name, "")
    return "" if isinstance(value, str) and len(value) <= 255 else f"{name} must be a string of at most 255"


def _metadata(body: dict[str, Any]) -> str:
    return "" if len(json.dumps(body.get("metadata"))) <= 1024 else "metadata is limited to 1 kB"


def error(status: int, detail: str, **extra: Any) -> Response:
    return json_response({"status": status, "title": "Error", "detail": detail, **extra}, status,
                         "application/hal+json")
