"""The transport and input attacks of issue 12, on each ledger, counted for scripts/guarantees.sh.

In process (Flask test client): a swapped Idempotency-Key followed by the plugin's retry, a v1 signature
on a refund, a swapped Content-Type, repeated Idempotency-Key headers, and every bad input (control
characters, %00 in ids and queries, deep nesting, huge integers, lone surrogates, signed webhook bodies
that are no event, news about an unknown Stripe charge). On the wire, against a real `refunder serve`:
a chunked body signed over its first 64 KiB with garbage after, an oversized chunked body, broken chunked
framing, and requests over gunicorn's limits. Slow clients need nginx: tests/deploy/test_nginx.py.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import responses

from refunder import signing
from refunder.app import create_app
from refunder.config import Settings
from refunder.ledger.database import Database, migrate
from refunder.providers.manual import ManualProvider
from refunder.providers.stripe_cards import StripeProvider, StripeSettings
from tests.conftest import BACKENDS, SECRET, FakeClock, SignedClient, fresh_database, signed
from tests.fakes.sidecar import chunked, raw_request, serving_sidecar
from tests.sidecar.helpers import ACTOR, refund_body

STRIPE_WEBHOOK_SECRET = "whsec_transport_attacks"
LIMIT = 64 * 1024
LEDGERS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


@dataclass
class TransportFigures:
    """Per attack and ledger: sent, answered as they should be, accepted when they should not, 5xx."""

    sent: Counter[tuple[str, str]] = field(default_factory=Counter)
    refused: Counter[tuple[str, str]] = field(default_factory=Counter)
    accepted: Counter[tuple[str, str]] = field(default_factory=Counter)
    server_errors: Counter[tuple[str, str]] = field(default_factory=Counter)
    doubled: int = 0  # payments refunded twice after a swapped key and the plugin's retry
    lost: int = 0  # retries with the reviewed key that did not make their refund

    def count(self, kind: str, ledger: str, status: int, expected: int, problem: bool = True) -> None:
        self.sent[kind, ledger] += 1
        self.refused[kind, ledger] += int(status == expected and problem)
        self.accepted[kind, ledger] += int(200 <= status < 300 and not 200 <= expected < 300)
        self.server_errors[kind, ledger] += int(status >= 500)

    def rows(self) -> list[tuple[str, Any]]:
        kinds = list(dict.fromkeys(kind for kind, _ in self.sent))
        ledgers = list(dict.fromkeys(ledger for _, ledger in self.sent))
        rows: list[tuple[str, Any]] = [
            (f"attack: {kind}", ", ".join(
                f"{self.refused[kind, ledger]}/{self.sent[kind, ledger]} {LEDGERS[ledger]}" for ledger in ledgers))
            for kind in kinds]
        return rows + [
            ("transport and input attacks accepted when they should not be", sum(self.accepted.values())),
            ("5xx answers to them", sum(self.server_errors.values())),
            ("payments refunded twice after a swapped Idempotency-Key", self.doubled),
            ("plugin retries with the reviewed key that made no refund", self.lost),
        ]

    def all_zero(self) -> bool:
        return (self.refused == self.sent and not sum(self.accepted.values())
                and not sum(self.server_errors.values()) and not self.doubled and not self.lost)


def transport_attacks(directory: Path, figures: TransportFigures, rounds: int = 20) -> None:
    """Every attack on each ledger (PostgreSQL where the test server is up, as in the tests)."""
    for ledger in BACKENDS:
        for name, attack in (("in-process", _in_process), ("wire", _on_the_wire)):
            place = directory / f"transport-{ledger}-{name}"
            place.mkdir(parents=True)
            with fresh_database(ledger, place) as url:
                attack(url, ledger, place, figures, rounds)


# --- in process --------------------------------------------------------------------------------------

def _in_process(url: str, ledger: str, _place: Path, figures: TransportFigures, rounds: int) -> None:
    migrate(Database.from_url(url).engine)
    clock = FakeClock(datetime.now(UTC))
    settings = Settings(shared_secret=SECRET, database_url=url, providers=("manual",))
    stripe = StripeProvider(StripeSettings(api_key="sk_test_transport", webhook_secret=STRIPE_WEBHOOK_SECRET), clock)
    app = create_app(settings, clock=clock, providers={"manual": ManualProvider(), "stripe": stripe})
    api = SignedClient(app.test_client(), clock)

    def register(reference: str) -> str:
        answer = api.post("/v1/payments", {"provider": "manual", "reference": reference, "order_id": reference,
                                           "captured": {"value": 10000, "currency": "NOK"},
                                           "paid_at": clock().isoformat(), "actor": ACTOR})
        assert answer.status_code == 200, answer.json
        return str(answer.json["id"])

    def post(target: str, data: bytes, headers: Any) -> Any:
        return api.client.post(target, data=data, headers=headers)

    for i in range(rounds):
        payment = register(f"transport-{i}")
        target = f"/v1/payments/{payment}/refunds"
        data = json.dumps(refund_body(5000, bank_reference=f"B{i}")).encode()
        key = f"reviewed-key-{i:04d}"
        good = signed(SECRET, "POST", target, data, clock(), {"Idempotency-Key": key})
        answer = post(target, data, {**good, "Idempotency-Key": f"attacker-key-{i:04d}"})
        figures.count("swapped Idempotency-Key refused (401)", ledger, answer.status_code, 401)
        retry = api.post(target, refund_body(5000, bank_reference=f"B{i}"), headers={"Idempotency-Key": key})
        figures.lost += int(retry.status_code != 201)
        again = api.post(target, refund_body(5000, bank_reference=f"B{i}"), headers={"Idempotency-Key": key})
        refunds = api.get(target).json["refunds"]
        figures.doubled += int(len(refunds) > 1 or again.status_code != 200)

        ct = signed(SECRET, "POST", target, data, clock(), {"Idempotency-Key": f"ct-key-{i:04d}"})
        answer = post(target, data, {**ct, "Content-Type": "text/plain"})
        figures.count("swapped Content-Type refused (401)", ledger, answer.status_code, 401)
        answer = post(target, data, _v1_headers(target, data, clock(), f"v1-key-{i:04d}"))
        figures.count("v1 signature on a refund refused (401)", ledger, answer.status_code, 401)
        dup = signed(SECRET, "POST", target, data, clock(), {"Idempotency-Key": f"dup-a-{i:04d},dup-b-{i:04d}"})
        headers = [(k, v) for k, v in dup.items() if k != "Idempotency-Key"]
        headers += [("Idempotency-Key", f"dup-a-{i:04d}"), ("Idempotency-Key", f"dup-b-{i:04d}")]
        answer = post(target, data, headers)
        figures.count("repeated Idempotency-Key headers refused (400)", ledger, answer.status_code, 400)

    payment = register("transport-bad-input")
    for kind, method, target, body, expected in _bad_inputs(payment):
        answer = api.request(method, target, raw=body, headers={"Idempotency-Key": "bad-input-key-1"})
        figures.count(kind, ledger, answer.status_code, expected, answer.content_type == "application/problem+json")
    for kind, body, expected in _bad_webhooks():
        with responses.RequestsMock(assert_all_requests_are_fired=False) as stripe_api:
            stripe_api.add(responses.GET, "https://api.stripe.com/v1/refunds", status=404, json={"error": {
                "type": "invalid_request_error", "code": "resource_missing", "message": "No such charge"}})
            answer = app.test_client().post("/webhooks/stripe", data=body, headers=_stripe_signature(body))
        problem = expected == 200 or answer.content_type == "application/problem+json"
        figures.count(kind, ledger, answer.status_code, expected, problem)
    refunded = api.get(f"/v1/payments/{payment}/refunds").json["refunds"]
    figures.accepted["bad input", ledger] += len(refunded)  # none of them may have made a refund


def _v1_headers(target: str, data: bytes, now: datetime, key: str) -> dict[str, str]:
    timestamp, nonce = str(int(now.timestamp())), signing.secrets.token_urlsafe(18)
    return {"Content-Type": "application/json", "Idempotency-Key": key, signing.TIMESTAMP_HEADER: timestamp,
            signing.NONCE_HEADER: nonce,
            signing.SIGNATURE_HEADER: signing.sign_legacy(SECRET, "POST", target, timestamp, nonce, data)}


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


def _bad_inputs(payment: str) -> Iterator[tuple[str, str, str, bytes, int]]:
    refunds = f"/v1/payments/{payment}/refunds"
    control = "control characters in text fields refused (422)"
    yield control, "POST", refunds, _json(refund_body(100, reason="x\x00", bank_reference="B")), 422
    yield control, "POST", refunds, _json({**refund_body(100, bank_reference="B"), "actor": {"id": "1\x00",
                                                                                             "name": "x"}}), 422
    yield control, "POST", refunds, _json({**refund_body(100, bank_reference="B"), "actor": {"id": "1",
                                                                                             "name": "x\x1b"}}), 422
    yield control, "POST", refunds, _json(refund_body(100, bank_reference="B\x00")), 422
    yield control, "POST", "/v1/payments", _json({"provider": "manual", "reference": "r\x00", "order_id": "1",
                                                  "captured": {"value": 1, "currency": "NOK"},
                                                  "paid_at": "2026-11-20T10:00:00+00:00", "actor": ACTOR}), 422
    ids = "%00 in ids and queries refused (422)"
    for method, target in (("GET", "/v1/payments/p%00"), ("POST", "/v1/payments/p%00/refunds"),
                           ("GET", "/v1/payments/p%00/events"), ("GET", "/v1/refunds/r%00"),
                           ("POST", "/v1/refunds/r%00/refresh"), ("GET", "/v1/bulk-refunds/b%00"),
                           ("GET", "/v1/refunds?order_id=%00"), ("GET", "/v1/refunds?order_id=1&%00=1")):
        yield ids, method, target, _json(refund_body(100, bank_reference="B")) if method == "POST" else b"", 422
    huge = b'{"amount":{"value":' + b"9" * 4301 + b',"currency":"NOK"}}'
    for kind, body in (("10,000-level JSON nesting refused (400)", b"[" * 10_000 + b"]" * 10_000),
                       ("integer of 4,301 digits refused (400)", huge),
                       ("lone surrogate refused (400)", b'{"reason":"\\ud800","amount":{"value":1,"currency":"NOK"}}')):
        for target in (refunds, "/v1/payments", "/v1/bulk-refunds/plan"):
            yield kind, "POST", target, body, 400


def _bad_webhooks() -> Iterator[tuple[str, bytes, int]]:
    kind = "signed webhook bodies that are no event refused (400)"
    for body in (b"[]", b"null", _json({"type": "refund.updated"}),
                 _json({"type": "refund.updated", "data": {"object": {"status": "succeeded"}}})):
        yield kind, body, 400
    yield ("Stripe charge.refunded, unknown charge: 200 (no retries)",
           _json({"type": "charge.refunded", "data": {"object": {"object": "charge", "id": "ch_unknown"}}}), 200)


def _stripe_signature(body: bytes) -> dict[str, str]:
    timestamp = int(time.time())
    mac = hmac.new(STRIPE_WEBHOOK_SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {"Stripe-Signature": f"t={timestamp},v1={mac}", "Content-Type": "application/json"}


# --- on the wire, against gunicorn ---------------------------------------------------------------------

def _on_the_wire(url: str, ledger: str, place: Path, figures: TransportFigures, rounds: int) -> None:
    settings = {"REFUNDER_SHARED_SECRET": SECRET, "REFUNDER_DATABASE_URL": url, "REFUNDER_PROVIDERS": "manual"}
    with serving_sidecar(settings, place / "sidecar.log") as (base, _):
        call = _caller(base)
        payment = call("POST", "/v1/payments", {"provider": "manual", "reference": "wire-1", "order_id": "1",
                                                "captured": {"value": 10**6, "currency": "NOK"},
                                                "paid_at": datetime.now(UTC).isoformat(), "actor": ACTOR}, {})
        target = f"/v1/payments/{payment['id']}/refunds"
        for i in range(rounds):
            prefix = _json(refund_body(100, bank_reference=f"W{i}"))
            prefix += b" " * (LIMIT - len(prefix))
            headers = signed(SECRET, "POST", target, prefix, datetime.now(UTC), {"Idempotency-Key": f"wire-{i:04d}"})
            answer = raw_request(base, chunked("POST", target, headers, prefix + b"\n" + b"x" * 1600))
            _count_raw(figures, "chunked, signed first 64 KiB + garbage refused (413)", ledger, answer, 413)
            answer = raw_request(base, chunked("POST", target, {}, b"{" + b" " * LIMIT + b"}"))
            _count_raw(figures, "chunked over the limit, unsigned refused (413)", ledger, answer, 413)
            answer = raw_request(base, b"POST /webhooks/stripe HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked"
                                       b"\r\n\r\nzz\r\nabc\r\n0\r\n\r\n")
            _count_raw(figures, "broken chunked framing refused (400)", ledger, answer, 400)
            answer = raw_request(base, b"GET /v1/ping?" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
            _count_raw(figures, "over gunicorn's line/header limits refused (414/431)", ledger, answer, 414)
            answer = raw_request(base, b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"v" * 9000 + b"\r\n\r\n")
            _count_raw(figures, "over gunicorn's line/header limits refused (414/431)", ledger, answer, 431)
        figures.accepted["on the wire", ledger] += len(call("GET", target, None, {})["refunds"])


def _count_raw(figures: TransportFigures, kind: str, ledger: str, answer: Any, expected: int) -> None:
    figures.count(kind, ledger, answer.status, expected,
                  answer.headers.get("content-type") == "application/problem+json")


def _caller(base: str) -> Callable[[str, str, Any, dict[str, str]], Any]:
    import requests

    def call(method: str, target: str, body: Any, headers: dict[str, str]) -> Any:
        data = _json(body) if body is not None else b""
        answer = requests.request(method, base + target, data=data, timeout=30,
                                  headers=signed(SECRET, method, target, data, datetime.now(UTC), headers))
        answer.raise_for_status()
        return answer.json()

    return call
