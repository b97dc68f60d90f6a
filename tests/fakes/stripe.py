"""A stateful fake of the Stripe refunds API (form-encoded, Stripe-Account for connected accounts).

Refunds never exceed the charge's captured amount (amount_too_large / charge_already_refunded), card
refunds succeed at once (or stay "pending" for payment intents listed in .slow, until .settle_after
seconds have passed, if set), the same Idempotency-Key with the same parameters answers as before, more
than .per_second requests in a second get 429 rate_limit, and signed webhooks are made like Stripe's.
.fail(refund id) makes a refund that succeeded fail later, as a card refund can.
Like Stripe, every object lives in one mode: a key sees only the objects of its own mode (sk_test_... test,
others live); .requests logs (method, path, mode).
Time: .timing (tests/fakes/timing.py) gives every call a latency and hangs calls by kind ("refund": creating
one, "read": everything else).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from werkzeug.wrappers import Request, Response

from tests.fakes.common import FakeApp, json_response


@dataclass
class StripePayment:
    id: str
    amount: int
    currency: str
    account: str = ""  # "" for the platform itself
    mode: str = "test"
    refunds: list[dict[str, Any]] = field(default_factory=list)
    transfer_reversed: int = 0
    fee_refunded: bool = False

    def refunded(self) -> int:
        return sum(r["amount"] for r in self.refunds if r["status"] in ("succeeded", "pending"))


class FakeStripe(FakeApp):
    def __init__(self, api_key: str, webhook_secret: str, *, per_second: int = 25, clock: Any = time.monotonic,
                 other_keys: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.per_second, self.clock = per_second, clock
        self.recent: list[float] = []
        self.throttled = 0
        self.api_key, self.webhook_secret = api_key, webhook_secret
        self.keys = {key: key_mode(key) for key in (api_key, *other_keys)}
        self.requests: list[tuple[str, str, str]] = []
        self._mode = ""
        self.payments: dict[str, StripePayment] = {}
        self.idempotency: dict[str, tuple[str, Response]] = {}
        self.slow: set[str] = set()
        self.settle_after: float | None = None  # seconds until a slow refund succeeds by itself
        self._pending_since: dict[str, float] = {}
        self.refund_calls = 0

    def add_payment(self, payment_id: str, amount: int, currency: str = "nok", account: str = "",
                    mode: str = "") -> None:
        self.payments[payment_id] = StripePayment(payment_id, amount, currency, account,
                                                  mode or key_mode(self.api_key))

    def signed_event(self, kind: str, obj: dict[str, Any], account: str = "", *, at: float | None = None,
                     secret: str | None = None) -> tuple[bytes, dict[str, str]]:
        """An event as Stripe posts it, signed at `at` (Unix seconds, default now) with the endpoint's secret."""
        body = json.dumps({"id": f"evt_{secrets.token_hex(6)}", "object": "event", "type": kind,
                           "data": {"object": obj}, **({"account": account} if account else {})}).encode()
        timestamp = int(time.time() if at is None else at)
        key = (self.webhook_secret if secret is None else secret).encode()
        mac = hmac.new(key, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
        return body, {"Stripe-Signature": f"t={timestamp},v1={mac}", "Content-Type": "application/json"}

    def fail(self, refund_id: str, reason: str = "expired_or_canceled_card") -> dict[str, Any]:
        refund = next(r for p in self.payments.values() for r in p.refunds if r["id"] == refund_id)
        refund.update(status="failed", failure_reason=reason)
        return refund

    def _settle_due(self) -> None:
        if self.settle_after is None:
            return
        due = [rid for rid, since in self._pending_since.items() if time.monotonic() - since >= self.settle_after]
        for payment in self.payments.values():
            for refund in payment.refunds:
                if refund["id"] in due and refund["status"] == "pending":
                    refund["status"] = "succeeded"
        for rid in due:
            del self._pending_since[rid]

    def handle(self, request: Request) -> Response:
        self._settle_due()
        mode = self.keys.get(request.headers.get("Authorization", "").removeprefix("Bearer "))
        if mode is None:
            return error(401, "authentication_error", "invalid_api_key", "Invalid API Key provided.")
        self._mode = mode  # of the calling key (requests are handled one at a time)
        self.requests.append((request.method, request.path, mode))
        now = self.clock()
        self.recent = [t for t in self.recent if now - t < 1.0] + [now]
        if len(self.recent) > self.per_second:
            self.throttled += 1
            return error(429, "rate_limit_error", "rate_limit", "Too many requests hit the API too quickly.")
        account = request.headers.get("Stripe-Account", "")
        if request.path == "/v1/refunds" and request.method == "POST":
            return self._refund(request, account)
        if request.path == "/v1/refunds":
            payment = self._payment(request.args.get("payment_intent") or request.args.get("charge", ""), account)
            if payment is None:
                return error(404, "invalid_request_error", "resource_missing", "No such payment.")
            return json_response({"object": "list", "url": "/v1/refunds", "has_more": False,
                                  "data": list(reversed(payment.refunds))})
        if request.path.startswith("/v1/payment_intents/"):
            payment = self._payment(request.path.rsplit("/", 1)[1], account)
            if payment is None:
                return error(404, "invalid_request_error", "resource_missing", "No such payment_intent.")
            return json_response({"id": payment.id, "object": "payment_intent", "amount": payment.amount,
                                  "amount_received": payment.amount, "currency": payment.currency,
                                  "created": 1763800000, "status": "succeeded"})
        return error(404, "invalid_request_error", "resource_missing", "Unrecognized request URL.")

    def _payment(self, payment_id: str, account: str) -> StripePayment | None:
        """Only the calling key's mode sees an object (Stripe: "a similar object exists in test mode")."""
        payment = self.payments.get(payment_id)
        return payment if payment is not None and payment.account == account and payment.mode == self._mode else None

    def _refund(self, request: Request, account: str) -> Response:
        self.refund_calls += 1
        body = request.get_data(as_text=True)
        key = request.headers.get("Idempotency-Key", "")
        if key in self.idempotency:
            seen, answer = self.idempotency[key]
            return answer if seen == body + account else error(
                400, "idempotency_error", "", "Keys for idempotent requests can only be used with the same "
                                               "parameters they were first used with.")
        params = {k: v[0] for k, v in parse_qs(body).items()}
        payment = self._payment(params.get("payment_intent") or params.get("charge", ""), account)
        if payment is None:
            answer = error(404, "invalid_request_error", "resource_missing", "No such payment.")
        elif payment.refunded() >= payment.amount:
            answer = error(400, "invalid_request_error", "charge_already_refunded", "Charge has already been refunded.")
        elif int(params.get("amount", payment.amount - payment.refunded())) > payment.amount - payment.refunded():
            answer = error(400, "invalid_request_error", "amount_too_large", "Refund amount is greater than "
                                                                                 "unrefunded amount on charge.")
        else:
            amount = int(params.get("amount", payment.amount - payment.refunded()))
            metadata = {k[len("metadata["):-1]: v for k, v in params.items() if k.startswith("metadata[")}
            refund = {"id": f"re_{secrets.token_hex(6)}", "object": "refund", "amount": amount,
                      "currency": payment.currency, "metadata": metadata, "payment_intent": payment.id,
                      "status": "pending" if payment.id in self.slow else "succeeded", "reason": params.get("reason")}
            payment.refunds.append(refund)
            if refund["status"] == "pending":
                self._pending_since[refund["id"]] = time.monotonic()
            if params.get("reverse_transfer") == "true":
                payment.transfer_reversed += amount
            payment.fee_refunded = payment.fee_refunded or params.get("refund_application_fee") == "true"
            answer = json_response(refund)
        if key:
            self.idempotency[key] = (body + account, answer)
        return answer


def key_mode(key: str) -> str:
    return "test" if key.startswith(("sk_test_", "rk_test_")) else "live"


def error(status: int, kind: str, code: str, message: str) -> Response:
    return json_response({"error": {"type": kind, "code": code, "message": message}}, status)
