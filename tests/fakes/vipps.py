"""A stateful fake of Vipps MobilePay (ePayment API and legacy eCom v2), following the documented behaviour.

Every request is validated against the official spec first (epayment.v1.yml or ecom.v2.swagger.yaml): a
malformed request gets a 400 "spec_violation" and is recorded in .violations, so tests fail on it. Then:
- POST /accesstoken/get issues tokens (numbers as strings); other calls need a token it issued;
- refunds move money only from captured - refunded: 6150 beyond that, 6180 when nothing is left,
  6220 after 365 days, 404/5090 for unknown references;
- the same Idempotency-Key with the same body answers as before; with another body 409;
- at most 5 modifications a minute per payment, then 429;
- a payment's event log (GET .../events) starts with CREATED, AUTHORIZED and CAPTURED at its creation
  time, the start of its refund window; every refund attempt adds a REFUNDED event (success true or
  false) and a webhook signed like the real ones.
eCom v2 refunds the same payments (eCom runs on ePayment): X-Request-Id is its idempotency key, its
transaction log is the same event log (INITIATE, RESERVE, CAPTURE, REFUND), and its errors are arrays with
codes 71 (more than captured), 95 (365 days), 94 (order locked).
Faults for tests: .faults is a list of "lock" (one 409/6160 answer), "error500", "lose_answer" (apply
the refund, then answer 504, as if the answer were lost), or "failed_attempt" (log a failed REFUNDED
event under the key, move no money, answer 500: the retry with the same key then succeeds).
Time: .timing (tests/fakes/timing.py) gives every call a latency and hangs calls by kind ("token", "refund",
"read"); .per_second (if set) answers 429 to refunds beyond that many in any second, merchant-wide.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from werkzeug.wrappers import Request, Response

from refunder.providers.vipps_webhooks import authorization, content_hash
from tests.fakes.common import FakeApp, json_response
from tests.providers import specs

SPEC = "epayment.v1.yml"
ECOM_OPERATIONS = {"CREATED": "INITIATE", "AUTHORIZED": "RESERVE", "CAPTURED": "CAPTURE", "REFUNDED": "REFUND"}
ECOM_SPEC = "ecom.v2.swagger.yaml"
SPEC_HOST = "https://apitest.vipps.no"


@dataclass
class FakePayment:
    reference: str
    captured: int
    created: datetime
    currency: str = "NOK"
    refunded: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)
    modifications: list[datetime] = field(default_factory=list)


class FakeVipps(FakeApp):
    def __init__(self, *, msn: str = "123456", client_id: str = "cid-public", client_secret: str = "",
                 subscription_key: str = "", webhook_secret: str = "", clock: Any = None,
                 per_second: int | None = None) -> None:
        super().__init__()
        self.per_second, self.throttled = per_second, 0
        self._recent: list[float] = []
        self.msn, self.client_id, self.client_secret = msn, client_id, client_secret
        self.subscription_key, self.webhook_secret = subscription_key, webhook_secret
        self.clock = clock or (lambda: datetime.now(UTC))
        self.payments: dict[str, FakePayment] = {}
        self.tokens: set[str] = set()
        self.idempotency: dict[str, tuple[str, int, dict[str, Any]]] = {}
        self.webhooks: list[dict[str, Any]] = []
        self.violations: list[str] = []
        self.faults: list[str] = []
        self.refund_calls = 0

    # --- set-up and inspection -------------------------------------------------------------------

    def add_payment(self, reference: str, captured: int, *, days_ago: float = 1) -> None:
        created = self.clock() - timedelta(days=days_ago)
        payment = FakePayment(reference, captured, created)
        for name, at in (("CREATED", created - timedelta(minutes=2)), ("AUTHORIZED", created),
                         ("CAPTURED", created + timedelta(minutes=1))):
            payment.events.append({"reference": reference, "pspReference": f"psp-{name.lower()}-{reference}",
                                   "name": name, "amount": {"currency": "NOK", "value": captured},
                                   "timestamp": at.isoformat(), "idempotencyKey": None, "success": True})
        self.payments[reference] = payment

    def signed_webhook(self, event: dict[str, Any], url: str, *, at: datetime | None = None,
                       date: str | None = None) -> tuple[bytes, dict[str, str]]:
        """The body and headers Vipps would send for event to url (sent now, at `at`, or dated `date`)."""
        from urllib.parse import urlsplit

        body = json.dumps(event).encode()
        date = date if date is not None else (at or self.clock()).strftime("%a, %d %b %Y %H:%M:%S GMT")
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        return body, {"x-ms-date": date, "x-ms-content-sha256": content_hash(body), "Content-Type": "application/json",
                      "Authorization": authorization(self.webhook_secret, "POST", path, date, parts.netloc, body)}

    # --- WSGI ------------------------------------------------------------------------------------

    def kind(self, request: Request) -> str:
        return "token" if request.path == "/accesstoken/get" else super().kind(request)

    def handle(self, request: Request) -> Response:
        body = request.get_data()
        if request.path == "/accesstoken/get":
            return self._token(request)
        prepared = requests.Request(request.method, SPEC_HOST + request.full_path.rstrip("?"),
                                    headers=dict(request.headers), data=body).prepare()
        ecom = request.path.startswith("/ecomm/")
        try:
            specs.validate(ECOM_SPEC if ecom else SPEC, prepared)
        except Exception as exc:  # the request breaks the official spec
            self.violations.append(f"{request.method} {request.path}: {exc}")
            return problem(400, "spec_violation", str(exc))
        if request.headers.get("Authorization", "").removeprefix("Bearer ") not in self.tokens:
            return problem(401, "", "Unauthorized")
        if ecom:
            return self._ecom(request, body)
        parts = request.path.split("/")  # ['', 'epayment', 'v1', 'payments', ref, tail?]
        payment = self.payments.get(parts[4]) if len(parts) > 4 else None
        if payment is None:
            return problem(404, "5090", "Payment not found")
        tail = parts[5] if len(parts) > 5 else ""
        if request.method == "GET" and tail == "":
            return json_response(self._payment_json(payment))
        if request.method == "GET" and tail == "events":
            return json_response(payment.events)
        if request.method == "POST" and tail == "refund":
            return self._refund(payment, request.headers["Idempotency-Key"], body)
        return problem(404, "", "Not found")

    def _ecom(self, request: Request, body: bytes) -> Response:
        parts = request.path.split("/")  # ['', 'ecomm', 'v2', 'payments', orderId, 'refund'|'details']
        payment = self.payments.get(parts[4])
        if payment is None:
            return ecom_error(404, "101", "Order not found")
        if parts[5] == "details":
            return json_response({"orderId": payment.reference, "transactionSummary": self._ecom_summary(payment),
                       "transactionLogHistory": [
                           {"amount": e["amount"]["value"], "operation": ECOM_OPERATIONS[e["name"]],
                            "operationSuccess": e["success"], "timeStamp": e["timestamp"],
                            "transactionId": e["pspReference"], "transactionText": e["name"].lower(),
                            **({"requestId": e["idempotencyKey"]} if e["idempotencyKey"] else {})}
                           for e in reversed(payment.events)]})
        self.refund_calls += 1
        key = request.headers["X-Request-Id"]
        fingerprint = f"ecom|{payment.reference}|{body.decode()}"
        if key in self.idempotency:
            seen, status, answer = self.idempotency[key]
            return json_response(answer, status) if seen == fingerprint \
                else ecom_error(400, "35", "Duplicate X-Request-Id")
        if self.faults and self.faults[0] == "lock":
            self.faults.pop(0)
            return ecom_error(402, "94", "Order locked and is already processing")
        amount = json.loads(body)["transaction"]["amount"]
        status, problem_answer = self._apply(payment, key, int(amount), "NOK", self.clock())
        if status != 200:
            code = {"6220": "95", "6180": "71", "6150": "71"}[problem_answer["extraDetails"][0]["reason"]]
            return ecom_error(402, code, problem_answer["title"])
        answer = {"orderId": payment.reference, "transactionSummary": self._ecom_summary(payment),
                  "transaction": {"amount": amount, "status": "Refund", "timeStamp": self.clock().isoformat(),
                                  "transactionId": payment.events[-1]["pspReference"], "transactionText": "refund"}}
        self.idempotency[key] = (fingerprint, 200, answer)
        return json_response(answer)

    @staticmethod
    def _ecom_summary(p: FakePayment) -> dict[str, int]:
        return {"capturedAmount": p.captured, "refundedAmount": p.refunded, "remainingAmountToCapture": 0,
                "remainingAmountToRefund": p.captured - p.refunded}

    def _token(self, request: Request) -> Response:
        h = request.headers
        if (h.get("client_id"), h.get("client_secret"), h.get("Ocp-Apim-Subscription-Key"),
                h.get("Merchant-Serial-Number")) != (self.client_id, self.client_secret, self.subscription_key,
                                                     self.msn):
            return json_response({"error": "unauthorized_client"}, 401)
        token = secrets.token_urlsafe(24)
        self.tokens.add(token)
        return json_response({"token_type": "Bearer", "expires_in": "3599", "ext_expires_in": "3599", "expires_on": "0",
                   "not_before": "0", "resource": "fake", "access_token": token})

    def _refund(self, payment: FakePayment, key: str, body: bytes) -> Response:
        self.refund_calls += 1
        if self.per_second is not None:
            now_s = time.monotonic()
            self._recent = [t for t in self._recent if now_s - t < 1.0] + [now_s]
            if len(self._recent) > self.per_second:
                self.throttled += 1
                return problem(429, "", "Too many requests")
        fingerprint = f"{payment.reference}|{body.decode()}"
        if key in self.idempotency:
            seen, status, answer = self.idempotency[key]
            return json_response(answer, status) if seen == fingerprint \
                else problem(409, "4020", "Idempotency-Key already used for another request")
        fault = self.faults.pop(0) if self.faults else ""
        if fault == "lock":
            return problem(409, "6160", "Payment is locked by another modification")
        if fault == "error500":
            return problem(500, "3010", "Internal error")
        now = self.clock()
        if fault == "failed_attempt":
            amount = json.loads(body)["modificationAmount"]
            self._log_refund(payment, key, amount["value"], amount["currency"], now, success=False)
            return problem(500, "3010", "Internal error")
        payment.modifications = [t for t in payment.modifications if now - t < timedelta(minutes=1)]
        if len(payment.modifications) >= 5:
            return problem(429, "", "Too many requests")
        amount = json.loads(body)["modificationAmount"]
        status, answer = self._apply(payment, key, int(amount["value"]), amount["currency"], now)
        if status == 200:
            payment.modifications.append(now)
        self.idempotency[key] = (fingerprint, status, answer)
        if fault == "lose_answer":
            return problem(504, "", "Gateway timeout")
        return json_response(answer, status)

    def _apply(self, payment: FakePayment, key: str, value: int, currency: str,
               now: datetime) -> tuple[int, dict[str, Any]]:
        if now - payment.created > timedelta(days=365):
            return 400, problem_body(400, "6220", "Refund period expired")
        if payment.refunded >= payment.captured:
            return 400, problem_body(400, "6180", "Payment already fully refunded")
        if currency != payment.currency or value > payment.captured - payment.refunded:
            return 400, problem_body(400, "6150", "Refund amount too high")
        payment.refunded += value
        psp = self._log_refund(payment, key, value, currency, now, success=True)
        answer = {**self._payment_json(payment), "amount": {"currency": currency, "value": value}, "pspReference": psp}
        return 200, {k: answer[k] for k in ("amount", "state", "aggregate", "pspReference", "reference")}

    def _log_refund(self, payment: FakePayment, key: str, value: int, currency: str, now: datetime, *,
                    success: bool) -> str:
        """A REFUNDED event in the payment's log, and the webhook Vipps sends for it."""
        psp = f"psp-{secrets.token_hex(4)}"
        event = {"reference": payment.reference, "pspReference": psp, "name": "REFUNDED",
                 "amount": {"currency": currency, "value": value}, "timestamp": now.isoformat(),
                 "idempotencyKey": key, "success": success}
        payment.events.append(event)
        self.webhooks.append({"msn": self.msn, **event})
        return psp

    def _payment_json(self, p: FakePayment) -> dict[str, Any]:
        def money(v: int) -> dict[str, Any]:
            return {"currency": p.currency, "value": v}

        return {"reference": p.reference, "pspReference": f"psp-{p.reference}", "state": "AUTHORIZED",
                "amount": money(p.captured), "paymentMethod": {"type": "WALLET"}, "profile": {},
                "aggregate": {"authorizedAmount": money(p.captured), "cancelledAmount": money(0),
                              "capturedAmount": money(p.captured), "refundedAmount": money(p.refunded)}}


def problem_body(status: int, code: str, title: str) -> dict[str, Any]:
    body: dict[str, Any] = {"type": f"https://httpstatuses.io/{status}", "title": title, "status": status,
                            "detail": title, "traceId": secrets.token_hex(8)}
    if code:
        body["extraDetails"] = [{"name": "ErrorCode", "reason": code}]
    return body


def problem(status: int, code: str, title: str) -> Response:
    return json_response(problem_body(status, code, title), status, "application/problem+json")


def ecom_error(status: int, code: str, message: str) -> Response:
    return json_response([{"errorGroup": "Payment", "errorCode": code, "errorMessage": message}], status)
