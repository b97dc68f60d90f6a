"""Vipps MobilePay ePayment API: refund, payment aggregate, event log read-back, webhooks."""

from __future__ import annotations

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
from ..messages import define
from ..money import Money
from ..rules import RefundPolicy, RefundStatus
from . import vipps_webhooks
from .base import (
    PROVIDER_AUTH_FAILED,
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
    WebhookRequest,
    webhook_event,
)
from .http import Transport
from .registry import ProviderSpec, register
from .vipps_client import GATEWAYS, LABEL, VippsClient, VippsSettings, for_mode, parse_time, vipps_reference

# ErrorCode (in extraDetails) -> our code (vipps_<ErrorCode>) and what staff are told. Codes not here are
# provider_declined with Vipps' own title and detail.
ERRORS = {code: define(f"vipps_{code}", template, status=ProviderError.status, provider=LABEL, provider_code=code)
          for code, template in {
              "6150": "{provider} says the amount is more than is left to refund on this payment.",
              "6180": "{provider} says this payment is already fully refunded.",
              "6220": "{provider} refunds are possible only within 365 days of the payment. Refund the customer by "
                      "bank transfer instead.",
              "5090": "{provider} does not know this payment reference.",
          }.items()}
REFUND_FAILED = define("vipps_refund_failed", "{provider} reports the refund failed.", provider=LABEL)
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
        return ProviderError(ERRORS[code], provider=LABEL, provider_code=code)
    if response.status_code in (401, 403):
        return ProviderError(PROVIDER_AUTH_FAILED, provider=LABEL, provider_code=str(response.status_code))
    try:
        body = response.json()
        said = ": ".join(str(body[k]) for k in ("title", "detail") if body.get(k))
    except ValueError:
        said = ""
    return ProviderError(provider=LABEL, http_status=response.status_code, provider_code=code,
                         said=said or code or "-")


class VippsEPaymentProvider(Provider):
    name = "vipps"
    label = LABEL
    policy = RefundPolicy(window=timedelta(days=365), max_per_minute=5, max_per_second=10)
    permanent_failures = frozenset({ERRORS["6220"]})  # refund period over

    def __init__(self, settings: VippsSettings, clock: Callable[[], datetime], transport: Transport | None = None):
        self.settings, self.clock = settings, clock
        self.client = VippsClient(settings, clock, transport)

    def warm_up(self) -> None:
        self.client.tokens.get()

    def _send(self, method: str, path: str, *, key: str | None = None, body: Any = None) -> requests.Response:
        return self.client.send(method, path, headers={"Idempotency-Key": key} if key else None, body=body,
                                busy=lambda r: r.status_code in (423, 429) or error_code(r) == LOCKED)

    @staticmethod
    def _path(reference: str, tail: str = "") -> str:
        return f"/epayment/v1/payments/{quote(reference, safe='')}{tail}"

    def payment_facts(self, claim: PaymentClaim) -> PaymentFacts:
        """Captured from the aggregate; the payment time (the refund window's start) from its event log."""
        response = self._send("GET", self._path(claim.reference))
        if response.status_code == 404:
            raise PaymentNotAtProvider(provider=LABEL, provider_code="5090", reference=claim.reference)
        if response.status_code != 200:
            raise refused(response)
        captured = response.json()["aggregate"]["capturedAmount"]
        return PaymentFacts(captured=Money(int(captured["value"]), captured["currency"]),
                            paid_at=_authorized_at(self._events(claim.reference)) or claim.paid_at)

    def refund(self, call: RefundCall) -> ProviderResult:
        body = {"modificationAmount": {"currency": call.amount.currency, "value": call.amount.minor}}
        response = self._send("POST", self._path(call.payment_reference, "/refund"), key=call.idempotency_key,
                              body=body)
        if response.status_code != 200:
            raise refused(response)
        return ProviderResult(RefundStatus.REFUNDED, provider_reference=response.json().get("pspReference"),
                              confirmed=True)

    def _events(self, reference: str) -> list[dict[str, Any]]:
        response = self._send("GET", self._path(reference, "/events"))
        if response.status_code != 200:
            raise refused(response)
        return list(response.json())

    def list_refunds(self, reference: str, provider_data: dict[str, Any]) -> list[ProviderRefund]:
        """Ours once each (every attempt with one key taken together), others one per event."""
        events = [e for e in self._events(reference) if e.get("name") == "REFUNDED"]
        ours = _outcomes(events)
        listed = [ProviderRefund(provider_id=result.provider_reference or key, amount=_amount(event), result=result,
                                 refund_id=key)
                  for key, (event, result) in ours.items()]
        return listed + [ProviderRefund(provider_id=e.get("pspReference") or e.get("idempotencyKey") or "",
                                        amount=_amount(e), result=_event_result(e), refund_id=None)
                         for e in events if e.get("idempotencyKey") not in ours]

    def refund_status(self, call: RefundCall) -> ProviderResult:
        """Every event logged under the refund's key, taken together: one success means it was refunded."""
        found = _outcomes(self._events(call.payment_reference)).get(call.idempotency_key)
        if found is None:
            raise RefundNotAtProvider(provider=LABEL, refund_id=call.idempotency_key)
        return found[1]

    def webhook_updates(self, request: WebhookRequest) -> list[RefundUpdate]:
        url = urlsplit(request.url)
        vipps_webhooks.verify(self.settings.webhook_secret, method=request.method,
                              path_and_query=url.path + (f"?{url.query}" if url.query else ""),
                              host=url.netloc, headers=request.headers, body=request.body, now=self.clock())
        event = webhook_event(request.body, LABEL)
        if event.get("name") != "REFUNDED" or not str(event.get("idempotencyKey", "")).startswith("rf_"):
            return []
        return [RefundUpdate(refund_id=event["idempotencyKey"], result=_event_result(event))]


def _event_result(event: dict[str, Any]) -> ProviderResult:
    """One attempt's event. A success is Vipps' word that the money was sent (a Vipps refund never fails
    afterwards); a failure is only news: another attempt with the same key may have succeeded."""
    if event.get("success"):
        return ProviderResult(RefundStatus.REFUNDED, provider_reference=event.get("pspReference"), confirmed=True)
    return ProviderResult(RefundStatus.FAILED, provider_reference=event.get("pspReference"),
                          failure_code=REFUND_FAILED, failure_params={"provider": LABEL})


def _outcomes(events: list[dict[str, Any]]) -> dict[str, tuple[dict[str, Any], ProviderResult]]:
    """Our refunds (keys rf_...) by key, each with the event that decides it: a success, else the last failure."""
    found: dict[str, tuple[dict[str, Any], ProviderResult]] = {}
    for event in events:
        key = str(event.get("idempotencyKey") or "")
        if event.get("name") != "REFUNDED" or not key.startswith("rf_"):
            continue
        if key not in found or found[key][1].status is not RefundStatus.REFUNDED:
            found[key] = (event, _event_result(event))
    return found


def _amount(event: dict[str, Any]) -> Money:
    return Money(int(event["amount"]["value"]), event["amount"]["currency"])


def _authorized_at(events: list[dict[str, Any]]) -> datetime | None:
    """When the payment was authorized (else created), as Vipps logged it."""
    for name in ("AUTHORIZED", "CREATED"):
        times = [when for e in events if e.get("name") == name and e.get("success", True)
                 and (when := parse_time(e.get("timestamp"))) is not None]
        if times:
            return min(times)
    return None


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
        return not_refundable("vipps", reference, facts, Block(PAID_BY_BANK_TRANSFER, {"provider": LABEL}), rule,
                              mode)
    if api != "epayment":
        return not_refundable("vipps", reference, facts, Block(UNKNOWN_PAYMENT_API, {"provider": LABEL, "api": api}),
                              rule, mode)
    if not reference:
        return not_refundable("vipps", reference, facts, no_reference(LABEL), rule, mode)
    return Detection("vipps", reference, mode=mode, rule=rule)


SPEC = register(ProviderSpec(
    name="vipps", label=LABEL, settings=VippsSettings, modes=True, internal=frozenset({"environment"}),
    build=lambda settings, mode, clock: VippsEPaymentProvider(for_mode(settings, mode), clock), detect=detect))
