"""Pure refund rules: what may be refunded from a payment. No I/O, no clock of its own."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from .errors import (
    AmountNotPositive,
    CurrencyMismatch,
    ExceedsRefundable,
    InvalidRequest,
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


EARLIEST_PAYMENT = datetime(2000, 1, 1, tzinfo=UTC)  # no payment refunded here is older
CLOCK_SKEW = timedelta(minutes=5)  # a payment time this far ahead of our clock is still believed
FOLLOW_UP_FIRST = timedelta(seconds=10)  # a refund in flight is read back this soon, then less often
FOLLOW_UP_LONGEST = timedelta(hours=1)

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


def check_paid_at(paid_at: datetime, now: datetime, *, said_by: str) -> None:
    """Refuse a payment time before 2000 or in the future (beyond clock skew): it would bend the refund window."""
    if not EARLIEST_PAYMENT <= paid_at <= now + CLOCK_SKEW:
        raise InvalidRequest(
            f"{said_by} gives the payment time {paid_at.isoformat()}, which cannot be right: a payment refunded "
            f"here was made between {EARLIEST_PAYMENT.date().isoformat()} and now.", field="paid_at")


def next_follow_up(age: timedelta) -> timedelta:
    """How long until a refund in flight is read back again: soon while it is young, rarely once it is old."""
    return min(max(age / 4, FOLLOW_UP_FIRST), FOLLOW_UP_LONGEST)


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


def next_status(current: RefundStatus, reported: RefundStatus, *, confirmed: bool = False) -> RefundStatus:
    """Status after the provider reports one, whatever order reports arrive in.

    News (a webhook, one event among several attempts) only moves a refund forward and never out of a
    final status. Only `confirmed` word, the provider's own current record of that very refund (its answer
    to the refund call, or the refund read back), changes a final status: a card refund that failed after
    it succeeded frees the money again, and a status recorded wrongly is repaired.
    """
    if current in FINAL:
        return reported if confirmed and reported in FINAL else current
    return reported if _PROGRESS[reported] >= _PROGRESS[current] else current


def needs_confirmation(current: RefundStatus, reported: RefundStatus) -> bool:
    """News that would free the money or contradict a final status is checked with the provider first."""
    return reported in FINAL and reported is not current and (reported is RefundStatus.FAILED or current in FINAL)
