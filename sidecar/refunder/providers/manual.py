"""Manual bank transfer: staff send the money themselves; the refund is recorded, not sent."""

from __future__ import annotations

from ..errors import InvalidRequest
from ..messages import define
from ..rules import RefundStatus
from .base import PaymentClaim, PaymentFacts, Provider, ProviderResult, RefundCall
from .registry import ProviderSpec, register

BANK_REFERENCE_MISSING = define("bank_reference_missing", "A refund paid back by bank transfer needs the transfer's "
                                                         "reference, so the refund can be traced.",
                                status=InvalidRequest.status, field="bank_reference")


class ManualProvider(Provider):
    name = "manual"
    label = "Bank transfer (manual)"
    sends_money = False

    def check_request(self, call: RefundCall) -> None:
        if not call.bank_reference:
            raise InvalidRequest(BANK_REFERENCE_MISSING, field="bank_reference")

    def payment_facts(self, claim: PaymentClaim) -> PaymentFacts:
        return PaymentFacts(captured=claim.captured, paid_at=claim.paid_at)

    def refund(self, call: RefundCall) -> ProviderResult:
        return ProviderResult(RefundStatus.REFUNDED, provider_reference=call.bank_reference)

    def refund_status(self, call: RefundCall) -> ProviderResult:
        return self.refund(call)


# No detection rule: manual is what an order no provider rule recognises (detection.manual).
SPEC = register(ProviderSpec(name="manual", label=ManualProvider.label,
                             build=lambda settings, mode, clock: ManualProvider()))
