"""An in-process fake provider for the demo: its own balances in a SQLite file shared by all workers.

The payment reference picks the behaviour:
  ...-async    refunds are "processing" and settle ASYNC_SECONDS later, when read back
  ...-decline  refunds are refused with a plain-words reason
  ...-timeout  the refund is applied but the answer is lost (the ledger sees "unknown")
anything else  refunds settle at once.
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ..messages import define
from ..money import Money
from ..rules import RefundPolicy, RefundStatus
from .base import (
    PaymentClaim,
    PaymentFacts,
    PaymentNotAtProvider,
    Provider,
    ProviderError,
    ProviderRefund,
    ProviderResult,
    ProviderUnreachable,
    RefundCall,
    RefundNotAtProvider,
)
from .registry import ProviderSpec, register

ASYNC_SECONDS = 2
DECLINED = define("card_declined", "{provider} says the customer's card issuer declined the refund. Refund the "
                                   "customer by bank transfer instead.", status=ProviderError.status,
                  provider="Simulator", provider_code="card_declined")
TOO_LARGE = define("amount_too_large", "{provider} says the amount is more than is left to refund on this payment.",
                   status=ProviderError.status, provider="Simulator", provider_code="amount_too_large")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS payments (
  reference TEXT PRIMARY KEY, currency TEXT NOT NULL, captured INTEGER NOT NULL,
  refunded INTEGER NOT NULL DEFAULT 0, paid_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS refunds (
  idempotency_key TEXT PRIMARY KEY, id TEXT NOT NULL, reference TEXT NOT NULL, amount INTEGER NOT NULL,
  currency TEXT NOT NULL, settles_at TEXT);
"""


class SimulatorProvider(Provider):
    name = "simulator"
    label = "Simulated card provider"
    policy = RefundPolicy(window=timedelta(days=365))
    permanent_failures = frozenset({"card_declined"})

    def __init__(self, path: str | Path, clock: Callable[[], datetime]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.clock = clock
        with sqlite3.connect(self.path, timeout=30) as db:
            db.executescript(_SCHEMA)
        db.close()

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            db.execute("BEGIN IMMEDIATE")
            yield db
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        finally:
            db.close()

    def add_payment(self, reference: str, captured: Money, paid_at: datetime) -> None:
        """Seed a captured payment (demo data and tests)."""
        with self._db() as db:
            db.execute(
                "INSERT OR REPLACE INTO payments (reference, currency, captured, refunded, paid_at) VALUES (?,?,?,0,?)",
                (reference, captured.currency, captured.minor, paid_at.isoformat()),
            )

    def refund_outside(self, reference: str, amount: Money) -> str:
        """A refund made in the provider's own dashboard, behind Refunder's back."""
        key = f"dashboard-{secrets.token_hex(6)}"
        with self._db() as db:
            db.execute("UPDATE payments SET refunded = refunded + ? WHERE reference = ?", (amount.minor, reference))
            db.execute("INSERT INTO refunds VALUES (?,?,?,?,?,NULL)",
                       (key, f"sim_{key}", reference, amount.minor, amount.currency))
        return f"sim_{key}"

    def list_refunds(self, reference: str, provider_data: dict[str, Any]) -> list[ProviderRefund]:
        with self._db() as db:
            rows = db.execute("SELECT idempotency_key, id, amount, currency, settles_at FROM refunds "
                              "WHERE reference = ? ORDER BY rowid", (reference,)).fetchall()
        now = self.clock()
        return [ProviderRefund(provider_id=sim_id, amount=Money(amount, currency),
                               result=ProviderResult(RefundStatus.PROCESSING if settles and
                                                     now < datetime.fromisoformat(settles) else RefundStatus.REFUNDED,
                                                     provider_reference=sim_id, confirmed=True),
                               refund_id=key if key.startswith("rf_") else None)
                for key, sim_id, amount, currency, settles in rows]

    def payment_facts(self, claim: PaymentClaim) -> PaymentFacts:
        with self._db() as db:
            row = db.execute(
                "SELECT currency, captured, paid_at FROM payments WHERE reference = ?", (claim.reference,)
            ).fetchone()
        if row is None:
            raise PaymentNotAtProvider(provider=self.label, reference=claim.reference)
        return PaymentFacts(captured=Money(row[1], row[0]), paid_at=datetime.fromisoformat(row[2]))

    def refund(self, call: RefundCall) -> ProviderResult:
        reference = call.payment_reference
        if reference.endswith("-decline"):
            raise ProviderError(DECLINED, provider=self.label, provider_code="card_declined")
        with self._db() as db:
            if db.execute("SELECT 1 FROM refunds WHERE idempotency_key = ?", (call.idempotency_key,)).fetchone():
                pass  # replay: the refund exists already, answer as before
            else:
                row = db.execute(
                    "SELECT currency, captured, refunded FROM payments WHERE reference = ?", (reference,)
                ).fetchone()
                if row is None:
                    raise PaymentNotAtProvider(provider=self.label, reference=reference)
                currency, captured, refunded = row
                if call.amount.currency != currency or call.amount.minor > captured - refunded:
                    raise ProviderError(TOO_LARGE, provider=self.label, provider_code="amount_too_large")
                settles = self.clock() + timedelta(seconds=ASYNC_SECONDS) if reference.endswith("-async") else None
                db.execute("UPDATE payments SET refunded = refunded + ? WHERE reference = ?",
                           (call.amount.minor, reference))
                db.execute(
                    "INSERT INTO refunds VALUES (?,?,?,?,?,?)",
                    (call.idempotency_key, f"sim_{call.refund_id}", reference, call.amount.minor,
                     call.amount.currency, settles.isoformat() if settles else None),
                )
        if reference.endswith("-timeout"):
            raise ProviderUnreachable(provider=self.label, provider_code="timeout", what="timed out (simulated)")
        return self.refund_status(call)

    def refund_status(self, call: RefundCall) -> ProviderResult:
        with self._db() as db:
            row = db.execute(
                "SELECT id, settles_at FROM refunds WHERE idempotency_key = ?", (call.idempotency_key,)
            ).fetchone()
        if row is None:
            raise RefundNotAtProvider(provider=self.label, refund_id=call.idempotency_key)
        sim_id, settles_at = row
        if settles_at and self.clock() < datetime.fromisoformat(settles_at):
            return ProviderResult(RefundStatus.PROCESSING, provider_reference=sim_id, confirmed=True)
        return ProviderResult(RefundStatus.REFUNDED, provider_reference=sim_id, confirmed=True)


@dataclass(frozen=True)
class SimulatorSettings:
    path: str = "var/simulator.db"


SPEC = register(ProviderSpec(name="simulator", label=SimulatorProvider.label, settings=SimulatorSettings,
                             build=lambda settings, mode, clock: SimulatorProvider(settings.path, clock)))
