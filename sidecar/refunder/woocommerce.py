"""WooCommerce's books beside the ledger's: refunds made in WooCommerce itself, and what changed for WordPress.

A refund WooCommerce records that Refunder did not make (staff's manual refund, "Refund via <gateway>", a
gateway plugin's webhook record, "Order fully refunded." on the Refunded status) is reported by the plugin
and counts against what can still be refunded, so Refunder never offers money WooCommerce already shows as
refunded. One record per WooCommerce refund; none where the provider's refund id is already in the ledger:
- a Refunder refund's own provider reference: that refund is the answer (WordPress adopts its record);
- a refund the provider sync found (kind external): that record is linked to the WooCommerce refund;
- otherwise a new record (kind woocommerce), which the provider sync links to later (payments.sync_payment).

WordPress follows the ledger by asking what changed since it last asked (`changes`), in one call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import case, or_, select

from . import rules
from .capabilities import VIA_BANK_TRANSFER, VIA_PROVIDER
from .errors import CurrencyMismatch, InvalidRequest, NotFound, PaymentNotFound
from .ledger.audit import Actor, audit
from .ledger.models import Payment, Refund, new_id
from .messages import define, render
from .money import Money
from .rules import RefundStatus
from .service import RefundService

SOURCES = ("manual", "gateway", "stripe_webhook", "mollie_webhook", "status_change")

WC_REFUND_NOT_FOUND = define("woocommerce_refund_not_found", "No WooCommerce refund {wc_refund_id} is recorded for "
                             "payment {payment_id}.", status=NotFound.status, wc_refund_id="812", payment_id="pay_1")
SINCE_INVALID = define("since_invalid", "{field} is not a time the ledger can compare.", status=InvalidRequest.status,
                       field="since")
DELETED_IN_WOOCOMMERCE = define("deleted_in_woocommerce", "The refund was deleted in WooCommerce; it no longer counts.")


@dataclass(frozen=True)
class WooCommerceRefund:
    """What the plugin reports about a refund WooCommerce recorded by itself."""

    wc_refund_id: str
    amount: Money
    reason: str
    actor: Actor
    gateway_refund: bool  # a gateway moved money (else it was booked, or paid back by hand)
    source: str  # one of SOURCES
    provider_refund_id: str | None = None


class WooCommerceBooks:
    def __init__(self, service: RefundService) -> None:
        self.service = service

    def record(self, payment_id: str, report: WooCommerceRefund) -> tuple[Refund, bool]:
        """The ledger's record of a WooCommerce refund, and whether this report created it."""
        db, now = self.service.db, self.service.clock()
        with db.locked_payment(payment_id) as (s, payment):
            if payment is None:
                raise PaymentNotFound(payment_id=payment_id)
            if report.amount.currency != payment.currency:
                raise CurrencyMismatch(payment_currency=payment.currency, currency=report.amount.currency)
            known = s.scalars(select(Refund).where(Refund.payment_id == payment_id,
                                                   Refund.wc_refund_id == report.wc_refund_id)).one_or_none()
            if known is not None:
                return known, False
            if report.provider_refund_id:
                same = s.scalars(select(Refund).where(
                    Refund.payment_id == payment_id,
                    or_(Refund.provider_reference == report.provider_refund_id,
                        Refund.external_id == report.provider_refund_id),
                ).order_by(case((Refund.kind == "requested", 0), else_=1))).first()  # Refunder's own first
                if same is not None:
                    if same.kind != "requested" and same.wc_refund_id is None:
                        same.wc_refund_id, same.wc_source, same.wc_gateway = (
                            report.wc_refund_id, report.source, report.gateway_refund)
                        audit(s, now, "refund.linked", report.actor, payment_id=payment_id, refund=same,
                               amount=same.amount, provider_reference=report.provider_refund_id,
                               detail={"wc_refund_id": report.wc_refund_id, "source": report.source})
                    return same, False
            refund = Refund(
                id=new_id("rf"), payment_id=payment_id, kind="woocommerce", status=RefundStatus.REFUNDED,
                via=VIA_PROVIDER if report.gateway_refund else VIA_BANK_TRANSFER,
                external_id=report.provider_refund_id, provider_reference=report.provider_refund_id,
                amount_minor=report.amount.minor, currency=report.amount.currency, reason=report.reason,
                actor_id=report.actor.id, actor_name=report.actor.name, lines=[],
                wc_refund_id=report.wc_refund_id, wc_source=report.source, wc_gateway=report.gateway_refund,
                created_at=now, updated_at=now, finalized_at=now,
            )
            s.add(refund)
            audit(s, now, "refund.woocommerce", report.actor, payment_id=payment_id, refund=refund,
                   amount=report.amount, reason=report.reason, provider_reference=report.provider_refund_id,
                   detail={"wc_refund_id": report.wc_refund_id, "source": report.source,
                           "gateway_refund": report.gateway_refund})
            return refund, True

    def deleted(self, payment_id: str, wc_refund_id: str, actor: Actor) -> Refund:
        """WooCommerce deleted its refund: a booking no gateway paid stops counting; money a gateway moved
        is still refunded at the provider, so it keeps counting (the provider sync says if it failed)."""
        db, now = self.service.db, self.service.clock()
        with db.locked_payment(payment_id) as (s, payment):
            refund = None if payment is None else s.scalars(select(Refund).where(
                Refund.payment_id == payment_id, Refund.wc_refund_id == wc_refund_id)).one_or_none()
            if refund is None:
                raise NotFound(WC_REFUND_NOT_FOUND, wc_refund_id=wc_refund_id, payment_id=payment_id)
            freed = refund.kind == "woocommerce" and not refund.wc_gateway and refund.external_id is None
            if freed and refund.status == RefundStatus.REFUNDED:
                refund.status = RefundStatus.FAILED
                refund.failure_code, refund.failure_params = DELETED_IN_WOOCOMMERCE, {}
                refund.failure_message = render(DELETED_IN_WOOCOMMERCE, {})
                refund.updated_at = refund.finalized_at = now
            audit(s, now, "refund.woocommerce_deleted", actor, payment_id=payment_id, refund=refund,
                   amount=refund.amount, detail={"wc_refund_id": wc_refund_id, "still_counts": not freed})
            return refund

    def changes(self, since: datetime, limit: int) -> tuple[list[tuple[Refund, str]], datetime]:
        """Refunds changed at or after `since`, oldest change first, with their order ids; and the time to ask
        from next (the last change returned when there are more, else now)."""
        now = self.service.clock()
        try:  # nothing changed before the earliest payment; a time beyond the calendar in UTC is no time
            since = max(since.astimezone(UTC), rules.EARLIEST_PAYMENT)
        except OverflowError:
            if since.year > rules.EARLIEST_PAYMENT.year:
                raise InvalidRequest(SINCE_INVALID, field="since") from None
            since = rules.EARLIEST_PAYMENT
        with self.service.db.reading() as s:
            rows = [(refund, order_id) for refund, order_id in s.execute(
                select(Refund, Payment.order_id).join(Payment, Payment.id == Refund.payment_id)
                .where(Refund.updated_at >= since).order_by(Refund.updated_at, Refund.id).limit(limit + 1))]
        if len(rows) > limit:
            return rows[:limit], rows[limit - 1][0].updated_at
        return rows, now

