"""Bulk refunds of a cancelled event: review, start, work through at the provider's pace, resume, report."""

from __future__ import annotations

import csv
import io
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from refunder.app import create_app
from refunder.bulk import BUSY_ATTEMPTS, BUSY_RETRY, LEASE, BulkRefunds
from refunder.money import Money
from refunder.providers.http import ProviderBusy
from refunder.providers.manual import ManualProvider
from refunder.providers.simulator import SimulatorProvider
from refunder.rules import RefundPolicy
from refunder.service import RefundService
from tests.conftest import SignedClient
from tests.sidecar.helpers import ACTOR, register


class PacedSimulator(SimulatorProvider):
    """The simulator, with an API limit like Vipps' or Stripe's, and a way to die mid-refund."""

    policy = RefundPolicy(window=timedelta(days=365), max_per_second=10)
    die_after: set[str] = set()

    def refund(self, call: Any) -> Any:
        result = super().refund(call)
        if call.payment_reference in self.die_after:
            self.die_after.discard(call.payment_reference)
            raise Crash()  # the process dies after the provider paid, before anything was written
        return result


class Crash(BaseException):
    pass


@pytest.fixture
def world(settings: Any, db: Any, clock: Any) -> tuple[Any, SignedClient, PacedSimulator, list[float]]:
    simulator = PacedSimulator(settings.section("simulator")["path"], clock)
    app = create_app(settings, clock=clock, providers={"simulator": simulator, "manual": ManualProvider()})
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock.advance(seconds=seconds)

    app.extensions["refunder_bulk"].sleep = sleep
    return app, SignedClient(app.test_client(), clock), simulator, sleeps


def bookings(api: SignedClient, simulator: PacedSimulator, clock: Any, n: int, **kind: int) -> list[dict[str, Any]]:
    lines = []
    for i in range(n):
        reference = f"event-{i:04d}"
        days = 400 if i in kind.values() and kind.get("expired") == i else 1
        simulator.add_payment(reference, Money(45000, "NOK"), clock() - timedelta(days=days))
        payment = register(api, "simulator", reference, 45000, order_id=str(1000 + i))
        lines.append({"order_id": str(1000 + i), "payment_id": payment["id"]})
    return lines


def start(api: SignedClient, lines: list[dict[str, Any]], reason: str, key: str) -> dict[str, Any]:
    """Start a bulk refund of these lines; its job as the API answers it."""
    answer = api.post("/v1/bulk-refunds", {"lines": lines, "reason": reason, "actor": ACTOR},
                      headers={"Idempotency-Key": key})
    assert answer.status_code == 201, answer.json
    return answer.json


def record_sendings(simulator: PacedSimulator, when: Any) -> list[float]:
    """From now on, when() at each refund the simulator receives."""
    sent: list[float] = []
    refund = simulator.refund
    simulator.refund = lambda call: (sent.append(when()), refund(call))[1]  # type: ignore[method-assign]
    return sent


def test_review_says_what_will_and_will_not_be_refunded(world: Any, clock: Any) -> None:
    app, api, simulator, _ = world
    lines = bookings(api, simulator, clock, 4, expired=3)
    lines.append({"order_id": "9999", "payment_id": None})
    manual = register(api, "manual", "bank-77", 30000, order_id="77")
    lines.append({"order_id": "77", "payment_id": manual["id"]})
    lines[1]["amount"] = {"value": 20000, "currency": "NOK"}
    plan = api.post("/v1/bulk-refunds/plan", {"lines": lines}).json
    assert plan["refundable"] == 3 and plan["skipped"] == 3
    assert plan["totals"] == [{"provider": "simulator", "count": 3, "total": {"value": 110000, "currency": "NOK",
                                                                                 "exponent": 2}}]
    problems = {line["order_id"]: line["problem"] for line in plan["lines"] if line["problem"]}
    assert "period has ended" in problems["1003"] and "open the order once" in problems["9999"]
    assert "transfer the money yourself" in problems["77"]
    reasons = {line["order_id"]: line["reason"] for line in plan["lines"]}  # the same, coded for translation
    assert {order: reason["code"] for order, reason in reasons.items() if reason} == {
        "1003": "refund_window_expired", "9999": "bulk_no_payment", "77": "no_provider"}
    assert reasons["1003"]["params"]["provider"] and reasons["1003"]["message"] == problems["1003"]
    assert reasons["1000"] is None


def test_bulk_refund_runs_to_the_end_and_reports(world: Any, clock: Any) -> None:
    app, api, simulator, sleeps = world
    lines = bookings(api, simulator, clock, 6, expired=5)
    body = {"lines": lines, "reason": "Concert cancelled", "actor": ACTOR}
    started = api.post("/v1/bulk-refunds", body, headers={"Idempotency-Key": "bulk-key-0001"})
    assert started.status_code == 201
    job = started.json
    assert job["status"] == "queued" and job["total"] == 6 and job["counts"] == {"queued": 5, "skipped": 1}
    assert api.post("/v1/bulk-refunds", body, headers={"Idempotency-Key": "bulk-key-0001"}).json["id"] == job["id"]
    other = api.post("/v1/bulk-refunds", {**body, "reason": "x"}, headers={"Idempotency-Key": "bulk-key-0001"})
    assert other.status_code == 409

    assert app.extensions["refunder_bulk"].work() == 5
    done = api.get(f"/v1/bulk-refunds/{job['id']}").json
    assert done["status"] == "done" and done["finished"] == 6 and done["finished_at"]
    assert done["counts"] == {"refunded": 5, "skipped": 1}
    assert all(simulator.list_refunds(f"event-{i:04d}", {})[0].amount.minor == 45000 for i in range(5))
    assert simulator.list_refunds("event-0005", {}) == []
    assert len(sleeps) == 4 and all(abs(s - 0.1) < 1e-6 for s in sleeps)  # 10 a second, paced

    report = api.get(f"/v1/bulk-refunds/{job['id']}/report.csv")
    assert report.content_type.startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(report.get_data(as_text=True))))
    assert [(r["order_id"], r["outcome"], r["amount"]) for r in rows][:2] == [("1000", "refunded", "450.00"),
                                                                           ("1001", "refunded", "450.00")]
    assert rows[5]["outcome"] == "skipped" and "period has ended" in rows[5]["reason"]
    for row in rows[:5]:
        refund = api.get(f"/v1/refunds/{row['refund_id']}").json
        assert refund["reason"] == "Concert cancelled" and refund["actor"] == ACTOR


def test_a_worker_that_dies_is_resumed_without_paying_twice(world: Any, clock: Any, settings: Any) -> None:
    app, api, simulator, _ = world
    lines = bookings(api, simulator, clock, 4)
    job = start(api, lines, "Storm", "bulk-key-0002")
    simulator.die_after = {"event-0001"}
    with pytest.raises(Crash):
        app.extensions["refunder_bulk"].work()
    counts = api.get(f"/v1/bulk-refunds/{job['id']}").json["counts"]
    refunded = counts.get("refunded", 0)  # the first, and the one under way beside the dying one, if any
    assert counts == {"refunded": refunded, "queued": 4 - refunded} and refunded in (1, 2, 3)
    restarted = BulkRefunds(app.extensions["refunder"], sleep=lambda s: clock.advance(seconds=s))
    assert restarted.work() == 3 - refunded  # claimed but not sent: given back; the dead one waits for its lease
    clock.advance(seconds=LEASE.total_seconds() + 1)
    assert restarted.work() == 1
    app.extensions["refunder"].reconciler.reconcile()  # the refund the dead worker sent is read back, not sent again
    final = api.get(f"/v1/bulk-refunds/{job['id']}").json
    assert final["status"] == "done" and final["counts"] == {"refunded": 4}
    assert [len(simulator.list_refunds(f"event-{i:04d}", {})) for i in range(4)] == [1, 1, 1, 1]


def test_workers_share_one_pace_per_provider(world: Any, clock: Any) -> None:
    """Two worker processes on one ledger keep the provider's global limit, not one limit each."""
    app, api, simulator, _ = world
    lines = bookings(api, simulator, clock, 6)
    start(api, lines, "Flood", "bulk-key-0003")
    sent = record_sendings(simulator, lambda: clock().timestamp())
    workers = [BulkRefunds(app.extensions["refunder"], sleep=lambda s: clock.advance(seconds=s)) for _ in "ab"]
    for turn in range(6):
        assert workers[turn % 2].work(limit=1) == 1
    gaps = [later - earlier for earlier, later in zip(sent, sent[1:], strict=False)]
    assert len(sent) == 6 and min(gaps) >= 0.1 - 1e-6  # 10 a second in all


def test_two_workers_running_at_once_keep_one_pace(world: Any, clock: Any) -> None:
    """The same, for real: two threads on their own connections, real time; the ledger row is the lock."""
    app, api, simulator, _ = world
    lines = bookings(api, simulator, clock, 8)
    start(api, lines, "Snow", "bulk-key-0005")
    service = app.extensions["refunder"]
    now = RefundService(service.db, service.providers, lambda: datetime.now(UTC))
    sent = record_sendings(simulator, time.monotonic)
    threads = [threading.Thread(target=BulkRefunds(now).work) for _ in "ab"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    # One schedule at 10 a second spreads the 8 sendings over 0.7 s; two schedules (one per worker) over 0.3 s.
    # The margin is for a sending that leaves late on a loaded machine (seen: the first one, by 0.1 s).
    assert len(sent) == 8 and max(sent) - min(sent) >= 0.5


def test_a_busy_provider_delays_an_item_but_never_fails_or_doubles_it(world: Any, clock: Any) -> None:
    app, api, simulator, _ = world
    lines = bookings(api, simulator, clock, 3)
    job = start(api, lines, "Rain", "bulk-key-0004")
    refusals = {"event-0001": 2, "event-0002": BUSY_ATTEMPTS}
    refund = simulator.refund

    def busy_at_first(call: Any) -> Any:
        if refusals.get(call.payment_reference, 0) > 0:
            refusals[call.payment_reference] -= 1
            raise ProviderBusy(provider="Simulator", what="HTTP 429")
        return refund(call)

    simulator.refund = busy_at_first  # type: ignore[method-assign]
    worker = app.extensions["refunder_bulk"]
    assert worker.work() == 3
    assert api.get(f"/v1/bulk-refunds/{job['id']}").json["counts"] == {"refunded": 1, "queued": 2}
    for _ in range(BUSY_ATTEMPTS):
        clock.advance(seconds=BUSY_RETRY.total_seconds())
        worker.work()
    final = api.get(f"/v1/bulk-refunds/{job['id']}").json
    assert final["status"] == "done" and final["counts"] == {"refunded": 2, "failed": 1}
    assert [len(simulator.list_refunds(f"event-{i:04d}", {})) for i in range(3)] == [1, 1, 0]
    ledger = api.get(f"/v1/refunds?order_id={lines[1]['order_id']}").json["refunds"]
    assert [r["status"] for r in ledger] == ["failed", "failed", "refunded"]  # every sending documented
    gave_up = api.get(f"/v1/bulk-refunds/{job['id']}/report.csv").get_data(as_text=True).splitlines()[3]
    assert ",failed," in gave_up and "Nothing was refunded" in gave_up


def test_bulk_inputs_are_validated(world: Any) -> None:
    _, api, _, _ = world
    assert api.post("/v1/bulk-refunds/plan", {"lines": []}).status_code == 422
    missing = api.post("/v1/bulk-refunds", {"lines": [{"order_id": "1"}], "reason": "", "actor": ACTOR},
                       headers={"Idempotency-Key": "bulk-key-0003"})
    assert missing.status_code == 422 and "reason" in missing.json["errors"]
    assert api.get("/v1/bulk-refunds/bulk_nope").status_code == 404


def test_a_provider_without_a_limit_gets_one_at_a_time(settings: Any, db: Any, clock: Any) -> None:
    simulator = SimulatorProvider(settings.section("simulator")["path"], clock)  # no max_per_second
    app = create_app(settings, clock=clock, providers={"simulator": simulator})
    api = SignedClient(app.test_client(), clock)
    lines = bookings(api, simulator, clock, 3)
    job = start(api, lines, "Hail", "bulk-key-0006")
    under_way, most = [0], [0]
    refund = simulator.refund

    def counted(call: Any) -> Any:
        under_way[0] += 1
        most[0] = max(most[0], under_way[0])
        time.sleep(0.05)
        under_way[0] -= 1
        return refund(call)

    simulator.refund = counted  # type: ignore[method-assign]
    assert app.extensions["refunder_bulk"].work() == 3
    assert api.get(f"/v1/bulk-refunds/{job['id']}").json["counts"] == {"refunded": 3} and most == [1]
