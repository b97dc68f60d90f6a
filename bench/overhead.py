"""Sidecar overhead: a refund through the sidecar (gunicorn, 2 workers) vs the same Stripe call made directly.

Both hit one loopback fake of Stripe, at concurrency 1 and 50. Prints p50/p99 of each and the overhead
(sidecar minus direct) with its ratio to the targets (< 5 ms p50, < 15 ms p99). A script, not a test:
    .venv/bin/python -m bench.overhead [--requests 400]
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from refunder import signing
from refunder.money import Money
from refunder.providers.base import RefundCall
from refunder.providers.stripe_cards import StripeProvider, StripeSettings
from tests.fakes.server import serving
from tests.fakes.sidecar import serving_sidecar
from tests.fakes.stripe import FakeStripe

SECRET = "bench-secret-0123456789-abcdefghijklmnop"
KEY, HOOK = "sk_test_bench", "whsec_bench"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def timed(work: list, concurrency: int) -> list[float]:
    def one(job):  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        job()
        return (time.perf_counter() - start) * 1000

    with ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(one, work))


def main() -> None:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the fake's access log
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=400)
    args = parser.parse_args()
    fake = FakeStripe(KEY, HOOK, per_second=10**9)
    payments = [f"pi_bench{i:03d}" for i in range(50)]
    for pid in payments:
        fake.add_payment(pid, 10**9)
    with serving(fake) as stripe_url, tempfile.TemporaryDirectory() as tmp:
        settings = {"REFUNDER_SHARED_SECRET": SECRET, "REFUNDER_DATABASE_URL": f"sqlite:///{tmp}/l.db",
                    "REFUNDER_PROVIDERS": "stripe", "REFUNDER_STRIPE_API_KEY": KEY,
                    "REFUNDER_STRIPE_API_BASE": stripe_url, "REFUNDER_WORKERS": "2"}
        with serving_sidecar(settings, Path(tmp) / "sidecar.log") as (url, _):
            session = requests.Session()

            def call(method: str, target: str, body: dict | None = None, headers: dict | None = None) -> dict:
                data = json.dumps(body).encode() if body is not None else b""
                signed = signing.signed_headers(SECRET, method, target, data, int(time.time()))
                answer = session.request(method, url + target, data=data, timeout=30,
                                         headers={**signed, "Content-Type": "application/json", **(headers or {})})
                answer.raise_for_status()
                return answer.json()

            ids = [call("POST", "/v1/payments", {
                "provider": "stripe", "reference": pid, "order_id": pid, "paid_at": "2026-11-20T10:00:00+00:00",
                "captured": {"value": 10**9, "currency": "NOK"}, "actor": {"id": "1", "name": "bench"}})["id"]
                for pid in payments]
            direct = StripeProvider(StripeSettings(api_key=KEY, api_base=stripe_url), lambda: None)  # type: ignore
            counter = iter(range(10**9))

            def through_sidecar(i: int):  # type: ignore[no-untyped-def]
                return lambda: call("POST", f"/v1/payments/{ids[i % 50]}/refunds", {
                    "amount": {"value": 100, "currency": "NOK"}, "reason": "bench",
                    "actor": {"id": "1", "name": "bench"}}, {"Idempotency-Key": f"bench-{next(counter)}-key"})

            def straight(i: int):  # type: ignore[no-untyped-def]
                return lambda: direct.refund(RefundCall(f"rf_d{next(counter)}", f"rf_d{next(counter)}",
                                                        payments[i % 50], Money(100, "NOK"), "bench"))

            print(f"{args.requests} refunds per run; Stripe fake on loopback; sidecar: gunicorn, 2 workers, SQLite")
            print(f"{'concurrency':>11} {'direct p50':>11} {'p99':>8} {'sidecar p50':>12} {'p99':>8} "
                  f"{'overhead p50':>13} {'p99':>8}  vs target p50 5 ms / p99 15 ms")
            for concurrency in (1, 50):
                timed([straight(i) for i in range(50)], concurrency)  # warm up
                timed([through_sidecar(i) for i in range(50)], concurrency)
                d = timed([straight(i) for i in range(args.requests)], concurrency)
                s = timed([through_sidecar(i) for i in range(args.requests)], concurrency)
                o50 = percentile(s, 50) - percentile(d, 50)
                o99 = percentile(s, 99) - percentile(d, 99)
                print(f"{concurrency:>11} {percentile(d, 50):>9.2f}ms {percentile(d, 99):>6.2f}ms "
                      f"{percentile(s, 50):>10.2f}ms {percentile(s, 99):>6.2f}ms {o50:>11.2f}ms {o99:>6.2f}ms"
                      f"  ×{o50 / 5:.2f} / ×{o99 / 15:.2f} of target")
            print(f"(median of direct calls: {statistics.median(d):.2f} ms)")


if __name__ == "__main__":
    main()
