"""Typed errors. Each carries a stable code, an HTTP status, params and the English sentence they make.

A class's own code and template are registered in messages.py; a class raised for several reasons is given
the code at the raising site (defined there with messages.define). The API maps them to problem documents
in one place (api/problems.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from .messages import define, reason, render

if TYPE_CHECKING:
    from .detection import Block


class RefunderError(Exception):
    code = "internal_error"
    status = 500
    title = "Something went wrong"
    template = ("The sidecar hit an unexpected error; its log says more. If this was a refund, ask again with "
                "the same request to see what became of it: it cannot refund twice.")
    example: ClassVar[dict[str, Any]] = {}  # an example of each param, for the catalogue
    retry_after: int | None = None  # seconds, sent as Retry-After

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "template" in cls.__dict__:
            define(cls.code, cls.template, status=cls.status, **cls.example)

    def __init__(self, code: str | None = None, /, *, members: Mapping[str, Any] | None = None,
                 **params: Any) -> None:
        self.code = code or type(self).code
        self.params = params
        self.members = dict(members or {})  # said at the problem document's top level, for machines
        self.message = render(self.code, params)
        super().__init__(self.message)


define(RefunderError.code, RefunderError.template, status=RefunderError.status)


class ConfigurationError(Exception):
    """The service's settings are wrong: it stops at startup saying so (never an HTTP answer)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- request and rule violations: nothing was changed -------------------------------------------

class InvalidRequest(RefunderError):
    """Input the sidecar refuses; `field` names it (also at the problem's top level)."""

    code, status, title = "invalid_request", 422, "The request is not valid"
    template = "Some fields are missing or not valid: {fields}."
    example = {"fields": ["amount", "reason"]}

    def __init__(self, code: str | None = None, /, *, field: str, errors: Mapping[str, Any] | None = None,
                 **params: Any) -> None:
        members: dict[str, Any] = {"field": field, **({"errors": dict(errors)} if errors else {})}
        super().__init__(code, members=members, field=field, **params)


LINES_DO_NOT_ADD_UP = define("lines_do_not_add_up", "The refunded lines do not add up to the refund amount.",
                             status=InvalidRequest.status, field="lines")
AMOUNT_NOT_EXACT = define("amount_not_exact", "{amount} is not an exact amount in {currency}, which has {exponent} "
                                              "decimals.", status=InvalidRequest.status,
                          field="captured.decimal", amount="12.345", currency="NOK", exponent=2)


class AmountNotPositive(RefunderError):
    code, status, title = "amount_not_positive", 422, "Refund amount must be more than zero"
    template = "The refund amount must be more than zero."


class CurrencyMismatch(RefunderError):
    code, status, title = "currency_mismatch", 422, "Wrong currency"
    template = "The payment is in {payment_currency}, the refund was asked in {currency}."
    example = {"payment_currency": "NOK", "currency": "EUR"}


class ExceedsRefundable(RefunderError):
    code, status, title = "exceeds_refundable", 422, "Amount is more than can be refunded"
    template = ("At most {refundable} can be refunded: {captured} captured, {refunded} already refunded, "
                "{in_flight} being refunded.")
    example = {"refundable": {"value": 75000, "currency": "NOK", "exponent": 2},
               "captured": {"value": 150000, "currency": "NOK", "exponent": 2},
               "refunded": {"value": 50000, "currency": "NOK", "exponent": 2},
               "in_flight": {"value": 25000, "currency": "NOK", "exponent": 2}}


class RefundWindowExpired(RefunderError):
    code, status, title = "refund_window_expired", 422, "Refund period has expired"
    template = ("Refunds through {provider} were possible until {deadline}; that period has ended. Refund the "
                "customer by bank transfer instead.")
    example = {"provider": "Vipps MobilePay", "deadline": "2026-11-20T09:00:00+00:00"}


class NothingCaptured(RefunderError):
    """Nothing taken yet; a provider may say more with a code of its own (RefundPolicy.uncaptured_code)."""

    code, status, title = "nothing_captured", 422, "Nothing has been captured"
    template = "Nothing has been captured on this payment, so there is nothing to refund."


class NothingRefundable(RefunderError):
    code, status, title = "nothing_refundable", 422, "Nothing is left to refund"
    template = "Nothing is left to refund on this payment: {refunded} already refunded, {in_flight} being refunded."
    example = {"refunded": {"value": 150000, "currency": "NOK", "exponent": 2},
               "in_flight": {"value": 0, "currency": "NOK", "exponent": 2}}


class PartialRefundNotSupported(RefunderError):
    code, status, title = "partial_refund_not_supported", 422, "Only the whole payment can be refunded"
    template = "{provider} can refund this payment only in full ({refundable})."
    example = {"provider": "Vipps MobilePay", "refundable": {"value": 150000, "currency": "NOK", "exponent": 2}}


class LineRefundNotSupported(RefunderError):
    code, status, title = "line_refund_not_supported", 422, "Items cannot be refunded one by one"
    template = "{provider} cannot refund items one by one for this payment: refund an amount instead."
    example = {"provider": "Vipps MobilePay"}


class QuantityExceedsOrdered(RefunderError):
    code, status, title = "quantity_exceeds_ordered", 422, "More items than are left to refund"
    template = ("You cannot refund more of \"{item}\" than is left of it: {quantity} ordered, {refunded_quantity} "
                "refunded before.")
    example = {"item": "Haircut", "item_id": "41", "quantity": 2, "refunded_quantity": 1}


class NoItemsChosen(RefunderError):
    code, status, title = "no_items_chosen", 422, "No items chosen"
    template = "Choose at least one item to refund."


class ProviderCannotRefund(RefunderError):
    """The provider cannot refund this payment (reason: a stable code); a bank transfer still can."""

    code, status, title = "provider_cannot_refund", 422, "The provider cannot refund this payment"
    template = "{reason}"
    example = {"reason": reason("not_captured", {"provider": "Stripe"})}

    def __init__(self, block: Block) -> None:
        super().__init__(members={"reason": block.code}, reason=reason(block.code, block.params))
        self.block = block


class ProviderUnavailable(RefunderError):
    code, status, title = "provider_not_enabled", 422, "Payment provider is not enabled"
    template = ("The payment provider {provider} is not enabled in the Refunder service. Refund the customer by "
                "bank transfer, or enable it.")
    example = {"provider": "mollie"}


class ProviderUnknown(ProviderUnavailable):
    code = "provider_unknown"
    template = "Refunder knows no payment provider {provider}."
    example = {"provider": "paypal"}


class ProviderNotAnswering(RefunderError):
    """The provider gave no answer within the time budget: nothing was changed, the ledger's figures stand."""

    code, status, title = "provider_not_answering", 504, "The payment provider did not answer"
    template = ("{provider} did not answer within {budget_seconds} seconds, so nothing was changed. Try again in a "
                "minute.")
    example = {"provider": "Vipps MobilePay", "provider_code": "no_answer", "budget_seconds": 15.0}

    def __init__(self, *, payment_id: str | None, checked_at: str | None, **params: Any) -> None:
        """payment_id and checked_at (when the provider last gave the ledger's figures): left out when none."""
        known = {"payment_id": payment_id, "checked_at": checked_at}
        super().__init__(members={k: v for k, v in known.items() if v is not None}, **params)


class TooManyRefunds(RefunderError):
    code, status, title = "too_many_refunds", 429, "Too many refunds on this payment right now"
    template = ("The provider accepts at most {max_per_minute} changes a minute to one payment. Wait a minute and "
                "try again; nothing was refunded.")
    example = {"max_per_minute": 5}


class NotFound(RefunderError):
    code, status, title = "not_found", 404, "Not found"
    template = "There is nothing at this address."


class PaymentNotFound(NotFound):
    code = "payment_not_found"
    template = "No payment {payment_id} is recorded."
    example = {"payment_id": "pay_0123456789abcdef01234567"}


class RefundNotFound(NotFound):
    code = "refund_not_found"
    template = "No refund {refund_id} is recorded."
    example = {"refund_id": "rf_0123456789abcdef01234567"}


class IdempotencyConflict(RefunderError):
    code, status, title = "idempotency_conflict", 409, "Idempotency key reused for a different request"
    template = ("This idempotency key was already used for a different request. Start a new review to refund "
                "again.")


class PaymentConflict(RefunderError):
    """What WordPress says about a payment contradicts what is recorded (code given where it is raised)."""

    code, status, title = "payment_conflict", 409, "Payment does not match what is recorded"
    template = "This payment is already recorded for order {recorded_order}, not order {order}."
    example = {"recorded_order": "1042", "order": "1043"}


MODE_CONFLICT = define("payment_mode_conflict", "This payment was recorded as a {recorded_mode} payment; the order "
                                                "now says {mode}.", status=PaymentConflict.status,
                       recorded_mode="live", mode="test")
CURRENCY_CONFLICT = define("payment_currency_conflict", "The order is in {order_currency} but {provider} has the "
                                                        "payment in {provider_currency}.",
                           status=PaymentConflict.status, order_currency="NOK", provider="Stripe",
                           provider_currency="EUR")


class LinkInvalid(RefunderError):
    code, status, title = "link_invalid", 403, "The link is not valid"
    template = "This link is not valid."


class LinkExpired(LinkInvalid):
    code, status, title = "link_expired", 410, "The link has expired"
    template = "This link has expired. Ask the shop for a new copy of the credit note."


# --- requests the sidecar cannot read -------------------------------------------------------------

class BadRequest(RefunderError):
    code, status, title = "bad_request", 400, "The request could not be read"
    template = "The request could not be read. Send JSON with Content-Type application/json."


class DuplicateHeader(BadRequest):
    code, title = "duplicate_header", "A header was sent more than once"
    template = "Send exactly one {field} header (a key holds no commas)."
    example = {"field": "Idempotency-Key"}

    def __init__(self, field: str) -> None:
        super().__init__(members={"field": field}, field=field)


class RequestTooLarge(RefunderError):
    code, status, title = "request_too_large", 413, "The request is too large"
    template = "The request body is larger than the sidecar accepts ({max_bytes} bytes)."
    example = {"max_bytes": 65536}


# --- the sidecar's own ledger --------------------------------------------------------------------

class LedgerUnavailable(RefunderError):
    code, status, title = "ledger_unavailable", 503, "The sidecar's ledger is unavailable"
    template = "The sidecar cannot reach its ledger database right now, so nothing was done. Try again in a minute."
    retry_after = 10


class RefundOutcomePending(LedgerUnavailable):
    """The provider was asked; the ledger failed before recording its answer. The refund is recorded as
    pending (before the call), and the follow-up reads it back from the provider once the ledger is back."""

    code, title = "refund_outcome_pending", "The refund was sent; its outcome is being checked"
    template = ("The refund was sent to {provider}, but the sidecar's ledger failed before it could record the "
                "answer. Its outcome is being checked with the provider. Ask again in a minute (Refund again with "
                "the same review): it cannot refund twice.")
    example = {"provider": "Vipps MobilePay", "refund_id": "rf_0123456789abcdef01234567"}

    def __init__(self, *, provider: str, refund_id: str) -> None:
        super().__init__(members={"refund_id": refund_id}, provider=provider, refund_id=refund_id)


# --- authentication -----------------------------------------------------------------------------

class SignatureRejected(RefunderError):
    code, status, title = "signature_invalid", 401, "Request signature rejected"
    template = "The request signature does not match. Check the shared secret on both sides."


class SignatureMissing(SignatureRejected):
    code = "signature_missing"
    template = "The request is not signed: timestamp, nonce and signature headers are required."


class SignatureMalformed(SignatureRejected):
    code = "signature_malformed"
    template = "The signature headers are malformed."


class SignatureOutdated(SignatureRejected):
    code, title = "signature_outdated", "Request signed with an outdated scheme"
    template = ("This request carries an Idempotency-Key, which signature v1 does not cover: sign it with v2. "
                "Update the Refunder plugin.")


class SignatureExpired(SignatureRejected):
    code, title = "signature_expired", "Request timestamp outside the allowed window"
    template = ("The request timestamp is more than {max_skew_seconds} seconds away from the sidecar's clock. "
                "Check the clocks of both servers.")
    example = {"max_skew_seconds": 300}


class ReplayedRequest(SignatureRejected):
    code, title = "request_replayed", "Request was already received"
    template = "This request was already received (same nonce); it was not processed again."
