"""Guarantees of issue 12's status part, measured on each ledger (scripts/guarantees.sh prints them).

- Demotion: paid refunds hit by signed success:false events, failed attempts logged before the success,
  and Stripe refund.failed news while Stripe still has the refund succeeded.
- Freshness: Vipps and Stripe webhooks signed too long ago, dated ahead, or not dated at all.
- Bad paid_at: registrations with impossible payment times, and every call after them.
- Ledger outage during refunds: SQLite, a writer stuck in another process; PostgreSQL, a private server
  stopped and started. Every answer true, nothing lost or doubled, recovery without an operator.
- Crash recovery: processes killed before and after the provider's call; one reconcile pass settles them
  all, and with `refunder serve` running they are settled without anyone.
Every figure named "... (must be 0)" is a failure when it is not zero.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from refunder.app import create_app
from refunder.config import Settings
from refunder.ledger import database
from refunder.ledger.database import Database, migrate
from refunder.ledger.models import Payment
from refunder.money import Money
from refunder.providers.http import RetryPolicy, Transport
from refunder.providers.simulator import SimulatorProvider
from refunder.providers.stripe_cards import StripeProvider, StripeSettings
from refunder.providers.vipps_epayment import VippsEPaymentProvider
from refunder.rules import RefundStatus
from refunder.service import RefundService
from tests.conftest import SECRET, FakeClock, SignedClient, fresh_database
from tests.fakes.server import serving
from tests.fakes.sidecar import serving_sidecar
from tests.fakes.stripe import FakeStripe
from tests.fakes.vipps import FakeVipps
from tests.providers.conftest import FAST, SECRETS, VIPPS
from tests.reliability.live import call, crash_during_refund, postgres_bin, private_postgres, stuck_writer
from tests.sidecar.helpers import ACTOR, CountingProvider, refund_body, register

MUST_BE_ZERO = " (must be 0)"


@dataclass
class StatusFigures:
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)  # label -> ledger -> value

    def add(self, ledger: str, label: str, value: Any) -> None:
        self.rows.setdefault(label, {})[ledger] = value

    def failures(self) -> dict[str, dict[str, Any]]:
        return {label: {k: v for k, v in by.items() if v} for label, by in self.rows.items()
                if label.endswith(MUST_BE_ZERO) and any(by.values())}

    def print(self) -> None:
        ledgers = sorted({ledger for by in self.rows.values() for ledger in by})
        width = max(len(label) for label in self.rows)
        print(f"{'':<{width}}  " + "  ".join(f"{ledger:<12}" for ledger in ledgers))
        for label, by in self.rows.items():
            print(f"{label:<{width}}  " + "  ".join(f"{str(by.get(ledger, '-')):<12}" for ledger in ledgers))


# --- demotion and freshness --------------------------------------------------------------------------

def _hook(app: Any, path: str, signed: tuple[bytes, dict[str, str]]) -> Any:
    body, headers = signed
    return app.test_client().post(path, data=body, headers=headers, base_url="https://shop.example")


def demotion_and_freshness(ledger: str, url: str, figures: StatusFigures, rounds: int) -> None:
    clock = FakeClock(datetime.now(UTC))
    vipps = FakeVipps(client_secret=VIPPS.client_secret, subscription_key=VIPPS.subscription_key,
                      webhook_secret=VIPPS.webhook_secret, clock=clock)
    stripe = FakeStripe(SECRETS[4], SECRETS[5])
    migrate(Database.from_url(url).engine)
    with serving(vipps) as vipps_url, serving(stripe) as stripe_url:
        quick = Transport(vipps_url, "Vipps MobilePay", policy=FAST, sleep=lambda s: None)
        once = Transport(vipps_url, "Vipps MobilePay", policy=RetryPolicy(attempts=1), sleep=lambda s: None)
        stripe_settings = StripeSettings(api_key=SECRETS[4], webhook_secret=SECRETS[5], api_base=stripe_url)
        settings = Settings(shared_secret=SECRET, database_url=url)
        app = create_app(settings, clock=clock, providers={
            "vipps": VippsEPaymentProvider(replace(VIPPS, base_url=vipps_url), clock, quick),
            "stripe": StripeProvider(stripe_settings, clock, policy=FAST, sleep=lambda s: None)})
        unanswered = create_app(settings, clock=clock, providers={
            "vipps": VippsEPaymentProvider(replace(VIPPS, base_url=vipps_url), clock, once)})
        api, api_once = SignedClient(app.test_client(), clock), SignedClient(unanswered.test_client(), clock)
        hook = "https://shop.example/webhooks/vipps"
        demoted = Counter[str]()
        stale = Counter[str]()
        for n in range(rounds):
            # a paid Vipps refund, then a signed success:false event under its key
            vipps.add_payment(f"g-demotion-{n:04d}", 100000)
            payment = register(api, "vipps", f"g-demotion-{n:04d}", 100000, order_id=f"dem-{n}")
            paid = api.post(f"/v1/payments/{payment['id']}/refunds", refund_body(100000),
                            headers={"Idempotency-Key": f"g-dem-key-{n:04d}"}).json
            _hook(app, "/webhooks/vipps", vipps.signed_webhook({**vipps.webhooks[-1], "success": False}, hook))
            demoted["success:false event"] += int(api.get(f"/v1/refunds/{paid['id']}").json["status"] != "refunded")
            # a failed attempt logged before the success, its webhook arriving last
            vipps.add_payment(f"g-attempts-{n:04d}", 100000)
            payment = register(api, "vipps", f"g-attempts-{n:04d}", 100000, order_id=f"att-{n}")
            vipps.faults = ["failed_attempt"]
            made = api.post(f"/v1/payments/{payment['id']}/refunds", refund_body(5000),
                            headers={"Idempotency-Key": f"g-att-key-{n:04d}"}).json
            failed_attempt = next(w for w in vipps.webhooks if w["idempotencyKey"] == made["id"] and not w["success"])
            _hook(app, "/webhooks/vipps", vipps.signed_webhook(failed_attempt, hook))
            demoted["failed attempt before the success"] += int(
                api.get(f"/v1/refunds/{made['id']}").json["status"] != "refunded")
            # Stripe: refund.failed news while Stripe has the refund succeeded
            stripe.add_payment(f"pi_gdem{n}", 100000)
            payment = register(api, "stripe", f"pi_gdem{n}", 100000, order_id=f"sdem-{n}")
            made = api.post(f"/v1/payments/{payment['id']}/refunds", refund_body(100000),
                            headers={"Idempotency-Key": f"g-sdem-key-{n:04d}"}).json
            news = {**stripe.payments[f"pi_gdem{n}"].refunds[0], "status": "failed", "failure_reason": "declined"}
            _hook(app, "/webhooks/stripe", stripe.signed_event("refund.failed", news, at=clock().timestamp()))
            demoted["Stripe refund.failed news"] += int(api.get(f"/v1/refunds/{made['id']}").json["status"]
                                                        != "refunded")
            # webhooks for a refund whose outcome is unknown, dated wrongly: refused, the refund unchanged
            vipps.add_payment(f"g-stale-{n:04d}", 100000)
            payment = register(api_once, "vipps", f"g-stale-{n:04d}", 100000, order_id=f"old-{n}")
            vipps.faults = ["lose_answer"]
            unknown = api_once.post(f"/v1/payments/{payment['id']}/refunds", refund_body(100),
                                    headers={"Idempotency-Key": f"g-old-key-{n:04d}"}).json
            event = vipps.webhooks[-1]
            for kind, shift in (("6 min old", -360), ("6 min ahead", 360), ("400 days old", -400 * 86400),
                                ("400 days ahead", 400 * 86400)):
                signed = vipps.signed_webhook(event, hook, at=clock() + timedelta(seconds=shift))
                stale[f"Vipps {kind}"] += int(_hook(unanswered, "/webhooks/vipps", signed).status_code != 401)
            undated = vipps.signed_webhook(event, hook, date="not a date")
            stale["Vipps x-ms-date not a date"] += int(_hook(unanswered, "/webhooks/vipps", undated).status_code != 401)
            stale["Vipps (refund moved anyway)"] += int(
                api_once.get(f"/v1/refunds/{unknown['id']}").json["status"] != "unknown")
            obj = {"id": f"re_gold{n}", "object": "refund", "status": "succeeded", "amount": 100, "currency": "nok",
                   "metadata": {"refunder_refund_id": unknown["id"]}}
            for kind, shift in (("5 min + 1 s old", -301), ("5 min + 1 s ahead", 301), ("a year ahead", 365 * 86400)):
                signed = stripe.signed_event("refund.updated", obj, at=clock().timestamp() + shift)
                stale[f"Stripe {kind}"] += int(_hook(app, "/webhooks/stripe", signed).status_code != 401)
    for kind, n in demoted.items():
        figures.add(ledger, f"demoted by {kind}, of {rounds}{MUST_BE_ZERO}", n)
    for kind, n in stale.items():
        figures.add(ledger, f"webhook accepted: {kind}, of {rounds}{MUST_BE_ZERO}", n)


# --- bad paid_at -------------------------------------------------------------------------------------

BAD_PAID_AT = ["9999-12-31T23:59:59+00:00", "9000-01-01T00:00:00+00:00", "1999-12-31T23:59:59+00:00",
               "0001-01-01T00:00:00+00:00", "2100-01-01T00:00:00+00:00"]


def bad_paid_at(ledger: str, url: str, directory: Path, figures: StatusFigures) -> None:
    clock = FakeClock(datetime.now(UTC))
    migrate(Database.from_url(url).engine)
    settings = Settings(shared_secret=SECRET, database_url=url, providers=("manual", "simulator"),
                        sections={"simulator": {"path": str(directory / f"paid-at-{ledger}.db")}})
    app = create_app(settings, clock=clock)
    api = SignedClient(app.test_client(), clock)
    app.extensions["refunder"].providers["simulator"].add_payment("g-paid", Money(5000, "NOK"), clock())
    accepted = errors = 0
    for n, paid_at in enumerate(BAD_PAID_AT):
        for provider, reference in (("manual", f"bank-{n}"), ("simulator", "g-paid")):
            answer = api.post("/v1/payments", {"provider": provider, "reference": reference, "order_id": "1",
                                               "captured": {"value": 5000, "currency": "NOK"}, "paid_at": paid_at,
                                               "actor": ACTOR})
            accepted += int(answer.status_code < 400)
            errors += int(answer.status_code >= 500)
    with Database.from_url(url).reading() as s:
        written = s.scalar(select(func.count()).select_from(Payment)) or 0
    later = [api.get("/v1/refunds?order_id=1"), api.post("/v1/payments", {
        "provider": "manual", "reference": "bank-0", "order_id": "1", "captured": {"value": 5000, "currency": "NOK"},
        "paid_at": clock().isoformat(), "actor": ACTOR})]
    figures.add(ledger, f"bad paid_at accepted, of {2 * len(BAD_PAID_AT)}{MUST_BE_ZERO}", accepted)
    figures.add(ledger, f"bad paid_at: payments written{MUST_BE_ZERO}", written)
    figures.add(ledger, f"bad paid_at: 5xx then or after{MUST_BE_ZERO}",
                errors + sum(r.status_code >= 500 for r in later))


# --- ledger outage during refunds ---------------------------------------------------------------------

@contextmanager
def _outage_ledger(ledger: str, directory: Path) -> Iterator[tuple[str, Callable[[], Any]]]:
    """A ledger and how to break it for a while: a stuck SQLite writer, or a PostgreSQL server stopped."""
    if ledger == "sqlite":
        url = f"sqlite:///{directory / 'outage.db'}"

        @contextmanager
        def fault() -> Iterator[None]:
            with stuck_writer(url):
                yield

        yield url, fault
        return
    with private_postgres() as server:

        @contextmanager
        def stopped() -> Iterator[None]:
            server.stop()
            try:
                yield
            finally:
                server.start()

        yield server.url, stopped


def ledger_outage(ledger: str, directory: Path, figures: StatusFigures, seconds: float = 3.0) -> None:
    if ledger == "postgresql" and postgres_bin() is None:
        return
    clock = FakeClock(datetime.now(UTC))
    simulator = SimulatorProvider(directory / f"outage-sim-{ledger}.db", clock)
    counting = CountingProvider(simulator)
    old_timeout = database.BUSY_TIMEOUT
    database.BUSY_TIMEOUT = 1.0  # a SQLite writer gives up after a second (30 in production)
    try:
        with _outage_ledger(ledger, directory) as (url, fault):
            migrate(Database.from_url(url).engine)
            app = create_app(Settings(shared_secret=SECRET, database_url=url), clock=clock,
                             providers={"simulator": counting})
            api = SignedClient(app.test_client(), clock)
            payments = []
            for n in range(8):
                simulator.add_payment(f"g-out-{n}", Money(10_000_000, "NOK"), clock() - timedelta(days=1))
                payments.append(register(api, "simulator", f"g-out-{n}", 10_000_000, order_id=f"out-{n}"))
            answers: list[tuple[str, str, int, dict[str, Any]]] = []
            stop, lock = threading.Event(), threading.Lock()

            def storm(worker: int) -> None:
                client, n = SignedClient(app.test_client(), clock), 0
                while not stop.is_set():
                    payment, key = payments[(worker + n) % len(payments)], f"g-out-{worker:02d}-{n:05d}"
                    n += 1
                    answer = client.post(f"/v1/payments/{payment['id']}/refunds", refund_body(100),
                                         headers={"Idempotency-Key": key})
                    with lock:
                        answers.append((payment["id"], key, answer.status_code, answer.json or {}))
                    if answer.status_code == 503:
                        time.sleep(0.1)

            threads = [threading.Thread(target=storm, args=(w,)) for w in range(6)]
            for thread in threads:
                thread.start()
            time.sleep(1)
            with fault():
                time.sleep(seconds)
            back = time.monotonic()
            time.sleep(1)
            stop.set()
            for thread in threads:
                thread.join(60)
            service: RefundService = app.extensions["refunder"]
            clock.advance(seconds=11)
            passes = 0
            while passes < 10 and _in_flight(service, payments):
                service.reconciler.follow_up()
                passes += 1
            recovered = time.monotonic() - back
            for payment_id, key, status, _ in answers:  # the plugin asks again where it was told to (503)
                if status == 503:
                    api.post(f"/v1/payments/{payment_id}/refunds", refund_body(100), headers={"Idempotency-Key": key})
            ledger_refunds = {r.id: r for p in payments for r in service.reads.list_refunds(payment_id=p["id"])}
            paid = [r for n in range(len(payments)) for r in simulator.list_refunds(f"g-out-{n}", {})]
    finally:
        database.BUSY_TIMEOUT = old_timeout
    statuses = Counter(status for *_, status, _ in answers)
    problems = Counter(body.get("code") for *_, status, body in answers if status >= 400)
    figures.add(ledger, "outage: refund requests during it", len(answers))
    figures.add(ledger, "outage: answered 503 ledger_unavailable", problems["ledger_unavailable"])
    figures.add(ledger, "outage: answered 503 outcome being checked", problems["refund_outcome_pending"])
    figures.add(ledger, f"outage: 5xx other than 503{MUST_BE_ZERO}",
                sum(n for status, n in statuses.items() if status >= 500 and status != 503))
    figures.add(ledger, f"outage: paid by the provider, not refunded in the ledger (lost){MUST_BE_ZERO}",
                sum(ledger_refunds[r.refund_id].status != RefundStatus.REFUNDED for r in paid if r.refund_id))
    figures.add(ledger, f"outage: paid twice (doubled){MUST_BE_ZERO}",
                sum(n > 1 for n in counting.calls.values()) + len(paid) - len({r.refund_id for r in paid}))
    figures.add(ledger, f"outage: refunded in the ledger, not paid{MUST_BE_ZERO}",
                sum(r.status == RefundStatus.REFUNDED for r in ledger_refunds.values()) - len(paid))
    figures.add(ledger, f"outage: still in flight after recovery{MUST_BE_ZERO}",
                sum(r.status not in (RefundStatus.REFUNDED, RefundStatus.FAILED) for r in ledger_refunds.values()))
    figures.add(ledger, "outage: follow-up passes to settle it", passes)
    figures.add(ledger, "outage: all final, seconds after it ended", f"{recovered:.1f}")


def _in_flight(service: RefundService, payments: list[dict[str, Any]]) -> int:
    return sum(r.status not in (RefundStatus.REFUNDED, RefundStatus.FAILED)
               for p in payments for r in service.reads.list_refunds(payment_id=p["id"]))


# --- crash recovery ----------------------------------------------------------------------------------

def crash_recovery(ledger: str, url: str, directory: Path, figures: StatusFigures, crashes: int) -> None:
    """Processes killed mid-refund (half before the provider's call, half after), then one reconcile pass."""
    clock = lambda: datetime.now(UTC)  # noqa: E731
    db = Database.from_url(url)
    migrate(db.engine)
    simulator = SimulatorProvider(directory / f"crash-sim-{ledger}.db", clock)
    service = RefundService(db, {"simulator": simulator}, clock)
    app_clock = FakeClock(clock())
    api = SignedClient(create_app(Settings(shared_secret=SECRET, database_url=url), clock=app_clock,
                                  providers={"simulator": simulator}).test_client(), app_clock)
    simulator.add_payment("g-crash", Money(10_000_000, "NOK"), clock() - timedelta(days=1))
    payment = register(api, "simulator", "g-crash", 10_000_000, order_id="crash")
    for n in range(crashes):
        crash_during_refund(url, simulator.path, payment["id"], "before" if n % 2 else "after", f"g-crash-{n:04d}",
                            1000 + n)
    held = service.reads.payment_view(payment["id"]).balance.in_flight.minor
    started = time.monotonic()
    report = service.reconciler.reconcile()
    took = time.monotonic() - started
    refunds = service.reads.list_refunds(payment_id=payment["id"])
    paid = simulator.list_refunds("g-crash", {})
    figures.add(ledger, "crash: refunds killed mid-way (half before the provider's call)", crashes)
    figures.add(ledger, "crash: amount held in flight before reconcile (øre)", held)
    figures.add(ledger, f"crash: not final after ONE reconcile pass{MUST_BE_ZERO}",
                sum(r.status not in (RefundStatus.REFUNDED, RefundStatus.FAILED) for r in refunds))
    figures.add(ledger, f"crash: paid twice{MUST_BE_ZERO}", len(paid) - len({r.refund_id for r in paid}))
    figures.add(ledger, f"crash: lost (provider paid, ledger not refunded){MUST_BE_ZERO}",
                sum(r.status != RefundStatus.REFUNDED for r in refunds if r.id in {p.refund_id for p in paid}))
    figures.add(ledger, "crash: the reconcile pass took (s)", f"{took:.2f}")
    figures.add(ledger, "crash: refunds read back by it", len(report.refreshed))
    db.dispose()


def crash_recovery_unattended(ledger: str, url: str, directory: Path, figures: StatusFigures, crashes: int) -> None:
    """The same crashes while `refunder serve` runs: its follow-up settles them, with no operator."""
    migrate(Database.from_url(url).engine)
    clock = lambda: datetime.now(UTC)  # noqa: E731
    simulator = SimulatorProvider(directory / f"serve-sim-{ledger}.db", clock)
    simulator.add_payment("g-serve", Money(10_000_000, "NOK"), clock() - timedelta(days=1))
    settings = {"REFUNDER_SHARED_SECRET": SECRET, "REFUNDER_DATABASE_URL": url, "REFUNDER_PROVIDERS": "simulator",
                "REFUNDER_SIMULATOR_PATH": str(simulator.path), "REFUNDER_FOLLOW_UP_EVERY": "1"}
    with serving_sidecar(settings, directory / f"serve-{ledger}.log") as (base, _):
        payment = call(base, "POST", "/v1/payments", {
            "provider": "simulator", "reference": "g-serve", "order_id": "serve", "actor": ACTOR,
            "captured": {"value": 10_000_000, "currency": "NOK"}, "paid_at": clock().isoformat()}).json()
        for n in range(crashes):
            crash_during_refund(url, simulator.path, payment["id"], "before" if n % 2 else "after",
                                f"g-serve-{n:04d}", 1000 + n)
        killed = time.monotonic()
        left = crashes
        while left and time.monotonic() - killed < 120:
            refunds = call(base, "GET", f"/v1/payments/{payment['id']}/refunds").json()["refunds"]
            left = sum(r["status"] not in ("refunded", "failed") for r in refunds)
            time.sleep(0.2)
        recovered = time.monotonic() - killed
    paid = simulator.list_refunds("g-serve", {})
    figures.add(ledger, f"crash, serve running: not final without an operator{MUST_BE_ZERO}", left)
    figures.add(ledger, f"crash, serve running: paid twice{MUST_BE_ZERO}", len(paid) - len({r.refund_id for r in paid}))
    figures.add(ledger, "crash, serve running: all final after (s, follow-up every 1 s)", f"{recovered:.1f}")


# --- all of it ----------------------------------------------------------------------------------------

def measure(directory: Path, backends: list[str], rounds: int = 5, crashes: int = 20) -> StatusFigures:
    figures = StatusFigures()
    for ledger in backends:
        parts: list[Callable[[str], None]] = [
            lambda url: demotion_and_freshness(ledger, url, figures, rounds),  # noqa: B023 - called at once
            lambda url: bad_paid_at(ledger, url, directory, figures),  # noqa: B023
            lambda url: crash_recovery(ledger, url, directory, figures, crashes),  # noqa: B023
            lambda url: crash_recovery_unattended(ledger, url, directory, figures, crashes),  # noqa: B023
        ]
        for n, part in enumerate(parts):
            part_dir = directory / f"{ledger}-{n}"
            part_dir.mkdir()
            with fresh_database(ledger, part_dir) as url:
                part(url)
        ledger_outage(ledger, directory, figures)
    return figures


def backends() -> list[str]:
    return ["sqlite"] + (["postgresql"] if os.environ.get("REFUNDER_TEST_POSTGRES_URL") else [])
