"""Refunds sent: ledger checks under the payment's lock, the provider call outside it.

1. Under the lock: idempotency key, refund rules, refund recorded as pending (counts as in flight).
2. No lock: the provider call, with the refund's own idempotency key, within the time budget
   (providers.budget, REFUNDER_PROVIDER_BUDGET): no answer within it is `unknown`, read back later.
3. Under a transaction: the provider's answer applied (outcomes.apply_answer), and audited.

The sender holds the refund's own lock (ledger.locks) throughout, so the follow-up (reconcile) never reads
back a refund while its sender is still waiting for the answer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select

from . import rules
from .capabilities import VIA_PROVIDER
from .context import Context
from .detection import REFUND_WINDOW_EXPIRED, Mode
from .errors import (
    LINES_DO_NOT_ADD_UP,
    IdempotencyConflict,
    InvalidRequest,
    LedgerUnavailable,
    NotFound,
    PaymentNotFound,
    ProviderCannotRefund,
    RefunderError,
    RefundOutcomePending,
)
from .ledger.audit import Actor, audit
from .ledger.database import once_more_on_conflict
from .ledger.models import IdempotencyKey, Refund, new_id
from .money import Money
from .outcomes import apply_answer, refund_call, send
from .providers.base import Provider, RefundCall
from .providers.budget import provider_budget
from .providers.manual import ManualProvider
from .reads import Reads
from .rules import RefundStatus

BANK_TRANSFER = ManualProvider()  # how any refund paid back by bank transfer is recorded

log = logging.getLogger(__name__)
_NEW_REFUND = insert(cast(Table, Refund.__table__))  # built once
_NEW_KEY = insert(cast(Table, IdempotencyKey.__table__))
_KNOWN_KEY = select(IdempotencyKey.fingerprint, IdempotencyKey.refund_id).where(
    IdempotencyKey.key == bindparam("key"))


@dataclass(frozen=True)
class RefundRequest:
    amount: Money
    reason: str
    actor: Actor
    lines: list[dict[str, Any]] = field(default_factory=list)
    bank_reference: str | None = None
    reason_internal: bool = False  # kept off the credit note and the customer's e-mail
    via: str | None = None  # provider or bank_transfer; None: the payment's default (capabilities.default_via)


class Refunds:
    def __init__(self, context: Context, reads: Reads) -> None:
        self.context = context
        self.reads = reads

    def create_refund(
        self, payment_id: str, request: RefundRequest, idempotency_key: str, fingerprint: str,
        before_sending: Callable[[], object] | None = None,
    ) -> tuple[Refund, bool]:
        """Returns the refund and whether this call created it (False: idempotent replay).

        `before_sending` is called once the refund is recorded, just before the provider is asked (bulk
        refunds: wait for its slot in the provider's pace). Once the provider was called, a ledger that fails
        to record its answer is RefundOutcomePending: the refund stays recorded (as pending) and the follow-up
        reads it back from the provider.
        """
        refund_id = new_id("rf")
        with self.context.db.refund_lock(refund_id):  # a fresh id: taken (PostgreSQL: unless its hash collides)
            try:
                recorded = once_more_on_conflict(
                    lambda: self._record(payment_id, refund_id, request, idempotency_key, fingerprint))
            except RefunderError as refused:
                self._audit_refusal(payment_id, request, refused)
                raise
            if isinstance(recorded, Refund):
                return recorded, False
            provider, call, recorded_at = recorded
            if before_sending is not None:
                before_sending()
            with provider_budget(self.context.budget):
                result = send(provider, call)
            try:
                return apply_answer(self.context, call.refund_id, recorded_at, result), True
            except Exception as exc:
                log.exception("refund %s: %s answered %s, but the ledger could not record it", refund_id,
                              provider.name, result.status)
                raise RefundOutcomePending(provider=provider.label, refund_id=refund_id) from exc

    def _audit_refusal(self, payment_id: str, request: RefundRequest, refused: RefunderError) -> None:
        """A refund refused before anything was recorded or sent: who asked, for what, and why (code and params).

        Only an audit event: no refund, so nothing counts against the balance. Not for a payment that is not
        recorded, nor while the ledger cannot be written."""
        if isinstance(refused, (NotFound, LedgerUnavailable)):
            return
        try:
            with self.context.db.transaction() as s:
                audit(s, self.context.clock(), "refund.refused", request.actor, payment_id=payment_id,
                      amount=request.amount, reason=request.reason,
                      detail={"code": refused.code, "params": refused.params, "via": request.via})
        except RefunderError as exc:
            log.warning("payment %s: refused refund not audited: %s", payment_id, exc.message)

    def _record(
        self, payment_id: str, refund_id: str, request: RefundRequest, idempotency_key: str, fingerprint: str
    ) -> Refund | tuple[Provider, RefundCall, datetime]:
        """The refund an idempotency key already made, or the provider call for a newly recorded one (and when
        it was recorded).

        All in one transaction holding the payment's lock: the replay check, the payment's capabilities and
        balance, and recording the refund. A bank transfer is never sent anywhere and keeps only the balance
        rules.
        """
        with self.context.db.locked_payment(payment_id) as (s, payment):
            if payment is None:
                raise PaymentNotFound(payment_id=payment_id)
            ledger = s.connection()  # Core on it: rows, no ORM objects, execution layer or unit of work
            known = ledger.execute(_KNOWN_KEY, {"key": idempotency_key}).first()
            if known is not None:
                prior = s.get_one(Refund, known.refund_id)
                if known.fingerprint != fingerprint or prior.payment_id != payment.id:
                    raise IdempotencyConflict()
                return prior
            now = self.context.clock()
            view, recent = self.reads.view(s, payment, now - timedelta(minutes=1))
            via = request.via or view.capabilities.default_via
            sender: Provider = BANK_TRANSFER
            policy = rules.RefundPolicy()
            blocked = view.capabilities.blocked if via == VIA_PROVIDER else None
            if via == VIA_PROVIDER and (blocked is None or blocked.code == REFUND_WINDOW_EXPIRED):  # rules explain
                provider = self.context.provider(payment.provider)
                sender, policy, blocked = provider.for_mode(Mode(payment.mode)), provider.policy, None
            if blocked is not None:  # after the replay check: a key that already refunded still answers
                raise ProviderCannotRefund(blocked)
            call = refund_call(payment, refund_id, request.amount, request.reason, request.bank_reference,
                               request.lines)
            sender.check_request(call)
            _check_lines(request)
            rules.check_refund(balance=view.balance, amount=request.amount, paid_at=payment.paid_at,
                               now=now, policy=policy, refunds_last_minute=recent, provider=sender.label)
            ledger.execute(_NEW_REFUND, dict(
                id=call.refund_id, payment_id=payment.id, amount_minor=request.amount.minor,
                currency=request.amount.currency, status=RefundStatus.PENDING, reason=request.reason,
                actor_id=request.actor.id, actor_name=request.actor.name, lines=request.lines,
                bank_reference=request.bank_reference, reason_internal=request.reason_internal, via=via,
                created_at=now, updated_at=now, next_check_at=now + rules.FOLLOW_UP_FIRST,
            ))
            audit(s, now, "refund.requested", request.actor, payment_id=payment.id, refund_id=call.refund_id,
                  amount=request.amount, reason=request.reason, detail={"via": via})
            ledger.execute(_NEW_KEY, dict(key=idempotency_key, fingerprint=fingerprint, refund_id=call.refund_id,
                                          created_at=now))
            return sender, call, now


def _check_lines(request: RefundRequest) -> None:
    if request.lines and sum(line["amount"] for line in request.lines) != request.amount.minor:
        raise InvalidRequest(LINES_DO_NOT_ADD_UP, field="lines")
