"""Bulk refund speed: N bookings through `BulkRefunds` against a fake provider with 50 ms latency and an API
limit, compared with the bound that limit sets (N / rate). Target: within 1.2x of the bound.
    .venv/bin/python -m bench.bulk [--bookings 1000] [--rate 10] [--latency 0.05]
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from refunder.bulk import BulkLine, BulkRefunds
from refunder.ledger.database import Database, migrate
from refunder.money import Money
from refunder.providers.base import PaymentClaim
from refunder.providers.simulator import SimulatorProvider
from refunder.refunds import Actor, RefundService
from refunder.rules import RefundPolicy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bookings", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=10.0, help="provider limit, refunds per second")
    parser.add_argument("--latency", type=float, default=0.05, help="provider answer time, seconds")
    args = parser.parse_args()
    logging.disable(logging.WARNING)

    class SlowProvider(SimulatorProvider):
        policy = RefundPolicy(window=timedelta(days=365), max_per_second=args.rate)

        def refund(self, call: Any) -> Any:
            time.sleep(args.latency)
            return super().refund(call)

    with tempfile.TemporaryDirectory() as tmp:
        clock = lambda: datetime.now(UTC)  # noqa: E731
        db = Database.from_url(f"sqlite:///{Path(tmp) / 'ledger.db'}")
        migrate(db.engine)
        provider = SlowProvider(Path(tmp) / "sim.db", clock)
        service = RefundService(db, {"simulator": provider}, clock)
        actor = Actor("1", "bench")
        lines = []
        for i in range(args.bookings):
            reference = f"event-{i:05d}"
            provider.add_payment(reference, Money(45000, "NOK"), clock() - timedelta(days=1))
            view = service.register_payment("simulator", PaymentClaim(reference, str(i), Money(45000, "NOK"),
                                                                      clock()), actor)
            lines.append(BulkLine(str(i), view.payment.id, None))
        runner = BulkRefunds(service)
        job, _ = runner.start(lines, "Event cancelled", actor, "bench-bulk", "bench")
        start = time.perf_counter()
        sent = runner.work()
        elapsed = time.perf_counter() - start
        bound = args.bookings / args.rate
        refunded = sum(1 for _, refund, _ in runner.view(job.id).items if refund and refund.status == "refunded")
        print(f"{args.bookings} bookings, provider limit {args.rate:g}/s, latency {args.latency * 1000:.0f} ms")
        print(f"refunded {refunded} of {sent} sent in {elapsed:.1f} s; rate-limit bound {bound:.1f} s; "
              f"ratio {elapsed / bound:.3f} (target <= 1.2)")


if __name__ == "__main__":
    main()
