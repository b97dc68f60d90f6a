"""A `refunder worker` killed (-9) with refunds in flight at 300 ms latency: restarted, it finishes the job and
no booking is refunded twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from refunder.bulk import BulkLine, BulkRefunds
from refunder.config import Settings
from refunder.detection import Mode
from refunder.ledger.audit import Actor
from refunder.ledger.database import Database, migrate
from refunder.ledger.models import BulkItem
from refunder.money import Money
from refunder.payments import Registration
from refunder.providers import build_providers
from refunder.providers.base import PaymentClaim
from refunder.service import RefundService
from tests.conftest import SECRET
from tests.fakes.server import serving
from tests.fakes.stripe import FakeStripe
from tests.fakes.timing import Timing
from tests.providers.conftest import SECRETS

pytestmark = pytest.mark.slow

BOOKINGS = 60


def now() -> datetime:
    return datetime.now(UTC)


def worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "refunder.cli", "worker", "--once"], env=env, stdout=out,
                                stderr=subprocess.STDOUT)


def test_a_killed_worker_resumes_without_refunding_twice(database_url: str, tmp_path: Path) -> None:
    stripe = FakeStripe(SECRETS[4], SECRETS[5], per_second=10**6)  # registering is not paced
    with serving(stripe) as stripe_url:
        env = {**os.environ, "REFUNDER_SHARED_SECRET": SECRET, "REFUNDER_DATABASE_URL": database_url,
               "REFUNDER_PROVIDERS": "stripe", "REFUNDER_STRIPE_TEST_API_KEY": SECRETS[4],
               "REFUNDER_STRIPE_TEST_API_BASE": stripe_url}
        db = Database.from_url(database_url)
        migrate(db.engine)
        service = RefundService(db, build_providers(Settings.load(env), now), now)
        lines = []
        for i in range(BOOKINGS):
            stripe.add_payment(f"pi_kill{i:03d}", 45000)
            claim = PaymentClaim(f"pi_kill{i:03d}", str(i), Money(45000, "NOK"), now())
            view = service.payments.register_payment("stripe", claim, Actor("7", "Kari"), Registration(mode=Mode.TEST))
            lines.append(BulkLine(str(i), view.payment.id, None))
        job, _ = BulkRefunds(service).start(lines, "Event cancelled", Actor("7", "Kari"), "kill-job", "kill-job")
        stripe.timing, stripe.per_second, stripe.recent = Timing(0.3), 25, []

        first = worker(env, tmp_path / "worker.log")
        while stripe.refund_calls < BOOKINGS // 2 and first.poll() is None:
            time.sleep(0.01)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        under_way = stripe.timing.calls["refund"] - len([r for p in stripe.payments.values() for r in p.refunds])
        at_kill = {item.order_id: item.status for item, _, _ in BulkRefunds(service).view(job.id).items}
        print(f"killed after {stripe.refund_calls} refund calls, {under_way} of them not answered yet; "
              f"{list(at_kill.values()).count('queued')} bookings still queued")
        assert list(at_kill.values()).count("queued") > BOOKINGS // 3

        with db.transaction() as s:  # five minutes later: the dead worker's leases ran out
            s.execute(update(BulkItem).where(BulkItem.status == "queued").values(due_at=now()))
        second = worker(env, tmp_path / "worker.log")
        assert second.wait(120) == 0, (tmp_path / "worker.log").read_text()[-3000:]
        stripe.wait_idle()
        service.reconciler.follow_up()  # refunds the dead worker had sent: read back, or sent again with their own key

        items = BulkRefunds(service).view(job.id).items
        outcomes: list[Any] = [refund.status if refund else item.status for item, refund, _ in items]
    assert outcomes == ["refunded"] * BOOKINGS
    assert [len(stripe.payments[f"pi_kill{i:03d}"].refunds) for i in range(BOOKINGS)] == [1] * BOOKINGS
    assert stripe.throttled == 0
    assert "Traceback" not in (tmp_path / "worker.log").read_text()
