"""Vipps MobilePay Recurring (subscriptions): recognised in orders, not refundable through Refunder.

Refunder has no client for the Recurring API v3 (refunds go to agreements/{agr}/charges/{chg}/refund), so
such orders are refunded by bank transfer, with the reason shown.
"""

from __future__ import annotations

from ..detection import PROVIDER_NOT_SUPPORTED, Block, Detection, OrderFacts, not_refundable
from .registry import ProviderSpec, register

LABEL = "Vipps MobilePay Recurring"


def detect(facts: OrderFacts) -> Detection | None:
    """Gateway `vipps_recurring` of the recurring module bundled with Vipps MobilePay for WooCommerce 6.0.5
    (recurring/includes/wc-gateway-vipps-recurring.php:99); the charge id is `_charge_id` and the transaction id,
    the agreement `_agreement_id` (recurring/includes/wc-vipps-recurring-helper.php:21-56, 337-368)."""
    if facts.gateway != "vipps_recurring":
        return None
    agreement = facts.get("_agreement_id")
    return not_refundable(
        "vipps_recurring", facts.get("_charge_id") or facts.transaction_id, facts,
        Block(PROVIDER_NOT_SUPPORTED, {"provider": LABEL}),
        "vipps_recurring: gateway vipps_recurring", provider_data={"agreement_id": agreement} if agreement else {})


SPEC = register(ProviderSpec(name="vipps_recurring", label=LABEL, detect=detect))
