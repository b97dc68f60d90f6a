"""Reads of the ledger: a payment's balance, deadline and capabilities, its refunds and its audit trail.

They answer from the ledger and never call a provider.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from . import rules
from .capabilities import VIA_PROVIDER, Capabilities, LastFailure, ProviderTraits, capabilities
from .context import Context
from .detection import Block, Mode
from .errors import PaymentNotFound, RefundNotFound
from .ledger.models import AuditEvent, Payment, Refund
from .money import Money
from .providers import label as provider_label
from .rules import Balance, RefundStatus

# Built once (every refund runs both): a payment's refunds summed by status, with how many were created
# after `since` ...
_STANDING = (select(Refund.status, func.coalesce(func.sum(Refund.amount_minor), 0),
                    func.count().filter(Refund.created_at > bindparam("since")))
             .where(Refund.payment_id == bindparam("payment_id")).group_by(Refund.status))
# ... and its last final refund through the provider.
_LAST_FINAL = (select(Refund.status, Refund.failure_code, Refund.failure_params)
               .where(Refund.payment_id == bindparam("payment_id"), Refund.kind == "requested",
                      Refund.via == VIA_PROVIDER, Refund.status.in_(list(rules.FINAL)))
               .order_by(Refund.created_at.desc(), Refund.id.desc()).limit(1))


@dataclass(frozen=True)
class PaymentView:
    payment: Payment
    balance: Balance
    deadline: datetime | None
    window_open: bool
    capabilities: Capabilities

    @property
    def provider_label(self) -> str:
        return provider_label(self.payment.provider)


class Reads:
    def __init__(self, context: Context) -> None:
        self.context = context

    def payment_view(self, payment_id: str) -> PaymentView:
        with self.context.db.reading() as s:
            view, _ = self.view(s, payment(s, payment_id), self.context.clock())
        return view

    def view(self, s: Session, payment: Payment, since: datetime) -> tuple[PaymentView, int]:
        """The payment's balance, deadline and capabilities, and how many refunds were created after `since`.

        Read with Core statements on the session's connection (every refund asks): nothing pending in `s` is
        flushed first."""
        balance, recent, failed = _standing(s, payment, since)
        # Only a last refund that failed can block the payment: with no failed refund there is none to read.
        last = s.connection().execute(_LAST_FINAL, {"payment_id": payment.id}).one_or_none() if failed else None
        provider = self.context.providers.get(payment.provider)
        policy = provider.policy if provider else rules.RefundPolicy()
        deadline = rules.refund_deadline(payment.paid_at, policy)
        failure = None
        if provider and last and last.status == RefundStatus.FAILED \
                and last.failure_code in provider.permanent_failures:
            failure = LastFailure(last.failure_code, last.failure_params or {})
        traits = ProviderTraits(provider.label, provider.sends_money, provider.modes, provider.partial_refunds,
                                provider.line_refunds) if provider else None
        now = self.context.clock()
        can = capabilities(provider_name=payment.provider, provider=traits, payment_block=block_in(payment),
                           mode=Mode(payment.mode), deadline=deadline, now=now, permanent_failure=failure)
        return PaymentView(payment, balance, deadline, deadline is None or now <= deadline, can), recent

    def events(self, payment_id: str) -> list[AuditEvent]:
        with self.context.db.reading() as s:
            payment(s, payment_id)
            query = select(AuditEvent).where(AuditEvent.payment_id == payment_id).order_by(AuditEvent.id)
            return list(s.scalars(query))

    def get_refund(self, refund_id: str) -> Refund:
        with self.context.db.reading() as s:
            return refund(s, refund_id)

    def list_refunds(self, *, payment_id: str | None = None, order_id: str | None = None) -> list[Refund]:
        with self.context.db.reading() as s:
            query = select(Refund).order_by(Refund.created_at, Refund.id)
            if payment_id is not None:
                payment(s, payment_id)
                query = query.where(Refund.payment_id == payment_id)
            if order_id is not None:
                query = query.join(Payment).where(Payment.order_id == order_id)
            return list(s.scalars(query))


def payment(s: Session, payment_id: str) -> Payment:
    found = s.get(Payment, payment_id)
    if found is None:
        raise PaymentNotFound(payment_id=payment_id)
    return found


def refund(s: Session, refund_id: str) -> Refund:
    found = s.get(Refund, refund_id)
    if found is None:
        raise RefundNotFound(refund_id=refund_id)
    return found


def block_in(payment: Payment) -> Block | None:
    """Why the provider cannot refund the payment, as the ledger stored it."""
    stored = payment.refund_block
    return Block(stored["code"], stored.get("params") or {}) if stored else None


def block_out(block: Block | None) -> dict[str, Any] | None:
    return {"code": block.code, "message": block.message, "params": block.params} if block else None


def _standing(s: Session, payment: Payment, since: datetime) -> tuple[Balance, int, bool]:
    """The payment's balance, how many refunds were created after `since`, and whether any refund of it failed
    (one query)."""
    rows = s.connection().execute(_STANDING, {"payment_id": payment.id, "since": since}).all()
    sums = {RefundStatus(status): int(total) for status, total, _ in rows}
    currency = payment.currency
    balance = Balance(
        captured=payment.captured,
        refunded=Money(sums.get(RefundStatus.REFUNDED, 0), currency),
        in_flight=Money(sum(sums.get(st, 0) for st in rules.IN_FLIGHT), currency),
    )
    return balance, sum(int(recent) for _, _, recent in rows), RefundStatus.FAILED in sums
