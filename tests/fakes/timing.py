"""Time at a fake provider: how long each call takes (fixed, or drawn from a seeded distribution), and hangs.

Real providers answer in hundreds of milliseconds and sometimes not at all. Every fake (FakeApp) has a
`timing`: its latency is waited before each call is handled, outside the fake's lock, so calls overlap as
they do at a real provider; `hang(kind, ...)` makes calls of one kind ("token", "refund", "read", or "*")
wait until `release()` (or for `seconds`: a slow answer; at most MAX_HANG), then be handled (the provider did
it, the answer is lost if the caller gave up) or dropped (it never did it).
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

MAX_HANG = 120.0  # seconds: a hang not released by then ends anyway (no test thread lives for ever)


class Latency:
    """Seconds per call: a fixed value, or draws from a distribution with its own seed (repeatable runs)."""

    def __init__(self, draw: Callable[[random.Random], float], seed: int = 0) -> None:
        self._draw, self._random, self._lock = draw, random.Random(seed), threading.Lock()

    @classmethod
    def fixed(cls, seconds: float) -> Latency:
        return cls(lambda _: seconds)

    @classmethod
    def lognormal(cls, median: float, sigma: float, seed: int) -> Latency:
        """Most calls near the median, a long tail of slow ones (sigma 0.5: p99 ≈ 3.2 × median)."""
        return cls(lambda r: r.lognormvariate(math.log(median), sigma), seed)

    def __call__(self) -> float:
        with self._lock:
            return max(0.0, self._draw(self._random))


@dataclass
class Hang:
    kind: str
    times: int | None  # None: every call until released
    handled: bool  # after it ends: True handled (done, answer maybe lost), False dropped (never done)
    seconds: float  # how long each call hangs unless released first


class Timing:
    def __init__(self, latency: Latency | float = 0.0) -> None:
        self.latency = latency if isinstance(latency, Latency) else Latency.fixed(latency)
        self.calls: Counter[str] = Counter()  # by kind, as they arrived
        self.arrivals: dict[str, list[float]] = {}  # by kind: time.monotonic() of each call's arrival
        self.hung: Counter[str] = Counter()  # calls that hung, by kind
        self._hangs: list[Hang] = []
        self._released = threading.Event()
        self._lock = threading.Lock()

    def hang(self, kind: str = "*", times: int | None = None, *, handled: bool = True,
             seconds: float = MAX_HANG) -> None:
        """Calls of this kind hang (the next `times` of them, or all) for `seconds` or until release()."""
        with self._lock:
            if self._released.is_set():  # calls released before keep going; new ones wait on a new event
                self._released = threading.Event()
            self._hangs.append(Hang(kind, times, handled, min(seconds, MAX_HANG)))

    def release(self) -> None:
        """Every hanging call goes on, and no new call hangs."""
        with self._lock:
            self._hangs.clear()
            self._released.set()

    def wait(self, kind: str) -> bool:
        """Before a call is handled: its latency, and its hang if it has one. False: drop it (never done)."""
        with self._lock:
            self.calls[kind] += 1
            self.arrivals.setdefault(kind, []).append(time.monotonic())
            hang = next((h for h in self._hangs if h.kind in (kind, "*") and h.times != 0), None)
            if hang is not None:
                self.hung[kind] += 1
                if hang.times is not None:
                    hang.times -= 1
            released = self._released
        time.sleep(self.latency())
        if hang is None:
            return True
        released.wait(hang.seconds)
        return hang.handled
