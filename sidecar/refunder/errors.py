"""Typed errors. Each carries a stable machine code, an HTTP status and a message in plain words.

The API maps them to problem documents in one place (api/problems.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .detection import Block


class RefunderError(Exception):
    code = "internal_error"
    status = 500
    title = "Something went wrong"
    retry_after: int | None = None  # seconds, sent as Retry-After

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class ConfigurationError(RefunderError):
    code, status, title = "configuration_error", 500, "The sidecar is not configured correctly"


# --- request and rule violations: nothing was changed -------------------------------------------

class InvalidRequest(RefunderError):
    code, status, title = "invalid_request", 422, "The request is not valid"


class AmountNotPositive(RefunderError):
    code, status, title = "amount_not_positive", 422, "Refund amount must be more than zero"


class CurrencyMismatch(RefunderError):
    code, status, title = "currency_mismatch", 422, "Wrong currency"


class ExceedsRefundable(RefunderError):
    code, status, title = "exceeds_refundable", 422, "Amount is more than can be refunded"


class RefundWindowExpired(RefunderError):
    code, status, title = "refund_window_expired", 422, "Refund period has expired"


class NothingCaptured(RefunderError):
    code, status, title = "nothing_captured", 422, "Nothing has been captured"


class ProviderCannotRefund(RefunderError):
    """The provider cannot refund this payment (reason: a stable code); a bank transfer still can."""

    code, status, title = "provider_cannot_refund", 422, "The provider cannot refund this payment"

    def __init__(self, block: Block) -> None:
        super().__init__(block.message, reason=block.code, **block.params)
        self.block = block


class ProviderUnavailable(RefunderError):
    code, status, title = "provider_not_enabled", 422, "Payment provider is not enabled"


class ProviderNotAnswering(RefunderError):
    """The provider gave no answer within the time budget: nothing was changed, the ledger's figures stand."""

    code, status, title = "provider_not_answering", 504, "The payment provider did not answer"


class TooManyRefunds(RefunderError):
    code, status, title = "too_many_refunds", 429, "Too many refunds on this payment right now"


class NotFound(RefunderError):
    code, status, title = "not_found", 404, "Not found"


class IdempotencyConflict(RefunderError):
    code, status, title = "idempotency_conflict", 409, "Idempotency key reused for a different request"


class PaymentConflict(RefunderError):
    code, status, title = "payment_conflict", 409, "Payment does not match what is recorded"


class LinkInvalid(RefunderError):
    code, status, title = "link_invalid", 403, "The link is not valid"


class LinkExpired(LinkInvalid):
    code, status, title = "link_expired", 410, "The link has expired"


# --- requests the sidecar cannot read -------------------------------------------------------------

class BadRequest(RefunderError):
    code, status, title = "bad_request", 400, "The request could not be read"


class DuplicateHeader(BadRequest):
    code, title = "duplicate_header", "A header was sent more than once"


class RequestTooLarge(RefunderError):
    code, status, title = "request_too_large", 413, "The request is too large"


# --- the sidecar's own ledger --------------------------------------------------------------------

class LedgerUnavailable(RefunderError):
    code, status, title = "ledger_unavailable", 503, "The sidecar's ledger is unavailable"
    retry_after = 10


class RefundOutcomePending(LedgerUnavailable):
    """The provider was asked; the ledger failed before recording its answer. The refund is recorded as
    pending (before the call), and the follow-up reads it back from the provider once the ledger is back."""

    code, title = "refund_outcome_pending", "The refund was sent; its outcome is being checked"


# --- authentication -----------------------------------------------------------------------------

class SignatureRejected(RefunderError):
    code, status, title = "signature_invalid", 401, "Request signature rejected"


class SignatureOutdated(SignatureRejected):
    code, title = "signature_outdated", "Request signed with an outdated scheme"


class SignatureExpired(SignatureRejected):
    code, title = "signature_expired", "Request timestamp outside the allowed window"


class ReplayedRequest(SignatureRejected):
    code, title = "request_replayed", "Request was already received"
