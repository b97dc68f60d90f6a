"""Manual bank transfer: staff send the money themselves; the refund is recorded, not sent."""

from __future__ import annotations

from ..errors import InvalidRequest
from ..rules import RefundStatus
from .base import PaymentClaim, PaymentFacts, Provider, ProviderResult, RefundCall
from .registry import ProviderSpec, register


class ManualProvider(Provider):
    name = "manual"
    label = "Bank transfer (manual)"
    sends_money = False

    def check_request(self, call: RefundCall) -> None:
        if not call.bank_reference:
            raise InvalidRequest(
                "A manual refund needs the bank transfer's reference, so the refund can be traced.",
                field="bank_reference",
            )

    def payment_facts(self, claim: PaymentClaim) -> PaymentFacts:
        return PaymentFacts(captured=claim.captured, paid_at=claim.paid_at)

    def refund(self, call: RefundCall) -> ProviderResult:
        return ProviderResult(RefundStatus.REFUNDED, provider_reference=call.bank_reference)

    def refund_status(self, call: RefundCall) -> ProviderResult:
        return self.refund(call)


# No detection rule: manual is what an order no provider rule recognises (detection.manual).
SPEC = register(ProviderSpec(name="manual", label=ManualProvider.label,
                             build=lambda settings, mode, clock: ManualProvider()))
