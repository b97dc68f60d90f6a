"""Live and test credentials side by side: each payment is handled with the credentials of its own mode.

A test payment is never sent with live keys, nor the other way round. A payment whose mode the order does not
show is looked up read-only with every set of credentials: found under exactly one, that is its mode; found
under both (Vipps references are the shop's own, so both environments can hold one), it is refused.
"""

from __future__ import annotations

from typing import Any

from ..detection import MODE_AMBIGUOUS, MODE_NOT_CONFIGURED, MODE_UNKNOWN, Block, Mode
from ..errors import ProviderCannotRefund
from .base import (
    PaymentClaim,
    PaymentFacts,
    PaymentNotAtProvider,
    Provider,
    ProviderError,
    ProviderRefund,
    ProviderResult,
    RefundCall,
    RefundUpdate,
    WebhookRejected,
    WebhookRequest,
)


class ModeSwitch(Provider):
    modes = True

    def __init__(self, name: str, label: str, by_mode: dict[Mode, Provider], env_prefix: str) -> None:
        first = next(iter(by_mode.values()))
        self.name, self.label, self.by_mode, self.env_prefix = name, label, by_mode, env_prefix
        self.policy, self.sends_money = first.policy, first.sends_money
        self.partial_refunds, self.line_refunds = first.partial_refunds, first.line_refunds
        self.permanent_failures = first.permanent_failures

    def for_mode(self, mode: Mode) -> Provider:
        if mode is Mode.UNKNOWN:
            raise ProviderCannotRefund(Block(MODE_UNKNOWN, {"provider": self.label}))
        provider = self.by_mode.get(mode)
        if provider is None:
            variables = f"{self.env_prefix}_TEST_*" if mode is Mode.TEST else f"{self.env_prefix}_*"
            raise ProviderCannotRefund(Block(MODE_NOT_CONFIGURED, {"provider": self.label, "mode": str(mode),
                                                                   "settings": variables}))
        return provider

    def payment_facts(self, claim: PaymentClaim) -> PaymentFacts:
        return self.probe(claim)[1]

    def probe(self, claim: PaymentClaim) -> tuple[Mode, PaymentFacts]:
        found: dict[Mode, PaymentFacts] = {}
        for mode, provider in self.by_mode.items():
            try:
                found[mode] = provider.payment_facts(claim)
            except PaymentNotAtProvider:
                continue
        if len(found) > 1:
            raise ProviderCannotRefund(Block(MODE_AMBIGUOUS, {"provider": self.label, "reference": claim.reference}))
        if not found:  # under no mode's credentials
            raise PaymentNotAtProvider(provider=self.label, provider_code="not_found_in_any_mode",
                                       reference=claim.reference)
        return next(iter(found.items()))

    def check_request(self, call: RefundCall) -> None:
        raise AssertionError("use for_mode(): a ModeSwitch sends nothing itself")

    def refund(self, call: RefundCall) -> ProviderResult:
        raise AssertionError("use for_mode(): a ModeSwitch sends nothing itself")

    def refund_status(self, call: RefundCall) -> ProviderResult:
        raise AssertionError("use for_mode(): a ModeSwitch sends nothing itself")

    def list_refunds(self, reference: str, provider_data: dict[str, Any]) -> list[ProviderRefund]:
        raise AssertionError("use for_mode(): a ModeSwitch sends nothing itself")

    def webhook_updates(self, request: WebhookRequest) -> list[RefundUpdate]:
        """A webhook is from whichever mode's secret verifies it (live first)."""
        refusal: Exception = WebhookRejected(provider=self.label)  # no mode's credentials accept it
        for provider in self.by_mode.values():
            try:
                return provider.webhook_updates(request)
            except (WebhookRejected, ProviderError) as exc:
                refusal = exc
        raise refusal
