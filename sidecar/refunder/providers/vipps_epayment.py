"""Vipps MobilePay ePayment API: refund, payment aggregate, event log read-back, webhooks."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from ..detection import (
    PAID_BY_BANK_TRANSFER,
    UNKNOWN_PAYMENT_API,
    Block,
    Detection,
    Mode,
    OrderFacts,
    no_reference,
    not_refundable,
    recorded_mode,
)
from ..money import Money
from ..rules import RefundPolicy, RefundStatus
from . import vipps_webhooks
from .base import (
    PaymentClaim,
    PaymentFacts,
    PaymentNotAtProvider,
    Provider,
    ProviderError,
    ProviderRefund,
    ProviderResult,
    RefundCall,
    RefundNotAtProvider,
    RefundUpdate,
    WebhookRejected,
    WebhookRequest,
)
from .http import Transport
from .registry import ProviderSpec, register
from .vipps_client import GATEWAYS, LABEL, VippsClient, VippsSettings, for_mode, vipps_reference

# ErrorCode (in extraDetails) -> what staff are told. Codes not here show Vipps' own title and detail.
ERRORS = {
    "6150": "Vipps says the amount is more than is left to refund on this payment.",
    "6180": "Vipps says this payment is already fully refunded.",
    "6220": "Vipps refunds are possible only within 365 days of the payment. Refund the customer by bank "
            "transfer instead.",
    "5090": "Vipps does not know this payment reference.",
}
LOCKED = "6160"  # another change to the payment is in progress: retried


def error_code(response: requests.Response) -> str:
    """The ErrorCode in a Vipps problem document's extraDetails, or ""."""
    if response.ok:
        return ""
    try:
        body = response.json()
    except ValueError:
        return ""
    details = (body.get("extraDetails") if isinstance(body, dict) else None) or []
    return next((str(d.get("reason")) for d in details if d.get("name") == "ErrorCode"), "")


def refused(response: requests.Response) -> ProviderError:
    code = error_code(response)
    if code in ERRORS:
        return ProviderError(ERRORS[code], provider_code=f"vipps_{code}")
    if response.status_code in (401, 403):
        return ProviderError(f"{LABEL} refused the sidecar's API keys. Check the Vipps settings.",
                             provider_code="auth_failed")
    try:
        body = response.json()
        said = ": ".join(str(body[k]) for k in ("title", "detail") if body.get(k))
    except ValueError:
        said = ""
    return ProviderError(f"{LABEL} refused the refund (HTTP {response.status_code}{', ' + said if said else ''}).",
                         provider_code=f"vipps_{code or response.status_code}")


class VippsEPaymentProvider(Provider):
    name = "vipps"
    label = LABEL
    policy = RefundPolicy(window=timedelta(days=365), max_per_minute=5, max_per_second=10)
    permanent_failures = frozenset({"vipps_6220"})  # refund period over

    def __init__(self, settings: VippsSettings, clock: Callable[[], datetime], transport: Transport | None = None):
        self.settings = settings
        self.client = VippsClient(settings, clock, transport)

    def _send(self, method: str, path: str, *, key: str | None = None, body: Any = None) -> requests.Response:
        return self.client.send(method, path, headers={"Idempotency-Key": key} if key else None, body=body,
                                busy=lambda r: r.status_code in (423, 429) or error_code(r) == LOCKED)

    @staticmethod
    def _path(reference: str, tail: str = "") -> str:
        return f"/epayment/v1/payments/{quote(reference, safe='')}{tail}"

    def payment_facts(self, claim: PaymentClaim) -> PaymentFacts:
        response = self._send("GET", self._path(claim.reference))
        if response.status_code == 404:
            raise PaymentNotAtProvider(f"{LABEL} has no payment with reference {claim.reference}.",
                                       provider_code="vipps_5090")
        if response.status_code != 200:
            raise refused(response)
        captured = response.json()["aggregate"]["capturedAmount"]
        return PaymentFacts(captured=Money(int(captured["value"]), captured["currency"]), paid_at=claim.paid_at)

    def refund(self, call: RefundCall) -> ProviderResult:
        body = {"modificationAmount": {"currency": call.amount.currency, "value": call.amount.minor}}
        response = self._send("POST", self._path(call.payment_reference, "/refund"), key=call.idempotency_key,
                              body=body)
        if response.status_code != 200:
            raise refused(response)
        return ProviderResult(RefundStatus.REFUNDED, provider_reference=response.json().get("pspReference"))

    def _events(self, reference: str) -> list[dict[str, Any]]:
        response = self._send("GET", self._path(reference, "/events"))
        if response.status_code != 200:
            raise refused(response)
        return list(response.json())

    def list_refunds(self, reference: str, provider_data: dict[str, Any]) -> list[ProviderRefund]:
        return [ProviderRefund(provider_id=e.get("pspReference") or e.get("idempotencyKey", ""),
                               amount=Money(int(e["amount"]["value"]), e["amount"]["currency"]),
                               status=_event_result(e).status,
                               refund_id=e["idempotencyKey"] if str(e.get("idempotencyKey", "")).startswith("rf_")
                               else None)
                for e in self._events(reference) if e.get("name") == "REFUNDED"]

    def refund_status(self, call: RefundCall) -> ProviderResult:
        for event in self._events(call.payment_reference):
            if event.get("name") == "REFUNDED" and event.get("idempotencyKey") == call.idempotency_key:
                return _event_result(event)
        raise RefundNotAtProvider(f"{LABEL} has no refund made with key {call.idempotency_key}.")

    def webhook_updates(self, request: WebhookRequest) -> list[RefundUpdate]:
        url = urlsplit(request.url)
        vipps_webhooks.verify(self.settings.webhook_secret, method=request.method,
                              path_and_query=url.path + (f"?{url.query}" if url.query else ""),
                              host=url.netloc, headers=request.headers, body=request.body)
        try:
            event = json.loads(request.body)
        except ValueError:
            raise WebhookRejected("The Vipps webhook body is not JSON.") from None
        if event.get("name") != "REFUNDED" or not str(event.get("idempotencyKey", "")).startswith("rf_"):
            return []
        return [RefundUpdate(refund_id=event["idempotencyKey"], result=_event_result(event))]


def _event_result(event: dict[str, Any]) -> ProviderResult:
    if event.get("success"):
        return ProviderResult(RefundStatus.REFUNDED, provider_reference=event.get("pspReference"))
    return ProviderResult(RefundStatus.FAILED, provider_reference=event.get("pspReference"),
                          failure_code="vipps_refund_failed", failure_message=f"{LABEL} reports the refund failed.")


def detect(facts: OrderFacts) -> Detection | None:
    """Vipps MobilePay for WooCommerce 6.0.5 orders that carry `_vipps_api` (those without are eCom: vipps_ecom).

    `_vipps_api` is written by VippsApi.class.php:563 ("epayment": wallet, card, Express) and
    WC_Gateway_Vipps.class.php:3806 (Checkout), and set to "banktransfer" for Vipps Checkout bank
    transfers (WC_Gateway_Vipps.class.php:2955, 3420), which the plugin itself refuses to refund (:2216-2219).
    The plugin stores no test/live marker: the mode is what Refunder recorded at payment time, and card
    payments are live only (WC_Gateway_VippsCard.class.php:80: not offered in test mode).
    """
    api = facts.get("_vipps_api")
    if facts.gateway not in GATEWAYS or not api:
        return None
    reference, rule = vipps_reference(facts), f"vipps: gateway {facts.gateway}, _vipps_api={api}"
    mode = recorded_mode(facts)
    if facts.gateway == "vipps_card" and mode is Mode.UNKNOWN:
        mode = Mode.LIVE
    if api == "banktransfer":
        return not_refundable("vipps", reference, facts, Block(
            PAID_BY_BANK_TRANSFER, "The customer paid by bank transfer in Vipps Checkout; Vipps MobilePay cannot "
                                   "refund a bank transfer. Refund the customer by bank transfer.",
            {"provider": LABEL}), rule, mode)
    if api != "epayment":
        return not_refundable("vipps", reference, facts, Block(
            UNKNOWN_PAYMENT_API, f"The order says Vipps MobilePay took it through an API Refunder does not know "
                                   f"({api}). Refund the customer by bank transfer.",
            {"provider": LABEL, "api": api}), rule, mode)
    if not reference:
        return not_refundable("vipps", reference, facts, no_reference(LABEL), rule, mode)
    return Detection("vipps", reference, mode=mode, rule=rule)


SPEC = register(ProviderSpec(
    name="vipps", label=LABEL, settings=VippsSettings, modes=True, internal=frozenset({"environment"}),
    build=lambda settings, mode, clock: VippsEPaymentProvider(for_mode(settings, mode), clock), detect=detect))
