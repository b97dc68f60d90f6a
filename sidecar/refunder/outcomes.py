"""A refund's call to its provider, and the provider's answer applied to the ledger.

A status moves only on the provider's word (rules.next_status); every move is audited and issues the
refund's documents. Shared by the sender (refunds), the follow-up and webhooks (reconcile) and the payment
sync (payments).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from . import rules
from .bookkeeping.issue import DUE_SNAPSHOT, issue_credit_note, issue_documents
from .context import Context
from .ledger.audit import SYSTEM, Actor, audit
from .ledger.models import Payment, Refund
from .money import Money
from .providers.base import Provider, ProviderError, ProviderResult, ProviderUnreachable, RefundCall
from .rules import RefundStatus

log = logging.getLogger(__name__)

# Built once: the refund locked, and its row written (the columns set are the parameters given).
_LOCK_REFUND = select(Refund).where(Refund.id == bindparam("refund_id")).with_for_update()
_UPDATE_REFUND = update(cast(Table, Refund.__table__)).where(Refund.id == bindparam("refund_id"))
_ANSWERED = ("status", "provider_reference", "finalized_at", "updated_at",  # what an answer writes (_changes)
             "failure_code", "failure_message", "failure_params", "next_check_at")
_COLUMNS = tuple(column.key for column in cast(Table, Refund.__table__).c)
_ANSWER_AS_RECORDED = (  # the row as its sender recorded it, returned as written ...
    _UPDATE_REFUND.where(Refund.status == RefundStatus.PENDING, Refund.provider_reference.is_(None))
    .values({name: bindparam(name) for name in _ANSWERED}).returning(*cast(Table, Refund.__table__).c))
_REFUNDED_AS_RECORDED = _ANSWER_AS_RECORDED.returning(*DUE_SNAPSHOT)  # ... and, once refunded, its note's snapshot


def refund_call(payment: Payment, refund_id: str, amount: Money, reason: str, bank_reference: str | None,
                lines: list[dict[str, Any]]) -> RefundCall:
    """The call a refund makes to its provider; its id is its idempotency key at the provider."""
    return RefundCall(
        refund_id=refund_id, idempotency_key=refund_id, payment_reference=payment.reference, amount=amount,
        reason=reason, provider_data=payment.provider_data, bank_reference=bank_reference, lines=lines,
    )


def call_for(payment: Payment, refund: Refund) -> RefundCall:
    return refund_call(payment, refund.id, refund.amount, refund.reason, refund.bank_reference, refund.lines)


def send(provider: Provider, call: RefundCall) -> ProviderResult:
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


def apply_result(context: Context, refund_id: str, result: ProviderResult | None, actor: Actor) -> Refund:
    """Apply the provider's word (None: no news) and schedule the next read-back while in flight: the
    refund's row is written once, with its next read-back time, by a Core UPDATE (no unit of work)."""
    now = context.clock()
    with context.db.transaction() as s:
        return _apply(s, refund_id, result, actor, now)


def apply_answer(context: Context, refund_id: str, recorded_at: datetime, result: ProviderResult) -> Refund:
    """The provider's answer to the refund its sender recorded as pending at `recorded_at`, applied as
    apply_result does, in one Core UPDATE ... RETURNING of the row as recorded (no read before it, no ORM load
    after it: on SQLite, where a read costs no round trip, the ORM load cost more than the read); when the answer
    is "refunded", it returns the order snapshot its credit note rests on too (no read of its own). Should anything
    have moved the refund meanwhile (it is no longer pending, or has a provider reference), the answer is
    applied by apply_result's way instead, to the row as it is."""
    now = context.clock()
    with context.db.transaction() as s:
        changes = _changes(RefundStatus.PENDING, None, result, now)
        if not changes:  # still pending, no reference: only its next read-back is due
            return _apply(s, refund_id, result, SYSTEM, now)
        status = changes["status"]
        answer = {"failure_code": None, "failure_message": None, "failure_params": None, **changes,  # none yet
                  "next_check_at": _next_check(status, now, recorded_at)}
        refunded = status == RefundStatus.REFUNDED
        row = s.connection().execute(_REFUNDED_AS_RECORDED if refunded else _ANSWER_AS_RECORDED,
                                     {"refund_id": refund_id, **answer}).one_or_none()
        if row is None:
            return _apply(s, refund_id, result, SYSTEM, now)
        written = row._mapping
        refund = Refund(**{name: written[name] for name in _COLUMNS})  # in the session as in the ledger (no load)
        make_transient_to_detached(refund)
        s.add(refund)
        if refunded:
            _audit_move(s, refund, RefundStatus.PENDING, result, SYSTEM, now)
            issue_credit_note(s, refund, row, now)  # on the snapshot read with the row
        elif status != RefundStatus.PENDING:
            _moved(s, refund, RefundStatus.PENDING, result, SYSTEM, now)
        return refund


def _apply(s: Session, refund_id: str, result: ProviderResult | None, actor: Actor, now: datetime) -> Refund:
    refund = s.scalars(_LOCK_REFUND, {"refund_id": refund_id}).one()
    before = RefundStatus(refund.status)
    changes = _changes(before, refund.provider_reference, result, now) if result is not None else {}
    status = changes.get("status", before)
    changes["next_check_at"] = _next_check(status, now, refund.created_at)
    changes = {name: value for name, value in changes.items() if getattr(refund, name) != value}
    if changes:
        s.connection().execute(_UPDATE_REFUND, {"refund_id": refund.id, **changes})
        for name, value in changes.items():  # the object as written: nothing left for a flush
            set_committed_value(refund, name, value)
    if status != before and result is not None:
        _moved(s, refund, before, result, actor, now)
    return refund


def _next_check(status: RefundStatus, now: datetime, created_at: datetime) -> datetime | None:
    """When a refund in flight is read back next; None once final."""
    return now + rules.next_follow_up(now - created_at) if status in rules.IN_FLIGHT else None


def transition(s: Session, refund: Refund, result: ProviderResult, actor: Actor, at: datetime) -> None:
    """Move a refund by what its provider reported (rules.next_status), and audit the move."""
    before = RefundStatus(refund.status)
    for name, value in _changes(before, refund.provider_reference, result, at).items():
        setattr(refund, name, value)  # written at the next flush
    if refund.status != before:
        _moved(s, refund, before, result, actor, at)


def _changes(before: RefundStatus, provider_reference: str | None, result: ProviderResult,
             at: datetime) -> dict[str, Any]:
    """The fields of a refund (its status and provider reference given) as its provider's word makes them
    (rules.next_status); empty when it changes nothing."""
    status = rules.next_status(before, result.status, confirmed=result.confirmed)
    if status == before and not (result.provider_reference and not provider_reference):
        return {}
    changes: dict[str, Any] = {"status": status,
                               "provider_reference": provider_reference or result.provider_reference,
                               "finalized_at": at if status in rules.FINAL else None, "updated_at": at}
    if status in (RefundStatus.FAILED, RefundStatus.UNKNOWN):
        changes.update(failure_code=result.failure_code, failure_message=result.failure_message,
                       failure_params=result.failure_params)
    elif status is RefundStatus.REFUNDED:
        changes.update(failure_code=None, failure_message=None, failure_params=None)
    return changes


def _moved(s: Session, refund: Refund, before: RefundStatus, result: ProviderResult, actor: Actor,
          at: datetime) -> None:
    """Audit a refund's move from `before` (its row is written first) and issue its documents."""
    _audit_move(s, refund, before, result, actor, at)
    issue_documents(s, refund, at)  # refunded: its credit note; failed after that: the cancelling document


def _audit_move(s: Session, refund: Refund, before: RefundStatus, result: ProviderResult, actor: Actor,
                at: datetime) -> None:
    detail: dict[str, Any] = {"failure_code": result.failure_code, "failure_params": result.failure_params,
                              "failure_message": result.failure_message} if result.failure_code else {}
    if before in rules.FINAL:
        detail["corrected_from"] = before.value  # the provider's record says otherwise
    audit(s, at, f"refund.{RefundStatus(refund.status)}", actor, payment_id=refund.payment_id, refund=refund,
          amount=refund.amount, provider_reference=refund.provider_reference, detail=detail)
