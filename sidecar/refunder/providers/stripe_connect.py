"""Stripe Connect ("BT Pay"): a platform's card service refunding its merchants' payments.

Per payment (provider_data): charge_type "direct" (the charge lives on the connected account: calls carry
Stripe-Account) or "destination" (the charge lives on the platform: the transfer is reversed and the
application fee refunded with it).

Stripe sends their events to two webhook endpoints, each with its own signing secret: the platform's own
events (destination charges) to /webhooks/stripe_connect (`webhook_secret`), events of connected accounts
(direct charges) to /webhooks/stripe_connect/accounts (`accounts_webhook_secret`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..detection import Mode
from ..errors import InvalidRequest
from ..messages import define
from .base import WEBHOOK_ACCOUNT_MISSING, PaymentClaim, PaymentFacts, RefundCall, WebhookRejected, WebhookRequest
from .registry import ProviderSpec, register
from .stripe_cards import StripeProvider, StripeSettings, check_key

_ACCOUNT = re.compile(r"^acct_[A-Za-z0-9]+$")
ACCOUNTS_ENDPOINT = "accounts"  # /webhooks/stripe_connect/accounts: events of connected accounts
LABEL = "BT Pay (Stripe Connect)"
CHARGE_TYPE_MISSING = define("stripe_connect_charge_type_missing", 'A {provider} payment needs '
                                                                   'provider_data.charge_type "direct" or '
                                                                   '"destination".',
                             status=InvalidRequest.status, provider=LABEL, field="provider_data")
ACCOUNT_MISSING = define("stripe_connect_account_missing", "A direct {provider} charge needs provider_data.account "
                                                           "(acct_...).",
                         status=InvalidRequest.status, provider=LABEL, field="provider_data")


@dataclass(frozen=True)
class StripeConnectSettings(StripeSettings):
    accounts_webhook_secret: str = field(default="", repr=False)  # the Connect endpoint's signing secret


class StripeConnectProvider(StripeProvider):
    name = "stripe_connect"
    label = LABEL
    settings: StripeConnectSettings

    def _webhook_secret(self, endpoint: str) -> str:
        if endpoint == ACCOUNTS_ENDPOINT:
            return self.settings.accounts_webhook_secret
        return super()._webhook_secret(endpoint)

    def _verified_event(self, request: WebhookRequest) -> Any:
        event = super()._verified_event(request)
        if request.endpoint == ACCOUNTS_ENDPOINT and not isinstance(event.get("account"), str):
            raise WebhookRejected(WEBHOOK_ACCOUNT_MISSING)
        return event

    @staticmethod
    def _charge_type(provider_data: dict[str, Any]) -> str:
        charge_type = provider_data.get("charge_type", "")
        if charge_type not in ("direct", "destination"):
            raise InvalidRequest(CHARGE_TYPE_MISSING, field="provider_data", provider=LABEL)
        if charge_type == "direct" and not _ACCOUNT.match(provider_data.get("account", "")):
            raise InvalidRequest(ACCOUNT_MISSING, field="provider_data", provider=LABEL)
        return charge_type

    def _options(self, provider_data: dict[str, Any]) -> Any:
        if self._charge_type(provider_data) == "direct":
            return {"stripe_account": provider_data["account"]}
        return {}

    def _refund_params(self, provider_data: dict[str, Any]) -> dict[str, Any]:
        if self._charge_type(provider_data) == "destination":
            return {"reverse_transfer": True, "refund_application_fee": True}
        return {"refund_application_fee": provider_data.get("refund_application_fee", "true") == "true"}

    def check_request(self, call: RefundCall) -> None:
        self._charge_type(call.provider_data)

    def payment_facts(self, claim: PaymentClaim) -> PaymentFacts:
        self._charge_type(claim.provider_data)
        return super().payment_facts(claim)


def _check(settings: StripeSettings, mode: Mode) -> None:
    check_key(settings, mode, "stripe_connect")


# Booking systems name BT Pay payments through the plugin's refunder_payment_source filter: no detection rule.
SPEC = register(ProviderSpec(
    name="stripe_connect", label=StripeConnectProvider.label, settings=StripeConnectSettings, modes=True, check=_check,
    build=lambda settings, mode, clock: StripeConnectProvider(settings, clock)))
