"""Bookkeeping tables: the order snapshot per payment, number series, and issued documents."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..ledger.models import Base, UTCDateTime


class PaymentDocument(Base):
    """What WooCommerce says about the order behind a payment (seller, buyer, lines, tax), as last registered."""

    __tablename__ = "payment_documents"

    payment_id: Mapped[str] = mapped_column(ForeignKey("payments.id"), primary_key=True)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class NoteSeries(Base):
    """The last number given in one gapless series (one per seller)."""

    __tablename__ = "credit_note_series"

    series: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_number: Mapped[int] = mapped_column(BigInteger)


class CreditNote(Base):
    """An issued document: a credit note, or the document that cancels one. Never changed once the PDF is stored."""

    __tablename__ = "credit_notes"
    __table_args__ = (UniqueConstraint("series", "number", name="uq_credit_notes_series_number"),
                      UniqueConstraint("refund_id", "kind", name="uq_credit_notes_refund_kind"))

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    series: Mapped[str] = mapped_column(String(64))
    number: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))  # credit_note, cancellation
    refund_id: Mapped[str] = mapped_column(ForeignKey("refunds.id"), index=True)
    cancels_id: Mapped[str | None] = mapped_column(ForeignKey("credit_notes.id"))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    gross_minor: Mapped[int] = mapped_column(BigInteger)  # negative on a cancellation
    content: Mapped[dict[str, Any]] = mapped_column(JSON)  # everything the document shows, frozen when issued
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary)
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    rendered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
