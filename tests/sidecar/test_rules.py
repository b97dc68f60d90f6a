from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from refunder import errors
from refunder.money import Money
from refunder.rules import (
    FINAL,
    Balance,
    RefundPolicy,
    RefundStatus,
    check_paid_at,
    check_refund,
    needs_confirmation,
    next_follow_up,
    next_status,
    refund_deadline,
)

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
VIPPS = RefundPolicy(window=timedelta(days=365))
NO_WINDOW = RefundPolicy()


def nok(minor: int) -> Money:
    return Money(minor, "NOK")


def balance(captured: int, refunded: int = 0, in_flight: int = 0) -> Balance:
    return Balance(nok(captured), nok(refunded), nok(in_flight))


def check(amount: Money, bal: Balance, paid_at: datetime = NOW - timedelta(days=1),
          policy: RefundPolicy = NO_WINDOW) -> None:
    check_refund(balance=bal, amount=amount, paid_at=paid_at, now=NOW, policy=policy)


def test_full_and_partial_refunds_are_allowed() -> None:
    check(nok(100000), balance(100000))
    check(nok(25000), balance(100000))
    check(nok(75000), balance(100000, refunded=25000))


def test_refundable_is_captured_minus_refunded_minus_in_flight() -> None:
    assert balance(100000, refunded=25000, in_flight=30000).refundable == nok(45000)
    assert balance(100000, refunded=120000).refundable == nok(0)  # never negative


def test_more_than_refundable_is_refused_with_the_numbers() -> None:
    with pytest.raises(errors.ExceedsRefundable) as exc:
        check(nok(50001), balance(100000, refunded=25000, in_flight=25000))
    assert exc.value.params["refundable"] == {"value": 50000, "currency": "NOK", "exponent": 2}
    assert "500.00 NOK" in exc.value.message and "250.00 NOK already refunded" in exc.value.message


def test_in_flight_refunds_count_against_refundable() -> None:
    with pytest.raises(errors.ExceedsRefundable):
        check(nok(1), balance(100000, in_flight=100000))


@pytest.mark.parametrize("minor", [0, -1, -100000])
def test_amount_must_be_positive(minor: int) -> None:
    with pytest.raises(errors.AmountNotPositive):
        check(nok(minor), balance(100000))


def test_currency_must_match() -> None:
    with pytest.raises(errors.CurrencyMismatch, match="NOK"):
        check(Money(100, "SEK"), balance(100000))


def test_nothing_captured_means_nothing_to_refund() -> None:
    with pytest.raises(errors.NothingCaptured):
        check(nok(100), balance(0))


def test_vipps_window_is_365_days_from_payment() -> None:
    check(nok(100), balance(1000), paid_at=NOW - timedelta(days=365), policy=VIPPS)
    with pytest.raises(errors.RefundWindowExpired, match="bank transfer"):
        check(nok(100), balance(1000), paid_at=NOW - timedelta(days=365, seconds=1), policy=VIPPS)
    assert refund_deadline(NOW, VIPPS) == NOW + timedelta(days=365)
    assert refund_deadline(NOW, RefundPolicy()) is None


def test_no_window_means_old_payments_can_be_refunded() -> None:
    check(nok(100), balance(1000), paid_at=NOW - timedelta(days=3000))


@given(
    captured=st.integers(min_value=0, max_value=10**9),
    attempts=st.lists(st.tuples(st.integers(min_value=-10, max_value=10**9), st.sampled_from(list(RefundStatus))),
                      max_size=40),
)
def test_no_sequence_of_refunds_exceeds_what_was_captured(captured: int,
                                                           attempts: list[tuple[int, RefundStatus]]) -> None:
    """Whatever is asked, and whatever each accepted refund ends as, refunded + in flight <= captured."""
    refunded = in_flight = 0
    for amount, outcome in attempts:
        try:
            check(nok(amount), balance(captured, refunded, in_flight))
        except errors.RefunderError:
            continue
        if outcome is RefundStatus.REFUNDED:
            refunded += amount
        elif outcome is not RefundStatus.FAILED:
            in_flight += amount
        assert refunded + in_flight <= captured


@given(st.integers(min_value=1, max_value=10**9), st.lists(st.integers(min_value=1, max_value=10**9), max_size=20))
def test_partials_can_repeat_until_exactly_the_captured_amount(captured: int, asks: list[int]) -> None:
    refunded = 0
    for amount in asks:
        if amount <= captured - refunded:
            check(nok(amount), balance(captured, refunded))
            refunded += amount
        else:
            with pytest.raises(errors.ExceedsRefundable):
                check(nok(amount), balance(captured, refunded))
    if refunded < captured:
        check(nok(captured - refunded), balance(captured, refunded))  # the rest, to the øre


statuses = st.sampled_from(list(RefundStatus))


@given(statuses, st.lists(st.tuples(statuses, st.booleans()), max_size=10))
def test_status_never_moves_backwards(start: RefundStatus, reports: list[tuple[RefundStatus, bool]]) -> None:
    current = start
    for reported, confirmed in reports:
        following = next_status(current, reported, confirmed=confirmed)
        if current in FINAL:
            assert following in FINAL
            assert following is current or (confirmed and following is reported)  # only the provider's record
        if following is RefundStatus.PENDING:
            assert current is RefundStatus.PENDING
        current = following


def test_status_transitions() -> None:
    S = RefundStatus
    assert next_status(S.PENDING, S.PROCESSING) is S.PROCESSING
    assert next_status(S.PROCESSING, S.UNKNOWN) is S.PROCESSING  # a lost answer does not unlearn acceptance
    assert next_status(S.UNKNOWN, S.REFUNDED) is S.REFUNDED
    assert next_status(S.UNKNOWN, S.FAILED) is S.FAILED
    assert next_status(S.REFUNDED, S.PROCESSING, confirmed=True) is S.REFUNDED  # late webhook
    assert next_status(S.REFUNDED, S.FAILED) is S.REFUNDED  # news of a failed attempt does not demote
    assert next_status(S.REFUNDED, S.FAILED, confirmed=True) is S.FAILED  # bounced card refund frees the money
    assert next_status(S.FAILED, S.REFUNDED) is S.FAILED
    assert next_status(S.FAILED, S.REFUNDED, confirmed=True) is S.REFUNDED  # a wrong status repaired


@pytest.mark.parametrize("current,reported,check", [
    ("pending", "failed", True), ("unknown", "failed", True), ("processing", "failed", True),
    ("refunded", "failed", True), ("failed", "refunded", True),
    ("pending", "refunded", False), ("processing", "refunded", False), ("failed", "failed", False),
    ("refunded", "refunded", False), ("refunded", "processing", False), ("pending", "processing", False),
])
def test_news_that_frees_money_or_contradicts_a_final_status_is_checked_first(current: str, reported: str,
                                                                              check: bool) -> None:
    assert needs_confirmation(RefundStatus(current), RefundStatus(reported)) is check


@pytest.mark.parametrize("paid_at,ok", [
    (datetime(2000, 1, 1, tzinfo=UTC), True), (NOW + timedelta(minutes=5), True), (NOW, True),
    (datetime(1999, 12, 31, 23, 59, tzinfo=UTC), False), (NOW + timedelta(minutes=5, seconds=1), False),
    (datetime(9000, 1, 1, tzinfo=UTC), False), (datetime(9999, 12, 31, tzinfo=UTC), False),
])
def test_payment_time_must_be_between_2000_and_now(paid_at: datetime, ok: bool) -> None:
    if ok:
        check_paid_at(paid_at, NOW)
    else:
        with pytest.raises(errors.InvalidRequest, match="cannot be right") as caught:
            check_paid_at(paid_at, NOW)
        assert caught.value.members["field"] == "paid_at" and caught.value.code == "order_paid_at_implausible"


def test_follow_up_backs_off_as_a_refund_ages() -> None:
    waits = [next_follow_up(timedelta(seconds=age)) for age in (0, 10, 40, 60, 120, 600, 3600, 86400)]
    assert waits[0] == waits[1] == waits[2] == timedelta(seconds=10)
    assert waits == sorted(waits) and waits[-1] == timedelta(hours=1)
    assert waits[4] == timedelta(seconds=30)  # a refund two minutes old is read again within half a minute
