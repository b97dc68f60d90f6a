"""Stripe: refunds by PaymentIntent or Charge through stripe-python's StripeClient, and webhooks."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import stripe

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
from ..errors import ConfigurationError, InvalidRequest, NotFound
from ..messages import define
from ..money import Money
from ..rules import RefundPolicy, RefundStatus
from . import budget
from .base import (
    PROVIDER_AUTH_FAILED,
    WEBHOOK_SECRET_MISSING,
    WEBHOOK_STALE,
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
    WebhookMalformed,
    WebhookRejected,
    WebhookRequest,
    webhook_event,
)
from .http import DEFAULT_RETRY, RetryPolicy, Verdict, provider_session, with_retries
from .registry import ProviderSpec, register

METADATA_KEY = "refunder_refund_id"
REFUND_EVENTS = frozenset({"refund.created", "refund.updated", "refund.failed", "charge.refund.updated"})
WEBHOOK_TOLERANCE = 300
# ISO 4217 says no minor unit; Stripe counts them with two decimals (amounts divisible by 100).
STRIPE_TWO_DECIMALS = frozenset({"ISK", "UGX"})

LABEL = "Stripe"
# Stripe's error code -> our code (stripe_<code>) and what staff are told; other codes are provider_declined
# with Stripe's own words.
ERRORS = {code: define(f"stripe_{code}", template, status=ProviderError.status, provider=LABEL, provider_code=code)
          for code, template in {
              "charge_already_refunded": "{provider} says this payment is already fully refunded.",
              "charge_disputed": "The customer has disputed this payment; {provider} allows no refund while the "
                                 "dispute is open.",
              "amount_too_large": "{provider} says the amount is more than is left to refund on this payment.",
              "charge_expired_for_refund": "{provider} says this payment is too old to refund by card. Refund the "
                                           "customer by bank transfer instead.",
          }.items()}
# A refund's failure_reason -> our code (stripe_<reason>); others are stripe_refund_failed.
FAILURE_REASONS = {reason: define(f"stripe_{reason}", f"{{provider}} could not refund: {why}. Refund the customer "
                                                      "by bank transfer instead.", provider=LABEL)
                   for reason, why in {
                       "lost_or_stolen_card": "the customer's card was reported lost or stolen",
                       "expired_or_canceled_card": "the customer's card has expired or was cancelled",
                       "insufficient_funds": "the Stripe balance was too low to cover the refund",
                       "declined": "the customer's bank declined the refund",
                       "merchant_request": "it was cancelled on request",
                       "charge_for_pending_refund_disputed": "the customer disputed the payment",
                   }.items()}
REFUND_FAILED = define("stripe_refund_failed", "{provider} could not refund ({failure_reason}). Refund the customer "
                                               "by bank transfer instead.", provider=LABEL, failure_reason="unknown")
REFUND_CANCELED = define("stripe_canceled", "The refund was cancelled in {provider}; no money was sent.",
                         provider=LABEL)
REFERENCE_INVALID = define("stripe_reference_invalid", "A {provider} payment reference starts with pi_ "
                                                       "(PaymentIntent) or ch_/py_ (Charge).",
                           status=InvalidRequest.status, provider=LABEL, field="reference")
WEBHOOK_ENDPOINT_UNKNOWN = define("webhook_endpoint_not_found", "{provider} has no webhook endpoint {endpoint}.",
                                  status=NotFound.status, provider=LABEL, endpoint="accounts")


@dataclass(frozen=True)
class StripeSettings:
    """[stripe] holds the live secret key (sk_live_/rk_live_), [stripe_test] the test one (sk_test_/rk_test_)."""

    api_key: str = field(repr=False)
    webhook_secret: str = field(default="", repr=False)
    api_base: str = ""  # tests and proxies only


def check_key(settings: StripeSettings, mode: Mode, section: str = "stripe") -> None:
    """A live key in the test section (or the other way round) would refund the wrong world's payments."""
    wanted = ("sk_live_", "rk_live_") if mode is Mode.LIVE else ("sk_test_", "rk_test_")
    if not settings.api_key.startswith(wanted):
        where = f"REFUNDER_{section.upper()}{'_TEST' if mode is Mode.TEST else ''}_API_KEY"
        raise ConfigurationError(f"{where} must be a {mode} key ({' or '.join(p + '...' for p in wanted)}).")


def to_stripe_amount(money: Money) -> int:
    return money.minor * 100 if money.currency in STRIPE_TWO_DECIMALS else money.minor


def from_stripe_amount(amount: int, currency: str) -> Money:
    code = currency.upper()
    return Money(amount // 100 if code in STRIPE_TWO_DECIMALS else amount, code)


def plain(obj: Any) -> dict[str, Any]:
    """A StripeObject (no .get) as a plain dict."""
    return obj.to_dict() if isinstance(obj, stripe.StripeObject) else dict(obj)


def refund_result(refund: dict[str, Any], *, confirmed: bool) -> ProviderResult:
    """A Stripe Refund (as a plain dict) as our result; confirmed when it is the object as Stripe has it now."""
    status = refund.get("status")
    if status == "succeeded":
        return ProviderResult(RefundStatus.REFUNDED, provider_reference=refund["id"], confirmed=confirmed)
    if status in ("pending", "requires_action"):
        return ProviderResult(RefundStatus.PROCESSING, provider_reference=refund["id"], confirmed=confirmed)
    if status == "canceled":
        return ProviderResult(RefundStatus.FAILED, provider_reference=refund["id"], failure_code=REFUND_CANCELED,
                              failure_params={"provider": LABEL}, confirmed=confirmed)
    reason = refund.get("failure_reason") or "unknown"
    code, params = (FAILURE_REASONS[reason], {"provider": LABEL}) if reason in FAILURE_REASONS else \
        (REFUND_FAILED, {"provider": LABEL, "failure_reason": reason})
    return ProviderResult(RefundStatus.FAILED, provider_reference=refund["id"], failure_code=code,
                          failure_params=params, confirmed=confirmed)


def signed_at(header: str | None) -> int | None:
    """The t= of a Stripe-Signature header."""
    for item in (header or "").split(","):
        name, _, value = item.strip().partition("=")
        if name == "t" and value.isdigit():
            return int(value)
    return None


class BudgetedRequestsClient(stripe.RequestsClient):
    """stripe-python's requests client, each call's timeouts shrunk to what is left of the time budget, and each
    thread's session one that read the environment once (http.provider_session)."""

    def __init__(self, timeout: tuple[float, float], base_url: str) -> None:
        self._limits, self._base_url = timeout, base_url
        super().__init__(timeout=timeout)

    def request(self, *args: Any, **kwargs: Any) -> Any:  # every call stripe-python makes here comes through
        if getattr(self._thread_local, "session", None) is None:  # where RequestsClient keeps each thread's session
            self._thread_local.session = provider_session(self._base_url)
        return super().request(*args, **kwargs)

    @property
    def _timeout(self) -> tuple[float, float]:  # read by RequestsClient at every request
        return budget.timeouts(*self._limits)

    @_timeout.setter
    def _timeout(self, value: tuple[float, float]) -> None:
        self._limits = value


class StripeProvider(Provider):
    name = "stripe"
    label = "Stripe"
    policy = RefundPolicy(max_per_second=20)  # under Stripe's 25 requests/s (test mode; 100 live)
    # The card is gone, or the customer's bank said no, or the charge is too old: Stripe will say the same again.
    permanent_failures = frozenset({"stripe_expired_or_canceled_card", "stripe_lost_or_stolen_card",
                                    "stripe_declined", "stripe_charge_expired_for_refund"})

    def __init__(self, settings: StripeSettings, clock: Callable[[], datetime], *,
                 policy: RetryPolicy = DEFAULT_RETRY, sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings, self.clock = settings, clock
        self.retry_policy, self.sleep = policy, sleep
        self.client = stripe.StripeClient(
            settings.api_key, max_network_retries=0,
            base_addresses={"api": settings.api_base} if settings.api_base else None,
            http_client=BudgetedRequestsClient(policy.timeout, settings.api_base or stripe.DEFAULT_API_BASE))

    # -- per-payment choices (Stripe Connect overrides these) --------------------------------------

    def _options(self, provider_data: dict[str, Any]) -> Any:  # stripe.RequestOptions
        return {}

    def _refund_params(self, provider_data: dict[str, Any]) -> dict[str, Any]:
        return {}

    # -- calls -----------------------------------------------------------------------------------

    def _call(self, what: str, reference: str, work: Callable[[], Any]) -> Any:
        def judge(result: Any, error: Exception | None) -> tuple[Verdict, str, str]:
            if isinstance(error, stripe.RateLimitError):
                return Verdict.BUSY, "rate limited", ""
            if isinstance(error, (stripe.APIConnectionError, stripe.IdempotencyError)):
                return Verdict.UNKNOWN, type(error).__name__, ""
            if isinstance(error, stripe.StripeError) and (error.http_status or 0) >= 500:
                return Verdict.UNKNOWN, f"HTTP {error.http_status}", ""
            return Verdict.FINAL, "answered", ""

        try:
            return with_retries(work, judge, label=self.label, log_as=what, policy=self.retry_policy,
                                sleep=self.sleep)
        except stripe.StripeError as exc:
            raise self._refused(exc, reference) from None

    def _refused(self, exc: stripe.StripeError, reference: str) -> ProviderError:
        code = getattr(exc, "code", None) or ""
        if exc.http_status == 404 or code == "resource_missing":
            return PaymentNotAtProvider(provider=self.label, provider_code=code or "404", reference=reference)
        if code in ERRORS:
            return ProviderError(ERRORS[code], provider=self.label, provider_code=code)
        if isinstance(exc, (stripe.AuthenticationError, stripe.PermissionError)):
            return ProviderError(PROVIDER_AUTH_FAILED, provider=self.label, provider_code=str(exc.http_status))
        said = exc.user_message or (exc.error.message if exc.error else "") or code or "-"
        return ProviderError(provider=self.label, http_status=exc.http_status or 0, provider_code=code, said=said)

    @staticmethod
    def _target(reference: str) -> dict[str, str]:
        if reference.startswith("pi_"):
            return {"payment_intent": reference}
        if reference.startswith(("ch_", "py_")):
            return {"charge": reference}
        raise InvalidRequest(REFERENCE_INVALID, field="reference", provider=LABEL)

    def payment_facts(self, claim: PaymentClaim) -> PaymentFacts:
        target = self._target(claim.reference)
        options = self._options(claim.provider_data)
        if "payment_intent" in target:
            intent = self._call("retrieve payment", claim.reference, lambda: self.client.v1.payment_intents.retrieve(
                claim.reference, options=options))
            captured, currency, created = intent["amount_received"], intent["currency"], intent["created"]
        else:
            charge = self._call("retrieve charge", claim.reference, lambda: self.client.v1.charges.retrieve(
                claim.reference, options=options))
            captured, currency, created = charge["amount_captured"], charge["currency"], charge["created"]
        return PaymentFacts(captured=from_stripe_amount(captured, currency),
                            paid_at=datetime.fromtimestamp(created, UTC))

    def refund(self, call: RefundCall) -> ProviderResult:
        params: Any = {  # stripe.RefundCreateParams
            **self._target(call.payment_reference), **self._refund_params(call.provider_data),
            "amount": to_stripe_amount(call.amount), "reason": "requested_by_customer",
            "metadata": {METADATA_KEY: call.refund_id, "reason": call.reason[:500]},
        }
        options: Any = {**self._options(call.provider_data), "idempotency_key": call.idempotency_key}
        refund = self._call("create refund", call.payment_reference,
                            lambda: self.client.v1.refunds.create(params=params, options=options))
        return refund_result(plain(refund), confirmed=True)

    def list_refunds(self, reference: str, provider_data: dict[str, Any]) -> list[ProviderRefund]:
        return [ProviderRefund(provider_id=r["id"], amount=from_stripe_amount(r["amount"], r["currency"]),
                               result=refund_result(r, confirmed=True),
                               refund_id=(r.get("metadata") or {}).get(METADATA_KEY))
                for r in self._refunds(reference, self._options(provider_data))]

    def refund_status(self, call: RefundCall) -> ProviderResult:
        for refund in self._refunds(call.payment_reference, self._options(call.provider_data)):
            if (refund.get("metadata") or {}).get(METADATA_KEY) == call.refund_id:
                return refund_result(refund, confirmed=True)
        raise RefundNotAtProvider(provider=self.label, refund_id=call.refund_id)

    def _refunds(self, reference: str, options: Any) -> list[dict[str, Any]]:
        params: Any = {**self._target(reference), "limit": 100}
        page = self._call("list refunds", reference,
                          lambda: self.client.v1.refunds.list(params=params, options=options))
        return [plain(refund) for refund in page.auto_paging_iter()]

    def _webhook_secret(self, endpoint: str) -> str:
        """The signing secret of the webhook endpoint the event came to (Stripe Connect has two)."""
        if endpoint:
            raise NotFound(WEBHOOK_ENDPOINT_UNKNOWN, provider=self.label, endpoint=endpoint)
        return self.settings.webhook_secret

    def _verified_event(self, request: WebhookRequest) -> Any:  # stripe.Event
        secret = self._webhook_secret(request.endpoint)
        if not secret:
            setting = f"[{self.name}] {request.endpoint + '_' if request.endpoint else ''}webhook_secret"
            raise WebhookRejected(WEBHOOK_SECRET_MISSING, provider=self.label, setting=setting)
        header = {k.lower(): v for k, v in request.headers.items()}.get("stripe-signature")
        try:
            stripe.WebhookSignature.verify_header(request.body, header, secret, tolerance=0)  # age: below
        except (stripe.SignatureVerificationError, ValueError):
            raise WebhookRejected(provider=self.label) from None
        sent = signed_at(header)
        if sent is None or abs(self.clock().timestamp() - sent) > WEBHOOK_TOLERANCE:
            raise WebhookRejected(WEBHOOK_STALE, provider=self.label)
        return webhook_event(request.body, self.label)

    def webhook_updates(self, request: WebhookRequest) -> list[RefundUpdate]:
        event = self._verified_event(request)
        kind, data = event.get("type"), event.get("data")
        obj = data.get("object") if isinstance(data, dict) else None
        if not isinstance(obj, dict):
            raise WebhookMalformed(provider=self.label, problem="no data.object")
        if kind not in REFUND_EVENTS and kind != "charge.refunded":
            return []
        if not isinstance(obj.get("id"), str):
            raise WebhookMalformed(provider=self.label, problem=f"{kind} without an object id")
        if kind in REFUND_EVENTS:
            refunds, confirmed = [obj], False  # the refund as it was when the event was made: news
        else:  # charge.refunded: the charge's refund list may be cut short, so ask Stripe
            account = event.get("account")
            refunds = self._refunds(obj["id"], {"stripe_account": account} if isinstance(account, str) else {})
            confirmed = True
        return [RefundUpdate(refund_id=r["metadata"][METADATA_KEY], result=refund_result(r, confirmed=confirmed))
                for r in refunds if isinstance(r.get("metadata"), dict) and r["metadata"].get(METADATA_KEY)]


# WooCommerce Stripe Gateway 8.8.0: Boleto and OXXO cannot be refunded, as UPE methods
# (includes/payment-methods/class-wc-stripe-upe-payment-method-boleto.php:23,28 and -oxxo.php:23,28:
# can_refund false, supports only products) and as legacy voucher gateways (class-wc-gateway-stripe-boleto.php:20,
# class-wc-gateway-stripe-oxxo.php; includes/abstracts/abstract-wc-stripe-payment-gateway-voucher.php:113-115,170-172).
NOT_REFUNDABLE_METHODS = {"boleto": "Boleto", "oxxo": "OXXO"}


def detect(facts: OrderFacts) -> Detection | None:
    """Orders of WooCommerce Stripe Gateway 8.8.0: gateway `stripe` (cards, Link, wallets; legacy card gateway) or
    `stripe_<method>` (UPE methods, includes/payment-methods/class-wc-stripe-upe-payment-method.php:116, and old
    non-UPE gateways). The reference is `_stripe_intent_id` (class-wc-stripe-helper.php:1265-1283), else the charge
    in the transaction id (abstract-wc-stripe-payment-gateway.php:565-600). `_stripe_upe_payment_type` names the
    method paid (class-wc-stripe-upe-payment-gateway.php:2254-2258); `_stripe_charge_captured` is "no" for an
    authorization not captured yet (abstract-wc-stripe-payment-gateway.php:535-538). The plugin stores no
    test/live marker: the mode is the `livemode` Refunder recorded at payment time, else looked up."""
    if facts.gateway != "stripe" and not facts.gateway.startswith("stripe_"):
        return None
    method = facts.get("_stripe_upe_payment_type") or facts.gateway.removeprefix("stripe").lstrip("_") or "card"
    reference = facts.get("_stripe_intent_id") or facts.transaction_id
    rule = f"stripe: gateway {facts.gateway}, method {method}"
    if facts.gateway.removeprefix("stripe_") in NOT_REFUNDABLE_METHODS:
        method = facts.gateway.removeprefix("stripe_")
    if method in NOT_REFUNDABLE_METHODS:
        return not_refundable("stripe", reference, facts, Block(METHOD_NOT_REFUNDABLE, {
            "provider": LABEL, "method": method, "method_name": NOT_REFUNDABLE_METHODS[method]}), rule)
    if facts.get("_stripe_charge_captured") == "no":
        return not_refundable("stripe", reference, facts, Block(NOT_CAPTURED, {"provider": LABEL}), rule)
    if not reference.startswith(("pi_", "ch_", "py_")):
        return not_refundable("stripe", reference, facts, no_reference("Stripe"), rule)
    return Detection("stripe", reference, mode=recorded_mode(facts), rule=rule)


SPEC = register(ProviderSpec(
    name="stripe", label=StripeProvider.label, settings=StripeSettings, modes=True, check=check_key,
    build=lambda settings, mode, clock: StripeProvider(settings, clock), detect=detect))
