"""Vipps eCom API v2 (legacy orders): refund with X-Request-Id, details for balances and read-back."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import requests

from ..detection import Detection, Mode, OrderFacts, no_reference, not_refundable, recorded_mode
from ..messages import define
from ..money import Money
from ..rules import RefundPolicy, RefundStatus
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
)
from .http import Transport
from .registry import ProviderSpec, register
from .vipps_client import GATEWAYS, LABEL, VippsClient, VippsSettings, for_mode, parse_time, vipps_reference

# errorCode -> our code (vipps_ecom_<errorCode>); codes not here are provider_declined with Vipps' own words.
ERRORS = {code: define(f"vipps_ecom_{code}", template, status=ProviderError.status, provider=LABEL,
                       provider_code=code)
          for code, template in {
              "71": "{provider} says the amount is more than is left to refund on this order.",
              "93": "{provider} does not allow this refund on this order (it belongs to another sales unit or is not "
                    "captured).",
              "95": "{provider} refunds are possible only within 365 days of the payment. Refund the customer by "
                    "bank transfer instead.",
          }.items()}
REFUND_FAILED = define("vipps_ecom_refund_failed", "{provider} reports the refund failed.", provider=LABEL)
LOCKED = "94"  # "order locked and already processing": retried


def errors(response: requests.Response) -> list[dict[str, Any]]:
    if response.ok:
        return []
    try:
        body = response.json()
    except ValueError:
        return []
    return body if isinstance(body, list) else []


def error_code(response: requests.Response) -> str:
    return next((str(e.get("errorCode")) for e in errors(response)), "")


def refused(response: requests.Response) -> ProviderError:
    code = error_code(response)
    if code in ERRORS:
        return ProviderError(ERRORS[code], provider=LABEL, provider_code=code)
    said = next((str(e.get("errorMessage")) for e in errors(response)), "")
    return ProviderError(provider=LABEL, http_status=response.status_code, provider_code=code,
                         said=said or code or "-")


class VippsEcomProvider(Provider):
    name = "vipps_ecom"
    label = f"{LABEL} (eCom, older orders)"
    policy = RefundPolicy(window=timedelta(days=365), max_per_minute=5, max_per_second=10)
    permanent_failures = frozenset({ERRORS["95"]})  # refund period over

    def __init__(self, settings: VippsSettings, clock: Callable[[], datetime], transport: Transport | None = None):
        self.settings = settings
        self.client = VippsClient(settings, clock, transport)

    def warm_up(self) -> None:
        self.client.tokens.get()

    def _send(self, method: str, path: str, *, request_id: str | None = None, body: Any = None) -> requests.Response:
        headers = {"Content-Type": "application/json;charset=UTF-8"}  # as the eCom spec names it
        if request_id:
            headers["X-Request-Id"] = request_id
        return self.client.send(method, path, headers=headers, body=body,
                                busy=lambda r: r.status_code == 429 or error_code(r) == LOCKED)

    @staticmethod
    def _path(order_id: str, tail: str) -> str:
        return f"/ecomm/v2/payments/{quote(order_id, safe='')}/{tail}"

    def _details(self, order_id: str) -> dict[str, Any]:
        response = self._send("GET", self._path(order_id, "details"))
        if response.status_code == 404:
            raise PaymentNotAtProvider(provider=LABEL, provider_code="404", reference=order_id)
        if response.status_code != 200:
            raise refused(response)
        return response.json()

    def payment_facts(self, claim: PaymentClaim) -> PaymentFacts:
        """Captured from the summary; the payment time (the refund window's start) from the transaction log."""
        details = self._details(claim.reference)
        captured = Money(int(details["transactionSummary"]["capturedAmount"]), "NOK")
        return PaymentFacts(captured=captured, paid_at=_reserved_at(details) or claim.paid_at)

    def refund(self, call: RefundCall) -> ProviderResult:
        body = {
            "merchantInfo": {"merchantSerialNumber": self.settings.msn},
            "transaction": {"amount": call.amount.minor, "transactionText": call.reason[:100]},
        }
        response = self._send("POST", self._path(call.payment_reference, "refund"),
                              request_id=call.idempotency_key, body=body)
        if response.status_code != 200:
            raise refused(response)
        transaction = response.json().get("transaction") or {}
        return ProviderResult(RefundStatus.REFUNDED, provider_reference=transaction.get("transactionId"),
                              confirmed=True)

    def list_refunds(self, reference: str, provider_data: dict[str, Any]) -> list[ProviderRefund]:
        """Ours once each (every attempt with one request id taken together), others one per log entry."""
        log = [e for e in self._details(reference).get("transactionLogHistory", []) if e.get("operation") == "REFUND"]
        ours = _outcomes(log)
        return [ProviderRefund(provider_id=str(entry.get("transactionId") or key), amount=_amount(entry),
                               result=result, refund_id=key) for key, (entry, result) in ours.items()] + [
            ProviderRefund(provider_id=str(entry.get("transactionId") or entry.get("requestId")),
                           amount=_amount(entry), result=_entry_result(entry), refund_id=None)
            for entry in log if entry.get("requestId") not in ours]

    def refund_status(self, call: RefundCall) -> ProviderResult:
        """Every log entry under the refund's request id, taken together: one success means it was refunded."""
        found = _outcomes(self._details(call.payment_reference).get("transactionLogHistory", []))
        if call.idempotency_key not in found:
            raise RefundNotAtProvider(provider=LABEL, refund_id=call.idempotency_key)
        return found[call.idempotency_key][1]


def _entry_result(entry: dict[str, Any]) -> ProviderResult:
    """One attempt: a success is Vipps' word that the money was sent; a failure is news about one attempt."""
    if entry.get("operationSuccess"):
        return ProviderResult(RefundStatus.REFUNDED, provider_reference=entry.get("transactionId"), confirmed=True)
    return ProviderResult(RefundStatus.FAILED, failure_code=REFUND_FAILED, failure_params={"provider": LABEL})


def _outcomes(log: list[dict[str, Any]]) -> dict[str, tuple[dict[str, Any], ProviderResult]]:
    """Our refunds (request ids rf_...) by id, each with the entry that decides it: a success, else a failure."""
    found: dict[str, tuple[dict[str, Any], ProviderResult]] = {}
    for entry in log:
        key = str(entry.get("requestId") or "")
        if entry.get("operation") != "REFUND" or not key.startswith("rf_"):
            continue
        if key not in found or found[key][1].status is not RefundStatus.REFUNDED:
            found[key] = (entry, _entry_result(entry))
    return found


def _amount(entry: dict[str, Any]) -> Money:
    return Money(int(entry["amount"]), "NOK")


def _reserved_at(details: dict[str, Any]) -> datetime | None:
    """When the order was reserved (or sold directly, else initiated), as Vipps logged it."""
    log = details.get("transactionLogHistory", [])
    for operations in (("RESERVE", "SALE"), ("INITIATE",)):
        times = [when for e in log if e.get("operation") in operations and e.get("operationSuccess", True)
                 and (when := parse_time(e.get("timeStamp"))) is not None]
        if times:
            return min(times)
    return None


def detect(facts: OrderFacts) -> Detection | None:
    """Vipps orders without `_vipps_api`: taken through the legacy eCom v2 API by plugin versions before ePayment.

    Vipps MobilePay for WooCommerce 6.0.5 never writes "ecom" (only "epayment" and "banktransfer", see
    vipps_epayment.detect); its own refund sends such orders to Ecomm/v2 (WC_Gateway_Vipps.class.php:2222-2224).
    """
    if facts.gateway not in GATEWAYS or facts.get("_vipps_api"):
        return None
    reference, rule = vipps_reference(facts), f"vipps_ecom: gateway {facts.gateway}, no _vipps_api"
    mode = recorded_mode(facts)
    if facts.gateway == "vipps_card" and mode is Mode.UNKNOWN:
        mode = Mode.LIVE
    if not reference:
        return not_refundable("vipps_ecom", reference, facts, no_reference(LABEL), rule, mode)
    return Detection("vipps_ecom", reference, mode=mode, rule=rule)


SPEC = register(ProviderSpec(
    name="vipps_ecom", label=VippsEcomProvider.label, settings=VippsSettings, section="vipps", modes=True,
    internal=frozenset({"environment"}),
    build=lambda settings, mode, clock: VippsEcomProvider(for_mode(settings, mode), clock), detect=detect))
