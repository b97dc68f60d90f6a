"""A real PostgreSQL stopped and started while `refunder serve` takes refunds (a private server, so other
tests are not touched): every answer is true, nothing is lost or doubled, and the service recovers alone."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from refunder.money import Money
from refunder.providers.simulator import SimulatorProvider
from tests.conftest import SECRET
from tests.fakes.sidecar import serving_sidecar
from tests.reliability.live import call, postgres_bin, private_postgres
from tests.sidecar.helpers import ACTOR, refund_body

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(postgres_bin() is None, reason="PostgreSQL binaries missing")]

PAYMENTS, THREADS, OUTAGE = 12, 6, 5.0


class Outage:
    """Refunds sent without pause from several threads, and /health probed, while the ledger goes away."""

    def __init__(self, url: str, payments: list[dict[str, Any]]) -> None:
        self.url, self.payments = url, payments
        self.answers: list[tuple[str, str, int, dict[str, Any], str]] = []  # payment, key, status, body, retry
        self.health: list[tuple[float, int]] = []
        self.ready: Counter[int] = Counter()
        self.stop = threading.Event()
        self._lock = threading.Lock()

    def refunds(self, worker: int) -> None:
        n = 0
        while not self.stop.is_set():
            payment = self.payments[(worker + n) % len(self.payments)]
            key = f"outage-{worker:02d}-{n:05d}"
            n += 1
            answer = call(self.url, "POST", f"/v1/payments/{payment['id']}/refunds", refund_body(100),
                          headers={"Idempotency-Key": key})
            body = answer.json() if answer.content else {}
            with self._lock:
                self.answers.append((payment["id"], key, answer.status_code, body,
                                     answer.headers.get("Retry-After", "")))
            if answer.status_code == 503:
                time.sleep(0.2)  # a caller told to come back later does not hammer

    def probe(self) -> None:
        while not self.stop.is_set():
            started = time.monotonic()
            status = requests.get(self.url + "/health", timeout=5).status_code
            self.health.append((time.monotonic() - started, status))
            self.ready[requests.get(self.url + "/health/ready", timeout=10).status_code] += 1
            time.sleep(0.05)


def settle(url: str, payments: list[dict[str, Any]], within: float = 90) -> tuple[int, list[dict[str, Any]]]:
    """Wait until no refund is in flight; the number still in flight, and every refund as it is."""
    started = time.monotonic()
    while True:
        refunds = [r for p in payments for r in call(url, "GET", f"/v1/payments/{p['id']}/refunds").json()["refunds"]]
        in_flight = sum(r["status"] not in ("refunded", "failed") for r in refunds)
        if in_flight == 0 or time.monotonic() - started > within:
            return in_flight, refunds
        time.sleep(0.5)


def test_postgresql_stopped_and_started_during_refunds(tmp_path: Path) -> None:
    clock = lambda: datetime.now(UTC)  # noqa: E731
    simulator = SimulatorProvider(tmp_path / "sim.db", clock)
    with private_postgres() as postgres:
        settings = {"REFUNDER_SHARED_SECRET": SECRET, "REFUNDER_DATABASE_URL": postgres.url,
                    "REFUNDER_PROVIDERS": "simulator", "REFUNDER_SIMULATOR_PATH": str(tmp_path / "sim.db"),
                    "REFUNDER_WORKERS": "2", "REFUNDER_THREADS": "4", "REFUNDER_FOLLOW_UP_EVERY": "1"}
        with serving_sidecar(settings, tmp_path / "sidecar.log") as (url, _):
            payments = []
            for i in range(PAYMENTS):
                simulator.add_payment(f"pg-out-{i}", Money(10_000_000, "NOK"), clock() - timedelta(days=1))
                payments.append(call(url, "POST", "/v1/payments", {
                    "provider": "simulator", "reference": f"pg-out-{i}", "order_id": str(i),
                    "captured": {"value": 10_000_000, "currency": "NOK"}, "paid_at": clock().isoformat(),
                    "actor": ACTOR}).json())
            outage = Outage(url, payments)
            threads = [threading.Thread(target=outage.refunds, args=(w,)) for w in range(THREADS)]
            threads.append(threading.Thread(target=outage.probe))
            for thread in threads:
                thread.start()
            time.sleep(2)
            postgres.stop()
            time.sleep(OUTAGE)
            postgres.start()
            back = time.monotonic()
            time.sleep(3)
            outage.stop.set()
            for thread in threads:
                thread.join(60)
            in_flight, refunds = settle(url, payments)  # no reconcile: the follow-up inside `serve` does it
            recovered = time.monotonic() - back
            # the plugin asks again with the same key where it was told to (503: Retry-After)
            retried: Counter[int] = Counter()
            for payment_id, key, status, _, _ in outage.answers:
                if status == 503:
                    again = call(url, "POST", f"/v1/payments/{payment_id}/refunds", refund_body(100),
                                 headers={"Idempotency-Key": key})
                    retried[again.status_code] += 1
            in_flight_after_retries, refunds = settle(url, payments)
    statuses = Counter(status for _, _, status, _, _ in outage.answers)
    codes = Counter(body.get("code") for _, _, status, body, _ in outage.answers if status >= 400)
    slowest_health = max(seconds for seconds, _ in outage.health)
    print(f"\nPostgreSQL outage of {OUTAGE:.0f} s: answers {dict(statuses)}, problems {dict(codes)}, "
          f"retried {dict(retried)}, /health slowest {slowest_health * 1000:.0f} ms, /health/ready "
          f"{dict(outage.ready)}, all final {recovered:.1f} s after the restart")
    log = (tmp_path / "sidecar.log").read_text()
    trouble = log[max(0, log.find("Traceback") - 500):][:6000] if "Traceback" in log else log[-3000:]
    assert statuses[500] == 0 and set(statuses) <= {200, 201, 503}, trouble
    assert statuses[503] > 0 and set(codes) <= {"ledger_unavailable", "refund_outcome_pending"}
    assert all(retry == "10" for _, _, status, _, retry in outage.answers if status == 503)
    for *_, body, _ in outage.answers:
        if body.get("code") == "refund_outcome_pending":
            assert "being checked" in body["detail"] and body["refund_id"].startswith("rf_")
    assert set(retried) <= {200, 201}
    assert all(status == 200 for _, status in outage.health) and slowest_health < 1.0
    assert outage.ready[503] > 0 and outage.ready[200] > 0
    assert in_flight == 0 and in_flight_after_retries == 0, trouble
    ledger = {r["id"]: r for r in refunds}
    provider = [r for i in range(PAYMENTS) for r in simulator.list_refunds(f"pg-out-{i}", {})]
    assert len({r.refund_id for r in provider}) == len(provider)  # nothing paid twice
    assert all(ledger[r.refund_id]["status"] == "refunded" for r in provider)  # nothing paid is lost
    assert sum(r["status"] == "refunded" for r in ledger.values()) == len(provider)  # nothing refunded unpaid
