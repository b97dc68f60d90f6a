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
    failure_code: str | None = None
    failure_message: str | None = None
    # True: the provider's own current record of that very refund (its answer, a read-back), which may
    # change a final status. False: news (a webhook, one attempt's event), which only moves a refund forward.
    confirmed: bool = False


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
    code, status, title = "webhook_rejected", 401, "Webhook rejected"


class WebhookMalformed(RefunderError):
    """Validly signed, but not an event this provider sends: refused, never a crash."""

    code, status, title = "webhook_malformed", 400, "Webhook not understood"


def webhook_event(body: bytes, label: str) -> dict[str, Any]:
    """A verified webhook's body as a JSON object (strict_json); anything else is WebhookMalformed."""
    try:
        event = strict_json.loads(body)
    except ValueError as exc:
        raise WebhookMalformed(f"The {label} webhook body is not valid JSON ({exc}).") from None
    if not isinstance(event, dict):
        raise WebhookMalformed(f"The {label} webhook body is not a JSON object.")
    return event


class ProviderError(RefunderError):
    """The provider refused; message is in plain words for the shop's staff."""

    code, status, title = "provider_declined", 502, "The payment provider refused"

    def __init__(self, message: str, *, provider_code: str = "", **details: Any) -> None:
        super().__init__(message, provider_code=provider_code, **details)
        self.provider_code = provider_code


class ProviderUnreachable(ProviderError):
    """No answer (timeout, connection lost): whether money moved is unknown."""

    code, status, title = "provider_unreachable", 504, "The payment provider did not answer"


class RefundNotAtProvider(ProviderError):
    """Read-back found no refund made with this idempotency key: it never arrived."""

    code, status, title = "refund_not_at_provider", 404, "The provider has no such refund"


class PaymentNotAtProvider(ProviderError):
    code, status, title = "payment_not_at_provider", 404, "The provider does not know this payment"


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
        raise WebhookRejected(f"{self.label} sends no webhooks.")
