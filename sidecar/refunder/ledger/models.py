"""Ledger tables. Amounts are integer minor units beside their ISO currency."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ..money import Money


def new_id(prefix: str) -> str:
    """A ledger row's id: its kind's prefix and 96 random bits (rf_…, pay_…, bulk_…)."""
    return f"{prefix}_{secrets.token_hex(12)}"


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no zone, so store naive UTC)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the ledger")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


class Base(DeclarativeBase):
    pass


class Payment(Base):
    __tablename__ = "payments"
    __table_args__ = (UniqueConstraint("provider", "reference", name="uq_payments_provider_reference"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    reference: Mapped[str] = mapped_column(String(100))
    order_id: Mapped[str] = mapped_column(String(64), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    captured_minor: Mapped[int] = mapped_column(BigInteger)
    paid_at: Mapped[datetime] = mapped_column(UTCDateTime())
    provider_data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    mode: Mapped[str] = mapped_column(String(8), default="unknown", server_default="unknown")  # live, test, unknown
    gateway: Mapped[str | None] = mapped_column(String(64))  # the WooCommerce payment method, when WordPress said
    refund_block: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # why the provider cannot refund: code, message
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # the provider last gave its facts and refunds

    @property
    def captured(self) -> Money:
        return Money(self.captured_minor, self.currency)


class Refund(Base):
    __tablename__ = "refunds"
    __table_args__ = (UniqueConstraint("payment_id", "external_id", name="uq_refunds_payment_external"),
                      UniqueConstraint("payment_id", "wc_refund_id", name="uq_refunds_payment_wc_refund"),
                      Index("ix_refunds_status_next_check_at", "status", "next_check_at"),
                      Index("ix_refunds_updated_at", "updated_at"))

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    payment_id: Mapped[str] = mapped_column(ForeignKey("payments.id"), index=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16), index=True)
    # requested (through Refunder), external (found at the provider), woocommerce (made in WooCommerce, reported)
    kind: Mapped[str] = mapped_column(String(16), default="requested", server_default="requested")
    via: Mapped[str] = mapped_column(String(16), default="provider", server_default="provider")  # or bank_transfer
    external_id: Mapped[str | None] = mapped_column(String(100))  # provider's id of a refund made outside us
    reason: Mapped[str] = mapped_column(Text)
    reason_internal: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")  # kept off documents
    actor_id: Mapped[str] = mapped_column(String(64))
    actor_name: Mapped[str] = mapped_column(String(200))
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    bank_reference: Mapped[str | None] = mapped_column(String(100))
    provider_reference: Mapped[str | None] = mapped_column(String(100))
    failure_code: Mapped[str | None] = mapped_column(String(64))
    failure_message: Mapped[str | None] = mapped_column(Text)  # failure_code's sentence in English
    failure_params: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # what the sentence names (messages.py)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finalized_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    next_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # in flight: when to read it back
    wc_refund_id: Mapped[str | None] = mapped_column(String(20))  # the WooCommerce refund that records it
    wc_source: Mapped[str | None] = mapped_column(String(32))  # woocommerce: how it came about (manual, gateway …)
    wc_gateway: Mapped[bool | None] = mapped_column(Boolean)  # woocommerce: a gateway moved the money

    @property
    def amount(self) -> Money:
        return Money(self.amount_minor, self.currency)


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    refund_id: Mapped[str] = mapped_column(ForeignKey("refunds.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)  # purged by age (ledger/retention)


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_payment_id_id", "payment_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    action: Mapped[str] = mapped_column(String(64))
    actor_id: Mapped[str] = mapped_column(String(64))
    actor_name: Mapped[str] = mapped_column(String(200))
    payment_id: Mapped[str | None] = mapped_column(ForeignKey("payments.id"))
    refund_id: Mapped[str | None] = mapped_column(ForeignKey("refunds.id"), index=True)
    amount_minor: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))
    reason: Mapped[str | None] = mapped_column(Text)
    provider_reference: Mapped[str | None] = mapped_column(String(100))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class RequestNonce(Base):
    __tablename__ = "request_nonces"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[int] = mapped_column(BigInteger, index=True)  # Unix seconds


class BulkJob(Base):
    """Refund many bookings at once (a cancelled event); items are worked through by `refunder worker`."""

    __tablename__ = "bulk_jobs"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    actor_id: Mapped[str] = mapped_column(String(64))
    actor_name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), index=True)  # queued, running, done
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class BulkItem(Base):
    __tablename__ = "bulk_items"
    __table_args__ = (UniqueConstraint("job_id", "position", name="uq_bulk_items_job_position"),
                      Index("ix_bulk_items_status_due", "status", "due_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("bulk_jobs.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    order_id: Mapped[str] = mapped_column(String(64))
    payment_id: Mapped[str | None] = mapped_column(ForeignKey("payments.id"))
    amount_minor: Mapped[int | None] = mapped_column(BigInteger)  # None: everything still refundable
    status: Mapped[str] = mapped_column(String(16))  # queued, refunded, processing, unknown, failed, skipped
    attempt: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # sendings refused as busy
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())  # not before (rate limits, retries)
    refund_id: Mapped[str | None] = mapped_column(ForeignKey("refunds.id"))
    message: Mapped[str | None] = mapped_column(Text)


class ProviderPace(Base):
    """When the next paced call to a provider may leave (shared by every worker process)."""

    __tablename__ = "provider_pace"

    provider: Mapped[str] = mapped_column(String(32), primary_key=True)
    next_at: Mapped[datetime] = mapped_column(UTCDateTime())
