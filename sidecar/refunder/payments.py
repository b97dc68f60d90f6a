"""Payments in the ledger: registered (and refreshed) from what their provider says, and the refunds the
provider holds that Refunder did not make (its dashboard, WooCommerce's gateway refunds) recorded so they count.

Every interaction with a provider has one time budget (providers.budget): no answer within it is
ProviderNotAnswering and the ledger stays as it was.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import rules
from .context import Context
from .detection import MODE_AMBIGUOUS, MODE_NOT_CONFIGURED, MODE_UNKNOWN, NOT_CAPTURED, Block, Mode
from .errors import (
    CURRENCY_CONFLICT,
    MODE_CONFLICT,
    PaymentConflict,
    ProviderCannotRefund,
    ProviderNotAnswering,
    ProviderUnknown,
    RefunderError,
)
from .ledger.audit import SYSTEM, Actor, audit
from .ledger.database import once_more_on_conflict
from .ledger.models import Payment, Refund, new_id
from .messages import define, render
from .money import Money
from .outcomes import transition
from .providers import label as provider_label
from .providers import specs
from .providers.base import PaymentClaim, PaymentFacts, Provider, ProviderRefund, ProviderUnreachable
from .providers.budget import provider_budget
from .providers.http import NotAsked
from .reads import PaymentView, Reads, block_in, block_out
from .reads import payment as payment_in
from .rules import RefundStatus

SAME_AS_REFUNDER_REFUND = define("same_as_refunder_refund", "The same money as Refunder's refund {refund_id}: it "
                                 "counts once.", refund_id="rf_1")
# Blocks the provider's credentials caused (not the order): checking with the provider again may lift them.
CREDENTIAL_BLOCKS = frozenset({MODE_UNKNOWN, MODE_AMBIGUOUS, MODE_NOT_CONFIGURED})

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Registration:
    """How WordPress's order maps to a payment: besides the claim, what detection found."""

    mode: Mode = Mode.UNKNOWN
    block: Block | None = None  # the provider cannot refund it, as the order already shows
    gateway: str | None = None  # the WooCommerce payment method
    rule: str = ""  # the detection rule that answered ("explicit" when WordPress named the provider)


class Payments:
    def __init__(self, context: Context, reads: Reads) -> None:
        self.context = context
        self.reads = reads

    def register_payment(self, provider_name: str, claim: PaymentClaim, actor: Actor,
                         registration: Registration = Registration(), *, strict: bool = False) -> PaymentView:
        """Record a payment (or refresh it) from what the provider says, with the credentials of its mode:
        captured amount and payment time, then the refunds it holds. Everything is checked before anything is
        written; the provider's part has one time budget, and no answer within it is ProviderNotAnswering.

        When the provider cannot refund it (the order shows why, the provider is not enabled, or its mode is
        unknown or has no credentials), it is recorded all the same, with the reason, so that a bank
        transfer can be recorded against it; its captured amount is then the order's (nothing when only
        authorized), and a known payment keeps the captured amount its provider gave before. The refunds the
        provider holds are listed after (a failure there is logged, or raised when `strict`); `checked_at`
        says when the provider last gave both.
        """
        ctx = self.context
        if provider_name not in ctx.providers and provider_name not in specs():
            raise ProviderUnknown(provider=provider_name)
        rules.check_paid_at(claim.paid_at, ctx.clock())
        stored = self._stored_mode(provider_name, claim.reference)
        mode, block = registration.mode, registration.block
        if Mode.UNKNOWN not in (mode, stored) and mode != stored:
            raise PaymentConflict(MODE_CONFLICT, recorded_mode=str(stored), mode=str(mode))
        mode = stored if mode is Mode.UNKNOWN else mode
        facts: PaymentFacts | None = None
        provider = ctx.providers.get(provider_name)
        asked = False
        with provider_budget(ctx.budget), self._answering(provider_name, claim.reference):
            if provider is not None and (block is None or not provider.sends_money):  # bank transfers: the order's word
                try:
                    if mode is Mode.UNKNOWN:
                        mode, facts = provider.probe(claim)
                    else:
                        facts = provider.for_mode(mode).payment_facts(claim)
                    asked = True
                except ProviderCannotRefund as exc:
                    block = exc.block
            if facts is not None:
                rules.check_paid_at(facts.paid_at, ctx.clock(), provider=provider_label(provider_name))
            if facts is not None and facts.captured.currency != claim.captured.currency:
                raise PaymentConflict(CURRENCY_CONFLICT, order_currency=claim.captured.currency,
                                      provider=provider_label(provider_name),
                                      provider_currency=facts.captured.currency)
            if facts is None:  # the order's word, or nothing for an authorization
                captured = Money.zero(claim.captured.currency) if block and block.code == NOT_CAPTURED \
                    else claim.captured
                facts = PaymentFacts(captured=captured, paid_at=claim.paid_at)
            found = replace(registration, mode=mode, block=block)

            def upsert() -> str:
                with ctx.db.transaction() as s:
                    return self._upsert_payment(s, provider_name, claim, facts, found, actor, verified=asked)

            payment_id = once_more_on_conflict(upsert)
            try:
                self._sync(payment_id, checked=asked and provider is not None and provider.sends_money)
            except RefunderError as exc:  # the payment is registered; the next sync or reconcile tries again
                if strict:
                    raise
                log.warning("payment %s: could not list refunds at %s: %s", payment_id, provider_name, exc.message)
        return self.reads.payment_view(payment_id)

    def refresh_payment(self, payment_id: str) -> PaymentView:
        """Check with the provider now ("Check with provider"): its facts and its refunds (made elsewhere too).

        Within the time budget; no answer in time is ProviderNotAnswering and the ledger stays as it was. A
        payment no provider can be asked about (bank transfer, not enabled, the order shows why) is answered
        as the ledger has it.
        """
        with self.context.db.reading() as s:
            payment = payment_in(s, payment_id)
        provider, block = self.context.providers.get(payment.provider), block_in(payment)
        if provider is None or not provider.sends_money or (block is not None and block.code not in CREDENTIAL_BLOCKS):
            return self.reads.payment_view(payment_id)
        claim = PaymentClaim(payment.reference, payment.order_id, payment.captured, payment.paid_at,
                             payment.provider_data)
        return self.register_payment(payment.provider, claim, SYSTEM, strict=True, registration=Registration(
            mode=Mode(payment.mode), gateway=payment.gateway, rule="checked with the provider"))

    def sync_payment(self, payment_id: str) -> list[Refund]:
        """Record refunds the provider holds that Refunder did not make (e.g. in the provider's dashboard).

        They count as refunded (or in flight) like any other, so they are never refunded a second time.
        """
        with provider_budget(self.context.budget):
            return self._sync(payment_id, checked=False)

    def with_credentials(self, payment: Payment) -> Provider:
        """The provider as the payment's mode; a payment recorded before modes were kept is looked up once."""
        ctx = self.context
        provider = ctx.provider(payment.provider)
        if payment.mode != Mode.UNKNOWN or not provider.modes:
            return provider.for_mode(Mode(payment.mode))
        claim = PaymentClaim(payment.reference, payment.order_id, payment.captured, payment.paid_at,
                             payment.provider_data)
        mode, _ = provider.probe(claim)
        with ctx.db.transaction() as s:
            stored = s.get_one(Payment, payment.id)
            if stored.mode == Mode.UNKNOWN:
                audit(s, ctx.clock(), "payment.updated", SYSTEM, payment_id=payment.id,
                      detail={"mode_before": stored.mode, "mode": str(mode), "rule": "looked up"})
                stored.mode = mode
        return provider.for_mode(mode)

    @contextmanager
    def _answering(self, provider_name: str, reference: str) -> Iterator[None]:
        """A provider that gives no answer within the budget (or was not asked for lack of time) is
        ProviderNotAnswering: it names the provider and, for a known payment, its id and when the ledger's
        figures were last checked with the provider (checked_at, left out when never)."""
        try:
            yield
        except (ProviderUnreachable, NotAsked) as exc:
            with self.context.db.reading() as s:
                known = s.execute(select(Payment.id, Payment.checked_at).where(
                    Payment.provider == provider_name, Payment.reference == reference)).one_or_none()
            raise ProviderNotAnswering(
                provider=provider_label(provider_name), provider_code=exc.provider_code,
                budget_seconds=self.context.budget, payment_id=known.id if known else None,
                checked_at=known.checked_at.isoformat() if known and known.checked_at else None) from exc

    def _stored_mode(self, provider_name: str, reference: str) -> Mode:
        with self.context.db.reading() as s:
            stored = s.scalars(select(Payment.mode).where(Payment.provider == provider_name,
                                                          Payment.reference == reference)).one_or_none()
        return Mode(stored) if stored else Mode.UNKNOWN

    def _sync(self, payment_id: str, *, checked: bool) -> list[Refund]:
        """sync_payment inside the caller's budget; `checked`: the provider's facts were read just before."""
        ctx = self.context
        with ctx.db.reading() as s:
            payment = payment_in(s, payment_id)
        if payment.refund_block or payment.provider not in ctx.providers:
            return []  # nothing the provider could have refunded, or no way to ask it
        provider = ctx.provider(payment.provider)
        found = self.with_credentials(payment).list_refunds(payment.reference, payment.provider_data)
        discovered: list[Refund] = []
        with ctx.db.locked_payment(payment_id) as (s, locked):
            assert locked is not None
            ours = {r.id: r for r in s.scalars(select(Refund).where(Refund.payment_id == payment_id,
                                                                     Refund.kind == "requested"))}
            now = ctx.clock()
            if checked:
                locked.checked_at = now
            for item in found:
                if item.refund_id in ours:
                    if item.result.confirmed:  # the provider's record of it: repairs a wrong final status
                        transition(s, ours[item.refund_id], item.result, SYSTEM, now)
                    _same_as(s, ours[item.refund_id], item.provider_id, now)
                    continue
                known = s.scalars(select(Refund).where(Refund.payment_id == payment_id,
                                                       Refund.external_id == item.provider_id)).one_or_none()
                if known is not None:
                    transition(s, known, item.result, SYSTEM, now)
                    continue
                if item.status is RefundStatus.FAILED:
                    continue
                if _link_woocommerce(s, payment_id, item, now):  # a gateway's refund WooCommerce reported
                    continue
                refund = Refund(
                    id=new_id("rf"), payment_id=payment_id, kind="external", external_id=item.provider_id,
                    amount_minor=item.amount.minor, currency=item.amount.currency, status=item.status,
                    reason="Refunded outside Refunder (in the provider's own dashboard or by another system).",
                    actor_id=f"provider:{provider.name}", actor_name=provider.label, lines=[],
                    provider_reference=item.provider_id, created_at=now, updated_at=now,
                    finalized_at=now if item.status in rules.FINAL else None,
                )
                s.add(refund)
                audit(s, now, "refund.external", Actor(refund.actor_id, refund.actor_name), payment_id=payment_id,
                      refund=refund, amount=item.amount, reason=refund.reason, provider_reference=item.provider_id)
                discovered.append(refund)
        return discovered

    def _upsert_payment(self, s: Session, provider_name: str, claim: PaymentClaim, facts: PaymentFacts,
                        found: Registration, actor: Actor, *, verified: bool) -> str:
        now = self.context.clock()
        captured = facts.captured
        block = block_out(found.block)
        payment = s.scalars(
            select(Payment)
            .where(Payment.provider == provider_name, Payment.reference == claim.reference)
            .with_for_update()
        ).one_or_none()
        if payment is None:
            payment = Payment(
                id=new_id("pay"), provider=provider_name, reference=claim.reference, order_id=claim.order_id,
                currency=captured.currency, captured_minor=captured.minor, paid_at=facts.paid_at,
                provider_data=claim.provider_data, mode=found.mode, gateway=found.gateway, refund_block=block,
                created_at=now, updated_at=now,
            )
            s.add(payment)
            audit(s, now, "payment.registered", actor, payment_id=payment.id, amount=captured,
                  detail=_registration_detail(found))
            return payment.id
        if payment.order_id != claim.order_id:
            raise PaymentConflict(recorded_order=payment.order_id, order=claim.order_id)
        paid_at = facts.paid_at
        if not verified:  # only the provider's own figures replace a known captured amount and payment time
            captured, paid_at = payment.captured, payment.paid_at
        changed = (payment.captured_minor != captured.minor, payment.provider_data != claim.provider_data,
                   payment.paid_at != paid_at,
                   payment.mode != found.mode, payment.refund_block != block,
                   found.gateway is not None and payment.gateway != found.gateway)
        if any(changed):
            audit(s, now, "payment.updated", actor, payment_id=payment.id, amount=captured,
                  detail={"captured_before": payment.captured_minor, "paid_at_before": payment.paid_at.isoformat(),
                          "mode_before": payment.mode,
                          "block_before": (payment.refund_block or {}).get("code"), **_registration_detail(found)})
            payment.captured_minor = captured.minor
            payment.provider_data = claim.provider_data
            payment.paid_at = paid_at
            payment.mode, payment.refund_block = found.mode, block
            payment.gateway = found.gateway or payment.gateway
            payment.updated_at = now
        return payment.id


def _link_woocommerce(s: Session, payment_id: str, item: ProviderRefund, at: datetime) -> bool:
    """A provider's refund that WooCommerce reported without its id (Vipps gives none): the oldest unlinked
    gateway-made WooCommerce record of the same amount is that refund; it gets the provider's id."""
    record = s.scalars(select(Refund).where(
        Refund.payment_id == payment_id, Refund.kind == "woocommerce", Refund.wc_gateway.is_(True),
        Refund.external_id.is_(None), Refund.status == RefundStatus.REFUNDED,
        Refund.amount_minor == item.amount.minor, Refund.currency == item.amount.currency,
    ).order_by(Refund.created_at, Refund.id).limit(1)).one_or_none()
    if record is None:
        return False
    record.external_id = item.provider_id
    record.provider_reference = record.provider_reference or item.provider_id
    audit(s, at, "refund.linked", SYSTEM, payment_id=payment_id, refund=record, amount=record.amount,
          provider_reference=item.provider_id, detail={"wc_refund_id": record.wc_refund_id})
    return True


def _same_as(s: Session, ours: Refund, provider_id: str, at: datetime) -> None:
    """A WooCommerce record that carries our refund's provider id (reported before we knew the id) is the same
    money: it stops counting."""
    twin = s.scalars(select(Refund).where(Refund.payment_id == ours.payment_id, Refund.kind == "woocommerce",
                                          Refund.external_id == provider_id,
                                          Refund.status == RefundStatus.REFUNDED)).one_or_none()
    if twin is None:
        return
    twin.status = RefundStatus.FAILED
    twin.failure_code, twin.failure_params = SAME_AS_REFUNDER_REFUND, {"refund_id": ours.id}
    twin.failure_message = render(SAME_AS_REFUNDER_REFUND, twin.failure_params)
    twin.updated_at = twin.finalized_at = at
    audit(s, at, "refund.linked", SYSTEM, payment_id=ours.payment_id, refund=twin, amount=twin.amount,
          provider_reference=provider_id, detail={"same_as": ours.id, "wc_refund_id": twin.wc_refund_id})


def _registration_detail(found: Registration) -> dict[str, Any]:
    detail: dict[str, Any] = {"mode": str(found.mode), "rule": found.rule}
    if found.gateway is not None:
        detail["gateway"] = found.gateway
    if found.block is not None:
        detail["block"] = found.block.code
    return detail
