"""Pure refund rules: what may be refunded from a payment. No I/O, no clock of its own."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from .errors import (
    AmountNotPositive,
    CurrencyMismatch,
    ExceedsRefundable,
    InvalidRequest,
    NothingCaptured,
    RefunderError,
    RefundWindowExpired,
    TooManyRefunds,
)
from .messages import define
from .money import Money


class RefundStatus(StrEnum):
    PENDING = "pending"  # recorded; the provider has not answered yet
    PROCESSING = "processing"  # the provider accepted it and will finish later
    REFUNDED = "refunded"  # money is on its way back: final
    FAILED = "failed"  # the provider refused: final, counts for nothing
    UNKNOWN = "unknown"  # no answer (timeout): read back from the provider, never sent again


OUTCOME_UNKNOWN = define(  # a refund in flight whose sender is gone, or that hit an error: it is read back
    "outcome_unknown", "The outcome is not known yet; it is being checked with the provider.")

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
    uncaptured_code: str = NothingCaptured.code  # said when nothing is captured yet (Mollie: Klarna before capture)


ORDER_PAID_AT_IMPLAUSIBLE = define(
    "order_paid_at_implausible", "The order gives the payment time {paid_at}, which cannot be right: a payment "
                                 "refunded here was made between {earliest} and now.",
    status=InvalidRequest.status, field="paid_at", paid_at="1999-12-31T23:00:00+00:00",
    earliest="2000-01-01T00:00:00+00:00")
PROVIDER_PAID_AT_IMPLAUSIBLE = define(
    "provider_paid_at_implausible", "{provider} gives the payment time {paid_at}, which cannot be right: a payment "
                                    "refunded here was made between {earliest} and now.",
    status=InvalidRequest.status, field="paid_at", provider="Stripe", paid_at="2099-01-01T00:00:00+00:00",
    earliest="2000-01-01T00:00:00+00:00")


def check_paid_at(paid_at: datetime, now: datetime, *, provider: str | None = None) -> None:
    """Refuse a payment time before 2000 or in the future (beyond clock skew): it would bend the refund window.

    `provider` names who says so (its label); None: the order."""
    if not EARLIEST_PAYMENT <= paid_at <= now + CLOCK_SKEW:
        said_by: dict[str, Any] = {"provider": provider} if provider is not None else {}
        raise InvalidRequest(PROVIDER_PAID_AT_IMPLAUSIBLE if provider is not None else ORDER_PAID_AT_IMPLAUSIBLE,
                             field="paid_at", paid_at=paid_at.isoformat(), earliest=EARLIEST_PAYMENT.isoformat(),
                             **said_by)


def next_follow_up(age: timedelta) -> timedelta:
    """How long until a refund in flight is read back again: soon while it is young, rarely once it is old."""
    return min(max(age / 4, FOLLOW_UP_FIRST), FOLLOW_UP_LONGEST)


def refund_deadline(paid_at: datetime, policy: RefundPolicy) -> datetime | None:
    return paid_at + policy.window if policy.window is not None else None


def check_refund(
    *, balance: Balance, amount: Money, paid_at: datetime, now: datetime, policy: RefundPolicy,
    refunds_last_minute: int = 0, provider: str = "the payment provider",
) -> None:
    """Raise the first rule the refund breaks; return None when it may go ahead."""
    problems = refund_problems(balance=balance, amount=amount, paid_at=paid_at, now=now, policy=policy,
                               refunds_last_minute=refunds_last_minute, provider=provider)
    if problems:
        raise problems[0]


def refund_problems(
    *, balance: Balance, amount: Money, paid_at: datetime, now: datetime, policy: RefundPolicy,
    refunds_last_minute: int = 0, provider: str = "the payment provider",
) -> list[RefunderError]:
    """Every rule the refund breaks, most telling first; empty when it may go ahead."""
    if amount.currency != balance.captured.currency:
        return [CurrencyMismatch(payment_currency=balance.captured.currency, currency=amount.currency)]
    problems: list[RefunderError] = []
    if amount.minor <= 0:
        problems.append(AmountNotPositive())
    deadline = refund_deadline(paid_at, policy)
    if deadline is not None and now > deadline:
        problems.append(RefundWindowExpired(provider=provider, deadline=deadline.isoformat()))
    if balance.captured.minor <= 0:
        problems.append(NothingCaptured(policy.uncaptured_code))
    elif amount.minor > 0 and amount > balance.refundable:
        problems.append(ExceedsRefundable(
            refundable=balance.refundable.as_object(), captured=balance.captured.as_object(),
            refunded=balance.refunded.as_object(), in_flight=balance.in_flight.as_object()))
    if policy.max_per_minute is not None and refunds_last_minute >= policy.max_per_minute:
        problems.append(TooManyRefunds(max_per_minute=policy.max_per_minute))
    return problems


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
