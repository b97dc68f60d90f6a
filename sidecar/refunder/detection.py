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
    """Why the provider cannot refund a payment: a stable code, plain words, and what the words mention."""

    code: str
    message: str
    params: dict[str, Any] = field(default_factory=dict)


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
    return Detection("manual", facts.manual_reference, block=Block(
        NO_PROVIDER, f"Not paid through a payment provider Refunder knows ({facts.gateway_title or gateway}): transfer "
                     "the money yourself, then record the refund on the order.", {"gateway": gateway}),
        rule=f"manual: gateway {gateway}")


def not_refundable(provider: str, reference: str, facts: OrderFacts, block: Block, rule: str,
                   mode: Mode | None = None, provider_data: dict[str, str] | None = None) -> Detection:
    """A payment its provider cannot refund: still recorded under its provider, refunded by bank transfer."""
    return Detection(provider, reference or facts.manual_reference, provider_data or {},
                     recorded_mode(facts) if mode is None else mode, block, rule)


# Why a provider cannot refund a payment (Block.code): stable, for the plugin to translate.
# From the order:
NOT_CAPTURED = "not_captured"  # only authorized: nothing taken
METHOD_NOT_REFUNDABLE = "method_not_refundable"  # e.g. Boleto, OXXO, gift cards (params: method)
PAID_BY_BANK_TRANSFER = "paid_by_bank_transfer"  # Vipps Checkout bank transfer
PROVIDER_NOT_SUPPORTED = "provider_not_supported"  # recognised, no Refunder integration (Vipps Recurring)
UNKNOWN_PAYMENT_API = "unknown_payment_api"
NO_PROVIDER_REFERENCE = "no_provider_reference"  # the gateway never got as far as a payment id
# From the credentials (providers.modes):
MODE_UNKNOWN = "mode_unknown"  # neither the order nor a read-only look-up tells test from live
MODE_AMBIGUOUS = "mode_ambiguous"  # the reference exists among test and live payments
MODE_NOT_CONFIGURED = "mode_not_configured"  # no credentials for the payment's mode (params: mode)
# From the sidecar and the payment's history (capabilities):
PROVIDER_NOT_ENABLED = "provider_not_enabled"
NO_PROVIDER = "no_provider"  # paid outside any provider: bank transfer only
REFUND_WINDOW_EXPIRED = "refund_window_expired"  # params: deadline
PROVIDER_REFUSED_PERMANENTLY = "provider_refused_permanently"  # params: failure_code


def no_reference(label: str) -> Block:
    return Block(NO_PROVIDER_REFERENCE, f"The order has no {label} payment reference, so {label} cannot be asked "
                                        "to refund it. Refund the customer by bank transfer if they paid.",
                 {"provider": label})
