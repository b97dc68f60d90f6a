"""One time budget for a whole provider interaction: a refund request is answered within it, whatever the provider does.

The refund service opens a budget around each interaction (a refund, a read-back, a registration, a check with
the provider); every attempt, every pause between attempts and every sign-in (Vipps' access token) inside it
comes out of that one budget. Each attempt's timeouts shrink to what is left, and no attempt starts with less
than MIN_ATTEMPT left. The transport reads the budget from a context variable (one per thread), so provider
modules pass nothing along. Outside a budget (a provider tested alone) only the per-attempt timeouts apply.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

DEFAULT_SECONDS = 15.0  # REFUNDER_PROVIDER_BUDGET
MIN_ATTEMPT = 0.5  # seconds: an attempt is not started with less than this left


@dataclass(frozen=True)
class Budget:
    seconds: float  # as given, for messages
    ends: float  # time.monotonic() at which it is spent

    def left(self) -> float:
        return max(0.0, self.ends - time.monotonic())


_current: ContextVar[Budget | None] = ContextVar("refunder_provider_budget", default=None)


@contextmanager
def provider_budget(seconds: float) -> Iterator[Budget]:
    """Within this block every provider call shares `seconds`, or what is left of an enclosing budget if less."""
    mine = Budget(seconds, time.monotonic() + seconds)
    outer = _current.get()
    budget = outer if outer is not None and outer.ends <= mine.ends else mine
    token = _current.set(budget)
    try:
        yield budget
    finally:
        _current.reset(token)


def current() -> Budget | None:
    return _current.get()


def room_for(seconds: float = 0.0) -> bool:
    """Whether an attempt may still start after waiting `seconds` (always, outside a budget)."""
    budget = _current.get()
    return budget is None or budget.left() - seconds >= MIN_ATTEMPT


def timeouts(connect: float, read: float) -> tuple[float, float]:
    """One attempt's (connect, read) timeouts, shrunk to what is left of the budget."""
    budget = _current.get()
    if budget is None:
        return connect, read
    left = max(budget.left(), 0.001)
    return min(connect, left), min(read, left)


def lock_wait() -> float:
    """How long to wait for a lock shared with other calls (threading.Lock.acquire: -1 is for ever)."""
    budget = _current.get()
    return -1 if budget is None else budget.left()
