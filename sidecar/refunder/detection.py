"""Which provider took an order's money, from the facts WooCommerce and its gateway plugins store. Pure.

WordPress sends the order's payment facts (gateway id, title, transaction id, the gateway plugins' order
meta); each provider module contributes a rule (providers.registry.ProviderSpec.detect) and the first rule
that recognises the facts answers. Orders no rule recognises were paid some other way: a manual bank transfer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .errors import ProviderUnavailable, RefundWindowExpired
from .messages import define, render

RECORDED_MODE = "_refunder_payment_mode"  # written by the plugin at payment time (Vipps, Stripe)


class Mode(StrEnum):
    """Which of a provider's two worlds the money moved in; credentials are chosen by it."""

    LIVE = "live"
    TEST = "test"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class OrderFacts:
    """What WooCommerce knows about how an order was paid."""

    order_id: str
    gateway: str = ""  # the order's payment method (gateway id), e.g. "vipps", "stripe_klarna"
    gateway_title: str = ""
    transaction_id: str = ""
    meta: Mapping[str, str] = field(default_factory=dict)

    def get(self, key: str) -> str:
        return self.meta.get(key, "").strip()

    @property
    def manual_reference(self) -> str:
        return f"wc-order-{self.order_id}"


@dataclass(frozen=True)
class Block:
    """Why the provider cannot refund a payment: a stable code and what its sentence mentions (messages.py)."""

    code: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def message(self) -> str:
        return render(self.code, self.params)


@dataclass(frozen=True)
class Detection:
    provider: str
    reference: str
    provider_data: dict[str, str] = field(default_factory=dict)
    mode: Mode = Mode.UNKNOWN
    block: Block | None = None  # None: the provider can refund it (as far as the order shows)
    rule: str = ""  # which rule answered, for the audit trail and support


def recorded_mode(facts: OrderFacts, key: str = RECORDED_MODE) -> Mode:
    """A mode written on the order ("test"/"live"; anything else is unknown)."""
    value = facts.get(key).lower()
    return Mode(value) if value in (Mode.LIVE, Mode.TEST) else Mode.UNKNOWN


def manual(facts: OrderFacts) -> Detection:
    """No provider rule knows the order: the money came some other way and goes back by bank transfer."""
    gateway = facts.gateway or "(none)"
    return Detection("manual", facts.manual_reference,
                     block=Block(NO_PROVIDER, {"gateway": facts.gateway_title or gateway}),
                     rule=f"manual: gateway {gateway}")


def not_refundable(provider: str, reference: str, facts: OrderFacts, block: Block, rule: str,
                   mode: Mode | None = None, provider_data: dict[str, str] | None = None) -> Detection:
    """A payment its provider cannot refund: still recorded under its provider, refunded by bank transfer."""
    return Detection(provider, reference or facts.manual_reference, provider_data or {},
                     recorded_mode(facts) if mode is None else mode, block, rule)


# Why a provider cannot refund a payment (Block.code): stable, for the plugin to translate.
# From the order:
NOT_CAPTURED = define(  # only authorized: nothing taken
    "not_captured", "The payment is only authorized at {provider}, not captured: there is no money to refund. "
                    "Capture it, or cancel the authorization in {provider}.", provider="Stripe")
METHOD_NOT_REFUNDABLE = define(  # e.g. Boleto, OXXO, gift cards
    "method_not_refundable", "{provider} cannot refund payments made with {method_name}. Refund the customer by "
                             "bank transfer.", provider="Stripe", method="boleto", method_name="Boleto")
PAID_BY_BANK_TRANSFER = define(  # Vipps Checkout bank transfer
    "paid_by_bank_transfer", "The customer paid by bank transfer in Vipps Checkout; {provider} cannot refund a bank "
                             "transfer. Refund the customer by bank transfer.", provider="Vipps MobilePay")
PROVIDER_NOT_SUPPORTED = define(  # recognised, no Refunder integration (Vipps Recurring)
    "provider_not_supported", "{provider} payments cannot be refunded through Refunder. Refund the customer by bank "
                              "transfer, or in {provider}'s own portal.", provider="Vipps MobilePay Recurring")
UNKNOWN_PAYMENT_API = define(
    "unknown_payment_api", "The order says {provider} took it through an API Refunder does not know ({api}). Refund "
                           "the customer by bank transfer.", provider="Vipps MobilePay", api="ecom3")
NO_PROVIDER_REFERENCE = define(  # the gateway never got as far as a payment id
    "no_provider_reference", "The order has no {provider} payment reference, so {provider} cannot be asked to refund "
                             "it. Refund the customer by bank transfer if they paid.", provider="Stripe")
# From the credentials (providers.modes):
MODE_UNKNOWN = define(  # neither the order nor a read-only look-up tells test from live
    "mode_unknown", "Refunder cannot tell whether this was a test or a live {provider} payment, so it will not send "
                    "a refund with either set of keys. Refund the customer by bank transfer.", provider="Stripe")
MODE_AMBIGUOUS = define(  # the reference exists among test and live payments
    "mode_ambiguous", "{provider} has a payment {reference} among both its test and its live payments, and the order "
                      "does not say which one this is. Refunder will not guess: refund the customer by bank "
                      "transfer.", provider="Vipps MobilePay", reference="Woo01042")
MODE_NOT_CONFIGURED = define(  # no credentials for the payment's mode
    "mode_not_configured", "This is a {mode} {provider} payment, and the Refunder service has no {mode} credentials "
                           "for {provider} ({settings}).", provider="Stripe", mode="test",
    settings="REFUNDER_STRIPE_TEST_*")
# From the sidecar and the payment's history (capabilities):
PROVIDER_NOT_ENABLED = ProviderUnavailable.code
NO_PROVIDER = define(  # paid outside any provider: bank transfer only
    "no_provider", "Not paid through a payment provider Refunder knows ({gateway}): transfer the money yourself, then "
                   "record the refund on the order.", gateway="Direct bank transfer")
REFUND_WINDOW_EXPIRED = RefundWindowExpired.code  # params: provider, deadline
PROVIDER_REFUSED_PERMANENTLY = define(  # params: the failure as a nested reason, and its code
    "provider_refused_permanently", "{provider} refused the last refund for a reason that will not change: "
                                    "{failure}",
    provider="Stripe", failure_code="stripe_expired_or_canceled_card",
    failure={"code": "stripe_expired_or_canceled_card", "params": {"provider": "Stripe"}})


def no_reference(label: str) -> Block:
    return Block(NO_PROVIDER_REFERENCE, {"provider": label})
