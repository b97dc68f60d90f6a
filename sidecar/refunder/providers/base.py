"""The one interface every payment provider implements, and what crosses it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .. import strict_json
from ..detection import Mode
from ..errors import RefunderError
from ..messages import define, render
from ..money import Money
from ..rules import RefundPolicy, RefundStatus


@dataclass(frozen=True)
class PaymentClaim:
    """What WordPress says about a payment when it registers it."""

    reference: str
    order_id: str
    captured: Money
    paid_at: datetime
    provider_data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PaymentFacts:
    """What the provider says: the truth for captured money."""

    captured: Money
    paid_at: datetime


@dataclass(frozen=True)
class RefundCall:
    refund_id: str
    idempotency_key: str  # one key per refund, forever: retries and read-backs reuse it
    payment_reference: str
    amount: Money
    reason: str
    provider_data: dict[str, Any] = field(default_factory=dict)
    bank_reference: str | None = None
    lines: list[dict[str, Any]] = field(default_factory=list)  # {item_id, name, quantity, amount} as requested


@dataclass(frozen=True)
class ProviderResult:
    status: RefundStatus
    provider_reference: str | None = None
    failure_code: str | None = None  # a code of messages.py
    failure_params: dict[str, Any] = field(default_factory=dict)
    # True: the provider's own current record of that very refund (its answer, a read-back), which may
    # change a final status. False: news (a webhook, one attempt's event), which only moves a refund forward.
    confirmed: bool = False

    @property
    def failure_message(self) -> str | None:
        return render(self.failure_code, self.failure_params) if self.failure_code else None


@dataclass(frozen=True)
class ProviderRefund:
    """A refund as the provider lists it, ours or made elsewhere (e.g. in the provider's dashboard)."""

    provider_id: str
    amount: Money
    result: ProviderResult
    refund_id: str | None  # our refund id when we made it

    @property
    def status(self) -> RefundStatus:
        return self.result.status


@dataclass(frozen=True)
class WebhookRequest:
    """What the webhook endpoint received, as the provider signed it."""

    method: str
    url: str  # scheme://host/path?query as the provider called it
    headers: Mapping[str, str]
    body: bytes
    endpoint: str = ""  # which of a provider's webhook endpoints: /webhooks/<provider>/<endpoint>


@dataclass(frozen=True)
class RefundUpdate:
    """A provider's news about one of our refunds, found by our refund id."""

    refund_id: str
    result: ProviderResult


class WebhookRejected(RefunderError):
    """A webhook that is not the provider's own, or not fresh (code given where it is raised)."""

    code, status, title = "webhook_rejected", 401, "Webhook rejected"
    template = "The {provider} webhook signature does not match."
    example = {"provider": "Stripe"}


WEBHOOK_SECRET_MISSING = define("webhook_secret_missing", "No {provider} webhook secret is configured ({setting}).",
                                status=WebhookRejected.status, provider="Stripe",
                                setting="REFUNDER_STRIPE_WEBHOOK_SECRET")
WEBHOOK_UNSIGNED = define("webhook_unsigned", "The {provider} webhook carries no signature, or not all of it.",
                          status=WebhookRejected.status, provider="Vipps MobilePay")
WEBHOOK_STALE = define("webhook_stale", "The {provider} webhook is not dated within 5 minutes of the sidecar's clock.",
                       status=WebhookRejected.status, provider="Stripe")
WEBHOOK_NOT_SENT = define("webhook_not_sent", "{provider} sends no webhooks.", status=WebhookRejected.status,
                          provider="Bank transfer")
WEBHOOK_ACCOUNT_MISSING = define("webhook_account_missing", "An event sent to the connected accounts' endpoint "
                                                            "names its account.", status=WebhookRejected.status)


class WebhookMalformed(RefunderError):
    """Validly signed, but not an event this provider sends: refused, never a crash."""

    code, status, title = "webhook_malformed", 400, "Webhook not understood"
    template = "The {provider} webhook is not an event {provider} sends ({problem})."
    example = {"provider": "Stripe", "problem": "no data.object"}


def webhook_event(body: bytes, label: str) -> dict[str, Any]:
    """A verified webhook's body as a JSON object (strict_json); anything else is WebhookMalformed."""
    try:
        event = strict_json.loads(body)
    except ValueError:
        raise WebhookMalformed(provider=label, problem="not JSON") from None
    if not isinstance(event, dict):
        raise WebhookMalformed(provider=label, problem="not a JSON object")
    return event


class ProviderError(RefunderError):
    """The provider refused (a code of its own module, or provider_declined with its own words)."""

    code, status, title = "provider_declined", 502, "The payment provider refused"
    template = "{provider} refused the refund (HTTP {http_status}): {said}"
    example = {"provider": "Mollie", "http_status": 422, "provider_code": "422",
               "said": "The amount is higher than the amount that is refundable for this payment."}

    def __init__(self, code: str | None = None, /, *, provider: str, provider_code: str = "", **params: Any) -> None:
        super().__init__(code, provider=provider, provider_code=provider_code, **params)
        self.provider_code = provider_code  # the provider's own code, for support


PROVIDER_AUTH_FAILED = define("provider_auth_failed", "{provider} refused the Refunder service's credentials. Check "
                                                      "its {provider} settings.",
                              status=ProviderError.status, provider="Stripe", provider_code="401")


class ProviderUnreachable(ProviderError):
    """No answer (timeout, connection lost): whether money moved is unknown."""

    code, status, title = "provider_unreachable", 504, "The payment provider did not answer"
    template = ("{provider} did not answer clearly. Whether the money moved is not known yet; the refund will be "
                "checked with the provider.")
    example = {"provider": "Vipps MobilePay", "provider_code": "no_answer", "what": "timed out"}


class RefundNotAtProvider(ProviderError):
    """Read-back found no refund made with this idempotency key: it never arrived."""

    code, status, title = "refund_not_at_provider", 404, "The provider has no such refund"
    template = "{provider} has no refund made with key {refund_id}."
    example = {"provider": "Stripe", "provider_code": "", "refund_id": "rf_0123456789abcdef01234567"}


class PaymentNotAtProvider(ProviderError):
    code, status, title = "payment_not_at_provider", 404, "The provider does not know this payment"
    template = "{provider} has no payment {reference}."
    example = {"provider": "Vipps MobilePay", "provider_code": "5090", "reference": "Woo01042"}


class Provider(ABC):
    name: str
    label: str
    policy: RefundPolicy = RefundPolicy()
    sends_money = True  # False: staff send it themselves and Refunder records it (bank transfer)
    modes = False  # True: live and test credentials side by side, chosen by the payment's mode (ModeSwitch)
    partial_refunds = True  # part of a payment can be refunded, more than once
    line_refunds = True  # a refund may name the order lines it is for
    permanent_failures: frozenset[str] = frozenset()  # failure codes that asking again will not change

    def for_mode(self, mode: Mode) -> Provider:
        """The provider holding the credentials of a payment made in this mode (itself when it has no modes)."""
        return self

    def probe(self, claim: PaymentClaim) -> tuple[Mode, PaymentFacts]:
        """The payment's facts and the mode they were found in, for a payment whose mode is not known."""
        return Mode.UNKNOWN, self.payment_facts(claim)

    def check_request(self, call: RefundCall) -> None:  # noqa: B027 - optional hook, most providers need none
        """Refuse provider-specific bad input before anything is recorded."""

    def warm_up(self) -> None:  # noqa: B027 - optional hook, most providers need none
        """Get now what the next call needs (an access token), so a paced call leaves at its slot."""

    @abstractmethod
    def payment_facts(self, claim: PaymentClaim) -> PaymentFacts:
        """Captured amount and payment time as the provider has them."""

    @abstractmethod
    def refund(self, call: RefundCall) -> ProviderResult:
        """Send the refund. Raise ProviderError when refused, ProviderUnreachable when unanswered."""

    @abstractmethod
    def refund_status(self, call: RefundCall) -> ProviderResult:
        """Read back a refund sent earlier with call.idempotency_key; RefundNotAtProvider if there is none."""

    def list_refunds(self, reference: str, provider_data: dict[str, Any]) -> list[ProviderRefund]:
        """Every refund the provider holds for a payment; nothing for providers that hold none (manual)."""
        return []

    def webhook_updates(self, request: WebhookRequest) -> list[RefundUpdate]:
        """Verify a webhook from this provider and say which refunds it moves. WebhookRejected if forged."""
        raise WebhookRejected(WEBHOOK_NOT_SENT, provider=self.label)
