"""Issuing documents in the transaction that moves a refund, numbered from a gapless series.

The next number is taken with one UPDATE of the series' row (a row lock on PostgreSQL; SQLite's transactions
already hold the database's write lock from BEGIN IMMEDIATE) in the same transaction that records the refund
as refunded or failed. If that transaction rolls back, so does the number: no gaps; two transactions can
never hold the row at once: no duplicates; the unique (refund, kind) makes a second issue impossible.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..ledger.models import Payment, Refund
from ..rules import RefundStatus
from . import document
from .models import CreditNote, NoteSeries, PaymentDocument

log = logging.getLogger(__name__)
_SNAPSHOT = select(PaymentDocument.document).where(PaymentDocument.payment_id == bindparam("payment_id"))  # built once


def issue_documents(s: Session, refund: Refund, at: datetime) -> CreditNote | None:
    """A refund that became refunded gets its credit note; one that failed after that, the cancelling document.

    Only refunds whose payment came with an order snapshot are documented (refunds found at a provider,
    made outside Refunder, are the provider's dashboard's to document). Issuing runs in a savepoint, opened
    only when there is something to issue: should it ever fail, the refund is still recorded (and listed in
    the journal without a number), and the number taken is given back, so the series keeps no gap.
    """
    try:
        basis = _basis(s, refund)
        if basis is None:
            return None
        with s.begin_nested():
            return _issue(s, refund, basis, at)
    except Exception:
        log.exception("refund %s: no document issued", refund.id)
        return None


def _basis(s: Session, refund: Refund) -> dict[str, Any] | CreditNote | None:
    """What the refund's document rests on (the order's snapshot document, or the credit note a failure
    cancels); None: no document is due. Every refunded refund asks for the snapshot: a Core row on the session's
    connection (the refund's move is flushed already, by its audit)."""
    if refund.status == RefundStatus.REFUNDED and refund.kind == "requested":
        snapshot = s.connection().execute(_SNAPSHOT, {"payment_id": refund.payment_id}).scalar_one_or_none()
        return snapshot if snapshot is not None and _issued(s, refund.id, "credit_note") is None else None
    if refund.status == RefundStatus.FAILED:
        original = _issued(s, refund.id, "credit_note")
        return original if original is not None and _issued(s, refund.id, "cancellation") is None else None
    return None


def _issue(s: Session, refund: Refund, basis: dict[str, Any] | CreditNote, at: datetime) -> CreditNote:
    if isinstance(basis, dict):
        series = document.series_of(basis)
        number = next_number(s, series)
        payment = s.get_one(Payment, refund.payment_id)
        facts = document.RefundFacts(
            id=refund.id, amount=refund.amount_minor, currency=refund.currency, lines=refund.lines or [],
            reason=None if refund.reason_internal else refund.reason, created_at=refund.created_at.isoformat(),
            provider=payment.provider, provider_reference=refund.provider_reference,
            bank_reference=refund.bank_reference)
        content = document.credit_note(basis, facts, number=number, series=series,
                                       issued_at=at.isoformat())
        return _add(s, refund, "credit_note", series, number, content, at, cancels=None)
    number = next_number(s, basis.series)
    content = document.cancellation(basis.content, number=number, original_id=basis.id, issued_at=at.isoformat())
    return _add(s, refund, "cancellation", basis.series, number, content, at, cancels=basis.id)


def next_number(s: Session, series: str) -> int:
    """The series' next number, held (row-locked) by this transaction until it ends."""
    insert = postgresql.insert if s.get_bind().dialect.name == "postgresql" else sqlite.insert
    s.execute(insert(NoteSeries).values(series=series, last_number=0).on_conflict_do_nothing())
    return int(s.execute(update(NoteSeries).where(NoteSeries.series == series)
                         .values(last_number=NoteSeries.last_number + 1)
                         .returning(NoteSeries.last_number)).scalar_one())


def _issued(s: Session, refund_id: str, kind: str) -> CreditNote | None:
    return s.scalars(select(CreditNote).where(CreditNote.refund_id == refund_id, CreditNote.kind == kind)).one_or_none()


def _add(s: Session, refund: Refund, kind: str, series: str, number: int, content: dict, at: datetime, *,
         cancels: str | None) -> CreditNote:
    note = CreditNote(id=f"cn_{secrets.token_hex(12)}", series=series, number=number, kind=kind,
                      refund_id=refund.id, cancels_id=cancels, issued_at=at, currency=refund.currency,
                      gross_minor=int(content["totals"]["gross"]), content=content)
    s.add(note)
    return note
