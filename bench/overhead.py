"""Sidecar overhead: a refund through the sidecar (gunicorn, 2 workers) vs the same Stripe call made directly.

Both hit one loopback fake of Stripe (in its own process), at concurrency 1 and 50. Prints p50/p99 of each,
the overhead (sidecar minus direct) and its ratio to the targets (< 5 ms p50, < 15 ms p99), the throughput
of each, and the floor every signed call pays: a signed /v1/ping through the same sidecar.
A script, not a test:
    .venv/bin/python -m bench.overhead [--requests 400] [--database sqlite|postgresql|<url>]
("postgresql" starts the private server of scripts/postgres.sh.)
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import requests
from sqlalchemy import create_engine, text

from refunder.ledger.models import Base
from refunder.money import Money
from refunder.providers.base import RefundCall
from refunder.providers.stripe_cards import StripeProvider, StripeSettings
from tests.conftest import signed
from tests.fakes.server import serving
from tests.fakes.sidecar import serving_sidecar
from tests.fakes.stripe import FakeStripe

SECRET = "bench-secret-0123456789-abcdefghijklmnop"
KEY, HOOK = "sk_test_bench", "whsec_bench"
PAYMENTS = [f"pi_bench{i:03d}" for i in range(50)]
ROOT = Path(__file__).resolve().parents[1]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def timed(work: list[Callable[[], object]], concurrency: int) -> tuple[list[float], float]:
    """Milliseconds per call, and calls per second over the whole run."""
    def one(job: Callable[[], object]) -> float:
        start = time.perf_counter()
        job()
        return (time.perf_counter() - start) * 1000

    began = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        times = list(pool.map(one, work))
    return times, len(work) / (time.perf_counter() - began)


def _serve_fake(pipe: multiprocessing.connection.Connection) -> None:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the fake's access log
    fake = FakeStripe(KEY, HOOK, per_second=10**9)
    for pid in PAYMENTS:
        fake.add_payment(pid, 10**12)
    with serving(fake) as url:
        pipe.send(url)
        pipe.recv()  # until the benchmark is done


@contextmanager
def fake_stripe() -> Iterator[str]:
    """The fake in a process of its own: it must not share the driver's interpreter lock."""
    ours, theirs = multiprocessing.Pipe()
    process = multiprocessing.get_context("fork").Process(target=_serve_fake, args=(theirs,), daemon=True)
    process.start()
    try:
        yield ours.recv()
    finally:
        ours.send("stop")
        process.join(10)


def database_url(choice: str, tmp: str) -> str:
    if choice == "sqlite":
        return f"sqlite:///{tmp}/ledger.db"
    if choice == "postgresql":
        export = subprocess.run([str(ROOT / "scripts" / "postgres.sh")], check=True, capture_output=True,
                                text=True).stdout
        choice = export.strip().split("=", 1)[1]
        engine = create_engine(choice)
        with engine.begin() as connection:  # a fresh ledger each run
            Base.metadata.drop_all(connection)
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
        engine.dispose()
    return choice


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--database", default="sqlite", help="sqlite, postgresql, or a database URL")
    args = parser.parse_args()
    with fake_stripe() as stripe_url, tempfile.TemporaryDirectory() as tmp:
        url_db = database_url(args.database, tmp)
        settings = {"REFUNDER_SHARED_SECRET": SECRET, "REFUNDER_DATABASE_URL": url_db,
                    "REFUNDER_PROVIDERS": "stripe", "REFUNDER_STRIPE_TEST_API_KEY": KEY,
                    "REFUNDER_STRIPE_TEST_API_BASE": stripe_url, "REFUNDER_WORKERS": "2"}
        with serving_sidecar(settings, Path(tmp) / "sidecar.log") as (url, _):
            session = requests.Session()

            def call(method: str, target: str, body: dict | None = None, headers: dict | None = None) -> dict:
                data = json.dumps(body).encode() if body is not None else b""
                answer = session.request(method, url + target, data=data, timeout=30,
                                         headers=signed(SECRET, method, target, data, datetime.now(UTC), headers))
                answer.raise_for_status()
                return answer.json()

            ids = [call("POST", "/v1/payments", {
                "provider": "stripe", "reference": pid, "mode": "test", "order_id": pid,
                "paid_at": "2026-11-20T10:00:00+00:00",
                "captured": {"value": 10**12, "currency": "NOK"}, "actor": {"id": "1", "name": "bench"}})["id"]
                for pid in PAYMENTS]
            direct = StripeProvider(StripeSettings(api_key=KEY, api_base=stripe_url), lambda: None)  # type: ignore
            counter = iter(range(10**9))

            def through_sidecar(i: int) -> Callable[[], object]:
                return lambda: call("POST", f"/v1/payments/{ids[i % 50]}/refunds", {
                    "amount": {"value": 100, "currency": "NOK"}, "reason": "bench",
                    "actor": {"id": "1", "name": "bench"}}, {"Idempotency-Key": f"bench-{next(counter)}-key"})

            def straight(i: int) -> Callable[[], object]:
                return lambda: direct.refund(RefundCall(f"rf_d{next(counter)}", f"rf_d{next(counter)}",
                                                        PAYMENTS[i % 50], Money(100, "NOK"), "bench"))

            backend = url_db.split(":", 1)[0].split("+", 1)[0]
            print(f"{args.requests} refunds per run; Stripe fake on loopback (own process); "
                  f"sidecar: gunicorn, 2 workers × 4 threads, {backend}")
            print(f"{'concurrency':>11} {'direct p50':>11} {'p99':>8} {'sidecar p50':>12} {'p99':>8} "
                  f"{'overhead p50':>13} {'p99':>8}  {'vs target p50 5 ms / p99 15 ms':<32} refunds/s direct, sidecar")
            for concurrency in (1, 50):
                timed([straight(i) for i in range(50)], concurrency)  # warm up
                timed([through_sidecar(i) for i in range(50)], concurrency)
                d, d_rate = timed([straight(i) for i in range(args.requests)], concurrency)
                s, s_rate = timed([through_sidecar(i) for i in range(args.requests)], concurrency)
                o50 = percentile(s, 50) - percentile(d, 50)
                o99 = percentile(s, 99) - percentile(d, 99)
                print(f"{concurrency:>11} {percentile(d, 50):>9.2f}ms {percentile(d, 99):>6.2f}ms "
                      f"{percentile(s, 50):>10.2f}ms {percentile(s, 99):>6.2f}ms {o50:>11.2f}ms {o99:>6.2f}ms"
                      f"  {f'×{o50 / 5:.2f} / ×{o99 / 15:.2f} of target':<32} {d_rate:.0f}, {s_rate:.0f}")
            ping, _ = timed([lambda: call("GET", "/v1/ping") for _ in range(args.requests)], 1)
            print(f"floor: a signed /v1/ping through the sidecar (HTTP hop, signature, nonce) "
                  f"p50 {percentile(ping, 50):.2f} ms, p99 {percentile(ping, 99):.2f} ms")


if __name__ == "__main__":
    main()
