"""Mollie (cards, Vipps via Mollie, Klarna): refunds with decimal-string amounts, and two kinds of webhook.

A payment (tr_) is refunded through the Payments API. An order of the Orders API (ord_, Mollie Payments for
WooCommerce's default) is read with GET /v2/orders/{id}?embed=payments,refunds; a refund of whole order lines
goes to POST /v2/orders/{id}/refunds (how Mollie wants orders refunded, and what Klarna's invoice needs), any
other amount to the order's payment (POST /v2/payments/{tr}/refunds, which Mollie allows for pay later too).
Lines not shipped yet (authorized) cannot be refunded: they are cancelled in Mollie instead.

- Next-gen webhooks (subscribed in Mollie's dashboard to refund.* with the full payload): a JSON event
  whose `_embedded.entity` is the refund as it was, signed as X-Mollie-Signature: sha256=<hex
  HMAC-SHA256(signing secret, raw body)>. The snapshot is news: it moves a refund forward only.
- The classic webhook: a form post of the payment or order id (id=tr_... or ord_...), signed by nothing; its refunds
  are fetched from the API, so whatever it says is Mollie's word.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, quote

import requests

from ..detection import (
    METHOD_NOT_REFUNDABLE,
    NOT_CAPTURED,
    Block,
    Detection,
    Mode,
    OrderFacts,
    no_reference,
    not_refundable,
    recorded_mode,
)
from ..errors import ConfigurationError
from ..messages import define
from ..money import Money
from ..rules import RefundPolicy, RefundStatus
from .base import (
    PROVIDER_AUTH_FAILED,
    WEBHOOK_SECRET_MISSING,
    WEBHOOK_UNSIGNED,
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
    webhook_event,
)
from .http import Transport
from .registry import ProviderSpec, register

log = logging.getLogger(__name__)

LABEL = "Mollie"
SIGNATURE_PREFIX = "sha256="
METADATA_KEY = "refunder_refund_id"
STATUSES = {
    "queued": RefundStatus.PROCESSING, "pending": RefundStatus.PROCESSING, "processing": RefundStatus.PROCESSING,
    "refunded": RefundStatus.REFUNDED, "failed": RefundStatus.FAILED, "canceled": RefundStatus.FAILED,
}


REFUND_FAILED = {status: define(f"mollie_{status}", f"{{provider}} reports the refund {status}; no money was sent. "
                                                   "Refund the customer by bank transfer instead.", provider=LABEL)
                 for status, word in STATUSES.items() if word is RefundStatus.FAILED}
NOTHING_CAPTURED = define("mollie_nothing_captured", "Nothing has been captured on this payment, so there is nothing "
                                                     "to refund. Klarna and other pay-later payments can be refunded "
                                                     "only after they are captured. Capture the payment in Mollie "
                                                     "first, or cancel it there.", status=422)
ORDER_WITHOUT_PAYMENT = define("mollie_order_without_payment", "{provider} shows no payment for order {order}; nothing "
                                                               "can be refunded through it.",
                               status=502, provider=LABEL, provider_code="", order="ord_pbjz8x")
LINE_NOT_SHIPPED = define("mollie_line_not_shipped", '{provider} cannot refund "{item}" yet: it is {line_status}, '
                                                     "not shipped or captured. Cancel the line in Mollie instead "
                                                     "(nothing was taken for it).",
                          status=502, provider=LABEL, provider_code="", item="Haircut", line_status="authorized")
REFUNDABLE_LINES = ("paid", "shipping", "completed")  # authorized/created lines are cancelled, not refunded
CAPTURED_ORDERS = ("paid", "shipping", "completed")


@dataclass(frozen=True)
class MollieSettings:
    """[mollie] holds the live API key (live_...), [mollie_test] the test key (test_...)."""

    api_key: str = field(repr=False)
    api_base: str = "https://api.mollie.com"
    webhook_secret: str = field(default="", repr=False)  # the next-gen webhook's signing secret


def check_key(settings: MollieSettings, mode: Mode) -> None:
    if not settings.api_key.startswith(f"{mode}_"):
        where = "REFUNDER_MOLLIE_TEST_API_KEY" if mode is Mode.TEST else "REFUNDER_MOLLIE_API_KEY"
        raise ConfigurationError(f"{where} must be a {mode} key ({mode}_...).")


def is_order(reference: str) -> bool:
    return reference.startswith("ord_")


def mollie_amount(money: Money) -> dict[str, str]:
    """Mollie wants the amount as an exact decimal string: {"currency": "EUR", "value": "10.00"}."""
    return {"currency": money.currency, "value": money.decimal_string()}


def parse_amount(amount: dict[str, str] | None, currency: str) -> Money:
    return Money.parse(amount["value"], amount["currency"]) if amount else Money.zero(currency)


def refund_result(refund: dict[str, Any], *, confirmed: bool) -> ProviderResult:
    """A Mollie refund as our result; confirmed when it is the refund as Mollie has it now."""
    status = STATUSES.get(refund.get("status", ""), RefundStatus.PROCESSING)
    if status is RefundStatus.FAILED:
        return ProviderResult(status, provider_reference=refund.get("id"), failure_code=REFUND_FAILED[refund["status"]],
                              failure_params={"provider": LABEL}, confirmed=confirmed)
    return ProviderResult(status, provider_reference=refund.get("id"), confirmed=confirmed)


def signature(secret: str, body: bytes) -> str:
    """X-Mollie-Signature for a body."""
    return SIGNATURE_PREFIX + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def refused(response: requests.Response) -> ProviderError:
    try:
        body = response.json()
        said = body.get("detail") or body.get("title") or ""
    except ValueError:
        said = ""
    if response.status_code in (401, 403):
        return ProviderError(PROVIDER_AUTH_FAILED, provider=LABEL, provider_code=str(response.status_code))
    return ProviderError(provider=LABEL, http_status=response.status_code, provider_code=str(response.status_code),
                         said=str(said) or "-")


class MollieProvider(Provider):
    name = "mollie"
    label = LABEL
    policy = RefundPolicy(max_per_second=10, uncaptured_code=NOTHING_CAPTURED)

    def __init__(self, settings: MollieSettings, clock: Callable[[], datetime], transport: Transport | None = None):
        self.settings = settings
        self.transport = transport or Transport(settings.api_base, LABEL)

    def _send(self, method: str, path: str, *, key: str | None = None, body: Any = None) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.settings.api_key}"}
        if key:
            headers["Idempotency-Key"] = key
        return self.transport.send(method, path, headers=headers, json=body)

    @staticmethod
    def _path(payment_id: str, tail: str = "") -> str:
        return f"/v2/payments/{quote(payment_id, safe='')}{tail}"

    def _get(self, reference: str) -> dict[str, Any]:
        """The payment, or the order with its payments and refunds."""
        path = (f"/v2/orders/{quote(reference, safe='')}?embed=payments,refunds" if is_order(reference)
                else self._path(reference))
        response = self._send("GET", path)
        if response.status_code == 404:
            raise PaymentNotAtProvider(provider=LABEL, provider_code="404", reference=reference)
        if response.status_code != 200:
            raise refused(response)
        return dict(response.json())

    def payment_facts(self, claim: PaymentClaim) -> PaymentFacts:
        found = self._get(claim.reference)
        amount = parse_amount(found["amount"], found["amount"]["currency"])
        if "amountCaptured" in found:  # Klarna and other pay-later: only what was captured
            captured = parse_amount(found["amountCaptured"], amount.currency)
        elif found.get("status") == "paid" or (is_order(claim.reference) and found.get("status") in CAPTURED_ORDERS):
            captured = amount
        else:
            captured = Money.zero(amount.currency)
        paid = found.get("paidAt") or found.get("authorizedAt") or found.get("createdAt")
        return PaymentFacts(captured=captured, paid_at=datetime.fromisoformat(paid) if paid else claim.paid_at)

    def refund(self, call: RefundCall) -> ProviderResult:
        description, metadata = call.reason[:255], {METADATA_KEY: call.refund_id}
        path = self._path(call.payment_reference, "/refunds")
        body: dict[str, Any] = {"amount": mollie_amount(call.amount)}
        if is_order(call.payment_reference):
            order = self._get(call.payment_reference)
            lines = order_lines(order, call)
            if lines is not None:
                path, body = f"/v2/orders/{quote(order['id'], safe='')}/refunds", {"lines": lines}
            else:
                path = self._path(order_payment(order, call.provider_data), "/refunds")
        response = self._send("POST", path, key=call.idempotency_key,
                              body={**body, "description": description, "metadata": metadata})
        if response.status_code not in (200, 201):
            raise refused(response)
        return refund_result(response.json(), confirmed=True)

    def _refunds(self, reference: str) -> list[dict[str, Any]]:
        if is_order(reference):  # the order's refunds, by line or through its payment
            return list(self._get(reference).get("_embedded", {}).get("refunds", []))
        response = self._send("GET", self._path(reference, "/refunds?limit=250"))
        if response.status_code != 200:
            raise refused(response)
        return list(response.json().get("_embedded", {}).get("refunds", []))

    def list_refunds(self, reference: str, provider_data: dict[str, Any]) -> list[ProviderRefund]:
        return [ProviderRefund(provider_id=r["id"], amount=parse_amount(r["amount"], r["amount"]["currency"]),
                               result=refund_result(r, confirmed=True),
                               refund_id=(r.get("metadata") or {}).get(METADATA_KEY))
                for r in self._refunds(reference)]

    def refund_status(self, call: RefundCall) -> ProviderResult:
        for refund in self._refunds(call.payment_reference):
            if (refund.get("metadata") or {}).get(METADATA_KEY) == call.refund_id:
                return refund_result(refund, confirmed=True)
        raise RefundNotAtProvider(provider=LABEL, refund_id=call.refund_id)

    def webhook_updates(self, request: WebhookRequest) -> list[RefundUpdate]:
        signed = {k.lower(): v for k, v in request.headers.items()}.get("x-mollie-signature")
        if signed is not None:
            return self._next_gen(request.body, signed)
        ids = parse_qs(request.body.decode("utf-8", "replace")).get("id", [])
        if len(ids) != 1 or not ids[0].startswith(("tr_", "ord_")):
            raise WebhookRejected(WEBHOOK_UNSIGNED, provider=LABEL)  # signed, or one id: tr_... or ord_...
        return [RefundUpdate(refund_id=r["metadata"][METADATA_KEY], result=refund_result(r, confirmed=True))
                for r in self._refunds(ids[0]) if (r.get("metadata") or {}).get(METADATA_KEY)]

    def _next_gen(self, body: bytes, signed: str) -> list[RefundUpdate]:
        if not self.settings.webhook_secret:
            raise WebhookRejected(WEBHOOK_SECRET_MISSING, provider=LABEL, setting="REFUNDER_MOLLIE_WEBHOOK_SECRET")
        if not hmac.compare_digest(signature(self.settings.webhook_secret, body).encode(), signed.strip().encode()):
            raise WebhookRejected(provider=LABEL)
        event = webhook_event(body, LABEL)
        kind = event.get("type")
        if not isinstance(kind, str) or not kind.startswith("refund."):
            return []
        refund = (event.get("_embedded") or {}).get("entity")
        if not isinstance(refund, dict):
            log.warning("Mollie %s event %s has no refund in it: subscribe with the full payload", kind,
                        event.get("id"))
            return []
        refund_id = (refund.get("metadata") or {}).get(METADATA_KEY)
        return [RefundUpdate(refund_id=refund_id, result=refund_result(refund, confirmed=False))] if refund_id else []

def order_payment(order: dict[str, Any], provider_data: dict[str, Any]) -> str:
    """The order's paid payment (tr_): as WordPress recorded it, else the order's own list."""
    payments = order.get("_embedded", {}).get("payments", [])
    paid = [p["id"] for p in payments if p.get("status") in ("paid", "authorized")] or [p["id"] for p in payments]
    payment_id = str(provider_data.get("payment_id") or (paid[0] if paid else ""))
    if not payment_id.startswith("tr_"):
        raise ProviderError(ORDER_WITHOUT_PAYMENT, provider=LABEL, order=str(order.get("id")))
    return payment_id


def order_lines(order: dict[str, Any], call: RefundCall) -> list[dict[str, Any]] | None:
    """The Mollie lines to refund when the refund is whole WooCommerce lines at their price, else None (amount).

    WooCommerce items are found by the `order_item_id` the Mollie plugin puts in each line's metadata. A line
    that is not shipped yet (authorized) cannot be refunded, so that refund is refused with the reason.
    """
    if not call.lines:
        return None
    by_item = {str((line.get("metadata") or {}).get("order_item_id")): line for line in order.get("lines", [])}
    chosen: list[dict[str, Any]] = []
    for wanted in call.lines:
        line = by_item.get(str(wanted["item_id"]))
        if line is None:
            return None
        unit = parse_amount(line["unitPrice"], call.amount.currency)
        discount = parse_amount(line.get("discountAmount"), call.amount.currency)
        if discount.minor or unit.minor * int(wanted["quantity"]) != int(wanted["amount"]):
            return None  # not the line's own price: Mollie could not work the amount out; refund the amount
        if line.get("status") not in REFUNDABLE_LINES:
            raise ProviderError(LINE_NOT_SHIPPED, provider=LABEL, item=str(line.get("name")),
                                line_status=str(line.get("status")))
        chosen.append({"id": line["id"], "quantity": int(wanted["quantity"])})
    return chosen


# Mollie Payments for WooCommerce 7.8.2: gift cards, vouchers and paysafecard are not refundable
# (src/PaymentMethods/Giftcard.php:46, Voucher.php:30, Paysafecard.php:10: supports only products; "mealvoucher"
# is the gateway of older versions). Mollie: "Refunds are not available for ... paysafecard and gift cards".
NOT_REFUNDABLE_METHODS = {"giftcard": "Mollie gift cards", "voucher": "Mollie vouchers",
                          "mealvoucher": "Mollie meal vouchers", "paysafecard": "paysafecard"}


def detect(facts: OrderFacts) -> Detection | None:
    """Orders of Mollie Payments for WooCommerce 7.8.2: gateway `mollie_wc_gateway_<method>`
    (src/Gateway/MolliePaymentGateway.php:163-167). `_mollie_order_id` is the Mollie object (ord_ with the Orders
    API, the plugin's default; tr_ with the Payments API) and `_mollie_payment_id` its payment (tr_), written by
    src/Payment/MollieObject.php:158-160 with `_mollie_payment_mode` (test/live); Orders-API orders carry the
    ord_ id as transaction id (MollieOrder.php:193). `_mollie_payment_status=authorized` is a card authorized for
    later capture (src/MerchantCapture/MerchantCaptureModule.php:25, 114-123): nothing taken, nothing to refund."""
    if not facts.gateway.startswith("mollie_wc_gateway_"):
        return None
    method = facts.gateway.removeprefix("mollie_wc_gateway_")
    object_id, payment_id = facts.get("_mollie_order_id"), facts.get("_mollie_payment_id")
    mode = recorded_mode(facts, "_mollie_payment_mode")
    mode = recorded_mode(facts) if mode is Mode.UNKNOWN else mode
    if is_order(object_id) or (not object_id and is_order(facts.transaction_id)):
        reference = object_id or facts.transaction_id
        data = {"payment_id": payment_id} if payment_id.startswith("tr_") else {}
    else:
        reference, data = payment_id or object_id or facts.transaction_id, {}
    rule = f"mollie: gateway {facts.gateway}, {'Orders' if is_order(reference) else 'Payments'} API"
    if method in NOT_REFUNDABLE_METHODS:
        return not_refundable("mollie", reference, facts, Block(METHOD_NOT_REFUNDABLE, {
            "provider": LABEL, "method": method, "method_name": NOT_REFUNDABLE_METHODS[method]}), rule, mode, data)
    if facts.get("_mollie_payment_status") == "authorized":  # a card authorized, to be captured later
        return not_refundable("mollie", reference, facts, Block(NOT_CAPTURED, {"provider": LABEL}), rule, mode, data)
    if not reference.startswith(("tr_", "ord_")):
        return not_refundable("mollie", reference, facts, no_reference(LABEL), rule, mode)
    return Detection("mollie", reference, data, mode, rule=rule)


SPEC = register(ProviderSpec(
    name="mollie", label=LABEL, settings=MollieSettings, modes=True, check=check_key,
    build=lambda settings, mode, clock: MollieProvider(settings, clock), detect=detect))
