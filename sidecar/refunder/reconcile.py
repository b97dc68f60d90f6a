"""Refunds in flight brought to their provider's word: the follow-up, `refunder reconcile`, "check" on one
refund, and the providers' webhooks.

A refund is read back holding its own lock (ledger.locks), so no refund is worked on twice at once; one whose
lock is free and that the provider never got was abandoned by a sender that died, and is sent again with the
same idempotency key. Each read-back has the time budget of any provider interaction (providers.budget).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select

from . import rules
from .capabilities import VIA_BANK_TRANSFER
from .context import Context
from .errors import ProviderCannotRefund, ProviderUnavailable, RefunderError
from .ledger.audit import SYSTEM, Actor
from .ledger.models import Payment, Refund
from .outcomes import apply_result, call_for, send
from .payments import Payments
from .providers.base import ProviderError, ProviderResult, RefundNotAtProvider, RefundUpdate
from .providers.budget import provider_budget
from .providers.http import ProviderBusy
from .reads import refund as refund_in
from .refunds import BANK_TRANSFER
from .rules import RefundStatus

RECONCILE_HISTORY = timedelta(days=400)  # longer than any provider's refund window

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReconcileReport:
    refreshed: list[Refund]  # refunds that were not final, as they are now
    discovered: list[Refund]  # refunds found at providers that Refunder did not make


class Reconciler:
    def __init__(self, context: Context, payments: Payments) -> None:
        self.context = context
        self.payments = payments

    def refresh_refund(self, refund_id: str) -> Refund:
        """Read a refund that is not final back from its provider, unless someone is at it right now.

        One the provider never got, and that no one is sending (its lock is free), is sent again with the
        same idempotency key: the provider applies it once, whatever happened before.
        """
        with self.context.db.refund_lock(refund_id) as mine:
            if mine:
                return self._read_back(refund_id)
        with self.context.db.reading() as s:
            return refund_in(s, refund_id)

    def follow_up(self, limit: int = 200) -> list[Refund]:
        """Read back the refunds in flight that are due (each less often as it ages); returns those read.

        A pending refund is due at once: its sender holds its lock until the answer is recorded, so one that
        can be locked was left by a sender that died (or whose ledger failed), and is finished now.
        """
        now = self.context.clock()
        with self.context.db.reading() as s:
            due = list(s.scalars(select(Refund.id).where(
                Refund.status.in_(list(rules.IN_FLIGHT)),
                or_(Refund.status == RefundStatus.PENDING, Refund.next_check_at.is_(None),
                    Refund.next_check_at <= now),
            ).order_by(Refund.next_check_at).limit(limit)))
        read: list[Refund] = []
        for refund_id in due:
            with self.context.db.refund_lock(refund_id) as mine:
                if mine:  # not mine: another instance, a refresh or its sender is at it
                    read += [self._read_back(refund_id, due_by=now)]
        return read

    def reconcile(self) -> ReconcileReport:
        """Read back every refund that is not final, and look for refunds made outside Refunder.

        The payments' refund lists also repair a status the provider's record contradicts.
        """
        ctx = self.context
        with ctx.db.reading() as s:
            ids = list(s.scalars(select(Refund.id).where(Refund.status.in_(list(rules.IN_FLIGHT)))
                                 .order_by(Refund.created_at)))
            payments = list(s.scalars(select(Payment.id).where(Payment.provider.in_(list(ctx.providers)),
                                                               Payment.paid_at > ctx.clock() - RECONCILE_HISTORY)))
        refreshed = [self.refresh_refund(refund_id) for refund_id in ids]
        discovered: list[Refund] = []
        for payment_id in payments:
            try:
                discovered += self.payments.sync_payment(payment_id)
            except RefunderError as exc:
                log.warning("payment %s: could not list refunds: %s", payment_id, exc.message)
        return ReconcileReport(refreshed=refreshed, discovered=discovered)

    def apply_updates(self, provider_name: str, updates: list[RefundUpdate]) -> int:
        """Apply a verified webhook's news; refunds we do not know, or of another provider, are skipped.

        News that would free the money or contradict a final status is not taken on the webhook's word: the
        refund is read back from the provider (unless its sender is at it), and the provider's answer applies.
        """
        ctx = self.context
        provider = ctx.provider(provider_name)
        actor = Actor(f"webhook:{provider_name}", f"{provider.label} webhook")
        applied = 0
        for update in updates:
            with ctx.db.reading() as s:
                refund = s.get(Refund, update.refund_id)
                payment = s.get_one(Payment, refund.payment_id) if refund else None
            if refund is None or payment is None or payment.provider != provider_name:
                log.warning("%s webhook names refund %s, which is not one of its refunds", provider_name,
                            update.refund_id)
                continue
            result = update.result
            if not result.confirmed and rules.needs_confirmation(RefundStatus(refund.status), result.status):
                with ctx.db.refund_lock(refund.id) as mine:
                    if not mine:
                        continue  # its sender records the provider's own answer; the follow-up checks after
                    try:
                        with provider_budget(ctx.budget):
                            result = self.payments.with_credentials(payment).refund_status(call_for(payment, refund))
                    except RefundNotAtProvider:
                        log.warning("%s webhook names refund %s, which %s does not have", provider_name, refund.id,
                                    provider.label)
                        continue
                    apply_result(ctx, refund.id, result, actor)
            else:
                apply_result(ctx, update.refund_id, result, actor)
            applied += 1
        return applied

    def _read_back(self, refund_id: str, *, due_by: datetime | None = None) -> Refund:
        """With the refund's lock held: its provider's word on it, or it sent again if the provider never got it."""
        with self.context.db.reading() as s:
            refund = refund_in(s, refund_id)
            payment = s.get_one(Payment, refund.payment_id)
        if refund.status in rules.FINAL or (due_by is not None and refund.status != RefundStatus.PENDING
                                            and refund.next_check_at is not None and refund.next_check_at > due_by):
            return refund  # settled, or read back by someone else since the list was made
        call = call_for(payment, refund)
        try:
            with provider_budget(self.context.budget):
                provider = BANK_TRANSFER if refund.via == VIA_BANK_TRANSFER \
                    else self.payments.with_credentials(payment)
                try:
                    result: ProviderResult | None = provider.refund_status(call)
                except RefundNotAtProvider:
                    log.warning("refund %s: %s never got it and no one is sending it; sending it again with the "
                                "same key", refund_id, provider.name)
                    result = send(provider, call)
                    if result.failure_code == ProviderBusy.code:  # nothing happened: stays in flight, tried later
                        result = None
        except (ProviderError, ProviderUnavailable, ProviderCannotRefund) as exc:
            log.warning("refund %s: read-back failed: %s", refund_id, exc.message)
            result = None
        if result is None and refund.status == RefundStatus.PENDING:  # its sender is gone without an answer
            result = ProviderResult(RefundStatus.UNKNOWN, failure_code=rules.OUTCOME_UNKNOWN)
        return apply_result(self.context, refund.id, result, SYSTEM)
