"""Credit notes as the API serves them: order snapshots, stored PDFs, customer links and the journal."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import select, update

from ..errors import LinkExpired, LinkInvalid, NotFound, RefundNotFound
from ..ledger.database import Database
from ..ledger.models import Payment, Refund
from ..messages import define
from . import render
from .amounts import percent_text
from .journal import Row
from .models import CreditNote, PaymentDocument

LINK_LIFETIME = timedelta(days=90)  # a customer's download link
_TOKEN_SALT = "refunder.credit-note.v1"


CREDIT_NOTE_NOT_FOUND = define("credit_note_not_found", "No credit note {credit_note_id} is issued.",
                               status=NotFound.status, credit_note_id="cn_0123456789abcdef01234567")
CREDIT_NOTE_NOT_ISSUED = define("credit_note_not_issued", "No credit note has been issued for refund {refund_id} "
                                                          "(yet): it is issued when the money has gone back, for "
                                                          "payments registered with the order's details.",
                                status=NotFound.status, refund_id="rf_0123456789abcdef01234567")


class CreditNotes:
    def __init__(self, db: Database, labels: Mapping[str, str], secret: str,
                 clock: Callable[[], datetime]) -> None:
        self.db = db
        self.labels = labels  # provider name -> what people call it
        self.clock = clock
        self._tokens = URLSafeTimedSerializer(secret, salt=_TOKEN_SALT, signer=_signer_on(clock))

    def remember_document(self, payment_id: str, document: Mapping[str, Any]) -> None:
        """Keep the order's latest snapshot; documents already issued keep the one they were issued with."""
        with self.db.transaction() as s:
            known = s.get(PaymentDocument, payment_id, with_for_update=True)
            if known is None:
                s.add(PaymentDocument(payment_id=payment_id, document=dict(document), updated_at=self.clock()))
            elif known.document != document:
                known.document, known.updated_at = dict(document), self.clock()

    def of_refund(self, refund_id: str) -> list[CreditNote]:
        with self.db.transaction() as s:
            if s.get(Refund, refund_id) is None:
                raise RefundNotFound(refund_id=refund_id)
            return list(s.scalars(select(CreditNote).where(CreditNote.refund_id == refund_id)
                                  .order_by(CreditNote.number)))

    def get(self, note_id: str) -> CreditNote:
        with self.db.transaction() as s:
            note = s.get(CreditNote, note_id)
            if note is None:
                raise NotFound(CREDIT_NOTE_NOT_FOUND, credit_note_id=note_id)
            return note

    def of_kind(self, refund_id: str, kind: str) -> CreditNote:
        note = next((n for n in self.of_refund(refund_id) if n.kind == kind), None)
        if note is None:
            raise NotFound(CREDIT_NOTE_NOT_ISSUED, refund_id=refund_id)
        return note

    def pdf(self, note: CreditNote) -> tuple[bytes, str]:
        """The document's PDF and its SHA-256: rendered once from the frozen content, then always those bytes."""
        if note.pdf is not None and note.pdf_sha256 is not None:
            return note.pdf, note.pdf_sha256
        data = render.pdf(note.content, self.labels.get(note.content["refund"]["provider"],
                                                        note.content["refund"]["provider"]))
        digest = hashlib.sha256(data).hexdigest()
        with self.db.transaction() as s:  # the first to store wins; a concurrent render is thrown away
            s.execute(update(CreditNote).where(CreditNote.id == note.id, CreditNote.pdf.is_(None))
                      .values(pdf=data, pdf_sha256=digest, rendered_at=self.clock()))
            stored = s.get_one(CreditNote, note.id)
            assert stored.pdf is not None and stored.pdf_sha256 is not None
            return stored.pdf, stored.pdf_sha256

    # --- the customer's link --------------------------------------------------------------------------

    def token(self, note: CreditNote) -> str:
        return self._tokens.dumps({"n": note.id})

    def by_token(self, token: str) -> CreditNote:
        try:
            data = self._tokens.loads(token, max_age=int(LINK_LIFETIME.total_seconds()))
        except SignatureExpired:
            raise LinkExpired() from None
        except BadSignature:
            raise LinkInvalid() from None
        if not isinstance(data, dict) or not isinstance(data.get("n"), str):
            raise LinkInvalid()
        return self.get(data["n"])

    # --- the journal ----------------------------------------------------------------------------------

    def journal(self, start: date, end: date, zone: str) -> list[Row]:
        """Documents issued from start to end (days inclusive, in the shop's time zone), and refunds of that
        period without a document, by date."""
        tz = ZoneInfo(zone)
        lower = datetime.combine(start, time(), tz)
        upper = datetime.combine(end + timedelta(days=1), time(), tz)
        with self.db.transaction() as s:
            documents = s.execute(
                select(CreditNote, Refund, Payment).join(Refund, CreditNote.refund_id == Refund.id)
                .join(Payment, Refund.payment_id == Payment.id)
                .where(CreditNote.issued_at >= lower, CreditNote.issued_at < upper)).all()
            bare = s.execute(
                select(Refund, Payment).join(Payment, Refund.payment_id == Payment.id)
                .outerjoin(CreditNote, CreditNote.refund_id == Refund.id)
                .where(CreditNote.id.is_(None), Refund.created_at >= lower, Refund.created_at < upper)).all()
        rows = [self._document_row(note, refund, payment, tz) for note, refund, payment in documents]
        rows += [self._refund_row(refund, payment, tz) for refund, payment in bare]
        return sorted(rows, key=lambda r: (r.date, r.number or 0, r.refund_id))

    def _document_row(self, note: CreditNote, refund: Refund, payment: Payment, tz: ZoneInfo) -> Row:
        c = note.content
        return Row(
            date=note.issued_at.astimezone(tz).date().isoformat(), number=note.number, kind=note.kind,
            order=str(c.get("order", {}).get("number") or payment.order_id), order_id=payment.order_id,
            customer=str(c.get("buyer", {}).get("name") or ""), currency=note.currency, gross=c["totals"]["gross"],
            net=c["totals"]["net"], vat=c["totals"]["vat"],
            by_rate={percent_text(str(v["percent"]), "."): (v["net"], v["vat"]) for v in c["vat"]},
            **self._refund_facts(refund, payment), note_id=note.id)

    def _refund_row(self, refund: Refund, payment: Payment, tz: ZoneInfo) -> Row:
        return Row(date=refund.created_at.astimezone(tz).date().isoformat(), number=None, kind="refund",
                   order=payment.order_id, order_id=payment.order_id, customer="", currency=refund.currency,
                   gross=refund.amount_minor, net=None, vat=None, by_rate={},
                   **self._refund_facts(refund, payment), note_id=None)

    def _refund_facts(self, refund: Refund, payment: Payment) -> dict[str, Any]:
        return {"provider": payment.provider, "provider_label": self.labels.get(payment.provider, payment.provider),
                "reference": refund.provider_reference or refund.bank_reference or "", "staff": refund.actor_name,
                "reason": refund.reason, "reason_internal": refund.reason_internal, "status": refund.status,
                "refund_id": refund.id}


def _signer_on(clock: Callable[[], datetime]) -> type[TimestampSigner]:
    """itsdangerous' timestamp signer, telling time by the sidecar's clock."""
    class ClockSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(clock().timestamp())

    return ClockSigner
