"""How many bulk refunds one worker keeps in flight per provider: enough to keep the provider's limit busy.

A provider that allows `rate` calls a second and answers in `latency` seconds is held to its limit, not to
its latency, with about rate × latency calls under way at once (Little's law). A provider's window is that,
from the slowest of its recent answers (before the first: FIRST_GUESS), plus one; at least one, at most the
worker's total. A provider with no rate limit gets one at a time. The pace itself (ledger.pace) is what
keeps the limit; the window only lets the pace be met.
"""

from __future__ import annotations

import math
import threading
from collections import Counter, deque

RECENT = 32  # answers per provider that set its window
FIRST_GUESS = 0.5  # seconds a provider is taken to answer in until it has (too much only costs threads)


class InFlight:
    """The windows, and the count of one work() run: its senders report, its pacers wait for room."""

    def __init__(self, total: int, limit: int | None = None) -> None:
        self.total, self.limit = total, limit  # limit: most items this run starts (None: all that are due)
        self.started = self.finished = 0
        self.error: BaseException | None = None
        self._busy: Counter[str] = Counter()
        self._answers: dict[str, deque[float]] = {}
        self._changed = threading.Condition()

    def window(self, provider: str, rate: float | None) -> int:
        if not rate:
            return 1
        answers = self._answers.get(provider)
        slowest = max(answers) if answers else FIRST_GUESS
        return max(1, min(self.total, math.ceil(rate * slowest) + 1))

    def take(self, provider: str, rate: float | None) -> bool:
        """Wait for room in the provider's window and hold it; False when the run is over (limit, error)."""
        with self._changed:
            self._changed.wait_for(lambda: self.error is not None or self._busy[provider] < self.window(provider, rate))
            if self.error is not None or (self.limit is not None and self.started >= self.limit):
                return False
            self._busy[provider] += 1
            self.started += 1
            return True

    def give_back(self, provider: str) -> None:
        """Room taken but not used (nothing was due)."""
        with self._changed:
            self._busy[provider] -= 1
            self.started -= 1
            self._changed.notify_all()

    def done(self, provider: str, seconds: float) -> None:
        """A sending finished after `seconds`."""
        with self._changed:
            self._busy[provider] -= 1
            self.finished += 1
            self._answers.setdefault(provider, deque(maxlen=RECENT)).append(seconds)
            self._changed.notify_all()

    def fail(self, provider: str | None, error: BaseException) -> None:
        """The run stops: nothing more starts; what is under way finishes."""
        with self._changed:
            if provider is not None:
                self._busy[provider] -= 1
            self.error = self.error or error
            self._changed.notify_all()

    @property
    def stopped(self) -> bool:
        return self.error is not None
