"""Mollie (cards, Vipps via Mollie, Klarna): refunds with decimal-string amounts, and two kinds of webhook.

- Next-gen webhooks (subscribed in Mollie's dashboard to refund.* with the full payload): a JSON event
  whose `_embedded.entity` is the refund as it was, signed as X-Mollie-Signature: sha256=<hex
  HMAC-SHA256(signing secret, raw body)>. The snapshot is news: it moves a refund forward only.
- The classic webhook: a form post of the payment id (id=tr_...), signed by nothing; the payment's refunds
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
    RefundUpdate,
    WebhookRejected,
    WebhookRequest,
    webhook_event,
)
from .http import Transport

log = logging.getLogger(__name__)

LABEL = "Mollie"
SIGNATURE_PREFIX = "sha256="
METADATA_KEY = "refunder_refund_id"
STATUSES = {
    "queued": RefundStatus.PROCESSING, "pending": RefundStatus.PROCESSING, "processing": RefundStatus.PROCESSING,
    "refunded": RefundStatus.REFUNDED, "failed": RefundStatus.FAILED, "canceled": RefundStatus.FAILED,
}


@dataclass(frozen=True)
class MollieSettings:
    api_key: str = field(repr=False)
    api_base: str = "https://api.mollie.com"
    webhook_secret: str = field(default="", repr=False)  # the next-gen webhook's signing secret


def mollie_amount(money: Money) -> dict[str, str]:
    """Mollie wants the amount as an exact decimal string: {"currency": "EUR", "value": "10.00"}."""
    return {"currency": money.currency, "value": money.decimal_string()}


def parse_amount(amount: dict[str, str] | None, currency: str) -> Money:
    return Money.parse(amount["value"], amount["currency"]) if amount else Money.zero(currency)


def refund_result(refund: dict[str, Any], *, confirmed: bool) -> ProviderResult:
    """A Mollie refund as our result; confirmed when it is the refund as Mollie has it now."""
    status = STATUSES.get(refund.get("status", ""), RefundStatus.PROCESSING)
    if status is RefundStatus.FAILED:
        return ProviderResult(status, provider_reference=refund.get("id"), failure_code=f"mollie_{refund['status']}",
                              failure_message=f"{LABEL} reports the refund {refund['status']}; no money was sent. "
                                              "Refund the customer by bank transfer instead.", confirmed=confirmed)
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
        return ProviderError(f"{LABEL} refused the sidecar's API key. Check the Mollie settings.",
                             provider_code="auth_failed")
    return ProviderError(f"{LABEL} refused the refund{': ' + said if said else ''}.",
                         provider_code=f"mollie_{response.status_code}")


class MollieProvider(Provider):
    name = "mollie"
    label = LABEL
    policy = RefundPolicy(
        max_per_second=10,
        uncaptured_hint="Klarna and other pay-later payments can be refunded only after they are captured. "
                        "Capture the payment in Mollie first, or cancel it there.",
    )

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

    def payment_facts(self, claim: PaymentClaim) -> PaymentFacts:
        response = self._send("GET", self._path(claim.reference))
        if response.status_code == 404:
            raise PaymentNotAtProvider(f"{LABEL} has no payment {claim.reference}.", provider_code="mollie_404")
        if response.status_code != 200:
            raise refused(response)
        payment = response.json()
        amount = parse_amount(payment["amount"], payment["amount"]["currency"])
        if "amountCaptured" in payment:  # Klarna and other pay-later: only what was captured
            captured = parse_amount(payment["amountCaptured"], amount.currency)
        else:
            captured = amount if payment.get("status") == "paid" else Money.zero(amount.currency)
        paid = payment.get("paidAt") or payment.get("authorizedAt") or payment.get("createdAt")
        return PaymentFacts(captured=captured, paid_at=datetime.fromisoformat(paid) if paid else claim.paid_at)

    def refund(self, call: RefundCall) -> ProviderResult:
        body = {"amount": mollie_amount(call.amount), "description": call.reason[:255],
                "metadata": {METADATA_KEY: call.refund_id}}
        response = self._send("POST", self._path(call.payment_reference, "/refunds"), key=call.idempotency_key,
                              body=body)
        if response.status_code not in (200, 201):
            raise refused(response)
        return refund_result(response.json(), confirmed=True)

    def _refunds(self, payment_id: str) -> list[dict[str, Any]]:
        response = self._send("GET", self._path(payment_id, "/refunds?limit=250"))
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
        raise RefundNotAtProvider(f"{LABEL} has no refund for {call.refund_id}.")

    def webhook_updates(self, request: WebhookRequest) -> list[RefundUpdate]:
        signed = {k.lower(): v for k, v in request.headers.items()}.get("x-mollie-signature")
        if signed is not None:
            return self._next_gen(request.body, signed)
        ids = parse_qs(request.body.decode("utf-8", "replace")).get("id", [])
        if len(ids) != 1 or not ids[0].startswith("tr_"):
            raise WebhookRejected("A Mollie webhook is signed (X-Mollie-Signature) or carries one payment id (tr_...).")
        return [RefundUpdate(refund_id=r["metadata"][METADATA_KEY], result=refund_result(r, confirmed=True))
                for r in self._refunds(ids[0]) if (r.get("metadata") or {}).get(METADATA_KEY)]

    def _next_gen(self, body: bytes, signed: str) -> list[RefundUpdate]:
        if not self.settings.webhook_secret:
            raise WebhookRejected("No Mollie webhook signing secret is configured (REFUNDER_MOLLIE_WEBHOOK_SECRET).")
        if not hmac.compare_digest(signature(self.settings.webhook_secret, body).encode(), signed.strip().encode()):
            raise WebhookRejected("The Mollie webhook signature does not match.")
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
