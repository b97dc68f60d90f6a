"""A stateful fake of Mollie's payments and refunds API.

Amounts must be exact decimal strings with the currency's digits ("10.00"); refunds are "pending" until
settle() (or .settle_after seconds, if set) and never exceed what was captured (for Klarna: captured, not
authorized); the same Idempotency-Key with the same body answers as before. Webhooks come in both kinds:
the classic form post of the payment id (classic_webhook) and next-gen JSON events with the refund in
them, signed with the webhook's secret (signed_event).
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


@dataclass
class MolliePayment:
    id: str
    amount: Money
    method: str
    captured: Money
    refunds: list[dict[str, Any]] = field(default_factory=list)

    def refunded(self) -> int:
        return sum(Money.parse(r["amount"]["value"], r["amount"]["currency"]).minor for r in self.refunds
                   if r["status"] not in ("failed", "canceled"))


class FakeMollie(FakeApp):
    def __init__(self, api_key: str, webhook_secret: str = "") -> None:
        super().__init__()
        self.api_key, self.webhook_secret = api_key, webhook_secret
        self.payments: dict[str, MolliePayment] = {}
        self.idempotency: dict[str, tuple[str, Response]] = {}
        self.refund_calls = 0
        self.settle_after: float | None = None  # seconds until a pending refund is refunded by itself
        self._pending_since: dict[str, float] = {}

    def add_payment(self, payment_id: str, amount: Money, method: str = "creditcard",
                    captured: Money | None = None) -> None:
        self.payments[payment_id] = MolliePayment(payment_id, amount, method,
                                                  amount if captured is None else captured)

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

    def handle(self, request: Request) -> Response:
        self._settle_due()
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return error(401, "Missing authentication, or failed to authenticate")
        match = re.fullmatch(r"/v2/payments/(tr_\w+)(/refunds)?", request.path)
        payment = self.payments.get(match.group(1)) if match else None
        if payment is None:
            return error(404, "No payment exists with token")
        if request.method == "GET" and not match.group(2):  # type: ignore[union-attr]
            return json_response(self._payment(payment))
        if request.method == "GET":
            return json_response({"count": len(payment.refunds), "_embedded": {"refunds": payment.refunds}})
        return self._refund(payment, request)

    def _refund(self, payment: MolliePayment, request: Request) -> Response:
        self.refund_calls += 1
        key, body = request.headers.get("Idempotency-Key", ""), request.get_data(as_text=True)
        if key in self.idempotency:
            seen, answer = self.idempotency[key]
            return answer if seen == body else error(409, "The idempotency key was used for another request")
        data = json.loads(body)
        amount = data.get("amount") or {}
        try:  # exactly the currency's digits, as a string: "10.00" for EUR, not "10" or 10
            money = Money.parse(amount["value"], amount["currency"])
            if money.decimal_string() != amount["value"]:
                raise MoneyError("not the currency's decimals")
        except (MoneyError, KeyError):
            return error(422, "The amount contains an invalid value", field="amount")
        if payment.captured.minor == 0:
            return error(422, "The payment has not been captured, so it cannot be refunded", field="amount")
        if money.currency != payment.amount.currency or money.minor > payment.captured.minor - payment.refunded():
            return error(422, "The amount is higher than the amount that is refundable for this payment",
                         field="amount")
        refund = {"resource": "refund", "id": f"re_{secrets.token_hex(5)}", "amount": amount, "status": "pending",
                  "description": data.get("description", ""), "metadata": data.get("metadata"),
                  "paymentId": payment.id, "createdAt": "2026-11-22T12:00:00+00:00"}
        payment.refunds.append(refund)
        self._pending_since[refund["id"]] = time.monotonic()
        answer = json_response(refund, 201)
        if key:
            self.idempotency[key] = (body, answer)
        return answer

    @staticmethod
    def _payment(p: MolliePayment) -> dict[str, Any]:
        body: dict[str, Any] = {
            "resource": "payment", "id": p.id, "method": p.method,
            "status": "paid" if p.captured.minor else "authorized",
            "amount": {"currency": p.amount.currency, "value": p.amount.decimal_string()},
            "amountRefunded": {"currency": p.amount.currency,
                               "value": Money(p.refunded(), p.amount.currency).decimal_string()},
            "createdAt": "2026-11-20T10:00:00+00:00", "paidAt": "2026-11-20T10:00:00+00:00"}
        if p.method.startswith("klarna"):
            body["amountCaptured"] = {"currency": p.captured.currency, "value": p.captured.decimal_string()}
        return body


def error(status: int, detail: str, **extra: Any) -> Response:
    return json_response({"status": status, "title": "Error", "detail": detail, **extra}, status,
                         "application/hal+json")
