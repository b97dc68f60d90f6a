"""Issuing documents in the transaction that moves a refund, numbered from a gapless series.

The next number is taken with one statement on the series' row, made at 1 or counted on (INSERT ... ON CONFLICT
DO UPDATE ... RETURNING: a row lock on PostgreSQL; SQLite's transactions already hold the database's write lock
from BEGIN IMMEDIATE) in the same transaction that records the refund as refunded or failed. If that transaction
rolls back, so does the number: no gaps; two transactions can never hold the row at once: no duplicates; the
unique (refund, kind) makes a second issue impossible.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Insert, Row, Table, bindparam, exists, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..ledger.models import Payment, Refund
from ..rules import RefundStatus
from . import document
from .models import CreditNote, NoteSeries, PaymentDocument

log = logging.getLogger(__name__)
# Built once (every refunded refund runs them): the order snapshot a refund's credit note rests on while one is due
# (NULL: its payment came with none, or the refund has its note already) and the payment's provider, as two columns
# of a statement on the refund's row (its answer's UPDATE ... RETURNING: no read of their own), found by the
# refund's id (not correlated: SQLite renders RETURNING's columns without their table) ...
_PAYMENT_OF_REFUND = select(Refund.payment_id).where(Refund.id == bindparam("refund_id")).correlate(None)
DUE_SNAPSHOT = (
    select(PaymentDocument.document).where(
        PaymentDocument.payment_id == _PAYMENT_OF_REFUND.scalar_subquery(),
        ~exists().where(CreditNote.refund_id == bindparam("refund_id"), CreditNote.kind == "credit_note"),
    ).scalar_subquery().label("due_snapshot"),
    select(Payment.provider).where(Payment.id == _PAYMENT_OF_REFUND.scalar_subquery())
    .scalar_subquery().label("due_snapshot_provider"),
)
_SNAPSHOT = select(*DUE_SNAPSHOT)  # ... or read on their own (read after the refund's row was written, so no other
# transaction can be issuing its note) ...
# ... a document of the refund's, of one kind ...
_ISSUED = select(CreditNote).where(CreditNote.refund_id == bindparam("refund_id"), CreditNote.kind == bindparam("kind"))
_NEW_NOTE = insert(cast(Table, CreditNote.__table__))  # ... a document added (Core: no unit of work) ...


def _next_in_series(dialect_insert: Any) -> Insert:
    """... and the series' next number, in one statement: its row made at 1, or, when it is there, counted on."""
    new = dialect_insert(NoteSeries).values(series=bindparam("series"), last_number=1)
    return new.on_conflict_do_update(index_elements=[NoteSeries.series],
                                     set_={"last_number": NoteSeries.last_number + 1}).returning(NoteSeries.last_number)


_NEXT = {"postgresql": _next_in_series(postgresql.insert), "sqlite": _next_in_series(sqlite.insert)}


def issue_documents(s: Session, refund: Refund, at: datetime) -> None:
    """A refund that became refunded gets its credit note; one that failed after that, the cancelling document.

    Only refunds whose payment came with an order snapshot are documented (refunds found at a provider,
    made outside Refunder, are the provider's dashboard's to document). Issuing runs in a savepoint, opened
    only when there is something to issue: should it ever fail, the refund is still recorded (and listed in
    the journal without a number), and the number taken is given back, so the series keeps no gap.
    """
    _issue_safely(s, refund, lambda: _basis(s, refund), at)


def issue_credit_note(s: Session, refund: Refund, row: Row[*tuple[Any, ...]], at: datetime) -> None:
    """A refund that just became refunded gets its credit note, as issue_documents would give it, on the snapshot
    read with its row (`row` has the DUE_SNAPSHOT columns)."""
    _issue_safely(s, refund, lambda: _due(row) if refund.kind == "requested" else None, at)


def _issue_safely(s: Session, refund: Refund, basis_of: Callable[[], Snapshot | CreditNote | None],
                  at: datetime) -> None:
    try:
        basis = basis_of()
        if basis is None:
            return
        with _undone_on_failure(s):
            _issue(s, refund, basis, at)
    except Exception:
        log.exception("refund %s: no document issued", refund.id)


@contextmanager
def _undone_on_failure(s: Session) -> Iterator[None]:
    """A savepoint, rolled back to if the work inside fails, else left for the transaction's COMMIT to release
    (a RELEASE would cost PostgreSQL a round trip). Only Core statements run inside, behind the session's back:
    it is flushed first, so none of its changes is written inside and then undone unseen."""
    s.flush()
    ledger = s.connection()
    ledger.exec_driver_sql("SAVEPOINT refunder_issue")
    try:
        yield
    except Exception:
        ledger.exec_driver_sql("ROLLBACK TO SAVEPOINT refunder_issue")
        raise


@dataclass(frozen=True)
class Snapshot:
    """What a credit note rests on: the order as WooCommerce described it, and who took the payment."""

    document: dict[str, Any]
    provider: str


def _basis(s: Session, refund: Refund) -> Snapshot | CreditNote | None:
    """What the refund's document rests on (the order's snapshot, or the credit note a failure cancels); None: no
    document is due. A refunded refund asks for the snapshot (unless it came with its row: issue_credit_note): a Core
    row on the session's connection (the refund's move is flushed already, by its audit)."""
    if refund.status == RefundStatus.REFUNDED and refund.kind == "requested":
        return _due(s.connection().execute(_SNAPSHOT, {"refund_id": refund.id}).one())
    if refund.status == RefundStatus.FAILED:
        original = _issued(s, refund.id, "credit_note")
        return original if original is not None and _issued(s, refund.id, "cancellation") is None else None
    return None


def _due(row: Row[*tuple[Any, ...]]) -> Snapshot | None:
    """The snapshot in a row with the DUE_SNAPSHOT columns; None: no credit note is due."""
    return Snapshot(row.due_snapshot, row.due_snapshot_provider) if row.due_snapshot is not None else None


def _issue(s: Session, refund: Refund, basis: Snapshot | CreditNote, at: datetime) -> None:
    if isinstance(basis, Snapshot):
        series = document.series_of(basis.document)
        number = next_number(s, series)
        facts = document.RefundFacts(
            id=refund.id, amount=refund.amount_minor, currency=refund.currency, lines=refund.lines or [],
            reason=None if refund.reason_internal else refund.reason, created_at=refund.created_at.isoformat(),
            provider=basis.provider, provider_reference=refund.provider_reference,
            bank_reference=refund.bank_reference)
        content = document.credit_note(basis.document, facts, number=number, series=series,
                                       issued_at=at.isoformat())
        _add(s, refund, "credit_note", series, number, content, at, cancels=None)
        return
    number = next_number(s, basis.series)
    content = document.cancellation(basis.content, number=number, original_id=basis.id, issued_at=at.isoformat())
    _add(s, refund, "cancellation", basis.series, number, content, at, cancels=basis.id)


def next_number(s: Session, series: str) -> int:
    """The series' next number, held (row-locked) by this transaction until it ends."""
    return int(s.connection().execute(_NEXT[s.get_bind().dialect.name], {"series": series}).scalar_one())


def _issued(s: Session, refund_id: str, kind: str) -> CreditNote | None:
    return s.scalars(_ISSUED, {"refund_id": refund_id, "kind": kind}).one_or_none()


def _add(s: Session, refund: Refund, kind: str, series: str, number: int, content: dict, at: datetime, *,
         cancels: str | None) -> None:
    s.connection().execute(_NEW_NOTE, dict(
        id=f"cn_{secrets.token_hex(12)}", series=series, number=number, kind=kind, refund_id=refund.id,
        cancels_id=cancels, issued_at=at, currency=refund.currency, gross_minor=int(content["totals"]["gross"]),
        content=content))
