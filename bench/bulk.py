"""Bulk refund speed at real-world latency: a cancelled event's bookings refunded by `refunder worker` (its own
process) through the real Vipps and Stripe modules, against the project's fakes (a process of their own)
answering every call in 300 ms, compared with the bound the providers' limits set (Vipps 10/s, Stripe 20/s).

Two events, one run each: every booking paid with Vipps (bound: bookings / 10 s), and half Vipps, half Stripe
(bound: the slower provider's, half the bookings / 10 s). Target: within 1.1× of the bound. The time is the
worker process's, start to exit (its start-up included).
    .venv/bin/python -m bench.bulk [--bookings 1000] [--latency 0.3] [--spread SIGMA] [--event vipps|mixed|both]
                                   [--database sqlite|postgresql|<url>]
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from bench.overhead import database_url
from refunder.bulk import BulkLine, BulkRefunds
from refunder.config import Settings
from refunder.detection import Mode
from refunder.ledger.audit import Actor
from refunder.ledger.database import Database, migrate
from refunder.money import Money
from refunder.payments import Registration
from refunder.providers import build_providers
from refunder.providers.base import PaymentClaim
from refunder.service import RefundService
from tests.fakes.server import serving
from tests.fakes.stripe import FakeStripe
from tests.fakes.timing import Latency, Timing
from tests.fakes.vipps import FakeVipps

SECRET = "bench-secret-0123456789-abcdefghijklmnop"
STRIPE_KEY, VIPPS_SECRET, VIPPS_SUBSCRIPTION = "sk_test_bench", "bench-vipps-secret", "bench-vipps-subscription"
RATES = {"vipps": 10, "stripe": 20}  # the providers' policies (max_per_second)
ACTOR = Actor("1", "bench")


def now() -> datetime:
    return datetime.now(UTC)


def busiest_second(arrivals: list[float]) -> int:
    """The most calls that arrived within any one second (arrivals in order)."""
    most, first = 0, 0
    for last, at in enumerate(arrivals):
        while at - arrivals[first] >= 1.0:
            first += 1
        most = max(most, last - first + 1)
    return most


def _serve_fakes(pipe: Connection, vipps: list[str], stripe: list[str]) -> None:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the fakes' access logs
    fakes = {"vipps": FakeVipps(client_secret=VIPPS_SECRET, subscription_key=VIPPS_SUBSCRIPTION),
             "stripe": FakeStripe(STRIPE_KEY, "whsec_bench", per_second=10**9)}
    for reference in vipps:
        fakes["vipps"].add_payment(reference, 45000)
    for reference in stripe:
        fakes["stripe"].add_payment(reference, 45000)
    with serving(fakes["vipps"]) as vipps_url, serving(fakes["stripe"]) as stripe_url:
        pipe.send((vipps_url, stripe_url))
        while (command := pipe.recv()) != "stop":
            if command[0] == "latency":  # from now on: the latency, and Stripe's test-mode limit
                _, seconds, spread = command
                for n, fake in enumerate(fakes.values()):
                    fake.timing = Timing(Latency.lognormal(seconds, spread, seed=n) if spread else seconds)
                fakes["stripe"].per_second, fakes["stripe"].recent = 25, []
            else:  # report
                pipe.send({name: {"refunds": fake.refund_calls, "arrivals": fake.timing.arrivals.get("refund", []),
                                  "throttled": getattr(fake, "throttled", 0)} for name, fake in fakes.items()})


@contextmanager
def fakes(vipps: list[str], stripe: list[str]) -> Iterator[tuple[Connection, str, str]]:
    """The fakes in a process of their own: they must not share the worker's interpreter lock."""
    ours, theirs = multiprocessing.Pipe()
    process = multiprocessing.get_context("fork").Process(target=_serve_fakes, args=(theirs, vipps, stripe),
                                                          daemon=True)
    process.start()
    try:
        vipps_url, stripe_url = ours.recv()
        yield ours, vipps_url, stripe_url
    finally:
        ours.send("stop")
        process.join(10)


def run_event(name: str, vipps: int, stripe: int, args: argparse.Namespace, tmp: str) -> None:
    references = {"vipps": [f"{name}-v{i:05d}" for i in range(vipps)],
                  "stripe": [f"pi_{name}s{i:05d}" for i in range(stripe)]}
    with fakes(references["vipps"], references["stripe"]) as (pipe, vipps_url, stripe_url):
        env = {**os.environ, "REFUNDER_SHARED_SECRET": SECRET, "REFUNDER_DATABASE_URL": database_url(args.database,
                                                                                                     f"{tmp}/{name}"),
               "REFUNDER_PROVIDERS": "vipps,stripe", "REFUNDER_STRIPE_TEST_API_KEY": STRIPE_KEY,
               "REFUNDER_STRIPE_TEST_API_BASE": stripe_url, "REFUNDER_VIPPS_TEST_CLIENT_ID": "cid-public",
               "REFUNDER_VIPPS_TEST_CLIENT_SECRET": VIPPS_SECRET, "REFUNDER_VIPPS_TEST_MSN": "123456",
               "REFUNDER_VIPPS_TEST_SUBSCRIPTION_KEY": VIPPS_SUBSCRIPTION, "REFUNDER_VIPPS_TEST_BASE_URL": vipps_url}
        Path(f"{tmp}/{name}").mkdir(parents=True, exist_ok=True)
        db = Database.from_url(env["REFUNDER_DATABASE_URL"])
        migrate(db.engine)
        service = RefundService(db, build_providers(Settings.load(env), now), now)
        lines = []
        for provider, refs in references.items():
            for reference in refs:
                claim = PaymentClaim(reference, reference, Money(45000, "NOK"), now())
                view = service.payments.register_payment(provider, claim, ACTOR, Registration(mode=Mode.TEST))
                lines.append(BulkLine(reference, view.payment.id, None))
        job, _ = BulkRefunds(service).start(lines, "Event cancelled", ACTOR, f"bench-{name}", f"bench-{name}")
        db.dispose()
        pipe.send(("latency", args.latency, args.spread))
        started = time.perf_counter()
        with open(f"{tmp}/{name}/worker.log", "wb") as log:
            worker = subprocess.run([sys.executable, "-m", "refunder.cli", "worker", "--once"], env=env,
                                    stdout=log, stderr=subprocess.STDOUT)
        took = time.perf_counter() - started
        pipe.send("report")
        report: dict[str, Any] = pipe.recv()
        if worker.returncode:
            sys.exit(f"the worker failed: see {tmp}/{name}/worker.log")
        done = BulkRefunds(service).view(job.id).items
        refunded = sum(1 for _, refund, _ in done if refund is not None and refund.status == "refunded")
    bound = max(count / RATES[provider] for provider, count in (("vipps", vipps), ("stripe", stripe)) if count)
    latency = f"{args.latency * 1000:.0f} ms" + (f" (lognormal median, sigma {args.spread:g})" if args.spread else "")
    print(f"\n{name}: {vipps + stripe} bookings ({vipps} Vipps at 10/s, {stripe} Stripe at 20/s), "
          f"provider latency {latency}")
    for provider, seen in report.items():
        if seen["refunds"]:
            arrivals = seen["arrivals"]
            print(f"  {provider:<6} {seen['refunds']:>5} refund calls over {arrivals[-1] - arrivals[0]:.1f} s, "
                  f"busiest second at the provider {busiest_second(arrivals)} (paced at {RATES[provider]}/s), "
                  f"429 answers {seen['throttled']}")
    print(f"  refunded {refunded} of {vipps + stripe} in {took:.1f} s (worker process, start to exit); bound "
          f"{bound:.1f} s; ratio {took / bound:.3f} (target <= 1.1)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bookings", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.3, help="seconds each provider call takes (median)")
    parser.add_argument("--spread", type=float, default=0.0, help="lognormal sigma of the latency (0: fixed)")
    parser.add_argument("--event", choices=("vipps", "mixed", "both"), default="both")
    parser.add_argument("--database", default="sqlite", help="sqlite, postgresql, or a database URL")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        if args.event in ("vipps", "both"):
            run_event("vipps", args.bookings, 0, args, tmp)
        if args.event in ("mixed", "both"):
            run_event("mixed", args.bookings // 2, args.bookings - args.bookings // 2, args, tmp)


if __name__ == "__main__":
    main()
