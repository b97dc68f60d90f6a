"""Stateful property test: any interleaving of refunds, replays and read-backs keeps the books exact."""

from __future__ import annotations

import itertools
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import settings as hsettings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from refunder import errors
from refunder.ledger.audit import Actor
from refunder.ledger.database import Database, migrate
from refunder.money import Money
from refunder.providers.base import PaymentClaim
from refunder.providers.simulator import SimulatorProvider
from refunder.refunds import RefundRequest
from refunder.rules import RefundStatus
from refunder.service import RefundService
from tests.conftest import FakeClock
from tests.sidecar.helpers import CountingProvider

_DIR = Path(tempfile.mkdtemp(prefix="refunder-props-"))
_DB = Database.from_url(f"sqlite:///{_DIR / 'ledger.db'}")
migrate(_DB.engine)
_serial = itertools.count()
ACTOR = Actor("1", "prop")


class RefundMachine(RuleBasedStateMachine):
    @initialize(captured=st.integers(min_value=1, max_value=10**6),
                behaviour=st.sampled_from(["", "-async", "-decline", "-timeout"]))
    def setup(self, captured: int, behaviour: str) -> None:
        self.clock = FakeClock(datetime(2026, 11, 22, tzinfo=UTC))
        self.sim = SimulatorProvider(_DIR / "simulator.db", self.clock)
        self.provider = CountingProvider(self.sim)
        self.service = RefundService(_DB, {"simulator": self.provider}, self.clock)
        self.reference = f"prop-{next(_serial)}{behaviour}"
        self.captured = captured
        self.sim.add_payment(self.reference, Money(captured, "NOK"), self.clock())
        claim = PaymentClaim(self.reference, "1", Money(captured, "NOK"), self.clock())
        self.payment_id = self.service.payments.register_payment("simulator", claim, ACTOR).payment.id
        self.keys: dict[str, tuple[int, str]] = {}  # key -> (amount, refund id)

    def _counted(self) -> int:
        refunds = self.service.reads.list_refunds(payment_id=self.payment_id)
        return sum(r.amount_minor for r in refunds if r.status != RefundStatus.FAILED)

    @rule(key=st.sampled_from([f"key-{i:04d}" for i in range(6)]),
          amount=st.integers(min_value=1, max_value=10**6 + 10))
    def refund(self, key: str, amount: int) -> None:
        request = RefundRequest(Money(amount, "NOK"), "prop", ACTOR)
        key = f"{self.reference}/{key}"  # the ledger is shared by all examples; keys are global
        before = self._counted()
        try:
            refund, created = self.service.refunds.create_refund(self.payment_id, request, key, fingerprint=str(amount))
        except errors.IdempotencyConflict:
            assert key in self.keys and self.keys[key][0] != amount
            return
        except errors.ExceedsRefundable:
            assert key not in self.keys and amount > self.captured - before
            return
        except errors.ProviderCannotRefund as exc:  # the card issuer declined before: it will again
            assert key not in self.keys and self.reference.endswith("-decline") and self.keys
            assert exc.block.code == "provider_refused_permanently"
            return
        if key in self.keys:
            assert not created and refund.id == self.keys[key][1] and amount == self.keys[key][0]
        else:
            assert created and amount <= self.captured - before
            self.keys[key] = (amount, refund.id)

    @precondition(lambda self: bool(self.keys))
    @rule(data=st.data())
    def read_back(self, data: st.DataObject) -> None:
        _, refund_id = data.draw(st.sampled_from(sorted(self.keys.values())))
        self.service.reconciler.refresh_refund(refund_id)

    @rule(seconds=st.integers(min_value=0, max_value=5))
    def time_passes(self, seconds: int) -> None:
        self.clock.advance(seconds=seconds)

    @invariant()
    def never_more_than_captured(self) -> None:
        if hasattr(self, "service"):
            view = self.service.reads.payment_view(self.payment_id)
            assert view.balance.refunded.minor + view.balance.in_flight.minor <= self.captured

    @invariant()
    def provider_called_once_per_refund(self) -> None:
        if hasattr(self, "service"):
            assert all(n == 1 for n in self.provider.calls.values())
            assert len(self.provider.calls) == len(self.keys)

    @invariant()
    def provider_and_ledger_agree(self) -> None:
        """What the simulator paid out equals what the ledger counts (refunded + unknown/processing)."""
        if hasattr(self, "service") and not self.reference.endswith("-decline"):
            facts = self.sim._db
            with facts() as db:
                (paid_out,) = db.execute("SELECT refunded FROM payments WHERE reference = ?",
                                         (self.reference,)).fetchone()
            assert paid_out == self._counted()


TestRefundMachine = RefundMachine.TestCase
TestRefundMachine.settings = hsettings(max_examples=60, stateful_step_count=25, deadline=None)
