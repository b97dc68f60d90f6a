"""Pure refund rules: what may be refunded from a payment. No I/O, no clock of its own."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from .errors import (
    AmountNotPositive,
    CurrencyMismatch,
    ExceedsRefundable,
    NothingCaptured,
    RefundWindowExpired,
    TooManyRefunds,
)
from .money import Money


class RefundStatus(StrEnum):
    PENDING = "pending"  # recorded; the provider has not answered yet
    PROCESSING = "processing"  # the provider accepted it and will finish later
    REFUNDED = "refunded"  # money is on its way back: final
    FAILED = "failed"  # the provider refused: final, counts for nothing
    UNKNOWN = "unknown"  # no answer (timeout): read back from the provider, never sent again


RESEND_AFTER = timedelta(minutes=2)  # a refund the provider has not seen by then never arrived

IN_FLIGHT = frozenset({RefundStatus.PENDING, RefundStatus.PROCESSING, RefundStatus.UNKNOWN})
FINAL = frozenset({RefundStatus.REFUNDED, RefundStatus.FAILED})


@dataclass(frozen=True)
class Balance:
    """A payment's money as the ledger sees it, all in the payment's currency."""

    captured: Money
    refunded: Money  # final, money sent back (manual and external refunds included)
    in_flight: Money  # pending, processing or unknown: may still be sent back

    @property
    def refundable(self) -> Money:
        left = self.captured - self.refunded - self.in_flight
        return left if left.minor > 0 else Money.zero(self.captured.currency)


@dataclass(frozen=True)
class RefundPolicy:
    """Provider limits that are not about balances."""

    window: timedelta | None = None  # e.g. Vipps: 365 days from payment
    max_per_minute: int | None = None  # e.g. Vipps: 5 modifications a minute per payment
    max_per_second: float | None = None  # the provider's API as a whole (bulk refunds pace themselves)
    uncaptured_hint: str = ""  # said when nothing is captured yet (e.g. Klarna before capture)


def refund_deadline(paid_at: datetime, policy: RefundPolicy) -> datetime | None:
    return paid_at + policy.window if policy.window is not None else None


def check_refund(
    *, balance: Balance, amount: Money, paid_at: datetime, now: datetime, policy: RefundPolicy,
    refunds_last_minute: int = 0,
) -> None:
    """Raise the first rule the refund breaks; return None when it may go ahead."""
    if amount.currency != balance.captured.currency:
        raise CurrencyMismatch(
            f"The payment is in {balance.captured.currency}, the refund was asked in {amount.currency}.",
            payment_currency=balance.captured.currency,
        )
    if amount.minor <= 0:
        raise AmountNotPositive("The refund amount must be more than zero.")
    deadline = refund_deadline(paid_at, policy)
    if deadline is not None and now > deadline:
        raise RefundWindowExpired(
            f"This payment can no longer be refunded through the provider: the refund period ended "
            f"{deadline.date().isoformat()}. Refund the customer by bank transfer instead.",
            deadline=deadline.isoformat(),
        )
    if balance.captured.minor <= 0:
        raise NothingCaptured(
            " ".join(filter(None, ["Nothing has been captured on this payment, so there is nothing to refund.",
                                   policy.uncaptured_hint])))
    refundable = balance.refundable
    if amount > refundable:
        raise ExceedsRefundable(
            f"At most {refundable} can be refunded: {balance.captured} captured, "
            f"{balance.refunded} already refunded, {balance.in_flight} being refunded.",
            refundable=refundable.minor,
        )
    if policy.max_per_minute is not None and refunds_last_minute >= policy.max_per_minute:
        raise TooManyRefunds(
            f"The provider accepts at most {policy.max_per_minute} changes a minute to one payment. "
            "Wait a minute and try again; nothing was refunded.",
        )


_PROGRESS = {
    RefundStatus.PENDING: 0,
    RefundStatus.UNKNOWN: 1,
    RefundStatus.PROCESSING: 2,
    RefundStatus.REFUNDED: 3,
    RefundStatus.FAILED: 3,
}


def next_status(current: RefundStatus, reported: RefundStatus) -> RefundStatus:
    """Status after the provider reports one, whatever order reports arrive in.

    A refund never moves backwards; failed is the end; refunded can still fail later (card refunds
    that bounce), which frees the money again.
    """
    if current is RefundStatus.FAILED:
        return current
    if current is RefundStatus.REFUNDED:
        return RefundStatus.FAILED if reported is RefundStatus.FAILED else current
    return reported if _PROGRESS[reported] >= _PROGRESS[current] else current
