"""The time budget inside the retry layer: attempts and pauses only when the budget can hold them."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from refunder.providers import budget
from refunder.providers.base import ProviderUnreachable
from refunder.providers.http import NotAsked, ProviderBusy, RetryPolicy, Verdict, with_retries

POLICY = RetryPolicy(attempts=3, backoff=0.0, timeout=(3.05, 20.0))


class Attempts:
    """An attempt taking `seconds` and ending with `verdict`; .started records when each one began."""

    def __init__(self, seconds: float, verdict: Verdict = Verdict.UNKNOWN, retry_after: str = "") -> None:
        self.seconds, self.verdict, self.retry_after = seconds, verdict, retry_after
        self.started: list[float] = []

    def attempt(self) -> None:
        self.started.append(time.monotonic())
        time.sleep(self.seconds)

    def judge(self, result: object, error: Exception | None) -> tuple[Verdict, str, str]:
        return self.verdict, "HTTP 500", self.retry_after

    def run(self, sleep: Callable[[float], None] = time.sleep) -> None:
        with_retries(self.attempt, self.judge, label="Provider", log_as="POST /refund", policy=POLICY, sleep=sleep)


def test_no_attempt_starts_without_the_time_for_it() -> None:
    work = Attempts(0.4)
    began = time.monotonic()
    with budget.provider_budget(1.0), pytest.raises(ProviderUnreachable) as unanswered:
        work.run()
    assert len(work.started) == 2  # the third would start with 0.2 s left (< MIN_ATTEMPT)
    assert unanswered.value.params["what"] == "HTTP 500, the 1 s budget spent"
    assert time.monotonic() - began < 1.0


def test_without_a_budget_every_attempt_is_made() -> None:
    work = Attempts(0.01)
    with pytest.raises(ProviderUnreachable):
        work.run()
    assert len(work.started) == 3


def test_a_pause_the_budget_cannot_hold_is_not_taken() -> None:
    work = Attempts(0.0, Verdict.BUSY, retry_after="5")
    pauses: list[float] = []
    with budget.provider_budget(3.0), pytest.raises(ProviderBusy) as refused:
        work.run(pauses.append)
    assert len(work.started) == 1 and pauses == [] and not isinstance(refused.value, NotAsked)


def test_a_spent_budget_sends_nothing() -> None:
    work = Attempts(0.0)
    with budget.provider_budget(0.4), pytest.raises(NotAsked, match="Nothing was refunded"):
        work.run()
    assert work.started == []


def test_timeouts_shrink_to_what_is_left_and_an_inner_budget_never_extends_the_outer() -> None:
    assert budget.timeouts(3.05, 20.0) == (3.05, 20.0)
    with budget.provider_budget(2.0):
        connect, read = budget.timeouts(3.05, 20.0)
        assert 1.9 < read <= 2.0 and connect == read
        with budget.provider_budget(15.0) as inner:
            assert inner.seconds == 2.0 and budget.timeouts(3.05, 20.0)[1] <= 2.0
        with budget.provider_budget(0.5):
            assert budget.timeouts(3.05, 20.0)[1] <= 0.5
    assert budget.current() is None
