"""Refund orchestration: ledger checks under the payment's lock, the provider call outside it.

1. Under the lock: idempotency key, refund rules, refund recorded as pending (counts as in flight).
2. No lock: the provider call, with the refund's own idempotency key.
3. Under a transaction: the provider's answer applied through rules.next_status, and audited.

The sender holds the refund's own lock (ledger.locks) throughout. A refund in flight is read back from its
provider by the follow-up (`follow_up`, backing off as it ages), `reconcile` and `refresh`, each holding
that lock, so no refund is worked on twice at once; one whose lock is free and that the provider never
got was abandoned by a sender that died, and is sent again with the same key at once.

Every interaction with a provider (a refund, a read-back, a registration, a check) has one time budget
(providers.budget, REFUNDER_PROVIDER_BUDGET): a refund the provider has not answered within it is `unknown`
and read back later. Reads of payments and refunds answer from the ledger and never call a provider.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, or_, select
from sqlalchemy.orm import Session

from . import rules
from .bookkeeping.issue import issue_documents
from .capabilities import VIA_BANK_TRANSFER, VIA_PROVIDER, Capabilities, LastFailure, ProviderTraits, capabilities
from .detection import (
    MODE_AMBIGUOUS,
    MODE_NOT_CONFIGURED,
    MODE_UNKNOWN,
    NOT_CAPTURED,
    REFUND_WINDOW_EXPIRED,
    Block,
    Mode,
)
from .errors import (
    CURRENCY_CONFLICT,
    LINES_DO_NOT_ADD_UP,
    MODE_CONFLICT,
    IdempotencyConflict,
    InvalidRequest,
    LedgerUnavailable,
    NotFound,
    PaymentConflict,
    PaymentNotFound,
    ProviderCannotRefund,
    ProviderNotAnswering,
    ProviderUnavailable,
    ProviderUnknown,
    RefunderError,
    RefundNotFound,
    RefundOutcomePending,
)
from .ledger.database import Database, once_more_on_conflict
from .ledger.models import AuditEvent, IdempotencyKey, Payment, Refund
from .messages import define, render
from .money import Money
from .providers import label as provider_label
from .providers import specs
from .providers.base import (
    PaymentClaim,
    PaymentFacts,
    Provider,
    ProviderError,
    ProviderRefund,
    ProviderResult,
    ProviderUnreachable,
    RefundCall,
    RefundNotAtProvider,
    RefundUpdate,
)
from .providers.budget import DEFAULT_SECONDS, provider_budget
from .providers.http import NotAsked, ProviderBusy
from .providers.manual import ManualProvider
from .rules import Balance, RefundStatus

SAME_AS_REFUNDER_REFUND = define("same_as_refunder_refund", "The same money as Refunder's refund {refund_id}: it "
                                 "counts once.", refund_id="rf_1")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Actor:
    id: str
    name: str


SYSTEM = Actor("system", "Refunder")


@dataclass(frozen=True)
class RefundRequest:
    amount: Money
    reason: str
    actor: Actor
    lines: list[dict[str, Any]] = field(default_factory=list)
    bank_reference: str | None = None
    reason_internal: bool = False  # kept off the credit note and the customer's e-mail
    via: str | None = None  # provider or bank_transfer; None: the payment's default (capabilities.default_via)


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


@dataclass(frozen=True)
class Registration:
    """How WordPress's order maps to a payment: besides the claim, what detection found."""

    mode: Mode = Mode.UNKNOWN
    block: Block | None = None  # the provider cannot refund it, as the order already shows
    gateway: str | None = None  # the WooCommerce payment method
    rule: str = ""  # the detection rule that answered ("explicit" when WordPress named the provider)


RECONCILE_HISTORY = timedelta(days=400)  # longer than any provider's refund window
# Blocks the provider's credentials caused (not the order): checking with the provider again may lift them.
CREDENTIAL_BLOCKS = frozenset({MODE_UNKNOWN, MODE_AMBIGUOUS, MODE_NOT_CONFIGURED})


@dataclass(frozen=True)
class ReconcileReport:
    refreshed: list[Refund]  # refunds that were not final, as they are now
    discovered: list[Refund]  # refunds found at providers that Refunder did not make


BANK_TRANSFER = ManualProvider()  # how any refund paid back by bank transfer is recorded


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


class RefundService:
    def __init__(self, db: Database, providers: Mapping[str, Provider], clock: Callable[[], datetime],
                 budget: float = DEFAULT_SECONDS) -> None:
        self.db = db
        self.providers = providers
        self.clock = clock
        self.budget = budget  # seconds one interaction with a provider may take (providers.budget)

    def provider(self, name: str) -> Provider:
        try:
            return self.providers[name]
        except KeyError:
            raise ProviderUnavailable(provider=name) from None

    # --- payments ---------------------------------------------------------------------------------

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
        if provider_name not in self.providers and provider_name not in specs():
            raise ProviderUnknown(provider=provider_name)
        rules.check_paid_at(claim.paid_at, self.clock())
        stored = self._stored_mode(provider_name, claim.reference)
        mode, block = registration.mode, registration.block
        if Mode.UNKNOWN not in (mode, stored) and mode != stored:
            raise PaymentConflict(MODE_CONFLICT, recorded_mode=str(stored), mode=str(mode))
        mode = stored if mode is Mode.UNKNOWN else mode
        facts: PaymentFacts | None = None
        provider = self.providers.get(provider_name)
        asked = False
        with provider_budget(self.budget), self._answering(provider_name, claim.reference):
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
                rules.check_paid_at(facts.paid_at, self.clock(), provider=provider_label(provider_name))
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
                with self.db.transaction() as s:
                    return self._upsert_payment(s, provider_name, claim, facts, found, actor, verified=asked)

            payment_id = once_more_on_conflict(upsert)
            try:
                self._sync(payment_id, checked=asked and provider is not None and provider.sends_money)
            except RefunderError as exc:  # the payment is registered; the next sync or reconcile tries again
                if strict:
                    raise
                log.warning("payment %s: could not list refunds at %s: %s", payment_id, provider_name, exc.message)
        return self.payment_view(payment_id)

    def refresh_payment(self, payment_id: str) -> PaymentView:
        """Check with the provider now ("Check with provider"): its facts and its refunds (made elsewhere too).

        Within the time budget; no answer in time is ProviderNotAnswering and the ledger stays as it was. A
        payment no provider can be asked about (bank transfer, not enabled, the order shows why) is answered
        as the ledger has it.
        """
        with self.db.reading() as s:
            payment = self._payment(s, payment_id)
        provider, block = self.providers.get(payment.provider), _block_in(payment)
        if provider is None or not provider.sends_money or (block is not None and block.code not in CREDENTIAL_BLOCKS):
            return self.payment_view(payment_id)
        claim = PaymentClaim(payment.reference, payment.order_id, payment.captured, payment.paid_at,
                             payment.provider_data)
        return self.register_payment(payment.provider, claim, SYSTEM, strict=True, registration=Registration(
            mode=Mode(payment.mode), gateway=payment.gateway, rule="checked with the provider"))

    @contextmanager
    def _answering(self, provider_name: str, reference: str) -> Iterator[None]:
        """A provider that gives no answer within the budget (or was not asked for lack of time) is
        ProviderNotAnswering: it names the provider and, for a known payment, its id and when the ledger's
        figures were last checked with the provider (checked_at, left out when never)."""
        try:
            yield
        except (ProviderUnreachable, NotAsked) as exc:
            with self.db.reading() as s:
                known = s.execute(select(Payment.id, Payment.checked_at).where(
                    Payment.provider == provider_name, Payment.reference == reference)).one_or_none()
            raise ProviderNotAnswering(
                provider=provider_label(provider_name), provider_code=exc.provider_code, budget_seconds=self.budget,
                payment_id=known.id if known else None,
                checked_at=known.checked_at.isoformat() if known and known.checked_at else None) from exc

    def _with_credentials(self, payment: Payment) -> Provider:
        """The provider as the payment's mode; a payment recorded before modes were kept is looked up once."""
        provider = self.provider(payment.provider)
        if payment.mode != Mode.UNKNOWN or not provider.modes:
            return provider.for_mode(Mode(payment.mode))
        claim = PaymentClaim(payment.reference, payment.order_id, payment.captured, payment.paid_at,
                             payment.provider_data)
        mode, _ = provider.probe(claim)
        with self.db.transaction() as s:
            stored = s.get_one(Payment, payment.id)
            if stored.mode == Mode.UNKNOWN:
                _audit(s, self.clock(), "payment.updated", SYSTEM, payment_id=payment.id,
                       detail={"mode_before": stored.mode, "mode": str(mode), "rule": "looked up"})
                stored.mode = mode
        return provider.for_mode(mode)

    def _stored_mode(self, provider_name: str, reference: str) -> Mode:
        with self.db.reading() as s:
            stored = s.scalars(select(Payment.mode).where(Payment.provider == provider_name,
                                                          Payment.reference == reference)).one_or_none()
        return Mode(stored) if stored else Mode.UNKNOWN

    def sync_payment(self, payment_id: str) -> list[Refund]:
        """Record refunds the provider holds that Refunder did not make (e.g. in the provider's dashboard).

        They count as refunded (or in flight) like any other, so they are never refunded a second time.
        """
        with provider_budget(self.budget):
            return self._sync(payment_id, checked=False)

    def _sync(self, payment_id: str, *, checked: bool) -> list[Refund]:
        """sync_payment inside the caller's budget; `checked`: the provider's facts were read just before."""
        with self.db.reading() as s:
            payment = self._payment(s, payment_id)
        if payment.refund_block or payment.provider not in self.providers:
            return []  # nothing the provider could have refunded, or no way to ask it
        provider = self.provider(payment.provider)
        found = self._with_credentials(payment).list_refunds(payment.reference, payment.provider_data)
        discovered: list[Refund] = []
        with self.db.locked_payment(payment_id) as (s, locked):
            assert locked is not None
            ours = {r.id: r for r in s.scalars(select(Refund).where(Refund.payment_id == payment_id,
                                                                     Refund.kind == "requested"))}
            now = self.clock()
            if checked:
                locked.checked_at = now
            for item in found:
                if item.refund_id in ours:
                    if item.result.confirmed:  # the provider's record of it: repairs a wrong final status
                        _transition(s, ours[item.refund_id], item.result, SYSTEM, now)
                    _same_as(s, ours[item.refund_id], item.provider_id, now)
                    continue
                known = s.scalars(select(Refund).where(Refund.payment_id == payment_id,
                                                       Refund.external_id == item.provider_id)).one_or_none()
                if known is not None:
                    _transition(s, known, item.result, SYSTEM, now)
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
                _audit(s, now, "refund.external", Actor(refund.actor_id, refund.actor_name), payment_id=payment_id,
                       refund=refund, amount=item.amount, reason=refund.reason, provider_reference=item.provider_id)
                discovered.append(refund)
        return discovered

    def _upsert_payment(self, s: Session, provider_name: str, claim: PaymentClaim, facts: PaymentFacts,
                        found: Registration, actor: Actor, *, verified: bool) -> str:
        now = self.clock()
        captured = facts.captured
        block = _block_out(found.block)
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
            _audit(s, now, "payment.registered", actor, payment_id=payment.id, amount=captured,
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
            _audit(s, now, "payment.updated", actor, payment_id=payment.id, amount=captured,
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

    def payment_view(self, payment_id: str) -> PaymentView:
        with self.db.reading() as s:
            view, _ = self._view(s, self._payment(s, payment_id), self.clock())
        return view

    def _view(self, s: Session, payment: Payment, since: datetime) -> tuple[PaymentView, int]:
        """The payment's balance, deadline and capabilities, and how many refunds were created after `since`."""
        balance, recent = _standing(s, payment, since)
        last = s.execute(
            select(Refund.status, Refund.failure_code, Refund.failure_params)
            .where(Refund.payment_id == payment.id, Refund.kind == "requested", Refund.via == VIA_PROVIDER,
                   Refund.status.in_(list(rules.FINAL)))
            .order_by(Refund.created_at.desc(), Refund.id.desc()).limit(1)
        ).one_or_none()
        provider = self.providers.get(payment.provider)
        policy = provider.policy if provider else rules.RefundPolicy()
        deadline = rules.refund_deadline(payment.paid_at, policy)
        failure = None
        if provider and last and last.status == RefundStatus.FAILED \
                and last.failure_code in provider.permanent_failures:
            failure = LastFailure(last.failure_code, last.failure_params or {})
        traits = ProviderTraits(provider.label, provider.sends_money, provider.modes, provider.partial_refunds,
                                provider.line_refunds) if provider else None
        can = capabilities(provider_name=payment.provider, provider=traits, payment_block=_block_in(payment),
                           mode=Mode(payment.mode), deadline=deadline, now=self.clock(), permanent_failure=failure)
        return PaymentView(payment, balance, deadline, deadline is None or self.clock() <= deadline, can), recent

    def events(self, payment_id: str) -> list[AuditEvent]:
        with self.db.reading() as s:
            self._payment(s, payment_id)
            query = select(AuditEvent).where(AuditEvent.payment_id == payment_id).order_by(AuditEvent.id)
            return list(s.scalars(query))

    # --- refunds ----------------------------------------------------------------------------------

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
        with self.db.refund_lock(refund_id):  # a fresh id: taken (PostgreSQL: unless its hash collides)
            try:
                recorded = once_more_on_conflict(
                    lambda: self._record(payment_id, refund_id, request, idempotency_key, fingerprint))
            except RefunderError as refused:
                self._audit_refusal(payment_id, request, refused)
                raise
            if isinstance(recorded, Refund):
                return recorded, False
            provider, call = recorded
            if before_sending is not None:
                before_sending()
            with provider_budget(self.budget):
                result = _send(provider, call)
            try:
                return self._apply(call.refund_id, result, SYSTEM), True
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
            with self.db.transaction() as s:
                _audit(s, self.clock(), "refund.refused", request.actor, payment_id=payment_id,
                       amount=request.amount, reason=request.reason,
                       detail={"code": refused.code, "params": refused.params, "via": request.via})
        except RefunderError as exc:
            log.warning("payment %s: refused refund not audited: %s", payment_id, exc.message)

    def _record(
        self, payment_id: str, refund_id: str, request: RefundRequest, idempotency_key: str, fingerprint: str
    ) -> Refund | tuple[Provider, RefundCall]:
        """The refund an idempotency key already made, or the provider call for a newly recorded one.

        All in one transaction holding the payment's lock: the replay check, the payment's capabilities and
        balance, and recording the refund. A bank transfer is never sent anywhere and keeps only the balance
        rules.
        """
        with self.db.locked_payment(payment_id) as (s, payment):
            if payment is None:
                raise PaymentNotFound(payment_id=payment_id)
            known = s.get(IdempotencyKey, idempotency_key)
            if known is not None:
                prior = s.get_one(Refund, known.refund_id)
                if known.fingerprint != fingerprint or prior.payment_id != payment.id:
                    raise IdempotencyConflict()
                return prior
            now = self.clock()
            view, recent = self._view(s, payment, now - timedelta(minutes=1))
            via = request.via or view.capabilities.default_via
            sender: Provider = BANK_TRANSFER
            policy = rules.RefundPolicy()
            blocked = view.capabilities.blocked if via == VIA_PROVIDER else None
            if via == VIA_PROVIDER and (blocked is None or blocked.code == REFUND_WINDOW_EXPIRED):  # rules explain
                provider = self.provider(payment.provider)
                sender, policy, blocked = provider.for_mode(Mode(payment.mode)), provider.policy, None
            if blocked is not None:  # after the replay check: a key that already refunded still answers
                raise ProviderCannotRefund(blocked)
            call = _call(payment, refund_id, request.amount, request.reason, request.bank_reference, request.lines)
            sender.check_request(call)
            _check_lines(request)
            rules.check_refund(balance=view.balance, amount=request.amount, paid_at=payment.paid_at,
                               now=now, policy=policy, refunds_last_minute=recent, provider=sender.label)
            refund = Refund(
                id=call.refund_id, payment_id=payment.id, amount_minor=request.amount.minor,
                currency=request.amount.currency, status=RefundStatus.PENDING, reason=request.reason,
                actor_id=request.actor.id, actor_name=request.actor.name, lines=request.lines,
                bank_reference=request.bank_reference, reason_internal=request.reason_internal, via=via,
                created_at=now, updated_at=now,
                next_check_at=now + rules.FOLLOW_UP_FIRST,
            )
            s.add(refund)
            _audit(s, now, "refund.requested", request.actor, payment_id=payment.id, refund=refund,
                   amount=request.amount, reason=request.reason, detail={"via": via})
            s.add(IdempotencyKey(key=idempotency_key, fingerprint=fingerprint, refund_id=refund.id, created_at=now))
            return sender, call

    def refresh_refund(self, refund_id: str) -> Refund:
        """Read a refund that is not final back from its provider, unless someone is at it right now.

        One the provider never got, and that no one is sending (its lock is free), is sent again with the
        same idempotency key: the provider applies it once, whatever happened before.
        """
        with self.db.refund_lock(refund_id) as mine:
            return self._read_back(refund_id) if mine else self.get_refund(refund_id)

    def follow_up(self, limit: int = 200) -> list[Refund]:
        """Read back the refunds in flight that are due (each less often as it ages); returns those read.

        A pending refund is due at once: its sender holds its lock until the answer is recorded, so one that
        can be locked was left by a sender that died (or whose ledger failed), and is finished now.
        """
        now = self.clock()
        with self.db.reading() as s:
            due = list(s.scalars(select(Refund.id).where(
                Refund.status.in_(list(rules.IN_FLIGHT)),
                or_(Refund.status == RefundStatus.PENDING, Refund.next_check_at.is_(None),
                    Refund.next_check_at <= now),
            ).order_by(Refund.next_check_at).limit(limit)))
        read: list[Refund] = []
        for refund_id in due:
            with self.db.refund_lock(refund_id) as mine:
                if mine:  # not mine: another instance, a refresh or its sender is at it
                    read += [self._read_back(refund_id, due_by=now)]
        return read

    def reconcile(self) -> ReconcileReport:
        """Read back every refund that is not final, and look for refunds made outside Refunder.

        The payments' refund lists also repair a status the provider's record contradicts.
        """
        with self.db.reading() as s:
            ids = list(s.scalars(select(Refund.id).where(Refund.status.in_(list(rules.IN_FLIGHT)))
                                 .order_by(Refund.created_at)))
            payments = list(s.scalars(select(Payment.id).where(Payment.provider.in_(list(self.providers)),
                                                               Payment.paid_at > self.clock() - RECONCILE_HISTORY)))
        refreshed = [self.refresh_refund(refund_id) for refund_id in ids]
        discovered: list[Refund] = []
        for payment_id in payments:
            try:
                discovered += self.sync_payment(payment_id)
            except RefunderError as exc:
                log.warning("payment %s: could not list refunds: %s", payment_id, exc.message)
        return ReconcileReport(refreshed=refreshed, discovered=discovered)

    def _read_back(self, refund_id: str, *, due_by: datetime | None = None) -> Refund:
        """With the refund's lock held: its provider's word on it, or it sent again if the provider never got it."""
        with self.db.reading() as s:
            refund = self._refund(s, refund_id)
            payment = s.get_one(Payment, refund.payment_id)
        if refund.status in rules.FINAL or (due_by is not None and refund.status != RefundStatus.PENDING
                                            and refund.next_check_at is not None and refund.next_check_at > due_by):
            return refund  # settled, or read back by someone else since the list was made
        call = _call(payment, refund.id, refund.amount, refund.reason, refund.bank_reference, refund.lines)
        try:
            with provider_budget(self.budget):
                provider = BANK_TRANSFER if refund.via == VIA_BANK_TRANSFER else self._with_credentials(payment)
                try:
                    result: ProviderResult | None = provider.refund_status(call)
                except RefundNotAtProvider:
                    log.warning("refund %s: %s never got it and no one is sending it; sending it again with the "
                                "same key", refund_id, provider.name)
                    result = _send(provider, call)
                    if result.failure_code == ProviderBusy.code:  # nothing happened: stays in flight, tried later
                        result = None
        except (ProviderError, ProviderUnavailable, ProviderCannotRefund) as exc:
            log.warning("refund %s: read-back failed: %s", refund_id, exc.message)
            result = None
        if result is None and refund.status == RefundStatus.PENDING:  # its sender is gone without an answer
            result = ProviderResult(RefundStatus.UNKNOWN, failure_code=rules.OUTCOME_UNKNOWN)
        return self._apply(refund.id, result, SYSTEM)

    def apply_updates(self, provider_name: str, updates: list[RefundUpdate]) -> int:
        """Apply a verified webhook's news; refunds we do not know, or of another provider, are skipped.

        News that would free the money or contradict a final status is not taken on the webhook's word: the
        refund is read back from the provider (unless its sender is at it), and the provider's answer applies.
        """
        provider = self.provider(provider_name)
        actor = Actor(f"webhook:{provider_name}", f"{provider.label} webhook")
        applied = 0
        for update in updates:
            with self.db.reading() as s:
                refund = s.get(Refund, update.refund_id)
                payment = s.get_one(Payment, refund.payment_id) if refund else None
            if refund is None or payment is None or payment.provider != provider_name:
                log.warning("%s webhook names refund %s, which is not one of its refunds", provider_name,
                            update.refund_id)
                continue
            result = update.result
            if not result.confirmed and rules.needs_confirmation(RefundStatus(refund.status), result.status):
                with self.db.refund_lock(refund.id) as mine:
                    if not mine:
                        continue  # its sender records the provider's own answer; the follow-up checks after
                    try:
                        with provider_budget(self.budget):
                            result = self._with_credentials(payment).refund_status(
                                _call(payment, refund.id, refund.amount, refund.reason, refund.bank_reference,
                                      refund.lines))
                    except RefundNotAtProvider:
                        log.warning("%s webhook names refund %s, which %s does not have", provider_name, refund.id,
                                    provider.label)
                        continue
                    self._apply(refund.id, result, actor)
            else:
                self._apply(update.refund_id, result, actor)
            applied += 1
        return applied

    def _apply(self, refund_id: str, result: ProviderResult | None, actor: Actor) -> Refund:
        """Apply the provider's word (None: no news) and schedule the next read-back while in flight."""
        now = self.clock()
        with self.db.transaction() as s:
            refund = s.scalars(select(Refund).where(Refund.id == refund_id).with_for_update()).one()
            if result is not None:
                _transition(s, refund, result, actor, now)
            in_flight = RefundStatus(refund.status) in rules.IN_FLIGHT
            refund.next_check_at = now + rules.next_follow_up(now - refund.created_at) if in_flight else None
            return refund

    def get_refund(self, refund_id: str) -> Refund:
        with self.db.reading() as s:
            return self._refund(s, refund_id)

    def list_refunds(self, *, payment_id: str | None = None, order_id: str | None = None) -> list[Refund]:
        with self.db.reading() as s:
            query = select(Refund).order_by(Refund.created_at, Refund.id)
            if payment_id is not None:
                self._payment(s, payment_id)
                query = query.where(Refund.payment_id == payment_id)
            if order_id is not None:
                query = query.join(Payment).where(Payment.order_id == order_id)
            return list(s.scalars(query))

    def _payment(self, s: Session, payment_id: str) -> Payment:
        payment = s.get(Payment, payment_id)
        if payment is None:
            raise PaymentNotFound(payment_id=payment_id)
        return payment

    def _refund(self, s: Session, refund_id: str) -> Refund:
        refund = s.get(Refund, refund_id)
        if refund is None:
            raise RefundNotFound(refund_id=refund_id)
        return refund


def _call(payment: Payment, refund_id: str, amount: Money, reason: str, bank_reference: str | None,
          lines: list[dict[str, Any]]) -> RefundCall:
    return RefundCall(
        refund_id=refund_id, idempotency_key=refund_id, payment_reference=payment.reference, amount=amount,
        reason=reason, provider_data=payment.provider_data, bank_reference=bank_reference, lines=lines,
    )


def _send(provider: Provider, call: RefundCall) -> ProviderResult:
    """The provider's answer as a result; an exception is an answer too."""
    try:
        return provider.refund(call)
    except ProviderUnreachable as exc:
        return ProviderResult(RefundStatus.UNKNOWN, failure_code=exc.code, failure_params=exc.params)
    except ProviderError as exc:  # ProviderBusy: one code for every "refused before doing anything", retried later
        return ProviderResult(RefundStatus.FAILED, failure_code=exc.code, failure_params=exc.params)
    except Exception:  # a bug after the request left: money may have moved, so never "failed"
        log.exception("refund %s: unexpected error from provider %s", call.refund_id, provider.name)
        return ProviderResult(RefundStatus.UNKNOWN, failure_code=rules.OUTCOME_UNKNOWN)


def _transition(s: Session, refund: Refund, result: ProviderResult, actor: Actor, at: datetime) -> None:
    """Move a refund by what its provider reported (rules.next_status), and audit the move."""
    before = RefundStatus(refund.status)
    status = rules.next_status(before, result.status, confirmed=result.confirmed)
    changed = status != before
    if changed or (result.provider_reference and not refund.provider_reference):
        refund.status = status
        refund.provider_reference = refund.provider_reference or result.provider_reference
        if status in (RefundStatus.FAILED, RefundStatus.UNKNOWN):
            refund.failure_code, refund.failure_message = result.failure_code, result.failure_message
            refund.failure_params = result.failure_params
        elif status is RefundStatus.REFUNDED:
            refund.failure_code = refund.failure_message = refund.failure_params = None
        refund.finalized_at = at if status in rules.FINAL else None
        refund.updated_at = at
    if changed:
        detail: dict[str, Any] = {"failure_code": result.failure_code, "failure_params": result.failure_params,
                                  "failure_message": result.failure_message} if result.failure_code else {}
        if before in rules.FINAL:
            detail["corrected_from"] = before.value  # the provider's record says otherwise
        _audit(s, at, f"refund.{status}", actor, payment_id=refund.payment_id, refund=refund,
               amount=refund.amount, provider_reference=refund.provider_reference, detail=detail)
        issue_documents(s, refund, at)  # refunded: its credit note; failed after that: the cancelling document


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
    _audit(s, at, "refund.linked", SYSTEM, payment_id=payment_id, refund=record, amount=record.amount,
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
    _audit(s, at, "refund.linked", SYSTEM, payment_id=ours.payment_id, refund=twin, amount=twin.amount,
           provider_reference=provider_id, detail={"same_as": ours.id, "wc_refund_id": twin.wc_refund_id})


def _block_out(block: Block | None) -> dict[str, Any] | None:
    return {"code": block.code, "message": block.message, "params": block.params} if block else None


def _block_in(payment: Payment) -> Block | None:
    stored = payment.refund_block
    return Block(stored["code"], stored.get("params") or {}) if stored else None


def _registration_detail(found: Registration) -> dict[str, Any]:
    detail: dict[str, Any] = {"mode": str(found.mode), "rule": found.rule}
    if found.gateway is not None:
        detail["gateway"] = found.gateway
    if found.block is not None:
        detail["block"] = found.block.code
    return detail


def _check_lines(request: RefundRequest) -> None:
    if request.lines and sum(line["amount"] for line in request.lines) != request.amount.minor:
        raise InvalidRequest(LINES_DO_NOT_ADD_UP, field="lines")


def _standing(s: Session, payment: Payment, since: datetime) -> tuple[Balance, int]:
    """The payment's balance, and how many refunds were created after `since` (one query)."""
    rows = s.execute(
        select(Refund.status, func.coalesce(func.sum(Refund.amount_minor), 0),
               func.count().filter(Refund.created_at > since))
        .where(Refund.payment_id == payment.id)
        .group_by(Refund.status)
    ).all()
    sums = {RefundStatus(status): int(total) for status, total, _ in rows}
    currency = payment.currency
    balance = Balance(
        captured=payment.captured,
        refunded=Money(sums.get(RefundStatus.REFUNDED, 0), currency),
        in_flight=Money(sum(sums.get(st, 0) for st in rules.IN_FLIGHT), currency),
    )
    return balance, sum(int(recent) for _, _, recent in rows)


def _audit(
    s: Session, at: datetime, action: str, actor: Actor, *, payment_id: str, refund: Refund | None = None,
    amount: Money | None = None, reason: str | None = None, provider_reference: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append to the audit trail (an INSERT now: rows it refers to that are pending are flushed first)."""
    s.execute(insert(AuditEvent), [dict(
        at=at, action=action, actor_id=actor.id, actor_name=actor.name, payment_id=payment_id,
        refund_id=refund.id if refund else None, amount_minor=amount.minor if amount else None,
        currency=amount.currency if amount else None, reason=reason, provider_reference=provider_reference,
        detail=detail or {},
    )])
