"""A refund's call to its provider, and the provider's answer applied to the ledger.

A status moves only on the provider's word (rules.next_status); every move is audited and issues the
refund's documents. Shared by the sender (refunds), the follow-up and webhooks (reconcile) and the payment
sync (payments).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from . import rules
from .bookkeeping.issue import issue_documents
from .context import Context
from .ledger.audit import Actor, audit
from .ledger.models import Payment, Refund
from .money import Money
from .providers.base import Provider, ProviderError, ProviderResult, ProviderUnreachable, RefundCall
from .rules import RefundStatus

log = logging.getLogger(__name__)

_LOCK_REFUND = select(Refund).where(Refund.id == bindparam("refund_id")).with_for_update()  # built once


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
    refund's row is written once, with its next read-back time."""
    now = context.clock()
    with context.db.transaction() as s:
        refund = s.scalars(_LOCK_REFUND, {"refund_id": refund_id}).one()
        before = _move(refund, result, now) if result is not None else None
        in_flight = RefundStatus(refund.status) in rules.IN_FLIGHT
        refund.next_check_at = now + rules.next_follow_up(now - refund.created_at) if in_flight else None
        if before is not None and result is not None:
            _moved(s, refund, before, result, actor, now)
        return refund


def transition(s: Session, refund: Refund, result: ProviderResult, actor: Actor, at: datetime) -> None:
    """Move a refund by what its provider reported (rules.next_status), and audit the move."""
    before = _move(refund, result, at)
    if before is not None:
        _moved(s, refund, before, result, actor, at)


def _move(refund: Refund, result: ProviderResult, at: datetime) -> RefundStatus | None:
    """Set the refund's fields as its provider's word makes them (rules.next_status; written at the next flush);
    returns its status before when that changed, else None."""
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
    return before if changed else None


def _moved(s: Session, refund: Refund, before: RefundStatus, result: ProviderResult, actor: Actor,
          at: datetime) -> None:
    """Audit a refund's move from `before` (its row is written first) and issue its documents."""
    detail: dict[str, Any] = {"failure_code": result.failure_code, "failure_params": result.failure_params,
                              "failure_message": result.failure_message} if result.failure_code else {}
    if before in rules.FINAL:
        detail["corrected_from"] = before.value  # the provider's record says otherwise
    audit(s, at, f"refund.{RefundStatus(refund.status)}", actor, payment_id=refund.payment_id, refund=refund,
          amount=refund.amount, provider_reference=refund.provider_reference, detail=detail)
    issue_documents(s, refund, at)  # refunded: its credit note; failed after that: the cancelling document
