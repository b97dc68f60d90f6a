"""Measure Refunder's guarantees in one run and print the figures (scripts/guarantees.sh).

Storms of concurrent refunds (many threads, repeated idempotency keys, timeouts, async and declined
refunds) on many payments, then reconcile, then compare the ledger with the provider to the øre. Then a
battery of attacks on the signed API and the webhooks, and signed fuzz requests, counting what got through.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from refunder import signing
from refunder.app import create_app
from refunder.config import Settings
from refunder.ledger.database import Database, migrate
from refunder.money import Money
from refunder.providers.simulator import SimulatorProvider
from refunder.providers.stripe_cards import StripeProvider, StripeSettings
from refunder.providers.vipps_client import VippsSettings
from refunder.providers.vipps_epayment import VippsEPaymentProvider
from refunder.providers.vipps_webhooks import authorization, content_hash
from refunder.rules import RefundStatus
from tests.conftest import SECRET, FakeClock, SignedClient
from tests.reliability.transport_attacks import TransportFigures, transport_attacks
from tests.sidecar.helpers import CountingProvider, refund_body, register

BEHAVIOURS = ["", "", "-async", "-timeout", "-decline"]


@dataclass
class Figures:
    payments: int = 0
    attempts: int = 0
    accepted: int = 0
    replayed: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    double_refunds: int = 0
    over_refunds: int = 0
    not_final_after_reconcile: int = 0
    ledger_provider_mismatches: int = 0
    attacks: Counter[str] = field(default_factory=Counter)
    attacks_rejected: Counter[str] = field(default_factory=Counter)
    fuzz_requests: int = 0
    fuzz_5xx: int = 0
    transport: TransportFigures = field(default_factory=TransportFigures)

    def print(self) -> None:
        rows = [
            ("payments stormed", self.payments),
            ("refund requests (16 threads per payment, keys repeated)", self.attempts),
            ("refunds accepted", self.accepted),
            ("idempotent replays answered with the first result", self.replayed),
            ("requests refused by the rules", dict(self.refused)),
            ("double refunds (two refunds for one key, or provider paid twice)", self.double_refunds),
            ("over-refunds (ledger or provider above captured)", self.over_refunds),
            ("refunds not final after reconcile", self.not_final_after_reconcile),
            ("payments where ledger and provider disagree", self.ledger_provider_mismatches),
        ]
        rows += [(f"attack: {kind} rejected", f"{self.attacks_rejected[kind]}/{n}") for kind, n in self.attacks.items()]
        rows += [("signed fuzz requests", self.fuzz_requests), ("5xx answers to them", self.fuzz_5xx)]
        rows += self.transport.rows()
        width = max(len(label) for label, _ in rows)
        for label, value in rows:
            print(f"{label:<{width}}  {value}")


def _refund(app: Any, clock: FakeClock, target: str, key_and_amount: tuple[str, int]) -> int:
    key, amount = key_and_amount
    return SignedClient(app.test_client(), clock).post(target, refund_body(amount),
                                                       headers={"Idempotency-Key": key}).status_code


def storm(runs: int, seed: int, directory: Path, figures: Figures) -> None:
    rng = random.Random(seed)
    clock = FakeClock(datetime.now(UTC))
    settings = Settings(shared_secret=SECRET, database_url=f"sqlite:///{directory / 'ledger.db'}",
                        providers=("simulator",), sections={"simulator": {"path": str(directory / "sim.db")}})
    migrate(Database.from_url(settings.database_url).engine)
    simulator = SimulatorProvider(directory / "sim.db", clock)
    counting = CountingProvider(simulator, delay=0.002)
    app = create_app(settings, clock=clock, providers={"simulator": counting})
    payments = []
    for run in range(runs):
        captured = rng.randrange(1000, 200000)
        reference = f"storm-{run:04d}{rng.choice(BEHAVIOURS)}"
        simulator.add_payment(reference, Money(captured, "NOK"), clock() - timedelta(days=1))
        payment = register(SignedClient(app.test_client(), clock), "simulator", reference, captured,
                           order_id=str(run))
        payments.append((payment, captured, reference))
        keys = [f"storm-{run}-{k}" for k in range(8)]
        amounts = {key: rng.randrange(1, captured // 3 + 2) for key in keys}
        picks = [rng.choice(keys) for _ in range(16)]  # drawn up front: the threads race, the draw does not
        target = f"/v1/payments/{payment['id']}/refunds"
        with ThreadPoolExecutor(16) as pool:
            codes = list(pool.map(partial(_refund, app, clock, target), [(key, amounts[key]) for key in picks]))
        figures.payments += 1
        figures.attempts += len(codes)
        figures.accepted += codes.count(201)
        figures.replayed += codes.count(200)
        figures.refused.update(str(c) for c in codes if c >= 400)
    clock.advance(minutes=5)
    app.extensions["refunder"].reconciler.reconcile()
    service = app.extensions["refunder"]
    for payment, captured, reference in payments:
        refunds = service.reads.list_refunds(payment_id=payment["id"])
        figures.not_final_after_reconcile += sum(r.status not in (RefundStatus.REFUNDED, RefundStatus.FAILED)
                                                 for r in refunds)
        ledger = sum(r.amount_minor for r in refunds if r.status == RefundStatus.REFUNDED)
        at_provider = simulator.list_refunds(reference, {})
        paid_out = sum(r.amount.minor for r in at_provider)
        figures.over_refunds += int(ledger > captured) + int(paid_out > captured)
        figures.ledger_provider_mismatches += int(ledger != paid_out and not reference.endswith("-decline"))
        figures.double_refunds += len(at_provider) - len({r.refund_id for r in at_provider})
    figures.double_refunds += sum(1 for n in counting.calls.values() if n > 1)  # provider called twice for a key


def attacks(directory: Path, figures: Figures) -> None:
    clock = FakeClock(datetime.now(UTC))
    vipps = VippsSettings(client_id="c", client_secret="s" * 8, subscription_key="k" * 8, msn="123456",
                          webhook_secret="vipps-webhook-secret")
    settings = Settings(shared_secret=SECRET, database_url=f"sqlite:///{directory / 'attacks.db'}",
                        providers=("manual",))
    migrate(Database.from_url(settings.database_url).engine)
    app = create_app(settings, clock=clock, providers={
        "vipps": VippsEPaymentProvider(vipps, clock),
        "stripe": StripeProvider(StripeSettings(api_key="sk_test_x", webhook_secret="whsec_x"), clock)})
    client = app.test_client()
    now = int(clock().timestamp())
    body = json.dumps({"provider": "manual", "reference": "attack-1", "order_id": "1",
                       "captured": {"value": 100, "currency": "NOK"}, "paid_at": clock().isoformat(),
                       "actor": {"id": "1", "name": "x"}}).encode()

    def send(kind: str, headers: dict[str, str], data: bytes = body, path: str = "/v1/payments") -> None:
        figures.attacks[kind] += 1
        status = client.post(path, data=data, headers={**headers, "Content-Type": "application/json"}).status_code
        figures.attacks_rejected[kind] += int(status == 401)

    for i in range(20):
        send("unsigned", {})
        send("forged (wrong secret)", signing.signed_headers("x" * 40, "POST", "/v1/payments", body, now))
        send("expired (6 minutes old)", signing.signed_headers(SECRET, "POST", "/v1/payments", body, now - 360))
        send("from the future", signing.signed_headers(SECRET, "POST", "/v1/payments", body, now + 360))
        good = signing.signed_headers(SECRET, "POST", "/v1/payments", body, now)
        send("tampered body", good, body.replace(b"100", b"999"))
        send("tampered path", good, path="/v1/refunds")
        client.post("/v1/payments", data=body, headers={**good, "Content-Type": "application/json"})
        send("replayed", good)
        date = "Sun, 22 Nov 2026 12:00:00 GMT"
        event = json.dumps({"name": "REFUNDED", "idempotencyKey": f"rf_{i}", "success": True}).encode()
        forged = authorization("guessed", "POST", "/webhooks/vipps", date, "localhost", event)
        figures.attacks["forged Vipps webhook"] += 1
        figures.attacks_rejected["forged Vipps webhook"] += int(client.post("/webhooks/vipps", data=event, headers={
            "x-ms-date": date, "x-ms-content-sha256": content_hash(event), "Authorization": forged}).status_code == 401)
        figures.attacks["forged Stripe webhook"] += 1
        figures.attacks_rejected["forged Stripe webhook"] += int(client.post("/webhooks/stripe", data=event, headers={
            "Stripe-Signature": f"t={now},v1={'0' * 64}"}).status_code == 401)


def fuzz(requests: int, seed: int, directory: Path, figures: Figures) -> None:
    rng = random.Random(seed)
    clock = FakeClock(datetime.now(UTC))
    settings = Settings(shared_secret=SECRET, database_url=f"sqlite:///{directory / 'fuzz.db'}",
                        providers=("manual",))
    migrate(Database.from_url(settings.database_url).engine)
    client = SignedClient(create_app(settings, clock=clock).test_client(), clock)
    paths = ["/v1/payments", "/v1/payments/pay_x", "/v1/payments/pay_x/refunds", "/v1/refunds?order_id=1",
             "/v1/refunds/rf_x", "/v1/refunds/rf_x/refresh", "/v1/ping", "/v1/payments/%00/events"]
    values: list[Any] = [None, 0, -1, 10**30, 1.5, "", "x" * 300, [], {}, True, "NOK", {"value": 1}]
    for _ in range(requests):
        body = {rng.choice(["amount", "reason", "actor", "provider", "captured", "paid_at", "lines", "x"]):
                rng.choice(values) for _ in range(rng.randrange(0, 6))}
        response = client.request(rng.choice(["GET", "POST", "PUT", "DELETE"]), rng.choice(paths), body,
                                  headers={"Idempotency-Key": rng.choice(["", "k", "fuzz-key-0001", "x" * 300])})
        figures.fuzz_requests += 1
        figures.fuzz_5xx += int(response.status_code >= 500)


def measure(runs: int = 30, fuzz_requests: int = 400, seed: int = 7, transport_rounds: int = 20) -> Figures:
    figures = Figures()
    with tempfile.TemporaryDirectory(prefix="refunder-guarantees-") as tmp:
        directory = Path(tmp)
        storm(runs, seed, directory, figures)
        attacks(directory, figures)
        fuzz(fuzz_requests, seed, directory, figures)
        transport_attacks(directory, figures.transport, transport_rounds)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--fuzz", type=int, default=400)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    import logging

    logging.disable(logging.WARNING)
    measure(args.runs, args.fuzz, args.seed).print()
    print_status_guarantees()


def print_status_guarantees() -> None:
    """Issue 12's status part, on every ledger at hand (tests/reliability/guarantees_status.py)."""
    import logging

    from tests.reliability import guarantees_status

    print()
    logging.disable(logging.CRITICAL)  # an outage is measured: its 503s are logged as errors
    with tempfile.TemporaryDirectory(prefix="refunder-guarantees-status-") as tmp:
        guarantees_status.measure(Path(tmp), guarantees_status.backends()).print()


if __name__ == "__main__":
    main()
