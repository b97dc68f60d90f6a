"""The audit trail: who did what to which payment or refund, appended and never changed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from ..money import Money
from .models import AuditEvent, Refund


@dataclass(frozen=True)
class Actor:
    id: str
    name: str


SYSTEM = Actor("system", "Refunder")
# Core, built once: no unit of work for an append; inline: the new row's id is not asked back (no RETURNING)
_APPEND = insert(cast(Table, AuditEvent.__table__)).inline()


def audit(
    s: Session, at: datetime, action: str, actor: Actor, *, payment_id: str, refund: Refund | None = None,
    refund_id: str | None = None, amount: Money | None = None, reason: str | None = None,
    provider_reference: str | None = None, detail: dict[str, Any] | None = None,
) -> None:
    """Append to the audit trail (an INSERT now: rows it refers to that are pending are flushed first).

    `refund_id` names a refund written without the ORM (no Refund object at hand)."""
    s.flush()
    s.connection().execute(_APPEND, dict(
        at=at, action=action, actor_id=actor.id, actor_name=actor.name, payment_id=payment_id,
        refund_id=refund.id if refund else refund_id, amount_minor=amount.minor if amount else None,
        currency=amount.currency if amount else None, reason=reason, provider_reference=provider_reference,
        detail=detail or {},
    ))
